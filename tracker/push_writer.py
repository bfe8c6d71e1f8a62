"""The push receiver's group commit (docs/operations-pushes.md): the event loop hands each signed payload to
one writer, which stores every push that arrived within [push] group_window_ms (or while the previous group was
being written) in ONE transaction (tracker/push_store.py write_group); each push is answered after that commit.

Where the writer runs is [push] writer:
- "process" (the default for `tracker serve-push`): a process of its own, spawned by the receiver. Decoding,
  parsing and storing then take none of the event loop's time (one Python process runs one thread at a time),
  so the loop reads requests on one core while the group is written on the other. A writer process that dies
  is started again; the group it held is answered as failed (HTTP 503 with the provider's refusal), so the
  provider resends it, and a group not written within WRITE_DEADLINE_S is treated the same way.
- "thread": a thread of the receiver's process, sharing its core.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import queue
import signal
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection as Pipe
from multiprocessing.process import BaseProcess
from typing import Protocol

from sqlalchemy import Engine

from tracker.push_store import Outcome, Received, write_group
from tracker.settings import Settings

log = logging.getLogger("tracker.push")

WRITE_DEADLINE_S = 60.0  # a group not written in this long is answered as failed (Kuaidi100 waits 20 s anyway)
START_DEADLINE_S = 120.0  # a new writer process has this long to import and connect (not counted in the above)
READY = "ready"


class Writer(Protocol):
    def start(self) -> None: ...

    def write(self, group: Sequence[Received], at: datetime) -> list[Outcome]: ...

    def close(self) -> None: ...


class ThreadWriter:
    """Writes each group in the calling thread (the group commit's thread)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings

    def start(self) -> None:
        pass

    def write(self, group: Sequence[Received], at: datetime) -> list[Outcome]:
        return write_group(self.engine, self.settings, group, at)

    def close(self) -> None:
        pass


class ProcessWriter:
    """Writes each group in a process of its own, started on the first group (or by `start`) and again
    whenever it has died."""

    def __init__(self, engine: Engine, settings: Settings, *, deadline: float = WRITE_DEADLINE_S) -> None:
        self.url = engine.url.render_as_string(hide_password=False)
        self.settings, self.deadline = settings, deadline
        self._process: BaseProcess | None = None
        self._pipe: Pipe | None = None
        self._ready = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def start(self) -> None:
        if self.alive:
            return
        self._stop()
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no copy of the loop's threads
        mine, theirs = context.Pipe()
        process = context.Process(target=_serve, args=(theirs, self.url, self.settings), name="push-writer")
        process.daemon = True
        process.start()
        theirs.close()
        self._process, self._pipe, self._ready = process, mine, False

    def write(self, group: Sequence[Received], at: datetime) -> list[Outcome]:
        self.start()
        assert self._pipe is not None
        try:
            if not self._ready:  # a new process: its start-up is not the group's write time
                if not self._pipe.poll(START_DEADLINE_S) or self._pipe.recv() != READY:
                    raise TimeoutError(f"not started within {START_DEADLINE_S:g} s")
                self._ready = True
            self._pipe.send((list(group), at))
            if not self._pipe.poll(self.deadline):
                raise TimeoutError(f"no answer within {self.deadline:g} s")
            outcomes: list[Outcome] = self._pipe.recv()
            return outcomes
        except (OSError, EOFError, TimeoutError) as exc:
            why = f"the writer process stopped ({type(exc).__name__})"
            log.error("push group of %d: %s; answered as failed, the providers resend", len(group), why)
            self._stop()
            return [Outcome(failed=why)] * len(group)

    def close(self) -> None:
        if self._pipe is not None and self._process is not None and self._process.is_alive():
            try:
                self._pipe.send(None)
                self._process.join(10)
            except OSError:
                pass
        self._stop()

    def _stop(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join(10)
        if self._pipe is not None:
            self._pipe.close()
        self._process = self._pipe = None


def _serve(pipe: Pipe, url: str, settings: Settings) -> None:
    """The writer process: write each group received, answer its outcomes; stop on None or when the receiver
    has gone (its end of the pipe closed)."""
    from tracker.storage.db import make_engine

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the receiver stops us
    engine = make_engine(url)
    _ = settings.phrasebook  # read now, not on the first push
    pipe.send(READY)
    try:
        while True:
            try:
                message = pipe.recv()
            except (EOFError, OSError):
                return
            if message is None:
                return
            group, at = message
            pipe.send(write_group(engine, settings, group, at))
    finally:
        engine.dispose()


def make_writer(engine: Engine, settings: Settings) -> Writer:
    """The writer [push] writer names."""
    if settings.providers.push.writer == "process":
        return ProcessWriter(engine, settings)
    return ThreadWriter(engine, settings)


@dataclass
class _Waiting:
    """One push waiting for the writer, and the loop that awaits its outcome."""

    received: Received
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Outcome]


class GroupCommit:
    """Groups the pushes handed in by `submit` and has the writer store each group in one transaction; every
    push is answered (its future set) after that commit."""

    def __init__(self, writer: Writer, now: Callable[[], datetime], *, window: float, max_group: int) -> None:
        self.writer, self.now = writer, now
        self.window, self.max_group = window, max_group
        self._queue: queue.SimpleQueue[_Waiting | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the grouping thread (and the writer process) now rather than on the first push."""
        self._ensure_started()
        self.writer.start()

    async def submit(self, provider: str, payload: str | bytes, what: str) -> Outcome:
        self._ensure_started()
        loop = asyncio.get_running_loop()
        waiting = _Waiting(Received(provider, payload, what), loop, loop.create_future())
        self._queue.put(waiting)
        return await waiting.future

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(WRITE_DEADLINE_S + 10)
            self._thread = None
        self.writer.close()

    def _ensure_started(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="push-group-commit", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            deadline = time.monotonic() + self.window
            stop = False
            while len(group) < self.max_group:
                try:
                    waiting = self._queue.get(timeout=max(deadline - time.monotonic(), 0)) if self.window else None
                    if waiting is None and not self.window:
                        waiting = self._queue.get_nowait()
                except queue.Empty:
                    break
                if waiting is None:
                    stop = True
                    break
                group.append(waiting)
            try:
                outcomes = self.writer.write([w.received for w in group], self.now())
            except Exception:  # never let the grouping thread die: every push of the group gets an answer
                log.exception("push group of %d: unexpected failure", len(group))
                outcomes = [Outcome(failed="unexpected failure")] * len(group)
            self._answer(group, outcomes)
            if stop:
                return

    @staticmethod
    def _answer(group: list[_Waiting], outcomes: list[Outcome]) -> None:
        """Set every push's outcome, one call into each event loop for the whole group."""
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Outcome], Outcome]]] = defaultdict(list)
        for waiting, outcome in zip(group, outcomes, strict=True):
            by_loop[waiting.loop].append((waiting.future, outcome))

        for loop, settled in by_loop.items():

            def settle(settled: list[tuple[asyncio.Future[Outcome], Outcome]] = settled) -> None:
                for future, outcome in settled:
                    if not future.done():
                        future.set_result(outcome)

            try:
                loop.call_soon_threadsafe(settle)
            except RuntimeError:  # the loop is closed: the server is shutting down
                pass
