"""The tracker's own processes run the collector as tracker/runtime.py sets it: the CLI's process does; a
test's process (CliRunner) keeps the interpreter's defaults."""

from __future__ import annotations

import gc
import subprocess
import sys

from typer.testing import CliRunner

from tracker.cli import app
from tracker.runtime import OLDER_EVERY, YOUNG_EVERY
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
