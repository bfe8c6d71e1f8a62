"""The imperative shell of `tracker alert`: load -> plan (pure) -> store -> deliver due -> record.

run_alerts
  ├─ store.load_flags / load_claims / load_history
  ├─ planning.plan_alerts + digest.plan_daily_digests      (pure, `now` passed in)
  ├─ store.insert_planned                                   (ON CONFLICT DO NOTHING on dedupe_key)
  ├─ store.cancel_for_resolved_flags, cancel_for_removed_routes (a channel or group taken out of alerts.toml)
  └─ deliver: due rows per (recipient, channel); held rows go as one digest, and more than a
     channel's `max_per_run` as one bundle, at most `max_per_run` messages per channel (the rest wait
     for the next run; the board's own log has no cap); channels.send with retries; a failure is stored
     as `failed` with attempts and a later due_at (backoff), never dropped.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine

from tracker.alerts import planning, store
from tracker.alerts.channels import DeliveryError, Outgoing, describe, send
from tracker.alerts.digest import OPEN_CLAIM_STATES, digest_since, plan_daily_digests
from tracker.alerts.messages import FORMATS, bundle_message
from tracker.alerts.model import PlannedAlert
from tracker.alerts.planning import plan_alerts
from tracker.settings import AlertsConfig, Settings

log = logging.getLogger(__name__)

_BUNDLE_TITLES = {
    "held": {"zh": "非工作时间暂存的提醒 {n} 条", "en": "{n} alerts held outside working hours"},
    "many": {"zh": "待处理提醒 {n} 条", "en": "{n} more alerts"},
}


@dataclass
class Delivery:
    """One message to send: a single alert row, or several rows bundled."""

    channel: str
    recipient: str
    subject: str
    body: str
    ids: list[int]
    keys: list[str]
    call_keys: list[str | None]
    attempts: int = 0  # tries made before this run (the most of its rows)
    held: bool = False  # the group's digest of alerts held outside working hours (kept through a failure)
    due: list[datetime | None] = field(default_factory=list)  # each row's due time (the log keeps it once sent)


@dataclass
class RunReport:
    planned: list[PlannedAlert] = field(default_factory=list)
    sent: list[Delivery] = field(default_factory=list)
    failed: list[tuple[Delivery, str]] = field(default_factory=list)
    held: int = 0
    scheduled: int = 0
    cancelled: int = 0
    stuck: list[dict[str, Any]] = field(default_factory=list)
    would_send: list[tuple[Delivery, str]] = field(default_factory=list)  # dry run: (delivery, payload)

    @property
    def sent_alerts(self) -> int:
        """Alerts sent by this run: alert rows now `sent` (the board's 已发提醒 counts the same rows)."""
        return sum(len(d.ids) for d in self.sent)

    @property
    def failed_alerts(self) -> int:
        return sum(len(d.ids) for d, _ in self.failed)

    def summary(self) -> str:
        """One line in the board's words: an alert is one exception (or digest) for one recipient group on
        one channel; planned = stored by this run, sent/failed = alerts (several may share one message),
        held = waiting for working hours, to go in the group's next held digest: all stored, not only this run's,
        failed alerts still held (a held digest that failed, retried as one) included (store.held_alerts)."""
        return (
            f"alerts: {len(self.planned)} planned, {self.sent_alerts} sent in {len(self.sent)} message(s), "
            f"{self.failed_alerts} failed, {self.held} held, scheduled calls {self.scheduled}, "
            f"cancelled {self.cancelled}"
        )


def plan(engine: Engine, settings: Settings, *, now: datetime) -> list[PlannedAlert]:
    """Everything new to store at `now`: flag alerts, reminders and the daily digests."""
    config = settings.alerts
    history = store.load_history(
        engine, tz=settings.tz, now=now, max_attempts=config.max_attempts, channels=config.channels
    )
    # the open flags, and those opened since the earliest previous digest of a group (a digest counts them,
    # resolved or not: Monday's counts the weekend's for a group working Monday to Friday)
    digest_days = [
        digest_since(name, g, config, settings.tz, now, history.last_digests)
        for name, g in config.groups.items()
        if g.daily_digest
    ]
    since = min([now - timedelta(days=1), *digest_days])
    flags = store.load_flags(engine, settings, lead_kinds=config.lead_kinds, since=since, now=now)
    planned = plan_alerts(
        flags,
        history,
        config=config,
        contact=settings.rules.contact,
        ladders=settings.rules.refund_ladder,
        tz=settings.tz,
        now=now,
    )
    planned += plan_daily_digests(
        flags,
        store.load_claims(engine, states=OPEN_CLAIM_STATES),
        history.keys,
        config=config,
        ladders=settings.rules.refund_ladder,
        tz=settings.tz,
        now=now,
        deadlines=platform_deadlines(engine, settings, {f.parcel_id for f in flags}),
        currency=settings.currency,
        last_digests=history.last_digests,
    )
    return planned


def platform_deadlines(engine: Engine, settings: Settings, parcel_ids: set[int]) -> list[Any]:
    """The Tmall timers the digest lists: those of parcels with flags, and of parcels with a 未收到货 complaint
    (its negotiation runs whether or not a flag is open)."""
    from tracker.flags.timers import deadline_facts

    return deadline_facts(engine, parcel_ids, settings.tmall, with_complaints=True)


def run_alerts(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime,
    dry_run: bool = False,
    env: Mapping[str, str] | None = None,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RunReport:
    """Plan, store and deliver alerts as of `now`. A dry run stores and sends nothing: it reports the
    alerts it would create and every message it would send. `clock` is the wall clock, read only for the
    sending leases (a slow run's alerts are taken until `claim_lease_minutes` after each take)."""
    started = clock()
    config = settings.alerts
    env = os.environ if env is None else env
    report = RunReport(planned=plan(engine, settings, now=now))
    if dry_run:
        rows = store.due_alerts(engine, now=now, max_attempts=config.max_attempts)
        moved = {i for i, _, _ in outside_hours(rows, settings, now=now)}
        rows = [r for r in rows if r["id"] not in moved]
        rows += [_as_row(p, i) for i, p in enumerate(report.planned, start=-len(report.planned))]
        for delivery in group_deliveries([r for r in rows if r["due_at"] <= now], config):
            channel = config.channels[delivery.channel]
            report.would_send.append((delivery, describe(channel, _outgoing(delivery))))
        report.held = sum(1 for p in report.planned if p.state == "held")
        report.scheduled = sum(1 for p in report.planned if p.state == "pending" and p.due_at > now)
        return report
    store.insert_planned(engine, report.planned, now=now)
    report.cancelled = store.cancel_for_resolved_flags(engine, now=now)
    # each group's channels (every one is a configured channel: tracker.settings checks it at load)
    routes = {name: group.channels for name, group in config.groups.items()}
    report.cancelled += store.cancel_for_removed_routes(engine, routes=routes)
    due = store.due_alerts(engine, now=now, max_attempts=config.max_attempts)
    moves = outside_hours(due, settings, now=now)
    store.move_due(engine, moves, now=now)
    moved = {i for i, _, _ in moves}
    due = [r for r in due if r["id"] not in moved]
    own_client = client is None
    client = client or httpx.Client()
    lease = _Lease(now=now, started=started, clock=clock, minutes=config.claim_lease_minutes)
    try:
        for delivery in group_deliveries(due, config):
            _deliver(engine, delivery, settings, report, env=env, client=client, sleep=sleep, now=now, lease=lease)
    finally:
        if own_client:
            client.close()
    report.held = store.count_held(engine, max_attempts=config.max_attempts)
    report.stuck = store.stuck_failures(engine, max_attempts=config.max_attempts, since=now)
    report.scheduled = sum(1 for p in report.planned if p.state == "pending" and p.due_at > now)
    return report


def _as_row(p: PlannedAlert, fake_id: int) -> dict[str, Any]:
    return {**store.planned_row(p, created_at=p.due_at), "id": fake_id}


def outside_hours(rows: list[dict[str, Any]], settings: Settings, *, now: datetime) -> list[tuple[int, datetime, bool]]:
    """Due rows that may not go at `now` (id, when they may, held): an alert to a group that follows the
    schedule found due outside its working hours (its lease expired at night, say) moves to the next window's
    start and into the held digest; a phone task outside the calling window to the window's next slot."""
    moves = []
    for row in rows:
        digest = _is_digest(row["dedupe_key"])
        at, held = _sendable(now, row["recipient"], row.get("call_key") is not None, digest, _is_held(row), settings)
        if at != now:
            moves.append((row["id"], at, held))
    return moves


def _sendable(
    at: datetime, recipient: str, is_call: bool, digest: bool, held: bool, settings: Settings
) -> tuple[datetime, bool]:
    """When an alert due at `at` may go (planning.sendable_at) and whether it then goes in the group's held
    digest: moved outside working hours, unless it is the daily digest (sent on its own), or held already."""
    config = settings.alerts
    when, moved_held = planning.sendable_at(
        at, recipient, is_call=is_call, config=config, contact=settings.rules.contact, tz=settings.tz
    )
    return when, (moved_held and not digest) or held


def _is_digest(key: str) -> bool:
    """The daily digest: moved to the next window like an alert, but sent on its own, not in the held one."""
    return key.startswith("digest:")


def _is_held(row: Mapping[str, Any]) -> bool:
    return bool(row.get("held")) or row["state"] == "held"


def group_deliveries(rows: list[dict[str, Any]], config: AlertsConfig) -> list[Delivery]:
    """Due rows per (recipient, channel): held rows as one digest (split to the channel's size limit); others
    one by one, the rest bundled once the channel would exceed `max_per_run`. The cap is per channel (one
    robot, whichever groups it serves) and counts every message, each part of a split bundle too (robots take
    20 messages a minute); rows over it are left due for the next run. The room goes group by group, in the
    order of each group's oldest due row (rows come in due order), not row by row across the groups. The
    `board` channel (the board's alert log, nothing sent out) has no cap: its rows are recorded one by one."""
    by_target: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        by_target.setdefault((row["recipient"], row["channel"]), []).append(row)
    # the board's own alert log reaches no robot: no cap (every due row is recorded in this run)
    left = {name: channel.max_per_run for name, channel in config.channels.items() if channel.type != "board"}
    out: list[Delivery] = []
    for (recipient, channel_name), group_rows in by_target.items():
        channel = config.channels.get(channel_name)
        group = config.groups.get(recipient)
        if channel is None or group is None:
            log.warning("alert for %s/%s: channel or group no longer configured", recipient, channel_name)
            continue
        room = left.get(channel_name, len(group_rows))
        held = [r for r in group_rows if _is_held(r)]
        single = [r for r in group_rows if not _is_held(r)]
        if len(held) == 1:
            single.insert(0, held.pop())
        held_chunks = _chunks(held, channel.max_bytes)[:room]
        room -= len(held_chunks)
        extra: list[dict[str, Any]] = []
        if len(single) > room:
            keep = max(room - 1, 0)
            single, extra = single[:keep], single[keep:]
        room -= len(single)
        many_chunks = _chunks(extra, channel.max_bytes)[: max(room, 0)]
        if channel_name in left:
            left[channel_name] = room - len(many_chunks)
        fmt = FORMATS[channel.type]
        for kind, chunks in (("held", held_chunks), ("many", many_chunks)):
            for chunk in chunks:
                title = _BUNDLE_TITLES[kind][group.language or config.language].format(n=len(chunk))
                out.append(_delivery(channel_name, recipient, title, chunk, fmt))
        out.extend(_delivery(channel_name, recipient, r["subject"], [r], fmt) for r in single)
    return out


# Bytes a bundle's title and separators take, on top of the alert bodies.
_BUNDLE_OVERHEAD = 200


def _chunks(rows: list[dict[str, Any]], max_bytes: int | None) -> list[list[dict[str, Any]]]:
    """Rows split so that each bundle fits the channel's size limit (WeCom: 4096 bytes) instead of being
    cut; one alert larger than the limit alone is cut by the sender."""
    if not rows:
        return []
    if not max_bytes:
        return [rows]
    chunks: list[list[dict[str, Any]]] = [[]]
    size = _BUNDLE_OVERHEAD
    for row in rows:
        n = len(row["body"].encode()) + 10
        if chunks[-1] and size + n > max_bytes:
            chunks.append([])
            size = _BUNDLE_OVERHEAD
        chunks[-1].append(row)
        size += n
    return chunks


def _delivery(channel: str, recipient: str, subject: str, rows: list[dict[str, Any]], fmt: str) -> Delivery:
    body = rows[0]["body"] if len(rows) == 1 else bundle_message([r["body"] for r in rows], title=subject, fmt=fmt)
    return Delivery(
        channel=channel,
        recipient=recipient,
        subject=subject,
        body=body,
        ids=[r["id"] for r in rows],
        keys=[r["dedupe_key"] for r in rows],
        call_keys=[r.get("call_key") for r in rows],
        attempts=max(r.get("attempts", 0) for r in rows),
        due=[r.get("due_at") for r in rows],
        held=all(_is_held(r) for r in rows),
    )


def _outgoing(delivery: Delivery) -> Outgoing:
    meta = {"recipient": delivery.recipient, "alerts": delivery.keys}
    return Outgoing(subject=delivery.subject, body=delivery.body, meta=meta)


def _deliver(
    engine: Engine,
    delivery: Delivery,
    settings: Settings,
    report: RunReport,
    *,
    env: Mapping[str, str],
    client: httpx.Client,
    sleep: Callable[[float], None],
    now: datetime,
    lease: _Lease,
) -> None:
    config = settings.alerts
    channel = config.channels[delivery.channel]
    if not store.take(engine, delivery.ids, now=now, until=lease.until()):
        log.info("alerts %s: taken by another run", delivery.keys)
        return
    try:
        send(channel, _outgoing(delivery), env=env, client=client, attempts=config.send_attempts, sleep=sleep)
    except Exception as exc:  # a bug in one channel must not lose the alert or stop the run
        error = str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
        if isinstance(exc, DeliveryError):
            log.warning("alert to %s via %s failed: %s", delivery.recipient, delivery.channel, error)
        else:
            log.exception("alert to %s via %s failed unexpectedly", delivery.recipient, delivery.channel)
        retry_at, held = _retry_at(delivery, settings, now)
        store.mark_failed(engine, delivery.ids, error=error, retry_at=retry_at, now=now, held=held)
        report.failed.append((delivery, error))
        return
    store.mark_sent(engine, delivery.ids, now=now, due=delivery.due or None)
    report.sent.append(delivery)


@dataclass(frozen=True)
class _Lease:
    """How long a run holds the alerts it takes: `minutes` from the take, not from the run's start (a slow
    run's later takes would end before they began, and the next run would send them again). The take's time
    is `now` plus the time the run has taken so far on the wall clock: the wall clock's time of the take when
    `now` is the run's start (cron), and a run with a pinned `now` (--now, TRACKER_NOW) stays on its timeline."""

    now: datetime
    started: datetime  # the wall clock when the run started
    clock: Callable[[], datetime]
    minutes: int

    def until(self) -> datetime:
        return self.now + (self.clock() - self.started) + timedelta(minutes=self.minutes)


def _retry_at(delivery: Delivery, settings: Settings, now: datetime) -> tuple[datetime, bool]:
    """After a failed try: when to try again and whether it then goes in the held digest. The next backoff
    step (by the attempts made so far), moved as planning moves new alerts: a phone task never outside the
    calling window; another alert to a group that follows the schedule never outside its working hours and
    days, held for the next window's digest instead. A held digest stays held."""
    config = settings.alerts
    steps = config.retry_backoff_minutes
    retry = now + timedelta(minutes=steps[min(delivery.attempts, len(steps) - 1)])
    digest = any(_is_digest(k) for k in delivery.keys)
    return _sendable(retry, delivery.recipient, any(delivery.call_keys), digest, delivery.held, settings)
