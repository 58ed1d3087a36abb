"""Requests per minute per API key, with the ``limits`` library (memory, or Redis when set)."""

from __future__ import annotations

import math
import time

from limits import parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from seedance_gateway.errors import RateLimited


class RateLimiter:
    """Counts each API key's requests against one limit such as ``120/minute``."""

    def __init__(self, limit: str, redis_url: str = "", *, subject: str = "this API key") -> None:
        self.item = parse(limit)
        self.subject = subject  #: what the limit counts, as the error names it
        self.storage: Storage = storage_for(redis_url)
        self.strategy = MovingWindowRateLimiter(self.storage)

    async def hit(self, key_id: str) -> None:
        """Counts one request; raises ``RateLimited`` with a retry delay when over the limit."""
        if await self.strategy.hit(self.item, "api-key", key_id):
            return
        stats = await self.strategy.get_window_stats(self.item, "api-key", key_id)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(
            f"{self.subject} is limited to {self.item.amount} requests per "
            f"{self.item.multiples} {self.item.GRANULARITY.name}; "
            f"retry in {retry_after} s",
            retry_after=retry_after,
        )

    async def close(self) -> None:
        """Closes the Redis connection pool, if any."""
        bridge = getattr(self.storage, "bridge", None)
        client = getattr(bridge, "storage", None)
        if client is not None and hasattr(client, "aclose"):
            await client.aclose()


def storage_for(redis_url: str) -> Storage:
    """In-memory counters, or Redis ones shared by every process when ``redis_url`` is set."""
    if not redis_url:
        storage = storage_from_string("async+memory://")
    else:
        uri = redis_url.replace("redis://", "async+redis://", 1)
        uri = uri.replace("rediss://", "async+rediss://", 1)
        storage = storage_from_string(uri, implementation="redispy")
    assert isinstance(storage, Storage)
    return storage
