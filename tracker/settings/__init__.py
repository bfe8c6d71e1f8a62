"""Configuration: `config/*.toml` (data only) plus `TRACKER_*` environment overrides, validated once.

`load_settings(config_dir)` is called by entrypoints only (the CLI, the board, the spiders) and the
result is passed down. Any problem raises `ConfigError` whose message names the file (or environment
variable), the key and what was expected, so a bad deployment fails at start, not mid-poll.

One module per file of config/ holds the models of that file (`rules.py` for rules.toml, ...);
`tracker.py` holds tracker.toml's and `Settings`, the whole; `loader.py` reads the files and words
what is wrong; `paths.py` says where the configuration is. The names below are the package's surface.
"""

from tracker.settings.alerts import (
    AlertChannel,
    AlertGroup,
    AlertRoute,
    AlertsConfig,
    CallLimits,
    WorkSchedule,
)
from tracker.settings.base import ConfigError
from tracker.settings.board import BoardConfig, BoardUser, LoginConfig
from tracker.settings.couriers import CourierConfig, DetectionConfig, WaybillPattern
from tracker.settings.loader import format_validation_error, load_settings, read_toml, validate_file
from tracker.settings.next_actions import ActionText
from tracker.settings.paths import (
    ENV_PREFIX,
    PACKAGE_CONFIG,
    PROJECT_ROOT,
    default_config_dir,
    shipped_config_dir,
    working_root,
)
from tracker.settings.providers import (
    PollingConfig,
    ProviderConfig,
    ProvidersConfig,
    PushIntakeConfig,
    SubscriptionsConfig,
    WorkersConfig,
    provider_secrets,
)
from tracker.settings.rules import (
    Contact,
    LadderStep,
    LateShipment,
    LostSuspected,
    RefundLadders,
    Returns,
    RuleOverride,
    RulesConfig,
    WarnEscalate,
    Watch,
)
from tracker.settings.tracker import ImportConfig, Settings, normalise_database_url

__all__ = [
    "ENV_PREFIX",
    "PACKAGE_CONFIG",
    "PROJECT_ROOT",
    "ActionText",
    "AlertChannel",
    "AlertGroup",
    "AlertRoute",
    "AlertsConfig",
    "BoardConfig",
    "BoardUser",
    "CallLimits",
    "ConfigError",
    "Contact",
    "CourierConfig",
    "DetectionConfig",
    "ImportConfig",
    "LadderStep",
    "LateShipment",
    "LoginConfig",
    "LostSuspected",
    "PollingConfig",
    "ProviderConfig",
    "ProvidersConfig",
    "PushIntakeConfig",
    "RefundLadders",
    "Returns",
    "RuleOverride",
    "RulesConfig",
    "Settings",
    "SubscriptionsConfig",
    "WaybillPattern",
    "WarnEscalate",
    "Watch",
    "WorkSchedule",
    "WorkersConfig",
    "default_config_dir",
    "format_validation_error",
    "load_settings",
    "normalise_database_url",
    "provider_secrets",
    "read_toml",
    "shipped_config_dir",
    "validate_file",
    "working_root",
]
