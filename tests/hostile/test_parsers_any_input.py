"""Property: for any bytes, and for any JSON shaped like a provider's reply or push (its real keys, any values),
every registered parser answers with a ParseResult (waybills and problems), never an exception. Pure."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st

from tracker.phrases import default_phrasebook
from tracker.providers import registry
from tracker.providers.base import ParseResult, parse_reply
from tracker.settings import PROJECT_ROOT, load_settings

KEYS = [  # every provider's real keys, so the generated JSON reaches the parsers' depths
    "message", "nu", "com", "state", "ischeck", "data", "time", "ftime", "context", "status", "statusCode",
    "result", "returnCode", "lastResult", "comNew", "EBusinessID", "PushTime", "Count", "Data", "LogisticCode",
    "ShipperCode", "Traces", "State", "StateEx", "AcceptTime", "AcceptStation", "Remark", "Action", "Success",
    "Reason", "event", "code", "accepted", "rejected", "number", "carrier", "track_info", "latest_status",
    "sub_status", "tracking", "providers", "events", "time_iso", "time_utc", "time_raw", "description", "stage",
    "logistics_trace_search_response", "error_response", "out_sid", "trace_list", "transit_step_info",
    "status_time", "status_desc", "action",
]  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=True)
    | st.text(max_size=30)
    | st.sampled_from(
        [
            "2026-11-21 10:00:00",
            "2026-11-21T10:00:00+08:00",
            "2026-13-40 25:61",
            "",
            "0",
            "3",
            "207",
            "快件已签收",
            "InTransit",
            "Delivered",
            "abort",
        ]
    )
)
SHAPED = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=6),
    max_leaves=30,
)
KINDS = [(name, kind) for name, spec in registry.specs().items() for kind in spec.parsers]
TZ = ZoneInfo("Asia/Shanghai")
COURIERS = load_settings(PROJECT_ROOT / "config").couriers


def _parse(provider: str, kind: str, body: bytes | str) -> ParseResult:
    return parse_reply(provider, body, kind=kind, tz=TZ, couriers=COURIERS, phrases=default_phrasebook())


@pytest.mark.parametrize(("provider", "kind"), KINDS)
@examples(max_examples=150, deadline=None)
@given(body=st.binary(max_size=300))
def test_any_bytes_are_a_problem_never_an_exception(provider: str, kind: str, body: bytes) -> None:
    result = _parse(provider, kind, body)
    assert isinstance(result, ParseResult)


@pytest.mark.parametrize(("provider", "kind"), KINDS)
@examples(max_examples=300, deadline=None)
@given(value=SHAPED)
def test_any_json_shaped_like_a_reply_parses_without_an_exception(provider: str, kind: str, value: object) -> None:
    result = _parse(provider, kind, json.dumps(value, ensure_ascii=False, allow_nan=True))
    assert isinstance(result, ParseResult)
    for waybill in result.waybills:  # whatever was read is well formed
        assert all(e.time.tzinfo is not None for e in waybill.events)
