"""What an API key may do: its scopes, and the scope each request needs.

A key holds some of ``ALL``; keys made before scopes existed hold all of them. The scope a
request needs follows from its method and path alone (``required``), the same in every dialect:
reading anything is ``read``; creating or cancelling generations is ``generate``; uploading or
deleting files is ``files``; managing webhooks is ``webhooks``; managing keys (and, for admin
accounts, other accounts) is ``keys``.
"""

from __future__ import annotations

from collections.abc import Iterable

GENERATE, READ, FILES, WEBHOOKS, KEYS = "generate", "read", "files", "webhooks", "keys"
ALL: tuple[str, ...] = (GENERATE, READ, FILES, WEBHOOKS, KEYS)
WEBHOOK_PATHS = ("/api/v1/webhooks", "/api/v1/webhook-events")
#: POSTs that only read (seed 004 retrieves tasks with a POST body; a price quote).
READING_POSTS = ("/seedance/tasks", "/api/v1/generations/quote")


class UnknownScope(ValueError):
    """A scope name that is not one of ``ALL``."""


def parse(names: Iterable[str]) -> frozenset[str]:
    """The scopes named (at least one, each one of ``ALL``)."""
    chosen = frozenset(n.strip().lower() for n in names if n.strip())
    unknown = sorted(chosen - set(ALL))
    if unknown or not chosen:
        got = ", ".join(unknown) if unknown else "none"
        raise UnknownScope(f"scopes must be some of {', '.join(ALL)} (got {got})")
    return chosen


def encode(scopes: frozenset[str]) -> str:
    """The stored form: names in ``ALL`` order, space-separated."""
    return " ".join(s for s in ALL if s in scopes)


def decode(stored: str | None) -> frozenset[str]:
    """A stored value; None (a key older than scopes) means every scope."""
    return frozenset(ALL) if stored is None else frozenset(stored.split())


def required(method: str, path: str) -> str:
    """The scope a request needs."""
    path = path.rstrip("/")
    if path.startswith(("/api/v1/keys", "/api/v1/admin")):
        return KEYS
    if path.startswith(WEBHOOK_PATHS) or path.endswith("/deliveries"):
        return WEBHOOKS
    if method in ("GET", "HEAD", "OPTIONS") or path in READING_POSTS:
        return READ
    if path.startswith("/api/v1/files"):
        return FILES
    return GENERATE
