"""Seed 004's API end to end: ``POST /seedance/videos`` and ``POST /seedance/tasks``.

The seed's own Python examples run through ``requests`` against a real server, with the base URL,
the key and small sizes (480p, 2-3 s) changed; their images come from a local HTTP origin instead
of the internet. Then: text commands, validation and the seed's error envelope, the wait limit of
the synchronous create, ``callback_url`` to a real receiver, ``/seedance/tasks`` and reading the
same tasks through the other dialects (``/api/v3`` and ``/api/v1``).
"""

from __future__ import annotations

import asyncio
import io
import re
import secrets
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np
import pytest
import requests
from PIL import Image, ImageOps

from seedance_gateway.store import migrate

from .conftest import SHARED_SETTINGS
from .receiver import Receiver, Reply, verify, wait_for
from .support import (
    PROMPT,
    create,
    download,
    finish,
    first_and_last_frame,
    make_server,
    mean_abs_diff,
    pg_admin,
    pg_url,
    png_data_url,
    probe,
    small,
)
from .test_files import png_bytes, poster

MODEL = "doubao-seedance-1-0-pro-250528"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
CGT = re.compile(r"^cgt-\d{14}-[0-9a-hjkmnp-tv-z]{26}$")
#: The seed's answer; ``last_frame_url`` is the upstream's field we add (null unless asked).
TOP_KEYS = {"success", "task_id", "trace_id", "data"}
DATA_KEYS = {"task_id", "status", "video_url", "last_frame_url", "model"}
PENDING_DATA_KEYS = {"task_id", "status", "model"}
ERROR_KEYS = {"success", "error", "trace_id"}
RECORD_KEYS = {"id", "created_at", "finished_at", "request", "trace_id", "type", "response"}
CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
#: Loopback image origins and callback receivers over plain HTTP.
ACE_SETTINGS = {
    **SHARED_SETTINGS,
    "allow_private_urls": "true",
    "webhook_allow_http": "true",
    "webhook_schedule": "0.3,0.3",
    "webhook_timeout_seconds": "2",
}


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ace(
    shared_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """A running server (API and worker) per backend that may fetch from and call 127.0.0.1."""
    if shared_backend == "sqlite":
        path = tmp_path_factory.mktemp("db") / "seedance.db"
        url = f"sqlite+aiosqlite:///{path}"
        asyncio.run(migrate.upgrade(url))
        name = None
    else:
        template = request.getfixturevalue("pg_template")
        name = f"sdg_e2e_{secrets.token_hex(6)}"
        pg_admin(f"CREATE DATABASE {name} TEMPLATE {template}")
        url = pg_url(name)
    server = make_server(tmp_path_factory.mktemp("acedata"), url, **ACE_SETTINGS)
    try:
        server.key, server.account_id = server.create_key(1_000_000)
        server.start()
        yield server
        assert "unhandled error" not in server.logs(), server.logs()[-4000:]
    finally:
        server.stop()
        if name is not None:
            pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A local HTTP server: an image origin and a callback receiver."""
    with Receiver() as started:
        yield started


# --- helpers -----------------------------------------------------------------------------------


def uuid_of(prefixed_id: str) -> str:
    """The UUID spelling of one of our ids (``req_<26 Crockford chars>``): its 128 bits."""
    body = prefixed_id.partition("_")[2]
    assert len(body) == 26, prefixed_id
    number = 0
    for char in body:
        number = number * 32 + CROCKFORD.index(char)
    return str(uuid.UUID(int=number))


def seed_headers(key: str) -> dict[str, str]:
    """The seed's request headers, with ``key``."""
    return {
        "accept": "application/json",
        "authorization": f"Bearer {key}",
        "content-type": "application/json",
    }


def text_body(text: str, **fields: Any) -> dict[str, Any]:
    """A text-to-video body for the seed's model."""
    return {"model": MODEL, "content": [{"type": "text", "text": text}], **fields}


def tiny(text: str = PROMPT, **fields: Any) -> dict[str, Any]:
    """A quick text-to-video body: 480p, 2 s (body fields)."""
    return text_body(text, **{"resolution": "480p", "duration": 2, **fields})


def videos(client: httpx.Client, body: Any) -> httpx.Response:
    """``POST /seedance/videos``."""
    return client.post("/seedance/videos", json=body, timeout=120)


def tasks(client: httpx.Client, body: Any) -> httpx.Response:
    """``POST /seedance/tasks``."""
    return client.post("/seedance/tasks", json=body)


def assert_answer(response: Any, model: str = MODEL) -> dict[str, Any]:
    """A synchronous create that succeeded: the seed's shape, ids and a ``video_url``."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == TOP_KEYS, body
    assert set(body["data"]) == DATA_KEYS, body
    assert body["success"] is True
    assert UUID.match(body["task_id"]), body
    assert body["trace_id"] == uuid_of(response.headers["x-request-id"]), body
    assert body["trace_id"] != body["task_id"]
    data = body["data"]
    assert CGT.match(data["task_id"]), data
    assert (data["status"], data["model"]) == ("succeeded", model)
    assert data["video_url"].startswith("http"), data
    assert data["last_frame_url"] is None, data
    return body


def assert_error(response: Any, status: int, code: str) -> str:
    """The seed's error envelope with ``status`` and ``code``; returns the message."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == ERROR_KEYS, body
    assert body["success"] is False
    assert set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body
    assert body["trace_id"] == uuid_of(response.headers["x-request-id"]), body
    message: str = body["error"]["message"]
    assert message.strip()
    return message


def video_of(answer: dict[str, Any]) -> bytes:
    """The video behind a successful answer's ``video_url``."""
    return download(answer["data"]["video_url"])


def opens_and_ends_with(video: bytes, first: Image.Image, last: Image.Image | None = None) -> None:
    """Frame 0 is ``first`` (and the last frame ``last``): far closer to it than to the other."""
    info = probe(video)
    size = (info.width, info.height)
    start, end = first_and_last_frame(video)
    other = poster(640, 360, flip=True) if last is None else last
    pairs = [(start, first, other)] + ([(end, last, first)] if last is not None else [])
    for frame, image, unrelated in pairs:
        close = mean_abs_diff(frame, _fit(image, size))
        far = mean_abs_diff(frame, _fit(unrelated, size))
        assert close < 12.0, close
        assert far > 5 * close, (close, far)


def _fit(image: Image.Image, size: tuple[int, int]) -> Any:
    return np.asarray(ImageOps.fit(image, size, method=Image.Resampling.LANCZOS))


def retrieved(client: httpx.Client, **body: Any) -> dict[str, Any]:
    """``/seedance/tasks`` ``retrieve``, asserting ``200`` and the record's keys."""
    response = tasks(client, {"action": "retrieve", **body})
    assert response.status_code == 200, response.text
    record: dict[str, Any] = response.json()
    assert set(record) == RECORD_KEYS, record
    assert record["type"] == "videos"
    return record


# --- the seed's examples -----------------------------------------------------------------------


def test_seed_text_example_with_inline_commands(ace: Any) -> None:
    """The seed's curl body (sizes 480p and 2 s): its commands apply; the seed's answer."""
    url = f"{ace.url}/seedance/videos"

    headers = {
        "accept": "application/json",
        "authorization": f"Bearer {ace.key}",
        "content-type": "application/json",
    }

    payload = {
        "content": [
            {
                "text": "A kitten yawning at the camera. --rs 480p --rt 16:9 --dur 2 --fps 24 "
                "--wm true --seed 11 --cf false",
                "type": "text",
            }
        ],
        "model": "doubao-seedance-1-0-pro-250528",
    }

    response = requests.post(url, json=payload, headers=headers)
    answer = assert_answer(response)
    info = probe(video_of(answer))
    assert (info.container, info.codec) == ("mov,mp4,m4a,3gp,3g2,mj2", "h264")
    assert (info.width, info.height, info.fps, info.frames) == (864, 480, 24, 48)
    with ace.client() as client:
        v3 = client.get(f"/api/v3/contents/generations/tasks/{answer['data']['task_id']}").json()
    assert (v3["seed"], v3["ratio"], v3["resolution"], v3["duration"]) == (11, "16:9", "480p", 2)


def test_seed_first_frame_example(ace: Any, receiver: Receiver) -> None:
    """The seed's first-frame example (``image_url`` object, ``--ratio adaptive``): frame 0 is
    the image, fetched from its URL."""
    girl = poster(640, 360)
    receiver.script(
        "/doc_image/i2v_foxrgirl.png",
        default=Reply(headers={"Content-Type": "image/png"}, body=png_bytes(girl)),
    )
    url = f"{ace.url}/seedance/videos"

    headers = {
        "accept": "application/json",
        "authorization": f"Bearer {ace.key}",
        "content-type": "application/json",
    }

    payload = {
        "content": [
            {
                "type": "image_url",
                "image_url": {"url": receiver.url("/doc_image/i2v_foxrgirl.png")},
            },
            {
                "type": "text",
                "text": "A girl holds a fox in her arms. She opens her eyes and gazes tenderly at "
                "the camera, while the fox affectionately holds her back. As the camera slowly "
                "pulls away, her hair is gently blown by the wind. --ratio adaptive  --dur 2 "
                "--rs 480p",
            },
        ],
        "model": "doubao-seedance-1-0-pro-250528",
    }

    response = requests.post(url, json=payload, headers=headers)
    answer = assert_answer(response)
    assert [r.method for r in receiver.records("/doc_image/i2v_foxrgirl.png")] == ["GET"]
    video = video_of(answer)
    info = probe(video)
    assert (info.width, info.height, info.frames) == (864, 480, 48)  # adaptive: 16:9 like the image
    opens_and_ends_with(video, girl)


def test_seed_first_and_last_frame_example(ace: Any, receiver: Receiver) -> None:
    """The seed's first-and-last-frame example (JPEGs, ``role``s): it opens on the first image
    and ends on the last."""
    first, last = poster(640, 360), poster(640, 360, flip=True)
    for path, image in (("/first.jpeg", first), ("/last.jpeg", last)):
        receiver.script(
            f"/doc_image/seepro{path.replace('/', '_')}",
            default=Reply(headers={"Content-Type": "image/jpeg"}, body=_jpeg(image)),
        )
    url = f"{ace.url}/seedance/videos"

    headers = {
        "accept": "application/json",
        "authorization": f"Bearer {ace.key}",
        "content-type": "application/json",
    }

    payload = {
        "model": "doubao-seedance-1-0-pro-250528",
        "content": [
            {"type": "text", "text": "360-degree shot"},
            {
                "type": "image_url",
                "image_url": {"url": receiver.url("/doc_image/seepro_first.jpeg")},
                "role": "first_frame",
            },
            {
                "type": "image_url",
                "image_url": {"url": receiver.url("/doc_image/seepro_last.jpeg")},
                "role": "last_frame",
            },
        ],
        "resolution": "480p",
        "duration": 2,
    }

    response = requests.post(url, json=payload, headers=headers)
    answer = assert_answer(response)
    assert {r.path for r in receiver.records()} == {
        "/doc_image/seepro_first.jpeg",
        "/doc_image/seepro_last.jpeg",
    }
    video = video_of(answer)
    info = probe(video)
    assert (info.width, info.height, info.frames) == (864, 480, 48)
    opens_and_ends_with(video, first, last)


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


# --- text commands and body fields ------------------------------------------------------------


def test_text_commands_apply_and_invalid_ones_are_ignored(ace: Any) -> None:
    """``--rs 480p --dur 3``: 480p and 72 frames; a bad ``--rt``, ``--fps`` and ``--seed`` are
    ignored (weak rules)."""
    text = "A red kite over a beach --rs 480p --dur 3 --rt 5:4 --fps 30 --seed soon"
    with ace.client() as client:
        answer = assert_answer(videos(client, text_body(text)))
        v3 = client.get(f"/api/v3/contents/generations/tasks/{answer['data']['task_id']}").json()
        v1 = client.get(f"/api/v1/generations/{answer['task_id']}").json()
    info = probe(video_of(answer))
    assert (info.width, info.height, info.fps, info.frames) == (864, 480, 24, 72)
    assert (v3["resolution"], v3["ratio"], v3["duration"], v3["framespersecond"]) == (
        "480p",
        "16:9",
        3,
        24,
    )
    assert v1["status"] == "succeeded", v1


def test_a_2_5_first_frame_in_the_seeds_form_lets_the_model_decide_the_length(ace: Any) -> None:
    """Seedance 2.5 named as the seed names models, ``--dur -1`` (the model decides: 10 s here)
    and a first frame: its ``--rt 16:9`` is ignored (weak rules), since a 2.5 frames task takes
    only ``adaptive``, so the 700x520 frame's 4:3 shape wins."""
    image = poster(700, 520)
    body = text_body(
        "A paper lantern rising --rs 480p --rt 16:9 --dur -1",
        model="doubao-seedance-2-5-260628",
    )
    body["content"].append({"type": "image_url", "image_url": {"url": png_data_url(image)}})
    with ace.client() as client:
        answer = assert_answer(videos(client, body), model="doubao-seedance-2-5-260628")
        v3 = client.get(f"/api/v3/contents/generations/tasks/{answer['data']['task_id']}").json()
    video = video_of(answer)
    info = probe(video)
    assert (info.width, info.height, info.fps, info.frames) == (752, 560, 24, 240)
    assert (v3["ratio"], v3["duration"], v3["model"]) == ("4:3", 10, "doubao-seedance-2-5-260628")
    opens_and_ends_with(video, image)


def test_a_2_5_draft_and_its_final_in_the_seeds_form(ace: Any) -> None:
    """``draft: true`` answers a 480p draft; a body whose one content item names it
    (``draft_task``, by the seed's ``data.task_id``) answers its 720p final, same length."""
    model = "doubao-seedance-2-5-260628"
    with ace.client() as client:
        draft = assert_answer(
            videos(client, text_body("A lantern rising --dur 4", model=model, draft=True)), model
        )
        item = {"type": "draft_task", "draft_task": {"id": draft["data"]["task_id"]}}
        body = {"model": model, "content": [item], "resolution": "720p"}
        final = assert_answer(videos(client, body), model)
        v3 = client.get(f"/api/v3/contents/generations/tasks/{final['data']['task_id']}").json()
    small, big = probe(video_of(draft)), probe(video_of(final))
    assert (small.width, small.height, small.frames) == (864, 496, 96)
    assert (big.width, big.height, big.frames) == (1280, 720, 96)
    assert v3["draft_task_id"] == draft["data"]["task_id"]


def test_body_fields_beat_text_commands(ace: Any) -> None:
    """Body ``resolution`` and ``duration`` win over ``--rs 720p --dur 3``; ``--rt 9:16``, set
    only as a command, applies."""
    body = tiny("A tall waterfall --rs 720p --dur 3 --rt 9:16")
    with ace.client() as client:
        answer = assert_answer(videos(client, body))
    info = probe(video_of(answer))
    assert (info.width, info.height, info.frames) == (480, 864, 48)


def test_camerafixed_is_accepted_and_generate_audio_is_ignored_by_a_silent_model(ace: Any) -> None:
    """``camerafixed`` (the seed's spelling) is taken; ``generate_audio`` on 1.0 Pro makes a
    silent video, as the seed says."""
    body = tiny(camerafixed=True, generate_audio=True, watermark=False, seed=7)
    with ace.client() as client:
        answer = assert_answer(videos(client, body))
        record = retrieved(client, id=answer["task_id"])
    assert record["request"] == body
    info = probe(video_of(answer))
    assert (info.width, info.height, info.frames, info.audio_codec) == (864, 480, 48, None)


# --- errors ------------------------------------------------------------------------------------


def test_invalid_bodies_are_400_and_create_nothing(ace: Any) -> None:
    """Bad parameters: ``token_mismatched`` naming the field; an unknown model or a field the
    model lacks: ``api_not_implemented``. No task is made and no credit spent."""
    key, _ = ace.create_key(1_000)
    image = {"type": "image_url", "image_url": "https://example.com/a.png"}
    mismatched = {
        "content[0].image_url": {"model": MODEL, "content": [image]},
        "camerafixed": tiny(camerafixed="yes"),
        "camera_fixed": tiny(camera_fixed="true"),
        "duration": tiny(duration="2"),
        "content": {"model": MODEL, "content": []},
        "fancy": tiny(fancy=1),
        "execution_expires_after": tiny(execution_expires_after=60),
    }
    not_implemented = {
        "sora-2": tiny(model="sora-2"),
        "frames": {**tiny(), "model": "seedance-2-0", "frames": 29, "duration": 4},
    }
    with ace.client(key) as client:
        for field, body in mismatched.items():
            message = assert_error(videos(client, body), 400, "token_mismatched")
            assert field in message, (field, message)
        for field, body in not_implemented.items():
            message = assert_error(videos(client, body), 400, "api_not_implemented")
            assert field in message, (field, message)
        raw = client.post(
            "/seedance/videos", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert_error(raw, 400, "token_mismatched")
        assert client.get("/api/v1/generations").json()["data"] == []
        assert client.get("/api/v1/credits").json()["current_credits"] == 1_000


def test_a_missing_or_mistyped_model_is_token_mismatched(ace: Any) -> None:
    """A missing, empty or non-string ``model`` is a missing or invalid parameter (docs: 400
    ``token_mismatched``); only an unknown model is ``api_not_implemented``."""
    content = [{"type": "text", "text": PROMPT}]
    with ace.client() as client:
        for body in ({"content": content}, {"model": "", "content": content}, tiny(model=12)):
            message = assert_error(videos(client, body), 400, "token_mismatched")
            assert "model" in message, message


def test_keys_and_credits(ace: Any) -> None:
    """A bad or missing key: 401 ``invalid_token``; a 1-credit key: 403 ``used_up``."""
    for headers in ({"authorization": "Bearer sk-not-a-key"}, {}):
        response = httpx.post(f"{ace.url}/seedance/videos", json=tiny(), headers=headers)
        assert_error(response, 401, "invalid_token")
        response = httpx.post(f"{ace.url}/seedance/tasks", json={"id": "x"}, headers=headers)
        assert_error(response, 401, "invalid_token")
    poor, _ = ace.create_key(1)
    with ace.client(poor) as client:
        assert_error(videos(client, tiny()), 403, "used_up")
        assert client.get("/api/v1/generations").json()["data"] == []


def test_rate_limit_is_429_too_many_requests_with_retry_after(server_factory: Any) -> None:
    """``rate_limit=2/minute``: the third request is 429 ``too_many_requests`` + ``Retry-After``."""
    server = server_factory(rate_limit="2/minute")
    with server.client() as client:
        for _ in range(2):
            assert_error(tasks(client, {"id": str(uuid.uuid4())}), 404, "not_found")
        response = videos(client, tiny())
        assert_error(response, 429, "too_many_requests")
    retry_after = int(response.headers["retry-after"])
    assert retry_after >= 1, response.headers
    assert retry_after <= 60, response.headers


# --- the wait limit and callbacks --------------------------------------------------------------


def test_past_the_wait_limit_the_answer_is_the_pending_task(server_factory: Any) -> None:
    """``sync_wait_seconds=1`` and no worker: after about a second, 200 with ``queued`` and no
    ``video_url``; ``/seedance/tasks`` shows it queued; once a worker runs it, succeeded."""
    server = server_factory(start=False, sync_wait_seconds="1")
    server.start("--no-worker")
    with server.client() as client:
        started = time.monotonic()
        response = videos(client, tiny())
        elapsed = time.monotonic() - started
        assert 0.9 <= elapsed < 3.0, elapsed
        assert response.status_code == 200, response.text
        answer = response.json()
        assert set(answer) == TOP_KEYS and set(answer["data"]) == PENDING_DATA_KEYS, answer
        assert answer["success"] is True
        assert answer["data"]["status"] == "queued"
        assert answer["trace_id"] == uuid_of(response.headers["x-request-id"])
        record = retrieved(client, id=answer["task_id"])
        assert record["response"] == answer
        assert record["finished_at"] is None
        server.spawn("worker")

        def done() -> dict[str, Any] | None:
            found = retrieved(client, trace_id=answer["trace_id"])
            return found if found["response"]["data"]["status"] == "succeeded" else None

        record = wait_for(done, 120, "the worker to finish the task")
    assert record["id"] == answer["task_id"]
    assert record["response"]["data"]["task_id"] == answer["data"]["task_id"]
    assert record["finished_at"] >= record["created_at"]
    assert probe(download(record["response"]["data"]["video_url"])).frames == 48


def test_a_failed_generation_answers_500_with_the_ids_and_the_error(server_factory: Any) -> None:
    """A task that fails while the create waits: 500, ``success: false``, ``error`` beside the
    same ids, ``data.status`` failed (its stored first frame is removed before a worker runs it)."""
    server = server_factory(start=False, sync_wait_seconds="60")
    server.start("--no-worker")
    image = {"type": "image_url", "image_url": {"url": png_data_url(poster(640, 360))}}
    body = tiny()
    body["content"] = [image, *body["content"]]
    headers = {"authorization": f"Bearer {server.key}"}
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(
            httpx.post, f"{server.url}/seedance/videos", json=body, headers=headers, timeout=120
        )
        stored = wait_for(lambda: list(server.home.rglob("inputs/*/*")), 30, "the stored image")
        for path in stored:
            path.unlink()
        server.spawn("worker")
        response = pending.result(timeout=120)
    assert response.status_code == 500, response.text
    answer = response.json()
    assert set(answer) == {*TOP_KEYS, "error"}, answer
    assert answer["success"] is False
    assert UUID.match(answer["task_id"]), answer
    assert answer["trace_id"] == uuid_of(response.headers["x-request-id"])
    assert set(answer["error"]) == {"code", "message"} and answer["error"]["message"], answer
    assert set(answer["data"]) == PENDING_DATA_KEYS, answer
    assert (answer["data"]["status"], answer["data"]["model"]) == ("failed", MODEL)
    with server.client() as client:
        record = retrieved(client, id=answer["task_id"])
    assert record["response"] == answer
    assert isinstance(record["finished_at"], float)
    assert "unhandled error" not in server.logs()


def test_callback_url_answers_at_once_and_posts_the_answer_later(
    ace: Any, receiver: Receiver
) -> None:
    """With ``callback_url``: ``{"task_id"}`` at once; then one POST of the synchronous answer,
    signed with the account's callback secret."""
    body = tiny(callback_url=receiver.url("/seedance/callback"))
    with ace.client() as client:
        started = time.monotonic()
        response = videos(client, body)
        answered = time.monotonic()
        elapsed = answered - started
        assert response.status_code == 200, response.text
        assert set(response.json()) == {"task_id"}, response.text
        task_id = response.json()["task_id"]
        assert UUID.match(task_id), task_id
        assert elapsed < 2.0, elapsed
        [record] = receiver.wait_for_requests(1, "/seedance/callback", timeout=120)
        secret = client.get("/api/v1/webhooks/callback-secret").json()["secret"]
        stored = retrieved(client, id=task_id)
    time.sleep(1.0)
    assert len(receiver.records()) == 1  # only the end of the task is posted
    assert record.method == "POST"
    assert record.at > answered  # the answer did not wait for the end of the task
    assert record.headers["content-type"].startswith("application/json")
    payload = record.json()
    assert verify(record, secret) == payload
    assert set(payload) == TOP_KEYS and set(payload["data"]) == DATA_KEYS, payload
    assert (payload["success"], payload["task_id"]) == (True, task_id)
    assert payload["trace_id"] == uuid_of(response.headers["x-request-id"])
    assert payload["data"]["status"] == "succeeded"
    assert payload["data"]["model"] == MODEL
    assert CGT.match(payload["data"]["task_id"])
    assert stored["request"] == body
    assert stored["response"]["data"]["task_id"] == payload["data"]["task_id"]
    assert probe(download(payload["data"]["video_url"])).frames == 48


# --- /seedance/tasks ---------------------------------------------------------------------------


def _unsigned(value: Any) -> Any:
    """``value`` with the query of every URL in it left out (``exp`` and ``sig``)."""
    if isinstance(value, dict):
        return {k: _unsigned(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unsigned(v) for v in value]
    if isinstance(value, str) and value.startswith("http") and "?exp=" in value:
        return value.split("?", 1)[0]
    return value


def test_tasks_retrieve_by_each_id_and_in_a_batch(ace: Any) -> None:
    """One record by ``task_id``, by the ``cgt-`` id and by ``trace_id``; a batch lists the
    found ones; the record holds the request as sent and the answer."""
    key, _ = ace.create_key(10_000)
    first_body = tiny("A paper boat on a pond --wm false", return_last_frame=True)
    with ace.client(key) as client:
        started = time.time()
        response = videos(client, first_body)
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["data"]["last_frame_url"].startswith("http"), answer
        second = assert_answer(videos(client, tiny("A windmill turning slowly")))
        records = [
            retrieved(client, id=answer["task_id"]),
            retrieved(client, id=answer["data"]["task_id"]),
            retrieved(client, trace_id=answer["trace_id"]),
            tasks(client, {"id": answer["task_id"]}).json(),  # action defaults to retrieve
        ]
        batch = tasks(
            client,
            {
                "action": "retrieve_batch",
                "ids": [second["data"]["task_id"], str(uuid.uuid4()), answer["task_id"]],
            },
        )
    # the same record each time, but for its result URLs' fresh signatures (their expiry is
    # counted from the second each read was made)
    unsigned = [_unsigned(r) for r in records]
    assert unsigned[1:] == unsigned[:-1], records
    record = records[0]
    assert record["id"] == answer["task_id"]
    assert record["trace_id"] == answer["trace_id"]
    assert record["request"] == first_body
    assert isinstance(record["created_at"], float) and isinstance(record["finished_at"], float)
    assert started - 1 <= record["created_at"] <= record["finished_at"] <= time.time() + 1
    stored = record["response"]
    assert {k: v for k, v in stored.items() if k != "data"} == {
        k: v for k, v in answer.items() if k != "data"
    }
    assert {k: stored["data"][k] for k in PENDING_DATA_KEYS} == {
        k: answer["data"][k] for k in PENDING_DATA_KEYS
    }
    assert probe(download(stored["data"]["video_url"])).frames == 48
    last_frame = download(stored["data"]["last_frame_url"])
    assert Image.open(io.BytesIO(last_frame)).size == (864, 480)
    assert batch.status_code == 200, batch.text
    found = batch.json()
    assert set(found) == {"items", "count"} and found["count"] == 2, found
    assert [i["id"] for i in found["items"]] == [second["task_id"], answer["task_id"]]
    assert found["items"][1]["request"] == first_body


def test_tasks_errors(ace: Any) -> None:
    """No id, an unknown action or a bad ``ids``: 400 ``token_mismatched``; an unknown task or
    another account's: 404 ``not_found`` (a batch just leaves it out)."""
    with ace.client() as client:
        answer = assert_answer(videos(client, tiny()))
        for body in (
            {"action": "retrieve"},
            {"id": "", "action": "retrieve"},
            {"id": 12, "action": "retrieve"},
            {"id": answer["task_id"], "action": "delete"},
            {"action": "retrieve_batch"},
            {"action": "retrieve_batch", "ids": []},
            {"action": "retrieve_batch", "ids": answer["task_id"]},
            {"action": "retrieve_batch", "ids": [str(uuid.uuid4()) for _ in range(101)]},
        ):
            assert_error(tasks(client, body), 400, "token_mismatched")
        assert_error(client.post("/seedance/tasks", json=["retrieve"]), 400, "token_mismatched")
        for body in ({"id": str(uuid.uuid4())}, {"trace_id": str(uuid.uuid4())}, {"id": "nope"}):
            assert_error(tasks(client, body), 404, "not_found")
    other, _ = ace.create_key(100)
    with ace.client(other) as client:
        for body in (
            {"id": answer["task_id"]},
            {"id": answer["data"]["task_id"]},
            {"trace_id": answer["trace_id"]},
        ):
            assert_error(tasks(client, body), 404, "not_found")
        batch = tasks(client, {"action": "retrieve_batch", "ids": [answer["task_id"]]})
        assert batch.json() == {"items": [], "count": 0}, batch.text
        v3 = client.get(f"/api/v3/contents/generations/tasks/{answer['data']['task_id']}")
        assert v3.status_code == 404, v3.text


# --- one key, every dialect ----------------------------------------------------------------------


def test_a_seedance_task_reads_through_api_v3_and_api_v1(ace: Any) -> None:
    """The same task under ``/api/v3`` (its ``cgt-`` id) and ``/api/v1`` (either spelling)."""
    with ace.client() as client:
        answer = assert_answer(videos(client, tiny("A fox in the snow")))
        cgt = answer["data"]["task_id"]
        v3 = client.get(f"/api/v3/contents/generations/tasks/{cgt}")
        by_uuid = client.get(f"/api/v1/generations/{answer['task_id']}")
        by_cgt = client.get(f"/api/v1/generations/{cgt}")
    assert v3.status_code == 200, v3.text
    task = v3.json()
    assert (task["id"], task["status"], task["model"]) == (cgt, "succeeded", MODEL)
    assert probe(download(task["content"]["video_url"])).frames == 48
    assert by_uuid.status_code == by_cgt.status_code == 200, (by_uuid.text, by_cgt.text)
    v1 = by_uuid.json()
    assert by_cgt.json()["id"] == v1["id"]
    assert v1["id"].startswith("task_") and uuid_of(v1["id"]) == answer["task_id"]
    assert (v1["status"], v1["model"]) == ("succeeded", "seedance-1-0-pro")
    assert probe(download(v1["result"]["primary_url"])).frames == 48


def test_api_v1_and_api_v3_tasks_are_retrievable_through_seedance_tasks(ace: Any) -> None:
    """A ``/api/v1/generations`` task by its ``task_`` id and a ``/api/v3`` task by its ``cgt-``
    id: both records show the task as it stands."""
    with ace.client() as client:
        v1 = finish(client, create(client, small(duration="5"))["id"])
        made = client.post("/api/v3/contents/generations/tasks", json=tiny())
        assert made.status_code == 200, made.text
        cgt = made.json()["id"]
        wait_for(
            lambda: (
                client.get(f"/api/v3/contents/generations/tasks/{cgt}").json()["status"]
                == "succeeded"
            ),
            120,
            "the v3 task",
        )
        by_v1_id = retrieved(client, id=v1["id"])
        by_cgt = retrieved(client, id=cgt)
        batch = tasks(client, {"action": "retrieve_batch", "ids": [v1["id"], cgt]}).json()
    assert by_v1_id["id"] == uuid_of(v1["id"])
    assert by_v1_id["response"]["success"] is True
    assert by_v1_id["response"]["data"]["status"] == "succeeded"
    assert by_v1_id["response"]["data"]["model"] == "seedance-1-0-pro"
    assert by_v1_id["request"]["model"] == "seedance-1-0-pro"
    assert by_cgt["response"]["data"]["task_id"] == cgt
    assert by_cgt["request"] == tiny()
    assert by_cgt["response"]["data"]["status"] == "succeeded"
    assert probe(download(by_cgt["response"]["data"]["video_url"])).frames == 48
    assert batch["count"] == 2, batch
