"""Each API process keeps the keys it reads (``SEEDANCE_KEY_CACHE_SECONDS``): what changes must
still be seen, and how soon, across two ``seedance serve`` processes on one database.

Process ``quick`` trusts a key for 1 s, process ``slow`` for 10 minutes, so each bound is
visible: a revocation through a process is seen by its next request, and by another process
within that process's bound; expiry is checked on every request, cached or not; a balance is
never cached. A key's scopes are fixed when it is made, so no change of scope can go stale.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from .conftest import SHARED_SETTINGS, _database
from .support import BACKENDS, credits, error_message, make_server

QUICK_TTL = 1.0


@dataclass
class Pair:
    quick: Any  #: trusts a key it read for QUICK_TTL seconds
    slow: Any  #: trusts a key it read for ten minutes


@pytest.fixture(scope="module", params=BACKENDS)
def pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pair]:
    with _database(request.param, request, tmp_path_factory) as url:
        servers = [
            make_server(
                tmp_path_factory.mktemp(name), url, **SHARED_SETTINGS, key_cache_seconds=ttl
            )
            for name, ttl in (("quick", str(QUICK_TTL)), ("slow", "600"))
        ]
        try:
            for server in servers:
                server.start("--no-worker")
            yield Pair(*servers)
        finally:
            for server in servers:
                server.stop()


def status(server: Any, key: str, path: str = "/api/v1/credits") -> int:
    with server.client(key) as client:
        return client.get(path).status_code


def test_a_revoked_key_is_refused_at_once_where_revoked_and_within_the_bound_elsewhere(
    pair: Pair,
) -> None:
    owner, _ = pair.slow.create_key(10)
    with pair.slow.client(owner) as client:
        made = client.post("/api/v1/keys", json={"name": "soon revoked"}).json()
    assert status(pair.slow, made["key"]) == 200  # both processes now hold the key
    assert status(pair.quick, made["key"]) == 200
    with pair.slow.client(owner) as client:
        assert client.post(f"/api/v1/keys/{made['id']}/revoke").status_code == 200
    revoked_at = time.monotonic()
    with pair.slow.client(made["key"]) as client:  # the revoking process: its next request
        error_message(client.get("/api/v1/credits"), 401, "api_key_revoked")
    while status(pair.quick, made["key"]) == 200:  # the other: within its bound
        assert time.monotonic() - revoked_at < QUICK_TTL + 1.0, "still accepted past the bound"
        time.sleep(0.05)
    with pair.quick.client(made["key"]) as client:
        error_message(client.get("/api/v1/credits"), 401, "api_key_revoked")
    assert status(pair.quick, owner) == 200  # the account's other key is untouched


def test_a_cached_key_is_refused_the_moment_it_expires(pair: Pair) -> None:
    expires = datetime.now(UTC) + timedelta(seconds=2)
    key, _ = pair.slow.create_key(10, "short", expires_at=expires)
    assert status(pair.slow, key) == 200  # held for ten minutes from here
    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.1)
    with pair.slow.client(key) as client:
        message = error_message(client.get("/api/v1/credits"), 401, "api_key_expired")
    assert "sign in again" in message


def test_a_balance_changed_by_another_process_is_seen_by_the_next_request(pair: Pair) -> None:
    key, account_id = pair.slow.create_key(10)
    with pair.slow.client(key) as client:
        assert credits(client) == 10
        pair.quick.cli("credits", "grant", account_id, "32")  # a CLI process writes it
        assert credits(client) == 42
