"""Secrets never reach a log: the cases in data/board_secrets.json go through real httpx requests at DEBUG
(httpx and httpcore both logging) to a local receiver, and through log messages and tracebacks; the
captured log must hold none of the secrets, at any level, whatever handler is attached."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tracker.alerts.channels import Outgoing, send
from tracker.redact import install, redact
from tracker.settings import AlertChannel

CASES = json.loads((Path(__file__).parent / "data" / "board_secrets.json").read_text(encoding="utf-8"))


class _Ok(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"errcode": 0, "errmsg": "ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST  # noqa: N815


@pytest.fixture
def receiver() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """Everything logged at DEBUG, through a handler added after install() (as a user turning logs up would)."""
    install()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield out
    root.removeHandler(handler)
    root.setLevel(old_level)


@pytest.mark.parametrize("case", CASES["requests"], ids=lambda c: c["name"])
def test_httpx_at_debug_logs_no_webhook_secret(case: dict[str, str], receiver: str, debug_log: io.StringIO) -> None:
    with httpx.Client() as client:
        reply = client.post(receiver + case["path"], json={"msgtype": "text"})
    assert reply.status_code == 200
    log = debug_log.getvalue()
    assert "HTTP Request: POST" in log and "127.0.0.1" in log  # the request was logged...
    assert case["secret"] not in log  # ...without its secret
    assert "***" in log


@pytest.mark.parametrize("case", CASES["messages"], ids=lambda c: c["name"])
def test_log_messages_and_tracebacks_are_redacted(case: dict[str, str], debug_log: io.StringIO) -> None:
    log = logging.getLogger("tracker.test")
    log.debug("%s", case["text"])
    log.warning(case["text"])
    try:
        raise RuntimeError(case["text"])
    except RuntimeError:
        log.exception("failed")
    text = debug_log.getvalue()
    assert case["secret"] not in text
    assert text.count("***") >= 3 and "RuntimeError" in text
    assert case["secret"] not in redact(case["text"])


def test_a_signed_dingtalk_delivery_logs_neither_token_nor_signature(receiver: str, debug_log: io.StringIO) -> None:
    channel = AlertChannel(type="dingtalk", url_env="T_URL", secret_env="T_SECRET")
    env = {"T_URL": receiver + "/robot/send?access_token=dd0123456789abcdef", "T_SECRET": "SECabcdef0123456789"}
    with httpx.Client() as client:
        send(channel, Outgoing(subject="s", body="b", meta={}), env=env, client=client, attempts=1)
    log = debug_log.getvalue()
    assert "/robot/send?access_token=***" in log and "&sign=***" in log
    assert "dd0123456789abcdef" not in log and "SECabcdef0123456789" not in log


def test_environment_secrets_are_redacted_by_value() -> None:
    from tracker.redact import secret_values

    env = {"TRACKER_KUAIDI100_KEY": "plainvalue12345", "HOME": "/root", "TRACKER_SHORT_KEY": "abc"}
    secrets = secret_values(env)
    assert secrets == ("plainvalue12345",)
    assert redact("the key plainvalue12345 was refused", secrets) == "the key *** was refused"


def test_a_record_keeps_its_arguments_when_redacting_them_is_enough(debug_log: io.StringIO) -> None:
    """uvicorn's access formatter unpacks record.args: a redacted access line must keep them."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    log = logging.getLogger("uvicorn.access.test")
    log.addHandler(handler)
    log.setLevel(logging.INFO)  # not uvicorn.access's level, which a server started earlier in this process set
    try:
        log.info(
            '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "POST", "/push/kuaidi100?sign=ABCDEF0123456789", "1.1", 200
        )
        log.info("calling %s?key=%s", "https://poll.kuaidi100.com/poll/query.do", "only-an-argument-1234")
    finally:
        log.removeHandler(handler)
        log.setLevel(logging.NOTSET)
    access, split = records
    assert isinstance(access.args, tuple) and access.args[2] == "/push/kuaidi100?sign=***" and access.args[4] == 200
    assert "ABCDEF0123456789" not in access.getMessage()
    assert split.args is None and split.getMessage().endswith("key=***")  # the secret was only the argument
