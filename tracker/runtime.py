"""How the tracker's own processes run the garbage collector (every CLI command, each push receiver process,
the board's server: dashboard/server.py).

The default collector looks at the young objects every 700 allocations, and at every object now and then.
Reading provider replies and storing their events allocates many small objects (an event is a tuple, its time
and words objects of their own), so with the default the collector took about a fifth of parsing a poll's
replies (bench/ingest.py). Here:
- what startup made (modules, settings, SQLAlchemy's tables) is frozen: it is never garbage, and no full
  collection walks it again;
- the young objects are looked at every 10,000 allocations (older ones every 10 of those, as before), which
  holds at most that many unreachable cycles a little longer;
- a batch whose objects all live until it ends (an ingest's transaction, a poll's flush) runs with the
  collector paused (collector_paused), in any process, tests' included.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_EVERY = 10_000  # allocations between collections of the young objects (CPython's default: 700)
OLDER_EVERY = 10  # collections of one generation between collections of the next (CPython's default)


def tune_gc() -> None:
    """Collect once, freeze what is alive, and collect the young objects every YOUNG_EVERY allocations."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_EVERY, OLDER_EVERY, OLDER_EVERY)


_pause_lock = threading.Lock()
_pausers = 0  # the blocks inside collector_paused now, in every thread
_resume = False  # whether the collector was on when the first of them began


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic collector off for the block: an ingest's batch or a poll's flush allocates tens of thousands of
    objects that all live until the batch ends and are then freed by their reference counts, so every
    collection during the batch walks them for nothing (measured on 2026-12-07: a tenth of a first poll's
    ingest, bench/ingest.py, and the full collections among them made its time swing by a tenth). Blocks may
    overlap, in any threads: the collector is on again when the last one ends, if it was on before the first.
    A reference cycle made in the block is collected after it."""
    global _pausers, _resume
    with _pause_lock:
        if not _pausers:
            _resume = gc.isenabled()
            gc.disable()
        _pausers += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pausers -= 1
            if not _pausers and _resume:
                gc.enable()
