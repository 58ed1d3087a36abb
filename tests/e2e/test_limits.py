"""Limits: requests per minute (in memory and shared through Redis), tasks in flight, and
idempotent creates (``Idempotency-Key`` and ``client_request_id``)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import httpx

from .support import (
    SMALL_1_0_PRO_CREDITS,
    create,
    credits,
    error_message,
    listed,
    make_server,
    post,
    small,
)

REDIS_URL = "redis://127.0.0.1:6379/0"


def _retry_after(response: httpx.Response) -> int:
    value = response.headers["Retry-After"]
    assert value.isdigit(), value
    return int(value)


def test_the_sixth_request_in_a_minute_is_429_with_retry_after_and_charges_nothing(
    server_factory: Any,
) -> None:
    """With ``5/minute`` five requests pass; then ``429 rate_limited``, and nothing is charged."""
    server = server_factory(rate_limit="5/minute", credits=100)
    with server.client() as client:
        passed = [post(client, small())] + [client.get("/api/v1/credits") for _ in range(4)]
        limited = [post(client, small()), client.get("/api/v1/credits")]
    assert [r.status_code for r in passed] == [201] + [200] * 4
    assert passed[-1].json()["current_credits"] == 100 - SMALL_1_0_PRO_CREDITS
    for response in limited:
        message = error_message(response, 429, "rate_limited")
        assert "5" in message
        assert _retry_after(response) in range(1, 61)
    shown = server.cli("credits", "show", server.account_id)
    assert int(shown.strip()) == 100 - SMALL_1_0_PRO_CREDITS  # the refused create held nothing
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        assert anonymous.get("/healthz").status_code == 200
    key, _ = server.create_key(100)
    with server.client(key) as other:
        assert credits(other) == 100  # limits are per key
    assert server.key not in server.logs()  # keys are never logged


def test_the_in_flight_cap_refuses_a_third_queued_task_until_one_finishes(
    server_factory: Any,
) -> None:
    """``max_in_flight=2``: the third create is ``429``; cancelling one frees a slot."""
    server = server_factory(start=False, credits=100, max_in_flight="2")
    server.start("--no-worker")
    with server.client() as client:
        first, _second = create(client, small()), create(client, small())
        refused = post(client, small())
        assert "2" in error_message(refused, 429, "rate_limited")
        assert _retry_after(refused) >= 1
        assert credits(client) == 100 - 2 * SMALL_1_0_PRO_CREDITS
        assert len(listed(client)) == 2
        assert client.post(f"/api/v1/generations/{first['id']}/cancel").status_code == 200
        create(client, small())
        assert credits(client) == 100 - 2 * SMALL_1_0_PRO_CREDITS
        error_message(post(client, small()), 429, "rate_limited")
    other_key, _ = server.create_key(100)
    with server.client(other_key) as other:
        create(other, small())  # the cap is per key


def test_a_repeated_idempotency_key_replays_the_task_and_charges_once(queue_server: Any) -> None:
    """Same ``Idempotency-Key`` and body: the same task, ``Idempotent-Replayed: true``, one hold."""
    key, _ = queue_server.create_key(100)
    headers = {"Idempotency-Key": f"order-{secrets.token_hex(4)}"}
    with queue_server.client(key) as client:
        first = post(client, small(), headers)
        second = post(client, small(), headers)
        assert first.status_code == second.status_code == 201, (first.text, second.text)
        assert "Idempotent-Replayed" not in first.headers
        assert second.headers["Idempotent-Replayed"] == "true"
        assert second.json()["id"] == first.json()["id"]
        assert second.json()["reserved_credits"] == first.json()["reserved_credits"]
        assert credits(client) == 100 - SMALL_1_0_PRO_CREDITS
        assert [t["id"] for t in listed(client)] == [first.json()["id"]]
        fresh = post(client, small(), {"Idempotency-Key": headers["Idempotency-Key"] + "-2"})
        assert fresh.status_code == 201
        assert fresh.json()["id"] != first.json()["id"]
        assert credits(client) == 100 - 2 * SMALL_1_0_PRO_CREDITS


def test_a_reused_idempotency_key_with_another_body_is_409_and_charges_nothing(
    queue_server: Any,
) -> None:
    """Same ``Idempotency-Key``, different body: ``409 idempotency_conflict``, nothing stored."""
    key, _ = queue_server.create_key(100)
    headers = {"Idempotency-Key": "order-42"}
    with queue_server.client(key) as client:
        first = create(client, small(seed=1), headers)
        conflict = post(client, small(seed=2), headers)
        assert "order-42" in error_message(conflict, 409, "idempotency_conflict")
        assert credits(client) == 100 - SMALL_1_0_PRO_CREDITS
        assert [t["id"] for t in listed(client)] == [first["id"]]


def test_idempotency_keys_are_scoped_to_the_api_key(queue_server: Any) -> None:
    """Two accounts using the same ``Idempotency-Key`` get two different tasks."""
    key_a, _ = queue_server.create_key(100)
    key_b, _ = queue_server.create_key(100)
    headers = {"Idempotency-Key": "shared-key"}
    with queue_server.client(key_a) as alice, queue_server.client(key_b) as bob:
        task_a = create(alice, small(), headers)
        response_b = post(bob, small(), headers)
        assert response_b.status_code == 201, response_b.text
        assert "Idempotent-Replayed" not in response_b.headers
        assert response_b.json()["id"] != task_a["id"]
        assert credits(alice) == credits(bob) == 100 - SMALL_1_0_PRO_CREDITS


def test_client_request_id_alone_deduplicates_creates(queue_server: Any) -> None:
    """A repeated ``client_request_id`` replays its task; with another body it is ``409``."""
    key, _ = queue_server.create_key(100)
    body = small() | {"client_request_id": f"req-{secrets.token_hex(4)}"}
    with queue_server.client(key) as client:
        first = post(client, body)
        second = post(client, body)
        assert first.status_code == second.status_code == 201, (first.text, second.text)
        assert second.headers.get("Idempotent-Replayed") == "true"
        assert second.json()["id"] == first.json()["id"]
        assert first.json()["client_request_id"] == body["client_request_id"]
        assert credits(client) == 100 - SMALL_1_0_PRO_CREDITS
        changed = body | {"prompt": "a different shot"}
        error_message(post(client, changed), 409, "idempotency_conflict")
        assert len(listed(client)) == 1


def test_rate_limits_in_redis_are_shared_by_every_server(
    server_factory: Any, database_url: str, tmp_path: Path
) -> None:
    """Two servers on one Redis: requests spread over both are limited after 6 in total."""
    settings = {"rate_limit": "6/minute", "redis_url": REDIS_URL}
    one = server_factory(**settings)
    two = make_server(tmp_path / "second", database_url, **settings)
    try:
        two.start()
        with one.client() as via_one, two.client(one.key) as via_two:
            answers = [(via_one if n % 2 else via_two).get("/api/v1/credits") for n in range(6)]
            assert [r.status_code for r in answers] == [200] * 6
            for client in (via_one, via_two):
                response = client.get("/api/v1/credits")
                error_message(response, 429, "rate_limited")
                assert _retry_after(response) >= 1
    finally:
        two.stop()
