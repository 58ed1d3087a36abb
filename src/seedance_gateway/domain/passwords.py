"""Password hashes for the console's sign-in (scrypt, from the standard library).

Stored as ``scrypt$n$r$p$salt$hash`` (salt and hash in hex), so the cost can rise later
without breaking older hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

N, R, P = 2**14, 8, 1
MIN_LENGTH, MAX_LENGTH = 8, 200


class WeakPassword(ValueError):
    """A password too short or too long to accept."""


def check(password: str) -> None:
    """Raises ``WeakPassword`` unless the length is acceptable."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise WeakPassword(f"password must be {MIN_LENGTH} to {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    """A salted hash of ``password`` (checked with ``check`` first)."""
    check(password)
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, N, R, P)
    return f"scrypt${N}${R}${P}${salt.hex()}${digest.hex()}"


def verify(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches the stored hash (False for none or a malformed one)."""
    try:
        scheme, n, r, p, salt, digest = (stored or "").split("$")
        if scheme != "scrypt":
            return False
        actual = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p))
        return hmac.compare_digest(actual, bytes.fromhex(digest))
    except ValueError:
        return False


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
