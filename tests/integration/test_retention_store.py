"""Retention's SQL on both backends: which tasks are due, and the one pending ``collect`` job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from integration_support import open_account, submit

from seedance_gateway.domain.tasks import Status, Task
from seedance_gateway.store import Store
from seedance_gateway.store.retention import COLLECT

RESULT = {"video_key": "results/x/video.mp4", "last_frame_key": None}


async def _run(store: Store, task: Task, status: Status) -> None:
    """Claims the task's job and settles it with ``status`` (as a worker does)."""
    [job] = await store.jobs.claim("w", 1, 60)
    assert job.task_id == task.id
    assert await store.jobs.start_task(job) is not None
    result = RESULT if status is Status.SUCCEEDED else None
    error = None if result else {"code": "x", "message": "failed"}
    assert await store.jobs.complete(job, status, result=result, error=error)


async def test_only_finished_tasks_before_the_cutoff_and_deleted_ones_are_due(
    store: Store,
) -> None:
    owner = await open_account(store, 1000)
    succeeded = await submit(store, owner)
    await _run(store, succeeded, Status.SUCCEEDED)
    failed = await submit(store, owner)
    await _run(store, failed, Status.FAILED)
    deleted = await submit(store, owner)
    await _run(store, deleted, Status.SUCCEEDED)
    await store.tasks.delete(deleted.id, owner.account_id)
    running = await submit(store, owner)
    [job] = await store.jobs.claim("w", 1, 60)
    assert await store.jobs.start_task(job) is not None
    queued = await submit(store, owner)
    later = datetime.now(UTC) + timedelta(seconds=5)
    earlier = datetime.now(UTC) - timedelta(hours=1)

    assert set(await store.retention.due(finished_before=later, limit=10)) == {
        succeeded.id,
        failed.id,
        deleted.id,
    }
    assert await store.retention.due(finished_before=earlier, limit=10) == [deleted.id]
    assert await store.retention.due(finished_before=None, limit=10) == [deleted.id]
    assert len(await store.retention.due(finished_before=later, limit=2)) == 2
    for live in (running, queued):
        assert (await store.tasks.get(live.id)).blobs_collected_at is None

    await store.retention.mark_collected([succeeded.id, deleted.id])
    await store.retention.mark_collected([succeeded.id])  # again: nothing changes
    assert await store.retention.due(finished_before=later, limit=10) == [failed.id]
    collected = await store.tasks.get(succeeded.id)
    assert collected.blobs_collected_at is not None
    assert collected.status is Status.SUCCEEDED and collected.result is not None


async def test_one_collect_job_is_pending_at_a_time(store: Store) -> None:
    assert await store.retention.schedule() is True
    assert await store.retention.schedule() is False
    [job] = await store.jobs.claim("w", 5, 60, (COLLECT,))
    assert job.kind == COLLECT and job.task_id is None
    assert await store.retention.schedule() is False  # running counts as pending
    assert await store.jobs.hand_off(job)
    assert await store.retention.schedule() is True
