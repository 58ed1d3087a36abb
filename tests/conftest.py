"""Shared fixtures: real databases (SQLite and PostgreSQL) and real server processes.

``backend`` is parametrized over ``sqlite`` and ``postgres``, so every test that touches a
database runs on both. PostgreSQL tests each get a fresh database cloned from a migrated
template (``CREATE DATABASE ... TEMPLATE``), so they are isolated and cheap.
Set ``SEEDANCE_TEST_BACKENDS=sqlite`` to run only one backend while developing.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from ports import free_port
from seedance_gateway import bootstrap, config
from seedance_gateway.blobs.filesystem import FilesystemBlobStore
from seedance_gateway.blobs.s3 import S3BlobStore
from seedance_gateway.store import Store, migrate

PG_ADMIN_URL = os.environ.get("SEEDANCE_TEST_PG", "postgresql://127.0.0.1:5432/test")
BACKENDS = os.environ.get("SEEDANCE_TEST_BACKENDS", "sqlite,postgres").split(",")
TEMPLATE = f"sdg_test_template_{os.getpid()}"
#: The signing secret of every test server (a split deployment on PostgreSQL requires one).
TEST_SECRET = "test-secret-not-for-production"


#: The S3 server of the tests: SeaweedFS, which scripts/services starts on 127.0.0.1:9354.
S3_ENV = {
    "AWS_ENDPOINT_URL": os.environ.get("SEEDANCE_TEST_S3_ENDPOINT", "http://127.0.0.1:9354"),
    "AWS_ACCESS_KEY_ID": os.environ.get("SEEDANCE_TEST_S3_KEY", "seedance"),
    "AWS_SECRET_ACCESS_KEY": os.environ.get("SEEDANCE_TEST_S3_SECRET", "seedance-secret"),
    "AWS_REGION": "us-east-1",
}
S3_BUCKET = os.environ.get("SEEDANCE_TEST_S3_BUCKET", "seedance-test")


def s3_blobs(name: str = "t") -> str:
    """A ``SEEDANCE_BLOBS`` URL with a fresh prefix in the test bucket (runs never meet)."""
    return f"s3://{S3_BUCKET}/{name}-{secrets.token_hex(6)}"


def _pg(sql: str) -> None:
    """Runs admin SQL on the ``test`` database with psql (autocommit)."""
    subprocess.run(
        ["psql", PG_ADMIN_URL, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
        check=True,
        capture_output=True,
    )


def _pg_url(name: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)


@pytest.fixture(scope="session")
def s3_env() -> dict[str, str]:
    """The ``AWS_*`` variables that reach the test S3 server."""
    return dict(S3_ENV)


@pytest.fixture
def s3_url() -> str:
    """A ``SEEDANCE_BLOBS`` URL with a fresh prefix in the test bucket."""
    return s3_blobs()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated template database, built once per session."""
    _pg(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
    _pg(f"CREATE DATABASE {TEMPLATE}")
    asyncio.run(migrate.upgrade(_pg_url(TEMPLATE)))
    yield TEMPLATE
    _pg(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database URL on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "seedance.db"
        asyncio.run(migrate.upgrade(f"sqlite+aiosqlite:///{path}"))
        yield f"sqlite+aiosqlite:///{path}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"sdg_test_{secrets.token_hex(6)}"
    _pg(f"CREATE DATABASE {name} TEMPLATE {template}")
    try:
        yield _pg_url(name)
    finally:
        _pg(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """The stores over a fresh database."""
    opened = Store.open(database_url)
    yield opened
    await opened.close()


@dataclass
class Server:
    """A real ``seedance`` server process on a free port, with an API key."""

    home: Path
    env: dict[str, str]
    port: int = 0
    key: str = ""
    account_id: str = ""
    process: subprocess.Popen[bytes] | None = None
    extra: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> str:
        """Runs ``seedance <args>`` against this server's home and database."""
        done = subprocess.run(
            [sys.executable, "-m", "seedance_gateway", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        return done.stdout

    def create_key(
        self,
        credits: int,
        name: str = "test",
        role: str = "user",
        expires_at: datetime | None = None,
    ) -> tuple[str, str]:
        """A new key on a new account (``role``: user or admin); returns (key, account id).

        Made in this process by what ``seedance keys create`` runs (``bootstrap.create_key``):
        a CLI process costs about two seconds, and ``tests/e2e/test_cli.py`` covers the CLI.
        """
        made = asyncio.run(_new_key(self.env, name, credits, role, expires_at))
        return made.plaintext, made.key.account_id

    def start(self, *extra_args: str) -> None:
        """Starts ``seedance serve`` (on its port, if it has one) and waits until it is ready."""
        self.port = self.port or free_port()
        self.process = self.spawn("serve", "--port", str(self.port), *extra_args)
        self.wait_ready()

    def spawn(self, *args: str, settings: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Starts another ``seedance`` process (e.g. a worker) in its own process group;
        ``settings`` are SEEDANCE_* overrides for it alone."""
        overrides = {f"SEEDANCE_{k.upper()}": v for k, v in (settings or {}).items()}
        with open(self.home / f"{args[0]}-{len(self.extra)}.log", "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "seedance_gateway", *args],
                env={**self.env, **overrides},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.extra.append(process)
        return process

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.logs()}")
            time.sleep(0.2)
        raise RuntimeError(f"server not ready: {self.logs()}")

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.home.glob("*.log")))

    def blob_size(self, key: str) -> int | None:
        """The size of the blob under ``key`` in this server's store (None if absent)."""
        settings = config.from_env(self.env)
        blobs = (
            S3BlobStore(settings.blobs, self.env)
            if settings.blobs
            else FilesystemBlobStore(settings.home / "blobs")
        )
        return asyncio.run(blobs.size(key))

    def client(self, key: str | None = None) -> httpx.Client:
        """An HTTP client authenticated with ``key`` (default: the server's key)."""
        token = self.key if key is None else key
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def stop(self) -> None:
        for process in self.extra:
            if process.poll() is None:
                process.terminate()
        for process in self.extra:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait()


async def _new_key(
    env: dict[str, str], name: str, credits: int, role: str, expires_at: datetime | None
) -> bootstrap.NewKey:
    store = await bootstrap.open_store(config.from_env(env))  # migrates first, as the CLI does
    try:
        return await bootstrap.create_key(
            store, name=name, credits=credits, role=role, expires_at=expires_at
        )
    finally:
        await store.close()


def make_server(tmp_path: Path, database_url: str, **settings: str) -> Server:
    """A configured, not yet started server (settings are SEEDANCE_* overrides)."""
    home = tmp_path / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEEDANCE_")}
    env.update(
        {
            "SEEDANCE_HOME": str(home),
            "SEEDANCE_DATABASE_URL": database_url,
            "SEEDANCE_RENDER_PROCESSES": "1",
            "SEEDANCE_SECRET": TEST_SECRET,  # servers on one database share it, as deployed
            "SEEDANCE_POLL_SECONDS": "0.5",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update({f"SEEDANCE_{k.upper()}": v for k, v in settings.items()})
    return Server(home=home, env=env)


@pytest.fixture
def server_factory(tmp_path: Path, database_url: str) -> Iterator[object]:
    """Builds servers with custom settings: ``server_factory(rate_limit="5/minute")``."""
    servers: list[Server] = []

    def build(start: bool = True, credits: int = 10_000, **settings: str) -> Server:
        server = make_server(tmp_path / f"s{len(servers)}", database_url, **settings)
        server.key, server.account_id = server.create_key(credits)
        servers.append(server)
        if start:
            server.start()
        return server

    yield build
    for server in servers:
        server.stop()


@pytest.fixture
def server(server_factory: object) -> Server:
    """A running server with a key holding 10 000 credits."""
    return server_factory()  # type: ignore[operator, no-any-return]


def wait_for_status(
    client: httpx.Client, task_id: str, statuses: set[str], timeout: float = 120
) -> dict[str, object]:
    """Polls ``GET /api/v1/generations/{id}`` until the status is one of ``statuses``."""
    deadline = time.monotonic() + timeout
    body: dict[str, object] = {}
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/generations/{task_id}").json()
        if body.get("status") in statuses:
            return body
        time.sleep(0.3)
    raise AssertionError(f"task {task_id} stuck: {body}")
