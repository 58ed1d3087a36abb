"""``KeptConnections``: a few PostgreSQL connections a process keeps checked out, for its
prepared reads and its write transactions."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

#: Connections each process keeps for ``Database.read_one`` on PostgreSQL (out of its pool).
KEPT_READ_CONNECTIONS = 4
#: Connections each process keeps for ``Database.write`` on PostgreSQL (out of its pool).
KEPT_WRITE_CONNECTIONS = 6


class KeptConnections:
    """Connections checked out of ``engine``'s pool once and kept, each lent to one user at a
    time. A statement on a kept connection cost about 50 µs of CPU, where checking a connection
    out of SQLAlchemy's pool and back in cost 130 µs more (measured for issue 19).

    Each is opened on first use; one the server closed is replaced before use. One whose use
    was cancelled, or left a transaction open, is dropped, since its state is unknown. With
    ``overflow``, a lease finds no kept connection idle takes a pooled one for that use instead
    of waiting (a write may wait on a lock held by another write of this process).
    """

    def __init__(self, engine: AsyncEngine, size: int, *, overflow: bool = False) -> None:
        self.engine = engine
        self.overflow = overflow
        #: Last in, first out: the connection just used is used again, and another is opened
        #: only when every open one is busy.
        self._idle: asyncio.LifoQueue[_Kept | None] = asyncio.LifoQueue()
        for _ in range(size):
            self._idle.put_nowait(None)  # a connection not opened yet

    @contextlib.asynccontextmanager
    async def lease(self) -> AsyncIterator[_Kept]:
        """A connection for one use: kept afterwards if that use left it clean."""
        borrowed = self.overflow and self._idle.empty()
        kept = await _Kept.of(await self.engine.connect()) if borrowed else await self._take()
        try:
            yield kept
        except BaseException as exc:
            await self._give_back(kept, clean=isinstance(exc, Exception), borrowed=borrowed)
            raise
        await self._give_back(kept, clean=True, borrowed=borrowed)

    async def fetch_one(self, sql: str, arguments: tuple[Any, ...]) -> Any:
        """The first row of one statement (asyncpg's ``Record``), or None. ``lease`` inlined:
        a context manager per polling read cost 10 µs of its 60."""
        kept = await self._take()
        try:
            row = await kept.driver.fetchrow(sql, *arguments)
        except BaseException as exc:
            await self._give_back(kept, clean=isinstance(exc, Exception), borrowed=False)
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
                kept = await _Kept.of(await self.engine.connect())
            except BaseException:
                self._idle.put_nowait(None)
                raise
        return kept

    async def _give_back(self, kept: _Kept, *, clean: bool, borrowed: bool) -> None:
        healthy = clean and not kept.driver.is_closed() and not kept.driver.is_in_transaction()
        if borrowed:
            await (kept.connection.close() if healthy else _drop(kept))
        elif healthy:
            self._idle.put_nowait(kept)
        else:
            self._idle.put_nowait(None)
            await _drop(kept)

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
    async def of(cls, connection: AsyncConnection) -> _Kept:
        raw = await connection.get_raw_connection()
        return cls(connection, raw.driver_connection)


async def _drop(kept: _Kept) -> None:
    """Closes a connection for good (the pool opens a new one in its place when needed)."""
    with contextlib.suppress(Exception):
        await kept.connection.invalidate()
    with contextlib.suppress(Exception):
        await kept.connection.close()
