"""The job queue on SQLite and PostgreSQL: leases, fencing, retry, reap and expiry.

Every write a worker makes is fenced by (job id, lease owner, attempt); a stale worker's
completion changes nothing and charges nothing. The ledger invariant is checked after each.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from integration_support import (
    assert_ledger_balanced,
    job_of,
    ledger_entries,
    open_account,
    submit,
)

from seedance_gateway.domain.tasks import Status
from seedance_gateway.errors import InvalidState
from seedance_gateway.store import Store
from seedance_gateway.store.rows import Job

RESULT = {"video_key": "results/x/video.mp4", "last_frame_key": None, "duration": 5.0}
TINY_LEASE = 0.05


async def claim_one(store: Store, owner: str = "w1", lease: float = 30) -> Job:
    jobs = await store.jobs.claim(owner, 1, lease)
    assert len(jobs) == 1
    return jobs[0]


async def lose_lease(store: Store, owner: str = "w1") -> Job:
    """Claims a job with a tiny lease and lets it expire."""
    job = await claim_one(store, owner, TINY_LEASE)
    await asyncio.sleep(TINY_LEASE * 3)
    return job


async def test_claim_leases_due_jobs_oldest_first_and_counts_the_attempt(store: Store) -> None:
    """Claims respect the limit, take the oldest jobs, set attempt 1 and the lease."""
    owner = await open_account(store, 1000)
    tasks = [await submit(store, owner, 10) for _ in range(3)]
    before = datetime.now(UTC)
    first = await store.jobs.claim("w1", 2, 30)
    assert [job.task_id for job in first] == [tasks[0].id, tasks[1].id]
    assert all(job.attempt == 1 and job.lease_owner == "w1" for job in first)
    row = await job_of(store, tasks[0].id)
    assert (row["state"], row["attempt"], row["lease_owner"]) == ("running", 1, "w1")
    assert before + timedelta(seconds=29) < row["lease_until"] < before + timedelta(seconds=40)
    rest = await store.jobs.claim("w2", 5, 30)
    assert [job.task_id for job in rest] == [tasks[2].id]
    assert await store.jobs.claim("w3", 5, 30) == []
    assert (await store.tasks.get(tasks[0].id)).status is Status.QUEUED  # until start_task
    assert await assert_ledger_balanced(store, owner) == 970


async def test_claim_takes_the_earlier_listed_kind_first(store: Store) -> None:
    """The worker lists ``upstream_fetch`` before ``upstream_submit``: a finished, paid task is
    copied home before a waiting task is sent, however old the waiting one is."""
    owner = await open_account(store, 1000)
    kinds = ("upstream_fetch", "upstream_submit")
    waiting = await submit(store, owner, 10, job_kind="upstream_submit")
    finished = await submit(store, owner, 10, job_kind="upstream_fetch")
    assert [j.task_id for j in await store.jobs.claim("w1", 1, 30, kinds)] == [finished.id]
    assert [j.task_id for j in await store.jobs.claim("w1", 5, 30, kinds)] == [waiting.id]


async def test_concurrent_claims_never_share_a_job(store: Store) -> None:
    """Many claims at once hand every job to exactly one claimer."""
    owner = await open_account(store, 1000)
    tasks = {(await submit(store, owner, 10)).id for _ in range(20)}
    batches = await asyncio.gather(*(store.jobs.claim(f"w{i}", 3, 30) for i in range(10)))
    assert all(len(batch) <= 3 for batch in batches)
    claimed = [(job.task_id, job.lease_owner) for batch in batches for job in batch]
    claimed += [(job.task_id, job.lease_owner) for job in await store.jobs.claim("late", 50, 30)]
    assert sorted(task_id for task_id, _ in claimed) == sorted(tasks)
    for task_id, lease_owner in claimed:
        assert (await job_of(store, str(task_id)))["lease_owner"] == lease_owner
    assert await assert_ledger_balanced(store, owner) == 800


async def test_claimers_on_separate_stores_never_share_a_job(
    store: Store, database_url: str
) -> None:
    """Two Store objects (two engines, separate connections) split the jobs without overlap."""
    owner = await open_account(store, 1000)
    tasks = {(await submit(store, owner, 10)).id for _ in range(20)}
    other = Store.open(database_url)
    try:
        stores = (store, other)
        batches = await asyncio.gather(
            *(stores[i % 2].jobs.claim(f"w{i}", 2, 30) for i in range(16))
        )
        leftovers = await other.jobs.claim("late", 50, 30)
    finally:
        await other.close()
    claimed = [job.task_id for batch in (*batches, leftovers) for job in batch]
    assert len(claimed) == len(set(claimed)) == 20
    assert set(claimed) == tasks
    assert await assert_ledger_balanced(store, owner) == 800


async def test_a_heartbeat_extends_the_lease(store: Store) -> None:
    """Heartbeating a held lease pushes lease_until forward."""
    owner = await open_account(store, 100)
    task = await submit(store, owner, 25)
    job = await claim_one(store, lease=5)
    short = (await job_of(store, task.id))["lease_until"]
    assert await store.jobs.heartbeat(job, 120)
    extended = (await job_of(store, task.id))["lease_until"]
    assert extended - short > timedelta(seconds=100)
    assert await assert_ledger_balanced(store, owner) == 75


async def test_a_heartbeat_fails_once_another_worker_took_the_job(store: Store) -> None:
    """After a reap and a new claim, the old lease is gone; the new one heartbeats."""
    owner = await open_account(store, 100)
    await submit(store, owner, 25)
    stale = await lose_lease(store, "w1")
    assert await store.jobs.reap() == 1
    fresh = await claim_one(store, "w2")
    assert (fresh.id, fresh.attempt) == (stale.id, 2)
    assert not await store.jobs.heartbeat(stale, 60)
    assert await store.jobs.heartbeat(fresh, 60)
    assert await assert_ledger_balanced(store, owner) == 75


async def test_success_captures_the_hold_exactly_once(store: Store) -> None:
    """complete(SUCCEEDED) charges the reserved credits once; a repeat changes nothing."""
    owner = await open_account(store, 100)
    task = await submit(store, owner, 25)
    job = await claim_one(store)
    await store.jobs.start_task(job)
    assert await store.jobs.complete(job, Status.SUCCEEDED, result=RESULT)
    done = await store.tasks.get(task.id)
    assert done.status is Status.SUCCEEDED
    assert (done.final_credits, done.reserved_credits, done.progress) == (25, 25, 100)
    assert done.result is not None and done.result.video_key == RESULT["video_key"]
    assert done.finished_at is not None
    assert (await job_of(store, task.id))["state"] == "completed"
    assert not await store.jobs.complete(job, Status.SUCCEEDED, result=RESULT)
    assert await ledger_entries(store, task.id) == [("hold", 25), ("capture", 25)]
    assert await assert_ledger_balanced(store, owner) == 75


async def test_failure_releases_the_hold_and_records_the_error(store: Store) -> None:
    """complete(FAILED) gives the credits back and keeps the error; the job is discarded."""
    owner = await open_account(store, 100)
    task = await submit(store, owner, 25)
    job = await claim_one(store)
    await store.jobs.start_task(job)
    error = {"code": "provider_rejected", "message": "the prompt was refused"}
    assert await store.jobs.complete(job, Status.FAILED, error=error)
    failed = await store.tasks.get(task.id)
    assert failed.status is Status.FAILED and failed.final_credits == 0
    assert failed.error is not None and failed.error.code == "provider_rejected"
    row = await job_of(store, task.id)
    assert (row["state"], row["last_error"]) == ("discarded", "the prompt was refused")
    assert await ledger_entries(store, task.id) == [("hold", 25), ("release", 25)]
    assert await assert_ledger_balanced(store, owner) == 100


async def test_a_stale_lease_cannot_complete_or_charge(store: Store) -> None:
    """A completion with another owner or another attempt returns False and charges nothing."""
    owner = await open_account(store, 100)
    task = await submit(store, owner, 25)
    job = await claim_one(store)
    await store.jobs.start_task(job)
    for stale in (
        dataclasses.replace(job, lease_owner="impostor"),
        dataclasses.replace(job, attempt=job.attempt + 1),
        dataclasses.replace(job, attempt=job.attempt - 1),
    ):
        assert not await store.jobs.complete(stale, Status.SUCCEEDED, result=RESULT)
        assert not await store.jobs.heartbeat(stale, 60)
        assert not await store.jobs.retry(stale, "stale", 0)
        assert await store.jobs.start_task(stale) is None
    assert (await store.tasks.get(task.id)).status is Status.RUNNING
    assert await ledger_entries(store, task.id) == [("hold", 25)]
    assert await store.jobs.complete(job, Status.SUCCEEDED, result=RESULT)
    assert await assert_ledger_balanced(store, owner) == 75


async def test_a_worker_that_lost_its_lease_cannot_complete_after_the_takeover(
    store: Store,
) -> None:
    """The first worker's late success is dropped; the second worker's success is charged once."""
    owner = await open_account(store, 100)
    task = await submit(store, owner, 25)
    stale = await lose_lease(store, "w1")
    await store.jobs.start_task(stale)
    await store.jobs.reap()
    fresh = await claim_one(store, "w2")
    assert not await store.jobs.complete(stale, Status.SUCCEEDED, result=RESULT)
    assert await store.jobs.complete(fresh, Status.SUCCEEDED, result=RESULT)
    assert await ledger_entries(store, task.id) == [("hold", 25), ("capture", 25)]
    assert await assert_ledger_balanced(store, owner) == 75


async def test_retry_requeues_the_job_for_later_and_the_task_as_queued(store: Store) -> None:
    """retry makes the job retryable after the delay and puts the running task back in queue."""
    owner = await open_account(store, 100)
    task = await submit(store, owner, 25)
    job = await claim_one(store)
    await store.jobs.start_task(job)
    await store.jobs.heartbeat(job, 30)
    before = datetime.now(UTC)
    assert await store.jobs.retry(job, "upstream busy", delay_seconds=60)
    row = await job_of(store, task.id)
    assert (row["state"], row["lease_owner"]) == ("retryable", None)
    assert row["last_error"] == "upstream busy"
    assert row["run_at"] > before + timedelta(seconds=55)
    queued = await store.tasks.get(task.id)
    assert (queued.status, queued.progress) == (Status.QUEUED, 0)
    assert await store.jobs.claim("w2", 5, 30) == []  # not due yet
    assert not await store.jobs.complete(job, Status.SUCCEEDED, result=RESULT)
    assert await ledger_entries(store, task.id) == [("hold", 25)]
    assert await assert_ledger_balanced(store, owner) == 75


async def test_a_job_retried_without_delay_is_claimed_again_as_the_next_attempt(
    store: Store,
) -> None:
    """A due retry is claimable at once, with attempt 2."""
    owner = await open_account(store, 100)
    await submit(store, owner, 25)
    job = await claim_one(store)
    assert await store.jobs.retry(job, "flaky", delay_seconds=0)
    again = await claim_one(store, "w2")
    assert (again.id, again.attempt, again.lease_owner) == (job.id, 2, "w2")
    assert await assert_ledger_balanced(store, owner) == 75


async def test_reap_requeues_an_expired_lease_and_leaves_live_ones(store: Store) -> None:
    """Only leases past lease_until are reaped; the task goes back to queued."""
    owner = await open_account(store, 100)
    lost_task = await submit(store, owner, 25)
    live_task = await submit(store, owner, 25)
    lost = await claim_one(store, "w1", TINY_LEASE)
    await store.jobs.start_task(lost)
    live = await claim_one(store, "w2", 30)
    await asyncio.sleep(TINY_LEASE * 3)
    assert await store.jobs.reap() == 1
    row = await job_of(store, lost_task.id)
    assert (row["state"], row["lease_owner"]) == ("retryable", None)
    assert "lease expired" in row["last_error"]
    assert (await store.tasks.get(lost_task.id)).status is Status.QUEUED
    assert (await job_of(store, live_task.id))["lease_owner"] == live.lease_owner
    assert await store.jobs.reap() == 0
    assert await assert_ledger_balanced(store, owner) == 50


async def test_reaping_the_last_attempt_fails_the_task_and_releases_credits(
    store: Store,
) -> None:
    """After max_attempts lost leases the task fails (worker_lost) and its hold is released."""
    owner = await open_account(store, 100)
    task = await submit(store, owner, 25)
    for attempt in (1, 2, 3):
        job = await lose_lease(store, f"w{attempt}")
        assert job.attempt == attempt
        await store.jobs.start_task(job)
        assert await store.jobs.reap() == 1
        status = (await store.tasks.get(task.id)).status
        assert status is (Status.QUEUED if attempt < 3 else Status.FAILED)
    failed = await store.tasks.get(task.id)
    assert failed.error is not None and failed.error.code == "worker_lost"
    assert (await job_of(store, task.id))["state"] == "discarded"
    assert await store.jobs.claim("w4", 5, 30) == []
    assert await ledger_entries(store, task.id) == [("hold", 25), ("release", 25)]
    assert await assert_ledger_balanced(store, owner) == 100


async def test_expire_releases_an_overdue_running_task_and_drops_its_late_result(
    store: Store,
) -> None:
    """Past expires_at the task is expired and released; the worker's late success is refused."""
    owner = await open_account(store, 100)
    task = await submit(store, owner, 25, expires_in=-1)
    job = await claim_one(store)
    await store.jobs.start_task(job)
    assert await store.jobs.expire() == 1
    expired = await store.tasks.get(task.id)
    assert expired.status is Status.EXPIRED and expired.final_credits == 0
    assert expired.error is not None and expired.error.code == "expired"
    assert (await job_of(store, task.id))["state"] == "cancelled"
    assert not await store.jobs.complete(job, Status.SUCCEEDED, result=RESULT)
    assert (await store.tasks.get(task.id)).status is Status.EXPIRED
    assert await ledger_entries(store, task.id) == [("hold", 25), ("release", 25)]
    assert await assert_ledger_balanced(store, owner) == 100


async def test_expire_covers_queued_tasks_and_spares_unexpired_ones(store: Store) -> None:
    """A queued overdue task expires and is never claimed; a task within its deadline stays."""
    owner = await open_account(store, 100)
    overdue = await submit(store, owner, 25, expires_in=-1)
    fresh = await submit(store, owner, 25, expires_in=3600)
    assert await store.jobs.expire() == 1
    assert (await store.tasks.get(overdue.id)).status is Status.EXPIRED
    assert (await store.tasks.get(fresh.id)).status is Status.QUEUED
    assert [job.task_id for job in await store.jobs.claim("w1", 5, 30)] == [fresh.id]
    assert await store.jobs.expire() == 0
    assert await assert_ledger_balanced(store, owner) == 75


async def test_a_task_cancelled_after_its_job_was_claimed_is_not_started_or_charged(
    store: Store,
) -> None:
    """Cancel between claim and start: start_task returns None and completion settles nothing."""
    owner = await open_account(store, 100)
    task = await submit(store, owner, 25)
    job = await claim_one(store)
    await store.tasks.cancel(task.id, owner.account_id)
    assert await store.jobs.start_task(job) is None
    assert (await store.tasks.get(task.id)).status is Status.CANCELLED
    assert not await store.jobs.complete(job, Status.FAILED, error={"code": "gone", "message": "x"})
    assert not await store.jobs.complete(job, Status.SUCCEEDED, result=RESULT)
    assert await ledger_entries(store, task.id) == [("hold", 25), ("release", 25)]
    assert await assert_ledger_balanced(store, owner) == 100


async def test_a_running_task_is_cancelled_only_where_asked_and_its_progress_then_stops(
    store: Store,
) -> None:
    """``cancel(running=True)`` (a provider that stops mid-run) cancels a running task and
    releases its hold once; without it a running task is ``invalid_state``. Progress reports
    then say the task no longer runs, and the job ends without touching the task."""
    owner = await open_account(store, 100)
    task = await submit(store, owner, 25)
    job = await claim_one(store)
    assert await store.jobs.start_task(job) is not None
    assert await store.tasks.set_progress(task.id, 40)
    with pytest.raises(InvalidState):
        await store.tasks.cancel(task.id, owner.account_id)
    cancelled = await store.tasks.cancel(task.id, owner.account_id, running=True)
    assert (cancelled.status, cancelled.progress) == (Status.CANCELLED, 40)
    assert not await store.tasks.set_progress(task.id, 60)
    error = {"code": "task_stopped", "message": "stopped"}
    assert not await store.jobs.complete(job, Status.FAILED, error=error)
    assert (await store.tasks.get(task.id)).status is Status.CANCELLED
    assert await ledger_entries(store, task.id) == [("hold", 25), ("release", 25)]
    assert await assert_ledger_balanced(store, owner) == 100
    assert await store.jobs.claim("w2", 5, 30) == []  # the job ended with the worker's report
