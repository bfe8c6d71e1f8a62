"""Reading config/*.toml plus `TRACKER_*` environment overrides into `Settings`, and wording what is wrong:
one line per problem naming the file (or variable) and the key."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from tracker.settings.base import ConfigError
from tracker.settings.paths import ENV_PREFIX, default_config_dir
from tracker.settings.providers import provider_secrets
from tracker.settings.tracker import Settings

BaseModelT = TypeVar("BaseModelT", bound=BaseModel)

# Which file each top-level key comes from, for error messages.
_FILES = {
    "couriers": "couriers.toml",
    "detection": "couriers.toml",
    "headers": "import.toml",
    "return_waybill_headers": "import.toml",
    "not_shipped_statuses": "import.toml",
    "awaiting_shipment_statuses": "import.toml",
    "closed_order_statuses": "import.toml",
    "shipped_order_statuses": "import.toml",
    "rules": "rules.toml",
    "alerts": "alerts.toml",
    "providers": "providers.toml",
    "next_actions": "next_actions.toml",
    "board": "board.toml",
}


# Top-level keys that are a table of their file (their name is part of the key a person looks for).
_TABLES = {"detection"}


def read_toml(path: Path) -> dict[str, Any]:
    """Read one TOML file; a syntax error names the file and line."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, expected a TOML file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a configuration file") from None


def load_settings(config_dir: Path | None = None) -> Settings:
    """Read and validate `config_dir/*.toml` with environment overrides; raise ConfigError on any fault."""
    config_dir = Path(config_dir) if config_dir else default_config_dir()
    data: dict[str, Any] = dict(read_toml(config_dir / "tracker.toml"))
    couriers_toml = read_toml(config_dir / "couriers.toml")
    data["couriers"] = couriers_toml.get("couriers", {})
    data["detection"] = couriers_toml.get("detection", {})
    import_toml = read_toml(config_dir / "import.toml")
    data["headers"] = import_toml.get("headers", {})
    data["return_waybill_headers"] = import_toml.get("returns", {}).get("waybill_headers", [])
    orders = import_toml.get("orders", {})
    data["not_shipped_statuses"] = orders.get("not_shipped", [])
    data["awaiting_shipment_statuses"] = orders.get("awaiting_shipment", [])
    data["closed_order_statuses"] = orders.get("closed", [])
    data["shipped_order_statuses"] = orders.get("shipped", [])
    data["rules"] = _with_text_negations(read_toml(config_dir / "rules.toml"), config_dir)
    if (config_dir / "alerts.toml").is_file():
        data["alerts"] = read_toml(config_dir / "alerts.toml")
    data["providers"] = _provider_data(config_dir)
    actions_file = config_dir / "next_actions.toml"
    if actions_file.is_file():
        data["next_actions"] = read_toml(actions_file)
    if (config_dir / "board.toml").is_file():
        board = read_toml(config_dir / "board.toml")
        data["board"] = {**board.get("board", {}), "users": board.get("users", {})}
    data["config_dir"] = config_dir
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, config_dir)) from None
    problems = settings.alerts.reference_problems(settings.couriers)
    if problems:
        raise ConfigError("\n".join(f"{config_dir / _FILES['alerts']}: {problem}" for problem in problems))
    if settings.next_actions:  # a site's own next_actions.toml: every key a rule names has its text
        from tracker.rules.registry import missing_next_actions  # the rules read this package's models

        missing = missing_next_actions(settings.rules, settings.next_actions)
        if missing:
            raise ConfigError(
                f"{actions_file}: no text for {', '.join(missing)} (a rule names these keys: docs/adding-a-rule.md)"
            )
    return settings


def _with_text_negations(rules: dict[str, Any], config_dir: Path) -> dict[str, Any]:
    """rules.toml with `text_negations`: for each [text_patterns] key, the negations phrases.toml gives the status
    of that name (请拒收, 超时将退回). A text the phrase book does not read as that status must not raise its flag
    by its words either; the negations have one definition, in phrases.toml."""
    from tracker.phrases import phrasebook_for

    patterns = rules.get("text_patterns")
    if "text_negations" in rules or not isinstance(patterns, dict):
        return rules  # written by hand (validated as given), or nothing to negate
    book = phrasebook_for(config_dir)
    negations = {key: book.negation_regex(key) for key in patterns}
    return {**rules, "text_negations": {key: regex for key, regex in negations.items() if regex}}


def format_validation_error(exc: ValidationError, config_dir: Path) -> str:
    """One line per problem: `<file or variable>: <key>: expected ..., got ...`."""
    lines = []
    for err in exc.errors():
        loc = [str(part) for part in err["loc"]]
        top = loc[0] if loc else ""
        env_name = f"{ENV_PREFIX}{top.upper()}"
        if top and env_name in os.environ and top not in _FILES:
            where = f"environment variable {env_name}"
            key = ".".join(loc[1:]) or top
        else:
            where = str(config_dir / _FILES.get(top, "tracker.toml"))
            key = ".".join(loc[1:] if top in _FILES and top not in _TABLES else loc) or "(file)"
        got = err.get("input")
        got_text = "" if isinstance(got, dict | list) or got is None else f", got {got!r}"
        message = err["msg"].removeprefix("Value error, ")
        if "got " in message:
            got_text = ""
        if err["type"] == "extra_forbidden":
            message = "unknown key (not expected here)"
            got_text = ""
        elif err["type"] == "missing":
            message = "required key is missing"
        lines.append(f"{where}: {key}: {message}{got_text}")
    return "\n".join(lines)


def validate_file(model: type[BaseModelT], data: dict[str, Any], path: Path) -> BaseModelT:
    """`model` from one TOML file's contents; ConfigError with one line per problem, each naming the file and
    the key (the claim tables and tmall.toml read their files with it)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(file)"
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = "unknown key (not expected here)"
            elif err["type"] == "missing":
                message = "required key is missing"
            got = err.get("input")
            got_text = "" if isinstance(got, dict | list) or got is None or "got " in message else f", got {got!r}"
            lines.append(f"{path}: {key}: {message}{got_text}")
        raise ConfigError("\n".join(lines)) from None


def _provider_data(config_dir: Path) -> dict[str, Any]:
    from tracker.providers.registry import default_config, names

    path = config_dir / "providers.toml"
    data = read_toml(path) if path.is_file() else {}
    for name in names():
        if name not in data:
            data[name] = default_config(name)
    for (provider, field), variable in provider_secrets().items():
        if variable in os.environ and isinstance(data.get(provider), dict):
            data[provider] = {**data[provider], field: os.environ[variable]}
    return data
