"""Why an alert failed, in the reader's words on the board (alert.error is stored in English, for the log): the
receiver's own answer quoted, a fault in the tracker never as a Python exception."""

from __future__ import annotations

import pytest

from tracker.labels import value_label


@pytest.mark.parametrize(
    ("stored", "zh", "en"),
    [
        ("environment variable T_DING_URL (DingTalk robot URL) is not set",
         "渠道未配置: 环境变量 T_DING_URL (DingTalk robot URL) 未设置",
         "Channel not set up: environment variable T_DING_URL (DingTalk robot URL) is not set"),
        ("HTTP 502: Bad Gateway", "接收方返回 HTTP 502: Bad Gateway", "The receiver answered HTTP 502: Bad Gateway"),
        ("errcode 310000: keywords not in content", "机器人返回错误码 310000: keywords not in content",
         "The robot answered error 310000: keywords not in content"),
        ("flag no longer open", "异常已不在待处理状态, 提醒已取消", "The exception is no longer open: cancelled"),
        ("ConnectError: [Errno 111] Connection refused", "连接接收方失败 (ConnectError)",
         "Could not reach the receiver (ConnectError)"),
        ("KeyError: 'dingtalk'", "发送出错, 详情已记录到服务器日志", "Sending failed; the details are in the server log"),
        ("ReadError: [Errno 104] Connection reset by peer", "连接接收方失败 (ReadError)",
         "Could not reach the receiver (ReadError)"),
        ("gaierror: [Errno -2] Name or service not known", "连接接收方失败 (gaierror)",
         "Could not reach the receiver (gaierror)"),
        ("UnsupportedProtocol: Request URL is missing an 'http://' or 'https://' protocol.",
         "渠道地址无效: Request URL is missing an 'http://' or 'https://' protocol.",
         "Bad channel URL: Request URL is missing an 'http://' or 'https://' protocol."),
        ("SMTP 550 mailbox unavailable", "SMTP 550 mailbox unavailable", "SMTP 550 mailbox unavailable"),
        # the setting a missing variable holds, in words (it read 邮件密码's English in a Chinese line)
        ("environment variable T_SMTP_PASSWORD (SMTP password) is not set",
         "渠道未配置: 环境变量 T_SMTP_PASSWORD (邮件密码) 未设置",
         "Channel not set up: environment variable T_SMTP_PASSWORD (SMTP password) is not set"),
        ("environment variable T_ROBOT (robot secret) is not set", "渠道未配置: 环境变量 T_ROBOT (机器人密钥) 未设置",
         "Channel not set up: environment variable T_ROBOT (robot secret) is not set"),
        # the mail server's reply as it said it (an older version stored it as bytes: b'...')
        ("SMTP 550: 5.1.1 mailbox unavailable", "邮件服务器返回 550: 5.1.1 mailbox unavailable",
         "The mail server answered 550: 5.1.1 mailbox unavailable"),
        ("SMTP 550: b'5.1.1 mailbox unavailable'", "邮件服务器返回 550: 5.1.1 mailbox unavailable",
         "The mail server answered 550: 5.1.1 mailbox unavailable"),
    ],
)  # fmt: skip
def test_an_alerts_failure_reads_in_words(stored: str, zh: str, en: str) -> None:
    assert (value_label("error", stored, "zh"), value_label("error", stored, "en")) == (zh, en)
