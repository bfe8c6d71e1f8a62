"""Taobao Open Platform (TOP) request signature (docs/adding-a-provider.md, "Taobao"). Pure.

Every parameter of the call except `sign` (system ones: method, app_key, session, timestamp, format, v,
sign_method; and the API's own: tid, seller_nick, ...) with a non-empty value, sorted by name, written as
name + value with no separators:

    md5:  sign = upper(hex(md5(secret + "k1v1k2v2..." + secret)))
    hmac: sign = upper(hex(hmac_md5(key=secret, "k1v1k2v2...")))

`timestamp` is "yyyy-MM-dd HH:mm:ss" in GMT+8.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone

GMT8 = timezone(timedelta(hours=8))
SIGN_METHODS = ("md5", "hmac")


def sign_base(params: Mapping[str, object]) -> str:
    """The sorted name+value concatenation the signature covers (`sign` and empty values left out)."""
    return "".join(f"{k}{v}" for k, v in sorted(params.items()) if k != "sign" and v is not None and str(v) != "")


def top_sign(params: Mapping[str, object], secret: str, method: str = "md5") -> str:
    base = sign_base(params)
    if method == "hmac":
        digest = hmac.new(secret.encode("utf-8"), base.encode("utf-8"), hashlib.md5).hexdigest()
    elif method == "md5":
        digest = hashlib.md5((secret + base + secret).encode("utf-8")).hexdigest()
    else:
        raise ValueError(f"sign_method must be md5 or hmac, got {method!r}")
    return digest.upper()


def verify_top_sign(params: Mapping[str, object], secret: str) -> bool:
    """Server side (the sandbox): does params["sign"] match, with the params' own sign_method?"""
    method = str(params.get("sign_method") or "md5")
    if method not in SIGN_METHODS:
        return False
    return hmac.compare_digest(top_sign(params, secret, method), str(params.get("sign", "")).strip().upper())


def top_timestamp(at: datetime) -> str:
    """An aware time as TOP's `timestamp`: "yyyy-MM-dd HH:mm:ss" in GMT+8."""
    return at.astimezone(GMT8).strftime("%Y-%m-%d %H:%M:%S")
