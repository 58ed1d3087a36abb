"""Engines for SQLite (WAL, ``BEGIN IMMEDIATE`` for writes) and PostgreSQL; nothing at import.

SQLite needs care: the driver's default emits no ``BEGIN`` before reads (lost updates) and a
deferred ``BEGIN`` fails with "database is locked" when a reader upgrades to a writer. So write
transactions start with ``BEGIN IMMEDIATE`` on their own engine; reads use a second engine,
which runs on the event loop's thread (see ``Database.read``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVarTuple, overload

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Dialect, Result, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.base import Executable

if TYPE_CHECKING:
    from sqlalchemy.sql.selectable import TypedReturnsRows
    from sqlalchemy.util.typing import TupleAny

_Ts = TypeVarTuple("_Ts")

#: A pooled PostgreSQL connection idle this long is pinged before use (a firewall may have
#: dropped it silently); a busy one is not.
PING_AFTER_IDLE_S = 10.0
#: How long a read on the event loop's thread may wait for a lock (WAL readers almost never do).
LOOP_READ_BUSY_MS = 5000

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


class Connection(Protocol):
    """What the stores need of a connection: a write transaction's ``AsyncConnection``, or a
    read on the event loop's thread."""

    @property
    def dialect(self) -> Dialect:
        """The database's SQL dialect."""
        ...

    @overload
    async def execute(
        self, statement: TypedReturnsRows[*_Ts], parameters: Any = None, /
    ) -> Result[*_Ts]: ...

    @overload
    async def execute(
        self, statement: Executable, parameters: Any = None, /
    ) -> Result[*TupleAny]: ...

    async def execute(self, statement: Executable, parameters: Any = None, /) -> Result[*TupleAny]:
        """Runs one statement; read its rows before the transaction ends."""
        ...


class Database:
    """A write engine and a read engine over one database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        if self.is_sqlite:
            _ensure_parent(url)
            self._write_lock: asyncio.Lock | None = asyncio.Lock()
            self.writer = _sqlite_engine(url, begin="BEGIN IMMEDIATE")
            self.reader = self.writer
            self._loop_reader: sa.Engine | None = _sqlite_loop_engine(url)
        else:
            self._loop_reader = None
            self._write_lock = None
            self.writer = _postgres_engine(url)
            # Each statement of a READ COMMITTED transaction takes its own snapshot anyway, so
            # reads run without one: no BEGIN and COMMIT round trips.
            self.reader = self.writer.execution_options(isolation_level="AUTOCOMMIT")

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
    async def read(self) -> AsyncIterator[Connection]:
        """A read: one transaction on SQLite; on PostgreSQL each statement on its own (as in a
        READ COMMITTED transaction).

        On SQLite it runs on the event loop's own thread: in WAL mode a reader never waits for a
        writer, and an indexed read costs tens of microseconds there, where handing each
        statement to aiosqlite's thread and back cost about a millisecond of CPU under load
        (measured for issue 19). So keep reads indexed: a slow one holds up the whole loop.
        """
        if self._loop_reader is None:
            async with self.reader.connect() as conn:
                yield conn
            return
        with self._loop_reader.begin() as conn:
            yield _OnLoop(conn)

    async def dispose(self) -> None:
        """Closes every pooled connection."""
        await self.writer.dispose()
        if self._loop_reader is not None:
            self._loop_reader.dispose()


class _OnLoop:
    """A read transaction's connection, run synchronously on the event loop's thread."""

    __slots__ = ("_conn",)

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    @property
    def dialect(self) -> Dialect:
        return self._conn.dialect

    @overload
    async def execute(
        self, statement: TypedReturnsRows[*_Ts], parameters: Any = None, /
    ) -> Result[*_Ts]: ...

    @overload
    async def execute(
        self, statement: Executable, parameters: Any = None, /
    ) -> Result[*TupleAny]: ...

    async def execute(self, statement: Executable, parameters: Any = None, /) -> Result[*TupleAny]:
        return self._conn.execute(statement, parameters)


def _ensure_parent(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _postgres_engine(url: str) -> AsyncEngine:
    """PostgreSQL through asyncpg; a pooled connection is pinged before use only when it sat
    idle for ``PING_AFTER_IDLE_S`` (a busy pool pays no round trip per checkout, as
    ``pool_pre_ping`` would), and one whose socket closed is replaced without a round trip."""
    engine = create_async_engine(url, pool_size=10, max_overflow=20)

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if dbapi_conn._connection.is_closed():
            raise sa.exc.DisconnectionError("the connection was closed")
        if time.monotonic() - record.info.get("idle_since", 0.0) > PING_AFTER_IDLE_S:
            try:
                dbapi_conn.ping()
            except Exception as exc:
                raise sa.exc.DisconnectionError(f"the ping failed: {exc}") from exc

    return engine


def _sqlite_engine(url: str, *, begin: str) -> AsyncEngine:
    engine = create_async_engine(url, connect_args={"timeout": 30})
    _configure_sqlite(engine.sync_engine, begin=begin, busy_ms=30000)
    return engine


def _sqlite_loop_engine(url: str) -> sa.Engine:
    """The plain ``sqlite3`` engine for reads on the loop's thread. Its pool never makes a caller
    wait (``max_overflow=-1``): a wait would block the loop that must free a connection."""
    sync_url = make_url(url).set(drivername="sqlite")
    engine = sa.create_engine(
        sync_url,
        poolclass=sa.QueuePool,
        pool_size=4,
        max_overflow=-1,
        connect_args={"timeout": LOOP_READ_BUSY_MS / 1000, "check_same_thread": False},
    )
    _configure_sqlite(engine, begin="BEGIN", busy_ms=LOOP_READ_BUSY_MS)
    return engine


def _configure_sqlite(engine: sa.Engine, *, begin: str, busy_ms: int) -> None:
    """WAL, foreign keys and our own ``BEGIN`` on every connection of ``engine``."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_conn.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            f"PRAGMA busy_timeout={busy_ms}",
            "PRAGMA foreign_keys=ON",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)
