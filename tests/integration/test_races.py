"""Races on SQLite and PostgreSQL: concurrent submits, replays, cancels and settlements.

Each race spreads its calls over several Store objects (separate engines, so separate
connections on both backends) and several API keys of one account, so that nothing but the
database's own guarantees keeps the balance and the ledger right.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from integration_support import (
    Owner,
    add_key,
    assert_ledger_balanced,
    count,
    ledger_entries,
    new_task,
    open_account,
    submit,
)

from seedance_gateway.domain.tasks import Status, Task
from seedance_gateway.errors import (
    IdempotencyConflict,
    InsufficientCredits,
    InvalidState,
    RateLimited,
)
from seedance_gateway.store import Store
from seedance_gateway.store import tables as t
from seedance_gateway.store.tasks import Idempotency

T = TypeVar("T")
STORES = 3


@asynccontextmanager
async def stores(database_url: str) -> AsyncIterator[list[Store]]:
    """``STORES`` independent Store objects over the same database."""
    opened = [Store.open(database_url) for _ in range(STORES)]
    try:
        yield opened
    finally:
        for each in opened:
            await each.close()


async def outcome(call: Awaitable[T]) -> T | Exception:
    """The call's result, or the gateway error it raised."""
    try:
        return await call
    except (InsufficientCredits, IdempotencyConflict, InvalidState, RateLimited) as exc:
        return exc


async def race_submits(
    database_url: str, owners: list[Owner], submits: int, *, quote: int, max_in_flight: int
) -> list[Any]:
    """``submits`` simultaneous submits, spread over the racers and ``owners``' keys; each
    outcome is ``(task, replayed)`` or the gateway error it raised."""
    async with stores(database_url) as racers:
        return await asyncio.gather(
            *(
                outcome(
                    racers[i % STORES].tasks.submit(
                        new_task(owners[i % len(owners)], quote),
                        idempotency=None,
                        max_in_flight=max_in_flight,
                    )
                )
                for i in range(submits)
            )
        )


async def test_fifty_concurrent_submits_never_overdraw_a_balance_for_ten(
    store: Store, database_url: str
) -> None:
    """Exactly 10 of 50 simultaneous 25-credit submits against 250 credits are accepted."""
    owner = await open_account(store, 250)
    owners = [owner] + [
        Owner(owner.account_id, await add_key(store, owner.account_id, f"k{i}")) for i in range(4)
    ]
    results = await race_submits(database_url, owners, 50, quote=25, max_in_flight=100)
    accepted = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, InsufficientCredits)]
    assert (len(accepted), len(refused)) == (10, 40)
    assert await assert_ledger_balanced(store, owner) == 0
    assert await count(store, t.tasks) == 10
    assert await count(store, t.jobs) == 10
    assert await count(store, t.ledger, t.ledger.c.kind == "hold") == 10


async def test_thirty_concurrent_submits_on_one_key_never_pass_its_in_flight_limit(
    store: Store, database_url: str
) -> None:
    """With credits for all, exactly ``max_in_flight`` of 30 simultaneous submits on one key
    are accepted; the rest are refused for the limit and hold nothing."""
    owner = await open_account(store, 1000)
    results = await race_submits(database_url, [owner], 30, quote=10, max_in_flight=5)
    accepted = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, RateLimited)]
    assert (len(accepted), len(refused)) == (5, 25)
    assert await assert_ledger_balanced(store, owner) == 950
    assert await count(store, t.tasks) == 5


async def test_twenty_concurrent_replays_of_one_key_create_one_task_and_one_hold(
    store: Store, database_url: str
) -> None:
    """The same idempotency key and body sent 20 times at once yields one task, 19 replays."""
    owner = await open_account(store, 1000)
    key = Idempotency(key="same-request", fingerprint="body", ttl_seconds=86400)
    async with stores(database_url) as racers:
        results = await asyncio.gather(
            *(
                racers[i % STORES].tasks.submit(
                    new_task(owner, 25), idempotency=key, max_in_flight=100
                )
                for i in range(20)
            )
        )
    assert len({task.id for task, _ in results}) == 1
    assert sorted(replayed for _, replayed in results) == [False] + [True] * 19
    (task_id,) = {task.id for task, _ in results}
    assert await ledger_entries(store, task_id) == [("hold", 25)]
    assert await count(store, t.tasks) == 1
    assert await assert_ledger_balanced(store, owner) == 975


async def test_one_key_with_twenty_different_bodies_at_once_accepts_exactly_one(
    store: Store, database_url: str
) -> None:
    """Concurrent reuse of a key with other bodies: one task, 19 idempotency conflicts."""
    owner = await open_account(store, 1000)
    async with stores(database_url) as racers:
        results = await asyncio.gather(
            *(
                outcome(
                    racers[i % STORES].tasks.submit(
                        new_task(owner, 25),
                        idempotency=Idempotency(key="k", fingerprint=f"body-{i}", ttl_seconds=60),
                        max_in_flight=100,
                    )
                )
                for i in range(20)
            )
        )
    conflicts = [r for r in results if isinstance(r, IdempotencyConflict)]
    accepted = [r for r in results if isinstance(r, tuple)]
    assert (len(accepted), len(conflicts)) == (1, 19)
    assert await count(store, t.tasks) == 1
    assert await assert_ledger_balanced(store, owner) == 975


async def test_concurrent_cancels_release_the_credits_once(store: Store, database_url: str) -> None:
    """Ten simultaneous cancels of one task: one wins, nine see invalid_state, one release."""
    owner = await open_account(store, 100)
    task = await submit(store, owner, 25)
    async with stores(database_url) as racers:
        results = await asyncio.gather(
            *(
                outcome(racers[i % STORES].tasks.cancel(task.id, owner.account_id))
                for i in range(10)
            )
        )
    cancelled = [r for r in results if isinstance(r, Task)]
    assert len(cancelled) == 1 and cancelled[0].status is Status.CANCELLED
    assert sum(isinstance(r, InvalidState) for r in results) == 9
    assert await ledger_entries(store, task.id) == [("hold", 25), ("release", 25)]
    assert await assert_ledger_balanced(store, owner) == 100


async def test_a_completion_racing_expiry_settles_each_task_exactly_once(
    store: Store, database_url: str
) -> None:
    """Success and expiry of overdue running tasks race; each task gets one capture or release."""
    owner = await open_account(store, 1000)
    tasks = [await submit(store, owner, 25, expires_in=-1) for _ in range(10)]
    jobs = await store.jobs.claim("w1", 10, 30)
    for job in jobs:
        await store.jobs.start_task(job)
    result: dict[str, Any] = {"video_key": "results/x/video.mp4"}
    async with stores(database_url) as racers:
        completions = [
            racers[i % STORES].jobs.complete(job, Status.SUCCEEDED, result=result)
            for i, job in enumerate(jobs)
        ]
        await asyncio.gather(*completions, racers[0].jobs.expire(), racers[1].jobs.expire())
    charged = 0
    for task in tasks:
        entries = await ledger_entries(store, task.id)
        assert len(entries) == 2 and entries[0] == ("hold", 25), entries
        final = await store.tasks.get(task.id)
        if entries[1] == ("capture", 25):
            assert final.status is Status.SUCCEEDED
            charged += 25
        else:
            assert entries[1] == ("release", 25)
            assert final.status is Status.EXPIRED
    assert await assert_ledger_balanced(store, owner) == 1000 - charged


async def test_cancels_racing_expiry_settle_each_task_exactly_once(
    store: Store, database_url: str
) -> None:
    """Cancel and expiry of overdue queued tasks race; each task is released exactly once."""
    owner = await open_account(store, 1000)
    tasks = [await submit(store, owner, 25, expires_in=-1) for _ in range(10)]
    async with stores(database_url) as racers:
        cancels = [
            outcome(racers[i % STORES].tasks.cancel(task.id, owner.account_id))
            for i, task in enumerate(tasks)
        ]
        await asyncio.gather(*cancels, racers[0].jobs.expire(), racers[1].jobs.expire())
    for task in tasks:
        assert await ledger_entries(store, task.id) == [("hold", 25), ("release", 25)]
        status = (await store.tasks.get(task.id)).status
        assert status in (Status.CANCELLED, Status.EXPIRED)
    assert await assert_ledger_balanced(store, owner) == 1000


async def test_a_completion_racing_the_reaper_on_the_last_attempt_settles_once(
    store: Store, database_url: str
) -> None:
    """A worker finishing just as its lapsed last-attempt lease is reaped: capture or release."""
    owner = await open_account(store, 1000)
    single = Store.open(database_url, max_attempts=1)
    try:
        tasks = [await submit(single, owner, 25) for _ in range(6)]
        jobs = await single.jobs.claim("w1", 10, 0.05)
        for job in jobs:
            await single.jobs.start_task(job)
        await asyncio.sleep(0.15)
        result: dict[str, Any] = {"video_key": "results/x/video.mp4"}
        async with stores(database_url) as racers:
            completions = [
                racers[i % STORES].jobs.complete(job, Status.SUCCEEDED, result=result)
                for i, job in enumerate(jobs)
            ]
            await asyncio.gather(*completions, racers[0].jobs.reap(), racers[1].jobs.reap())
    finally:
        await single.close()
    charged = 0
    for task in tasks:
        entries = await ledger_entries(store, task.id)
        status = (await store.tasks.get(task.id)).status
        assert (entries[1], status) in {
            (("capture", 25), Status.SUCCEEDED),
            (("release", 25), Status.FAILED),
        }, (entries, status)
        assert len(entries) == 2
        charged += 25 if status is Status.SUCCEEDED else 0
    assert await assert_ledger_balanced(store, owner) == 1000 - charged
