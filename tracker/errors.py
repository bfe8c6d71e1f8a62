"""The base of every error a person can cause (bad file, value, id): one clear line, no traceback."""


class TrackerError(Exception):
    """A user-facing error; the CLI prints `error: <message>` and exits non-zero."""
