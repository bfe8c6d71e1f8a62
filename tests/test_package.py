"""The built wheel runs on its own: installed into a fresh virtualenv and run from a folder without
config/, it finds the default configuration it carries, keeps its database in that folder, and
`tracker init-config` writes a copy of the configuration to edit."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tracker.settings import PROJECT_ROOT


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `tracker` script of a fresh virtualenv holding only the wheel built from this checkout.

    The dependencies are borrowed from the test environment (a .pth line to its site-packages) so the test
    needs no network; the project itself comes from the wheel alone."""
    root = tmp_path_factory.mktemp("wheel")
    _run(sys.executable, "-m", "pip", "wheel", PROJECT_ROOT, "--no-deps", "-q", "-w", root / "dist", cwd=root)
    (wheel,) = (root / "dist").glob("parcel_tracker-*.whl")
    env = root / "env"
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=root).stdout.strip())
    # pip of the test environment installs the wheel (and its `tracker` script) into the new environment
    _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel, cwd=root)
    (site / "borrowed_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    return env / "bin"


def test_the_wheel_carries_its_configuration_and_runs_without_a_config_folder(installed: Path, tmp_path: Path) -> None:
    where = _run(installed / "python", "-c", "import tracker.settings as s; print(s.__file__)", cwd=tmp_path)
    assert str(installed.parent) in where.stdout  # the wheel's copy, not this checkout
    assert not (tmp_path / "config").exists()
    assert "Logistics exception" in _run(installed / "tracker", "--help", cwd=tmp_path).stdout
    listed = _run(installed / "tracker", "couriers", "--format", "csv", cwd=tmp_path).stdout
    assert "sf," in listed and "顺丰速运" in listed  # read from the shipped couriers.toml
    detected = _run(installed / "tracker", "couriers", "detect", "SF1234567890123", cwd=tmp_path)
    assert "courier: 顺丰速运 (sf)" in detected.stdout
    _run(installed / "tracker", "init", cwd=tmp_path)  # the shipped database_url is relative: ./var here
    assert (tmp_path / "var" / "tracker.db").is_file()


def test_init_config_writes_an_editable_copy_that_the_tracker_then_reads(installed: Path, tmp_path: Path) -> None:
    _run(installed / "tracker", "init-config", cwd=tmp_path)
    shipped = sorted(p.relative_to(PROJECT_ROOT / "config") for p in (PROJECT_ROOT / "config").rglob("*.toml"))
    assert sorted(p.relative_to(tmp_path / "config") for p in (tmp_path / "config").rglob("*.toml")) == shipped
    couriers = tmp_path / "config" / "couriers.toml"
    couriers.write_text(couriers.read_text(encoding="utf-8").replace("顺丰速运", "顺丰（本仓）"), encoding="utf-8")
    listed = _run(installed / "tracker", "couriers", "--format", "csv", cwd=tmp_path).stdout
    assert "顺丰（本仓）" in listed and "顺丰速运" not in listed  # ./config now wins over the shipped copy
    again = subprocess.run([str(installed / "tracker"), "init-config"], cwd=tmp_path, capture_output=True, text=True)
    assert again.returncode == 2 and "already exists" in again.stderr and "Traceback" not in again.stderr
