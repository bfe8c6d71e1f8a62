"""The base of every error a person can cause (bad file, value, id): one clear line, no traceback."""

from typing import Any


class TrackerError(Exception):
    """A user-facing error; the CLI prints `error: <message>` and exits non-zero.

    `code` and `params` (optional) name the error for a screen that speaks another language: the board
    shows dashboard/i18n.py's `err_<code>` line filled with `params`, and the CLI keeps the message."""

    def __init__(self, *args: Any, code: str | None = None, **params: Any) -> None:
        super().__init__(*args)
        self.code = code
        self.params = params
