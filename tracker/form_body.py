"""Form bodies (application/x-www-form-urlencoded) as the push routes read them: the same fields as starlette's
`request.form()`, decoded faster (bench/push.py: starlette's per-escape decoding took about a third of a push's
time on the event loop; a Kuaidi100 push's param is mostly %XX escapes of Chinese text and JSON).

The fast path decodes the %XX escapes in C (binascii.a2b_qp, after turning each % into the = it reads). It is
taken only when that gives exactly what urllib's unquote_plus gives: an ASCII field, every % followed by two
hex digits, and no =, CR or LF of its own. Anything else goes through unquote_plus, as starlette does."""

from __future__ import annotations

import binascii
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from starlette.exceptions import HTTPException
from starlette.requests import Request

URLENCODED = "application/x-www-form-urlencoded"
MAX_FIELDS = 1000  # as starlette's FormParser: more fields are answered 400

# what the C path would read differently from unquote_plus
_IRREGULAR = re.compile(rb"%(?![0-9A-Fa-f]{2})|[=\r\n]")


def unquote_field(data: bytes) -> str:
    """A form field's name or value: '+' is a space, %XX a byte, the bytes UTF-8 (undecodable ones replaced)."""
    if data.isascii() and not _IRREGULAR.search(data):
        return binascii.a2b_qp(data.replace(b"+", b" ").replace(b"%", b"=")).decode("utf-8", "replace")
    return unquote_plus(data.decode("latin-1"))


def parse_urlencoded(body: bytes, *, max_fields: int = MAX_FIELDS) -> dict[str, str]:
    """The fields of a urlencoded body: '&'-separated name=value pairs (a pair without '=' is a name with an
    empty value, empty pairs are skipped, a repeated name keeps its last value). ValueError beyond max_fields."""
    fields: dict[str, str] = {}
    count = 0
    for pair in body.split(b"&"):
        if not pair:
            continue
        count += 1
        if count > max_fields:
            raise ValueError(f"more than {max_fields} form fields")
        name, _, value = pair.partition(b"=")
        fields[unquote_field(name)] = unquote_field(value)
    return fields


async def read_form(request: Request) -> Mapping[str, Any]:
    """The request's form fields: a urlencoded body by parse_urlencoded, any other by starlette."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != URLENCODED:
        return await request.form()
    try:
        return parse_urlencoded(await request.body())
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
