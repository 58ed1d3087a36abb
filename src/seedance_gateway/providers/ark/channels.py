"""Upstream accounts ("channels"): one API key each, with the upstream's limits kept.

Each channel has a requests-per-minute budget for creates (``limits``; shared through Redis when
``SEEDANCE_REDIS_URL`` is set) and an in-flight limit counted durably in the database
(``store.upstream``). A 429, a 5xx or a connect error cools the channel down for a while, so the
next attempt goes to another channel when there is one.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

from limits import RateLimitItemPerMinute

from seedance_gateway.providers.ark.client import ArkClient
from seedance_gateway.ratelimit import window_for

COOLDOWN_SECONDS = 5.0


@dataclass(kw_only=True)
class Channel:
    """One upstream account."""

    name: str  #: stable and not secret: ``ark-`` + a hash of the key
    client: ArkClient
    max_in_flight: int
    cooling_until: float = 0.0
    list_interval: float = 1.0  #: seconds between list calls (BytePlus allows 1 per second)
    next_list_at: float = field(default=0.0)

    def cool_down(self, seconds: float | None) -> None:
        """Keeps new creates off this channel for ``seconds`` (default ``COOLDOWN_SECONDS``)."""
        wait = COOLDOWN_SECONDS if seconds is None else min(max(seconds, 1.0), 300.0)
        self.cooling_until = max(self.cooling_until, time.monotonic() + wait)

    @property
    def cooling(self) -> bool:
        """Whether creates should avoid this channel now."""
        return time.monotonic() < self.cooling_until


def channel_name(api_key: str) -> str:
    """A stable, non-secret name for the account of ``api_key``."""
    return "ark-" + hashlib.sha256(api_key.encode()).hexdigest()[:8]


class Channels:
    """The channels of one deployment, and their create budgets."""

    def __init__(self, channels: list[Channel], *, rpm: int, redis_url: str = "") -> None:
        if not channels:
            raise ValueError("at least one upstream channel (API key) is needed")
        self.all = channels
        self.by_name = {c.name: c for c in channels}
        self.creates = window_for(
            RateLimitItemPerMinute(rpm), redis_url, namespace="upstream-create"
        )
        self._turn = 0

    def candidates(self) -> list[Channel]:
        """Channels to try, in turn (so load spreads), the cooling ones left out."""
        self._turn = (self._turn + 1) % len(self.all)
        rotated = self.all[self._turn :] + self.all[: self._turn]
        return [c for c in rotated if not c.cooling]

    async def take_create(self, channel: Channel) -> bool:
        """Counts one create against ``channel``'s per-minute budget; False when it is spent."""
        return await self.creates.hit(channel.name) is None

    async def close(self) -> None:
        """Closes every channel's connections, and the budgets' Redis pool if any."""
        for channel in self.all:
            await channel.client.close()
        await self.creates.close()
