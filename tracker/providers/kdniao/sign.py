"""Kdniao DataSign (docs/providers.md). Pure.

DataSign = urlencode(base64(md5_hex_lower(RequestData + AppKey))): the base64 of the 32-character
lower-case *hex string*, not of the raw digest. The final URL-encoding is the form encoding of the
request body: `data_sign` returns the field value as a form decoder sees it (what a server compares),
`data_sign_urlencoded` the same value encoded once, as it appears on the wire.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote, unquote


def data_sign(request_data: str, app_key: str) -> str:
    digest = hashlib.md5((request_data + app_key).encode("utf-8")).hexdigest()
    return base64.b64encode(digest.encode("ascii")).decode("ascii")


def data_sign_urlencoded(request_data: str, app_key: str) -> str:
    return quote(data_sign(request_data, app_key), safe="")


def verify_data_sign(request_data: str, app_key: str, sign: str) -> bool:
    """True when `sign` (form-decoded, or still URL-encoded once) matches RequestData + AppKey."""
    expected = data_sign(request_data, app_key)
    candidate = sign.strip()
    if "%" in candidate:
        candidate = unquote(candidate)
    return hmac.compare_digest(expected, candidate)
