"""Worker wake-ups: an in-process event (embedded mode), with polling as the safety net.

Across processes (``serve --no-worker`` plus ``worker``) workers find new jobs by polling every
``poll_seconds``; LISTEN/NOTIFY on PostgreSQL is a planned refinement.
"""

from __future__ import annotations

import asyncio
import contextlib


class Wakeup:
    """Lets submitters nudge idle workers in the same process."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        """Wakes waiting workers (safe to call from the event loop's thread)."""
        self._event.set()

    async def wait(self, timeout: float) -> None:
        """Returns after a notify or ``timeout`` seconds, whichever is first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)
        self._event.clear()
