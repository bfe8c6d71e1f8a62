"""A note a person gives with a change (a flag acknowledged, assigned, resolved or a line added; a fact recorded;
a claim withdrawn): a line of what was done, bounded. The board shows it, the audit log keeps it, the exports
write it; a page pasted by mistake made a flag's note, which keeps every line, grow without end."""

from __future__ import annotations

from tracker.errors import TrackerError

NOTE_CHARS = 1_000  # a line a person types: a paragraph fits, a pasted page does not


def check_note(note: str | None) -> None:
    """Refuse a note longer than NOTE_CHARS (spaces around it not counted), by name."""
    if note is not None and len(note.strip()) > NOTE_CHARS:
        raise TrackerError(
            f"the note is longer than {NOTE_CHARS} characters", code="note_too_long", field="note", limit=NOTE_CHARS
        )
