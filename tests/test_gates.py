"""The mypy baseline only shrinks: new errors fail, fixed ones must leave the file, strict modules stay out."""

from __future__ import annotations

import importlib.util
from collections import Counter

from tracker.settings import PROJECT_ROOT

_spec = importlib.util.spec_from_file_location("mypy_baseline", PROJECT_ROOT / "scripts" / "mypy_baseline.py")
assert _spec and _spec.loader
baseline = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(baseline)

OLD = 'tracker/poller.py: [index] Invalid index type "str | None"'
OTHER = 'dashboard/views/queue.py: [return-value] Incompatible return value type (got "str | None", expected "str")'


def test_a_new_error_is_reported_and_a_repeated_one_counts_twice() -> None:
    new, gone, strict = baseline.compare(Counter([OLD, OLD, OTHER]), Counter([OLD, OTHER]))
    assert new == Counter([OLD]) and not gone and not strict


def test_a_fixed_error_must_leave_the_baseline() -> None:
    new, gone, _ = baseline.compare(Counter([OLD]), Counter([OLD, OTHER]))
    assert not new and gone == Counter([OTHER])


def test_strict_modules_may_not_be_baselined() -> None:
    lines = [
        "tracker/rules/stale.py: [arg-type] x",
        "tracker/providers/kdniao/parse.py: [union-attr] y",
        "claims/engine.py: [assignment] z",
        "tracker/providers/http.py: [arg-type] w",
    ]
    _, _, strict = baseline.compare(Counter(lines), Counter(lines))
    assert strict == sorted(lines[:3])


def test_the_committed_baseline_lists_no_strict_module_and_no_line_numbers() -> None:
    allowed = baseline.read_baseline()
    assert allowed, "mypy-baseline.txt is empty: delete the baseline mechanism instead"
    _, _, strict = baseline.compare(Counter(), allowed)
    assert strict == []
    assert all(baseline.ERROR.match(line) is None for line in allowed)  # keys, not raw mypy lines
