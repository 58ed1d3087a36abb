"""A finished task's stored results: signed links to them, and the video or a still made from it.

Stills (a thumbnail, a spritesheet) are made from the stored video on first request and kept
beside it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from seedance_gateway.blobs import BlobStore
from seedance_gateway.domain.tasks import Task
from seedance_gateway.errors import InvalidState, NotFound
from seedance_gateway.links import ResultLinks, result_links
from seedance_gateway.media import stills

RESULT_GONE = "result_gone"  #: the task exists but its stored video does not
#: Stills made from a finished video on first request, then kept: variant -> (name, media type).
STILLS: dict[str, tuple[str, str, Callable[[Path], bytes]]] = {
    "thumbnail": ("thumbnail.webp", "image/webp", stills.thumbnail),
    "spritesheet": ("spritesheet.jpg", "image/jpeg", stills.spritesheet),
}


class Results:
    """Links to and assets of finished tasks."""

    def __init__(
        self, *, blobs: BlobStore, secret: str, public_url: str, url_ttl_seconds: int
    ) -> None:
        self.blobs = blobs
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
        )

    async def asset(self, task: Task, variant: str) -> tuple[Path, str]:
        """A finished task's video (``variant="video"``) or a still made from it, as a local
        path and media type."""
        if task.result is None:
            raise InvalidState(
                f"task {task.id} is {task.status}; its content is ready once it has succeeded"
            )
        video = self.blobs.local_path(task.result.video_key)
        if video is None:
            raise NotFound(f"the video of task {task.id} is no longer stored", code=RESULT_GONE)
        if variant == "video":
            return video, "video/mp4"
        name, media_type, make = STILLS[variant]
        key = f"results/{task.id}/{name}"
        path = self.blobs.local_path(key)
        if path is None:
            await self.blobs.put_bytes(key, await asyncio.to_thread(make, video))
            path = self.blobs.local_path(key)
        assert path is not None
        return path, media_type
