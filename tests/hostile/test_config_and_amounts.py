"""A broken config file and an absurd amount are one `error: ...` line naming the file or the option, exit 2,
never a traceback. The cases are data: data/config_files.json."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tracker.settings import PROJECT_ROOT
from tracker.storage.db import make_engine, migrate

DATA = json.loads((Path(__file__).resolve().parent / "data" / "config_files.json").read_text("utf-8"))


def _tracker(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracker.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=cwd,
        timeout=60,
    )


def _break(config: Path, case: dict[str, object]) -> None:
    target = config / str(case["file"])
    target.unlink()
    if case["how"] == "bytes":
        target.write_bytes(bytes.fromhex(str(case["content_hex"])))
    elif case["how"] == "folder":
        target.mkdir()
    elif case["how"] == "deep_array":
        depth = int(str(case["depth"]))
        target.write_text(f"x = {'[' * depth}{']' * depth}\n", encoding="utf-8")
    else:
        target.write_text(str(case["content"]), encoding="utf-8")


@pytest.mark.parametrize("case", DATA["cases"], ids=[f"{c['file']}-{c['how']}" for c in DATA["cases"]])
def test_a_broken_config_file_is_one_line(case: dict[str, object], tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", config)
    _break(config, case)
    proc = _tracker("--config", str(config), "couriers", env={}, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: "), proc.stderr
    assert str(case["expected"]) in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("amount", DATA["amounts"])
def test_an_absurd_amount_is_one_line_and_changes_nothing(amount: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    env = {"TRACKER_DATABASE_URL": url, "TRACKER_CONFIG_DIR": str(PROJECT_ROOT / "config")}
    engine = make_engine(url)
    migrate(engine)  # what `tracker init` does (its own tests start it as a process)
    engine.dispose()
    proc = _tracker("claims", "pay", "1", "--amount", amount, env=env, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: --amount"), proc.stderr
