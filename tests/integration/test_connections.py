"""Pooled connections: PostgreSQL's are not pinged on every checkout (issue 19), so a connection
the server closed must still be replaced before a read or a write uses it."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
from integration_support import open_account

from conftest import BACKENDS, _pg, _pg_url
from seedance_gateway.store import Store

pytestmark = pytest.mark.skipif("postgres" not in BACKENDS, reason="needs PostgreSQL")


@pytest.fixture
async def pg_store(pg_template: str) -> AsyncIterator[tuple[Store, str]]:
    """Stores over a fresh PostgreSQL database, and its name."""
    name = f"sdg_test_{secrets.token_hex(6)}"
    _pg(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    store = Store.open(_pg_url(name))
    try:
        yield store, name
    finally:
        await store.close()
        _pg(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def test_connections_the_server_closed_are_replaced_before_use(
    pg_store: tuple[Store, str],
) -> None:
    store, name = pg_store
    owner = await open_account(store, 100)
    await asyncio.gather(*(store.accounts.balance(owner.account_id) for _ in range(5)))
    _pg(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    )
    await asyncio.sleep(0.2)  # the pooled connections see their sockets close
    for _ in range(5):
        assert await store.accounts.balance(owner.account_id) == 100
    assert await store.accounts.grant(owner.account_id, 5) == 105
