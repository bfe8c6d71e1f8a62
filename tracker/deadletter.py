"""Dead letters: signed pushes that could not be read whole, kept exactly as received (docs/operations-pushes.md).

tracker/push.py keeps a signed push here when its payload is not a JSON object within the limits, or when the
parser refused a waybill or an event of it, and answers the provider's refusal (so it may resend too).
`tracker pushes --failed` lists them; `tracker pushes --replay ID` reads one again through the same parse +
ingest path (after a parser fix) and marks it replayed when it is read whole.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from tracker.storage.tables import DEAD_LETTER as T

FAILED, REPLAYED = "failed", "replayed"
ERROR_CHARS = 2000  # an error text is kept this long at most (a parser may list every refused event)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    provider: str
    state: str
    attempts: int
    error: str
    size: int
    received_at: datetime
    last_received_at: datetime
    replayed_at: datetime | None


def _as_bytes(payload: str | bytes) -> bytes:
    return payload if isinstance(payload, bytes) else payload.encode("utf-8", "surrogatepass")


def keep(engine: Engine, provider: str, payload: str | bytes, error: str, *, now: datetime) -> int:
    """Store a signed push that could not be read whole; the same payload again counts one more attempt.
    Returns the dead letter's id."""
    data = _as_bytes(payload)
    digest = hashlib.sha256(data).hexdigest()
    error = error[:ERROR_CHARS]
    for _ in range(2):  # a concurrent first insert of the same payload: the second round updates it
        with engine.begin() as conn:
            found = conn.execute(select(T.c.id).where(T.c.provider == provider, T.c.digest == digest)).scalar()
            if found is not None:
                conn.execute(
                    update(T)
                    .where(T.c.id == found)
                    .values(attempts=T.c.attempts + 1, last_received_at=now, error=error, state=FAILED)
                )
                return int(found)
            try:
                new_id = conn.execute(
                    insert(T)
                    .values(
                        provider=provider,
                        digest=digest,
                        payload=data,
                        error=error,
                        state=FAILED,
                        attempts=1,
                        received_at=now,
                        last_received_at=now,
                    )
                    .returning(T.c.id)
                ).scalar_one()
                return int(new_id)
            except IntegrityError:
                conn.rollback()
    raise RuntimeError(f"dead letter for {provider} could not be stored")  # pragma: no cover


def listing(engine: Engine, *, failed_only: bool, limit: int = 200) -> list[DeadLetter]:
    """The dead letters, newest first (only the ones still failed when `failed_only`)."""
    from sqlalchemy import func

    cols = (
        T.c.id,
        T.c.provider,
        T.c.state,
        T.c.attempts,
        T.c.error,
        func.length(T.c.payload),
        T.c.received_at,
        T.c.last_received_at,
        T.c.replayed_at,
    )
    query = select(*cols).order_by(T.c.id.desc()).limit(limit)
    if failed_only:
        query = query.where(T.c.state == FAILED)
    with engine.connect() as conn:
        return [DeadLetter(*row) for row in conn.execute(query)]


def payload_of(engine: Engine, letter_id: int) -> tuple[str, bytes] | None:
    """(provider, payload) of a dead letter, None when there is no such id."""
    with engine.connect() as conn:
        row = conn.execute(select(T.c.provider, T.c.payload).where(T.c.id == letter_id)).first()
    return None if row is None else (row[0], bytes(row[1]))


@dataclass(frozen=True, slots=True)
class Replay:
    id: int
    provider: str
    waybills: int
    new_events: int
    problems: list[str]

    @property
    def whole(self) -> bool:
        return self.waybills > 0 and not self.problems


def replay(
    engine: Engine,
    letter_id: int,
    read: Callable[[str, bytes], Any],
    store: Callable[[str, Any], tuple[int, int, list[str]]],
    *,
    now: datetime,
) -> Replay | None:
    """Read dead letter `letter_id` again: `read(provider, payload)` decodes it (raising ValueError with the
    reason), `store(provider, body)` parses and ingests it as a push. Marked replayed when read whole, else its
    error is brought up to date. None when there is no such id."""
    found = payload_of(engine, letter_id)
    if found is None:
        return None
    provider, payload = found
    try:
        body = read(provider, payload)
    except ValueError as exc:
        waybills, new, problems = 0, 0, [str(exc)]
    else:
        waybills, new, problems = store(provider, body)
        if not waybills and not problems:
            problems = ["no waybill in the push"]
    result = Replay(letter_id, provider, waybills, new, problems)
    values: dict[str, Any] = (
        {"state": REPLAYED, "replayed_at": now} if result.whole else {"error": "; ".join(problems)[:ERROR_CHARS]}
    )
    with engine.begin() as conn:
        conn.execute(update(T).where(T.c.id == letter_id).values(**values))
    return result
