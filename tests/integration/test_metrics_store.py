"""What the stores report to the metrics, on SQLite and PostgreSQL.

Counters move once their transaction has committed (``database.after_commit``), never for a
rollback or a settle whose lease was lost; the queue gauges come from one aggregate over the due
jobs (``JobStore.waiting``). Metrics are per process, so each test compares before and after.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from integration_support import open_account, submit
from prometheus_client import REGISTRY

from seedance_gateway import metrics
from seedance_gateway.domain.tasks import Status
from seedance_gateway.store import Store
from seedance_gateway.store.database import after_commit
from seedance_gateway.store.tasks import finish

RESULT = {"video_key": "results/x/video.mp4", "last_frame_key": None, "duration": 5.0}
MODEL = "seedance-1-0-pro"


def sample(name: str, **labels: str) -> float:
    """A sample's value in this process's registry (0 before its first increment)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def finished(status: str) -> float:
    return sample("seedance_tasks_finished_total", model=MODEL, provider="preview", status=status)


@pytest.fixture(autouse=True)
def _known_models() -> None:
    metrics.know_models({MODEL: "preview"})


async def test_an_action_after_commit_runs_once_committed_and_never_after_a_rollback(
    store: Store,
) -> None:
    ran: list[str] = []
    async with store.db.write():
        after_commit(lambda: ran.append("committed"))
        assert ran == []
    with pytest.raises(RuntimeError):
        async with store.db.write():
            after_commit(lambda: ran.append("rolled back"))
            raise RuntimeError("abort")
    after_commit(lambda: ran.append("outside"))
    assert ran == ["committed", "outside"]


async def test_a_submit_holds_and_a_settle_captures_and_finishes_exactly_once(
    store: Store,
) -> None:
    owner = await open_account(store, 1000)
    held, captured = (
        sample("seedance_credits_held_total"),
        sample("seedance_credits_captured_total"),
    )
    succeeded = finished("succeeded")
    await submit(store, owner, 25)
    assert sample("seedance_credits_held_total") - held == 25
    (job,) = await store.jobs.claim("w1", 1, 30)
    assert await store.jobs.complete(job, Status.SUCCEEDED, result=RESULT)
    assert not await store.jobs.complete(job, Status.SUCCEEDED, result=RESULT)  # lease gone
    assert sample("seedance_credits_captured_total") - captured == 25
    assert finished("succeeded") - succeeded == 1


async def test_a_finish_rolled_back_counts_nothing(store: Store) -> None:
    owner = await open_account(store, 1000)
    task = await submit(store, owner, 30)
    released, cancelled = sample("seedance_credits_released_total"), finished("cancelled")
    with pytest.raises(RuntimeError):
        async with store.db.write() as conn:
            assert await finish(conn, task, Status.CANCELLED, error=None, result=None)
            raise RuntimeError("abort after the finish")
    assert (sample("seedance_credits_released_total"), finished("cancelled")) == (
        released,
        cancelled,
    )
    await store.tasks.cancel(task.id, owner.account_id)
    assert sample("seedance_credits_released_total") - released == 30
    assert finished("cancelled") - cancelled == 1


async def test_waiting_counts_the_due_jobs_of_each_kind_and_the_oldest_wait(store: Store) -> None:
    owner = await open_account(store, 1000)
    before = time.time()
    for _ in range(3):
        await submit(store, owner, 10)
    await submit(store, owner, 10, job_kind="upstream_submit")
    assert len(await store.jobs.claim("w1", 1, 30)) == 1  # running: no longer waiting
    (later,) = await store.jobs.claim("w1", 1, 30)
    assert await store.jobs.retry(later, "try again in an hour", delay_seconds=3600)  # not due
    await asyncio.sleep(0.2)
    waiting = {w.kind: w for w in await store.jobs.waiting()}
    assert {kind: w.depth for kind, w in waiting.items()} == {"generate": 1, "upstream_submit": 1}
    oldest = waiting["generate"].oldest_seconds
    assert 0.2 <= oldest <= time.time() - before  # it waits since it was queued, not before
