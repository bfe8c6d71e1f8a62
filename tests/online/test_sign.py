import base64
import hashlib

import pytest

from tracker.providers.kdniao.sign import data_sign, data_sign_urlencoded, verify_data_sign
from tracker.providers.kuaidi100.sign import push_sign, query_sign, verify_push_sign, verify_query_sign
from tracker.providers.track17.sign import push_sign as t17_sign
from tracker.providers.track17.sign import verify_push_sign as t17_verify


def test_kuaidi100_query_sign_is_upper_md5_of_param_key_customer() -> None:
    param = '{"com":"yuantong","num":"YT7512345678901"}'
    expected = hashlib.md5((param + "KEY" + "CUST").encode()).hexdigest().upper()
    assert query_sign(param, "KEY", "CUST") == expected
    assert verify_query_sign(param, "KEY", "CUST", expected.lower())
    assert not verify_query_sign(param, "KEY2", "CUST", expected)


@pytest.mark.parametrize("case", [str.lower, str.upper])
def test_kuaidi100_push_sign_compares_case_insensitively(case) -> None:
    param = '{"status":"polling"}'
    sign = hashlib.md5((param + "salt").encode()).hexdigest()
    assert push_sign(param, "salt") == sign
    assert verify_push_sign(param, "salt", case(sign))
    assert not verify_push_sign(param + " ", "salt", sign)


def test_kdniao_data_sign_is_base64_of_lowercase_hex_md5() -> None:
    data = '{"OrderCode":"","ShipperCode":"ZTO","LogisticCode":"78398765432101"}'
    hexdigest = hashlib.md5((data + "APPKEY").encode()).hexdigest()
    expected = base64.b64encode(hexdigest.encode()).decode()
    assert data_sign(data, "APPKEY") == expected
    assert "%3D" in data_sign_urlencoded(data, "APPKEY")  # the padding '=' is URL-encoded
    assert verify_data_sign(data, "APPKEY", expected)
    assert verify_data_sign(data, "APPKEY", data_sign_urlencoded(data, "APPKEY"))
    assert not verify_data_sign(data, "OTHER", expected)


def test_track17_push_sign_is_sha256_of_body_slash_key() -> None:
    body = b'{"event":"TRACKING_UPDATED","data":{"number":"RR123456789CN","carrier":3011,"tag":null}}'
    expected = hashlib.sha256(body + b"/" + b"secret").hexdigest()
    assert t17_sign(body, "secret") == expected
    assert t17_verify(body, "secret", expected.upper())
    assert not t17_verify(body + b" ", "secret", expected)
