import shutil
from pathlib import Path

import pytest

from tracker.settings import PROJECT_ROOT, ConfigError, load_settings

CONFIG = PROJECT_ROOT / "config"


def _copy(tmp_path: Path) -> Path:
    for f in CONFIG.glob("*.toml"):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path


def test_secrets_come_from_the_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("TRACKER_KUAIDI100_KEY", "real-key")
    monkeypatch.setenv("TRACKER_TRACK17_KEY", "real-17")
    providers = load_settings(_copy(tmp_path)).providers
    assert providers.kuaidi100.key == "real-key" and providers.track17.key == "real-17"


def test_spec_limits_are_configured() -> None:
    providers = load_settings(CONFIG).providers
    assert providers.track17.batch_size == 40 and providers.track17.rate_per_second == 3
    assert providers.kuaidi100.min_waybill_interval_minutes == 30


def test_bad_value_names_the_file_and_key(tmp_path) -> None:
    config = _copy(tmp_path)
    text = (config / "providers.toml").read_text(encoding="utf-8")
    (config / "providers.toml").write_text(text.replace("rate_per_second = 3 ", "rate_per_second = -1 "), "utf-8")
    with pytest.raises(ConfigError, match=r"providers\.toml: track17\.rate_per_second"):
        load_settings(config)
