"""Where the configuration is: the checkout's config/, the copy a wheel carries, or TRACKER_CONFIG_DIR."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
ENV_PREFIX = "TRACKER_"
# The default configuration a wheel carries: tracker/defaults is a link to the repository's config/.
PACKAGE_CONFIG = Path(__file__).resolve().parent.parent / "defaults"


def shipped_config_dir() -> Path:
    """The project's config/ in a checkout, else the copy inside the installed package."""
    repo = PROJECT_ROOT / "config"
    return repo if (repo / "tracker.toml").is_file() else PACKAGE_CONFIG


def working_root() -> Path:
    """Where relative paths in the configuration point: the checkout, or the current folder for a wheel."""
    return PROJECT_ROOT if (PROJECT_ROOT / "config" / "tracker.toml").is_file() else Path.cwd()


def default_config_dir() -> Path:
    """TRACKER_CONFIG_DIR, else ./config when it exists, else the project's own (shipped) config."""
    env = os.environ.get(f"{ENV_PREFIX}CONFIG_DIR")
    if env:
        return Path(env)
    local = Path.cwd() / "config"
    return local if (local / "tracker.toml").is_file() else shipped_config_dir()
