"""A real `tracker serve-push` process for the hostile push tests (python -m tracker.cli, its own port, a config
copy with the [push] bounds the test needs, secrets of its own from the environment), plus the signing helpers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.config_copy import copy_config
from tracker.providers.kdniao.sign import data_sign
from tracker.providers.kuaidi100.sign import push_sign as kd100_sign
from tracker.providers.track17.sign import push_sign as t17_sign
from tracker.sandbox.server import free_port
from tracker.settings import PROJECT_ROOT
from tracker.storage.db import make_engine, migrate

DATA = Path(__file__).parent / "data"
# this test receiver's own secrets: anything but the sandbox's public ones
SECRETS = {
    "TRACKER_KUAIDI100_SALT": "hostile-test-salt-5d1e",
    "TRACKER_KDNIAO_APP_KEY": "hostile-test-kdn-93ab",
    "TRACKER_TRACK17_KEY": "hostile-test-17-c07f",
}
SANDBOX = {"kuaidi100": "sandbox-kuaidi100-salt", "kdniao": "sandbox-kdniao-appkey", "track17": "sandbox-17track-key"}
REAL = {
    "kuaidi100": SECRETS["TRACKER_KUAIDI100_SALT"],
    "kdniao": SECRETS["TRACKER_KDNIAO_APP_KEY"],
    "track17": SECRETS["TRACKER_TRACK17_KEY"],
}


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def signed(provider: str, payload: str, secret: str) -> dict[str, Any]:
    """httpx.post keyword arguments for a push of `payload` (the JSON text) signed with `secret`."""
    if provider == "kuaidi100":
        return {"data": {"param": payload, "sign": kd100_sign(payload, secret)}}
    if provider == "kdniao":
        return {"data": {"RequestData": payload, "DataSign": data_sign(payload, secret), "RequestType": "101"}}
    raw = payload.encode()
    return {"content": raw, "headers": {"sign": t17_sign(raw, secret), "content-type": "application/json"}}


def tracker_cli(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracker.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class PushServer:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str]
    db_url: str

    def status(self, key: str) -> int:
        """A /proc/<pid>/status value in kB (VmHWM: the peak resident memory so far)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        raise KeyError(key)

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return tracker_cli(list(args), self.env)

    def text(self) -> str:
        return self.log.read_text(errors="replace")


def server_env(
    tmp_path: Path, db_url: str, push: dict[str, object] | None = None, *, secrets: bool | dict[str, str] = True
) -> dict[str, str]:
    config = copy_config(PROJECT_ROOT / "config", tmp_path / "config", {"providers.toml": {"push": push or {}}})
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update({"TRACKER_CONFIG_DIR": str(config), "TRACKER_DATABASE_URL": db_url, "PYTHONUNBUFFERED": "1"})
    if secrets:
        env.update(SECRETS if secrets is True else secrets)
    return env


@contextmanager
def serve_push(
    tmp_path: Path,
    db_url: str,
    push: dict[str, object] | None = None,
    *args: str,
    secrets: bool | dict[str, str] = True,
) -> Iterator[PushServer]:
    """`tracker serve-push` on a free 127.0.0.1 port with this test's secrets (or only `secrets`); stopped
    (SIGTERM) at the end."""
    engine = make_engine(db_url)
    migrate(engine)
    engine.dispose()
    env = server_env(tmp_path, db_url, push, secrets=secrets)
    port = free_port()
    log = tmp_path / "serve-push.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tracker.cli", "serve-push", "--port", str(port), *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = PushServer(f"http://127.0.0.1:{port}", proc, log, env, db_url)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"serve-push exited {proc.returncode}: {server.text()}")
            try:
                httpx.get(f"{server.url}/", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"serve-push did not listen: {server.text()}") from None
                time.sleep(0.1)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
