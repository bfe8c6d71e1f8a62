"""The board's server process (dashboard/server.py): its modules loaded, then the collector tuned, then Streamlit."""

from __future__ import annotations

import sys

from dashboard import server


def test_the_board_modules_and_lazy_libraries_are_loaded_but_not_the_script():
    names = server.preload()
    assert {"dashboard.components", "dashboard.data", "dashboard.charts", "pyarrow", "altair"} <= set(names)
    assert "dashboard.app" not in names and "dashboard.server" not in names  # the script runs per page view
    assert all(name in sys.modules for name in names)


def test_the_collector_is_tuned_after_the_modules_load_and_before_streamlit_starts(monkeypatch):
    import streamlit.web.cli

    import tracker.runtime

    steps: list[str] = []
    monkeypatch.setattr(server, "preload", lambda: steps.append("preload") or [])
    monkeypatch.setattr(tracker.runtime, "tune_gc", lambda: steps.append("tune_gc"))  # not this test's process
    monkeypatch.setattr(streamlit.web.cli, "main", lambda prog_name: steps.append(f"{prog_name} {sys.argv[1]}"))
    monkeypatch.setattr(sys, "argv", ["dashboard/server.py", "run", "dashboard/app.py"])
    server.main()
    assert steps == ["preload", "tune_gc", "streamlit run"]
    assert sys.argv[0] == "streamlit"
