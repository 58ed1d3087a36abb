"""Shared servers for the end-to-end tests, one of each kind per backend and session.

Starting a ``seedance serve`` process costs a couple of seconds, so tests that do not interfere
share servers (each test that counts credits or lists tasks makes its own key).
They are built the way ``tests/conftest.py`` builds its per-test servers: a fresh migrated
database (SQLite file, or a PostgreSQL clone of the migrated template) and a real process.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from seedance_gateway.store import migrate

from .support import BACKENDS, make_server, pg_admin, pg_url

#: Shared servers must not rate-limit the many requests of a whole session.
SHARED_SETTINGS = {"rate_limit": "100000/minute", "max_in_flight": "1000"}


@pytest.fixture(scope="session", params=BACKENDS)
def shared_backend(request: pytest.FixtureRequest) -> str:
    """The backend of the shared servers."""
    backend: str = request.param
    return backend


@contextmanager
def _database(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh, migrated database on ``backend``."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("db") / "seedance.db"
        url = f"sqlite+aiosqlite:///{path}"
        asyncio.run(migrate.upgrade(url))
        yield url
        return
    template = request.getfixturevalue("pg_template")
    name = f"sdg_e2e_{secrets.token_hex(6)}"
    pg_admin(f"CREATE DATABASE {name} TEMPLATE {template}")
    try:
        yield pg_url(name)
    finally:
        pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _shared(
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    *args: str,
) -> Iterator[Any]:
    with _database(backend, request, tmp_path_factory) as url:
        server = make_server(tmp_path_factory.mktemp("shared"), url, **SHARED_SETTINGS)
        server.key, server.account_id = server.create_key(1_000_000)
        server.start(*args)
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="session")
def shared_server(
    shared_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """One running server (API and worker) per backend, with a rich key."""
    yield from _shared(shared_backend, request, tmp_path_factory)


@pytest.fixture(scope="session")
def queue_server(
    shared_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """One ``serve --no-worker`` server per backend (own database): tasks stay queued."""
    yield from _shared(shared_backend, request, tmp_path_factory, "--no-worker")


@pytest.fixture(autouse=True)
def _no_unhandled_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fails the test during which a shared server logged an unhandled error (a 500)."""
    names = [n for n in ("shared_server", "queue_server") if n in request.fixturenames]
    servers = [request.getfixturevalue(n) for n in names]
    marks = [len(server.logs()) for server in servers]
    yield
    for server, mark in zip(servers, marks, strict=True):
        new = server.logs()[mark:]
        if "unhandled error" in new:
            pytest.fail(f"the server answered a request with a 500:\n{new[-4000:]}")
