"""Pure alert planning: open flags + what is already stored + config + now -> alerts to store.

    plan_alerts
      ├─ stage_of           level (warn | escalate | step<n>), audience (agent | lead), phone task?
      ├─ route_groups       routes matching kind, severity, courier, shop, province -> groups
      ├─ reminder number    from when the previous alert of that level to that group was sent
      ├─ _timing            quiet hours (held until the next window) / calling window + call limits
      └─ messages.flag_message, rendered per channel

No I/O and no clock: `now` is passed in (docs/architecture.md, functional core).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tracker.alerts.messages import FORMATS, CallNote, flag_message, render
from tracker.alerts.model import AlertHistory, FlagFacts, LastAlert, PlannedAlert, case_key
from tracker.alerts.schedule import Window, local_date, next_slot
from tracker.regions import region_matches
from tracker.rules.ladder import LadderPosition
from tracker.settings import AlertsConfig, Contact, RefundLadders


@dataclass(frozen=True, slots=True)
class Stage:
    level: str  # warn | escalate | step<n>
    to_lead: bool
    is_call: bool
    since: datetime  # when this level was reached


def episode(flag: FlagFacts) -> str:
    """A flag's id and the time it (re)opened: a flag resolved and opened again alerts afresh."""
    return f"{flag.flag_id}.{int(flag.opened_at.timestamp())}"


def alert_key(episode: str, level: str, group: str, channel: str, reminder: int = 0) -> str:
    """The de-duplication key: one alert per flag episode, level, recipient and reminder number."""
    key = f"flag:{episode}:{level}:{group}:{channel}"
    return f"{key}:r{reminder}" if reminder else key


def parse_alert_key(key: str) -> tuple[str, str, str, str, int] | None:
    """(episode, level, group, channel, reminder) of a flag alert key; None for other keys."""
    parts = key.split(":")
    if parts[0] != "flag" or len(parts) not in (5, 6):
        return None
    reminder = int(parts[5][1:]) if len(parts) == 6 else 0
    return parts[1], parts[2], parts[3], parts[4], reminder


def call_key(episode: str, level: str, reminder: int) -> str:
    """One phone task, shared by every group and channel it is sent to (counted once)."""
    return f"call:{episode}:{level}:r{reminder}"


def ladder_action(flag: FlagFacts) -> str | None:
    """The refund-ladder step's action, from the ladder position the rules evaluation wrote into the
    flag's details (tracker.rules.ladder, the one contract; docs/domain.md). None without one."""
    at = LadderPosition.from_details(flag.details)
    return at.action if at is not None else None


def stage_of(flag: FlagFacts, config: AlertsConfig, ladders: RefundLadders) -> Stage:
    """Which alert level a flag is at, who gets it, and whether it asks an agent to phone the buyer.

    Refund-deadline flags alert per ladder step (`step<level>`); lead ladder actions go to leads.
    Other flags alert at `warn` and again at `escalate`; escalations and lead kinds go to leads."""
    since = flag.escalated_at or flag.opened_at
    if flag.kind == "refund_deadline":
        at = LadderPosition.from_details(flag.details)
        action = at.action if at is not None else ""
        return Stage(
            level=f"step{at.step if at is not None else flag.level + 1}",
            to_lead=action in config.lead_ladder_actions,
            is_call=action in config.calls.ladder_actions,
            since=since,
        )
    escalated = flag.severity == "escalate"
    return Stage(
        level="escalate" if escalated else "warn",
        to_lead=escalated or flag.kind in config.lead_kinds,
        is_call=flag.kind in config.calls.kinds,
        since=since if escalated else flag.opened_at,
    )


def _matches(values: Sequence[str], value: str | None) -> bool:
    return not values or (value is not None and value in values)


def _in_provinces(provinces: Sequence[str], province: str | None) -> bool:
    """A route's provinces as the rules' overrides read theirs: "西藏" is the export's 西藏自治区."""
    return not provinces or any(region_matches(province, wanted) for wanted in provinces)


def route_groups(flag: FlagFacts, config: AlertsConfig, *, to_lead: bool) -> list[str]:
    """Groups for a flag: every route whose non-empty lists all match contributes its `groups`, or its
    `leads` for lead alerts (falling back to its groups when it names no leads). Config order, no repeats."""
    found: list[str] = []
    for route in config.routes:
        if not (
            _matches(route.kinds, flag.kind)
            and _matches(route.severities, flag.severity)
            and _matches(route.couriers, flag.courier)
            and _matches(route.shops, flag.shop)
            and _in_provinces(route.provinces, flag.province)
        ):
            continue
        for group in (route.leads or route.groups) if to_lead else route.groups:
            if group not in found:
                found.append(group)
    return found


def parcel_groups(courier: str, shop: str | None, province: str | None, config: AlertsConfig) -> set[str]:
    """Groups whose routes cover a parcel (ignoring kind and severity): who sees its claims in digests."""
    found: set[str] = set()
    for route in config.routes:
        if (
            _matches(route.couriers, courier)
            and _matches(route.shops, shop)
            and _in_provinces(route.provinces, province)
        ):
            found.update(route.groups)
            found.update(route.leads)
    return found


class _CallBook:
    """Running counts of phone tasks (stored + planned in this run) per case and per buyer-day, and each
    call's slot, note and calling group (the stored ones too: a group routed the case later is told whose
    call it is, not asked to phone again)."""

    def __init__(self, history: AlertHistory, contact: Contact) -> None:
        self.per_case: Counter[str] = Counter(history.calls_per_case)
        self.per_day: Counter[tuple[str, date]] = Counter(history.calls_per_buyer_day)
        window = calling_window_text(contact)
        self.slots: dict[str, tuple[datetime, CallNote, str]] = {  # call key -> slot, note, the group calling
            key: (call.slot, CallNote(call.number, contact.max_calls_per_case, window), call.owner)
            for key, call in history.calls_booked.items()
        }


def calling_window_text(contact: Contact) -> str:
    return f"{contact.calling_window_start:%H:%M}-{contact.calling_window_end:%H:%M}"


def plan_alerts(
    flags: Iterable[FlagFacts],
    history: AlertHistory,
    *,
    config: AlertsConfig,
    contact: Contact,
    ladders: RefundLadders,
    tz: ZoneInfo,
    now: datetime,
) -> list[PlannedAlert]:
    """New alerts for open flags, one per (flag, level, group, channel[, reminder]) not yet stored.

    A group gets the level's first alert, then a reminder `reminder_after_hours` after the previous one was
    sent while the flag stays open (at most `max_reminders`), none while an alert of the level to the group
    still waits (held, pending or failed and retried). Agent groups that follow the schedule get
    alerts outside working hours as `held`, due at the next window start (sent as one digest).
    Phone tasks are due at the next slot inside both the calling window and working hours, on a day the
    buyer has fewer than `calls.max_per_buyer_per_day` calls; a case (the order, else the parcel) that
    already had `max_calls_per_case` calls gets the alert without a phone task. Flags are taken in
    (opened_at, id) order so the oldest case gets a day's call first."""
    book = _CallBook(history, contact)
    planned: list[PlannedAlert] = []
    for flag in sorted(flags, key=lambda f: (f.opened_at, f.flag_id)):
        if flag.state != "open":
            continue
        stage = stage_of(flag, config, ladders)
        for group_name in route_groups(flag, config, to_lead=stage.to_lead):
            planned += _group_alerts(
                flag, stage, group_name, history, book, config=config, contact=contact, tz=tz, now=now
            )
    return planned


def _reminder_due(last: LastAlert | None, config: AlertsConfig, now: datetime) -> int | None:
    """What a group is due for a level whose latest alert to it is `last`: 0 (the first alert) when none is
    stored; the next reminder (at most max_reminders) `reminder_after_hours` after that alert was sent; None
    before then, and while an alert of the level to the group still waits (held for the morning, pending,
    failed and retried): a reminder counts from when the group saw the previous one, so a flag raised on a
    Friday night is one alert in Monday's digest, not the alert and its reminders. An alert that will never go
    (cancelled while the flag was not open, out of attempts, its channel removed) does not stop the reminders:
    the next one counts from `last.counted_from` (the level's latest sent alert, else when that one was stored).
    A level that never reached the group and whose latest alert was cancelled (the flag acknowledged before the
    morning, then opened again; its channel removed) is due at once: the group would otherwise hear of it a day
    after it was stored (as its first alert: `told` in _group_alerts). `max_reminders` counts the reminders
    that went to the group; alerts that do not go (a robot that refuses every try) stop at twice as many."""
    if last is None:
        return 0
    if last.waiting:
        return None
    if not last.seen and last.cancelled:
        return last.reminder + 1  # a new key (the cancelled one is taken), worded as the group's first alert
    reminders_seen = last.reminder if last.told is None else last.told - 1
    if reminders_seen >= config.max_reminders or last.reminder >= 2 * config.max_reminders + 1:
        return None
    since = last.sent_at or last.counted_from
    if since is None or now - since < timedelta(hours=config.reminder_after_hours):
        return None
    return last.reminder + 1


def _group_alerts(
    flag: FlagFacts,
    stage: Stage,
    group_name: str,
    history: AlertHistory,
    book: _CallBook,
    *,
    config: AlertsConfig,
    contact: Contact,
    tz: ZoneInfo,
    now: datetime,
) -> list[PlannedAlert]:
    """What one group gets now for the flag's stage: an alert on each of its channels not stored yet (a ladder
    step that messages the buyer first also gets that message, with its first alert)."""
    group = config.groups[group_name]
    last = history.last_alert.get((episode(flag), stage.level, group_name))
    reminder = _reminder_due(last, config, now)
    if reminder is None:
        return []
    planned: list[PlannedAlert] = []
    if last is None and _message_first(flag, stage, config):
        planned += _message_alerts(flag, stage, group_name, history, config, tz, now)
    keys = {c: alert_key(episode(flag), stage.level, group_name, c, reminder) for c in group.channels}
    if all(k in history.keys for k in keys.values()):
        return planned
    # the reminder as the group counts it: an alert cancelled or given up before it went is not one (the first
    # the group sees of a level is its first alert, whatever its key's number)
    told = reminder if last is None or last.told is None else last.told
    state, due, call = _timing(flag, stage, group_name, told, group.follows_schedule, book, config, contact, tz, now)
    message = flag_message(
        flag,
        language=group.language or config.language,
        level=stage.level,
        reminder=told,
        to_lead=stage.to_lead,
        now=max(due, now),  # worded as of when it goes: a held alert or a phone task is read later
        tz=tz,
        board_url=config.board_url,
        call=call,
        with_claims=flag.kind in config.lead_kinds,
    )
    for channel_name, key in keys.items():
        if key in history.keys:
            continue
        fmt = FORMATS[config.channels[channel_name].type]
        planned.append(
            PlannedAlert(
                dedupe_key=key,
                flag_id=flag.flag_id,
                parcel_id=flag.parcel_id,
                channel=channel_name,
                recipient=group_name,
                level=stage.level if not told else f"{stage.level}/r{told}",
                subject=message.subject,
                body=render(message, fmt),
                state=state,
                due_at=due,
                call_key=call_key(episode(flag), stage.level, told)  # as _timing booked it
                if call is not None and not call.limited and call.owner is None  # the calling group's
                else None,
            )
        )
    return planned


MESSAGE = "message"  # the level suffix of a ladder step's message-first alert (step1.message)


def _message_first(flag: FlagFacts, stage: Stage, config: AlertsConfig) -> bool:
    return (
        flag.kind == "refund_deadline"
        and stage.is_call
        and not stage.to_lead
        and ladder_action(flag) in config.calls.message_first_actions
    )


def _message_alerts(
    flag: FlagFacts,
    stage: Stage,
    group_name: str,
    history: AlertHistory,
    config: AlertsConfig,
    tz: ZoneInfo,
    now: datetime,
) -> list[PlannedAlert]:
    """The step's message first, as its own alert: at once inside working hours (held to the next window
    otherwise), no phone task; the step's call alert follows in the calling window (000 §24)."""
    group = config.groups[group_name]
    level = f"{stage.level}.{MESSAGE}"
    keys = {c: alert_key(episode(flag), level, group_name, c) for c in group.channels}
    state, due = _quiet(group.follows_schedule, config, tz, now)
    message = flag_message(
        flag,
        language=group.language or config.language,
        level=level,
        reminder=0,
        to_lead=False,
        now=max(due, now),
        tz=tz,
        board_url=config.board_url,
        message_first=True,
    )
    return [
        PlannedAlert(
            dedupe_key=key,
            flag_id=flag.flag_id,
            parcel_id=flag.parcel_id,
            channel=channel,
            recipient=group_name,
            level=f"{stage.level}/{MESSAGE}",
            subject=message.subject,
            body=render(message, FORMATS[config.channels[channel].type]),
            state=state,
            due_at=due,
            call_key=None,
        )
        for channel, key in keys.items()
        if key not in history.keys
    ]


def work_windows(config: AlertsConfig) -> list[Window]:
    return [(config.schedule.start, config.schedule.end)]


def call_windows(config: AlertsConfig, contact: Contact, follows_schedule: bool) -> list[Window]:
    windows: list[Window] = [(contact.calling_window_start, contact.calling_window_end)]
    return windows + work_windows(config) if follows_schedule else windows


def _timing(
    flag: FlagFacts,
    stage: Stage,
    group_name: str,
    reminder: int,
    follows_schedule: bool,
    book: _CallBook,
    config: AlertsConfig,
    contact: Contact,
    tz: ZoneInfo,
    now: datetime,
) -> tuple[str, datetime, CallNote | None]:
    weekdays = config.schedule.weekdays if follows_schedule else None
    window_text = calling_window_text(contact)
    # a refund ladder's steps are its calls (000 §24: three calls, then the lead; docs/domain.md): a
    # reminder of a ladder step repeats the message, it does not spend another of the case's calls
    ladder_reminder = flag.kind == "refund_deadline" and reminder > 0
    if stage.is_call and not stage.to_lead and not ladder_reminder:
        key = call_key(episode(flag), stage.level, reminder)
        buyer = flag.buyer_id
        limit = config.calls.max_per_buyer_per_day

        def day_ok(day: date) -> bool:
            return buyer is None or book.per_day[(buyer, day)] < limit

        windows = call_windows(config, contact, follows_schedule)
        if key in book.slots:  # booked already, in this run or stored by an earlier one
            slot, note, owner = book.slots[key]
            if owner != group_name:  # a second group routed the case: told whose call it is, when it is made
                # (inside its own working hours and days: held for its morning otherwise)
                return _quiet(follows_schedule, config, tz, max(slot, now)) + (replace(note, owner=owner),)
            # the calling group's own call again (its alert did not reach the group): the same call, not another
            if slot < now:
                slot = next_slot(now, tz, windows, weekdays=weekdays, day_ok=day_ok)
            return "pending", slot, note
        case = case_key(flag.order_id, flag.parcel_id)
        if book.per_case[case] >= contact.max_calls_per_case:
            note = CallNote(book.per_case[case], contact.max_calls_per_case, window_text, limited=True)
        else:
            slot = next_slot(now, tz, windows, weekdays=weekdays, day_ok=day_ok)
            book.per_case[case] += 1
            if buyer is not None:
                book.per_day[(buyer, local_date(slot, tz))] += 1
            note = CallNote(book.per_case[case], contact.max_calls_per_case, window_text)
            book.slots[key] = (slot, note, group_name)
            return "pending", slot, note
        return _quiet(follows_schedule, config, tz, now) + (note,)
    return _quiet(follows_schedule, config, tz, now) + (None,)


def _quiet(follows_schedule: bool, config: AlertsConfig, tz: ZoneInfo, now: datetime) -> tuple[str, datetime]:
    if not follows_schedule:
        return "pending", now
    opens = next_slot(now, tz, work_windows(config), weekdays=config.schedule.weekdays)
    return ("pending", now) if opens == now else ("held", opens)


def sendable_at(
    at: datetime, group_name: str, *, is_call: bool, config: AlertsConfig, contact: Contact, tz: ZoneInfo
) -> tuple[datetime, bool]:
    """The earliest time from `at` a stored alert to the group may go, and whether it is then held (sent in
    the group's digest of alerts held outside working hours): a phone task inside the calling window (and the
    working hours of a group that follows the schedule), never held; another alert to a group that follows
    the schedule inside its working hours and days, held when moved to a window's start; `at` otherwise.
    For retries and for alerts found due outside those hours (an expired lease), as plan_alerts times new ones."""
    group = config.groups.get(group_name)
    if group is None:
        return at, False
    if is_call:
        weekdays = config.schedule.weekdays if group.follows_schedule else None
        return next_slot(at, tz, call_windows(config, contact, group.follows_schedule), weekdays=weekdays), False
    state, due = _quiet(group.follows_schedule, config, tz, at)
    return due, state == "held"
