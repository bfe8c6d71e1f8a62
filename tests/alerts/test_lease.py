"""A slow run holds each alert it takes for `claim_lease_minutes` from the take, so a run starting meanwhile
does not send it again (real database, real local DingTalk receiver, an injected wall clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from alertkit import Received, Receiver, add_flag, add_parcel

from tracker.alerts.service import RunReport, run_alerts
from tracker.settings import Settings
from tracker.storage.db import make_engine, migrate

SH = ZoneInfo("Asia/Shanghai")
T = datetime(2026, 11, 23, 12, tzinfo=SH).astimezone(UTC)


def test_an_alert_a_slow_run_took_late_is_not_sent_again_by_the_next_run(
    alert_settings: Settings, alert_env: dict[str, str], receiver: Receiver
) -> None:
    assert alert_settings.alerts.claim_lease_minutes == 10
    db = make_engine(alert_settings.database_url)
    migrate(db)
    for i in range(3):
        parcel = add_parcel(db, f"YT{i}", now=T - timedelta(days=5), buyer_id=f"b{i}")
        add_flag(db, parcel, "stale", opened_at=T - timedelta(hours=1))
    wall = [T]  # run A's wall clock: it starts at T, and is slow
    other: list[RunReport] = []

    def meanwhile(request: Received) -> None:
        text = request.body.get("markdown", {}).get("text", "")
        if "YT1" in text:  # A has been sending for 9 minutes when it takes YT2
            wall[0] = T + timedelta(minutes=9)
        if "YT2" in text and not other:  # while A sends YT2, at T+11 cron starts run B
            other.append(RunReport())
            with httpx.Client() as client:
                other[0] = run_alerts(
                    db,
                    alert_settings,
                    now=T + timedelta(minutes=11),
                    env=alert_env,
                    client=client,
                    sleep=lambda _: None,
                )

    receiver.on_post = meanwhile
    with httpx.Client() as client:
        run_alerts(db, alert_settings, now=T, env=alert_env, client=client, sleep=lambda _: None, clock=lambda: wall[0])
    db.dispose()
    assert other and not [d for d in other[0].sent if "YT2" in d.body]  # A's lease on YT2 runs to T+19
    texts = [r.body["markdown"]["text"] for r in receiver.delivered("/dingtalk")]
    assert [sum(f"YT{i}" in t for t in texts) for i in range(3)] == [1, 1, 1]
