"""The board's server process: Streamlit's own `streamlit run`, started once the modules a page view uses are
loaded and the collector is tuned as in every tracker process (tracker/runtime.py: what is alive is frozen).

Run as `python -m dashboard.server run APP [options]` (tracker/commands/board.py, streamlit_command). Streamlit
collects every object after each script run (its runner.postScriptGC). With the board's modules in the heap
(pandas, Altair, SQLAlchemy, the tracker's own) that collection walked every one of them on every page view and
every click: measured on the queue page with py-spy on 2026-12-08, 0.24 s of the 0.32 s of the server's CPU a
view took, on a 2-core machine where Chromium draws the page meanwhile. Frozen, it is about 17 ms of 0.07 s. The
pages' first renders in Chromium, mostly the browser's own work, moved less: 0.91-1.03 s in two runs of
bench/board.py --browser against 1.04-1.08 s in one before.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import dashboard

# Loaded on a page's first view otherwise (Streamlit imports pyarrow for the first table), after the freeze
LAZY = ("altair", "pandas", "pyarrow")
NOT_MODULES = ("dashboard.app", "dashboard.server")  # the board's script (run by Streamlit), this launcher


def preload() -> list[str]:
    """Import the board's modules (dashboard/*.py but the script and this file, with what they import) and the
    libraries Streamlit loads lazily; their names."""
    names = [*LAZY]
    for found in pkgutil.iter_modules(dashboard.__path__, "dashboard."):
        if not found.ispkg and found.name not in NOT_MODULES:
            names.append(found.name)
    for name in names:
        importlib.import_module(name)
    return names


def main() -> None:
    from streamlit.web import cli

    from tracker.runtime import tune_gc

    preload()
    tune_gc()
    sys.argv[0] = "streamlit"
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
