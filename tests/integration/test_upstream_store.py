"""The upstream state machine's batched writes (issue 19): an acceptance hands its submit job
off in the same transaction; one round of checks is recorded in one transaction; a copy that
settles its task closes the task's upstream row with it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from integration_support import Owner, count, ledger_entries, open_account, submit
from sqlalchemy import select

from seedance_gateway.domain.tasks import Status, Task
from seedance_gateway.store import Store
from seedance_gateway.store import tables as t
from seedance_gateway.store.rows import Job
from seedance_gateway.store.upstream import FETCH, SUBMIT, Checked, Handoff

CHANNEL = "main"


async def handed_over(store: Store, owner: Owner, upstream_id: str) -> Task:
    """A task whose submit job took a slot and whose create the upstream accepted."""
    task = await submit(store, owner, job_kind=SUBMIT)
    [job] = await store.jobs.claim("w1", 1, 30, (SUBMIT,))
    handoff = Handoff(
        channel="", upstream_model="m", seed=1, service_tier="default", callback_secret="s"
    )
    slot = await store.upstream.claim_slot(job, [(CHANNEL, 100)], handoff)
    assert slot is not None and slot.fresh
    await store.upstream.accepted(job, upstream_id, datetime.now(UTC))
    return task


async def copying(store: Store, owner: Owner) -> tuple[Task, Job]:
    """A task the upstream finished, and the claimed job that copies its video home."""
    task = await handed_over(store, owner, "cgt-1")
    later = datetime.now(UTC) + timedelta(seconds=30)
    await store.upstream.record(
        [Checked(task_id=task.id, upstream_status="succeeded", next_check_at=later, finished=True)]
    )
    [job] = await store.jobs.claim("w1", 1, 30, (FETCH,))
    return task, job


async def job_states(store: Store, task_id: str) -> dict[str, str]:
    query = select(t.jobs.c.kind, t.jobs.c.state).where(t.jobs.c.task_id == task_id)
    async with store.db.read() as conn:
        return {kind: state for kind, state in (await conn.execute(query)).all()}


async def test_an_acceptance_records_the_id_and_hands_the_submit_job_off(store: Store) -> None:
    owner = await open_account(store, 1000)
    task = await handed_over(store, owner, "cgt-1")
    row = await store.upstream.get(task.id)
    assert row is not None and row.state == "active" and row.upstream_id == "cgt-1"
    assert await job_states(store, task.id) == {SUBMIT: "completed"}


async def test_the_upstream_id_is_recorded_even_when_the_lease_was_lost(store: Store) -> None:
    owner = await open_account(store, 1000)
    task = await submit(store, owner, job_kind=SUBMIT)
    [job] = await store.jobs.claim("w1", 1, 30, (SUBMIT,))
    handoff = Handoff(
        channel="", upstream_model="m", seed=1, service_tier="default", callback_secret="s"
    )
    assert await store.upstream.claim_slot(job, [(CHANNEL, 100)], handoff) is not None
    await store.jobs.retry(job, "taken over", delay_seconds=0)  # the lease moves on mid-create
    await store.upstream.accepted(job, "cgt-paid", datetime.now(UTC))
    row = await store.upstream.get(task.id)  # never lost: a lost id would mean a second paid send
    assert row is not None and row.state == "active" and row.upstream_id == "cgt-paid"
    assert await job_states(store, task.id) == {SUBMIT: "retryable"}  # not handed off by us


async def test_a_round_of_checks_moves_each_task_its_own_way(store: Store) -> None:
    owner = await open_account(store, 1000)
    queued, running, finished = [
        await handed_over(store, owner, f"cgt-{n}") for n in ("q", "r", "f")
    ]
    later = datetime.now(UTC) + timedelta(seconds=30)
    checks = [
        Checked(task_id=queued.id, upstream_status="queued", next_check_at=later),
        Checked(task_id=running.id, upstream_status="running", next_check_at=later),
        Checked(
            task_id=finished.id, upstream_status="succeeded", next_check_at=later, finished=True
        ),
    ]
    assert await store.upstream.record(checks) == 1  # one copy queued
    assert (await store.tasks.get(queued.id)).status is Status.QUEUED
    assert (await store.tasks.get(running.id)).status is Status.RUNNING
    rows = {task.id: await store.upstream.get(task.id) for task in (queued, running, finished)}
    assert {task_id: row.state for task_id, row in rows.items() if row} == {
        queued.id: "active",
        running.id: "active",
        finished.id: "fetching",
    }
    running_row = rows[running.id]
    assert running_row is not None and running_row.next_check_at == later
    assert await job_states(store, finished.id) == {SUBMIT: "completed", FETCH: "available"}
    assert await store.upstream.record(checks[2:]) == 0  # the copy is queued once
    assert await count(store, t.jobs, t.jobs.c.task_id == finished.id) == 2


async def test_a_copy_that_settles_its_task_closes_the_row(store: Store) -> None:
    task, job = await copying(store, await open_account(store, 1000))
    result = {"video_key": "k", "last_frame_key": None, "duration": 1, "width": 2, "height": 2}
    assert await store.upstream.complete_fetch(job, Status.SUCCEEDED, result=result)
    assert (await store.tasks.get(task.id)).status is Status.SUCCEEDED
    assert not await store.upstream.complete_fetch(job, Status.SUCCEEDED, result=result)
    assert await ledger_entries(store, task.id) == [("hold", 25), ("capture", 25)]  # once
    row = await store.upstream.get(task.id)
    assert row is not None and row.state == "done"
    assert await store.upstream.slots_taken(CHANNEL) == 0


async def test_a_copy_whose_lease_was_lost_leaves_the_row_open(store: Store) -> None:
    task, job = await copying(store, await open_account(store, 1000))
    await store.jobs.retry(job, "taken over", delay_seconds=0)  # the lease moves on
    assert not await store.upstream.complete_fetch(job, Status.SUCCEEDED, result={})
    assert (await store.tasks.get(task.id)).status is not Status.SUCCEEDED
    row = await store.upstream.get(task.id)
    assert row is not None and row.state == "fetching"
