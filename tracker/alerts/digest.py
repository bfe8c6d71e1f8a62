"""The daily summary per group: new exceptions by kind, claim deadlines coming, money claimable. Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from claims.claimable import UNFILED_STATES, Claimable, claimable_of
from tracker import labels
from tracker.alerts.messages import FORMATS, Message, Text, Untrusted, render
from tracker.alerts.model import ClaimFacts, DeadlineFacts, FlagFacts, PlannedAlert
from tracker.alerts.planning import parcel_groups, route_groups, stage_of, work_windows
from tracker.alerts.schedule import local_date, next_slot
from tracker.settings import AlertGroup, AlertsConfig, RefundLadders

_TEXT = {
    "zh": {
        "title": "每日异常汇总 {day}", "new": "自 {since} 以来新增异常 {n} 件", "none": "自 {since} 以来无新增异常",
        "closing": "{days}天内截止的索赔 {n} 件", "claimable": "可索赔金额(草稿, 申报期未过) {amount} {cur}",
        "closes": "截止",
        "platform": "{days}天内到期的平台时限 {n} 个",
    },
    "en": {
        "title": "Daily exceptions summary {day}", "new": "New exceptions since {since}: {n}",
        "none": "No new exceptions since {since}", "closing": "Claims closing within {days} days: {n}",
        "claimable": "Claimable (drafts still in their filing window): {amount} {cur}", "closes": "closes",
        "platform": "Platform deadlines within {days} days: {n}",
    },
}  # fmt: skip

# Claim states still to be filed: their deadlines matter and the claimable ones are among them.
OPEN_CLAIM_STATES = UNFILED_STATES


def digest_key(day: str, group: str, channel: str) -> str:
    return f"digest:{day}:{group}:{channel}"


def plan_daily_digests(
    flags: Iterable[FlagFacts],
    claims: Iterable[ClaimFacts],
    existing_keys: frozenset[str],
    *,
    config: AlertsConfig,
    ladders: RefundLadders,
    tz: ZoneInfo,
    now: datetime,
    deadlines: Iterable[DeadlineFacts] = (),
    currency: str,
    last_digests: Mapping[tuple[str, str], datetime] | None = None,
) -> list[PlannedAlert]:
    """One summary per group with `daily_digest` and channel per local day, planned at the first run
    inside the group's hours (any time for groups that ignore the schedule). A flag counts for a group
    when it opened since the group's previous digest (`last_digests`: when each went out per channel) and routes
    to it; a claim when its parcel routes to it. `currency`: the settings' currency, named when there is no
    claimable money."""
    day = local_date(now, tz)
    flags = list(flags)
    claims = list(claims)
    deadlines = list(deadlines)
    planned: list[PlannedAlert] = []
    for name, group in config.groups.items():
        if not group.daily_digest:
            continue
        if group.follows_schedule:
            opens = next_slot(now, tz, work_windows(config), weekdays=config.schedule.weekdays)
            if opens != now:
                continue
        keys = {c: digest_key(day.isoformat(), name, c) for c in group.channels}
        if all(k in existing_keys for k in keys.values()):
            continue
        since = digest_since(name, group, config, tz, now, last_digests or {})
        mine = [
            f
            for f in flags
            if since < f.opened_at <= now
            and (
                name in route_groups(f, config, to_lead=False)
                or name in route_groups(f, config, to_lead=stage_of(f, config, ladders).to_lead)
            )
        ]
        my_claims = [c for c in claims if name in parcel_groups(c.courier, c.shop, c.province, config)]
        my_deadlines = [d for d in deadlines if name in parcel_groups(d.courier, d.shop, d.province, config)]
        message = digest_message(
            mine,
            my_claims,
            language=group.language or config.language,
            config=config,
            tz=tz,
            now=now,
            since=since,
            deadlines=my_deadlines,
            currency=currency,
        )
        for channel, key in keys.items():
            if key in existing_keys:
                continue
            planned.append(
                PlannedAlert(
                    dedupe_key=key,
                    flag_id=None,
                    parcel_id=None,
                    channel=channel,
                    recipient=name,
                    level="digest",
                    subject=message.subject,
                    body=render(message, FORMATS[config.channels[channel].type]),
                    state="pending",
                    due_at=now,
                )
            )
    return planned


def digest_since(
    name: str,
    group: AlertGroup,
    config: AlertsConfig,
    tz: ZoneInfo,
    now: datetime,
    last_digests: Mapping[tuple[str, str], datetime],
) -> datetime:
    """Where group `name`'s digest at `now` counts new exceptions from: when its previous digest went out on each
    of its channels (`last_digests`), so that a flag opened between Monday's digest at 09:03 and Tuesday's at 09:08
    is in one of them; a channel without one (the first digest, a channel added, a digest that never went) counts
    from the same time on the group's previous digest day (since_last_digest, on its schedule's weekdays when it
    follows the schedule). The earliest of its channels' (one message goes to all), at most DIGEST_LOOKBACK
    back."""
    fallback = since_last_digest(now, tz, config.schedule.weekdays if group.follows_schedule else None)
    starts = [last_digests.get((name, channel)) for channel in group.channels]
    since = min(at if at is not None and at < now else fallback for at in starts) if starts else fallback
    return max(since, now - DIGEST_LOOKBACK)


# a digest counts a week back at most (a group's first digest after weeks without one names since when)
DIGEST_LOOKBACK = timedelta(days=7)


def since_last_digest(now: datetime, tz: ZoneInfo, weekdays: Sequence[int] | None) -> datetime:
    """The time of day `now` on the group's previous digest day: yesterday, or for a group whose weekdays leave
    days out (Monday to Friday) the last day among them (Friday, on a Monday), so that no day's new exceptions
    fall between two digests."""
    local_now = now.astimezone(tz)
    back = 1
    while weekdays is not None and back < 7 and (local_now.date() - timedelta(days=back)).isoweekday() not in weekdays:
        back += 1
    return (local_now - timedelta(days=back)).astimezone(now.tzinfo)


def digest_message(
    flags: list[FlagFacts],
    claims: list[ClaimFacts],
    *,
    language: str,
    config: AlertsConfig,
    tz: ZoneInfo,
    now: datetime,
    since: datetime | None = None,
    deadlines: Iterable[DeadlineFacts] = (),
    currency: str,
) -> Message:
    t = _TEXT[language]
    lines: list[Text] = []
    by_kind = Counter(f.kind for f in flags)
    start = f"{(since or since_last_digest(now, tz, None)).astimezone(tz):%Y-%m-%d %H:%M}"
    if by_kind:
        lines.append(t["new"].format(n=sum(by_kind.values()), since=start))
        for kind, n in sorted(by_kind.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  {labels.kind_label(kind, language)}: {n}")
    else:
        lines.append(t["none"].format(since=start))
    horizon = now + timedelta(days=config.digest_claim_days)
    open_claims = [c for c in claims if c.state in OPEN_CLAIM_STATES]
    closing = sorted(
        (c for c in open_claims if c.filing_closes_at is not None and now <= c.filing_closes_at <= horizon),
        key=lambda c: c.filing_closes_at,  # type: ignore[arg-type, return-value]
    )
    lines.append(t["closing"].format(days=config.digest_claim_days, n=len(closing)))
    for claim in closing:
        closes = claim.filing_closes_at.astimezone(tz)  # type: ignore[union-attr]
        claim_type = labels.claim_type_label(claim.claim_type, language)
        lines.append(("  ", Untrusted(claim.waybill), f" {claim_type} {t['closes']} {closes:%Y-%m-%d %H:%M}"))
    totals = claimable_of(claims, now=now) or {currency: Claimable(Decimal("0.00"), 0)}
    for cur, total in sorted(totals.items()):
        lines.append(t["claimable"].format(amount=f"{total.amount:,.2f}", cur=cur))
    # Tmall timers still open that end within the same horizon as the claims (docs/domain.md "Tmall's timers")
    due = sorted((d for d in deadlines if now <= d.due_at <= horizon), key=lambda d: (d.due_at, d.waybill))
    if due:
        lines.append(t["platform"].format(days=config.digest_claim_days, n=len(due)))
        for d in due:
            until = d.due_at.astimezone(tz)
            timer = labels.timer_label(d.kind, language)
            lines.append(("  ", Untrusted(d.waybill), f" {timer} {t['closes']} {until:%Y-%m-%d %H:%M}"))
    return Message(title=t["title"].format(day=local_date(now, tz).isoformat()), lines=tuple(lines))
