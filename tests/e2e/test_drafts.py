"""Draft to final through Public API v1 (``params.draft``, then ``draft_task_id``), against real
server processes: a cheap 480p draft, then its final at a higher resolution that continues the
same scene, each billed on its own; and every reason a draft cannot be made final, each a
``400 validation_failed`` that charges nothing. The upstream dialect's form of the same flow,
through both official SDKs, is in ``test_ark_sdks.py``; through provider ``ark``, in
``test_upstream_chain.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from seedance_gateway.domain import ids

from .support import (
    create,
    created_days_ago,
    credits,
    download,
    error_message,
    finish,
    frames_at,
    mean_abs_diff,
    post,
    probe,
)

PROMPT = "A paper kite over a green hill, clouds drifting"


def draft_body(model: str = "seedance-2-5", **params: Any) -> dict[str, Any]:
    return {"model": model, "prompt": PROMPT, "params": {"duration": 4, "draft": True, **params}}


def final_body(draft_id: str, model: str = "seedance-2-5", **params: Any) -> dict[str, Any]:
    return {"model": model, "draft_task_id": draft_id, "params": params}


@pytest.fixture
def account(shared_server: Any) -> Any:
    """A client of a new account with 5 000 credits."""
    key, _ = shared_server.create_key(5000)
    with shared_server.client(key) as client:
        yield client


def test_a_draft_and_its_final_continue_one_scene_and_are_billed_apart(account: Any) -> None:
    """``params.draft`` makes a 480p draft (the resolution left out); ``draft_task_id`` makes
    its final at 720p with the draft's length and scene; the quote of the final is what the
    final holds, and the balance pays for both."""
    start = credits(account)
    draft = finish(account, create(account, draft_body())["id"])
    small = download(draft["result"]["primary_url"])
    assert (probe(small).width, probe(small).height, probe(small).frames) == (864, 496, 96)
    quoted = account.post("/api/v1/generations/quote", json=final_body(draft["id"]))
    assert quoted.status_code == 200, quoted.text
    assert (quoted.json()["resolution"], quoted.json()["duration_seconds"]) == ("720p", 4.0)
    made = create(account, final_body(draft["id"]))
    assert made["draft_task_id"] == draft["id"]
    assert made["reserved_credits"] == quoted.json()["credits"] > draft["final_credits"]
    final = finish(account, made["id"])
    big = download(final["result"]["primary_url"])
    assert (probe(big).width, probe(big).height, probe(big).frames) == (1280, 720, 96)
    differences = [
        mean_abs_diff(a, b)
        for a, b in zip(frames_at(big, (864, 496)), frames_at(small, (864, 496)), strict=True)
    ]
    assert max(differences) < 6.0, differences
    assert start - credits(account) == draft["final_credits"] + final["final_credits"]
    shown = account.get(f"/api/v1/generations/{final['id']}").json()
    assert shown["draft_task_id"] == draft["id"]
    assert shown["request"] == final_body(draft["id"])


def test_a_1_5_pro_draft_made_through_v3_is_made_final_through_v1(account: Any) -> None:
    """Any dialect's draft, by any spelling of its id; the final's resolution defaults to the
    model's (720p)."""
    body = {
        "model": "doubao-seedance-1-5-pro-251215",
        "content": [{"type": "text", "text": PROMPT}],
        "duration": 4,
        "draft": True,
    }
    created = account.post("/api/v3/contents/generations/tasks", json=body)
    assert created.status_code == 200, created.text
    ark_id = created.json()["id"]
    draft = finish(account, ids.task_id_of(ark_id))
    final = finish(account, create(account, final_body(ark_id, "seedance-1-5-pro"))["id"])
    video = download(final["result"]["primary_url"])
    assert (probe(video).height, probe(video).frames) == (720, 96)
    assert final["draft_task_id"] == draft["id"]


#: (case, body for a succeeded draft's id, words of the message).
REFUSALS = [
    ("prompt-beside-the-draft", lambda d: {**final_body(d), "prompt": "x"}, "prompt is taken"),
    ("a-scene-param", lambda d: final_body(d, duration=6), "params.duration is taken"),
    ("references", lambda d: final_body(d, referenceMediaItems=[{"url": "x"}]), "taken from"),
    ("another-model", lambda d: final_body(d, "seedance-2-0"), "not seedance-2-0"),
    ("draft-of-a-draft", lambda d: final_body(d, draft=True), "cannot itself be a draft"),
    ("no-such-task", lambda d: final_body("task_" + "0" * 26), "there is no task task_000"),
]


@pytest.mark.parametrize(("case", "body", "words"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_final_that_cannot_be_made_is_refused_and_charges_nothing(
    shared_server: Any, draft_for_refusals: tuple[Any, str], case: str, body: Any, words: str
) -> None:
    client, draft_id = draft_for_refusals
    before = credits(client)
    message = error_message(post(client, body(draft_id)), 400, "validation_failed")
    assert words in message, message
    assert credits(client) == before


@pytest.fixture(scope="module")
def draft_for_refusals(shared_server: Any) -> Any:
    """A client and one succeeded 2.5 draft of its account."""
    key, _ = shared_server.create_key(5000)
    with shared_server.client(key) as client:
        draft = finish(client, create(client, draft_body())["id"])
        yield client, draft["id"]


def test_a_draft_older_than_seven_days_a_plain_task_and_a_strangers_draft_are_refused(
    shared_server: Any,
) -> None:
    key, _ = shared_server.create_key(5000)
    stranger, _ = shared_server.create_key(5000)
    with shared_server.client(key) as client, shared_server.client(stranger) as other:
        old = finish(client, create(client, draft_body())["id"])
        plain = create(client, {**draft_body(), "params": {"duration": 4, "resolution": "480p"}})
        created_days_ago(shared_server, old["id"], 8)
        message = error_message(post(client, final_body(old["id"])), 400, "validation_failed")
        assert "a draft can be made final for 7 days: make a new draft" in message
        message = error_message(post(client, final_body(plain["id"])), 400, "validation_failed")
        assert "is not a draft" in message
        message = error_message(post(other, final_body(old["id"])), 400, "validation_failed")
        assert f"there is no task {old['id']} in your account" in message


def test_a_running_draft_is_not_ready(queue_server: Any) -> None:
    """A draft still queued (no worker here): 400 until it has succeeded."""
    key, _ = queue_server.create_key(5000)
    with queue_server.client(key) as client:
        draft = create(client, draft_body())
        message = error_message(post(client, final_body(draft["id"])), 400, "validation_failed")
    assert f"draft task {draft['id']} is queued; make the final once it has succeeded" in message
