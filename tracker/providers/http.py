"""What every provider client shares: the httpx client, the retry policy as a value, rate limits that
hold, a per-waybill minimum interval and a circuit breaker. I/O helpers only; no parsing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from tenacity import (
    AsyncRetrying,
    before_sleep_log,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from tracker.settings import ProviderConfig

log = logging.getLogger("tracker.providers")
Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


class ProviderError(Exception):
    """A provider request failed for good (after retries) or was refused locally; says which and why."""


class CircuitOpen(ProviderError):
    pass


class TooSoon(ProviderError):
    pass


def make_http_client(config: ProviderConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """An AsyncClient for one provider: base_url, timeout and a pool sized to its concurrency.

    Pass `transport` (e.g. httpx.MockTransport) to replace the network in tests.
    """
    limits = httpx.Limits(max_connections=config.concurrency, max_keepalive_connections=config.concurrency)
    return httpx.AsyncClient(
        base_url=config.base_url,
        timeout=httpx.Timeout(config.timeout_seconds),
        limits=limits,
        transport=transport,
        headers={"user-agent": "parcel-tracker/0.1"},
    )


def is_retryable(exc: BaseException) -> bool:
    """Transport errors (incl. time-outs), 429 and 5xx; never other 4xx or bad bodies."""
    if isinstance(exc, httpx.TransportError):
        return True
    if isinstance(exc, httpx.HTTPStatusError):
        code = exc.response.status_code
        return code == 429 or code >= 500
    return False


@dataclass(frozen=True)
class RetryPolicy:
    """How a failed request is retried: `attempts` in all, exponential backoff with jitter."""

    attempts: int = 3
    initial_seconds: float = 0.5
    max_seconds: float = 10.0
    jitter_seconds: float = 0.5

    def retrying(self, *, sleep: Sleep | None = None) -> AsyncRetrying:
        """A fresh tenacity AsyncRetrying; `sleep` replaces asyncio.sleep (tests record the waits)."""
        kwargs: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
        return AsyncRetrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential_jitter(
                multiplier=self.initial_seconds, max=self.max_seconds, jitter=self.jitter_seconds
            ),
            retry=retry_if_exception(is_retryable),
            before_sleep=before_sleep_log(log, logging.INFO),
            reraise=True,
            **kwargs,
        )


class Limiter(Protocol):
    """Waits until one more request may go (`acquire` returns a ticket) and hears when it is done
    (`release(ticket)`): Pacer in one process, SharedPacer across workers (RateLimiter, SharedRateLimiter:
    sliding windows, kept for callers that want bursts)."""

    async def acquire(self) -> object: ...

    async def release(self, ticket: object) -> None: ...


@dataclass
class RateLimiter:
    """At most `rate` acquisitions in any `per`-second window (sliding window; clock and sleep injectable)."""

    rate: float
    per: float = 1.0
    clock: Clock = time.monotonic
    sleep: Sleep = asyncio.sleep
    _stamps: deque[float] = field(default_factory=deque)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def acquire(self) -> None:
        limit = max(1, int(self.rate * self.per))
        async with self._lock:
            while True:
                now = self.clock()
                while self._stamps and now - self._stamps[0] >= self.per:
                    self._stamps.popleft()
                if len(self._stamps) < limit:
                    self._stamps.append(now)
                    return
                await self.sleep(self.per - (now - self._stamps[0]))

    async def release(self, ticket: object) -> None:
        """Nothing to do: the window counts requests by when they started."""


@dataclass
class Pacer:
    """Requests evenly spaced at the provider's limit minus a small margin: one every
    per / (rate * per * (1 - margin)) seconds, the first at once. A window of `per` seconds then never holds
    more than rate * per requests, even when each arrives up to margin * per seconds later than planned (the
    provider counts arrivals; a sliding window let bursts through that jitter turned into 429 answers), and
    the quota is used to 1 - margin. One process; SharedPacer paces every worker together."""

    rate: float
    per: float = 1.0
    margin: float = 0.04
    clock: Clock = time.monotonic
    sleep: Sleep = asyncio.sleep
    _next: float = float("-inf")

    @property
    def gap(self) -> float:
        return 1.0 / (self.rate * (1.0 - self.margin))

    async def acquire(self) -> object:
        now = self.clock()
        at = max(self._next, now)
        self._next = at + self.gap  # reserved before waiting: concurrent callers queue up behind it
        if at > now:
            await self.sleep(at - now)
        return None

    async def release(self, ticket: object) -> None:
        """Nothing to do: the pace counts requests by when they are sent."""


@dataclass
class WaybillGate:
    """Refuses a waybill queried less than `min_interval` seconds ago (Kuaidi100 锁单, spec §2.1)."""

    min_interval: float
    clock: Clock = time.monotonic
    _last: dict[str, float] = field(default_factory=dict)

    def check(self, waybill: str) -> None:
        """Raise TooSoon when the waybill was queried less than min_interval ago."""
        now = self.clock()
        last = self._last.get(waybill)
        if last is not None and now - last < self.min_interval:
            wait = int(self.min_interval - (now - last))
            raise TooSoon(
                f"{waybill}: queried {int(now - last)} s ago; the provider locks waybills "
                f"queried more often than every {int(self.min_interval)} s (wait {wait} s)"
            )

    @contextmanager
    def asking(self, waybill: str) -> Iterator[None]:
        """Check, then count the query as made once it was sent; a query the circuit breaker stopped
        never reached the provider, so it does not lock the waybill (it is asked again after the pause)."""
        self.check(waybill)
        sent = True
        try:
            yield
        except CircuitOpen:
            sent = False
            raise
        finally:
            if sent:
                self._last[waybill] = self.clock()


@dataclass
class CircuitBreaker:
    """After `failures` consecutive failed requests the provider is paused for `pause` seconds."""

    name: str
    failures: int = 5
    pause: float = 300.0
    clock: Clock = time.monotonic
    _count: int = 0
    _open_until: float = 0.0

    def check(self) -> None:
        if self.clock() < self._open_until:
            left = int(self._open_until - self.clock())
            raise CircuitOpen(f"{self.name}: paused for {left} s more after {self.failures} failures in a row")

    def record(self, ok: bool) -> None:
        if ok:
            self._count = 0
            return
        self._count += 1
        if self._count >= self.failures:
            self._open_until = self.clock() + self.pause
            self._count = 0
            log.warning("provider %s paused for %.0f s after repeated failures", self.name, self.pause)

    @property
    def is_open(self) -> bool:
        return self.clock() < self._open_until


@dataclass
class Guard:
    """Everything between a client and the network: breaker, rate limit, concurrency, retries."""

    name: str
    policy: RetryPolicy
    limiter: Limiter
    breaker: CircuitBreaker
    concurrency: int = 4
    sleep: Sleep | None = None

    def __post_init__(self) -> None:
        self._semaphore = asyncio.Semaphore(self.concurrency)

    @classmethod
    def from_config(
        cls,
        name: str,
        config: ProviderConfig,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep | None = None,
        limiter: Limiter | None = None,
    ) -> Guard:
        """`limiter` replaces the in-process rate window (workers share one in the database)."""
        return cls(
            name=name,
            policy=RetryPolicy(attempts=config.retry_attempts),
            limiter=limiter
            or Pacer(config.rate_per_second, margin=config.rate_margin, clock=clock, sleep=sleep or asyncio.sleep),
            breaker=CircuitBreaker(name, config.breaker_failures, config.breaker_pause_seconds, clock),
            concurrency=config.concurrency,
            sleep=sleep,
        )

    async def send(self, call: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
        """Run `call` under the limits; retry transport errors, 429 and 5xx; ProviderError at the end."""
        self.breaker.check()
        async with self._semaphore:
            self.breaker.check()  # it may have opened while this request queued for a connection
            try:
                async for attempt in self.policy.retrying(sleep=self.sleep):
                    with attempt:
                        ticket = await self.limiter.acquire()
                        try:
                            response = await call()
                        finally:
                            await self.limiter.release(ticket)
                        response.raise_for_status()
            except httpx.HTTPStatusError as exc:
                self.breaker.record(False)
                raise ProviderError(f"{self.name}: HTTP {exc.response.status_code} from {exc.request.url}") from exc
            except httpx.HTTPError as exc:
                self.breaker.record(False)
                raise ProviderError(f"{self.name}: {type(exc).__name__} talking to {exc.request.url}") from exc
        self.breaker.record(True)
        return response


class ProviderClient:
    """What every provider client shares: the configured httpx client, the rate-limit/retry/breaker
    guard and the per-waybill gate. Subclasses add the provider's calls (I/O only, raw bodies back)."""

    provider = ""

    def __init__(
        self,
        config: ProviderConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep | None = None,
        limiter: Limiter | None = None,
    ) -> None:
        self.config = config
        self.http = make_http_client(config, transport=transport)
        self.guard = Guard.from_config(self.provider, config, clock=clock, sleep=sleep, limiter=limiter)
        self.gate = WaybillGate(config.min_waybill_interval_minutes * 60, clock)
        # requests answered, by quota kind (query, subscribe, register); tracker.subscriptions.record_spent
        # moves them into provider_quota
        self.spent: Counter[str] = Counter()

    async def aclose(self) -> None:
        await self.http.aclose()
