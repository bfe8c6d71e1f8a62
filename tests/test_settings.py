"""Configuration: the shipped files load; every kind of mistake names the file, the key and the expectation."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.config_copy import copy_config
from tracker.settings import PROJECT_ROOT, ConfigError, load_settings

CONFIG = PROJECT_ROOT / "config"


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(CONFIG, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_shipped_config_has_the_spec_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKER_DATABASE_URL", raising=False)
    settings = load_settings(CONFIG)
    rules = settings.rules
    assert (rules.no_first_scan.warn_hours, rules.no_first_scan.escalate_hours) == (72, 96)
    assert (rules.stale.warn_hours, rules.stale.escalate_hours) == (72, 96)
    assert rules.lost_suspected.hours == 168
    assert rules.late_shipment.hours_after_payment == 72
    assert rules.watch.days_after_success == 15
    assert (rules.returns.no_waybill_days, rules.returns.no_movement_days, rules.returns.abandoned_days) == (
        2,
        10,
        20,
    )
    assert rules.returns.surface_mail_prefixes == ["KA", "PA"]
    assert [s.days_left for s in rules.refund_ladder.ordinary] == [8, 6]
    assert [s.days_left for s in rules.refund_ladder.express] == [8, 6, 3, 1]
    assert rules.contact.max_calls_per_case == 3
    assert settings.timezone == "Asia/Shanghai"
    assert settings.database_url == f"sqlite:///{PROJECT_ROOT / 'var' / 'tracker.db'}"
    assert {"sf", "zto", "yto", "sto", "yunda", "jt", "jd", "ems"} <= set(settings.couriers)


def test_environment_overrides_the_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_DATABASE_URL", "postgresql://u:p@db.example:5432/tracker")
    assert load_settings(CONFIG).database_url == "postgresql+psycopg://u:p@db.example:5432/tracker"


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "rules.toml",
            "warn_hours = 72\nescalate_hours = 96\n\n[stale]",
            'warn_hours = "three days"\nescalate_hours = 96\n\n[stale]',
            ["rules.toml: no_first_scan.warn_hours:", "integer", "'three days'"],
        ),
        (
            "rules.toml",
            '[stale]\n# Has events, not final, no new event since the last one: 000 §7 "物流一直没有更新的".\nwarn_hours = 72',
            "[stale]\nwarn_hours = 100",
            ["rules.toml: stale:", "escalate_hours must be greater than warn_hours"],
        ),
        ("rules.toml", "hours = 168", "hours = -1", ["rules.toml: lost_suspected.hours:", "greater than 0"]),
        (
            "rules.toml",
            "max_calls_per_case = 3",
            "max_calls_per_case = 3\nmax_calls = 9",
            ["rules.toml: contact.max_calls:", "unknown key"],
        ),
        (
            "couriers.toml",
            'provider = "kuaidi100"\nkuaidi100 = "shunfeng"',
            'provider = "carrier-pigeon"\nkuaidi100 = "shunfeng"',
            ["couriers.toml: sf.provider:", "carrier-pigeon"],
        ),
        (
            "couriers.toml",
            "patterns = ['^SF\\d{12,13}$']",
            "patterns = ['^SF(\\d{12']",
            ["couriers.toml: sf.patterns:", "a regular expression"],
        ),
        (
            "tracker.toml",
            'timezone = "Asia/Shanghai"',
            'timezone = "Asia/Beijing"',
            ["tracker.toml: timezone:", "IANA time zone", "Asia/Beijing"],
        ),
        (
            "tracker.toml",
            "batch_size = 20000",
            "batch_size = 0",
            ["tracker.toml: import.batch_size:", "greater than 0"],
        ),
        (
            "tracker.toml",
            "second_process = true",
            'second_process = "sometimes"',
            ["tracker.toml: import.second_process:", "boolean", "sometimes"],
        ),
        (
            "rules.toml",
            "[[refund_ladder.ordinary]]\n# 000 §23.2: fewer than 7 days left -> phone.\ndays_left = 6",
            "[[refund_ladder.ordinary]]\ndays_left = 9",
            ["rules.toml: refund_ladder.ordinary:", "descending"],
        ),
        (
            # written by hand (else phrases.toml's negations fill it): a regular expression, or an error naming it
            "rules.toml",
            "[text_patterns]\n",
            '[text_negations]\nrefused = "如(需"\n\n[text_patterns]\n',
            ["rules.toml: text_negations:", "refused: not a regular expression"],
        ),
        (
            "providers.toml",
            "dispatch_seconds = 10 ",
            "dispatch_seconds = 7 ",
            ["providers.toml: workers.dispatch_seconds:", "must divide 60 seconds"],
        ),
        (
            "providers.toml",
            "stalled_seconds = 60 ",
            "stalled_seconds = 15 ",
            ["providers.toml: workers:", "at least 3 x heartbeat_seconds"],
        ),
        (
            "providers.toml",
            "job_timeout_seconds = 900 ",
            "job_timeout_seconds = 0 ",
            ["providers.toml: workers.job_timeout_seconds:", "greater than 0"],
        ),
        (
            "board.toml",
            "confirm_above = 1",
            "confirm_above = -1",
            ["board.toml: confirm_above:", "greater than or equal to 0"],
        ),
    ],
)
def test_invalid_value_names_file_key_and_expectation(
    config_copy: Path, file: str, old: str, new: str, expected: list[str]
) -> None:
    _edit(config_copy / file, old, new)
    with pytest.raises(ConfigError) as caught:
        load_settings(config_copy)
    message = str(caught.value)
    for part in expected:
        assert part in message, message
    assert str(config_copy) in message


def test_broken_toml_names_the_file_and_line(config_copy: Path) -> None:
    _edit(config_copy / "rules.toml", "[stale]", "[stale")
    with pytest.raises(ConfigError, match=r"rules\.toml: not valid TOML: .*line"):
        load_settings(config_copy)


def test_missing_file_is_named(config_copy: Path) -> None:
    (config_copy / "couriers.toml").unlink()
    with pytest.raises(ConfigError, match=r"couriers\.toml: file not found"):
        load_settings(config_copy)


def test_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigError, match="environment variable TRACKER_TIMEZONE: .*Mars/Olympus"):
        load_settings(CONFIG)


def test_override_without_scope_is_refused(config_copy: Path) -> None:
    with (config_copy / "rules.toml").open("a", encoding="utf-8") as fh:
        fh.write("\n[[overrides]]\nstale = { warn_hours = 120, escalate_hours = 168 }\n")
    with pytest.raises(ConfigError, match=r"rules\.toml: overrides\.0: .*at least one of courier, province, city"):
        load_settings(config_copy)


def test_copy_config_refuses_a_key_it_cannot_find(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"providers\.toml: no such keys to replace: \[\('workers', 'dispatch_second'\)\]"
    ):
        copy_config(PROJECT_ROOT / "config", tmp_path / "c", {"providers.toml": {"workers": {"dispatch_second": 1}}})
    copied = copy_config(
        PROJECT_ROOT / "config", tmp_path / "d", {"providers.toml": {"workers": {"dispatch_seconds": 5}}}
    )
    assert load_settings(copied).providers.workers.dispatch_seconds == 5


def test_a_next_action_a_rule_names_but_the_site_left_out_is_named(config_copy: Path) -> None:
    # a site's own next_actions.toml without the stale rule's text: its flags would show no next action
    _edit(config_copy / "next_actions.toml", "[stale]", "[stale_renamed_by_the_site]")
    with pytest.raises(ConfigError, match=r"next_actions\.toml: no text for stale \(a rule names these keys"):
        load_settings(config_copy)
