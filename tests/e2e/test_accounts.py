"""Accounts: isolation, credits, listing, cancelling, and the model catalog endpoints.

Tasks that must stay ``queued`` run against a ``serve --no-worker`` server; tasks that must
finish run against a normal one.
"""

from __future__ import annotations

from typing import Any

from .support import (
    SMALL_1_0_PRO_CREDITS,
    create,
    credits,
    error_message,
    finish,
    listed,
    post,
    small,
)

MODELS = {
    "seedance-1-0-pro",
    "seedance-1-0-pro-fast",
    "seedance-1-0-lite-t2v",
    "seedance-1-0-lite-i2v",
    "seedance-1-5-pro",
    "seedance-2-0",
    "seedance-2-0-fast",
    "seedance-2-0-mini",
    "seedance-2-5",
}


def test_another_account_can_neither_read_nor_cancel_nor_list_a_task(queue_server: Any) -> None:
    """Key B gets ``404 not_found`` for key A's task and never sees it in its list."""
    key_a, _ = queue_server.create_key(100)
    key_b, _ = queue_server.create_key(100)
    with queue_server.client(key_a) as alice, queue_server.client(key_b) as bob:
        task = create(alice, small())
        theirs = error_message(bob.get(f"/api/v1/generations/{task['id']}"), 404, "not_found")
        unknown = "task_" + "0" * 26
        nobodys = error_message(bob.get(f"/api/v1/generations/{unknown}"), 404, "not_found")
        assert theirs.replace(task["id"], unknown) == nobodys  # nothing tells them apart
        error_message(bob.post(f"/api/v1/generations/{task['id']}/cancel"), 404, "not_found")
        assert listed(bob) == []
        assert credits(bob) == 100
        mine = alice.get(f"/api/v1/generations/{task['id']}")
        assert mine.status_code == 200
        assert mine.json()["status"] == "queued"
        assert [t["id"] for t in listed(alice)] == [task["id"]]
        assert credits(alice) == 100 - SMALL_1_0_PRO_CREDITS


def test_a_create_beyond_the_balance_is_402_and_stores_nothing(queue_server: Any) -> None:
    """With credits for exactly one task the first is accepted and the second is ``402``."""
    key, _ = queue_server.create_key(SMALL_1_0_PRO_CREDITS)
    with queue_server.client(key) as client:
        first = create(client, small())
        assert credits(client) == 0
        message = error_message(post(client, small()), 402, "insufficient_credits")
        assert str(SMALL_1_0_PRO_CREDITS) in message
        assert credits(client) == 0
        assert [t["id"] for t in listed(client)] == [first["id"]]


def test_a_balance_below_the_quote_refuses_the_first_create(queue_server: Any) -> None:
    """One credit short of the quote: ``402 insufficient_credits``, no task, balance unchanged."""
    key, _ = queue_server.create_key(SMALL_1_0_PRO_CREDITS - 1)
    with queue_server.client(key) as client:
        error_message(post(client, small()), 402, "insufficient_credits")
        assert credits(client) == SMALL_1_0_PRO_CREDITS - 1
        assert listed(client) == []


def test_listing_pages_through_every_task_exactly_once_newest_first(queue_server: Any) -> None:
    """Five tasks with ``limit=2``: pages of 2, 2 and 1 following ``next_cursor``."""
    key, _ = queue_server.create_key(1000)
    with queue_server.client(key) as client:
        created = [create(client, small(prompt=f"shot {n}"))["id"] for n in range(5)]
        pages, cursor = [], None
        while True:
            query: dict[str, Any] = {"limit": 2} | ({"after": cursor} if cursor else {})
            response = client.get("/api/v1/generations", params=query)
            assert response.status_code == 200, response.text
            page = response.json()
            assert page["object"] == "list"
            pages.append([t["id"] for t in page["data"]])
            cursor = page["next_cursor"]
            assert page["has_more"] == (cursor is not None)
            if cursor is None:
                break
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [i for p in pages for i in p] == created[::-1]


def test_listing_filters_by_status_and_by_model_or_alias(queue_server: Any) -> None:
    """``status`` and ``model`` (id or alias) filters return exactly the matching tasks."""
    key, _ = queue_server.create_key(1000)
    with queue_server.client(key) as client:
        pro = [create(client, small())["id"] for _ in range(3)]
        v15 = [create(client, small("seedance-1-5-pro"))["id"] for _ in range(2)]
        for task_id in (pro[0], v15[1]):
            assert client.post(f"/api/v1/generations/{task_id}/cancel").status_code == 200

        def ids(**query: str) -> set[str]:
            return {t["id"] for t in listed(client, **query)}

        assert ids(status="cancelled") == {pro[0], v15[1]}
        assert ids(status="queued") == {pro[1], pro[2], v15[0]}
        assert ids(status="processing") == set()
        assert ids(model="seedance-1-5-pro") == set(v15)
        assert ids(model="doubao-seedance-1-5-pro-251215") == set(v15)
        assert ids(model="seedance-1-0-pro") == set(pro)
        assert ids(model="seedance-1-0-pro", status="queued") == {pro[1], pro[2]}
        assert ids() == set(pro) | set(v15)
        assert all(t["status"] == "cancelled" for t in listed(client, status="cancelled"))


def test_cancelling_a_queued_task_releases_its_credits_exactly_once(queue_server: Any) -> None:
    """Cancel gives ``cancelled`` and the credits back; a second cancel is ``409 invalid_state``."""
    key, _ = queue_server.create_key(100)
    with queue_server.client(key) as client:
        task = create(client, small())
        assert credits(client) == 100 - SMALL_1_0_PRO_CREDITS
        response = client.post(f"/api/v1/generations/{task['id']}/cancel")
        assert response.status_code == 200, response.text
        cancelled = response.json()
        assert cancelled["id"] == task["id"]
        assert cancelled["status"] == "cancelled"
        assert cancelled["final_credits"] == 0
        assert cancelled["result"] is None
        assert credits(client) == 100
        again = client.post(f"/api/v1/generations/{task['id']}/cancel")
        assert "cancelled" in error_message(again, 409, "invalid_state")
        assert credits(client) == 100
        assert client.get(f"/api/v1/generations/{task['id']}").json()["status"] == "cancelled"


def test_cancelling_a_succeeded_task_is_409_and_keeps_the_charge(shared_server: Any) -> None:
    """A finished task cannot be cancelled; its credits stay charged."""
    key, _ = shared_server.create_key(100)
    with shared_server.client(key) as client:
        task = finish(client, create(client, small())["id"])
        response = client.post(f"/api/v1/generations/{task['id']}/cancel")
        assert "succeeded" in error_message(response, 409, "invalid_state")
        after = client.get(f"/api/v1/generations/{task['id']}").json()
        assert after["status"] == "succeeded"
        assert after["final_credits"] == SMALL_1_0_PRO_CREDITS
        assert credits(client) == 100 - SMALL_1_0_PRO_CREDITS


def test_the_models_endpoint_lists_all_nine_models_with_their_parameters(
    shared_server: Any,
) -> None:
    """``GET /api/v1/models`` lists the 9 models with base credits and a parameter schema."""
    with shared_server.client() as client:
        response = client.get("/api/v1/models")
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list"
    models = {m["id"]: m for m in body["data"]}
    assert set(models) == MODELS
    assert len(body["data"]) == 9
    for model in models.values():
        assert isinstance(model["base_credits"], int) and model["base_credits"] > 0
        assert model["params"], model["id"]
        for param in model["params"]:
            assert {"key", "type", "default", "options"} <= set(param)
    v10, v15 = models["seedance-1-0-pro"], models["seedance-1-5-pro"]
    assert (v10["base_credits"], v15["base_credits"]) == (25, 28)
    assert (v10["prompt_max_chars"], v15["prompt_max_chars"]) == (10_000, 2500)
    v10_params = {p["key"]: p for p in v10["params"]}
    v15_params = {p["key"]: p for p in v15["params"]}
    seed_000 = {"resolution", "duration", "aspect_ratio", "camera_fixed", "seed"}
    assert seed_000 | {"enable_safety_checker"} <= set(v10_params)
    assert {"resolution", "duration", "generate_audio", "aspectRatio", "fixed_lens"} <= set(
        v15_params
    )
    assert v10_params["duration"]["options"] == ["5", "10"]
    assert v10_params["duration"]["default"] == "5"
    assert v10_params["resolution"]["options"] == ["480p", "720p", "1080p"]
    assert (v10_params["seed"]["min"], v10_params["seed"]["max"]) == (-1, 2147483647)
    assert v15_params["duration"]["options"] == ["4", "8", "12"]
    assert v15_params["aspectRatio"]["default"] == "1:1"
    none = {"min": 0, "max": 0}
    assert v10["reference_media"] == {"images": none, "videos": none, "audios": none}
    assert models["seedance-2-0"]["reference_media"]["images"] == {"min": 0, "max": 9}


def test_a_model_can_be_fetched_and_used_by_its_alias(
    shared_server: Any, queue_server: Any
) -> None:
    """``doubao-seedance-1-5-pro-251215`` resolves to ``seedance-1-5-pro`` for GET and create."""
    with shared_server.client() as client:
        by_alias = client.get("/api/v1/models/doubao-seedance-1-5-pro-251215")
        by_id = client.get("/api/v1/models/seedance-1-5-pro")
    assert by_alias.status_code == 200, by_alias.text
    assert by_alias.json()["id"] == "seedance-1-5-pro"
    assert by_alias.json() == by_id.json()
    assert "doubao-seedance-1-5-pro-251215" in by_alias.json()["aliases"]
    key, _ = queue_server.create_key(100)
    with queue_server.client(key) as client:
        task = create(client, {"model": "doubao-seedance-1-5-pro-251215", "prompt": "a red kite"})
        assert task["reserved_credits"] == 28  # 1.5 Pro's defaults: 720p, 8 s, silent
        assert credits(client) == 72
