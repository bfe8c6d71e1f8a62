"""Secrets never reach a log: webhook tokens, keys, signatures and passwords are replaced by `***`.

`redact(text)` is the pure part. `install()` makes every log record created afterwards, by any logger at
any level (httpx and httpcore at DEBUG included), carry its message, traceback and stack already redacted,
so no handler or formatter added later can print the secret. The entrypoints call it (CLI, board).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping

MASK = "***"

# names whose value is a secret, as a query parameter, a header, a JSON/dict field or key=value
_NAMES = (
    r"access_token|access-token|token|17token|key|secret|sign|signature|sig|password|passwd|pwd|salt"
    r"|api_key|apikey|app_key|appkey|app_secret|customer|datasign|data_sign|authorization|x-api-key"
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Slack incoming webhooks and workflow triggers: everything after the fixed prefix is the secret
    (re.compile(r"(hooks\.slack\.com/(?:services|workflows|triggers)/)[^\s\"'<>]+", re.I), r"\1" + MASK),
    # the same path shape behind any host (a relay, a test receiver): /services/T.../B.../secret
    (re.compile(r"(/services/)T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+"), r"\1" + MASK),
    # user:password@ in URLs (database URLs, SMTP)
    (re.compile(r"(\b[a-z][a-z0-9+.\-]*://[^\s:/@\"']*:)[^\s@/\"']+@", re.I), r"\1" + MASK + "@"),
    # ?access_token=... &key=... &sign=... (URL query, form bodies, key=value in messages)
    (re.compile(rf"(?<![A-Za-z0-9_])((?:{_NAMES})=)[^&\s\"'<>]+", re.I), r"\1" + MASK),
    # "key": "value" / 'sign': 'value' (JSON and dict reprs)
    (re.compile(rf"([\"'](?:{_NAMES})[\"']\s*:\s*[\"'])[^\"']*", re.I), r"\1" + MASK),
    # (b'authorization', b'Bearer x') header tuples as httpcore prints them at DEBUG
    (re.compile(rf"(b?[\"'](?:{_NAMES})[\"'],\s*b?[\"'])[^\"']*", re.I), r"\1" + MASK),
    # Authorization: Bearer x / 17token: x, as header lines or inside a message
    (re.compile(r"(?i)\b((?:proxy-)?authorization|17token|x-api-key|api-key)(\s*:\s*)[^\n]+"), r"\1\2" + MASK),
)

# Environment variables whose values are secrets wherever they show up (exact match, 8+ characters).
_SECRET_ENV = re.compile(r"(SECRET|TOKEN|KEY|PASSWORD|SALT|WEBHOOK|_URL|SIGN)", re.I)


def secret_values(env: Mapping[str, str]) -> tuple[str, ...]:
    """The values of secret-named environment variables, longest first."""
    values = {v for k, v in env.items() if _SECRET_ENV.search(k) and len(v) >= 8}
    return tuple(sorted(values, key=len, reverse=True))


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every recognisable secret (and every value in `secrets`) replaced by `***`."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    for value in secrets:
        text = text.replace(value, MASK)
    return text


_installed: list[object] = []
_PLAIN = (int, float, bool, type(None))


def _redact_message(record: logging.LogRecord, secrets: tuple[str, ...]) -> None:
    """Redact the record's message in place. A record without a secret is left as it is; one with a
    secret keeps its arguments (each redacted: formatters such as uvicorn's access log read them) when
    that is enough, else becomes its redacted message without arguments."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: leave it to logging's own error report
        return
    clean = redact(message, secrets)
    if clean == message:
        return
    if isinstance(record.args, tuple) and isinstance(record.msg, str):
        args = tuple(a if isinstance(a, _PLAIN) else redact(str(a), secrets) for a in record.args)
        try:
            again = redact(record.msg, secrets) % args
        except (TypeError, ValueError):
            again = None
        if again is not None and redact(again, secrets) == again:
            record.msg, record.args = redact(record.msg, secrets), args
            return
    record.msg, record.args = clean, None


def install(env: Mapping[str, str] | None = None) -> None:
    """From now on every log record is created redacted (idempotent)."""
    if _installed:
        return
    secrets = secret_values(os.environ if env is None else env)
    previous = logging.getLogRecordFactory()
    formatter = logging.Formatter()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _redact_message(record, secrets)
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(formatter.formatException(record.exc_info), secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)
        return record

    logging.setLogRecordFactory(factory)
    _installed.append(factory)
