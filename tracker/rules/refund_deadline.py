"""`refund_deadline`: the refund-deadline ladder for a return with no logistics (000 §23.2 ordinary,
§24 express 极速退款). Each step fires once, as the level of one flag."""

from __future__ import annotations

from datetime import datetime, timedelta

from tracker.rules.common import DAY, epoch, return_case_without_logistics
from tracker.rules.model import Flag, ParcelView
from tracker.rules.policy import Policy
from tracker.settings import LadderStep
from tracker.status import FlagKind, Severity

KIND = FlagKind.refund_deadline


def ladder_step(steps: list[LadderStep], deadline: datetime, now: datetime) -> int | None:
    """Index of the last step reached: step i is reached when the whole days left before the deadline,
    floor((deadline - now) / 1 day), are at most its days_left. None before the first step."""
    reached = None
    for index, step in enumerate(steps):
        if deadline < now + timedelta(days=step.days_left + 1):
            reached = index
    return reached


def days_left(deadline: datetime, now: datetime) -> int:
    """Whole days left, never below 0 (what the next action says)."""
    return max((epoch(deadline) - epoch(now)) // DAY, 0)


def evaluate(parcel: ParcelView, *, now: datetime, policy: Policy) -> Flag | None:
    """A return case without logistics and with a refund_deadline: level = the ladder step reached
    (express or ordinary ladder by refund_express); warn on the first step, escalate after.
    Anchor: the deadline, so a new deadline starts the ladder again."""
    deadline = parcel.refund_deadline
    if deadline is None or not return_case_without_logistics(parcel):
        return None
    steps = policy.refund_ladder.express if parcel.refund_express else policy.refund_ladder.ordinary
    level = ladder_step(steps, deadline, now)
    if level is None:
        return None
    return Flag(
        KIND,
        Severity.warn if level == 0 else Severity.escalate,
        level=level,
        anchor=epoch(deadline),
        value=days_left(deadline, now),
        action=f"{KIND}.{steps[level].action}",
    )
