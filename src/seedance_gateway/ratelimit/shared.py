"""``RedisWindow``: a moving window kept in Redis, shared by every process that uses it
(``limits``' moving-window strategy and its Redis storage)."""

from __future__ import annotations

import time

from limits import RateLimitItem
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string


class RedisWindow:
    """Counts events per key against ``item`` in Redis, under ``namespace``."""

    def __init__(self, item: RateLimitItem, redis_url: str, *, namespace: str) -> None:
        self.item = item
        self.namespace = namespace
        self.storage = redis_storage(redis_url)
        self.strategy = MovingWindowRateLimiter(self.storage)

    async def hit(self, key: str) -> float | None:
        """Counts one event for ``key``; when over the limit, the seconds until the window
        has room again."""
        if await self.strategy.hit(self.item, self.namespace, key):
            return None
        stats = await self.strategy.get_window_stats(self.item, self.namespace, key)
        return max(0.0, stats.reset_time - time.time())

    async def close(self) -> None:
        """Closes the Redis connection pool."""
        bridge = getattr(self.storage, "bridge", None)
        client = getattr(bridge, "storage", None)
        if client is not None and hasattr(client, "aclose"):
            await client.aclose()


def redis_storage(redis_url: str) -> Storage:
    """``limits``' asynchronous Redis storage for a ``redis://`` or ``rediss://`` URL."""
    uri = redis_url.replace("redis://", "async+redis://", 1)
    uri = uri.replace("rediss://", "async+rediss://", 1)
    storage = storage_from_string(uri, implementation="redispy")
    assert isinstance(storage, Storage)
    return storage
