"""The provider registry (tracker/providers/registry.py) is the one list every part reads: settings,
parsers, fetchers, CLI choices, push routes and sandbox routes; and the TOP signature rule."""

from __future__ import annotations

import hashlib
import hmac
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.routing import Route

from tracker.commands.providers import Provider
from tracker.providers import registry
from tracker.providers.base import PROVIDERS, _parsers
from tracker.providers.clients import make_fetchers
from tracker.providers.kdniao.sign import data_sign
from tracker.providers.kuaidi100.sign import push_sign
from tracker.providers.taobao.sign import sign_base, top_sign, top_timestamp, verify_top_sign
from tracker.providers.track17.sign import push_sign as t17_sign
from tracker.push import KD100_ACK, create_push_app
from tracker.sandbox.app import create_app, make_state
from tracker.settings import PROJECT_ROOT, ConfigError, ProviderConfig, Settings, load_settings, provider_secrets

CONFIG = PROJECT_ROOT / "config"


def _copy(tmp_path: Path) -> Path:
    for f in CONFIG.glob("*.toml"):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path


def test_every_package_exports_a_spec_named_after_it() -> None:
    specs = registry.specs()
    assert tuple(specs) == registry.names() == PROVIDERS == ("kuaidi100", "kdniao", "track17", "taobao")
    for name, spec in specs.items():
        assert spec.name == name and spec.label
        ProviderConfig(**spec.config)  # the defaults are a valid section
        assert set(spec.secrets) <= set(ProviderConfig.model_fields), name
        assert all(var.startswith("TRACKER_") and var.isupper() for var in spec.secrets.values())
        assert "query" in spec.parsers and set(spec.parsers) <= {"query", "push"}
        assert ("push" in spec.parsers) == (spec.push is not None), name
        assert all(isinstance(route, Route) for route in spec.sandbox_routes())


def test_parsers_come_from_the_specs() -> None:
    table = _parsers()
    assert table[("taobao", "query")] is registry.get("taobao").parsers["query"]
    assert ("taobao", "push") not in table
    assert {name for name, _ in table} == set(registry.names())


def test_settings_have_one_section_per_provider_with_its_defaults(tmp_path: Path, monkeypatch) -> None:
    config = _copy(tmp_path)
    text = (config / "providers.toml").read_text(encoding="utf-8")
    (config / "providers.toml").write_text(text[: text.index("[taobao]")] + text[text.index("[workers]") :], "utf-8")
    monkeypatch.setenv("TRACKER_TAOBAO_SESSION", "seller-session-from-env")
    providers = load_settings(config).providers
    for name in registry.names():
        assert providers.of(name) is getattr(providers, name)
    assert providers.taobao.app_secret == registry.get("taobao").config["app_secret"]  # the spec's default
    assert providers.taobao.session == "seller-session-from-env"
    assert provider_secrets()[("taobao", "session")] == "TRACKER_TAOBAO_SESSION"


def test_an_unknown_provider_section_names_the_file(tmp_path: Path) -> None:
    config = _copy(tmp_path)
    with (config / "providers.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[cainiao]\nkey = "k"\n')
    with pytest.raises(ConfigError, match=r"providers\.toml: .*unknown section\(s\) \['cainiao'\]"):
        load_settings(config)


def test_a_courier_naming_an_unknown_provider_names_file_and_key(tmp_path: Path) -> None:
    config = _copy(tmp_path)
    text = (config / "couriers.toml").read_text(encoding="utf-8")
    (config / "couriers.toml").write_text(text.replace('provider = "kdniao"', 'provider = "kdnaio"', 1), "utf-8")
    with pytest.raises(ConfigError, match=r"couriers\.toml: \w+\.provider: one of kuaidi100, .*taobao, spider"):
        load_settings(config)


def test_cli_choices_are_the_registered_providers() -> None:
    assert [p.value for p in Provider] == list(registry.names())


def test_fetchers_are_made_for_every_provider(settings: Settings) -> None:
    fetchers = make_fetchers(settings, base_url="http://127.0.0.1:9")
    assert list(fetchers) == list(registry.names())
    assert all(f.provider == name for name, f in fetchers.items())
    assert fetchers["taobao"].client.config.base_url == "http://127.0.0.1:9"


def test_push_routes_are_the_providers_that_push(settings: Settings, db_engine) -> None:
    app = create_push_app(db_engine, settings)
    expected = [f"/push/{s.name}" for s in registry.specs().values() if s.push is not None]
    assert [r.path for r in app.routes] == expected == ["/push/kuaidi100", "/push/kdniao", "/push/track17"]


def test_sandbox_serves_every_spec_route(settings: Settings) -> None:
    paths = [r.path for r in create_app(make_state(settings.couriers)).routes]
    for spec in registry.specs().values():
        for route in spec.sandbox_routes():
            assert route.path in paths
    assert "/router/rest" in paths and "/poll/query.do" in paths


def test_push_specs_agree_with_the_providers_signatures(settings: Settings) -> None:
    providers, now = settings.providers, datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
    kd100 = registry.get("kuaidi100").push
    assert kd100.verify(providers.kuaidi100, '{"a":1}', push_sign('{"a":1}', providers.kuaidi100.salt))
    assert not kd100.verify(providers.kuaidi100, '{"a":1}', push_sign('{"a":1}', "other"))
    assert kd100.ok(providers.kuaidi100, now, settings.tz) == KD100_ACK
    kdn = registry.get("kdniao").push
    assert kdn.verify(providers.kdniao, "{}", data_sign("{}", providers.kdniao.app_key))
    assert kdn.ok(providers.kdniao, now, settings.tz)["UpdateTime"] == "2026-11-23 12:00:00"
    t17 = registry.get("track17").push
    assert t17.verify(providers.track17, b"{}", t17_sign(b"{}", providers.track17.key))
    assert t17.ok(providers.track17, now, settings.tz) is None


# --- the Taobao Open Platform signature ----------------------------------------------------------------------

PARAMS = {
    "method": "taobao.logistics.trace.search",
    "app_key": "12345678",
    "session": "abc",
    "v": "2.0",
    "timestamp": "2024-05-20 10:00:00",
    "format": "json",
    "sign_method": "md5",
    "tid": "123",
    "seller_nick": "",
}
BASE = (
    "app_key12345678formatjsonmethodtaobao.logistics.trace.searchsessionabcsign_methodmd5"
    "tid123timestamp2024-05-20 10:00:00v2.0"
)


def test_sign_base_is_sorted_names_and_values_without_empty_ones_or_the_sign() -> None:
    assert sign_base({**PARAMS, "sign": "XYZ"}) == BASE


def test_md5_sign_wraps_the_base_in_the_secret_and_hmac_keys_it() -> None:
    md5 = hashlib.md5(("s3cret" + BASE + "s3cret").encode()).hexdigest().upper()
    assert top_sign(PARAMS, "s3cret") == md5
    hmac_params = {**PARAMS, "sign_method": "hmac"}
    base = BASE.replace("sign_methodmd5", "sign_methodhmac")
    assert top_sign(hmac_params, "s3cret", "hmac") == hmac.new(b"s3cret", base.encode(), "md5").hexdigest().upper()
    assert verify_top_sign({**PARAMS, "sign": md5.lower()}, "s3cret")
    assert not verify_top_sign({**PARAMS, "sign": md5, "tid": "124"}, "s3cret")
    with pytest.raises(ValueError, match="md5 or hmac"):
        top_sign(PARAMS, "s3cret", "sha1")


def test_timestamp_is_beijing_time() -> None:
    assert top_timestamp(datetime(2024, 5, 20, 2, 0, tzinfo=UTC)) == "2024-05-20 10:00:00"


def test_a_bad_taobao_value_names_the_file_and_key(tmp_path: Path) -> None:
    config = _copy(tmp_path)
    text = (config / "providers.toml").read_text(encoding="utf-8")
    (config / "providers.toml").write_text(text.replace('sign_method = "md5"', 'sign_method = "sha1"'), "utf-8")
    with pytest.raises(ConfigError, match=r"providers\.toml: taobao\.sign_method: .*'md5' or 'hmac'"):
        load_settings(config)
