"""Provider ``ark`` end to end: gateway A forwards to gateway B's ``/api/v3`` (``upstream_chain``).

Text-to-video, first frame, first + last frame, cancel, expiry, the polling path without
callbacks, a refusal carrying the upstream's code, and the upstream-only ratios. Every task ends
in A as it ended in B; A serves the video from its own blobs; A's credits are exact; B holds
exactly one task per A task. Faults between the two are in ``test_upstream_faults.py``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from seedance_gateway.domain import ids

from .conftest import _database
from .support import credits, first_and_last_frame, png_data_url, probe
from .upstream_chain import (
    TASKS,
    expire_on_b,
    gateway_a,
    received_on_b,
    upstream_b,
    upstream_row,
    upstream_state,
    v3_task,
    wait_v3,
    with_seed,
)

MODEL = "seedance-1-0-pro"
UPSTREAM_MODEL = "doubao-seedance-1-0-pro-250528"


@pytest.fixture(scope="module")
def b_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """B with a worker: tasks render at once."""
    with upstream_b(tmp_path_factory.mktemp("b")) as server:
        yield server


@pytest.fixture(scope="module")
def b_queue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """B whose worker renders nothing (concurrency 0): tasks stay queued, deadlines still apply."""
    with upstream_b(tmp_path_factory.mktemp("bq"), worker_concurrency="0") as server:
        yield server


@pytest.fixture(scope="module")
def a_server(
    b_server: Any,
    shared_backend: str,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    """A on the backend under test, every model sent to ``b_server`` (callbacks on)."""
    with _database(shared_backend, request, tmp_path_factory) as url:
        root = tmp_path_factory.mktemp("a")
        with gateway_a(root, url, f"{b_server.url}/api/v3", b_server.key) as server:
            yield server


@pytest.fixture(scope="module")
def a_queue(
    b_queue: Any,
    shared_backend: str,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    """A sending to ``b_queue``."""
    with _database(shared_backend, request, tmp_path_factory) as url:
        root = tmp_path_factory.mktemp("aq")
        with gateway_a(root, url, f"{b_queue.url}/api/v3", b_queue.key) as server:
            yield server


def create(a: Any, key: str, content: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    """Creates a task on A through the upstream dialect; returns A's task object."""
    body = {"model": MODEL, "content": content, "resolution": "480p", "duration": 2, **fields}
    with a.client(key) as client:
        response = client.post(TASKS, json=body)
        assert response.status_code == 200, response.text
        return v3_task(client, response.json()["id"])


def text(prompt: str = "a lighthouse at dusk, waves") -> list[dict[str, Any]]:
    return [{"type": "text", "text": prompt}]


def image(color: tuple[int, int, int], role: str) -> dict[str, Any]:
    picture = Image.new("RGB", (640, 640), color)
    return {"type": "image_url", "image_url": {"url": png_data_url(picture)}, "role": role}


def wait_on_b(b: Any, seed: int, timeout: float = 30) -> dict[str, Any]:
    """The one B task of the A task with ``seed``, once it exists."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = with_seed(b, seed)
        if found:
            assert len(found) == 1, found
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"no task with seed {seed} reached B")


def no_errors(*servers: Any) -> None:
    for server in servers:
        assert "unhandled error" not in server.logs()
        assert "Traceback" not in server.logs(), server.logs()[-3000:]


def test_text_to_video_is_made_on_b_and_served_from_a(a_server: Any, b_server: Any) -> None:
    """The video B rendered is copied into A's blobs; A captures exactly its quote."""
    key, _ = a_server.create_key(1000)
    with a_server.client(key) as client:
        start = credits(client)
        task = create(a_server, key, text())
        done = wait_v3(client, task["id"])
        spent = start - credits(client)
    assert done["status"] == "succeeded", done
    url = done["content"]["video_url"]
    assert url.startswith(a_server.url + "/blobs/results/"), url
    info = probe(httpx.get(url, timeout=30).content)
    assert (info.width, info.height) == (864, 480)
    assert info.frames == 48  # 2 s at 24 fps
    remote = wait_on_b(b_server, task["seed"])
    assert remote["status"] == "succeeded"
    assert remote["model"] == UPSTREAM_MODEL
    with a_server.client(key) as client:
        generation = client.get(f"/api/v1/generations/{task['id']}").json()
    assert spent == generation["final_credits"] == generation["reserved_credits"]
    assert spent > 0
    assert upstream_state(a_server, task["id"], "done") == "done"  # nothing left to check
    no_errors(a_server, b_server)


def test_seedance_2_5_with_duration_minus_1_reaches_b_under_its_upstream_id(
    a_server: Any, b_server: Any
) -> None:
    """2.5 named by its short alias in A reaches B as ``doubao-seedance-2-5-260628`` with
    ``duration: -1`` left for B to decide (B renders 10 s); A bills exactly its quote."""
    key, _ = a_server.create_key(1000)
    with a_server.client(key) as client:
        start = credits(client)
        task = create(a_server, key, text(), model="seedance-2.5", duration=-1)
        done = wait_v3(client, task["id"])
        spent = start - credits(client)
        generation = client.get(f"/api/v1/generations/{task['id']}").json()
    assert done["status"] == "succeeded", done
    assert done["model"] == "seedance-2.5"
    info = probe(httpx.get(done["content"]["video_url"], timeout=30).content)
    assert (info.width, info.height, info.frames) == (864, 496, 240)
    remote = wait_on_b(b_server, task["seed"])
    assert remote["model"] == "doubao-seedance-2-5-260628"
    assert remote["duration"] == 10  # B decided: its own -1 length
    assert received_on_b(b_server, remote["id"])["duration"] == -1
    assert upstream_row(a_server, task["id"])["upstream_model"] == "doubao-seedance-2-5-260628"
    assert spent == generation["final_credits"] == generation["reserved_credits"] > 0
    no_errors(a_server, b_server)


def test_a_2_5_draft_and_its_final_travel_to_b_as_a_draft_and_a_final(
    a_server: Any, b_server: Any
) -> None:
    """A's draft reaches B as a draft; A's final reaches B naming B's draft, without the scene
    fields B takes from it; A's final video is B's 720p final; each is billed in A exactly."""
    key, _ = a_server.create_key(5000)
    with a_server.client(key) as client:
        start = credits(client)
        draft = create(a_server, key, text(), model="seedance-2-5", duration=4, draft=True)
        assert wait_v3(client, draft["id"])["status"] == "succeeded"
        item = {"type": "draft_task", "draft_task": {"id": draft["id"]}}
        response = client.post(
            TASKS, json={"model": "seedance-2-5", "content": [item], "resolution": "720p"}
        )
        assert response.status_code == 200, response.text
        final = wait_v3(client, response.json()["id"])
        spent = start - credits(client)
        charged = [
            client.get(f"/api/v1/generations/{t}").json()["final_credits"]
            for t in (draft["id"], final["id"])
        ]
    assert final["status"] == "succeeded", final
    assert final["draft_task_id"] == draft["id"]
    assert (final["resolution"], final["seed"], final["duration"]) == ("720p", draft["seed"], 4)
    info = probe(httpx.get(final["content"]["video_url"], timeout=30).content)
    assert (info.width, info.height, info.frames) == (1280, 720, 96)
    on_b = {t["draft"]: t for t in with_seed(b_server, draft["seed"])}
    assert len(with_seed(b_server, draft["seed"])) == 2  # the draft and its final, once each
    remote_draft, remote_final = on_b[True], on_b[False]
    received = received_on_b(b_server, remote_final["id"])
    assert received["content"] == [
        {
            "type": "draft_task",
            "draft_task": {"id": upstream_row(a_server, draft["id"])["upstream_id"]},
        }
    ]
    assert received["resolution"] == "720p"
    assert not {"seed", "ratio", "duration", "generate_audio"} & set(received), received
    assert remote_final["draft_task_id"] == remote_draft["id"]
    assert spent == sum(charged) and all(c > 0 for c in charged)
    no_errors(a_server, b_server)


def test_flex_and_safety_identifier_reach_b_as_sent_and_flex_pays_half_in_a(
    a_server: Any, b_server: Any
) -> None:
    """``service_tier: flex`` and ``safety_identifier`` go upstream untouched and are echoed
    in A; A holds and captures half the default tier's price."""
    key, _ = a_server.create_key(1000)
    fields = {"model": "seedance-1-5-pro", "duration": 4, "generate_audio": True}
    with a_server.client(key) as client:
        start = credits(client)
        task = create(
            a_server, key, text(), **fields, service_tier="flex", safety_identifier="user-hash-42"
        )
        done = wait_v3(client, task["id"])
        spent = start - credits(client)
        quote = client.post(
            "/api/v1/generations/quote",
            json={
                "model": "seedance-1-5-pro",
                "prompt": "a lighthouse at dusk",
                "params": {"resolution": "480p", "duration": "4", "generate_audio": "true"},
            },
        )
    assert done["status"] == "succeeded", done
    assert (done["service_tier"], done["safety_identifier"]) == ("flex", "user-hash-42")
    received = received_on_b(b_server, upstream_row(a_server, task["id"])["upstream_id"])
    assert (received["service_tier"], received["safety_identifier"]) == ("flex", "user-hash-42")
    assert spent == -(-quote.json()["credits"] // 2) > 0  # half, rounded up
    no_errors(a_server, b_server)


def test_an_asset_reference_passes_through_to_b_untouched(a_server: Any, b_server: Any) -> None:
    """A takes ``asset://`` for a model it sends upstream and passes it on untouched; B, which
    renders 2.0 itself, refuses it naming the asset: A's task fails with B's code and nothing
    is charged in A."""
    key, _ = a_server.create_key(1000)
    asset = {
        "type": "image_url",
        "image_url": {"url": "asset://asset-20261206-person-7f3a"},
        "role": "reference_image",
    }
    with a_server.client(key) as client:
        start = credits(client)
        task = create(a_server, key, [*text(), asset], model="seedance-2-0", duration=4)
        done = wait_v3(client, task["id"])
        assert credits(client) == start
    assert done["status"] == "failed", done
    assert done["error"]["code"] == "InvalidParameter", done
    message = (
        "content[1].image_url.url: asset://asset-20261206-person-7f3a is one of the upstream's"
    )
    assert message in done["error"]["message"], done  # the id reached B as sent
    assert "seedance-2-0 is made by this server (preview)" in done["error"]["message"], done
    no_errors(a_server, b_server)


def test_first_frame_and_first_plus_last_frame_travel_to_b(a_server: Any, b_server: Any) -> None:
    """The images reach B: the video starts red (and, given a blue last frame, ends blue)."""
    key, _ = a_server.create_key(1000)
    first = create(a_server, key, [*text(), image((230, 20, 20), "first_frame")])
    both = create(
        a_server,
        key,
        [*text(), image((230, 20, 20), "first_frame"), image((20, 20, 230), "last_frame")],
    )
    with a_server.client(key) as client:
        results = [wait_v3(client, t["id"]) for t in (first, both)]
    for done in results:
        assert done["status"] == "succeeded", done
    start, _ = first_and_last_frame(httpx.get(results[0]["content"]["video_url"]).content)
    assert _mean(start)[0] > 150 > _mean(start)[2]
    start, end = first_and_last_frame(httpx.get(results[1]["content"]["video_url"]).content)
    assert _mean(start)[0] > 150 > _mean(start)[2]
    assert _mean(end)[2] > 150 > _mean(end)[0]
    assert len(with_seed(b_server, first["seed"])) == 1
    assert len(with_seed(b_server, both["seed"])) == 1


def test_cancel_of_a_task_queued_upstream_is_forwarded(a_queue: Any, b_queue: Any) -> None:
    """A's DELETE cancels B's task first; both end cancelled and A's credits come back whole."""
    key, _ = a_queue.create_key(1000)
    task = create(a_queue, key, text("a queued task"))
    remote = wait_on_b(b_queue, task["seed"])
    with a_queue.client(key) as client:
        response = client.delete(f"{TASKS}/{task['id']}")
        assert response.status_code == 200, response.text
        assert v3_task(client, task["id"])["status"] == "cancelled"
        assert credits(client) == 1000
    with b_queue.client() as client:
        assert v3_task(client, remote["id"])["status"] == "cancelled"


def test_a_task_expiring_upstream_expires_in_a(a_queue: Any, b_queue: Any) -> None:
    """B expires its task (deadline passed); A reports ``expired`` and releases the hold."""
    key, _ = a_queue.create_key(1000)
    task = create(a_queue, key, text("a task that runs out of time"))
    remote = wait_on_b(b_queue, task["seed"])
    expire_on_b(b_queue, remote["id"])
    with a_queue.client(key) as client:
        done = wait_v3(client, task["id"])
        assert done["status"] == "expired", done
        assert done["error"]["code"] == "expired"
        assert credits(client) == 1000


def test_a_callback_claiming_success_is_believed_only_when_the_upstream_confirms(
    a_queue: Any, b_queue: Any
) -> None:
    """A callback starts the copy at once, but the copy asks B first: B says queued, so the
    task goes back to being checked; a wrong secret is 404; nothing is charged or lost."""
    key, _ = a_queue.create_key(1000)
    task = create(a_queue, key, text("called back too early"))
    remote = wait_on_b(b_queue, task["seed"])
    row = upstream_row(a_queue, task["id"])
    path = f"/upstream/ark/{row['task_id']}"
    claim = {"id": remote["id"], "status": "succeeded", "content": {"video_url": "http://x/v.mp4"}}
    with httpx.Client(base_url=a_queue.url, timeout=30) as anonymous:
        wrong = anonymous.post(f"{path}/not-the-secret", json=claim)
        assert wrong.status_code == 404, wrong.text
        assert wrong.json()["error"]["code"] == "not_found"
        right = anonymous.post(f"{path}/{row['callback_secret']}", json=claim)
        assert right.status_code == 200, right.text
    deadline = time.monotonic() + 20
    while "says queued, not succeeded" not in a_queue.logs() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert f"task {row['task_id']}: the upstream says queued, not succeeded" in a_queue.logs()
    assert upstream_state(a_queue, task["id"], "active") == "active"
    with a_queue.client(key) as client:
        assert v3_task(client, task["id"])["status"] == "queued"
        assert client.delete(f"{TASKS}/{task['id']}").status_code == 200
        assert credits(client) == 1000
    assert len(with_seed(b_queue, task["seed"])) == 1


def test_without_callbacks_polling_finishes_the_task(
    b_server: Any,
    shared_backend: str,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """With no public URL there are no callbacks: the batched checks alone finish the task."""
    with _database(shared_backend, request, tmp_path_factory) as url:
        root = tmp_path_factory.mktemp("ap")
        base = f"{b_server.url}/api/v3"
        with gateway_a(root, url, base, b_server.key, ark_callbacks="false") as a:
            task = create(a, a.key, text("polled, not called back"))
            with a.client() as client:
                done = wait_v3(client, task["id"])
            assert done["status"] == "succeeded", done
            assert f"/upstream/ark/{ids.task_id_of(task['id'])}/" not in b_server.logs()
            assert len(with_seed(b_server, task["seed"])) == 1


def test_an_upstream_refusal_fails_the_task_with_the_upstream_code(
    b_server: Any,
    shared_backend: str,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """B refuses (its key has no credits): A's task fails with B's code; A's hold is released."""
    broke, _ = b_server.create_key(0, name="broke")
    with _database(shared_backend, request, tmp_path_factory) as url:
        root = tmp_path_factory.mktemp("ar")
        with gateway_a(root, url, f"{b_server.url}/api/v3", broke) as a:
            key, _ = a.create_key(1000)
            task = create(a, key, text("refused upstream"))
            with a.client(key) as client:
                done = wait_v3(client, task["id"])
                assert done["status"] == "failed", done
                assert done["error"]["code"] == "AccountOverdueError"
                assert credits(client) == 1000
                v1 = client.get(f"/api/v1/generations/{task['id']}").json()
            assert "AccountOverdueError" in str(v1["error"])


def test_a_ratio_the_upstream_lacks_is_refused_at_create(a_server: Any) -> None:
    """1.5 Pro's ``9:21`` is ours (seed 003), not the upstream's: refused, naming the ratios."""
    with a_server.client() as client:
        response = client.post(
            "/v1/generate",
            json={"prompt": "tall", "aspect_ratio": "9:21", "duration": "4"},
        )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "INVALID_ASPECT_RATIO"
    assert "16:9" in response.json()["message"]
    assert "9:21" not in response.json()["message"].split("(got")[0]


def _mean(frame: np.ndarray) -> tuple[float, float, float]:
    r, g, b = (float(frame[..., i].mean()) for i in range(3))
    return r, g, b
