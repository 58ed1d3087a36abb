"""Retention: a finished task's blobs (its inputs and results) are deleted once it is older
than ``SEEDANCE_RESULT_TTL_DAYS``, a deleted task's at once, and a Files API upload once it is
older than ``SEEDANCE_UPLOAD_TTL_DAYS`` (when set).

Collection runs as one ``collect`` job on the queue, so it is leased, retried and shared by
every worker like any job: a worker's housekeeping queues it when none is pending, each run
deletes the blobs of the due tasks ``BATCH`` at a time, marking each collected, and the job then
waits ``SEEDANCE_COLLECT_INTERVAL_SECONDS`` for its next run (the same row: the jobs table does
not grow with the runs). Deleting a blob that
is already gone is a no-op, so a job that dies half way and runs again, or two jobs on the same
tasks, delete nothing twice and lose nothing. Only finished tasks are ever due, so the inputs a
queued or running task still needs stay; a reference uploaded through the Files API is copied
into the task (``inputs/<task>/``), so collecting a task never touches the caller's file.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from seedance_gateway.blobs import BlobStore
from seedance_gateway.store.files import FileStore
from seedance_gateway.store.retention import RetentionStore

log = logging.getLogger(__name__)
BATCH = 200
#: The blob folders a task owns.
TASK_FOLDERS = ("inputs/{task}/", "results/{task}/")


class Collector:
    """Deletes the blobs of tasks past their retention, and expired uploads (the ``collect``
    job's work)."""

    def __init__(
        self,
        *,
        store: RetentionStore,
        files: FileStore,
        blobs: BlobStore,
        retention: timedelta | None,
        upload_ttl: timedelta | None = None,
    ) -> None:
        self.store = store
        self.files = files
        self.blobs = blobs
        self.retention = retention
        self.upload_ttl = upload_ttl

    async def schedule(self) -> bool:
        """Queues a collection unless one is pending (called from every worker's housekeeping)."""
        return await self.store.schedule()

    async def collect(self) -> int:
        """Collects due tasks, then expired uploads, batch by batch; how many of them."""
        return await self._tasks() + await self._uploads()

    async def _uploads(self) -> int:
        """Deletes uploads older than their TTL: the bytes first, then the row, so a crash
        between the two leaves a row the next run deletes again, never stray bytes."""
        if self.upload_ttl is None:
            return 0
        total = 0
        while True:
            cutoff = datetime.now(UTC) - self.upload_ttl
            expired = await self.files.created_before(cutoff, limit=BATCH)
            for record in expired:
                await self.blobs.delete(record.blob_key)
                await self.files.remove([record.id])
            total += len(expired)
            if len(expired) < BATCH:
                if total:
                    log.info("deleted %d expired upload(s)", total)
                return total

    async def _tasks(self) -> int:
        total = 0
        while True:
            cutoff = datetime.now(UTC) - self.retention if self.retention else None
            due = await self.store.due(finished_before=cutoff, limit=BATCH)
            for task_id in due:  # marked one by one: a task's URLs stop as soon as its blobs go
                for folder in TASK_FOLDERS:
                    await self.blobs.delete_prefix(folder.format(task=task_id))
                await self.store.mark_collected([task_id])
            total += len(due)
            if len(due) < BATCH:
                if total:
                    log.info("collected the blobs of %d task(s)", total)
                return total
