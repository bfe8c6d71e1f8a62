"""The couriers' own words -> the one status taxonomy (config/phrases.toml). Pure: no I/O after loading.

A provider's code is often generic (在途) or missing (Kdniao 1002 traces, Kuaidi100 resultv2=0), so the
courier's text is the main evidence of what happened to a parcel. `PhraseBook.classify(text)` finds the
phrases of every status in the text, reading the negations that cancel a phrase whole (未签收 is not
签收, 派送不成功 is not 派送), and returns the status of the highest priority found, or None when the
text names no status. Phrases and priorities are data, so operations staff can add a courier's wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tracker.settings import PROJECT_ROOT, ConfigError, read_toml
from tracker.status import TrackingStatus

PHRASES_FILE = "phrases.toml"


@dataclass(frozen=True, slots=True)
class PhraseMatch:
    status: TrackingStatus
    phrase: str  # the phrase found in the text (shown when explaining a status)


@dataclass(frozen=True, slots=True)
class PhraseRule:
    status: TrackingStatus
    priority: int
    phrases: tuple[str, ...]
    negations: tuple[str, ...] = ()  # texts that contain a phrase but do not mean it (未签收)


class PhraseBook:
    """Compiled phrase rules: one regex finds every phrase and negation, longest first."""

    def __init__(self, rules: list[PhraseRule]) -> None:
        self.rules = tuple(rules)
        # phrase -> (priority, status); a negation that is no phrase of its own maps to None
        self._entries: dict[str, tuple[int, TrackingStatus] | None] = {}
        for rule in rules:
            for negation in rule.negations:
                self._entries.setdefault(negation.lower(), None)
        for rule in rules:
            for phrase in rule.phrases:
                key = phrase.lower()
                known = self._entries.get(key)
                if known is None or rule.priority > known[0]:
                    self._entries[key] = (rule.priority, rule.status)
        # Longest first: at each position the longest phrase wins, so 未签收 is read whole and its 签收
        # is never seen, and 派送不成功 is read before 派送.
        alternatives = sorted(self._entries, key=len, reverse=True)
        self._find = re.compile("|".join(map(re.escape, alternatives))) if alternatives else None

    def match(self, text: str | None) -> PhraseMatch | None:
        """The best phrase in `text` (highest priority, then earliest), or None."""
        if not text or self._find is None:
            return None
        best: tuple[int, int, str, TrackingStatus] | None = None
        for hit in self._find.finditer(text.lower()):
            entry = self._entries[hit.group()]
            if entry is None:  # a negation: it cancels the phrase inside it
                continue
            candidate = (entry[0], -hit.start(), hit.group(), entry[1])
            if best is None or candidate[:2] > best[:2]:
                best = candidate
        if best is None:
            return None
        return PhraseMatch(best[3], best[2])

    def classify(self, text: str | None) -> TrackingStatus | None:
        found = self.match(text)
        return None if found is None else found.status


def load_phrasebook(path: Path) -> PhraseBook:
    """Read config/phrases.toml; a bad entry raises ConfigError naming the file and the entry."""
    data = read_toml(path)
    rules: list[PhraseRule] = []
    for index, raw in enumerate(data.get("status", [])):
        where = f"{path}: status[{index}]"
        try:
            status = TrackingStatus(raw["status"])
            priority = int(raw["priority"])
            phrases = tuple(str(p) for p in raw.get("phrases", []))
            negations = tuple(str(p) for p in raw.get("negations", []))
        except KeyError as exc:
            raise ConfigError(f"{where}: {exc.args[0]} is missing") from None
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if any(not p.strip() for p in phrases + negations):
            raise ConfigError(f"{where}: an empty phrase")
        rules.append(PhraseRule(status, priority, phrases, negations))
    return PhraseBook(rules)


@lru_cache(maxsize=8)
def phrasebook_for(config_dir: Path) -> PhraseBook:
    """The phrase book of a config folder (its phrases.toml, else the project's own), read once."""
    path = config_dir / PHRASES_FILE
    return load_phrasebook(path if path.is_file() else PROJECT_ROOT / "config" / PHRASES_FILE)


def default_phrasebook() -> PhraseBook:
    return phrasebook_for(PROJECT_ROOT / "config")
