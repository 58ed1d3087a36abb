"""``KeptConnections``: a few PostgreSQL connections a process keeps for its prepared reads."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

#: Connections each process keeps for ``Database.read_one`` on PostgreSQL (out of its pool).
KEPT_CONNECTIONS = 4


class KeptConnections:
    """Connections checked out of ``engine``'s pool once and kept, each used by one statement at
    a time on asyncpg directly. A statement on a kept connection cost about 50 µs of CPU, where
    checking a connection out of SQLAlchemy's pool and back in cost 130 µs more (measured for
    issue 19). Each is opened on first use; one the server closed is replaced before use, and
    one whose statement failed (or was cancelled) is dropped, since its state is unknown.
    """

    def __init__(self, engine: AsyncEngine, size: int = KEPT_CONNECTIONS) -> None:
        self.engine = engine
        #: Last in, first out: the connection just used is used again, and another is opened
        #: only when every open one is busy.
        self._idle: asyncio.LifoQueue[_Kept | None] = asyncio.LifoQueue()
        for _ in range(size):
            self._idle.put_nowait(None)  # a connection not opened yet

    async def fetch_one(self, sql: str, arguments: tuple[Any, ...]) -> Any:
        """The first row of one statement (asyncpg's ``Record``), or None."""
        kept = await self._take()
        try:
            row = await kept.driver.fetchrow(sql, *arguments)
        except BaseException:
            self._idle.put_nowait(None)
            await _drop(kept)
            raise
        self._idle.put_nowait(kept)
        return row

    async def _take(self) -> _Kept:
        kept = await self._idle.get()
        if kept is not None and kept.driver.is_closed():
            await _drop(kept)
            kept = None
        if kept is None:
            try:
                kept = await _Kept.open(self.engine)
            except BaseException:
                self._idle.put_nowait(None)
                raise
        return kept

    async def close(self) -> None:
        """Returns the idle connections to the pool (call before disposing of it)."""
        while not self._idle.empty():
            kept = self._idle.get_nowait()
            if kept is not None:
                await kept.connection.close()


class _Kept:
    """A checked-out connection and the asyncpg connection under it."""

    __slots__ = ("connection", "driver")

    def __init__(self, connection: AsyncConnection, driver: Any) -> None:
        self.connection = connection
        self.driver = driver

    @classmethod
    async def open(cls, engine: AsyncEngine) -> _Kept:
        connection = await engine.connect()
        raw = await connection.get_raw_connection()
        return cls(connection, raw.driver_connection)


async def _drop(kept: _Kept) -> None:
    """Closes a connection for good (the pool opens a new one in its place when needed)."""
    with contextlib.suppress(Exception):
        await kept.connection.invalidate()
    with contextlib.suppress(Exception):
        await kept.connection.close()
