"""Helpers for the alert tests: local receivers (HTTP robots, SMTP sink), alerts.toml, row factories."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import Engine, insert, select

from tracker.domain import ParcelFacts
from tracker.settings import PROJECT_ROOT
from tracker.storage import repo
from tracker.storage.rows import ClaimRow, FlagRow, ParcelRow

DINGTALK_SECRET = "SEC0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    path: str
    query: dict[str, list[str]]
    body: Any
    raw: bytes


@dataclass
class Receiver:
    """What the fake robots got. `script[path]` lists status codes to answer before answering 200."""

    base: str
    requests: list[Received] = field(default_factory=list)
    script: dict[str, list[int]] = field(default_factory=dict)
    errcode: dict[str, int] = field(default_factory=dict)
    bad_signatures: int = 0
    # called with each request before it is answered (on the server's thread): what happens meanwhile
    on_post: Callable[[Received], None] | None = None

    def delivered(self, path: str) -> list[Received]:
        """Requests to `path` that were answered with success."""
        return [r for r in self.requests if r.path == path and getattr(r, "ok", False)]


def make_handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def do_POST(self) -> None:  # noqa: N802
            url = urlsplit(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            got = Received(url.path, parse_qs(url.query), json.loads(raw.decode("utf-8")), raw)
            receiver.requests.append(got)
            if receiver.on_post is not None:
                receiver.on_post(got)
            script = receiver.script.get(url.path, [])
            if script:
                self._answer(script.pop(0), {"errcode": -1, "errmsg": "scripted failure"})
                return
            if url.path == "/dingtalk" and not _signature_ok(got.query):
                receiver.bad_signatures += 1
                self._answer(200, {"errcode": 310000, "errmsg": "sign not match"})
                return
            code = receiver.errcode.get(url.path, 0)
            if code:
                self._answer(200, {"errcode": code, "errmsg": "rejected"})
                return
            got.ok = True  # type: ignore[attr-defined]
            if url.path == "/slack":
                self._answer(200, None, text="ok")
            else:
                self._answer(200, {"errcode": 0, "errmsg": "ok"})

        def _answer(self, status: int, body: Any, text: str | None = None) -> None:
            data = (text if text is not None else json.dumps(body)).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if text is None else "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def _signature_ok(query: dict[str, list[str]]) -> bool:
    """Re-compute DingTalk's 加签 from the received timestamp (parse_qs has already URL-decoded sign)."""
    if query.get("access_token") != ["tok"] or "timestamp" not in query or "sign" not in query:
        return False
    ts = query["timestamp"][0]
    expected = base64.b64encode(
        hmac.new(DINGTALK_SECRET.encode(), f"{ts}\n{DINGTALK_SECRET}".encode(), hashlib.sha256).digest()
    ).decode()
    return hmac.compare_digest(expected, query["sign"][0])


class SmtpSink:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


ALERTS_TOML = """
language = "zh"
board_url = "http://127.0.0.1:8501/parcel?waybill={{waybill}}"
reminder_after_hours = 24
max_reminders = 2
send_attempts = 3
retry_backoff_minutes = [5, 15]
max_attempts = 4

[schedule]
start = "09:00"
end = "21:00"

[calls]
max_per_buyer_per_day = 1
kinds = ["unreachable"]
ladder_actions = ["phone", "phone_explain", "phone_again", "message_then_phone"]

[channels.ding]
type = "dingtalk"
url_env = "T_DING_URL"
secret_env = "T_DING_SECRET"

[channels.wecom]
type = "wecom"
url_env = "T_WECOM_URL"
max_bytes = 4096

[channels.slack]
type = "slack"
url_env = "T_SLACK_URL"

[channels.hook]
type = "webhook"
url_env = "T_HOOK_URL"

[channels.mail]
type = "email"
smtp_host = "127.0.0.1"
smtp_port = {smtp_port}
mail_from = "tracker@example.com"
mail_to = ["lead@example.com"]

[groups.agents]
channels = ["ding"]

[groups.agents_en]
channels = ["slack"]
language = "en"

[groups.leads]
role = "lead"
channels = ["wecom", "mail"]
follows_schedule = false
daily_digest = false

[groups.ops]
channels = ["hook"]
daily_digest = false

[[routes]]
groups = ["agents"]
leads = ["leads"]

[[routes]]
couriers = ["sf"]
groups = ["agents_en"]

[[routes]]
kinds = ["damaged"]
shops = ["悦家旗舰店"]
provinces = ["西藏"]
groups = ["ops"]
"""


def make_config_dir(folder: Path, *, smtp_port: int = 25, alerts_toml: str = ALERTS_TOML) -> Path:
    """The project's config with a test alerts.toml whose channels point at local receivers."""
    shutil.copytree(PROJECT_ROOT / "config", folder)
    (folder / "alerts.toml").write_text(alerts_toml.format(smtp_port=smtp_port), encoding="utf-8")
    return folder


def add_parcel(engine: Engine, waybill: str, *, now: datetime, **kw: Any) -> int:
    facts: dict[str, Any] = {"courier": "yto", "waybill": waybill, "goods_value": Decimal("199.00")}
    facts.update(kw)
    repo.upsert_parcels(engine, [ParcelFacts(**facts)], now=now)
    with engine.connect() as conn:
        return conn.execute(select(ParcelRow.id).where(ParcelRow.waybill == waybill)).scalar_one()


def add_flag(engine: Engine, parcel_id: int, kind: str, *, opened_at: datetime, **kw: Any) -> int:
    values: dict[str, Any] = {
        "parcel_id": parcel_id,
        "kind": kind,
        "courier": "yto",
        "severity": "warn",
        "level": 0,
        "state": "open",
        "opened_at": opened_at,
        "next_action_zh": "到官网查询, 联系快递网点",
        "next_action_en": "look it up on the courier's site, phone the outlet",
    }
    values.update(kw)
    with engine.begin() as conn:
        return conn.execute(insert(FlagRow).values(**values)).inserted_primary_key[0]


def set_flag(engine: Engine, flag_id: int, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(FlagRow.__table__.update().where(FlagRow.__table__.c.id == flag_id).values(**values))


def add_claim(engine: Engine, parcel_id: int, *, now: datetime, **kw: Any) -> None:
    values: dict[str, Any] = {
        "parcel_id": parcel_id,
        "courier": "yto",
        "claim_type": "goods_lost",
        "state": "draft",
        "amount": Decimal("199.00"),
        "table_version": "t1",
        "created_at": now,
        "updated_at": now,
    }
    values.update(kw)
    with engine.begin() as conn:
        conn.execute(insert(ClaimRow).values(**values))
