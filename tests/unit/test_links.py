"""Result links and retention: when a finished task's results expire, and no URL once gone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from seedance_gateway.domain.tasks import Status, Task, TaskResult
from seedance_gateway.links import NO_LINKS, result_links, results_expire_at

FINISHED = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


def _task(**changes: object) -> Task:
    task = Task(
        id="task_1",
        account_id="acct_1",
        api_key_id="key_1",
        dialect="public_v1",
        model="seedance-1-0-pro",
        model_alias="seedance-1-0-pro",
        request={},
        status=Status.SUCCEEDED,
        progress=100,
        quote=25,
        reserved_credits=25,
        final_credits=25,
        result=TaskResult(video_key="results/task_1/video.mp4", last_frame_key=None),
        error=None,
        created_at=FINISHED - timedelta(minutes=1),
        updated_at=FINISHED,
        finished_at=FINISHED,
    )
    return task.evolve(**changes)


def _links(task: Task, retention: timedelta | None = WEEK) -> object:
    return result_links(task, base_url="http://h", secret="s", ttl_seconds=60, retention=retention)


def test_results_expire_retention_after_the_task_finished() -> None:
    assert results_expire_at(_task(), WEEK) == FINISHED + WEEK
    links = result_links(_task(), base_url="http://h", secret="s", ttl_seconds=60, retention=WEEK)
    assert links.expires_at == FINISHED + WEEK and not links.expired
    assert links.video_url is not None and links.video_url.startswith("http://h/blobs/results/")


def test_kept_for_ever_or_nothing_stored_has_no_expiry() -> None:
    assert results_expire_at(_task(), None) is None
    assert results_expire_at(_task(result=None, status=Status.FAILED), WEEK) is None
    assert _links(_task(result=None, status=Status.FAILED)) == NO_LINKS


def test_collected_results_give_no_url_and_say_when_they_went() -> None:
    collected = FINISHED + WEEK + timedelta(minutes=3)
    links = result_links(
        _task(blobs_collected_at=collected),
        base_url="http://h",
        secret="s",
        ttl_seconds=60,
        retention=WEEK,
    )
    assert links.expired and links.video_url is None and links.last_frame_url is None
    assert links.expires_at == FINISHED + WEEK
    deleted = result_links(
        _task(blobs_collected_at=collected), base_url="h", secret="s", ttl_seconds=60
    )
    assert deleted.expired and deleted.expires_at == collected  # no retention: the deletion
