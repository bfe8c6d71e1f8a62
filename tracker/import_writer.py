"""Where an import's batches are stored while the next rows are read: a writer thread, or a second process.

Reading a file (parse, check, mask) and storing it (SQLite's or the driver's work) each take about half of an
import. A writer thread cannot overlap them: the store's Python half (binding each row's values) needs the GIL
the reading holds, so the two take turns (measured on 2026-12-04: a 100,000-row import took as long with a
writer thread as with the batches written inline). A second process can: it is sent the rows as plain values
(repo.parcel_rows: text, numbers and times, which serialize cheaply) and stores them with repo.store_rows_in,
while this process reads the next ones.

The second process is sent a batch in PIECES, each as soon as it is gathered, and stores each as it comes, in
one transaction of up to a batch's rows: it commits early when nothing more is waiting, so the last rows of a
file are stored a quarter of a batch after they are read rather than a whole batch after. A few pieces are
in flight at most (memory stays flat); the importer waits for them (`wait`) before reading back what they
stored, and at the end.

It is used when the import asks for it ([import] second_process, the CLI), the database is a file or a server
(an in-memory SQLite database is this process's own), and the file is big enough for the overlap to pay for
starting it (about half a second of imports). It is `python -m tracker.import_writer`, a fresh interpreter
that holds nothing of this one (no connection or lock crosses a fork) and imports only the storage layer (a
multiprocessing "spawn" child, as the push receiver's writer is, would also import the CLI that started
it, and its start is on the import's critical path): its requests come on stdin (_encode) and its answers go
out on stdout as pickles; anything it prints goes to stderr.
"""

from __future__ import annotations

import contextlib
import fcntl
import marshal
import os
import pickle
import queue
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.exc import StatementError

from tracker.errors import TrackerError
from tracker.storage import repo

# A file smaller than this is stored by a thread: its one or two batches leave nothing to overlap with the
# second process's start. A Taobao export row is about 300 bytes, so this is some 15,000 rows.
PROCESS_FROM_BYTES = 4 << 20
_PROTOCOL = pickle.HIGHEST_PROTOCOL
_PIPE_BYTES = 1 << 20  # Linux's default bound for an unprivileged pipe (/proc/sys/fs/pipe-max-size)
Buyers = Mapping[tuple[str, str], Mapping[str, str | None]]
Resent = Sequence[tuple[str, str]]


class BatchWriter(Protocol):
    rows_per_submit: int  # the importer gathers this many parcels, then submits them
    rows_handed: int  # rows handed over so far: each is stored by the time the writer is closed

    def submit(
        self, rows: Sequence[Sequence[Any]], return_buyers: Buyers, resent: Resent = (), shipped_by: Resent = ()
    ) -> None:
        """Store these rows (of repo.parcel_rows) after the ones before them; returns once they are handed over,
        with a few submits at most waiting their turn. `resent`, `shipped_by`: repo.store_rows_in's."""

    def wait(self) -> repo.Stored:
        """Wait until every row handed over is committed: what storing those not counted yet did. An
        error storing them is raised here or at a later submit."""

    def close(self) -> None:
        """Stop the writer (rows still in flight are stored first)."""


class WriterGone(TrackerError):
    """The writer process ended without answering (killed, or out of memory): one line, as a person's error is
    (the rows it committed stay, and a re-import stores the rest)."""

    def __init__(self, exit_code: int | None) -> None:
        why = ": killed, perhaps out of memory" if exit_code == -9 else ""
        super().__init__(
            f"the import's writer process ended unexpectedly (exit code {exit_code}{why}); the rows stored "
            "before it stay, import the file again to store the rest",
            code="import_writer_gone",
            exit_code=exit_code,
        )


class ThreadWriter:
    """The batches stored by a thread of this process, one at a time."""

    def __init__(self, engine: Engine, now: datetime, batch_size: int) -> None:
        self.engine, self.now = engine, now
        self.rows_per_submit = batch_size  # a batch, in a transaction of its own
        self.rows_handed = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writer")
        self._in_flight: Future[repo.Stored] | None = None
        self._counts = repo.Stored()

    def submit(
        self, rows: Sequence[Sequence[Any]], return_buyers: Buyers, resent: Resent = (), shipped_by: Resent = ()
    ) -> None:
        self._settle()
        self._in_flight = self._pool.submit(
            repo.store_parcel_rows,
            self.engine,
            rows,
            now=self.now,
            return_buyers=return_buyers,
            resent=set(resent),
            shipped_by=set(shipped_by),
        )
        self.rows_handed += len(rows)

    def wait(self) -> repo.Stored:
        self._settle()
        counts, self._counts = self._counts, repo.Stored()
        return counts

    def _settle(self) -> None:
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is not None:
            self._counts = self._counts.plus(in_flight.result())

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class ProcessWriter:
    """The batches stored by `python -m tracker.import_writer` (see the module's docstring)."""

    PIECE_ROWS = 2500  # a batch is sent in pieces of this many rows

    def __init__(self, engine: Engine, now: datetime, batch_size: int) -> None:
        self.rows_per_submit = min(batch_size, self.PIECE_ROWS)
        self.rows_handed = 0
        # pieces handed over and not answered yet, at most: a transaction's being stored and as many waiting in
        # the pipe, so a slower batch on either side does not stall the other
        self._depth = 2 * -(-batch_size // self.rows_per_submit)
        root = str(Path(__file__).resolve().parent.parent)  # the directory holding the tracker package
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        self._process = subprocess.Popen(
            # -P: the working directory is not put first on the path (a tracker/ or select.py there is not ours)
            [sys.executable, "-P", "-m", "tracker.import_writer"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        self._requests: IO[bytes] = self._process.stdin  # type: ignore[assignment]  # both PIPE: never None
        self._replies: IO[bytes] = self._process.stdout  # type: ignore[assignment]
        with contextlib.suppress(OSError, AttributeError):  # Linux: a batch crosses in 3 writes, not 50
            fcntl.fcntl(self._requests.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        self._unanswered = 0
        self._counts = repo.Stored()
        self._failed: Exception | None = None  # a transaction's error: the writer stores nothing after it
        # a thread writes the pipe, so this one never waits on the other process (its start, about half a
        # second of imports, or a batch it is still storing) unless _depth pieces are unanswered
        self._outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._feeder = threading.Thread(target=self._feed, name="import-writer-feed", daemon=True)
        self._feeder.start()
        # the URL with its password goes through the pipe, never the command line or the environment
        self._send((engine.url.render_as_string(hide_password=False), now, batch_size))

    def submit(
        self, rows: Sequence[Sequence[Any]], return_buyers: Buyers, resent: Resent = (), shipped_by: Resent = ()
    ) -> None:
        if self._failed is not None:
            raise self._failed
        self._send((rows, dict(return_buyers), list(resent), list(shipped_by)))
        self.rows_handed += len(rows)  # queued for the pipe: written before the close's end mark
        self._unanswered += 1
        while self._unanswered > self._depth:
            self._answer()

    def wait(self) -> repo.Stored:
        while self._unanswered:
            self._answer()
        if self._failed is not None:
            raise self._failed
        counts, self._counts = self._counts, repo.Stored()
        return counts

    def _answer(self) -> None:
        """Read the next answer: one piece's counts, or the error of a transaction (its pieces, and every piece
        sent after it, which the writer reads and does not store, as the thread stores no batch after a
        failed one)."""
        try:
            answer = pickle.load(self._replies)
        except (EOFError, OSError, pickle.UnpicklingError):
            raise self._gone() from None
        if answer[0] == "error":
            self._unanswered = 0
            self._failed = answer[1]
            raise answer[1]
        self._unanswered -= 1
        self._counts = self._counts.plus(repo.Stored(*answer[1]))

    def close(self) -> None:
        self._send(None)
        self._outbox.put(None)
        # answers no one waits for any more (an error on its way out) are read and dropped, so the process
        # never blocks writing one while the feeder waits for it to read
        drain = threading.Thread(target=self._drain, name="import-writer-drain", daemon=True)
        drain.start()
        self._feeder.join()
        with contextlib.suppress(OSError):  # it has gone already
            self._requests.close()
        self._exit_code()
        drain.join(5)

    def _drain(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            while self._replies.read(1 << 16):
                pass
            self._replies.close()

    def _send(self, message: object) -> None:
        # encoded whole, then written: pickled into the pipe, this process would wait on the other's
        # unpickling of each chunk before writing the next (a third of a second per 100,000 rows)
        data = _encode(message)
        self._outbox.put(len(data).to_bytes(8, "little") + data)

    def _feed(self) -> None:
        """The feeder thread: write each message to the pipe (the GIL is released while it waits)."""
        while (data := self._outbox.get()) is not None:
            try:
                self._requests.write(data)
                self._requests.flush()
            except OSError:  # the process has gone: the next answer read says so
                return

    def _gone(self) -> WriterGone:
        return WriterGone(self._exit_code())

    def _exit_code(self) -> int | None:
        try:
            return self._process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            return self._process.wait()


def writer_for(engine: Engine, now: datetime, *, batch_size: int, second_process: bool, file_bytes: int) -> BatchWriter:
    """A ProcessWriter when asked for, the database is a file or a server and the file is big enough; else a
    ThreadWriter."""
    url = engine.url
    in_memory = url.get_backend_name() == "sqlite" and (
        url.database in (None, "") or ":memory:" in url.database or url.query.get("mode") == "memory"
    )
    if second_process and not in_memory and file_bytes >= PROCESS_FROM_BYTES:
        return ProcessWriter(engine, now, batch_size)
    return ThreadWriter(engine, now, batch_size)


def _portable(exc: Exception) -> Exception:
    """The error as the importing process can raise it: itself when it pickles (without a statement's
    parameters: the batch's rows, buyers' details among them), else its type and words."""
    if isinstance(exc, StatementError):
        exc.params = None
    try:
        return pickle.loads(pickle.dumps(exc, _PROTOCOL))  # type: ignore[no-any-return]
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def serve(requests: int, replies: IO[bytes]) -> None:
    """The writer process, reading the file descriptor `requests`: (database URL, now, batch size), then
    (rows, return buyers, resent keys, shipped-by keys) per piece until None or the end of the input, each
    message its length in 8 bytes and its encoding (_encode). The pieces are stored in transactions of up to a
    batch's rows, committed early when no piece is waiting; each piece is answered ("ok", (inserted, updated,
    unchanged)) once committed, or ("error", exception) when its transaction failed (rolled back), as a pickle.
    A database that cannot be opened is answered ("error", exception) once, and the process ends."""
    from tracker.runtime import tune_gc
    from tracker.storage.db import make_engine, sqlite_settings

    tune_gc()
    url, now, batch_size = _receive(requests)
    with contextlib.ExitStack() as opened:
        try:
            engine = make_engine(url)
            opened.callback(engine.dispose)
            conn = opened.enter_context(engine.connect())
            opened.enter_context(sqlite_settings(conn, repo.IMPORT_TUNING))
        except Exception as exc:
            _answer(replies, [("error", _portable(exc))])
            return
        message = _receive(requests)
        failed = False
        while message is not None:
            if failed:  # nothing is stored after a failed transaction: read on to the end
                message = _receive(requests)
                continue
            counts: list[tuple[Any, ...]] = []
            stored = 0  # rows in this transaction
            try:
                with conn.begin():
                    while True:
                        rows, buyers, resent, shipped_by = message  # keys come as tuples (marshal, pickle keep them)
                        stored_now = repo.store_rows_in(
                            conn, rows, now=now, return_buyers=buyers, resent=set(resent), shipped_by=set(shipped_by)
                        )
                        counts.append(tuple(stored_now))
                        stored += len(rows)
                        if stored >= batch_size or not _waiting(requests):
                            break  # commit: a batch is stored, or the importer has sent nothing more yet
                        message = _receive(requests)
                        if message is None:
                            break
                _answer(replies, [("ok", c) for c in counts])
            except Exception as exc:  # rolled back: answered once, for its pieces and every piece after them
                _answer(replies, [("error", _portable(exc))])
                failed = True
            if message is not None:
                message = _receive(requests)


def _answer(replies: IO[bytes], answers: Sequence[tuple[str, object]]) -> None:
    for answer in answers:
        pickle.dump(answer, replies, _PROTOCOL)
    replies.flush()


def _waiting(fd: int) -> bool:
    """Whether a message (or the end of the input) is waiting to be read."""
    return bool(select.select([fd], [], [], 0)[0])


def _encode(message: object) -> bytes:
    """A message as sent: b"M" and its marshal when it holds only Python's core types (SQLite's rows: text,
    numbers, None; half the cost of pickling them), else b"P" and its pickle (PostgreSQL's rows hold Decimal
    and datetime). marshal is safe here: only this process writes what the other reads."""
    try:
        return b"M" + marshal.dumps(message)  # type: ignore[arg-type]  # what it cannot hold raises ValueError
    except ValueError:  # unmarshallable object
        return b"P" + pickle.dumps(message, _PROTOCOL)


def _receive(fd: int) -> Any:
    """The next message (None at the end of the input): its length in 8 bytes, then _encode's bytes."""
    size = _read(fd, 8)
    if size is None:
        return None
    data = _read(fd, int.from_bytes(size, "little"))
    if data is None:
        return None
    return marshal.loads(data[1:]) if data[:1] == b"M" else pickle.loads(data[1:])


def _read(fd: int, size: int) -> memoryview | None:
    """Exactly `size` bytes (None when the input ends first)."""
    view = memoryview(bytearray(size))
    done = 0
    while done < size:
        got = os.readv(fd, [view[done:]])
        if not got:
            return None
        done += got
    return view


def main() -> None:
    # Ctrl-C reaches the whole process group: the importer decides, and this process stores what it was sent
    # and stops when its input closes
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print must not land among the replies
    try:
        serve(sys.stdin.fileno(), replies)
        replies.close()
    except BrokenPipeError:  # the importer has gone (it says why): nothing to add, nothing to flush to it
        os._exit(0)
    except Exception as exc:  # one line, not a traceback, on the person's terminal
        print(f"tracker import writer: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        os._exit(1)


if __name__ == "__main__":
    main()
