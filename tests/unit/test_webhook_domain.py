"""Webhook values (domain.webhooks), task snapshots (Task.to_json) and event-type checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from seedance_gateway.domain import webhooks as wh
from seedance_gateway.domain.tasks import Status, Task, TaskError, TaskResult
from seedance_gateway.errors import ValidationFailed
from seedance_gateway.webhooks.manage import check_event_types

T0 = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
EXPIRES = T0 + timedelta(hours=24)


def endpoint(previous: str | None = "whsec_old", expires: datetime | None = EXPIRES) -> wh.Endpoint:
    """An endpoint mid-rotation (by default) whose old secret expires at ``EXPIRES``."""
    return wh.Endpoint(
        id="wh_1",
        account_id="acct_1",
        url="https://example.com/hook",
        description="",
        event_types=wh.DEFAULT_EVENT_TYPES,
        enabled=True,
        disabled_reason=None,
        secret="whsec_new",
        previous_secret=previous,
        previous_secret_expires_at=expires,
        created_at=T0,
        updated_at=T0,
    )


def task(**changes: object) -> Task:
    """A finished task with every optional field filled in."""
    base = Task(
        id="task_1",
        account_id="acct_1",
        api_key_id="key_1",
        dialect="openai",
        model="seedance-1-pro",
        model_alias="seedance",
        request={"prompt": "a cat", "duration": 5, "refs": [{"url": "https://x/y.png"}]},
        status=Status.SUCCEEDED,
        progress=100,
        quote=40,
        reserved_credits=40,
        final_credits=38,
        result=TaskResult(
            video_key="results/task_1/video.mp4",
            last_frame_key="results/task_1/last.png",
            duration=5.04,
            width=1280,
            height=720,
        ),
        error=TaskError(code="none", message="kept to test the round trip"),
        created_at=T0,
        updated_at=T0 + timedelta(seconds=90, microseconds=123_456),
        started_at=T0 + timedelta(seconds=1),
        finished_at=T0 + timedelta(seconds=90, microseconds=123_456),
        expires_at=T0 + timedelta(days=2),
        client_request_id="req-42",
    )
    return base.evolve(**changes)


def test_during_the_grace_period_both_secrets_sign() -> None:
    """Before the old secret expires, deliveries carry (current, previous), current first."""
    hook = endpoint()
    assert hook.signing_secrets(T0) == ("whsec_new", "whsec_old")
    assert hook.signing_secrets(EXPIRES - timedelta(microseconds=1)) == ("whsec_new", "whsec_old")


@pytest.mark.parametrize("at", [EXPIRES, EXPIRES + timedelta(seconds=1)])
def test_after_the_grace_period_only_the_current_secret_signs(at: datetime) -> None:
    """At and after the expiry the previous secret is dropped."""
    assert endpoint().signing_secrets(at) == ("whsec_new",)


def test_without_a_previous_secret_only_the_current_one_signs() -> None:
    """No rotation (previous None, with or without an expiry) means one secret."""
    assert endpoint(previous=None, expires=None).signing_secrets(T0) == ("whsec_new",)
    assert endpoint(previous=None).signing_secrets(T0) == ("whsec_new",)


def test_a_previous_secret_without_an_expiry_does_not_sign() -> None:
    """An old secret with no grace deadline is not used."""
    assert endpoint(expires=None).signing_secrets(T0) == ("whsec_new",)


@pytest.mark.parametrize(
    ("status", "event"),
    [
        (Status.QUEUED, "generation.queued"),
        (Status.RUNNING, "generation.processing"),
        (Status.SUCCEEDED, "generation.succeeded"),
        (Status.FAILED, "generation.failed"),
        (Status.EXPIRED, "generation.failed"),
        (Status.CANCELLED, "generation.cancelled"),
    ],
)
def test_every_status_raises_its_documented_event(status: Status, event: str) -> None:
    """Expired is reported as generation.failed; running as generation.processing."""
    assert wh.event_type_for(status) == event


def test_every_status_has_an_event_type() -> None:
    """No status is left unmapped (a new one would raise KeyError at delivery time)."""
    mapped = {wh.event_type_for(status) for status in Status}
    assert mapped == {*wh.EVENT_TYPES, wh.QUEUED}


def test_the_default_subscription_is_a_subset_of_the_allowed_types() -> None:
    """Endpoints get succeeded and failed by default, both subscribable; queued is not."""
    assert set(wh.DEFAULT_EVENT_TYPES) < set(wh.EVENT_TYPES)
    assert wh.DEFAULT_EVENT_TYPES == ("generation.succeeded", "generation.failed")
    assert wh.QUEUED not in wh.EVENT_TYPES


def test_a_task_snapshot_round_trips_exactly() -> None:
    """from_json(to_json(task)) is the same task, result, error and times included."""
    original = task()
    assert Task.from_json(original.to_json()) == original


def test_a_task_without_optional_parts_round_trips_exactly() -> None:
    """None result, error and optional times survive the round trip as None."""
    original = task(
        status=Status.QUEUED,
        result=None,
        error=None,
        started_at=None,
        finished_at=None,
        expires_at=None,
        client_request_id=None,
    )
    restored = Task.from_json(original.to_json())
    assert restored == original
    assert restored.result is None and restored.error is None and restored.started_at is None


def test_a_round_trip_keeps_types_and_time_zones() -> None:
    """Status is a Status again, result a TaskResult, and an offset stays the same offset."""
    tokyo = timezone(timedelta(hours=9))
    original = task(created_at=datetime(2030, 1, 1, 21, 0, tzinfo=tokyo))
    restored = Task.from_json(original.to_json())
    assert restored.status is Status.SUCCEEDED
    assert isinstance(restored.result, TaskResult)
    assert isinstance(restored.error, TaskError)
    assert restored.created_at.utcoffset() == timedelta(hours=9)


def test_a_task_snapshot_is_plain_json() -> None:
    """to_json gives strings for status and times, and survives json.dumps / loads."""
    snapshot = task().to_json()
    assert snapshot["status"] == "succeeded"
    assert snapshot["created_at"] == "2030-01-01T12:00:00+00:00"
    assert snapshot["result"]["video_key"] == "results/task_1/video.mp4"
    assert snapshot["error"] == {"code": "none", "message": "kept to test the round trip"}
    reloaded = json.loads(json.dumps(snapshot))
    assert reloaded == snapshot
    assert Task.from_json(reloaded) == task()


def test_check_event_types_removes_duplicates_keeping_order() -> None:
    """Repeats are dropped; the first occurrence decides the order."""
    kinds = ["generation.failed", "generation.succeeded", "generation.failed"]
    assert check_event_types(kinds) == ("generation.failed", "generation.succeeded")


def test_check_event_types_accepts_every_subscribable_type() -> None:
    """The four endpoint event types pass unchanged."""
    assert check_event_types(wh.EVENT_TYPES) == wh.EVENT_TYPES


def test_an_empty_list_of_event_types_names_the_field() -> None:
    """Nothing chosen is a validation_failed on the given field."""
    with pytest.raises(ValidationFailed, match="event_types must not be empty") as caught:
        check_event_types(())
    assert caught.value.field == "event_types"
    assert caught.value.code == "validation_failed"
    with pytest.raises(ValidationFailed) as named:
        check_event_types([], field="event_type")
    assert named.value.field == "event_type"


def test_an_unknown_event_type_lists_the_allowed_ones() -> None:
    """The message quotes the bad type and names every allowed type."""
    with pytest.raises(ValidationFailed) as caught:
        check_event_types(("generation.succeeded", "task.done"))
    message = caught.value.message
    assert "'task.done'" in message
    assert all(kind in message for kind in wh.EVENT_TYPES)
    assert caught.value.field == "event_types"


def test_queued_is_only_allowed_as_an_extra() -> None:
    """generation.queued is refused for endpoints and admitted when passed as ``extra``."""
    with pytest.raises(ValidationFailed, match=r"generation\.queued"):
        check_event_types(("generation.queued",))
    kinds = ("generation.queued", "generation.succeeded")
    assert check_event_types(kinds, extra=(wh.QUEUED,)) == kinds
