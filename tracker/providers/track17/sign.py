"""17TRACK webhook signature (docs/providers.md). Pure.

Header `sign` = hex(sha256(raw_body + "/" + security_key)), over the raw request bytes.
"""

from __future__ import annotations

import hashlib
import hmac


def push_sign(raw_body: bytes | str, key: str) -> str:
    body = raw_body.encode("utf-8") if isinstance(raw_body, str) else raw_body
    return hashlib.sha256(body + b"/" + key.encode("utf-8")).hexdigest()


def verify_push_sign(raw_body: bytes | str, key: str, sign: str) -> bool:
    return hmac.compare_digest(push_sign(raw_body, key), sign.strip().lower())
