"""Worker wake-ups: an in-process event, PostgreSQL LISTEN/NOTIFY across processes, and
polling every ``poll_seconds`` as the safety net.

On PostgreSQL every job ``INSERT`` sends ``NOTIFY seedance_jobs`` from a trigger (delivered on
commit, ``store.notify``); every worker process listens on a dedicated connection and sets its
local event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from seedance_gateway.store.database import Database
from seedance_gateway.store.notify import CHANNEL

log = logging.getLogger(__name__)


class Wakeup:
    """Lets submitters nudge idle workers."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._forks: list[Wakeup] = []

    def notify(self) -> None:
        """Wakes waiting workers, and every fork (call from the event loop's thread)."""
        self._event.set()
        for fork in self._forks:
            fork.notify()

    def fork(self) -> Wakeup:
        """A wake-up of its own for another waiter, nudged whenever this one is."""
        child = Wakeup()
        self._forks.append(child)
        return child

    async def wait(self, timeout: float) -> None:
        """Returns after a notify or ``timeout`` seconds, whichever is first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)
        self._event.clear()


@contextlib.asynccontextmanager
async def listening(db: Database, wakeup: Wakeup) -> AsyncIterator[None]:
    """While open, NOTIFYs on PostgreSQL wake ``wakeup``; a no-op on SQLite."""
    if db.is_sqlite:
        yield
        return
    async with db.postgres.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None

        def on_notify(*_: Any) -> None:
            wakeup.notify()

        try:
            await raw.add_listener(CHANNEL, on_notify)
        except Exception:
            log.exception("LISTEN failed; workers fall back to polling")
            yield
            return
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                await raw.remove_listener(CHANNEL, on_notify)
