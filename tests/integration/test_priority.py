"""Priority (``store.priority``) on SQLite and PostgreSQL: an urgent task takes the place of its
own account's less urgent queued tasks; other accounts keep their turns; a task queued longer
than ``MAX_WAIT`` keeps its place."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from integration_support import REQUEST, Owner, new_task, open_account
from sqlalchemy import update

from seedance_gateway.domain.tasks import Task
from seedance_gateway.store import Store
from seedance_gateway.store import tables as t
from seedance_gateway.store.priority import MAX_WAIT


async def queue(store: Store, owner: Owner, priority: int = 0) -> Task:
    """Submits one task of ``priority``."""
    plain = new_task(owner, 10)
    task, _ = await store.tasks.submit(
        dataclasses.replace(plain, request={**REQUEST, "priority": priority}),
        idempotency=None,
        max_in_flight=1000,
    )
    return task


async def claim_order(store: Store) -> list[str]:
    """The task ids in the order the workers start them (one claim at a time)."""
    order: list[str] = []
    while jobs := await store.jobs.claim("w", 1, 30):
        order.append(jobs[0].task_id or "")
    return order


async def test_an_urgent_task_goes_first_in_its_account_and_others_keep_their_turn(
    store: Store,
) -> None:
    a, b = await open_account(store, 1000, "a"), await open_account(store, 1000, "b")
    a0, a1 = await queue(store, a), await queue(store, a)
    b0 = await queue(store, b)
    a2 = await queue(store, a, priority=5)
    a3 = await queue(store, a, priority=9)
    a4 = await queue(store, a, priority=5)
    # A's places were a0 a1 _ a2 a3 a4 around b0's; A now fills them 9, 5, 5, 0, 0.
    assert await claim_order(store) == [a3.id, a2.id, b0.id, a4.id, a0.id, a1.id]


async def test_without_priorities_the_queue_is_first_in_first_out(store: Store) -> None:
    a, b = await open_account(store, 1000, "a"), await open_account(store, 1000, "b")
    made = [await queue(store, owner) for owner in (a, b, a, b)]
    assert await claim_order(store) == [task.id for task in made]


async def test_a_task_queued_longer_than_the_max_wait_keeps_its_place(store: Store) -> None:
    a = await open_account(store, 1000)
    old, young = await queue(store, a), await queue(store, a)
    async with store.db.write() as conn:
        await conn.execute(
            update(t.jobs)
            .where(t.jobs.c.task_id == old.id)
            .values(created_at=datetime.now(UTC) - 2 * MAX_WAIT)
        )
    urgent = await queue(store, a, priority=9)
    assert await claim_order(store) == [old.id, urgent.id, young.id]
