"""Property: whatever a correctly signed push carries (any bytes, any text, any JSON shaped like a push), the
receiver answers its acknowledgement or its refusal (200 or 400), never a 500; and a refused one is kept as a
dead letter. Over real HTTP against the receiver app on 127.0.0.1 (bounded example count)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from tests.hostile.push_server import signed
from tracker.push import create_push_app
from tracker.push_guard import uvicorn_options
from tracker.sandbox.server import start_background
from tracker.settings import Settings
from tracker.storage.rows import PushDeadLetterRow

KEYS = {  # the keys each provider's push really uses, so generated JSON reaches the parsers' depths
    "kuaidi100": ["status", "message", "lastResult", "nu", "com", "state", "ischeck", "data", "time", "ftime",
                  "context", "statusCode", "areaName", "comNew", "autoCheck"],
    "kdniao": ["EBusinessID", "PushTime", "Count", "Data", "LogisticCode", "ShipperCode", "Traces", "State",
               "AcceptTime", "AcceptStation", "Success", "Reason", "Location", "StateEx"],
    "track17": ["event", "data", "number", "carrier", "track_info", "latest_status", "status", "sub_status",
                "tracking", "providers", "provider", "events", "time_iso", "time_utc", "description", "stage",
                "location", "key"],
}  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.text(max_size=40)
    | st.sampled_from(
        ["2026-11-21 10:00:00", "2026-11-21T10:00:00+08:00", "25:61", "", "0", "3", "快件已签收", "InTransit"]
    )
)


def pushes(provider: str) -> st.SearchStrategy[str]:
    shaped = st.recursive(
        SCALARS,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS[provider]), inner, max_size=5),
        max_leaves=25,
    )
    objects = st.dictionaries(st.sampled_from(KEYS[provider]), shaped, max_size=5).map(
        lambda d: json.dumps(d, ensure_ascii=False)
    )
    return objects | st.text(max_size=300)


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Engine, Settings]]:
    from tests.conftest import CONFIG_DIR
    from tracker.settings import load_settings
    from tracker.storage.db import make_engine, migrate

    tmp = tmp_path_factory.mktemp("anybytes")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp / 'push.db'}")
        settings = load_settings(CONFIG_DIR)
    engine = make_engine(settings.database_url)
    migrate(engine)
    server = start_background(create_push_app(engine, settings), **uvicorn_options(settings.providers.push))
    yield server.url, engine, settings
    server.stop()
    engine.dispose()


def _secret(settings: Settings, provider: str) -> str:
    config = settings.providers.of(provider)
    return {"kuaidi100": config.salt, "kdniao": config.app_key, "track17": config.key}[provider]


@pytest.mark.parametrize("provider", ["kuaidi100", "kdniao", "track17"])
def test_any_signed_payload_is_answered_never_a_500(receiver, provider: str) -> None:  # noqa: ANN001
    url, engine, settings = receiver

    @examples(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(payload=pushes(provider) | (st.binary(max_size=300).map(lambda b: b.decode("latin-1"))))
    def check(payload: str) -> None:
        if not payload:
            return
        r = httpx.post(f"{url}/push/{provider}", **signed(provider, payload, _secret(settings, provider)), timeout=30)
        assert r.status_code in (200, 400), (r.status_code, r.text, payload[:200])
        if r.status_code == 400:  # refused: kept whole as a dead letter
            digest = hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()
            with engine.connect() as conn:
                kept = conn.execute(
                    select(func.count())
                    .select_from(PushDeadLetterRow)
                    .where(PushDeadLetterRow.provider == provider, PushDeadLetterRow.digest == digest)
                ).scalar_one()
            assert kept == 1, payload[:200]

    check()
