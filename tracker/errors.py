"""The base of every error a person can cause (bad file, value, id): one clear line, no traceback."""

from typing import Any


class TrackerError(Exception):
    """A user-facing error; the CLI prints `error: <message>` and exits non-zero.

    `code` and `params` (optional) name the error for a screen that speaks another language: the board
    shows dashboard/i18n.py's `err_<code>` line filled with `params`, and the CLI keeps the message.

    A service names what is wrong in the domain's words ("the assignee's name is required") and, when one
    input is at fault, that input as `field` (the keyword argument's name, e.g. "assignee"); the CLI puts the
    option that gives it in front (`--to: the assignee's name is required`, tracker.commands.context
    `error_line`)."""

    exit_status = 2  # the CLI's; an interrupted command's is 130 (tracker.importer.ImportStopped)

    def __init__(self, *args: Any, code: str | None = None, field: str | None = None, **params: Any) -> None:
        super().__init__(*args)
        self.code = code
        self.field = field
        self.params = params
