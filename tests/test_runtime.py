"""The tracker's own processes run the collector as tracker/runtime.py sets it: the CLI's process does; a
test's process (CliRunner) keeps the interpreter's defaults. A batch pauses it (collector_paused)."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading

import pytest
from typer.testing import CliRunner

from tracker.cli import app
from tracker.runtime import OLDER_EVERY, YOUNG_EVERY, collector_paused
from tracker.settings import PROJECT_ROOT

REPORT = "import atexit, gc; atexit.register(lambda: print('gc', *gc.get_threshold(), gc.get_freeze_count() > 0))"


def test_the_cli_process_freezes_startup_and_collects_less_often() -> None:
    code = f"{REPORT}; import sys; sys.argv = ['tracker', '--help']; from tracker.cli import main; main()"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == f"gc {YOUNG_EVERY} {OLDER_EVERY} {OLDER_EVERY} True"


def test_a_command_run_in_a_test_leaves_the_collector_alone() -> None:
    before = gc.get_threshold(), gc.get_freeze_count()
    assert CliRunner().invoke(app, ["--help"]).exit_code == 0
    assert (gc.get_threshold(), gc.get_freeze_count()) == before


def test_the_collector_is_paused_for_a_block_and_on_again_after_it() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), collector_paused():  # a batch that fails still turns it on again
        raise ValueError("a batch failed")
    assert gc.isenabled()


def test_overlapping_pauses_in_two_threads_end_with_the_last_one() -> None:
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with collector_paused():
            first_in.set()
            second_in.wait(10)
        first_out.set()

    def second() -> None:
        first_in.wait(10)
        with collector_paused():
            second_in.set()
            first_out.wait(10)
            seen.append(gc.isenabled())  # the first block ended: this one still holds the collector off
        seen.append(gc.isenabled())

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == [False, True]


def test_a_collector_turned_off_before_stays_off_after_a_pause() -> None:
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
