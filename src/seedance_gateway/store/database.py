"""Engines for SQLite (WAL, ``BEGIN IMMEDIATE`` for writes) and PostgreSQL; nothing at import.

SQLite needs care: the driver's default emits no ``BEGIN`` before reads (lost updates) and a
deferred ``BEGIN`` fails with "database is locked" when a reader upgrades to a writer. So write
transactions start with ``BEGIN IMMEDIATE`` on their own engine. Both reads and writes run on
the event loop's thread (see ``Database.read`` and ``Database.write``): an indexed statement
costs tens of microseconds there, where a thread hop per statement cost about a millisecond.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVarTuple, overload

import asyncpg
import orjson
import sqlalchemy as sa
from sqlalchemy import Select, event
from sqlalchemy.engine import CursorResult, Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ClauseElement

from seedance_gateway.store.kept import (
    KEPT_READ_CONNECTIONS,
    KEPT_WRITE_CONNECTIONS,
    KeptConnections,
)
from seedance_gateway.store.prepared import Rows, Statements, unnamed_rows

if TYPE_CHECKING:
    from sqlalchemy.sql.selectable import TypedReturnsRows
    from sqlalchemy.util.typing import TupleAny

_Ts = TypeVarTuple("_Ts")

#: A pooled PostgreSQL connection idle this long is pinged before use (a firewall may have
#: dropped it silently); a busy one is not.
PING_AFTER_IDLE_S = 10.0
#: How long a read on the event loop's thread may wait for a lock (WAL readers almost never do).
LOOP_READ_BUSY_MS = 5000
#: How long a SQLite write waits for another process's write lock (asleep, never blocking the
#: loop) before it fails with "database is locked".
WRITE_BUSY_S = 30.0
#: SQLite's WAL is copied back into the database file by a thread after this many commits
#: (never on the loop's thread, where its fsync could stall every request).
CHECKPOINT_EVERY = 500

log = logging.getLogger(__name__)

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
    """What the stores need of a connection: PostgreSQL's ``AsyncConnection``, or a SQLite
    transaction on the event loop's thread."""

    @property
    def dialect(self) -> Dialect:
        """The database's SQL dialect."""
        ...

    @overload
    async def execute(
        self, statement: TypedReturnsRows[*_Ts], parameters: Any = None, /
    ) -> CursorResult[*_Ts]: ...

    @overload
    async def execute(
        self, statement: Executable, parameters: Any = None, /
    ) -> CursorResult[*TupleAny]: ...

    async def execute(
        self, statement: Executable, parameters: Any = None, /
    ) -> CursorResult[*TupleAny]:
        """Runs one statement; read its rows before the transaction ends."""
        ...

    async def run(self, statement: ClauseElement, parameters: Mapping[str, Any], /) -> Rows:
        """Runs a hot statement built once (a module constant) prepared, on the driver itself
        (``store.prepared``): what ``execute`` does at a fraction of the CPU."""
        ...


class Database:
    """A write engine and a read engine over one database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        self._sqlite: _SqliteOnLoop | None = None
        self._postgres: AsyncEngine | None = None
        if self.is_sqlite:
            _ensure_parent(url)
            self._sqlite = _SqliteOnLoop(url)
        else:
            self._postgres = _postgres_engine(url)
            # Each statement of a READ COMMITTED transaction takes its own snapshot anyway, so
            # reads run without one: no BEGIN and COMMIT round trips. Writes begin and commit
            # on asyncpg itself, so that prepared statements run inside the same transaction.
            self._postgres_autocommit = self._postgres.execution_options(
                isolation_level="AUTOCOMMIT"
            )
            self._kept = KeptConnections(self._postgres_autocommit, KEPT_READ_CONNECTIONS)
            self._kept_writes = KeptConnections(
                self._postgres_autocommit, KEPT_WRITE_CONNECTIONS, overflow=True
            )
        self.statements = Statements(self.dialect)  #: prepared once per database

    @property
    def postgres(self) -> AsyncEngine:
        """The PostgreSQL engine (for what only PostgreSQL has, such as LISTEN)."""
        if self._postgres is None:
            raise RuntimeError("this database is SQLite")
        return self._postgres

    @asynccontextmanager
    async def write(self, *, one_statement: bool = False) -> AsyncIterator[Connection]:
        """A transaction that may write; commits on success, rolls back on error, and then
        runs what ``after_commit`` deferred.

        On SQLite it runs on the event loop's thread, and writers of this process queue on a
        lock first: SQLite admits one writer at a time anyway, and queueing here beats its
        sleep-and-retry busy handler (p99 2 s -> 0.4 s under 16 concurrent creates, measured
        in bench/bench_api.py). Another process's write lock is waited for asleep.

        With ``one_statement`` the caller sends one statement on PostgreSQL, atomic by itself:
        it runs without ``BEGIN`` and ``COMMIT``, two round trips fewer, and a second statement
        is refused. SQLite ignores it.
        """
        actions: list[Callable[[], None]] = []
        token = _after_commit.set(actions)
        try:
            if self._sqlite is not None:
                async with self._sqlite.write(self.statements) as loop_conn:
                    yield loop_conn
            else:
                async with self._postgres_transaction(one_statement) as conn:
                    yield conn
        finally:
            _after_commit.reset(token)
        for action in actions:
            action()

    @asynccontextmanager
    async def _postgres_transaction(self, one_statement: bool) -> AsyncIterator[Connection]:
        """A transaction begun and ended on asyncpg, on a connection this process keeps for
        writes (``store.kept``), or, for ``one_statement``, that statement alone. SQLAlchemy's
        pool does not know of the transaction, so a connection whose ``COMMIT`` or ``ROLLBACK``
        was cut short (a cancellation, a dropped socket) is closed rather than kept or pooled:
        an open transaction there would hold its locks."""
        async with self._kept_writes.lease() as kept:
            if one_statement:
                yield _OnPostgres(kept.connection, kept.driver, self.statements, statements_left=1)
                return
            async with kept.driver.transaction():
                yield _OnPostgres(kept.connection, kept.driver, self.statements)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Connection]:
        """A read: one transaction on SQLite; on PostgreSQL each statement on its own (as in a
        READ COMMITTED transaction).

        On SQLite it runs on the event loop's own thread: in WAL mode a reader never waits for a
        writer, and an indexed read costs tens of microseconds there, where handing each
        statement to aiosqlite's thread and back cost about a millisecond of CPU under load
        (measured for issue 19). So keep reads indexed: a slow one holds up the whole loop.
        """
        if self._sqlite is not None:
            with self._sqlite.reader.begin() as conn:
                yield _OnLoop(conn, self.statements)
            return
        async with self._postgres_autocommit.connect() as conn:
            yield _OnPostgres(conn, None, self.statements)

    async def read_one(
        self, statement: Select[Any], parameters: Mapping[str, Any]
    ) -> Mapping[str, Any] | None:
        """The first row of a hot single-statement read, by column name, or None: as
        ``read`` would return it, at a fraction of the CPU. The statement is compiled once
        (``store.prepared``) and runs on the driver itself: on SQLite on the loop's own
        connection, as its own implicit transaction; on PostgreSQL on one of the connections
        the process keeps for these reads (``store.kept``).
        """
        prepared = self.statements.get(statement, parameters)
        arguments = prepared.arguments(parameters)
        if self._sqlite is not None:
            row = self._sqlite.fetch_one(prepared.sql, arguments)
        else:
            row = await self._kept.fetch_one(prepared.sql, arguments)
        return None if row is None else prepared.mapping(row)

    @property
    def dialect(self) -> Dialect:
        """The database's SQL dialect."""
        if self._sqlite is not None:
            return self._sqlite.reader.dialect
        return self.postgres.dialect

    async def dispose(self) -> None:
        """Closes every pooled connection."""
        if self._sqlite is not None:
            await self._sqlite.dispose()
        if self._postgres is not None:
            await self._kept.close()
            await self._kept_writes.close()
            await self._postgres.dispose()


class _SqliteOnLoop:
    """SQLite's reads and writes on the event loop's thread (plain ``sqlite3`` engines).

    A write takes this process's writer lock, then ``BEGIN IMMEDIATE`` without a busy
    timeout: when another process holds SQLite's write lock, it sleeps (1 ms, doubling to
    50 ms) and tries again, for up to ``WRITE_BUSY_S``, so the loop never blocks on it.
    Automatic checkpoints are off on the writer's connection; a thread runs one every
    ``CHECKPOINT_EVERY`` commits instead.
    """

    def __init__(self, url: str) -> None:
        self.reader = _sqlite_loop_engine(url, begin="BEGIN", busy_ms=LOOP_READ_BUSY_MS)
        self.writer = _sqlite_loop_engine(
            url, begin="BEGIN IMMEDIATE", busy_ms=0, autocheckpoint=False
        )
        self.lock = asyncio.Lock()
        self.commits = 0
        self.checkpoint: asyncio.Task[None] | None = None
        self._loop_reader: PoolProxiedConnection | None = None  #: ``fetch_one``'s, kept
        self._kept_writer: sa.Connection | None = None  #: ``write``'s, kept

    def fetch_one(self, sql: str, arguments: tuple[Any, ...]) -> Any:
        """The first row of one statement, on a connection this process keeps for them (in
        autocommit mode, so the statement is its own transaction and holds no snapshot after).
        """
        if self._loop_reader is None:
            self._loop_reader = self.reader.raw_connection()
        sqlite: Any = self._loop_reader.driver_connection
        cursor = sqlite.execute(sql, arguments)
        try:
            return cursor.fetchone()
        finally:
            cursor.close()  # ends the statement, and with it the read's snapshot

    @asynccontextmanager
    async def write(self, statements: Statements) -> AsyncIterator[Connection]:
        async with self.lock:
            conn, transaction = await self._begin()
            try:
                yield _OnLoop(conn, statements)
            except BaseException:
                transaction.rollback()
                raise
            else:
                transaction.commit()
            finally:
                if conn.invalidated or _driver_in_transaction(conn):  # COMMIT/ROLLBACK failed
                    self._drop_writer()
            self._committed()

    async def _begin(self) -> tuple[sa.Connection, sa.RootTransaction]:
        deadline = time.monotonic() + WRITE_BUSY_S
        pause = 0.001
        while True:
            conn = self._writer_connection()
            try:
                return conn, conn.begin()
            except sa.exc.OperationalError as exc:
                self._drop_writer()
                if not _is_busy(exc) or time.monotonic() + pause > deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)

    def _writer_connection(self) -> sa.Connection:
        """The connection writes use, kept from one transaction to the next (a checkout and
        a return to the pool per write had cost a create about 30 µs)."""
        if self._kept_writer is None:
            self._kept_writer = self.writer.connect()
        return self._kept_writer

    def _drop_writer(self) -> None:
        """Discards the kept write connection: closed for good, not returned to the pool,
        where a transaction a refused ``COMMIT`` left open would have stayed open."""
        if self._kept_writer is not None:
            self._kept_writer.invalidate()
            self._kept_writer.close()
            self._kept_writer = None

    def _committed(self) -> None:
        self.commits += 1
        if self.commits % CHECKPOINT_EVERY == 0 and (
            self.checkpoint is None or self.checkpoint.done()
        ):
            self.checkpoint = asyncio.create_task(asyncio.to_thread(self._checkpoint))

    def _checkpoint(self) -> None:
        """Copies the WAL back into the database file (PASSIVE: it waits for nobody)."""
        try:
            with self.reader.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception:
            log.warning("SQLite checkpoint failed; the next one tries again", exc_info=True)

    async def dispose(self) -> None:
        if self.checkpoint is not None:
            await self.checkpoint
        if self._loop_reader is not None:
            self._loop_reader.close()
            self._loop_reader = None
        self._drop_writer()
        self.writer.dispose()
        self.reader.dispose()


def _driver_in_transaction(conn: sa.Connection) -> bool:
    """Whether sqlite3 itself still holds a transaction open (after a refused ``COMMIT``,
    SQLAlchemy's transaction has ended but SQLite's has not)."""
    driver: Any = conn.connection.driver_connection
    return bool(driver.in_transaction)


def _is_busy(exc: sa.exc.OperationalError) -> bool:
    return isinstance(exc.orig, sqlite3.OperationalError) and "locked" in str(exc.orig)


class _OnLoop:
    """A SQLite transaction's connection, run synchronously on the event loop's thread."""

    __slots__ = ("_conn", "_driver", "_statements")

    def __init__(self, conn: sa.Connection, statements: Statements) -> None:
        self._conn = conn
        self._driver: Any = conn.connection.driver_connection  #: sqlite3's, for ``run``
        self._statements = statements

    @property
    def dialect(self) -> Dialect:
        return self._conn.dialect

    async def execute(
        self, statement: Executable, parameters: Any = None, /
    ) -> CursorResult[*TupleAny]:
        return self._conn.execute(statement, parameters)

    async def run(self, statement: ClauseElement, parameters: Mapping[str, Any], /) -> Rows:
        prepared = self._statements.get(statement, parameters)
        arguments = prepared.arguments(parameters)
        try:
            cursor = self._driver.execute(prepared.sql, arguments)
        except sqlite3.Error as exc:
            raise sa.exc.DBAPIError.instance(prepared.sql, arguments, exc, sqlite3.Error) from exc
        try:
            if not prepared.columns and cursor.description is not None:
                raise unnamed_rows(prepared)
            rows = [prepared.mapping(row) for row in cursor.fetchall()] if prepared.columns else []
            return Rows(rows, cursor.rowcount)
        finally:
            cursor.close()


class _OnPostgres:
    """A PostgreSQL transaction begun on asyncpg: statements through SQLAlchemy (whose
    connection is in autocommit mode, so it begins nothing) or prepared, on asyncpg itself.
    Outside a transaction, ``statements`` bounds how many it runs (each commits by itself)."""

    __slots__ = ("_conn", "_driver", "_left", "_statements")

    def __init__(
        self,
        conn: AsyncConnection,
        driver: Any | None,
        statements: Statements,
        *,
        statements_left: int | None = None,
    ) -> None:
        self._conn = conn
        self._driver = driver
        self._statements = statements
        self._left = statements_left

    @property
    def dialect(self) -> Dialect:
        return self._conn.dialect

    def _count(self) -> None:
        if self._left is None:
            return
        if self._left <= 0:
            raise RuntimeError("a one-statement write sent a second statement")
        self._left -= 1

    async def execute(
        self, statement: Executable, parameters: Any = None, /
    ) -> CursorResult[*TupleAny]:
        self._count()
        return await self._conn.execute(statement, parameters)

    async def run(self, statement: ClauseElement, parameters: Mapping[str, Any], /) -> Rows:
        self._count()
        prepared = self._statements.get(statement, parameters)
        arguments = prepared.arguments(parameters)
        if self._driver is None:  # a read: its connection is fetched on first use
            self._driver = await _driver(self._conn)
        try:
            if not prepared.columns and prepared.is_dml:
                status = await self._driver.execute(prepared.sql, *arguments)
                return Rows([], _rowcount(status))
            records = await self._driver.fetch(prepared.sql, *arguments)
        except asyncpg.PostgresError as exc:
            raise _postgres_error(prepared.sql, arguments, exc) from exc
        if records and not prepared.columns:
            raise unnamed_rows(prepared)
        return Rows([prepared.mapping(record) for record in records], len(records))


async def _driver(conn: AsyncConnection) -> Any:
    """The asyncpg connection under ``conn``."""
    return (await conn.get_raw_connection()).driver_connection


def _rowcount(status: str) -> int:
    """The rows a command changed, from its status (``INSERT 0 1``, ``UPDATE 3``)."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


def _postgres_error(sql: str, arguments: Any, exc: asyncpg.PostgresError) -> sa.exc.DBAPIError:
    """asyncpg's error as SQLAlchemy raises it (an ``IntegrityError`` for a constraint)."""
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return sa.exc.IntegrityError(sql, arguments, exc)
    return sa.exc.DBAPIError(sql, arguments, exc)


def _json_loads(text: str | bytes) -> Any:
    """A JSON column's value: by orjson (a task row's JSON columns were a tenth of a status
    read's CPU through ``json.loads``), or by ``json`` for text orjson refuses."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _json_dumps(value: Any) -> str:
    """A JSON column's text: by orjson (four documents a create), or by ``json`` for what orjson
    refuses (an integer past 64 bits)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value)


def _ensure_parent(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _postgres_engine(url: str) -> AsyncEngine:
    """PostgreSQL through asyncpg; a pooled connection is pinged before use only when it sat
    idle for ``PING_AFTER_IDLE_S`` (a busy pool pays no round trip per checkout, as
    ``pool_pre_ping`` would), and one whose socket closed is replaced without a round trip."""
    # 16: room for the connections kept (``store.kept``) besides those checked out per use.
    engine = create_async_engine(
        url,
        pool_size=16,
        max_overflow=14,
        json_serializer=_json_dumps,
        json_deserializer=_json_loads,
    )

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


def _sqlite_loop_engine(
    url: str, *, begin: str, busy_ms: int, autocheckpoint: bool = True
) -> sa.Engine:
    """A plain ``sqlite3`` engine for the loop's thread. Its pool never makes a caller wait
    (``max_overflow=-1``): a wait would block the loop that must free a connection."""
    sync_url = make_url(url).set(drivername="sqlite")
    engine = sa.create_engine(
        sync_url,
        poolclass=sa.QueuePool,
        pool_size=4,
        max_overflow=-1,
        connect_args={"timeout": busy_ms / 1000, "check_same_thread": False},
        json_serializer=_json_dumps,
        json_deserializer=_json_loads,
    )
    _configure_sqlite(engine, begin=begin, busy_ms=busy_ms, autocheckpoint=autocheckpoint)
    return engine


def _configure_sqlite(engine: sa.Engine, *, begin: str, busy_ms: int, autocheckpoint: bool) -> None:
    """WAL, foreign keys and our own ``BEGIN`` on every connection of ``engine``."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_conn.cursor()
        pragmas = [
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            f"PRAGMA busy_timeout={busy_ms}",
            "PRAGMA foreign_keys=ON",
        ]
        if not autocheckpoint:
            pragmas.append("PRAGMA wal_autocheckpoint=0")
        for pragma in pragmas:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)
