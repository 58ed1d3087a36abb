"""Engines for SQLite (WAL, ``BEGIN IMMEDIATE`` for writes) and PostgreSQL; nothing at import.

SQLite needs care: the driver's default emits no ``BEGIN`` before reads (lost updates) and a
deferred ``BEGIN`` fails with "database is locked" when a reader upgrades to a writer. So write
transactions start with ``BEGIN IMMEDIATE`` on their own engine; reads use a second engine.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

#: What the write transaction running in this context does once it has committed.
_after_commit: ContextVar[list[Callable[[], None]] | None] = ContextVar(
    "seedance_after_commit", default=None
)


def after_commit(action: Callable[[], None]) -> None:
    """Runs ``action`` once the ``Database.write`` transaction running here has committed,
    never if it rolls back (so what it reports, e.g. a metric, has happened); outside one, now.
    """
    actions = _after_commit.get()
    if actions is None:
        action()
    else:
        actions.append(action)


class Database:
    """A write engine and a read engine over one database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        if self.is_sqlite:
            _ensure_parent(url)
            self._write_lock: asyncio.Lock | None = asyncio.Lock()
            self.writer = _sqlite_engine(url, begin="BEGIN IMMEDIATE")
            self.reader = _sqlite_engine(url, begin="BEGIN")
        else:
            self._write_lock = None
            self.writer = create_async_engine(
                url, pool_size=10, max_overflow=20, pool_pre_ping=True
            )
            self.reader = self.writer

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that may write; commits on success, rolls back on error, and then
        runs what ``after_commit`` deferred.

        On SQLite, writers of this process queue on a lock first: SQLite admits one writer at a
        time anyway, and queueing here beats its sleep-and-retry busy handler (p99 2 s -> 0.4 s
        under 16 concurrent creates, measured in bench/bench_api.py).
        """
        actions: list[Callable[[], None]] = []
        token = _after_commit.set(actions)
        try:
            async with self._begin_write() as conn:
                yield conn
        finally:
            _after_commit.reset(token)
        for action in actions:
            action()

    @asynccontextmanager
    async def _begin_write(self) -> AsyncIterator[AsyncConnection]:
        if self._write_lock is None:
            async with self.writer.begin() as conn:
                yield conn
            return
        async with self._write_lock, self.writer.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction."""
        async with self.reader.begin() as conn:
            yield conn

    async def dispose(self) -> None:
        """Closes every pooled connection."""
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


def _ensure_parent(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_engine(url: str, *, begin: str) -> AsyncEngine:
    engine = create_async_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_conn.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA busy_timeout=30000",
            "PRAGMA foreign_keys=ON",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    return engine
