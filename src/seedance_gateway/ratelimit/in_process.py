"""``InProcessWindow``: a moving window kept in this process's memory.

Each key keeps the times of its counted events, oldest first, at most the limit's amount of
them: a hit drops the ones older than the period and counts a new one if fewer than the amount
remain. That is O(1) per hit on average and needs no lock, since the event loop runs one hit at
a time. Keys whose events have all expired are swept once per period.

Why not ``limits``' own memory storage: after every hit it schedules a pass over every key, with
a thread hop per key, so while requests flow a pass is always running. Under the API benchmark's
load that was about a seventh of a status read's CPU (issue 19).
"""

from __future__ import annotations

import time
from collections import deque

from limits import RateLimitItem


class InProcessWindow:
    """Counts events per key against ``item`` in memory (one process's counts)."""

    def __init__(self, item: RateLimitItem) -> None:
        self.amount = item.amount
        self.period = float(item.get_expiry())  #: seconds
        self._events: dict[str, deque[float]] = {}
        self._sweep_at = time.monotonic() + self.period

    async def hit(self, key: str) -> float | None:
        """Counts one event for ``key``; when over the limit, the seconds until the oldest
        counted event leaves the window."""
        now = time.monotonic()
        if now >= self._sweep_at:
            self._sweep(now)
        events = self._events.get(key)
        if events is None:
            events = self._events[key] = deque()
        horizon = now - self.period
        while events and events[0] <= horizon:
            events.popleft()
        if len(events) >= self.amount:
            return events[0] - horizon
        events.append(now)
        return None

    def _sweep(self, now: float) -> None:
        """Forgets the keys with no event left in the window."""
        horizon = now - self.period
        for key in [k for k, events in self._events.items() if not events or events[-1] <= horizon]:
            del self._events[key]
        self._sweep_at = now + self.period

    async def close(self) -> None:
        """Nothing to let go of."""
