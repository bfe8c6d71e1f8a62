"""The sandbox's controllable clock and fault injector."""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

FAULT_KINDS = ("5xx", "timeout", "429", "malformed", "bad_sign")


@dataclass
class SandboxClock:
    """Sandbox time = start + (real seconds since set) x speed."""

    start: datetime
    speed: float = 1.0
    _set_at: float = field(default_factory=time.monotonic)

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self._set_at) * self.speed)

    def set(self, now: datetime | None = None, speed: float | None = None) -> None:
        current = self.now()
        self.start = (now or current).astimezone(UTC)
        if speed is not None:
            self.speed = speed
        self._set_at = time.monotonic()


@dataclass
class Faults:
    """Faults by rate (0..1 per kind, seeded) plus a queue of forced faults for the next requests."""

    rates: dict[str, float] = field(default_factory=dict)
    delay_seconds: float = 3.0  # how long a "timeout" fault stalls before answering
    seed: int = 1
    queue: deque[str] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self.validate(self.rates)

    @staticmethod
    def validate(rates: dict[str, float]) -> None:
        for kind, rate in rates.items():
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}")
            if not 0 <= float(rate) <= 1:
                raise ValueError(f"fault rate for {kind} must be between 0 and 1, got {rate!r}")

    def draw(self) -> str | None:
        if self.queue:
            return self.queue.popleft()
        for kind in FAULT_KINDS:
            rate = self.rates.get(kind, 0.0)
            if rate and self._rng.random() < rate:
                return kind
        return None


@dataclass
class WindowLimit:
    """At most `limit` calls per `per` seconds per key (17TRACK: 3 req/s, 429 above; spec §4.1)."""

    limit: int
    per: float = 1.0
    calls: dict[str, deque[float]] = field(default_factory=dict)

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        window = self.calls.setdefault(key, deque())
        while window and now - window[0] >= self.per:
            window.popleft()
        if len(window) >= self.limit:
            return False
        window.append(now)
        return True


def parse_time(value: str) -> datetime:
    at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def peak_in_window(times: Iterable[float], per: float = 1.0) -> int:
    """The most requests that arrived within any `per`-second window (times in seconds, any order)."""
    ordered = sorted(times)
    peak, start = 0, 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= per:
            start += 1
        peak = max(peak, end - start + 1)
    return peak
