"""What every settings module shares: the error a bad file raises and the strict, frozen base model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from tracker.errors import TrackerError


class ConfigError(TrackerError):
    """A configuration file or variable is missing or invalid; the message says where and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
