"""Seconds per step of an evaluation (EvaluationSummary.steps), for tuning."""

from __future__ import annotations

import time


class StepClock:
    def __init__(self, steps: dict[str, float]) -> None:
        self.steps, self.last = steps, time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.steps[name] = self.steps.get(name, 0.0) + now - self.last
        self.last = now

    def restart(self) -> None:
        """Count the next step from now: what ran since was timed elsewhere."""
        self.last = time.perf_counter()
