"""Races and crashes: parallel creates never overdraw, parallel replays charge once, and a task
survives its worker being killed with ``kill -9`` and the server being restarted."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from .support import (
    create,
    credits,
    download,
    error_message,
    finish,
    listed,
    post,
    probe,
    small,
    wait_for_status,
)

#: The seeds' 25-credit request (720p, 16:9, 5 s), rendered by nobody here.
PRICE = 25
BODY = {"model": "seedance-1-0-pro", "prompt": "a red kite", "params": {"resolution": "720p"}}


#: A render long enough (1080p, 10 s) to be caught mid-way.
LONG_RENDER = {
    "model": "seedance-1-0-pro",
    "prompt": "a long, slow aerial shot over a glacier",
    "params": {"resolution": "1080p", "duration": "10", "seed": 5},
}


def _wait_until_rendering(client: httpx.Client, task_id: str) -> None:
    """Polls until the task is ``processing`` with some progress recorded."""
    deadline = time.monotonic() + 120
    while True:
        seen = client.get(f"/api/v1/generations/{task_id}").json()
        if seen["status"] == "processing" and seen["progress"] > 0:
            return
        assert seen["status"] in ("queued", "processing"), seen
        assert time.monotonic() < deadline, seen
        time.sleep(0.05)


def _parallel(server: Any, count: int, headers: dict[str, str] | None = None) -> list[Any]:
    """``count`` creates at once, each on its own connection; returns the responses."""

    def one(_: int) -> httpx.Response:
        with server.client() as client:
            return post(client, BODY, headers)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def test_fifty_parallel_creates_against_ten_tasks_of_credit_accept_exactly_ten(
    server_factory: Any,
) -> None:
    """50 concurrent creates with credits for 10: ten 201s, forty 402s, balance exactly 0."""
    server = server_factory(start=False, credits=10 * PRICE, max_in_flight="100")
    server.start("--no-worker")
    responses = _parallel(server, 50)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 10 + [402] * 40, [r.text for r in responses if r.status_code >= 500]
    accepted = {r.json()["id"] for r in responses if r.status_code == 201}
    assert len(accepted) == 10
    for response in responses:
        if response.status_code == 402:
            assert response.json()["error"]["code"] == "insufficient_credits"
    with server.client() as client:
        assert credits(client) == 0
        tasks = listed(client)
    assert {t["id"] for t in tasks} == accepted
    assert all(t["reserved_credits"] == PRICE for t in tasks)
    assert int(server.cli("credits", "show", server.account_id).strip()) == 0


def test_twenty_parallel_creates_with_one_idempotency_key_make_one_task(
    server_factory: Any,
) -> None:
    """20 concurrent creates sharing an ``Idempotency-Key``: all 201, one task, one charge."""
    server = server_factory(start=False, credits=10 * PRICE)
    server.start("--no-worker")
    responses = _parallel(server, 20, {"Idempotency-Key": "one-order"})
    assert [r.status_code for r in responses] == [201] * 20, [r.text for r in responses]
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == 1
    replayed = [r.headers.get("Idempotent-Replayed") for r in responses]
    assert replayed.count("true") == 19
    with server.client() as client:
        assert credits(client) == 9 * PRICE
        assert [t["id"] for t in listed(client)] == list(ids)


def test_cancels_racing_the_worker_settle_every_task_exactly_once(shared_server: Any) -> None:
    """Tasks cancelled while workers pick them up end cancelled (free) or succeeded (charged)."""
    key, _ = shared_server.create_key(1000)
    with shared_server.client(key) as client:
        tasks = [create(client, small(prompt=f"race {n}")) for n in range(10)]

        def cancel(task: dict[str, Any]) -> int:
            with shared_server.client(key) as own:
                return own.post(f"/api/v1/generations/{task['id']}/cancel").status_code

        with ThreadPoolExecutor(max_workers=10) as pool:
            answers = list(pool.map(cancel, tasks))
        assert set(answers) <= {200, 409}, answers
        ends = {"succeeded", "cancelled", "failed"}
        final = [wait_for_status(client, t["id"], ends) for t in tasks]
        for answer, task in zip(answers, final, strict=True):
            assert task["status"] == ("cancelled" if answer == 200 else "succeeded"), task
            expected = task["reserved_credits"] if task["status"] == "succeeded" else 0
            assert task["final_credits"] == expected, task
        charged = sum(t["final_credits"] for t in final)
        assert credits(client) == 1000 - charged


def test_a_task_survives_its_worker_being_killed_and_is_charged_once(server_factory: Any) -> None:
    """``kill -9`` on the worker mid-render: another worker finishes it; one charge, valid MP4."""
    settings = {"lease_seconds": "3", "heartbeat_seconds": "1", "poll_seconds": "0.2"}
    server = server_factory(start=False, credits=1000, **settings)
    server.start("--no-worker")
    first_worker = server.spawn("worker")
    with server.client() as client:
        task = create(client, LONG_RENDER)
        reserved = task["reserved_credits"]
        assert credits(client) == 1000 - reserved
        _wait_until_rendering(client, task["id"])
        os.killpg(first_worker.pid, signal.SIGKILL)
        first_worker.wait(timeout=10)
        stalled = client.get(f"/api/v1/generations/{task['id']}").json()
        assert stalled["status"] in ("processing", "queued"), stalled
        server.spawn("worker")
        done = wait_for_status(client, task["id"], {"succeeded", "failed"}, 120)
        assert done["status"] == "succeeded", done
        assert done["final_credits"] == reserved
        assert credits(client) == 1000 - reserved
        video = download(done["result"]["primary_url"])
    info = probe(video)
    assert (info.codec, info.width, info.height, info.frames) == ("h264", 1920, 1088, 240)
    assert abs(info.duration - 10.0) <= 0.05
    assert int(server.cli("credits", "show", server.account_id).strip()) == 1000 - reserved


def test_a_task_survives_the_whole_server_being_killed_mid_render(server_factory: Any) -> None:
    """``kill -9`` on an embedded ``serve`` mid-render: after a restart the task still succeeds."""
    settings = {"lease_seconds": "3", "heartbeat_seconds": "1", "poll_seconds": "0.2"}
    server = server_factory(credits=1000, **settings)
    with server.client() as client:
        task = create(client, LONG_RENDER)
        _wait_until_rendering(client, task["id"])
    assert server.process is not None
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=10)
    server.start()
    with server.client() as client:
        done = wait_for_status(client, task["id"], {"succeeded", "failed"}, 120)
        assert done["status"] == "succeeded", done
        assert done["final_credits"] == done["reserved_credits"] == task["reserved_credits"]
        assert credits(client) == 1000 - task["reserved_credits"]
        info = probe(download(done["result"]["primary_url"]))
    assert (info.width, info.height, info.frames) == (1920, 1088, 240)


def test_a_queued_task_survives_a_server_restart(server_factory: Any) -> None:
    """A task queued on an API-only server is finished after the server restarts with workers."""
    server = server_factory(start=False, credits=100)
    server.start("--no-worker")
    with server.client() as client:
        task = create(client, small())
    server.stop()
    server.start()
    with server.client() as client:
        done = finish(client, task["id"])
        assert done["final_credits"] == done["reserved_credits"]
        assert credits(client) == 100 - done["reserved_credits"]
        assert probe(download(done["result"]["primary_url"])).frames == 120


def test_a_task_past_its_deadline_expires_and_releases_its_credits(server_factory: Any) -> None:
    """A task still queued after ``default_expires_after`` ends ``expired``, credits returned."""
    server = server_factory(start=False, credits=100, default_expires_after="1")
    server.start("--no-worker")
    with server.client() as client:
        task = create(client, small())
        assert credits(client) == 100 - task["reserved_credits"]
        time.sleep(1.5)
        server.spawn("worker")
        done = wait_for_status(client, task["id"], {"succeeded", "failed", "expired"}, 60)
        assert done["status"] == "expired", done
        assert done["error"]["code"] == "expired"
        assert done["final_credits"] == 0
        assert done["result"] is None
        assert credits(client) == 100
        refused = client.post(f"/api/v1/generations/{task['id']}/cancel")
        error_message(refused, 409, "invalid_state")
        assert credits(client) == 100
