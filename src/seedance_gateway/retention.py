"""Retention: a finished task's blobs (its inputs and results) are deleted once it is older
than ``SEEDANCE_RESULT_TTL_DAYS``, and a deleted task's at once.

Collection runs as ``collect`` jobs on the queue, so it is leased, retried and shared by every
worker like any job: each worker's housekeeping queues one when none is pending, and the job
deletes the blobs of up to ``BATCH`` due tasks, then marks them collected. Deleting a blob that
is already gone is a no-op, so a job that dies half way and runs again, or two jobs on the same
tasks, delete nothing twice and lose nothing. Only finished tasks are ever due, so the inputs a
queued or running task still needs stay; a reference uploaded through the Files API is copied
into the task (``inputs/<task>/``), so collecting a task never touches the caller's file.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from seedance_gateway.blobs import BlobStore
from seedance_gateway.store.retention import RetentionStore

log = logging.getLogger(__name__)
BATCH = 200
#: The blob folders a task owns.
TASK_FOLDERS = ("inputs/{task}/", "results/{task}/")


class Collector:
    """Deletes the blobs of tasks past their retention (the ``collect`` job's work)."""

    def __init__(
        self, *, store: RetentionStore, blobs: BlobStore, retention: timedelta | None
    ) -> None:
        self.store = store
        self.blobs = blobs
        self.retention = retention

    async def schedule(self) -> bool:
        """Queues a collection unless one is pending (called from every worker's housekeeping)."""
        return await self.store.schedule()

    async def collect(self) -> int:
        """Collects due tasks batch by batch until none is left; how many tasks."""
        total = 0
        while True:
            cutoff = datetime.now(UTC) - self.retention if self.retention else None
            due = await self.store.due(finished_before=cutoff, limit=BATCH)
            for task_id in due:
                for folder in TASK_FOLDERS:
                    await self.blobs.delete_prefix(folder.format(task=task_id))
            await self.store.mark_collected(due)
            total += len(due)
            if len(due) < BATCH:
                if total:
                    log.info("collected the blobs of %d task(s)", total)
                return total
