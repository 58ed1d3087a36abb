"""Shared servers for the end-to-end tests, one of each kind per backend and session.

Starting a ``seedance serve`` process costs a couple of seconds, so tests that do not interfere
share servers (each test that counts credits or lists tasks makes its own key).
They are built the way ``tests/conftest.py`` builds its per-test servers: a fresh migrated
database (SQLite file, or a PostgreSQL clone of the migrated template) and a real process.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from ports import free_port
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
    with no_unhandled_errors(*(request.getfixturevalue(n) for n in names)):
        yield


@contextmanager
def no_unhandled_errors(*servers: Any) -> Iterator[None]:
    """Fails if one of ``servers`` logged an unhandled error (a 500) inside the block."""
    marks = [len(server.logs()) for server in servers]
    yield
    for server, mark in zip(servers, marks, strict=True):
        new = server.logs()[mark:]
        if "unhandled error" in new:
            pytest.fail(f"the server answered a request with a 500:\n{new[-4000:]}")


def launch(server: Any, *args: str) -> None:
    """Spawns ``seedance serve *args`` like ``Server.start`` without waiting until it is ready.

    Lets other processes (a worker, a second server) start meanwhile; call
    ``server.wait_ready()`` before using it.
    """
    server.port = server.port or free_port()
    server.process = server.spawn("serve", "--port", str(server.port), *args)


@dataclass(frozen=True)
class Spec:
    """One server of :func:`shared_many`.

    ``settings``: SEEDANCE_* overrides over :data:`SHARED_SETTINGS`; ``args``: of ``serve``;
    ``database``: servers naming the same one share a database (else each has its own);
    ``workers``: ``seedance worker`` processes started beside the server (see :func:`workers`).
    """

    settings: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    database: str = ""
    workers: int = 0


def shared_many(
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    *specs: Spec,
    env: dict[str, str] | None = None,
) -> Iterator[list[Any]]:
    """Servers for a module's fixture, one per :class:`Spec`, started at once.

    Each is built like ``_shared``'s (a fresh database, a rich key made before any server
    starts) and they start side by side: a start is a couple of seconds of one core (imports,
    the migration check), so on two cores several cost little more than one. Tests that share
    one make keys of their own; a test that kills or restarts one owns it. ``env``: more
    environment for every server (``AWS_*`` for an S3 blob store).
    """
    with ExitStack() as stack:
        servers: list[Any] = []
        databases: dict[str, str] = {}
        for spec in specs:
            url = databases.get(spec.database) if spec.database else None
            if url is None:
                url = stack.enter_context(_database(backend, request, tmp_path_factory))
                if spec.database:
                    databases[spec.database] = url
            merged = {**SHARED_SETTINGS, **spec.settings}
            server = make_server(tmp_path_factory.mktemp("shared"), url, **merged)
            server.env.update(env or {})
            server.key, server.account_id = server.create_key(1_000_000)
            servers.append(server)
        stack.callback(_stop_all, servers)  # first, before the databases go
        for server, spec in zip(servers, specs, strict=True):
            launch(server, *spec.args)
            for _ in range(spec.workers):
                server.spawn("worker")
        for server in servers:
            server.wait_ready()
        yield servers


def _stop_all(servers: list[Any]) -> None:
    """Stops ``servers`` side by side (each stop waits for its processes to shut down)."""
    with ThreadPoolExecutor(max_workers=len(servers) or 1) as pool:
        list(pool.map(lambda server: server.stop(), servers))


def workers(server: Any) -> list[subprocess.Popen[bytes]]:
    """The running ``seedance worker`` processes of ``server`` (``Server.spawn`` started)."""
    return [p for p in server.extra if p is not server.process and p.poll() is None]
