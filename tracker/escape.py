"""Untrusted text is text: one escaping helper per place that would read Markdown or HTML in it.

Courier event texts, buyer, shop and note texts come from outside (providers, shop exports, people).
Wherever they meet a renderer that reads markup, they go through exactly one of these:

- `streamlit_md`: Streamlit's Markdown (st.markdown, st.caption, st.title, widget and link labels, alerts).
  It reads CommonMark + GFM (links, images, autolinks, tables), `:color[...]` / `:material/...:` directives,
  emoji shortcodes and KaTeX (`$...$`). Every punctuation character that means something there gets a
  backslash (MARKDOWN_PUNCT), so no construct can open; what Streamlit finds after parsing (bare URLs,
  e-mail addresses, `:streamlit:`) gets an invisible word joiner; line breaks become spaces (no headings,
  lists or code blocks from a second line). Dataframe cells are plain text already and need nothing.
- `robot_md`: DingTalk and WeCom robot `markdown` messages: `& < >` as HTML entities (both robots read a
  little HTML, WeCom's `<font color=...>`), backslashes before inline markup (`` ` * _ [ ] ~ | \\ ``) and
  before a block marker at the start of the value.
- `slack_mrkdwn`: Slack mrkdwn. Slack has no backslash escape: `& < >` become entities (Slack's own rule, so
  `<url|label>` links and `<!channel>` cannot be forged), and a zero-width space is put before each of
  `* _ ~ `` ` `` so none of them pairs up into formatting.

Pure functions: str in, str out. Trusted text (our own labels and the layout) is never passed through them.
"""

from __future__ import annotations

import re

# The ASCII punctuation that opens or closes something in CommonMark/GFM, Streamlit's directives and emoji
# (`:`), KaTeX (`$ ^`), e-mail autolinks (`@`), entities (`&`) or setext headings (`=`); CommonMark lets each
# be escaped with a backslash; `/` too, because Streamlit turns `:material/name:` into an icon before it
# parses Markdown (an escaped colon alone does not stop it). Commas, quotes, `?`, `%`... are left readable.
MARKDOWN_PUNCT = "\\`*_{}[]()<>#+-.!|~$:@&=^/"
_PUNCT = re.compile("([" + re.escape(MARKDOWN_PUNCT) + "])")
_BREAKS = re.compile(r"[\r\n\t\v\f\u2028\u2029]+")
_ZWSP = "\u200b"


def _one_line(text: object) -> str:
    # no second line, and no leading blanks (four would start an indented code block)
    return _BREAKS.sub(" ", "" if text is None else str(text)).strip(" ")


_WORD_JOINER = "\u2060"
# Streamlit finds some things in the text *after* Markdown parsing, where backslash escapes are already gone:
# GFM autolink literals (http://, https://, www., e-mail addresses, mailto:, xmpp:) and the `:streamlit:` logo.
# An invisible word joiner inside each keeps the text as it reads and breaks the match.
_AFTER_PARSE = re.compile(r"(?i)(:(?=//)|\bwww(?=\.)|@|\b(?:mailto|xmpp):|:(?=streamlit:))")


def streamlit_md(text: object) -> str:
    """`text` shown literally by anything Streamlit renders as Markdown."""
    joined = _AFTER_PARSE.sub(lambda m: m.group(1) + _WORD_JOINER, _one_line(text))
    return _PUNCT.sub(r"\\\1", joined)


# In a robot message a value sits inside one line after our own words, so only inline markup can open
# mid-value; block markers (#, -, +, "1.", "1)") matter only where the value starts a line or a list item.
# Escaping no more than that keeps dates and waybills ("2026-11-23", "SF-1.5kg") free of backslashes, in
# case a client shows them.
_ROBOT_INLINE = re.compile(r"([\\`*_\[\]~|])")
_ROBOT_START = re.compile(r"^(\s*)([#+\-=]|\d+(?=[.)]))")


def robot_md(text: object) -> str:
    """`text` shown literally in a DingTalk or WeCom robot markdown message."""
    line = _one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    line = _ROBOT_INLINE.sub(r"\\\1", line)
    return _ROBOT_START.sub(
        lambda m: m.group(1) + ("\\" + m.group(2) if not m.group(2).isdigit() else m.group(2) + "\\"), line, count=1
    )


def slack_mrkdwn(text: object) -> str:
    """`text` shown literally in a Slack mrkdwn message."""
    line = _one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([*_~`])", _ZWSP + r"\1", line)
