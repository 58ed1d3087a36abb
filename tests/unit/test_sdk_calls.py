"""The SDK's steps driven by hand: what is retried, what is never sent twice, how waiting ends.

The steps are generators that never touch the network (``client.calls``), so these tests feed
them the replies a server would give and read what they ask for next.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from seedance_gateway.client import calls
from seedance_gateway.client.calls import Call, Reply, Sleep
from seedance_gateway.client.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    InvalidRequest,
    RateLimited,
    ServerError,
    TaskFailed,
    WaitTimeout,
)


def task(status: str, progress: int = 0, **extra: Any) -> dict[str, Any]:
    return {"id": "gen_1", "status": status, "model": "m", "progress": progress, **extra}


def ok(body: Any) -> Reply:
    return Reply(200, {}, body)


def drive(step: Any, replies: list[Any]) -> tuple[list[Any], Any]:
    """Answers each Call with the next reply (Sleep with None); the ops asked for and the result."""
    ops, answer = [], None
    replies = list(replies)
    while True:
        try:
            op = step.send(answer)
        except StopIteration as stop:
            return ops, stop.value
        ops.append(op)
        answer = replies.pop(0) if isinstance(op, Call) else None


def test_a_create_carries_an_idempotency_key_and_is_retried_with_the_same_one() -> None:
    step = calls.create_generation("m", "p", {"duration": 5})
    unavailable = Reply(503, {"retry-after": "2"}, {"error": {"code": "busy", "message": "x"}})
    ops, created = drive(step, [ConnectionFailed("reset"), unavailable, ok(task("queued"))])
    sent = [op for op in ops if isinstance(op, Call)]
    assert len(sent) == 3
    keys = {op.headers["Idempotency-Key"] for op in sent}
    assert len(keys) == 1 and next(iter(keys)).startswith("sdk-")
    assert [op.seconds for op in ops if isinstance(op, Sleep)] == [0.5, 2.0]  # Retry-After wins
    assert sent[0].json == {"model": "m", "prompt": "p", "params": {"duration": 5}}
    assert created.id == "gen_1" and created.status == "queued"


def test_two_creates_get_different_keys_unless_one_is_given() -> None:
    first = next(calls.create_generation("m", "p"))
    second = next(calls.create_generation("m", "p"))
    given = next(calls.create_generation("m", "p", idempotency_key="mine"))
    assert first.headers["Idempotency-Key"] != second.headers["Idempotency-Key"]
    assert given.headers["Idempotency-Key"] == "mine"


def test_an_upload_is_never_sent_twice() -> None:
    step = calls.upload_file(Path("a.png"))
    with pytest.raises(ConnectionFailed):
        drive(step, [ConnectionFailed("reset")])
    step = calls.upload_file(Path("a.png"))
    with pytest.raises(ServerError) as caught:
        drive(step, [Reply(503, {}, {"error": {"code": "busy", "message": "later"}})])
    assert caught.value.code == "busy"


def test_refusals_are_not_retried_and_carry_code_message_and_request_id() -> None:
    refusal = Reply(
        400,
        {"x-request-id": "req_9"},
        {"error": {"code": "invalid_parameter", "message": "params.duration: must be 5 or 10"}},
    )
    with pytest.raises(InvalidRequest) as caught:
        drive(calls.get_generation("gen_1"), [refusal])
    error = caught.value
    assert (error.status, error.code, error.request_id) == (400, "invalid_parameter", "req_9")
    assert error.message == "params.duration: must be 5 or 10"
    assert str(error) == (
        "invalid_parameter: params.duration: must be 5 or 10 (HTTP 400, request req_9)"
    )
    with pytest.raises(AuthenticationFailed):
        drive(calls.credits(), [Reply(401, {}, {"error": {"code": "unauthorized"}})])


def test_a_read_gives_up_after_three_retries() -> None:
    limited = Reply(429, {"retry-after": "1"}, {"error": {"code": "rate_limited", "message": "x"}})
    with pytest.raises(RateLimited) as caught:
        drive(calls.credits(), [limited] * 4)
    assert caught.value.retry_after == 1.0


def test_wait_polls_less_often_and_returns_the_succeeded_task() -> None:
    seen: list[int] = []
    done = task("succeeded", 100, result={"primary_url": "http://h/v.mp4"})
    replies = [ok(task("queued")), ok(task("processing", 40)), ok(task("processing", 80)), ok(done)]
    ops, result = drive(calls.wait("gen_1", on_update=lambda t: seen.append(t.progress)), replies)
    assert [op.seconds for op in ops if isinstance(op, Sleep)] == [1.0, 1.5, 2.25]
    assert seen == [0, 40, 80, 100]
    assert result.video_url == "http://h/v.mp4"


def test_wait_raises_task_failed_with_the_task_and_its_code() -> None:
    failed = task("failed", error={"code": "OutputVideoSensitiveContentDetected", "message": "no"})
    with pytest.raises(TaskFailed) as caught:
        drive(calls.wait("gen_1"), [ok(failed)])
    assert caught.value.code == "OutputVideoSensitiveContentDetected"
    assert caught.value.task.status == "failed"


def test_wait_stops_after_its_timeout() -> None:
    with pytest.raises(WaitTimeout, match="still queued after 2 s"):
        drive(calls.wait("gen_1", timeout=2), [ok(task("queued"))] * 10)


def test_generate_uploads_local_files_and_passes_urls_as_they_are(tmp_path: Path) -> None:
    picture = tmp_path / "first.png"
    step = calls.generate(
        "m",
        "p",
        {"duration": 5},
        references=[(picture, "first_frame"), ("https://x/last.jpg", "last_frame")],
        wait_for_result=False,
    )
    uploaded = {"id": "file_1", "url": "http://h/api/v1/files/file_1/content", "kind": "image"}
    ops, created = drive(step, [ok(uploaded), ok(task("queued"))])
    upload, create = [op for op in ops if isinstance(op, Call)]
    assert upload.upload == picture
    assert upload.form == {"kind": "image"}  # guessed from the name
    assert create.json["params"]["referenceMediaItems"] == [
        {"url": uploaded["url"], "kind": "image", "role": "first_frame"},
        {"url": "https://x/last.jpg", "kind": "image", "role": "last_frame"},
    ]
    assert created.status == "queued"
