"""The daily digest counts the new exceptions since the group's previous digest day: with weekdays Monday to
Friday, Monday's digest names the weekend's (it counted the last 24 hours, and Saturday's never showed)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tracker.alerts.digest import since_last_digest

SH = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=SH).astimezone(UTC)


def test_monday_counts_since_friday_when_the_group_keeps_weekdays() -> None:
    monday = at(23, 9)  # 2026-11-23 is a Monday
    assert since_last_digest(monday, SH, [1, 2, 3, 4, 5]) == at(20, 9)  # Friday 09:00
    assert since_last_digest(monday, SH, None) == at(22, 9)  # every day: yesterday
    assert since_last_digest(at(24, 9), SH, [1, 2, 3, 4, 5]) == at(23, 9)  # Tuesday: Monday
    assert since_last_digest(monday, SH, [1]) == at(16, 9)  # Mondays only: a week


def test_mondays_digest_names_the_weekends_new_exceptions(plain_settings) -> None:  # type: ignore[no-untyped-def]
    from test_planning import flag

    from tracker.alerts.digest import plan_daily_digests

    config = plain_settings.alerts
    config = config.model_copy(update={"schedule": config.schedule.model_copy(update={"weekdays": [1, 2, 3, 4, 5]})})
    saturday, sunday, friday_morning = at(21, 15), at(22, 11), at(20, 8)
    flags = [flag(flag_id=i, parcel_id=i, opened_at=when) for i, when in enumerate((saturday, sunday, friday_morning))]
    planned = plan_daily_digests(flags, [], frozenset(), config=config, ladders=plain_settings.rules.refund_ladder,
                                 tz=SH, now=at(23, 9), currency="CNY")  # fmt: skip
    [agents] = [p for p in planned if p.recipient == "agents"]
    assert "自 2026-11-20 09:00 以来新增异常 2 件" in agents.body, agents.body  # Friday 08:00's was Friday's


def test_a_digest_counts_from_when_the_previous_one_went_on_each_channel(plain_settings) -> None:  # type: ignore[no-untyped-def]
    """From the previous digest that went out; a channel without one (added since, or its digest never went)
    counts from the previous digest day, and the group's one message from the earliest; a week back at most."""
    from tracker.alerts.digest import digest_since

    config = plain_settings.alerts
    agents = config.groups["agents"]
    two = agents.model_copy(update={"channels": ["ding", "hook"]})
    tuesday = at(24, 9)
    monday = datetime(2026, 11, 23, 9, 3, tzinfo=SH).astimezone(UTC)
    assert digest_since("agents", agents, config, SH, tuesday, {("agents", "ding"): monday}) == monday
    assert digest_since("agents", agents, config, SH, tuesday, {}) == at(23, 9)  # none went: a day back
    assert digest_since("agents", two, config, SH, tuesday, {("agents", "ding"): monday}) == at(23, 9)
    weeks_ago = at(2, 9)
    assert digest_since("agents", agents, config, SH, tuesday, {("agents", "ding"): weeks_ago}) == at(17, 9)
