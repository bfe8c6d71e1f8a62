"""The couriers' own words -> the one status taxonomy (config/phrases.toml). Pure: no I/O after loading.

A provider's code is often generic (在途) or missing (Kdniao 1002 traces, Kuaidi100 resultv2=0), so the
courier's text is the main evidence of what happened to a parcel. `PhraseBook.classify(text)` reads a
lower-cased text in one compiled scan (docs/courier-phrases.md) over every phrase, pattern, negation and
boilerplate clause, left to right:

- boilerplate ("如有疑问请联系派件员...", "您也可联系小哥将快件放置指定代收点或快递柜", "如有破损请拒收") is
  tried first at its place and means nothing, so the phrases inside it are never seen;
- then a pattern (a regex: proximity such as "已送达 ... 保管" or "门卫 ... 代收"), then the longest plain
  phrase, so 未签收, 派送不成功 and 超出派送范围 are read whole and the 签收 or 派送 inside them is never seen.
  A negation is read and then ignored.

Of the phrases found, the status with the highest priority wins (ties: the earliest). Texts are matched
lower-cased, so English 17TRACK descriptions match whatever their case. Phrases and priorities are data,
so operations staff can add a courier's wording; a bad entry is a ConfigError naming the file and entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from tracker.settings import ConfigError, read_toml, shipped_config_dir
from tracker.status import TrackingStatus

PHRASES_FILE = "phrases.toml"
CLAUSE_BREAK = "。"  # what boilerplate is replaced by: patterns do not reach across it
MEMO_SIZE = 65_536  # texts remembered per book: a poll returns a waybill's whole history again
RETURNED, DELIVERED = str(TrackingStatus.returned), str(TrackingStatus.delivered)


@dataclass(frozen=True, slots=True)
class PhraseMatch:
    status: TrackingStatus
    phrase: str  # the words found in the text (shown when explaining a status)


@dataclass(frozen=True, slots=True)
class PhraseRule:
    status: TrackingStatus
    priority: int
    phrases: tuple[str, ...]
    negations: tuple[str, ...] = ()  # texts that contain a phrase but do not mean it (未签收)
    patterns: tuple[str, ...] = ()  # regexes over the lower-cased text, e.g. "门卫[^，,。]{0,4}代收"
    negation_patterns: tuple[str, ...] = ()


_Entry = tuple[int, TrackingStatus] | None  # (priority, status); None: a negation
_NOT_A_WORD = object()


def _trie(words: Iterable[str]) -> dict[str, str]:
    """First character -> one regex of the plain words starting with it, matching the longest word there.

    Shared prefixes are factored out ("派(?:送(?:不成功)?|件)") and each optional tail is greedy, so the
    longest word wins.
    """
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def render(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + render(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return {char: re.escape(char) + render(child) for char, child in root.items()}


_META = set(".^$*+?{}[]\\|()")


def _first_char(pattern: str) -> str | None:
    """The plain character every match of `pattern` starts with, or None (a group, a class, an escape,
    a quantified first character, or an alternation at the top level)."""
    if not pattern or pattern[0] in _META or (len(pattern) > 1 and pattern[1] in "?*+{"):
        return None
    depth, in_class, escaped = 0, False, False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            return None
    return pattern[0]


def _scan(patterns: Sequence[str], words: Iterable[str]) -> tuple[str, list[str]]:
    """The scan's regex: at each place, the patterns (in the given order) before the longest plain word.

    sre tries a regex's top-level alternatives one by one (a quick check of the first character each),
    and skips quickly over the characters none of them can start with when each starts with a plain
    character. So there is one alternative per first character, "c(?:pattern rests|word trie)": only one
    can match at a place, and inside it the patterns keep their order before the words. A pattern without
    a plain first character goes ahead of all (still right, only slower). Returns the regex and the
    patterns in the order it tries them.
    """
    leading: list[str] = []
    rests: dict[str, list[str]] = {}
    for pattern in patterns:
        char = _first_char(pattern)
        if char is None:
            leading.append(pattern)
        else:
            rests.setdefault(char, []).append(pattern[1:])
    for char, regex in _trie(words).items():
        rests.setdefault(char, []).append(regex[len(re.escape(char)) :])
    alternatives = list(leading)
    for char in sorted(rests):
        body = rests[char][0] if len(rests[char]) == 1 else "(?:" + "|".join(rests[char]) + ")"
        alternatives.append(re.escape(char) + body)
    tried = leading + [pattern for char in sorted(rests) for pattern in patterns if _first_char(pattern) == char]
    return "|".join(alternatives), tried


class PhraseBook:
    """Compiled phrase rules: a boilerplate pass, then one scan for every phrase and negation."""

    def __init__(
        self,
        rules: Sequence[PhraseRule],
        boilerplate: Sequence[str] = (),
        shop_signed: Sequence[str] = (),
        shop_signed_negations: Sequence[str] = (),
    ) -> None:
        self.rules = tuple(rules)
        self.boilerplate = tuple(boilerplate)
        # [return_parcel]: a buyer's return parcel's arrival at the shop (on_return_parcel)
        self.shop_signed, self.shop_signed_negations = tuple(shop_signed), tuple(shop_signed_negations)
        self._shop_signed = re.compile("|".join(self.shop_signed)) if self.shop_signed else None
        self._not_shop_signed = re.compile("|".join(self.shop_signed_negations)) if shop_signed_negations else None
        # plain words (lower-cased) -> entry; a phrase outranks a negation of the same words
        self._words: dict[str, _Entry] = {}
        self._patterns: list[tuple[re.Pattern[str], _Entry]] = []
        for rule in self.rules:
            for negation in rule.negations:
                self._words.setdefault(negation.lower(), None)
            for pattern in rule.negation_patterns:
                self._patterns.append((re.compile(pattern), None))
        for rule in sorted(self.rules, key=lambda r: r.priority):
            for phrase in rule.phrases:
                self._words[phrase.lower()] = (rule.priority, rule.status)  # the higher priority is set last
        for rule in sorted(self.rules, key=lambda r: -r.priority):  # negation patterns first, then by priority
            for pattern in rule.patterns:
                self._patterns.append((re.compile(pattern), (rule.priority, rule.status)))
        # Boilerplate is read by the same scan and means nothing: tried first at its place, it hides the
        # phrases inside it (one pass instead of cutting it out first).
        self._patterns = [(re.compile(p), None) for p in self.boilerplate] + self._patterns
        scan, order = _scan([p.pattern for p, _ in self._patterns], self._words)
        entries: dict[str, tuple[re.Pattern[str], _Entry]] = {}
        for compiled, entry in self._patterns:
            entries.setdefault(compiled.pattern, (compiled, entry))
        self._patterns = [entries[source] for source in dict.fromkeys(order)]  # in the order the scan tries them
        self._find = re.compile(scan) if scan else None
        # findall (strings, in order) is the quicker loop; a pattern with a capturing group needs finditer
        self._hits = None if self._find is None else self._find.findall if not self._find.groups else self._each
        self._strip = re.compile("|".join(self.boilerplate)) if self.boilerplate else None
        # Texts already read. A plain dict whose values are shared PhraseMatch objects: an lru_cache keeps a
        # linked-list node per entry, which the garbage collector walks again and again during a big ingest.
        self._memo: dict[str, PhraseMatch | None] = {}
        self._priority = {rule.status: rule.priority for rule in self.rules}
        self._results: dict[tuple[TrackingStatus, str], PhraseMatch] = {}

    def strip(self, text: str) -> str:
        """The lower-cased text without its boilerplate clauses (what the scan reads)."""
        text = text.lower()
        return self._strip.sub(CLAUSE_BREAK, text) if self._strip is not None else text

    def _each(self, text: str) -> list[str]:
        assert self._find is not None
        return [hit.group() for hit in self._find.finditer(text)]

    def _entry(self, hit: str) -> _Entry:
        """What a piece of text the scan read means: a plain word's entry, else the first pattern reading it whole."""
        entry = self._words.get(hit, _NOT_A_WORD)
        if entry is not _NOT_A_WORD:
            return entry  # type: ignore[return-value]
        for pattern, entry in self._patterns:
            if pattern.fullmatch(hit):
                return entry
        return None

    def _match(self, text: str) -> PhraseMatch | None:
        if self._hits is None:
            return None
        words = self._words
        best: tuple[int, TrackingStatus] | None = None
        best_hit = ""
        for hit in self._hits(text.lower()):
            entry = words.get(hit, _NOT_A_WORD)
            if entry is _NOT_A_WORD:
                entry = self._entry(hit)
            # a negation or boilerplate (None) means nothing; a tie keeps the earliest
            if entry is not None and (best is None or entry[0] > best[0]):  # type: ignore[index]
                best, best_hit = entry, hit  # type: ignore[assignment]
        if best is None:
            return None
        key = (best[1], best_hit)
        result = self._results.get(key)
        if result is None:
            result = self._results[key] = PhraseMatch(*key)
        return result

    def match(self, text: str | None) -> PhraseMatch | None:
        """The best phrase in `text` (highest priority, then earliest), or None."""
        if not text:
            return None
        try:
            return self._memo[text]
        except KeyError:
            pass
        found = self._match(text)
        if len(self._memo) >= MEMO_SIZE:
            self._memo.clear()
        self._memo[text] = found
        return found

    def on_return_parcel(self, status: str, text: str | None) -> str:
        """The status of an event of a buyer's return parcel, read as `status` without the parcel's direction.
        The return travels to the shop, so words naming the shop as the one who signed for it (您的退货已由商家签收)
        are its delivery, not a parcel back at its sender's (`returned`, as they mean on an outbound parcel).
        Words naming the sender, the buyer (签收人：寄件人), or saying the shop did not or will sign (a negation),
        keep `returned`."""
        if status != RETURNED or not text or self._shop_signed is None:
            return status
        read = self.strip(text)
        if self._not_shop_signed is not None and self._not_shop_signed.search(read):
            return status
        return DELIVERED if self._shop_signed.search(read) else status

    def priority(self, status: TrackingStatus) -> int:
        """How specific a status is in this book (its rule's priority; 0 for a status it has no rule for)."""
        return self._priority.get(status, 0)

    def classify(self, text: str | None) -> TrackingStatus | None:
        """The status the best phrase in `text` names (match), or None. A text read before is looked up here
        at once: every event of every reply comes through."""
        if not text:
            return None
        try:  # one read: the book is shared by threads, and another's match() may clear the memo meanwhile
            found = self._memo[text]
        except KeyError:
            found = self.match(text)
        return None if found is None else found.status

    def negation_regex(self, status: str) -> str:
        """The negations of `status` (its phrases that do not mean it: 请拒收, 超时将退回) as one regular
        expression, case as written; empty when it has none or is not in the book."""
        for rule in self.rules:
            if str(rule.status) == status:
                return "|".join([*(re.escape(n) for n in rule.negations), *rule.negation_patterns])
        return ""

    def matches(self, text: str | None) -> list[PhraseMatch]:
        """Every phrase the scan reads in `text`, in order (negations left out): for explaining a result."""
        if not text or self._hits is None:
            return []
        found = []
        for hit in self._hits(text.lower()):
            entry = self._entry(hit)
            if entry is not None:
                found.append(PhraseMatch(entry[1], hit))
        return found


# --- loading --------------------------------------------------------------------------------------

_RULE_KEYS = {"status", "priority", "phrases", "negations", "patterns", "negation_patterns"}
_TOP_KEYS = {"status", "boilerplate", "return_parcel"}
_BOILERPLATE_KEYS = {"patterns"}
_RETURN_PARCEL_KEYS = {"shop_signed", "shop_signed_negations"}


def _strings(raw: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(f"{where}: {key} must be a list of strings")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise ConfigError(f"{where}: {key}[{index}] must be a string, not {item!r}")
        if not item.strip():
            raise ConfigError(f"{where}: {key}[{index}] is an empty phrase")
    return tuple(value)


def _check_pattern(pattern: str, where: str) -> None:
    """A pattern must compile, match lower-cased text, and never match the empty string."""
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"{where} {pattern!r}: not a valid regular expression ({exc})") from None
    if compiled.groupindex:
        raise ConfigError(f"{where} {pattern!r}: named groups are not allowed")
    if compiled.fullmatch("") is not None:
        raise ConfigError(f"{where} {pattern!r}: matches an empty text")
    # Texts are lower-cased before the scan: an upper-case letter (outside escapes like \S) never matches.
    if any(char.isupper() for char in re.sub(r"\\.", "", pattern)):
        raise ConfigError(f"{where} {pattern!r}: write patterns in lower case (texts are matched lower-cased)")


def _rule(raw: Any, where: str) -> PhraseRule:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a table")
    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_RULE_KEYS))})")
    if "status" not in raw:
        raise ConfigError(f"{where}: status is missing")
    try:
        status = TrackingStatus(raw["status"])
    except ValueError:
        raise ConfigError(f"{where}: unknown status {raw['status']!r}") from None
    where = f"{where} ({status})"
    priority = raw.get("priority")
    if priority is None:
        raise ConfigError(f"{where}: priority is missing")
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise ConfigError(f"{where}: priority must be a whole number, not {priority!r}")
    rule = PhraseRule(
        status,
        priority,
        _strings(raw, "phrases", where),
        _strings(raw, "negations", where),
        _strings(raw, "patterns", where),
        _strings(raw, "negation_patterns", where),
    )
    if not rule.phrases and not rule.patterns:
        raise ConfigError(f"{where}: no phrases and no patterns")
    for key in ("patterns", "negation_patterns"):
        for index, pattern in enumerate(getattr(rule, key)):
            _check_pattern(pattern, f"{where}: {key}[{index}]")
    return rule


def load_phrasebook(path: Path) -> PhraseBook:
    """Read config/phrases.toml; a bad entry raises ConfigError naming the file and the entry."""
    data = read_toml(path)
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r} (known: [boilerplate], [[status]], [return_parcel])")
    entries = data.get("status", [])
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: no [[status]] entries")
    rules: list[PhraseRule] = []
    seen_status: dict[TrackingStatus, int] = {}
    owner: dict[str, tuple[int, TrackingStatus]] = {}  # lower-cased phrase -> (entry index, status)
    for index, raw in enumerate(entries):
        rule = _rule(raw, f"{path}: status[{index}]")
        where = f"{path}: status[{index}] ({rule.status})"
        if rule.status in seen_status:
            raise ConfigError(f"{where}: status {rule.status} is already listed in status[{seen_status[rule.status]}]")
        seen_status[rule.status] = index
        for phrase in rule.phrases:
            key = phrase.lower()
            if key in owner and owner[key][0] != index:
                other = owner[key]
                raise ConfigError(f"{where}: phrase {phrase!r} is also a phrase of status[{other[0]}] ({other[1]})")
            owner[key] = (index, rule.status)
        rules.append(rule)
    patterns = _patterns_of(data, "boilerplate", _BOILERPLATE_KEYS, f"{path}: boilerplate")["patterns"]
    returns = _patterns_of(data, "return_parcel", _RETURN_PARCEL_KEYS, f"{path}: return_parcel")
    try:
        return PhraseBook(rules, patterns, returns["shop_signed"], returns["shop_signed_negations"])
    except re.error as exc:  # each pattern compiled alone; together they may still clash (inline flags)
        raise ConfigError(f"{path}: the patterns do not compile together ({exc})") from None


def _patterns_of(data: dict[str, Any], table: str, keys: set[str], where: str) -> dict[str, tuple[str, ...]]:
    """The checked lists of patterns of an optional table, by key (an absent key: none)."""
    raw = data.get(table, {})
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a table")
    unknown = sorted(set(raw) - keys)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(keys))})")
    out = {}
    for key in sorted(keys):
        patterns = out[key] = _strings(raw, key, where)
        for index, pattern in enumerate(patterns):
            _check_pattern(pattern, f"{where}: {key}[{index}]")
    return out


@lru_cache(maxsize=8)
def phrasebook_for(config_dir: Path) -> PhraseBook:
    """The phrase book of a config folder (its phrases.toml, else the project's own), read once."""
    path = config_dir / PHRASES_FILE
    return load_phrasebook(path if path.is_file() else shipped_config_dir() / PHRASES_FILE)


def default_phrasebook() -> PhraseBook:
    return phrasebook_for(shipped_config_dir())
