"""``authentication.KeyCache``: what a process trusts without reading the database, and for how
long."""

from __future__ import annotations

from datetime import UTC, datetime

from seedance_gateway.authentication import KeyCache
from seedance_gateway.store.rows import ApiKey


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def key(key_id: str) -> ApiKey:
    return ApiKey(
        id=key_id,
        account_id="acct_1",
        name=key_id,
        prefix="sdg_" + key_id,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        revoked_at=None,
    )


def test_a_key_is_trusted_until_its_ttl_has_passed_since_it_was_read() -> None:
    clock = Clock()
    cache = KeyCache(5.0, clock=clock)
    assert cache.get("h1") is None
    cache.put("h1", key("k1"))
    clock.now += 4.9
    assert cache.get("h1") == key("k1")
    clock.now += 0.1
    assert cache.get("h1") is None  # read again from the database
    assert cache.get("h1") is None


def test_a_touch_keeps_the_time_the_key_was_read() -> None:
    clock = Clock()
    cache = KeyCache(5.0, clock=clock)
    cache.put("h1", key("k1"))
    clock.now += 3
    used = datetime(2026, 2, 1, tzinfo=UTC)
    cache.touched("h1", ApiKey(**{**vars(key("k1")), "last_used_at": used}))
    found = cache.get("h1")
    assert found is not None and found.last_used_at == used
    clock.now += 2
    assert cache.get("h1") is None  # the touch did not extend the trust
    cache.touched("h2", key("k2"))  # a key not kept stays out
    assert cache.get("h2") is None


def test_forget_drops_a_revoked_key_at_once_and_only_it() -> None:
    cache = KeyCache(60.0)
    cache.put("h1", key("k1"))
    cache.put("h2", key("k2"))
    cache.forget("k1")
    assert cache.get("h1") is None
    assert cache.get("h2") == key("k2")


def test_past_its_size_the_least_recently_read_key_goes() -> None:
    cache = KeyCache(60.0, size=2)
    cache.put("h1", key("k1"))
    cache.put("h2", key("k2"))
    cache.put("h1", key("k1"))  # read again: now the newest
    cache.put("h3", key("k3"))
    assert [cache.get(h) is not None for h in ("h1", "h2", "h3")] == [True, False, True]


def test_a_ttl_of_zero_keeps_nothing() -> None:
    cache = KeyCache(0.0)
    cache.put("h1", key("k1"))
    assert cache.get("h1") is None
