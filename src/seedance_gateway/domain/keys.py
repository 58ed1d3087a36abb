"""API keys (pure): generated with a recognizable prefix, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "sdg_"


def generate() -> str:
    """A new plaintext key, shown to its owner once."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def digest(plaintext: str) -> str:
    """The hash we store and look keys up by."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def display_prefix(plaintext: str) -> str:
    """The first characters, enough to recognize a key in a list."""
    return plaintext[:12]
