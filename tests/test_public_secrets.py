"""tracker/public_secrets.py: which configured secrets are the sandbox's public ones."""

from __future__ import annotations

import pytest

from tests.conftest import CONFIG_DIR
from tracker.errors import TrackerError
from tracker.public_secrets import polled_providers, public_secrets, push_providers, require_private_secrets
from tracker.settings import Settings, load_settings


def test_the_shipped_config_holds_the_public_secrets(settings: Settings) -> None:
    found = {(s.provider, s.field) for s in public_secrets(settings.providers, push_providers(), push=True)}
    assert found == {("kuaidi100", "salt"), ("kdniao", "app_key"), ("track17", "key")}
    everything = {s.variable for s in public_secrets(settings.providers, ["taobao"])}
    assert everything == {"TRACKER_TAOBAO_APP_KEY", "TRACKER_TAOBAO_APP_SECRET", "TRACKER_TAOBAO_SESSION"}


def test_real_secrets_from_the_environment_pass(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_KUAIDI100_SALT", "salt-from-the-console")
    monkeypatch.setenv("TRACKER_TRACK17_KEY", "")  # empty is no better than public
    providers = load_settings(CONFIG_DIR).providers
    found = {(s.provider, s.field) for s in public_secrets(providers, push_providers(), push=True)}
    assert found == {("kdniao", "app_key"), ("track17", "key")}


def test_refusal_is_one_line_unless_for_the_sandbox(settings: Settings) -> None:
    with pytest.raises(TrackerError) as refused:
        require_private_secrets(settings, ["kdniao"], command="tracker poll", sandbox=False)
    message = str(refused.value)
    assert "\n" not in message and "TRACKER_KDNIAO_APP_KEY" in message and "TRACKER_KDNIAO_EBUSINESS_ID" in message
    assert "TRACKER_KUAIDI100" not in message
    public = require_private_secrets(settings, ["kdniao"], command="tracker poll", sandbox=True)
    assert public == ["TRACKER_KDNIAO_APP_KEY", "TRACKER_KDNIAO_EBUSINESS_ID"]


def test_poll_checks_the_providers_couriers_use(settings: Settings) -> None:
    used = {c.provider for c in settings.couriers.values()}
    assert set(polled_providers(settings)) == used - {"spider"}


def test_a_bad_push_bound_is_one_line_naming_file_and_key(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from bench.config_copy import copy_config
    from tracker.settings import ConfigError

    config = copy_config(CONFIG_DIR, tmp_path / "config", {"providers.toml": {"push": {"max_body_bytes": 0}}})
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(ConfigError) as bad:
        load_settings(config)
    message = str(bad.value)
    assert "providers.toml" in message and "max_body_bytes" in message and "\n" not in message.strip()
