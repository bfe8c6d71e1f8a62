"""Kuaidi100 autonumber (智能单号识别) as the detection fallback, against the real sandbox over HTTP."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from bench.config_copy import copy_config
from tracker.cli import app
from tracker.couriers.detect import CourierIndex
from tracker.providers.kuaidi100.autonumber import parse_autonumber
from tracker.providers.kuaidi100.client import Kuaidi100Client, ask_autonumber
from tracker.sandbox.app import SandboxState
from tracker.settings import PROJECT_ROOT, Settings


@pytest.fixture
def sandbox_config(tmp_path: Path, sandbox: tuple[str, SandboxState], monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config folder whose Kuaidi100 points at the sandbox, used by the CLI."""
    url, _ = sandbox
    target = copy_config(
        PROJECT_ROOT / "config", tmp_path / "config", {"providers.toml": {"kuaidi100": {"base_url": url}}}
    )
    monkeypatch.setenv("TRACKER_CONFIG_DIR", str(target))
    return target


def test_sandbox_answers_the_documented_sparse_list(sandbox: tuple[str, SandboxState]) -> None:
    url, state = sandbox
    reply = httpx.get(f"{url}/autonumber/auto", params={"num": "668123456789", "key": "sandbox-kuaidi100-key"})
    assert reply.status_code == 200
    items = reply.json()
    assert [item["comCode"] for item in items] == ["zhongtong", "shentong"]
    assert all(set(item) == {"comCode", "id", "noCount", "noPre", "startTime"} for item in items)
    assert state.stats["kuaidi100.autonumber"] == 1
    # POST with a form works as GET does; an unknown number is an empty list; a wrong key is refused
    posted = httpx.post(f"{url}/autonumber/auto", data={"num": "773277027280336", "key": "sandbox-kuaidi100-key"})
    assert [item["comCode"] for item in posted.json()] == ["shentong"]
    assert httpx.get(f"{url}/autonumber/auto", params={"num": "XX12", "key": "sandbox-kuaidi100-key"}).json() == []
    refused = httpx.get(f"{url}/autonumber/auto", params={"num": "668123456789", "key": "wrong"}).json()
    assert refused["returnCode"] == "600" and not isinstance(refused, list)


def test_client_autonumber_over_http(online_settings: Settings) -> None:
    async def go() -> str:
        client = Kuaidi100Client(online_settings.providers.kuaidi100)
        try:
            return await client.autonumber("sf1385628716739")
        finally:
            await client.aclose()

    reply = parse_autonumber(asyncio.run(go()))
    assert reply.codes == ("shunfeng",) and reply.error is None


def test_wrong_key_is_an_error_reply_not_an_exception(online_settings: Settings) -> None:
    config = online_settings.providers.kuaidi100.model_copy(update={"key": "not-our-key"})
    reply = ask_autonumber(config, "668123456789")
    assert reply.codes == ()
    assert reply.error is not None and reply.error.startswith("refused: 600")


def test_an_unreachable_kuaidi100_is_an_error_reply(online_settings: Settings) -> None:
    config = online_settings.providers.kuaidi100.model_copy(
        update={"base_url": "http://127.0.0.1:9", "retry_attempts": 1, "timeout_seconds": 0.5}
    )
    reply = ask_autonumber(config, "668123456789")
    assert reply.codes == () and reply.error == "failed: ConnectError from 127.0.0.1:9"  # the key stays out


def test_a_server_error_is_an_error_reply(online_settings: Settings, sandbox: tuple[str, SandboxState]) -> None:
    url, _ = sandbox
    httpx.post(f"{url}/_sandbox/faults", json={"next": ["5xx"]}).raise_for_status()
    config = online_settings.providers.kuaidi100.model_copy(update={"retry_attempts": 1})
    reply = ask_autonumber(config, "668123456789")
    assert reply.codes == () and reply.error == f"failed: HTTP 502 from {url.removeprefix('http://')}"


def test_a_cut_off_reply_is_an_error_reply(online_settings: Settings, sandbox: tuple[str, SandboxState]) -> None:
    url, _ = sandbox
    httpx.post(f"{url}/_sandbox/faults", json={"next": ["malformed"]}).raise_for_status()
    reply = ask_autonumber(online_settings.providers.kuaidi100, "668123456789")
    assert reply.codes == () and reply.error == "the reply is not JSON"
    # the fault was used up: the next call answers
    assert ask_autonumber(online_settings.providers.kuaidi100, "668123456789").codes == ("zhongtong", "shentong")


def test_the_fallback_decides_what_the_patterns_cannot(online_settings: Settings) -> None:
    index = CourierIndex(online_settings.couriers, online_settings.detection)
    reply = ask_autonumber(online_settings.providers.kuaidi100, "668123456789")
    ranked = index.from_autonumber(reply.codes)
    assert [(c.slug, c.percent) for c in ranked] == [("zto", "67%"), ("sto", "33%")]
    assert index.decide("668123456789", ranked).slug == "zto"


def test_cli_says_when_it_asked_kuaidi100(sandbox_config: Path, sandbox: tuple[str, SandboxState]) -> None:
    _, state = sandbox
    result = CliRunner().invoke(app, ["couriers", "detect", "668123456789"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "the patterns could not decide: asked Kuaidi100 autonumber"
    assert lines[1] == "668123456789: candidates from Kuaidi100 autonumber, best first"
    assert lines[2].split("\t") == ["  中通快递", "zto", "67%", "Kuaidi100 autonumber suggestion 1"]
    assert lines[3].split("\t")[:3] == ["  申通快递", "sto", "33%"]
    assert lines[-1] == "courier: 中通快递 (zto), 67%"
    assert state.stats["kuaidi100.autonumber"] == 1


def test_cli_does_not_ask_when_the_patterns_decide(sandbox_config: Path, sandbox: tuple[str, SandboxState]) -> None:
    _, state = sandbox
    result = CliRunner().invoke(app, ["couriers", "detect", "773277027280336"])
    assert result.exit_code == 0, result.output
    assert "Kuaidi100" not in result.output and result.output.splitlines()[-1] == "courier: 申通快递 (sto), 95%"
    assert state.stats["kuaidi100.autonumber"] == 0


def test_cli_reports_a_number_kuaidi100_does_not_know(sandbox_config: Path) -> None:
    result = CliRunner().invoke(app, ["couriers", "detect", "xx1234567"])
    assert result.exit_code != 0
    assert "asked Kuaidi100 autonumber: no suggestion among the configured couriers" in result.output
    assert "waybill 'XX1234567' matches no courier's number pattern: fill in the courier" in str(result.exception)


def test_cli_takes_kuaidi100s_word_for_a_weak_pattern_match(sandbox_config: Path) -> None:
    result = CliRunner().invoke(app, ["couriers", "detect", "12345678"])  # patterns: 德邦快递 35%, too weak
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "courier: 德邦快递 (deppon), 90%"


def test_import_asks_kuaidi100_only_when_switched_on(
    tmp_path: Path,
    settings: Settings,
    sqlite_engine: Engine,
    sandbox: tuple[str, SandboxState],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, state = sandbox
    path = tmp_path / "orders.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows([["订单编号", "物流单号", "物流公司"], ["6001", "668123456789", ""]])
    off = copy_config(PROJECT_ROOT / "config", tmp_path / "off", {"providers.toml": {"kuaidi100": {"base_url": url}}})
    monkeypatch.setenv("TRACKER_CONFIG_DIR", str(off))
    result = CliRunner().invoke(app, ["import", "parcels", str(path)])
    assert result.exit_code == 1
    text = " ".join(result.output.split())  # rich wraps stderr at the console width
    assert (
        "row 2, 物流公司 = '': courier is blank and waybill '668123456789' could be 中通快递 (50%) or 申通快递 (40%); "
        "fill in the courier" in text
    )
    assert state.stats["kuaidi100.autonumber"] == 0  # default: the import stays offline

    on = copy_config(
        PROJECT_ROOT / "config",
        tmp_path / "on",
        {
            "providers.toml": {"kuaidi100": {"base_url": url}},
            "couriers.toml": {"detection": {"import_autonumber": True}},
        },
    )
    monkeypatch.setenv("TRACKER_CONFIG_DIR", str(on))
    result = CliRunner().invoke(app, ["import", "parcels", str(path)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "row 2: courier detected for 668123456789: 中通快递 (67%, Kuaidi100 autonumber suggestion 1)" in text
    assert state.stats["kuaidi100.autonumber"] == 1


def test_import_stops_asking_an_unreachable_kuaidi100(
    tmp_path: Path, settings: Settings, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "orders.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(
            [["订单编号", "物流单号", "物流公司"], ["6101", "668123456789", ""], ["6102", "1207119765021", ""]]
        )
    changes = {
        "providers.toml": {"kuaidi100": {"base_url": "http://127.0.0.1:9", "retry_attempts": 1}},
        "couriers.toml": {"detection": {"import_autonumber": True}},
    }
    monkeypatch.setenv("TRACKER_CONFIG_DIR", str(copy_config(PROJECT_ROOT / "config", tmp_path / "cfg", changes)))
    result = CliRunner().invoke(app, ["import", "parcels", str(path)])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert text.count("Kuaidi100 autonumber failed") == 1  # asked once, not once per row
    assert "row 2, 物流公司 = '': courier is blank and waybill '668123456789' could be 中通快递 (50%)" in text
    assert "row 3, 物流公司 = '': courier is blank and waybill '1207119765021' could be 邮政快递包裹 (50%)" in text
