"""Races and crashes: parallel creates never overdraw, parallel replays charge once, and a task
survives its worker being killed with ``kill -9`` and the server being restarted.

The parallel creates run on the shared no-worker server, each test on an account of its own.
The crash tests kill or restart processes, so each has a server of its own; those start side by
side once per backend, before the first of them runs."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from .conftest import Spec, no_unhandled_errors, shared_many, workers
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
    wait_until_rendering,
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
#: Short leases, so that a task whose worker died is taken over within seconds.
SHORT_LEASES = {"lease_seconds": "3", "heartbeat_seconds": "1", "poll_seconds": "0.2"}


@pytest.fixture(scope="module")
def crash_servers(
    shared_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """One server per crash test and backend (each on its own database), started at once.

    ``killed_worker``: short leases, API only and one worker process; ``killed_server``:
    short leases, with workers; ``restarted``: API only; ``expiring``: API only, tasks expire
    after 1 s. Each test kills or restarts its own, and makes its own key.
    """
    specs = {
        "killed_worker": Spec(SHORT_LEASES, ("--no-worker",), workers=1),
        "killed_server": Spec(SHORT_LEASES),
        "restarted": Spec(args=("--no-worker",)),
        "expiring": Spec({"default_expires_after": "1"}, ("--no-worker",)),
    }
    for servers in shared_many(shared_backend, request, tmp_path_factory, *specs.values()):
        yield dict(zip(specs, servers, strict=True))


@pytest.fixture(autouse=True)
def _crash_servers_answer_no_500(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fails the test during which a server of this module logged an unhandled error (a 500)."""
    if "crash_servers" not in request.fixturenames:
        yield
        return
    with no_unhandled_errors(*request.getfixturevalue("crash_servers").values()):
        yield


def _parallel(
    server: Any, key: str, count: int, headers: dict[str, str] | None = None
) -> list[Any]:
    """``count`` creates with ``key`` at once, each on its own connection; returns the responses."""

    def one(_: int) -> httpx.Response:
        with server.client(key) as client:
            return post(client, BODY, headers)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def test_fifty_parallel_creates_against_ten_tasks_of_credit_accept_exactly_ten(
    queue_server: Any,
) -> None:
    """50 concurrent creates with credits for 10: ten 201s, forty 402s, balance exactly 0."""
    server = queue_server  # no worker; in flight up to 1000 a key
    key, account_id = server.create_key(10 * PRICE)
    responses = _parallel(server, key, 50)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 10 + [402] * 40, [r.text for r in responses if r.status_code >= 500]
    accepted = {r.json()["id"] for r in responses if r.status_code == 201}
    assert len(accepted) == 10
    for response in responses:
        if response.status_code == 402:
            assert response.json()["error"]["code"] == "insufficient_credits"
    with server.client(key) as client:
        assert credits(client) == 0
        tasks = listed(client)
    assert {t["id"] for t in tasks} == accepted
    assert all(t["reserved_credits"] == PRICE for t in tasks)
    assert int(server.cli("credits", "show", account_id).strip()) == 0


def test_twenty_parallel_creates_with_one_idempotency_key_make_one_task(
    queue_server: Any,
) -> None:
    """20 concurrent creates sharing an ``Idempotency-Key``: all 201, one task, one charge."""
    server = queue_server  # no worker
    key, _ = server.create_key(10 * PRICE)
    responses = _parallel(server, key, 20, {"Idempotency-Key": "one-order"})
    assert [r.status_code for r in responses] == [201] * 20, [r.text for r in responses]
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == 1
    replayed = [r.headers.get("Idempotent-Replayed") for r in responses]
    assert replayed.count("true") == 19
    with server.client(key) as client:
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


def test_a_task_survives_its_worker_being_killed_and_is_charged_once(
    crash_servers: dict[str, Any],
) -> None:
    """``kill -9`` on the worker mid-render: another worker finishes it; one charge, valid MP4."""
    server = crash_servers["killed_worker"]  # API only
    key, account_id = server.create_key(1000)
    [first_worker] = workers(server)  # started with the server
    with server.client(key) as client:
        task = create(client, LONG_RENDER)
        reserved = task["reserved_credits"]
        assert credits(client) == 1000 - reserved
        wait_until_rendering(client, task["id"])
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
    assert int(server.cli("credits", "show", account_id).strip()) == 1000 - reserved


def test_a_task_survives_the_whole_server_being_killed_mid_render(
    crash_servers: dict[str, Any],
) -> None:
    """``kill -9`` on an embedded ``serve`` mid-render: after a restart the task still succeeds."""
    server = crash_servers["killed_server"]
    key, _ = server.create_key(1000)
    with server.client(key) as client:
        task = create(client, LONG_RENDER)
        wait_until_rendering(client, task["id"])
    assert server.process is not None
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=10)
    server.start()
    with server.client(key) as client:
        done = wait_for_status(client, task["id"], {"succeeded", "failed"}, 120)
        assert done["status"] == "succeeded", done
        assert done["final_credits"] == done["reserved_credits"] == task["reserved_credits"]
        assert credits(client) == 1000 - task["reserved_credits"]
        info = probe(download(done["result"]["primary_url"]))
    assert (info.width, info.height, info.frames) == (1920, 1088, 240)


def test_a_queued_task_survives_a_server_restart(crash_servers: dict[str, Any]) -> None:
    """A task queued on an API-only server is finished after the server restarts with workers."""
    server = crash_servers["restarted"]  # API only
    key, _ = server.create_key(100)
    with server.client(key) as client:
        task = create(client, small())
    server.stop()
    server.start()
    with server.client(key) as client:
        done = finish(client, task["id"])
        assert done["final_credits"] == done["reserved_credits"]
        assert credits(client) == 100 - done["reserved_credits"]
        assert probe(download(done["result"]["primary_url"])).frames == 120


def test_a_task_past_its_deadline_expires_and_releases_its_credits(
    crash_servers: dict[str, Any],
) -> None:
    """A task still queued after ``default_expires_after`` ends ``expired``, credits returned."""
    server = crash_servers["expiring"]  # API only
    key, _ = server.create_key(100)
    with server.client(key) as client:
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
