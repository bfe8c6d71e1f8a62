# ruff: noqa: F811 (the board fixtures are imported from tests/dashboard/conftest.py and used as arguments)
"""Malformed board URL parameters (data/board_urls.json): the page renders, names the parameter in one line,
and shows no traceback or file path; the parser itself never raises."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from dashboard.data import QueueFilter, parcel_ref
from tests.dashboard.conftest import APP, board_config, board_db  # noqa: F401 (fixtures)
from tests.dashboard.test_app import signed_in

URLS = json.loads((Path(__file__).parent / "data" / "board_urls.json").read_text(encoding="utf-8"))["urls"]


def _login() -> AppTest:
    return signed_in().run()


@pytest.mark.parametrize("case", URLS, ids=lambda c: f"{c['page']}?{c['params']}"[:60])
def test_bad_url_parameter_is_one_line_not_a_traceback(board_db, case: dict) -> None:
    at = signed_in(page=case["page"])
    for key, value in case["params"].items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    warnings = [re.sub(r"\\(.)", r"\1", w.value) for w in at.warning]  # as read: the Markdown escapes removed
    named = [w for w in warnings if case["param"] in w]
    assert len(named) == 1 and "\n" not in named[0], warnings
    assert at.title  # the page itself still rendered
    everything = " ".join(str(e.value) for e in [*at.warning, *at.error, *at.markdown, *at.caption, *at.title])
    assert "Traceback" not in everything and ".py" not in everything


def test_queue_ignores_only_the_bad_parameter(board_db) -> None:
    at = _login()
    at.query_params.update({"courier": "sf", "min_age_hours": "1 OR 1=1"})
    at.switch_page("views/queue.py").run()
    assert not at.exception
    assert any("共 2 条" in c.value for c in at.caption)  # courier=sf still filters (2 of the 3 open flags)


@given(
    st.dictionaries(
        st.sampled_from(
            ["kind", "courier", "shop", "region", "min_age_hours", "assignee", "state", "waybill", "id", "x"]
        ),
        st.text(max_size=300),
    )
)
def test_any_parameter_text_is_a_filter_or_a_named_problem(params: dict[str, str]) -> None:
    f, problems = QueueFilter.parse(params, max_age_hours=8760, max_text=200)
    for p in problems:
        assert p.param in params and getattr(f, p.param) in (None, "unresolved")
    if f.min_age_hours is not None:
        assert 0 <= f.min_age_hours <= 8760
    parcel_id, waybill, problem = parcel_ref(params)
    assert parcel_id is None or 0 <= parcel_id < 10**18
    assert problem is None or problem.param in ("id", "waybill")


@pytest.mark.parametrize("raw", ["1", "1234567890123", "9" * 18])
def test_a_parcel_id_of_up_to_18_digits_is_read_as_the_warning_says(raw: str) -> None:
    assert parcel_ref({"id": raw}) == (int(raw), None, None)
    parcel_id, _, problem = parcel_ref({"id": "1" * 19})
    assert parcel_id is None and problem is not None and problem.limit == 10**18 - 1


def test_sidebar_search_with_a_nul_byte_or_a_huge_text_finds_nothing(board_db) -> None:
    at = _login()
    said = {
        "SF1001\x00": "没有找到包裹",  # no number a person typed: not echoed
        "S" * 5000: "没有找到包裹",
        "' OR 1=1 --": "没有找到「OR1\\=1\\-\\-」的包裹",  # named as the search read it, Markdown-escaped text
    }
    for text, warning in said.items():
        at.sidebar.text_input(key="search_text").input(text)
        at.sidebar.button[0].click().run()
        assert not at.exception, at.exception
        assert [w.value for w in at.sidebar.warning] == [warning]


def test_a_courier_no_one_configured_is_named_not_filtered_on(board_db) -> None:
    """?courier=xyz used to filter silently to 0 rows (and the turning-stale list printed `快递: xyz`): it is
    named as ignored, and the page lists what it would without it; the ledger does the same."""
    at = _login()
    at.query_params.update({"courier": "xyz"})
    at.switch_page("views/queue.py").run()
    assert not at.exception
    assert any("courier=xyz" in w.value for w in at.warning), [w.value for w in at.warning]
    assert any("共 3 条" in c.value for c in at.caption)  # every open flag of the seed, not 0
    at.query_params.update({"courier": "xyz", "turning_stale": "1"})
    at.run()
    assert not at.exception
    assert not any("xyz" in c.value for c in at.caption)
    at.query_params.clear()
    at.query_params.update({"courier": "xyz"})
    at.switch_page("views/claims.py").run()
    assert not at.exception
    assert any("courier=xyz" in w.value for w in at.warning), [w.value for w in at.warning]
    # a claim type no table has: named, as the courier is; it showed 共 0 条 and offered xyz as a choice
    at.query_params.clear()
    at.query_params.update({"claim_type": "xyz"})
    at.run()
    assert not at.exception
    assert any("claim\\_type=xyz" in w.value for w in at.warning), [w.value for w in at.warning]  # Markdown-escaped
    assert not any("共 0 条" in c.value for c in at.caption)


def test_the_queues_parcel_lists_name_what_they_do_not_read(board_db) -> None:
    """/queue?by=parcel&courier=sf listed every parcel, saying nothing of the courier; ?by=xyz and
    ?turning_stale=yes showed the whole queue without a word."""
    at = _login()
    cases = {
        (("by", "parcel"), ("courier", "sf")): "courier=sf",
        (("turning_stale", "1"), ("kind", "stale")): "kind=stale",
        (("by", "xyz"),): "by=xyz",
        (("turning_stale", "yes"),): "turning\\_stale=yes",
    }
    for query, named in cases.items():
        at.query_params.clear()
        at.query_params.update(dict(query))
        at.switch_page("views/queue.py").run()
        assert not at.exception, at.exception
        assert any(named in w.value for w in at.warning), (query, [w.value for w in at.warning])
    at.query_params.clear()
    at.query_params.update({"turning_stale": "1", "courier": "ems"})  # the courier it does read: no warning
    at.switch_page("views/queue.py").run()
    assert not at.warning, [w.value for w in at.warning]
