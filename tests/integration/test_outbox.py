"""The webhook outbox on SQLite and PostgreSQL: events and delivery jobs commit with the status
change that raised them, or not at all; subscriptions, callbacks and the reaper's hand-off."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from integration_support import REQUEST, Owner, count, new_task, open_account, submit
from sqlalchemy import select

from seedance_gateway.domain import webhooks as wh
from seedance_gateway.domain.tasks import Status, Task
from seedance_gateway.store import Store
from seedance_gateway.store import tables as t
from seedance_gateway.store.outbox import DELIVER
from seedance_gateway.store.tasks import finish

RESULT = {"video_key": "results/x/video.mp4", "last_frame_key": None, "duration": 5.0}


async def add_endpoint(
    store: Store, owner: Owner, types: tuple[str, ...] = wh.DEFAULT_EVENT_TYPES, **changes: Any
) -> wh.Endpoint:
    endpoint = await store.webhooks.create_endpoint(
        account_id=owner.account_id,
        url="https://hooks.example/in",
        description="",
        event_types=types,
        enabled=True,
        secret="whsec_c2VjcmV0",
    )
    if changes:
        endpoint = await store.webhooks.update_endpoint(owner.account_id, endpoint.id, changes)
    return endpoint


async def events_of(store: Store, task_id: str) -> list[str]:
    query = select(t.webhook_events.c.type).where(t.webhook_events.c.task_id == task_id)
    async with store.db.read() as conn:
        return list((await conn.execute(query.order_by(t.webhook_events.c.id))).scalars())


async def deliveries_of(store: Store, task_id: str) -> list[dict[str, Any]]:
    query = select(t.webhook_deliveries).where(t.webhook_deliveries.c.task_id == task_id)
    async with store.db.read() as conn:
        rows = (await conn.execute(query.order_by(t.webhook_deliveries.c.id))).mappings().all()
    return [dict(r) for r in rows]


async def run_to(store: Store, task: Task, status: Status) -> None:
    """Claims the task's generate job, starts it and settles it with ``status``."""
    [job] = await store.jobs.claim("w1", 1, 30)
    assert job.task_id == task.id
    await store.jobs.start_task(job)
    assert await store.jobs.complete(
        job,
        status,
        result=RESULT if status is Status.SUCCEEDED else None,
        error=None if status is Status.SUCCEEDED else {"code": "x", "message": "y"},
    )


async def test_a_success_raises_one_event_and_one_delivery_job_per_subscribed_endpoint(
    store: Store,
) -> None:
    """Only enabled, live endpoints subscribed to the type get a delivery, with a deliver job."""
    owner = await open_account(store, 1000)
    wanted = await add_endpoint(store, owner)
    also = await add_endpoint(store, owner, (wh.SUCCEEDED, wh.PROCESSING))
    await add_endpoint(store, owner, (wh.FAILED,))
    await add_endpoint(store, owner, enabled=False)
    gone = await add_endpoint(store, owner)
    await store.webhooks.delete_endpoint(owner.account_id, gone.id)
    stranger = await open_account(store, 1000)
    await add_endpoint(store, stranger)
    task = await submit(store, owner, 10)

    await run_to(store, task, Status.SUCCEEDED)

    assert await events_of(store, task.id) == [wh.PROCESSING, wh.SUCCEEDED]
    deliveries = await deliveries_of(store, task.id)
    by_type = {(d["endpoint_id"], d["event_id"]) for d in deliveries}
    assert len(by_type) == len(deliveries) == 3  # processing -> also; succeeded -> wanted, also
    assert {d["endpoint_id"] for d in deliveries} == {wanted.id, also.id}
    assert all(d["status"] == "pending" and d["renderer"] == "webhook" for d in deliveries)
    jobs = await count(store, t.jobs, t.jobs.c.kind == DELIVER, t.jobs.c.state == "available")
    assert jobs == 3


async def test_the_event_keeps_the_task_as_it_was_at_the_change(store: Store) -> None:
    """The stored snapshot is the task right after the change (status, credits, result)."""
    owner = await open_account(store, 1000)
    await add_endpoint(store, owner)
    task = await submit(store, owner, 10)
    await run_to(store, task, Status.SUCCEEDED)
    query = select(t.webhook_events.c.data).where(
        t.webhook_events.c.task_id == task.id, t.webhook_events.c.type == wh.SUCCEEDED
    )
    async with store.db.read() as conn:
        snapshot = Task.from_json((await conn.execute(query)).scalar_one())
    assert snapshot == await store.tasks.get(task.id)
    assert snapshot.status is Status.SUCCEEDED and snapshot.final_credits == 10


async def test_a_rolled_back_status_change_leaves_no_event_and_no_delivery(store: Store) -> None:
    """The outbox shares the status change's transaction: an abort takes both back."""
    owner = await open_account(store, 1000)
    await add_endpoint(store, owner, (wh.CANCELLED,))
    task = await submit(store, owner, 10)
    with pytest.raises(RuntimeError):
        async with store.db.write() as conn:
            assert await finish(conn, task, Status.CANCELLED, error=None, result=None)
            assert await count_in(conn, task.id) == 1  # visible inside the transaction
            raise RuntimeError("abort after the change")
    assert (await store.tasks.get(task.id)).status is Status.QUEUED
    assert await events_of(store, task.id) == []
    assert await deliveries_of(store, task.id) == []


async def count_in(conn: Any, task_id: str) -> int:
    query = select(t.webhook_events.c.id).where(t.webhook_events.c.task_id == task_id)
    return len((await conn.execute(query)).all())


async def test_cancel_and_expiry_raise_their_events(store: Store) -> None:
    """A cancelled task raises generation.cancelled; an expired one generation.failed."""
    owner = await open_account(store, 1000)
    await add_endpoint(store, owner, (wh.CANCELLED, wh.FAILED))
    cancelled = await submit(store, owner, 10)
    await store.tasks.cancel(cancelled.id, owner.account_id)
    expiring = await submit(store, owner, 10, expires_in=0.05)
    await asyncio.sleep(0.1)
    assert await store.jobs.expire() == 1
    assert await events_of(store, cancelled.id) == [wh.CANCELLED]
    assert await events_of(store, expiring.id) == [wh.FAILED]
    assert len(await deliveries_of(store, expiring.id)) == 1


async def test_processing_is_raised_once_even_when_the_task_is_retried(store: Store) -> None:
    """A retry puts the task back to queued; its second start is not a new processing event."""
    owner = await open_account(store, 1000)
    await add_endpoint(store, owner, (wh.PROCESSING,))
    task = await submit(store, owner, 10)
    [job] = await store.jobs.claim("w1", 1, 30)
    first = await store.jobs.start_task(job)
    assert first is not None and first.started_at is not None
    assert await store.jobs.retry(job, "busy", delay_seconds=0)
    [again] = await store.jobs.claim("w1", 1, 30)
    second = await store.jobs.start_task(again)
    assert second is not None and second.started_at == first.started_at
    assert await events_of(store, task.id) == [wh.PROCESSING]


async def test_a_callback_url_gets_a_delivery_for_the_statuses_its_dialect_asked_for(
    store: Store,
) -> None:
    """Per-request callbacks: queued (at submit) and terminal here, in the task's dialect."""
    owner = await open_account(store, 1000)
    request = {
        **REQUEST,
        "callback_url": "https://client.example/cb",
        "callback_statuses": ["queued", "succeeded"],
    }
    new = dataclasses.replace(new_task(owner, 10), request=request)
    task, _ = await store.tasks.submit(new, idempotency=None, max_in_flight=9)
    await run_to(store, task, Status.SUCCEEDED)
    deliveries = await deliveries_of(store, task.id)
    assert [d["url"] for d in deliveries] == ["https://client.example/cb"] * 2
    assert all(d["endpoint_id"] is None and d["renderer"] == "public_v1" for d in deliveries)
    # running was not asked for, and with no endpoint it raises no delivery at all
    assert await events_of(store, task.id) == [wh.QUEUED, wh.PROCESSING, wh.SUCCEEDED]


async def test_generation_and_delivery_jobs_are_claimed_separately(store: Store) -> None:
    """A worker claims deliveries and generations by kind (each with its own concurrency)."""
    owner = await open_account(store, 1000)
    endpoint = await add_endpoint(store, owner)
    await store.webhooks.send_test(endpoint, wh.SUCCEEDED, {})
    await submit(store, owner, 10)
    [delivery] = await store.jobs.claim("w1", 5, 30, (DELIVER,))
    assert delivery.kind == DELIVER and delivery.task_id is None
    assert delivery.payload is not None and delivery.payload["delivery_id"].startswith("dlv_")
    [generation] = await store.jobs.claim("w1", 5, 30)
    assert generation.kind == "generate"


async def test_the_reaper_requeues_a_lost_delivery_and_fails_it_on_the_last_attempt(
    store: Store,
) -> None:
    """A worker that died mid-delivery loses its lease; the delivery is tried again, and
    marked failed (never left pending) if its job runs out of attempts."""
    owner = await open_account(store, 1000)
    endpoint = await add_endpoint(store, owner)
    sent = await store.webhooks.send_test(endpoint, wh.SUCCEEDED, {})
    [job] = await store.jobs.claim("w1", 1, 0.05, (DELIVER,))
    await asyncio.sleep(0.15)
    assert await store.jobs.reap() == 1
    assert (await store.webhooks.get_delivery(owner.account_id, sent.id)).status == "pending"
    async with store.db.write() as conn:
        await conn.execute(
            t.jobs.update().where(t.jobs.c.id == job.id).values(max_attempts=job.attempt + 1)
        )
    await store.jobs.claim("w2", 1, 0.05, (DELIVER,))
    await asyncio.sleep(0.15)
    assert await store.jobs.reap() == 1
    failed = await store.webhooks.get_delivery(owner.account_id, sent.id)
    assert failed.status is wh.DeliveryStatus.FAILED and failed.next_attempt_at is None
