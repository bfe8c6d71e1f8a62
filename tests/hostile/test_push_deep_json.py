"""Deep JSON with a valid signature (data/push_deep.json) against a real `tracker serve-push`: 400 with the
provider's refusal, never a 500 or a RecursionError, kept as a dead letter; plus the pure depth check."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.hostile.push_server import REAL, PushServer, load, serve_push, signed
from tracker.push_guard import PushBodyError, decode_json, json_depth_exceeds

DATA = load("push_deep.json")
REFUSED = {  # the provider's refusal, as the receiver answers it
    "kuaidi100": lambda body: body["result"] is False and body["returnCode"] == "400",
    "kdniao": lambda body: body["Success"] is False and body["Reason"],
    "track17": lambda body: body["code"] == 400,
}


def payload(case: dict) -> str:
    depth = case["depth"]
    if case["container"] == "array":
        return "[" * depth + "]" * depth
    if case["container"] == "object":
        return '{"a":' * depth + "1" + "}" * depth
    tag = '{"k":' * depth + '"v"' + "}" * depth  # a real webhook whose `tag` is nested `depth` deep
    return '{"event":"TRACKING_UPDATED","data":{"number":"1181100223344","carrier":3011,"tag":' + tag + "}}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PushServer]:
    tmp = tmp_path_factory.mktemp("deep")
    with serve_push(tmp, f"sqlite:///{tmp / 'push.db'}") as srv:
        yield srv


@pytest.mark.parametrize("case", DATA["cases"], ids=lambda c: c["name"])
def test_deep_signed_json_is_400_not_500(server: PushServer, case: dict) -> None:
    provider = case["provider"]
    r = httpx.post(f"{server.url}/push/{provider}", **signed(provider, payload(case), REAL[provider]), timeout=30)
    assert r.status_code == 400, r.text
    assert REFUSED[provider](r.json()), r.text
    assert server.alive()
    failed = server.cli("pushes", "--failed")
    assert failed.returncode == 0, failed.stderr
    assert f"{provider}" in failed.stdout and "nested deeper than 32 levels" in failed.stdout
    assert "RecursionError" not in server.text() and "Traceback" not in server.text()


def test_depth_limit_counts_brackets_not_strings() -> None:
    assert not json_depth_exceeds('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}', 32)
    assert not json_depth_exceeds('{"a": "\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}', 32)
    assert json_depth_exceeds("[" * 33 + "]" * 33, 32)
    assert not json_depth_exceeds("[" * 32 + "]" * 32, 32)
    webhook = json.dumps(
        {
            "event": "TRACKING_UPDATED",
            "data": {"track_info": {"tracking": {"providers": [{"events": [{"address": {"city": None}}]}]}}},
        }
    )
    assert decode_json(webhook, max_depth=32)["event"] == "TRACKING_UPDATED"


@given(st.binary(max_size=2000) | st.text(max_size=2000))
def test_any_payload_is_a_push_object_or_a_body_error(raw: bytes | str) -> None:
    try:
        body = decode_json(raw, max_depth=32)
    except PushBodyError as exc:
        assert str(exc)
    else:
        assert isinstance(body, dict)


@given(st.integers(min_value=1, max_value=3000), st.sampled_from(["[", '{"a":']))
def test_any_depth_over_the_limit_is_a_body_error_never_a_recursion(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    raw = opener * depth + ("" if opener == "[" else "1") + closer * depth
    if depth > 32:
        with pytest.raises(PushBodyError, match="nested deeper"):
            decode_json(raw, max_depth=32)
    elif opener == "[":
        with pytest.raises(PushBodyError, match="not a JSON object"):
            decode_json(raw, max_depth=32)
    else:
        assert decode_json(raw, max_depth=32)
