"""Limits: requests per minute (in memory and shared through Redis), tasks in flight, and
idempotent creates (``Idempotency-Key`` and ``client_request_id``).

The servers with limits of their own start side by side once per backend (each test makes its
own key: limits are per key); the idempotency tests use the shared no-worker server."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import Spec, no_unhandled_errors, shared_many
from .support import (
    SMALL_1_0_PRO_CREDITS,
    create,
    credits,
    error_message,
    listed,
    post,
    small,
)

REDIS_URL = "redis://127.0.0.1:6379/0"
#: Two servers on one database and one Redis share these limits.
REDIS_LIMITS = {"rate_limit": "6/minute", "redis_url": REDIS_URL}


@pytest.fixture(scope="module")
def limit_servers(
    shared_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """This module's servers per backend, started at once.

    ``rate``: ``5/minute`` in memory; ``in_flight``: ``max_in_flight=2`` and no worker;
    ``redis_one`` and ``redis_two``: :data:`REDIS_LIMITS`, one database between them.
    """
    specs = {
        "rate": Spec({"rate_limit": "5/minute"}),
        "in_flight": Spec({"max_in_flight": "2"}, ("--no-worker",)),
        "redis_one": Spec(REDIS_LIMITS, database="redis"),
        "redis_two": Spec(REDIS_LIMITS, database="redis"),
    }
    for servers in shared_many(shared_backend, request, tmp_path_factory, *specs.values()):
        yield dict(zip(specs, servers, strict=True))


@pytest.fixture(autouse=True)
def _limit_servers_answer_no_500(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fails the test during which one of this module's servers logged an unhandled error."""
    if "limit_servers" not in request.fixturenames:
        yield
        return
    with no_unhandled_errors(*request.getfixturevalue("limit_servers").values()):
        yield


def _retry_after(response: httpx.Response) -> int:
    value = response.headers["Retry-After"]
    assert value.isdigit(), value
    return int(value)


def test_the_sixth_request_in_a_minute_is_429_with_retry_after_and_charges_nothing(
    limit_servers: dict[str, Any],
) -> None:
    """With ``5/minute`` five requests pass; then ``429 rate_limited``, and nothing is charged."""
    server = limit_servers["rate"]
    used, account_id = server.create_key(100)
    with server.client(used) as client:
        passed = [post(client, small())] + [client.get("/api/v1/credits") for _ in range(4)]
        limited = [post(client, small()), client.get("/api/v1/credits")]
    assert [r.status_code for r in passed] == [201] + [200] * 4
    assert passed[-1].json()["current_credits"] == 100 - SMALL_1_0_PRO_CREDITS
    for response in limited:
        message = error_message(response, 429, "rate_limited")
        assert "5" in message
        assert _retry_after(response) in range(1, 61)
    shown = server.cli("credits", "show", account_id)
    assert int(shown.strip()) == 100 - SMALL_1_0_PRO_CREDITS  # the refused create held nothing
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        assert anonymous.get("/healthz").status_code == 200
    key, _ = server.create_key(100)
    with server.client(key) as other:
        assert credits(other) == 100  # limits are per key
    assert used not in server.logs()  # keys are never logged


def test_the_in_flight_cap_refuses_a_third_queued_task_until_one_finishes(
    limit_servers: dict[str, Any],
) -> None:
    """``max_in_flight=2``: the third create is ``429``; cancelling one frees a slot."""
    server = limit_servers["in_flight"]  # no worker
    key, _ = server.create_key(100)
    with server.client(key) as client:
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


def test_rate_limits_in_redis_are_shared_by_every_server(limit_servers: dict[str, Any]) -> None:
    """Two servers on one Redis: requests spread over both are limited after 6 in total."""
    one, two = limit_servers["redis_one"], limit_servers["redis_two"]  # one database
    key, _ = one.create_key(10_000)
    with one.client(key) as via_one, two.client(key) as via_two:
        answers = [(via_one if n % 2 else via_two).get("/api/v1/credits") for n in range(6)]
        assert [r.status_code for r in answers] == [200] * 6
        for client in (via_one, via_two):
            response = client.get("/api/v1/credits")
            error_message(response, 429, "rate_limited")
            assert _retry_after(response) >= 1
