"""Signed, expiring URLs for a task's stored results (what every dialect hands out), and when
those results are deleted under the retention setting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from seedance_gateway.blobs.signing import signed_url
from seedance_gateway.domain.tasks import Task


@dataclass(frozen=True, kw_only=True)
class ResultLinks:
    """Signed URLs for a task's results, and when the results are (or were) deleted."""

    video_url: str | None
    last_frame_url: str | None
    expires_at: datetime | None = None  #: None: kept for ever (or nothing to keep)
    expired: bool = False  #: the results were deleted: no URL is given


NO_LINKS = ResultLinks(video_url=None, last_frame_url=None)


def results_expire_at(task: Task, retention: timedelta | None) -> datetime | None:
    """When a finished task's stored results are deleted (None: kept, or nothing stored)."""
    if task.result is None or task.finished_at is None or retention is None:
        return None
    return task.finished_at + retention


def result_links(
    task: Task,
    *,
    base_url: str,
    secret: str,
    ttl_seconds: int,
    retention: timedelta | None = None,
) -> ResultLinks:
    """Fresh signed URLs for ``task``'s results (none before it succeeded or once deleted)."""
    if task.result is None:
        return NO_LINKS
    expires_at = results_expire_at(task, retention)
    if task.blobs_collected_at is not None:
        return ResultLinks(
            video_url=None,
            last_frame_url=None,
            expires_at=expires_at or task.blobs_collected_at,
            expired=True,
        )
    base = base_url.rstrip("/")
    frame = task.result.last_frame_key
    return ResultLinks(
        video_url=signed_url(base, secret, task.result.video_key, ttl_seconds),
        last_frame_url=signed_url(base, secret, frame, ttl_seconds) if frame else None,
        expires_at=expires_at,
    )
