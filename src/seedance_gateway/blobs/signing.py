"""Signed, expiring blob URLs (pure): ``/blobs/<key>?exp=<unix>&sig=<hmac>``."""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote


def signature(secret: str, key: str, expires: int) -> str:
    """HMAC-SHA256 over the key and its expiry."""
    message = f"{key}\n{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_url(
    base_url: str, secret: str, key: str, ttl_seconds: int, *, now: float | None = None
) -> str:
    """A URL for ``key`` valid for ``ttl_seconds``."""
    expires = int((time.time() if now is None else now) + ttl_seconds)
    return f"{base_url}/blobs/{quote(key)}?exp={expires}&sig={signature(secret, key, expires)}"


def verify(secret: str, key: str, expires: str, sig: str, *, now: float | None = None) -> bool:
    """True when ``sig`` signs ``key`` and ``expires`` has not passed."""
    try:
        deadline = int(expires)
    except ValueError:
        return False
    if deadline < (time.time() if now is None else now):
        return False
    return hmac.compare_digest(signature(secret, key, deadline), sig)
