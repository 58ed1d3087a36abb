"""Rate limits: so many events per period per key (an API key's requests, an upstream channel's
creates), counted over a moving window.

``RateLimiter`` is the use: it counts an API key's request and refuses one over the limit with
``RateLimited`` and a retry delay. Where the counts live is a ``Window``: in this process
(``in_process.InProcessWindow``) or in Redis, shared by every process
(``shared.RedisWindow``). ``window_for`` picks one from the settings.
"""

from __future__ import annotations

import math
from typing import Protocol

from limits import RateLimitItem, parse

from seedance_gateway.errors import RateLimited
from seedance_gateway.ratelimit.in_process import InProcessWindow
from seedance_gateway.ratelimit.shared import RedisWindow


class Window(Protocol):
    """Counts events per key against one limit, over a moving window of its period."""

    async def hit(self, key: str) -> float | None:
        """Counts one event for ``key``: None when it is within the limit; else the seconds
        until one would be, and nothing is counted."""
        ...

    async def close(self) -> None:
        """Lets go of any connection."""
        ...


def window_for(item: RateLimitItem, redis_url: str = "", *, namespace: str) -> Window:
    """Counts in Redis, shared by every process, when ``redis_url`` is set; else in memory."""
    if redis_url:
        return RedisWindow(item, redis_url, namespace=namespace)
    return InProcessWindow(item)


class RateLimiter:
    """Counts each API key's requests against one limit such as ``120/minute``."""

    def __init__(self, limit: str, redis_url: str = "", *, subject: str = "this API key") -> None:
        self.item = parse(limit)
        self.subject = subject  #: what the limit counts, as the error names it
        self.window = window_for(self.item, redis_url, namespace="api-key")

    async def hit(self, key_id: str) -> None:
        """Counts one request; raises ``RateLimited`` with a retry delay when over the limit."""
        wait = await self.window.hit(key_id)
        if wait is None:
            return
        retry_after = max(1, math.ceil(wait))
        raise RateLimited(
            f"{self.subject} is limited to {self.item.amount} requests per "
            f"{self.item.multiples} {self.item.GRANULARITY.name}; "
            f"retry in {retry_after} s",
            retry_after=retry_after,
        )

    async def close(self) -> None:
        """Closes the Redis connection pool, if any."""
        await self.window.close()


__all__ = ["InProcessWindow", "RateLimiter", "RedisWindow", "Window", "window_for"]
