"""Board passwords: salted scrypt hashes in config/board.toml, and the file edit that adds a user."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from pathlib import Path

# scrypt cost: 16 MiB of memory per check, ~50 ms; stored with the hash so it can be raised later.
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


def write_user(path: Path, name: str, *, role: str, password_hash: str) -> bool:
    """Add or replace `[users.NAME]` in board.toml, keeping the rest of the file; True if it was new."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"user name {name!r}: letters, digits, Chinese characters, '_', '.', '-' only")
    if role not in ("lead", "agent"):
        raise ValueError(f"role: expected lead or agent, got {role!r}")
    text = path.read_text(encoding="utf-8") if path.is_file() else "[board]\n\n[users]\n"
    header = f'[users."{name}"]'
    block = f'{header}\nrole = "{role}"\npassword_hash = "{password_hash}"\n'
    pattern = re.compile(rf"^{re.escape(header)}\n(?:(?!\[).*\n?)*", re.MULTILINE)
    if pattern.search(text):
        path.write_text(pattern.sub(block, text, count=1), encoding="utf-8")
        return False
    path.write_text(text.rstrip("\n") + "\n\n" + block, encoding="utf-8")
    return True


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
            "claim.export",
        }
    ),  # fmt: skip
    "agent": frozenset({"flag.ack", "flag.note", "flag.resolve", "claim.open", "claim.export"}),
}


def can(role: str, action: str) -> bool:
    return action in PERMISSIONS.get(role, frozenset())
