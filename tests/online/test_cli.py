import pytest
from typer.testing import CliRunner

from tracker.cli import app


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sandbox", "--fault", "gremlins=0.5"], "unknown fault kind 'gremlins'"),
        (["sandbox", "--fault", "5xx=abc"], "expected KIND=RATE"),
        (["crawl", "nosuch", "--waybill", "1"], "no spider for courier 'nosuch'"),
        (["sandbox", "--push-to", "localhost:8766"], "--push-to 'localhost:8766': expected an http(s) URL"),
    ],
)
def test_bad_online_options_name_the_problem(settings, args, message) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0
    assert message in str(result.exception)


def test_poll_once_prints_the_summary(settings, sandbox) -> None:
    url, _ = sandbox
    from tracker.domain import ParcelFacts
    from tracker.storage.db import make_engine, migrate
    from tracker.storage.repo import upsert_parcels

    from .conftest import SANDBOX_NOW

    engine = make_engine(settings.database_url)
    migrate(engine)
    upsert_parcels(engine, [ParcelFacts(courier="yto", waybill="YT7512345678901")], now=SANDBOX_NOW)
    engine.dispose()
    result = CliRunner().invoke(
        app, ["poll", "--once", "--no-subscribe", "--now", "2026-11-23T12:00", "--base-url", url, "--sandbox"]
    )
    assert result.exit_code == 0, result.output
    assert "1 due" in result.output and "kuaidi100 polled      1" in result.output
