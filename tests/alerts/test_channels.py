"""Delivery against real local receivers: an HTTP server checking the DingTalk signature, an SMTP sink."""

from __future__ import annotations

from email import message_from_bytes, policy

import httpx
import pytest
from alertkit import Receiver, SmtpSink, free_port

from tracker.alerts.channels import DeliveryError, Outgoing, send, truncate_utf8
from tracker.settings import AlertChannel, Settings

MESSAGE = Outgoing(subject="【提醒】物流不更新 YT100", body="### YT100\n- 问题: 物流停滞", meta={"alerts": ["k1"]})


@pytest.fixture
def client() -> httpx.Client:
    with httpx.Client() as c:
        yield c


def deliver(settings: Settings, name: str, env: dict[str, str], client: httpx.Client, **kw) -> list[float]:  # type: ignore[no-untyped-def]
    sleeps: list[float] = []
    message = kw.pop("message", MESSAGE)
    channel = settings.alerts.channels[name]
    send(channel, message, env=env, client=client, attempts=3, sleep=sleeps.append, **kw)
    return sleeps


def test_dingtalk_request_is_signed_and_carries_markdown(
    alert_settings: Settings, alert_env: dict[str, str], receiver: Receiver, client: httpx.Client
) -> None:
    deliver(alert_settings, "ding", alert_env, client)
    [got] = receiver.delivered("/dingtalk")
    assert receiver.bad_signatures == 0
    assert got.body == {"msgtype": "markdown", "markdown": {"title": MESSAGE.subject, "text": MESSAGE.body}}


def test_dingtalk_rejection_in_the_body_is_permanent_and_not_retried(
    alert_settings: Settings, alert_env: dict[str, str], receiver: Receiver, client: httpx.Client
) -> None:
    env = {**alert_env, "T_DING_SECRET": "SECwrong"}
    with pytest.raises(DeliveryError, match="errcode 310000") as err:
        deliver(alert_settings, "ding", env, client)
    assert not err.value.transient
    assert len(receiver.requests) == 1 and receiver.bad_signatures == 1


def test_wecom_markdown_is_cut_to_4096_bytes(
    alert_settings: Settings, alert_env: dict[str, str], receiver: Receiver, client: httpx.Client
) -> None:
    long = Outgoing(subject="s", body="### 汇总\n" + "运单YT100 物流停滞\n" * 400, meta={})
    deliver(alert_settings, "wecom", alert_env, client, message=long)
    [got] = receiver.delivered("/wecom")
    assert got.body["msgtype"] == "markdown"
    content = got.body["markdown"]["content"]
    assert len(content.encode()) <= 4096 and content.endswith("…") and content.startswith("### 汇总")


def test_slack_and_generic_webhook_bodies(
    alert_settings: Settings, alert_env: dict[str, str], receiver: Receiver, client: httpx.Client
) -> None:
    deliver(alert_settings, "slack", alert_env, client)
    deliver(alert_settings, "hook", alert_env, client)
    assert receiver.delivered("/slack")[0].body == {"text": MESSAGE.body}
    assert receiver.delivered("/hook")[0].body == {
        "title": MESSAGE.subject,
        "text": MESSAGE.body,
        "alerts": ["k1"],
    }


def test_email_reaches_the_smtp_server(
    alert_settings: Settings, smtp_sink: tuple[SmtpSink, int], client: httpx.Client
) -> None:
    deliver(alert_settings, "mail", {}, client)
    [envelope] = smtp_sink[0].messages
    assert envelope.rcpt_tos == ["lead@example.com"] and envelope.mail_from == "tracker@example.com"
    mail = message_from_bytes(envelope.content, policy=policy.default)
    assert mail["Subject"] == MESSAGE.subject
    assert "物流停滞" in mail.get_content()


@pytest.mark.parametrize("status", [503, 429, 500])
def test_transient_http_errors_are_retried_then_delivered_once(
    alert_settings: Settings,
    alert_env: dict[str, str],
    receiver: Receiver,
    client: httpx.Client,
    status: int,
) -> None:
    receiver.script["/wecom"] = [status, status]
    sleeps = deliver(alert_settings, "wecom", alert_env, client)
    assert len(receiver.requests) == 3 and len(receiver.delivered("/wecom")) == 1
    assert len(sleeps) == 2


def test_a_client_error_is_not_retried(
    alert_settings: Settings, alert_env: dict[str, str], receiver: Receiver, client: httpx.Client
) -> None:
    receiver.script["/slack"] = [400]
    with pytest.raises(DeliveryError, match="HTTP 400") as err:
        deliver(alert_settings, "slack", alert_env, client)
    assert not err.value.transient and len(receiver.requests) == 1


def test_an_unreachable_server_is_transient_after_all_attempts(
    alert_settings: Settings, alert_env: dict[str, str], client: httpx.Client
) -> None:
    env = {**alert_env, "T_HOOK_URL": f"http://127.0.0.1:{free_port()}/hook"}
    with pytest.raises(DeliveryError, match="ConnectError") as err:
        sleeps = []
        send(
            alert_settings.alerts.channels["hook"],
            MESSAGE,
            env=env,
            client=client,
            attempts=3,
            sleep=sleeps.append,
        )
    assert err.value.transient and len(sleeps) == 2


def test_a_missing_secret_names_the_environment_variable(alert_settings: Settings, client: httpx.Client) -> None:
    with pytest.raises(DeliveryError, match="T_DING_URL"):
        deliver(alert_settings, "ding", {}, client)


def test_email_to_a_closed_port_is_transient(client: httpx.Client) -> None:
    channel = AlertChannel(
        type="email",
        smtp_host="127.0.0.1",
        smtp_port=free_port(),
        mail_from="a@example.com",
        mail_to=["b@example.com"],
    )
    with pytest.raises(DeliveryError) as err:
        send(channel, MESSAGE, env={}, client=client, attempts=2, sleep=lambda _: None)
    assert err.value.transient


def _mail_to_a_server(handler: object, client: httpx.Client) -> DeliveryError:
    """The failure of one email through a real local SMTP server answering with `handler` (aiosmtpd)."""
    from aiosmtpd.controller import Controller

    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        channel = AlertChannel(
            type="email", smtp_host="127.0.0.1", smtp_port=port, mail_from="a@example.com", mail_to=["b@example.com"]
        )
        with pytest.raises(DeliveryError) as err:
            send(channel, MESSAGE, env={}, client=client, attempts=1, sleep=lambda _: None)
    finally:
        controller.stop()
    return err.value


def test_a_mail_servers_refusal_is_kept_in_its_own_words(client: httpx.Client) -> None:
    """A real SMTP server refusing the message (550 after DATA): stored as it said it (it was a bytes repr, b'...',
    on the board), final (a 5xx is not tried again)."""

    class Refusing:
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
            return "550 5.1.1 mailbox unavailable"

    error = _mail_to_a_server(Refusing(), client)
    assert str(error) == "SMTP 550: 5.1.1 mailbox unavailable" and not error.transient


def test_refused_recipients_are_named_with_the_servers_words(client: httpx.Client) -> None:
    """Every recipient refused: each address with the server's code and words (it was a Python dict with bytes)."""

    class NoSuchUser:
        async def handle_RCPT(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]  # noqa: N802
            return "550 5.1.1 no such user"

    error = _mail_to_a_server(NoSuchUser(), client)
    assert str(error) == "recipients refused: b@example.com: 550 5.1.1 no such user"


def test_truncation_keeps_whole_characters() -> None:
    assert truncate_utf8("物流" * 10, 10, marker="…") == "物流…"  # 7 bytes of room: two 3-byte characters
    assert truncate_utf8("short", 10) == "short"


@pytest.mark.parametrize("errcode", [130101, 410100, 90030])
def test_dingtalk_saying_too_fast_is_tried_again_later(
    errcode: int, alert_settings: Settings, alert_env: dict[str, str], receiver: Receiver, client: httpx.Client
) -> None:
    """DingTalk answers a robot past its 20 messages a minute with errcode 130101 ("send too fast, exceed 20 times
    per minute"): tried again, as a busy server is (transient), not taken for a rejection (the old list held an
    unverified 130001 instead)."""
    receiver.errcode["/dingtalk"] = errcode
    with pytest.raises(DeliveryError, match=f"errcode {errcode}") as err:
        deliver(alert_settings, "ding", alert_env, client)
    assert err.value.transient
