"""Signed, expiring URLs for a task's stored results (what every dialect hands out)."""

from __future__ import annotations

from dataclasses import dataclass

from seedance_gateway.blobs.signing import signed_url
from seedance_gateway.domain.tasks import Task


@dataclass(frozen=True, kw_only=True)
class ResultLinks:
    """Signed URLs for a task's results."""

    video_url: str | None
    last_frame_url: str | None


NO_LINKS = ResultLinks(video_url=None, last_frame_url=None)


def result_links(task: Task, *, base_url: str, secret: str, ttl_seconds: int) -> ResultLinks:
    """Fresh signed URLs for ``task``'s results (none before it succeeded)."""
    if task.result is None:
        return NO_LINKS
    base = base_url.rstrip("/")
    frame = task.result.last_frame_key
    return ResultLinks(
        video_url=signed_url(base, secret, task.result.video_key, ttl_seconds),
        last_frame_url=signed_url(base, secret, frame, ttl_seconds) if frame else None,
    )
