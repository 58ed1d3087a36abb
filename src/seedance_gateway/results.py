"""A finished task's stored results: signed links to them, and the video or a still made from it.

Stills (a thumbnail, a spritesheet) are made from the stored video on first request and kept
beside it.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from seedance_gateway.blobs import BlobStore
from seedance_gateway.domain.tasks import Task
from seedance_gateway.errors import InvalidState, NotFound
from seedance_gateway.links import ResultLinks, result_links, results_expire_at
from seedance_gateway.media import stills
from seedance_gateway.scratch import Scratch

RESULT_GONE = "result_gone"  #: the task exists but its stored video does not
#: Stills made from a finished video on first request, then kept: variant -> (name, media type).
STILLS: dict[str, tuple[str, str, Callable[[Path], bytes]]] = {
    "thumbnail": ("thumbnail.webp", "image/webp", stills.thumbnail),
    "spritesheet": ("spritesheet.jpg", "image/jpeg", stills.spritesheet),
}


class Results:
    """Links to and assets of finished tasks."""

    def __init__(
        self,
        *,
        blobs: BlobStore,
        scratch: Scratch,
        secret: str,
        public_url: str,
        url_ttl_seconds: int,
        retention: timedelta | None = None,
    ) -> None:
        self.blobs = blobs
        self.scratch = scratch
        self.retention = retention
        self.secret = secret
        self.public_url = public_url
        self.url_ttl_seconds = url_ttl_seconds

    def links(self, task: Task, base_url: str) -> ResultLinks:
        """Fresh signed URLs for a task's stored results."""
        return result_links(
            task,
            base_url=self.public_url or base_url,
            secret=self.secret,
            ttl_seconds=self.url_ttl_seconds,
            retention=self.retention,
        )

    async def asset(self, task: Task, variant: str) -> tuple[str, str]:
        """A finished task's video (``variant="video"``) or a still made from it, as a blob
        key and media type."""
        if task.result is None:
            raise InvalidState(
                f"task {task.id} is {task.status}; its content is ready once it has succeeded"
            )
        if task.blobs_collected_at is not None:
            raise NotFound(self.expired_message(task), code=RESULT_GONE)
        video = task.result.video_key
        if await self.blobs.size(video) is None:
            raise NotFound(f"the video of task {task.id} is no longer stored", code=RESULT_GONE)
        if variant == "video":
            return video, "video/mp4"
        name, media_type, make = STILLS[variant]
        key = f"results/{task.id}/{name}"
        if await self.blobs.size(key) is None:
            await self.blobs.put_bytes(key, await self._still(video, make))
        return key, media_type

    def expiry(self, task: Task) -> datetime | None:
        """When the task's results are (or were) deleted; None while kept for ever."""
        if task.blobs_collected_at is not None:
            return results_expire_at(task, self.retention) or task.blobs_collected_at
        return results_expire_at(task, self.retention)

    def expired_message(self, task: Task) -> str:
        """Why a finished task has no results any more."""
        when = task.blobs_collected_at or task.finished_at
        kept = (
            f"results are kept for {self.retention.total_seconds() / 86400:g} days after a task "
            "ends"
            if self.retention is not None
            else "the task was deleted"
        )
        return f"the results of task {task.id} were deleted on {when:%Y-%m-%d} ({kept})"

    async def _still(self, video_key: str, make: Callable[[Path], bytes]) -> bytes:
        """A still made from the video, read into a scratch file first."""
        folder = self.scratch.folder_for("still")
        try:
            video = folder / "video.mp4"
            await self.blobs.download(video_key, video)
            return await asyncio.to_thread(make, video)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
