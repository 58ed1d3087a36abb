"""The rate-limit window's contract, run over every adapter: this process's memory and a real
Redis (``scripts/services`` starts it on 127.0.0.1:6379). Each test counts under its own keys."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from limits import parse

from seedance_gateway.errors import RateLimited
from seedance_gateway.providers.ark.channels import Channel, Channels
from seedance_gateway.providers.ark.client import ArkClient
from seedance_gateway.ratelimit import RateLimiter, Window, window_for

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["memory", "redis"])
def redis_url(request: pytest.FixtureRequest) -> str:
    return REDIS_URL if request.param == "redis" else ""


@pytest.fixture
async def window(redis_url: str) -> AsyncIterator[Window]:
    opened = window_for(parse("3/2 seconds"), redis_url, namespace=f"test-{uuid.uuid4().hex}")
    yield opened
    await opened.close()


async def test_the_amount_passes_then_the_next_waits_at_most_the_period(window: Window) -> None:
    assert [await window.hit("a") for _ in range(3)] == [None, None, None]
    wait = await window.hit("a")
    assert wait is not None and 0 < wait <= 2
    assert await window.hit("b") is None  # counts are per key


async def test_a_refused_hit_is_not_counted_and_the_window_moves(window: Window) -> None:
    """Hits at 0 s and about 1 s: the window reopens when the first leaves it, not the second."""
    assert await window.hit("k") is None
    await asyncio.sleep(1.0)
    assert await window.hit("k") is None
    assert await window.hit("k") is None
    for _ in range(5):
        assert await window.hit("k") is not None
    await asyncio.sleep(1.1)  # the first hit has left the window; the refused ones never counted
    assert await window.hit("k") is None
    assert await window.hit("k") is not None


async def test_the_limiter_refuses_with_a_whole_second_retry_delay(redis_url: str) -> None:
    limiter = RateLimiter("2/minute", redis_url)
    key_id = f"key_{uuid.uuid4().hex}"
    try:
        await limiter.hit(key_id)
        await limiter.hit(key_id)
        with pytest.raises(RateLimited) as refused:
            await limiter.hit(key_id)
        assert refused.value.retry_after in range(59, 61)
        assert "limited to 2 requests per 1 minute; retry in" in str(refused.value)
    finally:
        await limiter.close()


async def test_memory_forgets_keys_whose_events_all_expired() -> None:
    """A key seen once is dropped by the sweep after its period, so idle keys cost nothing."""
    window = window_for(parse("5/second"), namespace="sweep")
    for n in range(100):
        await window.hit(f"key-{n}")
    held = window._events  # type: ignore[attr-defined]
    assert len(held) == 100
    time.sleep(1.05)
    await window.hit("fresh")
    assert list(held) == ["fresh"]


async def test_an_upstream_channel_spends_its_creates_per_minute_alone(redis_url: str) -> None:
    """``SEEDANCE_ARK_RPM=2``: each channel takes two creates a minute, the third is refused."""
    suffix = uuid.uuid4().hex  # fresh channel names: Redis keeps counts between runs
    channels = Channels(
        [
            Channel(
                name=f"{n}-{suffix}", client=ArkClient("http://127.0.0.1:9", n), max_in_flight=9
            )
            for n in ("one", "two")
        ],
        rpm=2,
        redis_url=redis_url,
    )
    one, two = channels.all
    try:
        assert [await channels.take_create(one) for _ in range(3)] == [True, True, False]
        assert await channels.take_create(two)
    finally:
        await channels.close()
