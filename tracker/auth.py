"""Board passwords: salted scrypt hashes in config/board.toml, the file edit that adds a user, and the
lock-out rule for failed logins (pure: the recent attempts and `now` in, a time out).

Users stay in board.toml: a handful of people, each a role and a hash, written only by `tracker board
add-user` (mode 0600). What changes at run time - failed and successful logins - is recorded in the
database's audit log (entity "board_login"), which is also what `lockout_until` reads back and what leads
see on the board."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

# scrypt cost: 16 MiB of memory per check; stored with the hash so it can be raised later.
_N, _R, _P = 2**14, 8, 1


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """`scrypt$N$r$p$salt_hex$hash_hex` for a password; a fresh 16-byte salt unless one is given."""
    if not password:
        raise ValueError("the password is empty")
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    """True when `password` matches `stored`; an unknown user still pays for one hash (no timing hint)."""
    if stored is None:
        hash_password(password or "x")
        return False
    try:
        _, n, r, p, salt, digest = stored.split("$")
        got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)


_NAME = re.compile(r"^[A-Za-z0-9_.\-\u4e00-\u9fff]{1,64}$")


def reserved_actor(name: str) -> bool:
    """Whether `name` is one the tracker itself acts under (tracker.labels.ACTORS: the rules, the claims job, the
    import): a person by that name would read as the system in the audit log, and a flag they resolved as
    resolved by the rules."""
    from tracker.labels import ACTORS

    return name.strip().lower() in ACTORS


def password_problem(password: str, *, min_length: int) -> str | None:
    """Why `password` may not be used (one line), or None."""
    if not password:
        return "the password is empty"
    if len(password) < min_length:
        return f"the password has {len(password)} characters; at least {min_length} are needed"
    if password.strip() != password:
        return "the password starts or ends with a space"
    return None


def readable_by_others(path: Path) -> bool:
    """True when a group or other users may read or write `path` (the hashes must stay the owner's)."""
    return path.exists() and bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path` with mode 0600, atomically (a temporary file in the same folder, renamed)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_user(path: Path, name: str, *, role: str, password_hash: str) -> bool:
    """Add or replace `[users.NAME]` in board.toml, keeping the rest of the file; True if it was new.
    The file is (re)written with mode 0600."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"user name {name!r}: letters, digits, Chinese characters, '_', '.', '-' only")
    if reserved_actor(name):
        raise ValueError(
            f"user name {name!r} is the tracker's own (the rules, the claims job, the import): choose another"
        )
    if role not in ("lead", "agent"):
        raise ValueError(f"role: expected lead or agent, got {role!r}")
    text = path.read_text(encoding="utf-8") if path.is_file() else "[board]\n\n[users]\n"
    header = f'[users."{name}"]'
    block = f'{header}\nrole = "{role}"\npassword_hash = "{password_hash}"\n'
    pattern = re.compile(rf"^{re.escape(header)}\n(?:(?!\[).*\n?)*", re.MULTILINE)
    if pattern.search(text):
        _write_private(path, pattern.sub(block, text, count=1))
        return False
    _write_private(path, text.rstrip("\n") + "\n\n" + block)
    return True


# --- failed logins ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """One checked login: when, the name typed, the client address, whether it succeeded."""

    at: datetime
    user: str
    address: str
    ok: bool


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    max_failures: int
    window: timedelta
    first_lockout: timedelta
    max_lockout: timedelta

    @classmethod
    def of(cls, login: object) -> LoginPolicy:
        """From board.toml [board.login] (tracker.settings.LoginConfig)."""
        return cls(
            max_failures=login.max_failures,  # type: ignore[attr-defined]
            window=timedelta(minutes=login.window_minutes),  # type: ignore[attr-defined]
            first_lockout=timedelta(seconds=login.lockout_seconds),  # type: ignore[attr-defined]
            max_lockout=timedelta(minutes=login.max_lockout_minutes),  # type: ignore[attr-defined]
        )


def lockout_until(
    attempts: Iterable[LoginAttempt], *, user: str, address: str, now: datetime, policy: LoginPolicy
) -> datetime | None:
    """Until when a login as `user` from `address` is refused, or None. Counted separately per user name
    and per client address: the failures in the window since the last success; from `max_failures` on, a
    lock-out after the last failure of `first_lockout`, doubled by each further failure, at most
    `max_lockout`."""
    attempts = [a for a in attempts if now - policy.window <= a.at <= now]
    until: datetime | None = None
    for same in (lambda a: a.user == user, lambda a: a.address == address):
        mine = sorted((a for a in attempts if same(a)), key=lambda a: a.at)
        last_ok = max((i for i, a in enumerate(mine) if a.ok), default=-1)
        failures = [a for a in mine[last_ok + 1 :] if not a.ok]
        extra = len(failures) - policy.max_failures
        if extra < 0:
            continue
        span = min(policy.first_lockout * 2 ** min(extra, 30), policy.max_lockout)
        end = failures[-1].at + span
        if end > now and (until is None or end > until):
            until = end
    return until


# What each board role may do (spec: leads run the desk, agents work the queue).
PERMISSIONS: dict[str, frozenset[str]] = {
    "lead": frozenset(
        {
            "flag.ack",
            "flag.assign",
            "flag.note",
            "flag.resolve",
            "claim.open",
            "claim.file",
            "claim.pay",
            "claim.reject",
            "claim.withdraw",
            "claim.set_input",  # an unfiled claim's missing inputs (freight, goods value...), from the ledger
            "claim.export",
            "fact.record",  # what the courier or the buyer said (tracker.flags.facts), from the parcel page
        }
    ),
    "agent": frozenset({"flag.ack", "flag.note", "flag.resolve", "claim.open", "claim.export", "fact.record"}),
}


def can(role: str, action: str) -> bool:
    return action in PERMISSIONS.get(role, frozenset())
