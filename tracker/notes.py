"""A note a person gives with a change (a flag acknowledged, assigned, resolved or a line added; a fact
recorded; a claim withdrawn or rejected), and any text a person types with a fact: bounded. The board shows it,
the audit log keeps it, the exports write it; a page pasted by mistake made a flag's note, which keeps every
line, grow without end."""

from __future__ import annotations

from tracker.errors import TrackerError

NOTE_CHARS = 1_000  # a line a person types: a paragraph fits, a pasted page does not


def check_note(note: str | None, *, field: str = "note") -> None:
    """Refuse a note (or another text a person types: a rejection's reason, who signed) longer than NOTE_CHARS,
    spaces around it not counted, by name: `field` is the input that gave it."""
    if note is not None and len(note.strip()) > NOTE_CHARS:
        raise TrackerError(
            f"the {field} is longer than {NOTE_CHARS} characters", code="note_too_long", field=field, limit=NOTE_CHARS
        )
