"""Delivery over DingTalk and WeCom group robots, Slack, a generic JSON webhook and SMTP e-mail.

Each `send` makes up to `attempts` tries: transport errors, 429 and 5xx (SMTP 4xx) are retried with
exponential backoff; a rejected message (robot errcode != 0, other 4xx, SMTP 5xx, a missing secret)
is permanent and raised at once. Secrets are read from the environment variables the channel names.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import smtplib
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx
from tenacity import (
    Retrying,
    before_sleep_log,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from tracker.settings import AlertChannel

log = logging.getLogger(__name__)

_RETRY_STATUS = {429, 500, 502, 503, 504}


class DeliveryError(Exception):
    """A message was not delivered; `transient` says whether trying again may help."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True, slots=True)
class Outgoing:
    subject: str
    body: str
    meta: Mapping[str, Any]  # dedupe key, level, recipient... (sent along by the generic webhook)


def dingtalk_sign(secret: str, ts_ms: int) -> str:
    """DingTalk 加签: base64(HMAC-SHA256(key=secret, f"{ts}\\n{secret}")), URL-encoded."""
    digest = hmac.new(secret.encode(), f"{ts_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


def truncate_utf8(text: str, max_bytes: int, marker: str = "\n…") -> str:
    """`text` cut to at most `max_bytes` UTF-8 bytes on a character boundary, with a marker when cut."""
    data = text.encode()
    if len(data) <= max_bytes:
        return text
    room = max_bytes - len(marker.encode())
    return data[:room].decode(errors="ignore") + marker


def _env(env: Mapping[str, str], name: str | None, what: str) -> str:
    value = env.get(name or "")
    if not value:
        raise DeliveryError(f"environment variable {name} ({what}) is not set", transient=False)
    return value


def _payload(channel: AlertChannel, message: Outgoing) -> dict[str, Any]:
    body = message.body
    if channel.max_bytes:
        body = truncate_utf8(body, channel.max_bytes)
    if channel.type == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": message.subject, "text": body}}
    if channel.type == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": body}}
    if channel.type == "slack":
        return {"text": body}
    return {"title": message.subject, "text": body, **message.meta}


def _post(client: httpx.Client, channel: AlertChannel, url: str, payload: dict[str, Any]) -> None:
    try:
        response = client.post(url, json=payload, timeout=channel.timeout_seconds)
    except httpx.TransportError as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}", transient=True) from exc
    except httpx.InvalidURL as exc:
        raise DeliveryError(f"bad webhook URL: {exc}", transient=False) from exc
    if response.status_code in _RETRY_STATUS:
        raise DeliveryError(f"HTTP {response.status_code}: {response.text[:200]}", transient=True)
    if response.status_code >= 400:
        raise DeliveryError(f"HTTP {response.status_code}: {response.text[:200]}", transient=False)
    if channel.type in ("dingtalk", "wecom"):
        # The robots answer 200 with {"errcode": n}; anything but 0 is a rejection (bad sign, too long...).
        try:
            answer = response.json()
        except ValueError:
            raise DeliveryError(f"not JSON: {response.text[:200]}", transient=False) from None
        errcode = answer.get("errcode", 0) if isinstance(answer, dict) else 0
        if errcode != 0:
            # the robots' "too many messages" answers: worth another try later (RATE_LIMITED)
            transient = errcode in RATE_LIMITED
            raise DeliveryError(f"errcode {errcode}: {answer.get('errmsg', '')}", transient=transient)


# Robot answers that say "too many, later": WeCom 45009 (api freq out of limit); DingTalk 130101 ("send too fast,
# exceed 20 times per minute", as robots answer it in the field), 410100 (its newer rate-limit code) and 90030
# ("webhook over limit"). Any other errcode is a rejection not worth repeating (bad signature, bad token, too long).
RATE_LIMITED = frozenset({45009, 130101, 410100, 90030})


def _send_once(
    channel: AlertChannel,
    message: Outgoing,
    *,
    env: Mapping[str, str],
    client: httpx.Client,
    clock: Callable[[], float],
) -> None:
    if channel.type == "board":
        return  # the alert log row is the delivery: the board's alerts page shows it
    if channel.type == "email":
        _send_mail(channel, message, env=env)
        return
    url = _env(env, channel.url_env, "webhook URL")
    if channel.type == "dingtalk":
        secret = _env(env, channel.secret_env, "robot secret")
        ts = int(clock() * 1000)
        url += ("&" if "?" in url else "?") + f"timestamp={ts}&sign={dingtalk_sign(secret, ts)}"
    _post(client, channel, url, _payload(channel, message))


def _send_mail(channel: AlertChannel, message: Outgoing, *, env: Mapping[str, str]) -> None:
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = channel.mail_from
    mail["To"] = ", ".join(channel.mail_to)
    mail.set_content(message.body)
    try:
        with smtplib.SMTP(channel.smtp_host or "", channel.smtp_port, timeout=channel.timeout_seconds) as smtp:
            if channel.smtp_starttls:
                smtp.starttls()
            if channel.smtp_user_env:
                smtp.login(
                    _env(env, channel.smtp_user_env, "SMTP user"),
                    _env(env, channel.smtp_password_env, "SMTP password"),
                )
            smtp.send_message(mail)
    except smtplib.SMTPRecipientsRefused as exc:  # each address with the server's code and words, as it said them
        said = "; ".join(f"{to}: {code} {_said(text)}" for to, (code, text) in exc.recipients.items())
        raise DeliveryError(f"recipients refused: {said}", transient=False) from exc
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(f"SMTP {exc.smtp_code}: {_said(exc.smtp_error)}", transient=exc.smtp_code < 500) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}", transient=True) from exc


def _said(reply: bytes | str) -> str:
    """A mail server's reply text as it said it (smtplib gives bytes)."""
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def send(
    channel: AlertChannel,
    message: Outgoing,
    *,
    env: Mapping[str, str],
    client: httpx.Client,
    attempts: int,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> None:
    """Deliver one message, retrying transient failures up to `attempts` tries; raise DeliveryError."""
    retrying = Retrying(
        retry=retry_if_exception(lambda exc: isinstance(exc, DeliveryError) and exc.transient),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential_jitter(multiplier=0.5, max=10),
        sleep=sleep,
        reraise=True,
        before_sleep=before_sleep_log(log, logging.WARNING),
    )
    retrying(_send_once, channel, message, env=env, client=client, clock=clock)


def describe(channel: AlertChannel, message: Outgoing) -> str:
    """What would be posted (dry run): the JSON body, or the mail headers; never a secret."""
    if channel.type == "board":
        return f"board alert log: {message.subject}"
    if channel.type == "email":
        return f"mail to {', '.join(channel.mail_to)}: {message.subject}"
    return json.dumps(_payload(channel, message), ensure_ascii=False)
