"""Kuaidi100 signatures (docs/providers.md). Pure."""

from __future__ import annotations

import hashlib
import hmac


def query_sign(param: str, key: str, customer: str) -> str:
    """Real-time query sign: upper(md5(param + key + customer)), no separators (§2.1)."""
    return hashlib.md5((param + key + customer).encode("utf-8")).hexdigest().upper()


def push_sign(param: str, salt: str) -> str:
    """Push sign: md5(param + salt) as lower-case hex (§2.3; the doc leaves the case open)."""
    return hashlib.md5((param + salt).encode("utf-8")).hexdigest()


def verify_query_sign(param: str, key: str, customer: str, sign: str) -> bool:
    return hmac.compare_digest(query_sign(param, key, customer), sign.strip().upper())


def verify_push_sign(param: str, salt: str, sign: str) -> bool:
    """True when `sign` matches md5(param + salt), compared case-insensitively."""
    return hmac.compare_digest(push_sign(param, salt), sign.strip().lower())
