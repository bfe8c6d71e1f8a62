"""Form bodies (data/push_form_bodies.json) read by the push routes' decoder (tracker/form_body.py) exactly as
starlette's own request.form() reads them: the same fields, the same text, for every hostile case and for
random bodies built from the characters that matter."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request

from tracker.form_body import parse_urlencoded, read_form, unquote_field

CASES = json.loads((Path(__file__).parent / "data" / "push_form_bodies.json").read_text(encoding="utf-8"))["cases"]
PIECES = ["%", "+", "=", "&", "a", "Z", "0", "f", "%e4", "%B8", "%ad", "%2", "%zz", "\n", "\r", " ", "\xff", "_", "%0A"]


def _request(body: bytes, content_type: str = "application/x-www-form-urlencoded") -> Request:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    headers = [(b"content-type", content_type.encode())]
    return Request({"type": "http", "method": "POST", "headers": headers, "path": "/push/kuaidi100"}, receive)


def _starlette(body: bytes) -> dict[str, Any]:
    async def form() -> dict[str, Any]:
        return dict(await _request(body).form())

    return asyncio.run(form())


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_every_hostile_form_body_reads_as_starlette_reads_it(case: dict[str, str]) -> None:
    body = case["body"].encode("latin-1")
    assert parse_urlencoded(body) == _starlette(body)
    assert dict(asyncio.run(read_form(_request(body)))) == _starlette(body)


def test_random_form_bodies_read_as_starlette_reads_them() -> None:
    rng = random.Random(18)
    for _ in range(3000):
        body = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 16))).encode("latin-1")
        assert parse_urlencoded(body) == _starlette(body), body


def test_a_field_is_read_whether_or_not_the_fast_path_takes_it() -> None:
    assert unquote_field(b"%E4%B8%AD%E9%80%9A+%E5%BF%AB%E9%80%92") == "中通 快递"  # the C path
    assert unquote_field("中通%".encode()) == "ä¸\xadé\x80\x9a%"  # raw bytes: latin-1, as starlette


def test_another_content_type_is_read_by_starlette() -> None:
    body = b'--b\r\nContent-Disposition: form-data; name="param"\r\n\r\n{}\r\n--b--\r\n'
    form = asyncio.run(read_form(_request(body, "multipart/form-data; boundary=b")))
    assert dict(form) == {"param": "{}"}


def test_more_fields_than_starlette_allows_are_refused() -> None:
    from starlette.exceptions import HTTPException

    with pytest.raises(HTTPException) as refused:
        asyncio.run(read_form(_request(b"&".join(b"f%d=1" % i for i in range(1001)))))
    assert refused.value.status_code == 400
