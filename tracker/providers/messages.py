"""A provider's coded answer (a failed query, a refused subscription) as stored and as people read it.

Stored on one line in English, for the log and the CLI ("kuaidi100 returnCode 500: no result for this waybill
(查询无结果，请隔段时间再查)": the provider's name, its code, what the code means, the provider's own words
in brackets), in the parcel's provider_error or the subscription's message. The board reads that line back
(`in_words`): the provider by its name, what the code means in the reader's language, and the provider's own
words quoted as they came, never the slug or the code when the code is known. A line the tracker did not write
in this form (older rows, another source) is shown as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CodedAnswers:
    """One kind of a provider's coded answers: `head` is the stored line's start before the code
    ("kuaidi100 returnCode"), `bare` its start when the reply names no code ("kdniao error"), `meanings` each
    known code's meaning as (zh, en); `every`, when given, the meaning of any code (its {code} filled in: a line
    whose code is an order's number)."""

    head: str
    bare: str
    meanings: Mapping[str, tuple[str, str]]
    every: tuple[str, str] | None = None

    def meaning(self, code: str | None) -> tuple[str, str] | None:
        """(zh, en) of `code`, None when no table names it."""
        if code and code in self.meanings:
            return self.meanings[code]
        if self.every is not None:  # {code} stands between words: spaced when there is one
            zh, en = (text.format(code=f" {code} " if code else "") for text in self.every)
            return zh, en
        return None

    def line(self, code: str | None, said: str | None) -> str:
        """The stored line: head and code, the meaning when the code is known, then the provider's words."""
        said = said.strip() if said else None
        head = f"{self.head} {code}" if code else self.bare
        known = self.meaning(code)
        text = f"{head}: {known[1]}" if known else head
        if said:
            text += f" ({said})" if known else f": {said}"
        return text

    def read(self, stored: str) -> tuple[str | None, str | None] | None:
        """(code, the provider's words) of a line `line` wrote, else None. A line of an older wording is read too:
        a known code's meaning worded otherwise (its words are the last bracket's), a code no table named then
        ("unexpected error (...)"), or none ("?")."""
        if stored.startswith(self.head + " "):
            code, colon, rest = stored[len(self.head) + 1 :].partition(": ")
            if not code or " " in code:
                return None
            rest = rest if colon else ""
        elif stored == self.bare or stored.startswith(self.bare + ": "):
            code, rest = None, stored[len(self.bare) + 2 :]
        else:
            return None
        code = None if code == "?" else code
        known = self.meaning(code)
        if known is None:
            for older in _OLDER_UNKNOWN:
                if rest.startswith(older):
                    return code, _bracketed(rest[len(older) :]) or None
            return code, rest.strip() or None
        if rest.startswith(known[1]):
            return code, _bracketed(rest[len(known[1]) :]) or None
        # the code's meaning in another wording (an older version's): the words it quoted are its last bracket's
        found = _LAST_BRACKET.search(rest)
        return code, found.group(1).strip() or None if found else None

    def words(self, stored: str, name: tuple[str, str] | None, lang: str) -> str | None:
        """The stored line in the reader's words, after the provider's (zh, en) `name` (None: where the reader
        has it already), or None when it is not one of these answers."""
        found = self.read(stored)
        return None if found is None else self.say(*found, name, lang)

    def say(self, code: str | None, said: str | None, name: tuple[str, str] | None, lang: str) -> str:
        """An answer of `code` with the provider's words `said`, in the reader's words (after `name`, as words)."""
        known = self.meaning(code)
        zh = lang == "zh"
        if known is not None:
            text = known[0 if zh else 1]
            if name is not None:
                text = f"{name[0]}：{text}" if zh else f"{name[1]}: {text}"
            if said:
                text += f"（原话：{said}）" if zh else f" (its words: {said})"
            return text
        # a code no table explains: the code is all there is to quote beside the provider's words
        if zh:
            text = f"返回错误 {code}" if code else "返回错误"
            text = text if name is None else name[0] + text
            return f"{text}：{said}" if said else text
        if name is None:
            text = f"Error {code}" if code else "Error"
        else:
            text = f"{name[1]} answered error {code}" if code else f"{name[1]} answered an error"
        return f"{text}: {said}" if said else text


@dataclass(frozen=True, slots=True)
class OlderLines:
    """Lines an older version stored in another form: `read` gives their (code, words), which `answers` says as it
    says its own lines (a provider's `answers` may list these after its CodedAnswers)."""

    read: Callable[[str], tuple[str | None, str | None] | None]
    answers: CodedAnswers

    def words(self, stored: str, name: tuple[str, str] | None, lang: str) -> str | None:
        found = self.read(stored)
        return None if found is None else self.answers.say(*found, name, lang)


# what a line said of a code no table named, in older versions (kuaidi100's query and subscription lines)
_OLDER_UNKNOWN = ("unexpected subscription error", "unexpected error")
_LAST_BRACKET = re.compile(r"\(([^()]*)\)$")


def _bracketed(rest: str) -> str:
    """The provider's words after a meaning: " (its words)" -> its words."""
    said = rest.strip()
    return said[1:-1].strip() if said.startswith("(") and said.endswith(")") else said


def in_words(stored: str | None, lang: str, *, named: bool = True) -> str:
    """A provider's answer as stored (provider_error, a subscription's message) in the reader's words, after the
    provider's name (`named`): read by the provider that wrote it (the registry's `answers`), else as it came."""
    if not stored:
        return ""
    from tracker.providers.registry import specs  # the registry imports the providers, which import this

    for spec in specs().values():
        name = (spec.label, spec.label_en or spec.name) if named else None
        for answers in spec.answers:
            said = answers.words(stored, name, lang)
            if said is not None:
                return said
    return stored
