"""Flags in storage: set-based evaluation (evaluate.py), the SQL form of the rules (queries.py), the
people's side of the lifecycle (lifecycle.py), manual facts (facts.py) and parcel views for the pure
rules (views.py)."""

from tracker.flags.evaluate import EvaluationSummary, evaluate_all

__all__ = ["EvaluationSummary", "evaluate_all"]
