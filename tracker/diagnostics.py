"""What a stuck `tracker worker` is waiting for: every thread's stack, every asyncio task's await chain,
and a watchdog that reports an event loop that stopped running (a blocking call on it)."""

from __future__ import annotations

import asyncio
import io
import logging
import sys
import threading
import time
import traceback
from typing import Any

log = logging.getLogger("tracker.diagnostics")


class LoopWatchdog:
    """A thread that notices the event loop not running for `seconds` (a blocking call on it stops the
    heartbeats, the lease keepers and every job of the process) and logs every thread's stack, once per
    stall, so the log says what blocked it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, seconds: float) -> None:
        self.loop, self.seconds = loop, seconds
        self.beat = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="tracker-loop-watchdog", daemon=True)

    def start(self) -> None:
        self.loop.call_soon(self._tick)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _tick(self) -> None:
        self.beat = time.monotonic()
        if not self._stop.is_set():
            self.loop.call_later(min(1.0, self.seconds / 4), self._tick)

    def _watch(self) -> None:
        reported = False
        while not self._stop.wait(min(1.0, self.seconds / 4)):
            stalled = time.monotonic() - self.beat
            if stalled > self.seconds and not reported:
                log.warning("the event loop has not run for %.0f s; the threads are at:\n%s", stalled, thread_stacks())
            reported = stalled > self.seconds


def dump_stacks() -> None:
    """What the worker is waiting for (SIGUSR1): every thread's stack, then every asyncio task's await
    chain down to where it waits, on stderr."""
    sys.stderr.write(thread_stacks() + where_waiting())
    sys.stderr.flush()


def thread_stacks() -> str:
    """Every thread's stack, innermost call last."""
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    out = []
    for ident, frame in sys._current_frames().items():
        out.append(f"thread {names.get(ident, ident)}:\n" + "".join(traceback.format_stack(frame, limit=15)))
    return "".join(out)


def where_waiting(*, inside: str | None = None) -> str:
    """Each asyncio task's await chain, innermost last (only the chains through function `inside` or the
    functions defined in it, if given: the tasks of one job)."""
    out = io.StringIO()
    for task in asyncio.all_tasks():
        chain = []
        awaited: Any = task.get_coro()
        while awaited is not None:
            frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
            if frame is not None:
                chain.append(f"  {frame.f_code.co_filename}:{frame.f_lineno} {frame.f_code.co_qualname}")
            awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
        if inside is None or any(inside in line.rsplit(" ", 1)[1].split(".") for line in chain):
            print(f"task {task.get_name()}:", *chain, sep="\n", file=out)
    return out.getvalue()
