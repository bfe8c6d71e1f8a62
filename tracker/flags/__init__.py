"""Flags in storage. The evaluation (evaluate.py, the steps drawn in its docstring): the SQL forms of the
rules (queries.py, one per kind; candidates.py, the status rules; their building blocks in rulesql.py and
sqlfuncs.py), the temporary tables (temp.py), the dialect specifics (dialect.py), the diff (diff.py), the
writes (writes.py) and the details written after (details.py); next actions are rendered when read
(next_action.py).
Besides: the people's side of the lifecycle (lifecycle.py), manual facts (facts.py), parcel views for the
pure rules (views.py) and Tmall's timers (timers.py)."""

from tracker.flags.evaluate import EvaluationSummary, evaluate_all

__all__ = ["EvaluationSummary", "evaluate_all"]
