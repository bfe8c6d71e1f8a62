"""How the tracker's own processes run the garbage collector (every CLI command, each push receiver process).

The default collector looks at the young objects every 700 allocations, and at every object now and then.
Reading provider replies and storing their events allocates many small objects (an event is a tuple, its time
and words objects of their own), so with the default the collector took about a fifth of parsing a poll's
replies (bench/ingest.py). Here:
- what startup made (modules, settings, SQLAlchemy's tables) is frozen: it is never garbage, and no full
  collection walks it again;
- the young objects are looked at every 10,000 allocations (older ones every 10 of those, as before), which
  holds at most that many unreachable cycles a little longer.
"""

from __future__ import annotations

import gc

YOUNG_EVERY = 10_000  # allocations between collections of the young objects (CPython's default: 700)
OLDER_EVERY = 10  # collections of one generation between collections of the next (CPython's default)


def tune_gc() -> None:
    """Collect once, freeze what is alive, and collect the young objects every YOUNG_EVERY allocations."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_EVERY, OLDER_EVERY, OLDER_EVERY)
