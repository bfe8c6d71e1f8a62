"""The one contract between the refund-deadline rule and alert planning (docs/domain.md "Refund-deadline
ladders"): where a case stands on its ladder. The rules evaluation writes it into the flag's `details`;
alert planning reads it back with `LadderPosition.from_details`. Pure values, `now` passed in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from tracker.settings import LadderStep, RefundLadders

DAY_SECONDS = 86400


class Ladder(StrEnum):
    ordinary = "ordinary"  # 000 §23.2
    express = "express"  # 000 §24 极速退款


@dataclass(frozen=True, slots=True)
class LadderPosition:
    ladder: Ladder
    step: int  # 1-based: step 1 is the ladder's first step (rules.toml [[refund_ladder.<ladder>]] order)
    action: str  # the step's action (rules.toml), e.g. "message_then_phone", "lead_reject"
    deadline: datetime
    days_left: int  # whole 24 h periods left before the deadline, never below 0
    hours_over: int | None = None  # whole hours since the deadline once it has passed (None: not passed)

    @property
    def level(self) -> int:
        """The flag's 0-based escalation level (what the flag lifecycle compares)."""
        return self.step - 1

    @property
    def action_key(self) -> str:
        """The next_actions.toml key of the step."""
        return action_key(self.action)

    @property
    def shown_key(self) -> str:
        """The next action a person reads: the step's, or once the deadline has passed, PASSED's (the alerts
        keep planning by the step: `action`)."""
        return action_key(PASSED) if self.hours_over is not None else self.action_key

    @property
    def shown_value(self) -> int:
        """The number that next action fills in: the days left, or the hours since the deadline ({elapsed})."""
        return self.days_left if self.hours_over is None else self.hours_over

    def to_details(self) -> dict[str, Any]:
        return {
            "ladder": str(self.ladder),
            "step": self.step,
            "action": self.action,
            "deadline": self.deadline.astimezone(UTC).isoformat(),
            "days_left": self.days_left,
        }

    @classmethod
    def from_details(cls, details: Mapping[str, Any] | None) -> LadderPosition | None:
        """The position a flag's details hold; None when they hold none (not a ladder flag, or written
        before the contract) or hold it malformed."""
        if not details:
            return None
        try:
            ladder = Ladder(details["ladder"])
            step, days_left, action = details["step"], details["days_left"], details["action"]
            deadline = datetime.fromisoformat(details["deadline"])
        except (KeyError, ValueError, TypeError):
            return None
        if not (isinstance(step, int) and step >= 1 and isinstance(days_left, int) and isinstance(action, str)):
            return None
        return cls(ladder, step, action, deadline, days_left)


def action_key(action: str) -> str:
    """The next_actions.toml key of a step's action."""
    return f"refund_deadline.{action}"


PASSED = "passed"  # the next action once the refund deadline has passed, whatever the last step was


def action_keys(ladders: RefundLadders) -> tuple[str, ...]:
    """The next_actions.toml keys of every step of both ladders, each once, in ladder order, then PASSED's."""
    steps = (action_key(s.action) for s in (*ladders.ordinary, *ladders.express))
    return tuple(dict.fromkeys((*steps, action_key(PASSED))))


def steps_of(ladders: RefundLadders, ladder: Ladder) -> list[LadderStep]:
    return ladders.express if ladder == Ladder.express else ladders.ordinary


def whole_days_left(deadline: datetime, now: datetime) -> int:
    """floor((deadline - now) / 24 h) in whole seconds, never below 0."""
    seconds = int(deadline.timestamp() // 1) - int(now.timestamp() // 1)
    return max(seconds // DAY_SECONDS, 0)


def position(ladders: RefundLadders, *, express: bool, deadline: datetime, now: datetime) -> LadderPosition | None:
    """Where a case with this deadline stands at `now`: the last step reached (a step is reached when the
    whole days left are at most its days_left, i.e. deadline < now + (days_left + 1) x 24 h), or None
    before the first step."""
    ladder = Ladder.express if express else Ladder.ordinary
    steps = steps_of(ladders, ladder)
    reached = None
    for index, step in enumerate(steps):
        if deadline < now + timedelta(days=step.days_left + 1):
            reached = index
    if reached is None:
        return None
    over = int(now.timestamp() // 1) - int(deadline.timestamp() // 1)
    hours_over = over // 3600 if over > 0 else None
    return LadderPosition(
        ladder, reached + 1, steps[reached].action, deadline, whole_days_left(deadline, now), hours_over
    )
