"""The upstream-shaped dialect ``/api/v3/contents/generations/tasks`` over raw HTTP, end to end.

Real ``seedance`` processes on both backends: callbacks on every status change (a real local
receiver), ``execution_expires_after`` enforced by a worker, one key reading the same task through
``/api/v3`` and ``/api/v1``, the task object's details (frames or duration, usage tokens, the
ratio ``adaptive`` chose, seeds, nulls, text commands), the ``Idempotency-Key`` extension and the
upstream error envelope. Facts: research/ark-official-api.md §1-§3 (§3.3 callbacks).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from PIL import Image
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import create_async_engine

from seedance_gateway.store import tables

from .receiver import Receiver, Record, verify, wait_for
from .support import PROMPT, TERMINAL, create, credits, download, png_data_url, probe, small

TASKS = "/api/v3/contents/generations/tasks"
MODEL = "seedance-1-0-pro"
CGT_ID = re.compile(r"^cgt-(\d{14})-([0-9a-hjkmnp-tv-z]{26})$")
#: Loopback callbacks over plain HTTP, a short retry schedule.
HOOKS = {
    "allow_private_urls": "true",
    "webhook_allow_http": "true",
    "webhook_schedule": "0.3,0.3",
    "webhook_timeout_seconds": "2",
}
#: Keys of every task object (plus ``duration`` or ``frames``; ``content`` and ``usage`` once
#: succeeded; ``safety_identifier`` and ``priority`` when sent).
TASK_KEYS = {
    "id",
    "model",
    "status",
    "error",
    "created_at",
    "updated_at",
    "seed",
    "resolution",
    "ratio",
    "framespersecond",
    "service_tier",
    "execution_expires_after",
    "generate_audio",
    "draft",
}
DONE_KEYS = {"content", "usage"}
#: Standard Webhooks headers on every callback.
WEBHOOK_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
#: Every optional top-level field, as the official SDK sends them when unset.
NULL_FIELDS = (
    "resolution",
    "ratio",
    "duration",
    "frames",
    "seed",
    "camera_fixed",
    "watermark",
    "generate_audio",
    "return_last_frame",
    "service_tier",
    "execution_expires_after",
    "callback_url",
    "draft",
    "priority",
    "safety_identifier",
    "tools",
    "output_format",
    "omni_reference_task_type",
)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A started callback receiver on a free port."""
    with Receiver() as started:
        yield started


# --- helpers ---------------------------------------------------------------------------------


def body(text: str = PROMPT, model: str = MODEL, **fields: Any) -> dict[str, Any]:
    """A cheap create body: 480p, 2 s (override or drop with ``None``), plus ``fields``."""
    merged = {"resolution": "480p", "duration": 2, **fields}
    content = [{"type": "text", "text": text}]
    return {
        "model": model,
        "content": content,
        **{k: v for k, v in merged.items() if v is not None},
    }


def submit(
    client: httpx.Client, payload: dict[str, Any], headers: dict[str, str] | None = None
) -> str:
    """``POST /api/v3/.../tasks``; asserts ``200 {"id": "cgt-..."}`` and returns the id."""
    response = client.post(TASKS, json=payload, headers=headers)
    assert response.status_code == 200, response.text
    created = response.json()
    assert CGT_ID.match(created["id"]), created
    task_id: str = created["id"]
    return task_id


def get(client: httpx.Client, task_id: str) -> dict[str, Any]:
    """``GET /api/v3/.../tasks/{id}``, asserting ``200``."""
    response = client.get(f"{TASKS}/{task_id}")
    assert response.status_code == 200, response.text
    task: dict[str, Any] = response.json()
    return task


def wait(client: httpx.Client, task_id: str, statuses: set[str], timeout: float = 120) -> Any:
    """Polls the v3 GET until the status is one of ``statuses``."""

    def reached() -> dict[str, Any] | None:
        task = get(client, task_id)
        return task if task["status"] in statuses else None

    return wait_for(reached, timeout, f"{task_id} in {sorted(statuses)}")


def succeed(client: httpx.Client, task_id: str) -> dict[str, Any]:
    """Waits for a terminal status and asserts ``succeeded``."""
    task: dict[str, Any] = wait(client, task_id, TERMINAL)
    assert task["status"] == "succeeded", task
    return task


def our_id(cgt_id: str) -> str:
    """The ``task_<body>`` spelling of a ``cgt-<stamp>-<body>`` id."""
    match = CGT_ID.match(cgt_id)
    assert match, cgt_id
    return f"task_{match.group(2)}"


def ark_error(response: httpx.Response, status: int, code: str, param: str = "") -> str:
    """Asserts the upstream error envelope; returns the message."""
    assert response.status_code == status, (response.status_code, response.text)
    error = response.json()["error"]
    assert set(response.json()) == {"error"}, response.text
    assert set(error) == {"code", "message", "param", "type"}, error
    assert error["code"] == code, error
    assert error["param"] == param, error
    request_id = response.headers["x-request-id"]
    assert error["message"].endswith(f"Request id: {request_id}"), error
    message: str = error["message"]
    return message


def shape(task: dict[str, Any]) -> None:
    """Asserts the task object's keys and types for its status."""
    length = {"frames"} if "frames" in task else {"duration"}
    done = DONE_KEYS if task["status"] == "succeeded" else set()
    optional = {"safety_identifier", "priority"}
    assert TASK_KEYS | length | done <= set(task) <= TASK_KEYS | length | done | optional, task
    assert CGT_ID.match(task["id"]), task
    for name in ("created_at", "updated_at", "seed", "framespersecond"):
        assert type(task[name]) is int, (name, task)
    assert abs(task["created_at"] - time.time()) < 600, task
    assert task["created_at"] <= task["updated_at"], task
    assert task["framespersecond"] == 24
    assert (task["error"] is None) == (task["status"] not in {"failed", "expired"}), task


def unsigned(value: Any) -> Any:
    """``value`` with every URL stripped of its query (signatures and expiries differ)."""
    if isinstance(value, dict):
        return {k: unsigned(v) for k, v in value.items()}
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return urlunsplit(urlsplit(value)._replace(query=""))
    return value


def tokens(width: int, height: int, frames: int) -> int:
    """The upstream's ``usage.completion_tokens``: W x H x frames / 1024."""
    return width * height * frames // 1024


def move_deadline(database_url: str, task_id: str, when: datetime) -> None:
    """Sets ``tasks.expires_at`` of ``task_id`` directly in the database."""

    async def run() -> None:
        engine = create_async_engine(database_url)
        try:
            async with engine.begin() as conn:
                changed = await conn.execute(
                    update(tables.tasks).where(tables.tasks.c.id == task_id).values(expires_at=when)
                )
                assert changed.rowcount == 1, task_id
        finally:
            await engine.dispose()

    asyncio.run(run())


def stored_request(database_url: str, task_id: str) -> dict[str, Any]:
    """The canonical request a task was stored with (``tasks.request``)."""

    async def run() -> dict[str, Any]:
        engine = create_async_engine(database_url)
        try:
            async with engine.connect() as conn:
                query = select(tables.tasks.c.request).where(tables.tasks.c.id == task_id)
                found: dict[str, Any] = (await conn.execute(query)).scalar_one()
                return found
        finally:
            await engine.dispose()

    return asyncio.run(run())


def callbacks(receiver: Receiver, path: str, count: int) -> list[Record]:
    """Waits for exactly ``count`` callbacks at ``path`` (and a moment for any extra)."""
    receiver.wait_for_requests(count, path, timeout=60)
    time.sleep(1.0)  # past the 0.3 s retry delays: nothing more may arrive
    found = receiver.records(path)
    assert len(found) == count, [r.json()["status"] for r in found]
    return found


# --- callbacks (§3.3) --------------------------------------------------------------------------


def test_callback_url_gets_the_task_object_on_every_status_change(
    server_factory: Any, receiver: Receiver
) -> None:
    """queued, running, succeeded: each the GET object, no envelope, signed (Standard Webhooks)."""
    server = server_factory(**HOOKS)
    with server.client() as client:
        task_id = submit(client, body(callback_url=receiver.url("/cb")))
        final = succeed(client, task_id)
        secret = client.get("/api/v1/webhooks/callback-secret").json()["secret"]
        records = callbacks(receiver, "/cb", 3)
    sent = [verify(record, secret) for record in records]
    assert sorted(r["status"] for r in sent) == ["queued", "running", "succeeded"], sent
    order = {"queued": 0, "running": 1, "succeeded": 2}
    by_time = sorted(sent, key=lambda r: (r["updated_at"], order[r["status"]]))
    assert [r["status"] for r in by_time] == ["queued", "running", "succeeded"], sent
    for record, task in zip(records, sent, strict=True):
        assert all(record.headers.get(name) for name in WEBHOOK_HEADERS), record.headers
        assert record.headers["content-type"] == "application/json"
        assert record.method == "POST"
        shape(task)
        assert task["id"] == task_id and task["model"] == MODEL
        assert task["created_at"] == final["created_at"]
    assert len({r.headers["webhook-id"] for r in records}) == 3
    [done] = [r for r in sent if r["status"] == "succeeded"]
    assert unsigned(done) == unsigned(final)
    for early in (r for r in sent if r["status"] != "succeeded"):
        assert DONE_KEYS.isdisjoint(early), early
        same = {k: v for k, v in final.items() if k not in {"status", "updated_at", *DONE_KEYS}}
        assert {k: early[k] for k in same} == same
    video = probe(download(done["content"]["video_url"]))
    assert (video.width, video.height) == (864, 480)
    assert video.frames == 48 and video.codec == "h264", video


def test_a_task_cancelled_while_queued_calls_back_cancelled(
    server_factory: Any, receiver: Receiver
) -> None:
    """DELETE of a queued task: a ``cancelled`` callback (after ``queued``), credits released."""
    server = server_factory(start=False, **HOOKS)
    server.start("--no-worker")
    with server.client() as client:
        before = credits(client)
        task_id = submit(client, body(callback_url=receiver.url("/cancel")))
        assert credits(client) < before
        deleted = client.delete(f"{TASKS}/{task_id}")
        assert deleted.status_code == 200 and deleted.json() == {}, deleted.text
        cancelled = get(client, task_id)
        assert credits(client) == before
        server.spawn("worker")  # delivers what the API process queued
        records = callbacks(receiver, "/cancel", 2)
        secret = client.get("/api/v1/webhooks/callback-secret").json()["secret"]
    sent = {verify(r, secret)["status"]: r.json() for r in records}
    assert set(sent) == {"queued", "cancelled"}, sent
    assert cancelled["status"] == "cancelled"
    shape(sent["cancelled"])
    assert sent["cancelled"] == cancelled
    assert sent["queued"]["id"] == task_id


def test_a_callback_url_that_is_not_public_is_refused_at_create(shared_server: Any) -> None:
    """Private, loopback, plain-HTTP or malformed callback URLs: ``400`` naming callback_url."""
    key, _ = shared_server.create_key(100)
    with shared_server.client(key) as client:
        for url in (
            "http://10.0.0.1/x",
            "https://10.0.0.1/x",
            "https://127.0.0.1:9/x",
            "https://169.254.169.254/latest",
            "not a url",
            "",
        ):
            refused = client.post(TASKS, json=body(callback_url=url))
            ark_error(refused, 400, "InvalidParameter", "callback_url")
        assert credits(client) == 100
        listed = client.get(TASKS).json()
    assert listed == {"total": 0, "items": []}


# --- execution_expires_after -----------------------------------------------------------------


def test_execution_expires_after_is_enforced_by_the_worker(
    server_factory: Any, database_url: str, receiver: Receiver
) -> None:
    """Past its deadline a queued task expires: status and error ``expired``, credits released,
    an ``expired`` callback."""
    server = server_factory(start=False, **HOOKS)
    server.start("--no-worker")
    with server.client() as client:
        before = credits(client)
        payload = body(execution_expires_after=3600, callback_url=receiver.url("/expiry"))
        task_id = submit(client, payload)
        queued = get(client, task_id)
        assert queued["status"] == "queued" and queued["execution_expires_after"] == 3600
        assert credits(client) < before
        move_deadline(database_url, our_id(task_id), datetime.now(UTC) - timedelta(minutes=1))
        server.spawn("worker")
        expired = wait(client, task_id, TERMINAL, timeout=60)
        assert credits(client) == before
        v1 = client.get(f"/api/v1/generations/{task_id}").json()
        records = callbacks(receiver, "/expiry", 2)
    assert expired["status"] == "expired", expired
    shape(expired)
    assert expired["error"]["code"] == "expired" and expired["error"]["message"], expired
    assert expired["execution_expires_after"] == 3600
    assert DONE_KEYS.isdisjoint(expired)
    assert v1["status"] == "expired" and v1["final_credits"] == 0, v1
    sent = {r.json()["status"]: r.json() for r in records}
    assert set(sent) == {"queued", "expired"}, sent
    assert sent["expired"] == expired


def test_execution_expires_after_bounds(queue_server: Any) -> None:
    """3600..259200 s are taken and echoed; 3599 and 259201 are ``400`` naming the field."""
    with queue_server.client() as client:
        for seconds in (3599, 259201, 0, -1):
            refused = client.post(TASKS, json=body(execution_expires_after=seconds))
            ark_error(refused, 400, "InvalidParameter", "execution_expires_after")
        wrong_type = client.post(TASKS, json=body(execution_expires_after="3600"))
        ark_error(wrong_type, 400, "InvalidParameter", "execution_expires_after")
        for seconds in (3600, 259200):
            task = get(client, submit(client, body(execution_expires_after=seconds)))
            assert task["execution_expires_after"] == seconds, task
        default = get(client, submit(client, body()))
    assert default["execution_expires_after"] == 172800


# --- one key, both dialects ------------------------------------------------------------------


def test_one_key_reads_a_task_through_v3_and_v1(shared_server: Any) -> None:
    """Created via v3: readable via v1 by either id; created via v1: readable, listed and
    deleted via v3; another account sees none of it."""
    key, _ = shared_server.create_key(1000)
    other_key, _ = shared_server.create_key(1000)
    with shared_server.client(key) as client, shared_server.client(other_key) as other:
        v3_id = submit(client, body())
        by_cgt = client.get(f"/api/v1/generations/{v3_id}")
        assert by_cgt.status_code == 200, by_cgt.text
        assert by_cgt.json()["id"] == our_id(v3_id)
        by_ours = client.get(f"/api/v1/generations/{our_id(v3_id)}")
        assert by_ours.status_code == 200 and by_ours.json()["id"] == our_id(v3_id)

        v1_task = create(client, small())
        v1_id = v1_task["id"]
        assert v1_id.startswith("task_")
        read = get(client, v1_id)
        cgt = read["id"]
        assert our_id(cgt) == v1_id
        again = get(client, cgt)
        assert (again["id"], again["created_at"], again["seed"]) == (
            cgt,
            read["created_at"],
            read["seed"],
        )
        assert read["resolution"] == "480p" and read["duration"] == 5, read
        listed = client.get(TASKS).json()
        assert listed["total"] == 2, listed
        assert [t["id"] for t in listed["items"]] == [cgt, v3_id]
        for spelling in (cgt, v1_id):
            only = client.get(TASKS, params={"filter.task_ids": spelling}).json()
            assert [t["id"] for t in only["items"]] == [cgt], (spelling, only)

        for path in (
            f"{TASKS}/{v3_id}",
            f"{TASKS}/{our_id(v3_id)}",
            f"{TASKS}/{cgt}",
            f"{TASKS}/{v1_id}",
            f"/api/v1/generations/{v3_id}",
            f"/api/v1/generations/{v1_id}",
        ):
            assert other.get(path).status_code == 404, path
        ark_error(other.delete(f"{TASKS}/{cgt}"), 404, "NotFound")
        ark_error(other.get(f"{TASKS}/{cgt}"), 404, "NotFound")
        assert other.get(TASKS).json() == {"total": 0, "items": []}

        succeed(client, cgt)
        deleted = client.delete(f"{TASKS}/{cgt}")
        assert deleted.status_code == 200 and deleted.json() == {}, deleted.text
        assert client.get(f"/api/v1/generations/{v1_id}").status_code == 404
        ark_error(client.get(f"{TASKS}/{v1_id}"), 404, "NotFound")
        ark_error(client.delete(f"{TASKS}/{cgt}"), 404, "NotFound")
        remaining = client.get(TASKS).json()
        v1_listed = client.get("/api/v1/generations").json()["data"]
        succeed(client, v3_id)
    assert remaining["total"] == 1, remaining
    assert [t["id"] for t in remaining["items"]] == [v3_id], remaining
    assert [t["id"] for t in v1_listed] == [our_id(v3_id)], v1_listed


# --- the task object (§3) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "fields", "size", "frames", "rendered"),
    [
        (MODEL, {"frames": 29, "duration": None}, (864, 480), 29, 29),
        (MODEL, {}, (864, 480), 49, 48),
        ("seedance-1-5-pro", {"duration": 4}, (864, 496), 97, 96),
    ],
    ids=["1.0-frames-29", "1.0-duration-2", "1.5-duration-4"],
)
def test_length_and_usage_of_a_succeeded_task(
    shared_server: Any,
    model: str,
    fields: dict[str, Any],
    size: tuple[int, int],
    frames: int,
    rendered: int,
) -> None:
    """``frames`` or ``duration`` is echoed (never both); usage = W x H x frames / 1024, where
    seconds count ``24 x d + 1`` frames (the preview renders ``24 x d``)."""
    with shared_server.client() as client:
        task = succeed(client, submit(client, body(model=model, **fields)))
    shape(task)
    asked = {"duration": 2, **fields}
    if asked.get("frames"):
        assert task["frames"] == asked["frames"] and "duration" not in task, task
    else:
        assert task["duration"] == asked["duration"] and "frames" not in task, task
    assert task["model"] == model and task["resolution"] == "480p" and task["ratio"] == "16:9"
    expected = tokens(*size, frames)
    assert task["usage"] == {"completion_tokens": expected, "total_tokens": expected}, task
    assert task["service_tier"] == "default" and task["draft"] is False
    video = probe(download(task["content"]["video_url"]))
    assert (video.width, video.height, video.frames) == (*size, rendered), video


def test_adaptive_ratio_echoes_the_ratio_of_the_first_frame(shared_server: Any) -> None:
    """``ratio: adaptive`` with a 9:16 first frame echoes ``9:16`` and renders 480x864."""
    image = png_data_url(Image.new("RGB", (360, 640), (200, 40, 40)))
    payload = body(ratio="adaptive")
    payload["content"].append(
        {"type": "image_url", "image_url": {"url": image}, "role": "first_frame"}
    )
    with shared_server.client() as client:
        task = succeed(client, submit(client, payload))
    assert task["ratio"] == "9:16", task
    expected = tokens(480, 864, 49)
    assert task["usage"]["completion_tokens"] == expected, task
    video = probe(download(task["content"]["video_url"]))
    assert (video.width, video.height) == (480, 864), video


def test_seed_minus_one_or_absent_echoes_a_concrete_seed(queue_server: Any) -> None:
    """-1, absent and null all become a concrete seed >= 0; a given seed is echoed as is."""
    with queue_server.client() as client:
        chosen = [get(client, submit(client, body(**f)))["seed"] for f in ({"seed": -1}, {})]
        nulled = {**body(), "seed": None}
        chosen.append(get(client, submit(client, nulled))["seed"])
        given = get(client, submit(client, body(seed=123456)))
    assert all(type(s) is int and 0 <= s <= 2**32 - 1 for s in chosen), chosen
    assert given["seed"] == 123456


def test_safety_identifier_is_echoed_on_create_get_and_list(queue_server: Any) -> None:
    """``safety_identifier`` comes back from create, GET and the list."""
    key, _ = queue_server.create_key(1000)
    with queue_server.client(key) as client:
        created = client.post(TASKS, json=body(safety_identifier="user-42"))
        assert created.status_code == 200, created.text
        task_id = created.json()["id"]
        assert created.json() == {"id": task_id, "safety_identifier": "user-42"}
        plain = submit(client, body())
        task = get(client, task_id)
        listed = client.get(TASKS).json()
        too_long = client.post(TASKS, json=body(safety_identifier="x" * 65))
        ark_error(too_long, 400, "InvalidParameter", "safety_identifier")
    assert task["safety_identifier"] == "user-42"
    shape(task)
    items = {t["id"]: t for t in listed["items"]}
    assert set(items) == {task_id, plain}
    assert items[task_id] == task
    assert "safety_identifier" not in items[plain]


def test_json_null_for_every_optional_field_is_taken_as_absent(queue_server: Any) -> None:
    """The official SDK sends ``null`` for each unset field; the defaults apply."""
    payload = {
        "model": MODEL,
        "content": [{"type": "text", "text": PROMPT}],
        **dict.fromkeys(NULL_FIELDS),
    }
    with queue_server.client() as client:
        task = get(client, submit(client, payload))
    shape(task)
    assert task["status"] == "queued"
    assert (task["resolution"], task["ratio"], task["duration"]) == ("1080p", "16:9", 5), task
    assert task["execution_expires_after"] == 172800 and task["service_tier"] == "default"
    assert task["generate_audio"] is False and task["draft"] is False
    assert "safety_identifier" not in task and "priority" not in task


def test_text_commands_apply_and_a_body_field_wins(queue_server: Any) -> None:
    """``--rs 480p --dur 2 --wm true`` in the text apply; a body ``resolution`` beats ``--rs``."""
    text = f"{PROMPT} --rs 480p --dur 2 --wm true"
    with queue_server.client() as client:
        commanded = get(client, submit(client, body(text, resolution=None, duration=None)))
        overridden = get(client, submit(client, body(text, resolution="720p", duration=None)))
    assert (commanded["resolution"], commanded["duration"]) == ("480p", 2), commanded
    assert (overridden["resolution"], overridden["duration"]) == ("720p", 2), overridden
    database_url = queue_server.env["SEEDANCE_DATABASE_URL"]
    for task in (commanded, overridden):
        stored = stored_request(database_url, our_id(task["id"]))
        assert stored["watermark"] is True, stored
        assert stored["prompt"] == PROMPT, stored  # the commands are not part of the prompt


# --- Idempotency-Key (our extension) ---------------------------------------------------------


def test_idempotency_key_replays_and_conflicts(queue_server: Any) -> None:
    """Same key and body: the same id, ``Idempotent-Replayed: true``, one charge; another body:
    ``409`` with ``x-should-retry: false``."""
    key, _ = queue_server.create_key(1000)
    headers = {"Idempotency-Key": "v3-idem-1"}
    with queue_server.client(key) as client:
        first = client.post(TASKS, json=body(), headers=headers)
        assert first.status_code == 200, first.text
        assert "idempotent-replayed" not in first.headers
        charged = credits(client)
        again = client.post(TASKS, json=body(), headers=headers)
        assert again.status_code == 200, again.text
        assert again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        assert credits(client) == charged < 1000
        conflict = client.post(TASKS, json=body(seed=7), headers=headers)
        ark_error(conflict, 409, "IdempotencyConflict")
        assert conflict.headers["x-should-retry"] == "false"
        fresh = submit(client, body(), headers={"Idempotency-Key": "v3-idem-2"})
        total = client.get(TASKS).json()["total"]
    assert fresh != first.json()["id"]
    assert total == 2


# --- errors (§5) -----------------------------------------------------------------------------


def test_errors_use_the_upstream_envelope(shared_server: Any) -> None:
    """401, unknown routes, malformed JSON, bad paging and filters, unknown ids."""
    with shared_server.client("sk-not-a-real-key") as stranger:
        unauthorized = stranger.get(TASKS)
    ark_error(unauthorized, 401, "AuthenticationError")
    assert unauthorized.json()["error"]["type"] == "Unauthorized"
    with shared_server.client() as client:
        for path in ("/api/v3/nope", "/api/v3/contents/generations/tasks/a/b"):
            missing = client.get(path)
            ark_error(missing, 404, "NotFound")
            assert missing.json()["error"]["type"] == "NotFound"
        malformed = client.post(
            TASKS, content=b'{"model": "seedance-1-0-pro", ', headers=_json_type()
        )
        ark_error(malformed, 400, "InvalidParameter", "body")
        not_object = client.post(TASKS, json=[body()])
        ark_error(not_object, 400, "InvalidParameter", "body")
        ark_error(client.put(TASKS, json=body()), 405, "MethodNotAllowed")
        for size in ("0", "501", "x"):
            bad_page = client.get(TASKS, params={"page_size": size})
            ark_error(bad_page, 400, "InvalidParameter", "page_size")
        bogus = client.get(TASKS, params={"filter.status": "bogus"})
        ark_error(bogus, 400, "InvalidParameter", "filter.status")
        unknown = client.get(f"{TASKS}/cgt-20250101000000-0000000000000000000000000a")
        ark_error(unknown, 404, "NotFound")
        no_model = client.post(TASKS, json={**body(), "model": "no-such-model"})
        ark_error(no_model, 404, "InvalidEndpointOrModel.NotFound", "model")
        unknown_field = client.post(TASKS, json={**body(), "colour": "red"})
        ark_error(unknown_field, 400, "InvalidParameter", "colour")


def _json_type() -> dict[str, str]:
    return {"Content-Type": "application/json"}
