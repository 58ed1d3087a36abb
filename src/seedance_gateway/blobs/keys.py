"""Blob keys: relative slash-separated paths (``results/<task>/video.mp4``), checked the same way
by every adapter."""

from __future__ import annotations

from pathlib import PurePosixPath


def checked(key: str) -> str:
    """``key`` itself, or ``ValueError`` when it is empty, absolute or steps out (``..``)."""
    path = PurePosixPath(key)
    if not key or path.is_absolute() or any(part in ("..", ".", "") for part in key.split("/")):
        raise ValueError(f"invalid blob key {key!r}")
    return key


def checked_prefix(prefix: str) -> str:
    """``prefix`` (a folder of keys, ending in ``/``) itself, or ``ValueError``."""
    if not prefix.endswith("/"):
        raise ValueError(f"invalid blob prefix {prefix!r}: it must end with /")
    checked(prefix[:-1])
    return prefix
