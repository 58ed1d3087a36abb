"""``GET /api/v1/generations/{id}/events``: server-sent events from a real server process."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx

from .support import create, small


def read_events(server: Any, key: str, task_id: str, timeout: float = 120) -> list[dict[str, Any]]:
    """Every ``generation`` event of the stream, until the server closes it."""
    events: list[dict[str, Any]] = []
    headers = {"Authorization": f"Bearer {key}"}
    url = f"{server.url}/api/v1/generations/{task_id}/events"
    with httpx.stream("GET", url, headers=headers, timeout=timeout) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                assert kind == "generation"
                events.append(json.loads(line.removeprefix("data: ")))
    return events


def test_the_stream_shows_progress_and_closes_with_the_result(shared_server: Any) -> None:
    key, _ = shared_server.create_key(1000)
    with shared_server.client(key) as client:
        task = create(client, small())
    events = read_events(shared_server, key, task["id"])
    statuses = [e["status"] for e in events]
    assert statuses[0] in ("queued", "processing")
    assert statuses[-1] == "succeeded" and statuses.count("succeeded") == 1
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress)  # never goes back
    assert len(events) >= 2
    assert events[-1]["result"]["primary_url"].startswith(shared_server.url + "/blobs/")
    assert {e["id"] for e in events} == {task["id"]}


def test_a_cancel_ends_the_stream_of_a_queued_task(queue_server: Any) -> None:
    key, _ = queue_server.create_key(1000)
    with queue_server.client(key) as client:
        task = create(client, small())
    got: list[dict[str, Any]] = []
    reader = threading.Thread(target=lambda: got.extend(read_events(queue_server, key, task["id"])))
    reader.start()
    time.sleep(1.0)
    with queue_server.client(key) as client:
        assert client.post(f"/api/v1/generations/{task['id']}/cancel").status_code == 200
    reader.join(30)
    assert not reader.is_alive()
    assert [e["status"] for e in got] == ["queued", "cancelled"]


def test_an_unknown_task_is_404_in_the_dialects_envelope(shared_server: Any) -> None:
    with shared_server.client() as client:
        response = client.get("/api/v1/generations/task_nope/events")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    with httpx.Client(base_url=shared_server.url) as anonymous:
        assert anonymous.get("/api/v1/generations/task_nope/events").status_code == 401


def test_another_accounts_task_is_404_not_a_stream(queue_server: Any) -> None:
    owner, _ = queue_server.create_key(100)
    stranger, _ = queue_server.create_key(100)
    with queue_server.client(owner) as client:
        task = create(client, small())
    with queue_server.client(stranger) as client:
        response = client.get(f"/api/v1/generations/{task['id']}/events")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
