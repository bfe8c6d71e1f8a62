"""config/next_actions.toml (docs/adding-a-rule.md): the next action shown for a flag kind or ladder step."""

from __future__ import annotations

from pydantic import (
    Field,
)

from tracker.settings.base import _Strict


class ActionText(_Strict):
    """The next action for one flag kind (or ladder step), in Chinese and English, with placeholders."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)
