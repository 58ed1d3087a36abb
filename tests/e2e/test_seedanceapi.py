"""Seed 003's API end to end: ``POST /v1/generate`` + ``GET /v1/status`` (Seedance 1.5 Pro) and
``/v2/generate`` + ``/v2/status`` (the 2.0 family), through real ``seedance`` processes.

The seed's request bodies go out as its curl examples write them (host, key and the image URL
changed; the image comes from a local HTTP origin). Then: every cell of the seed's price table,
each error code of its table in its envelope (nothing charged), ``/v2``'s models and limits,
``callback_url`` to a real receiver, failed and cancelled tasks, ``Idempotency-Key`` and reading
the same tasks through ``/api/v1`` and ``/api/v3``. Renders stay few and small: two at 720p (the
quick start and the image-to-video example), the rest 480p and 4 s; everything that only needs a
price or a status runs on a server without a worker, where tasks stay queued.
"""

from __future__ import annotations

import asyncio
import io
import json
import math
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import numpy as np
import pytest
from PIL import Image, ImageOps
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from seedance_gateway.store import tables

from .conftest import SHARED_SETTINGS, _database
from .receiver import Receiver, Reply, verify, wait_for
from .support import (
    credits,
    download,
    first_and_last_frame,
    listed,
    make_server,
    mean_abs_diff,
    png_data_url,
    probe,
    small,
)
from .test_files import poster

#: The seed's create answer and ``data`` of its status answer, key for key.
TOP_KEYS = {"code", "message", "data"}
CREATED_KEYS = {"task_id", "status"}
STATUS_KEYS = {
    "task_id",
    "status",
    "consumed_credits",
    "created_at",
    "request",
    "response",
    "error_message",
}
ERROR_KEYS = {"code", "message", "data", "error"}
CREATED_AT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
#: Seed 003's price table: (resolution, seconds, generate_audio) -> credits.
PRICES = {
    ("480p", 4, False): 8,
    ("480p", 4, True): 14,
    ("480p", 8, False): 14,
    ("480p", 8, True): 28,
    ("480p", 12, False): 19,
    ("480p", 12, True): 38,
    ("720p", 4, False): 14,
    ("720p", 4, True): 28,
    ("720p", 8, False): 28,
    ("720p", 8, True): 56,
    ("720p", 12, False): 42,
    ("720p", 12, True): 84,
}
V2_MODELS = ("seedance-2-0", "seedance-2-0-fast", "seedance-2-0-mini")
#: Local image origins and callback receivers over plain HTTP, a short retry schedule.
HOOKS = {
    "allow_private_urls": "true",
    "webhook_allow_http": "true",
    "webhook_schedule": "0.3,0.3",
    "webhook_timeout_seconds": "2",
}

# The seed's bodies as its curl examples send them.
QUICK_START = """{
  "prompt": "A cinematic shot of mountains at sunrise with flowing clouds",
  "aspect_ratio": "16:9",
  "resolution": "720p",
  "duration": "8"
}"""
TEXT_TO_VIDEO = """{
  "prompt": "A majestic eagle soaring through golden sunset clouds over ocean waves",
  "aspect_ratio": "16:9",
  "resolution": "720p",
  "duration": "8"
}"""
IMAGE_TO_VIDEO = """{
  "prompt": "The character slowly turns and smiles at the camera",
  "image_urls": [
    "https://example.com/my-image.jpg"
  ],
  "aspect_ratio": "16:9",
  "resolution": "720p",
  "duration": "4"
}"""
WITH_AUDIO = """{
  "prompt": "A peaceful river flowing through a forest with birds singing",
  "aspect_ratio": "16:9",
  "resolution": "720p",
  "duration": "8",
  "generate_audio": true,
  "fixed_lens": true
}"""


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seedapi(
    shared_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """A running server (API and worker) per backend that may fetch from and call 127.0.0.1."""
    with _database(shared_backend, request, tmp_path_factory) as url:
        server = make_server(
            tmp_path_factory.mktemp("seedanceapi"), url, **SHARED_SETTINGS, **HOOKS
        )
        server.key, server.account_id = server.create_key(1_000_000)
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(autouse=True)
def _seedapi_answers_no_500(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fails the test during which the module's server logged an unhandled error (a 500)."""
    if "seedapi" not in request.fixturenames:
        yield
        return
    server = request.getfixturevalue("seedapi")
    mark = len(server.logs())
    yield
    new = server.logs()[mark:]
    if "unhandled error" in new:
        pytest.fail(f"the server answered a request with a 500:\n{new[-4000:]}")


@pytest.fixture(scope="module")
def queue_key(queue_server: Any) -> str:
    """A key of this module's own on the shared no-worker server (its tasks stay queued)."""
    key: str = queue_server.create_key(1_000_000)[0]
    return key


@pytest.fixture
def queued(queue_server: Any, queue_key: str) -> Iterator[httpx.Client]:
    """A client of ``queue_key`` on the no-worker server."""
    with queue_server.client(queue_key) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A local HTTP server: an image origin and a callback receiver."""
    with Receiver() as started:
        yield started


# --- helpers -----------------------------------------------------------------------------------


def tiny(prompt: Any = "A lighthouse on a cliff at sunset", **fields: Any) -> dict[str, Any]:
    """A cheap ``/v1/generate`` body: 480p, 4 s, plus ``fields``."""
    return {"prompt": prompt, "resolution": "480p", "duration": "4", **fields}


def generate(
    client: httpx.Client,
    body: Any,
    version: str = "v1",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """``POST /{version}/generate`` with a dict (as JSON) or raw JSON text as the body."""
    if isinstance(body, dict | list):
        return client.post(f"/{version}/generate", json=body, headers=headers)
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return client.post(f"/{version}/generate", content=body, headers=all_headers)


def created(response: httpx.Response) -> str:
    """Asserts the seed's create answer (``IN_PROGRESS``); returns the task id."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == TOP_KEYS and set(body["data"]) == CREATED_KEYS, body
    assert (body["code"], body["message"]) == (200, "success"), body
    assert body["data"]["status"] == "IN_PROGRESS", body
    task_id: str = body["data"]["task_id"]
    assert task_id.strip(), body
    return task_id


def submit(client: httpx.Client, body: Any, version: str = "v1") -> str:
    """Creates a task (asserting the seed's answer); returns its id."""
    return created(generate(client, body, version))


def status(
    client: httpx.Client, task_id: str, version: str = "v1", *, echoed: str | None = None
) -> dict[str, Any]:
    """``GET /{version}/status?task_id=``: asserts the seed's shape (``data.task_id`` is
    ``echoed``, default ``task_id``) and returns ``data``."""
    response = client.get(f"/{version}/status", params={"task_id": task_id})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == TOP_KEYS and set(body["data"]) == STATUS_KEYS, body
    assert (body["code"], body["message"]) == (200, "success"), body
    data: dict[str, Any] = body["data"]
    assert data["task_id"] == (echoed or task_id), data
    assert data["status"] in {"IN_PROGRESS", "SUCCESS", "FAILED"}, data
    assert type(data["consumed_credits"]) is int, data
    assert isinstance(data["response"], list), data
    assert CREATED_AT.match(data["created_at"]), data
    made = datetime.strptime(data["created_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - made).total_seconds()) < 600, data  # UTC, not local time
    return data


def finished(client: httpx.Client, task_id: str, version: str = "v1") -> dict[str, Any]:
    """Polls ``/status`` until the task is no longer ``IN_PROGRESS``; returns ``data``."""

    def done() -> dict[str, Any] | None:
        data = status(client, task_id, version)
        return data if data["status"] != "IN_PROGRESS" else None

    data: dict[str, Any] | None = wait_for(done, 120, f"{task_id} to finish")
    assert data is not None
    return data


def succeeded(client: httpx.Client, task_id: str, version: str = "v1") -> dict[str, Any]:
    """Waits for the end of the task and asserts ``SUCCESS`` with one video URL."""
    data = finished(client, task_id, version)
    assert data["status"] == "SUCCESS", data
    assert data["error_message"] is None, data
    assert len(data["response"]) == 1 and data["response"][0].startswith("http://"), data
    return data


def seed_error(response: httpx.Response, status_code: int, code: str) -> str:
    """Asserts the seed's error envelope with ``status_code`` and ``code``; returns the message."""
    assert response.status_code == status_code, (response.status_code, response.text)
    body = response.json()
    assert set(body) == ERROR_KEYS, body
    assert body["code"] == status_code and body["data"] is None, body
    assert set(body["error"]) == {"code", "message", "request_id"}, body
    assert body["error"]["code"] == code, body
    assert body["error"]["request_id"] == response.headers["x-request-id"], body
    assert body["message"] == body["error"]["message"], body
    message: str = body["message"]
    assert message.strip(), body
    return message


def generation(client: httpx.Client, task_id: str) -> dict[str, Any]:
    """The task as ``GET /api/v1/generations/{id}`` shows it."""
    response = client.get(f"/api/v1/generations/{task_id}")
    assert response.status_code == 200, response.text
    task: dict[str, Any] = response.json()
    return task


def v3_task(client: httpx.Client, task_id: str) -> dict[str, Any]:
    """The task as ``GET /api/v3/contents/generations/tasks/{id}`` shows it."""
    response = client.get(f"/api/v3/contents/generations/tasks/{task_id}")
    assert response.status_code == 200, response.text
    task: dict[str, Any] = response.json()
    return task


def unsigned(url: str) -> str:
    """``url`` without its query (the signature and expiry of a result URL)."""
    return urlunsplit(urlsplit(url)._replace(query=""))


def pixels_price(
    base: int, width: int, height: int, seconds: int, factor: Fraction = Fraction(1)
) -> int:
    """docs/pricing.md's ``pixels`` rule for the 2.0 family (base at 1280x720, 5 s), exactly."""
    return math.ceil(base * Fraction(width * height * seconds, 1280 * 720 * 5) * factor)


def jpeg(image: Image.Image) -> bytes:
    """``image`` encoded as JPEG."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def shows(frame: np.ndarray, image: Image.Image, other: Image.Image) -> None:
    """``frame`` is ``image`` (fitted to the frame's size), far closer to it than to ``other``."""
    size = (frame.shape[1], frame.shape[0])
    close = mean_abs_diff(frame, np.asarray(ImageOps.fit(image, size, Image.Resampling.LANCZOS)))
    far = mean_abs_diff(frame, np.asarray(ImageOps.fit(other, size, Image.Resampling.LANCZOS)))
    assert close < 12.0, close
    assert far > 5 * close, (close, far)


def stored_request(server: Any, task_id: str) -> dict[str, Any]:
    """The canonical request ``task_id`` was stored with (``tasks.request``), read directly."""

    async def run() -> dict[str, Any]:
        engine = create_async_engine(server.env["SEEDANCE_DATABASE_URL"])
        try:
            async with engine.connect() as conn:
                query = select(tables.tasks.c.request).where(tables.tasks.c.id == task_id)
                found: dict[str, Any] = (await conn.execute(query)).scalar_one()
                return found
        finally:
            await engine.dispose()

    return asyncio.run(run())


def rename_table(database_url: str, old: str, new: str) -> None:
    """``ALTER TABLE old RENAME TO new`` straight in the server's database."""

    async def run() -> None:
        engine = create_async_engine(database_url)
        try:
            async with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    await conn.execute(text("SET lock_timeout = '10s'"))
                await conn.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))
        finally:
            await engine.dispose()

    asyncio.run(run())


# --- the seed's examples -----------------------------------------------------------------------


def test_quick_start_renders_16_9_720p_for_8_seconds(seedapi: Any) -> None:
    """The quick start's curl: the seed's create answer, then ``/v1/status`` until ``SUCCESS``
    with the seed's fields; ``data.response[0]`` is a 1280x720 H.264 MP4 of 8 s, silent."""
    headers = {"Authorization": f"Bearer {seedapi.key}", "Content-Type": "application/json"}
    response = httpx.post(f"{seedapi.url}/v1/generate", headers=headers, content=QUICK_START)
    task_id = created(response)
    with seedapi.client() as client:
        data = succeeded(client, task_id)
        v1 = generation(client, task_id)
    assert data["consumed_credits"] == 28
    assert data["request"] == {
        "prompt": "A cinematic shot of mountains at sunrise with flowing clouds",
        "aspect_ratio": "16:9",
        "resolution": "720p",
        "duration": "8",
    }
    assert (v1["status"], v1["model"], v1["final_credits"]) == ("succeeded", "seedance-1-5-pro", 28)
    info = probe(download(data["response"][0]))
    assert (info.container, info.codec) == ("mov,mp4,m4a,3gp,3g2,mj2", "h264")
    assert (info.width, info.height, info.fps, info.frames) == (1280, 720, Fraction(24), 192)
    assert info.duration == pytest.approx(8.0, abs=0.05)
    assert info.audio_codec is None


def test_image_to_video_example_opens_on_its_image(seedapi: Any, receiver: Receiver) -> None:
    """The image-to-video body (its image on a local origin): the image is fetched once and is
    frame 0 of a 1280x720, 4 s video; 14 credits."""
    picture = poster(640, 360)
    receiver.script(
        "/my-image.jpg", default=Reply(headers={"Content-Type": "image/jpeg"}, body=jpeg(picture))
    )
    body = IMAGE_TO_VIDEO.replace("https://example.com/my-image.jpg", receiver.url("/my-image.jpg"))
    with seedapi.client() as client:
        task_id = submit(client, body)
        data = succeeded(client, task_id)
    assert [r.method for r in receiver.records("/my-image.jpg")] == ["GET"]
    assert data["consumed_credits"] == 14
    assert data["request"]["image_urls"] == [receiver.url("/my-image.jpg")]
    video = download(data["response"][0])
    info = probe(video)
    assert (info.width, info.height, info.frames) == (1280, 720, 96)
    assert info.duration == pytest.approx(4.0, abs=0.05)
    first, _ = first_and_last_frame(video)
    shows(first, picture, poster(640, 360, flip=True))


def test_text_to_video_and_audio_examples_are_queued_at_their_prices(
    queue_server: Any, queued: httpx.Client
) -> None:
    """The text-to-video and audio bodies: ``IN_PROGRESS`` holding 28 and 56 credits, the body as
    sent echoed in ``request``, no video yet; 1.5 Pro at 16:9 720p, 8 s, with audio and a fixed
    camera as asked (the stored canonical request)."""
    for body, price, audio in ((TEXT_TO_VIDEO, 28, False), (WITH_AUDIO, 56, True)):
        before = credits(queued)
        task_id = submit(queued, body)
        assert before - credits(queued) == price
        data = status(queued, task_id)
        assert data["status"] == "IN_PROGRESS"
        assert (data["consumed_credits"], data["response"], data["error_message"]) == (
            price,
            [],
            None,
        )
        assert data["request"] == json.loads(body)
        task = v3_task(queued, task_id)
        assert (task["model"], task["status"]) == ("seedance-1-5-pro", "queued")
        assert (task["resolution"], task["ratio"], task["duration"]) == ("720p", "16:9", 8)
        assert task["generate_audio"] is audio
        canonical = stored_request(queue_server, task_id)
        assert (canonical["width"], canonical["height"], canonical["mode"]) == (1280, 720, "t2v")
        assert (canonical["generate_audio"], canonical["camera_fixed"]) == (audio, audio)


def test_defaults_are_1_1_720p_8_seconds_silent(queue_server: Any, queued: httpx.Client) -> None:
    """A body with only a prompt: 1:1, 720p, 8 s, no audio, no fixed camera; 28 credits."""
    task_id = submit(queued, {"prompt": "A quiet harbour at dawn"})
    data = status(queued, task_id)
    assert data["consumed_credits"] == 28
    assert data["request"] == {"prompt": "A quiet harbour at dawn"}
    task = v3_task(queued, task_id)
    assert (task["resolution"], task["ratio"], task["duration"]) == ("720p", "1:1", 8)
    assert task["generate_audio"] is False
    assert generation(queued, task_id)["model"] == "seedance-1-5-pro"
    canonical = stored_request(queue_server, task_id)
    assert (canonical["width"], canonical["height"], canonical["frames"]) == (960, 960, 192)
    assert (canonical["generate_audio"], canonical["camera_fixed"]) == (False, False)


# --- prices ------------------------------------------------------------------------------------


def test_every_cell_of_the_price_table(queued: httpx.Client) -> None:
    """Each of the 12 cells: the balance drops by the seed's price, which ``consumed_credits``
    and ``reserved_credits`` show while the task is queued (durations as strings and ints)."""
    for index, ((resolution, seconds, audio), price) in enumerate(PRICES.items()):
        duration: str | int = str(seconds) if index % 2 else seconds
        body = {
            "prompt": f"A price check {index}",
            "resolution": resolution,
            "duration": duration,
            "generate_audio": audio,
        }
        before = credits(queued)
        task_id = submit(queued, body)
        cell = (resolution, seconds, audio)
        assert before - credits(queued) == price, cell
        assert status(queued, task_id)["consumed_credits"] == price, cell
        assert generation(queued, task_id)["reserved_credits"] == price, cell


def test_9_21_is_accepted_and_renders_432x992_at_480p(seedapi: Any) -> None:
    """9:21 (a ratio the seed sells for 1.5 Pro): 432x992 at 480p, 4 s for 8 credits."""
    with seedapi.client() as client:
        data = succeeded(client, submit(client, tiny(aspect_ratio="9:21")))
    assert data["consumed_credits"] == 8
    info = probe(download(data["response"][0]))
    assert (info.width, info.height, info.frames) == (432, 992, 96)


# --- errors ------------------------------------------------------------------------------------


def test_prompt_limits(queued: httpx.Client) -> None:
    """2000 characters are taken (and echoed whole); empty, blank, missing, non-string, 2001
    characters or a NUL character are ``INVALID_PROMPT``, and cost nothing."""
    longest = "a" * 2000
    task_id = submit(queued, tiny(longest))
    assert status(queued, task_id)["request"]["prompt"] == longest
    before, count = credits(queued), len(listed(queued))
    bodies = [
        tiny(""),
        tiny("   "),
        {"resolution": "480p", "duration": "4"},
        tiny(None),
        tiny(42),
        tiny("a" * 2001),
        tiny("a\u0000b"),
    ]
    for body in bodies:
        message = seed_error(generate(queued, body), 400, "INVALID_PROMPT")
        assert ("prompt" in message and "2000" in message) or "NUL" in message, message
    assert (credits(queued), len(listed(queued))) == (before, count)


def test_each_bad_field_has_its_seed_error_code_and_costs_nothing(queued: httpx.Client) -> None:
    """Ratios, resolutions, durations and image counts outside the seed's lists get their own
    codes; other fields ``INVALID_PARAMETER`` naming the field; a body that is not a JSON object
    ``INVALID_REQUEST``; a model other than 1.5 Pro ``INVALID_MODEL``. Nothing is created."""
    image = png_data_url(poster(64, 36))
    cases: list[tuple[Any, str, str]] = [
        (tiny(aspect_ratio="5:4"), "INVALID_ASPECT_RATIO", "aspect_ratio"),
        (tiny(aspect_ratio="adaptive"), "INVALID_ASPECT_RATIO", "aspect_ratio"),
        (tiny(aspect_ratio=1), "INVALID_ASPECT_RATIO", "aspect_ratio"),
        (tiny(resolution="1080p"), "INVALID_RESOLUTION", "480p, 720p"),
        (tiny(resolution="360p"), "INVALID_RESOLUTION", "resolution"),
        (tiny(duration="5"), "INVALID_DURATION", "4, 8, 12"),
        (tiny(duration=5), "INVALID_DURATION", "duration"),
        (tiny(duration=5.0), "INVALID_DURATION", "duration"),
        (tiny(duration=8.0), "INVALID_DURATION", "duration"),
        (tiny(duration="abc"), "INVALID_DURATION", "duration"),
        (tiny(duration=""), "INVALID_DURATION", "duration"),
        (tiny(duration=True), "INVALID_DURATION", "duration"),
        (tiny(image_urls=[image, image]), "TOO_MANY_IMAGES", "1 image"),
        (tiny(model="seedance-2-0"), "INVALID_MODEL", "seedance-1-5-pro"),
        (tiny(model="seedance-1-0-pro"), "INVALID_MODEL", "seedance-1-5-pro"),
        (tiny(model="no-such-model"), "INVALID_MODEL", "seedance-1-5-pro"),
        (tiny(model=15), "INVALID_MODEL", "model"),
        (tiny(seed=7), "INVALID_PARAMETER", "seed"),
        (tiny(aspectRatio="16:9"), "INVALID_PARAMETER", "aspectRatio"),
        (tiny(fixed_lens="true"), "INVALID_PARAMETER", "fixed_lens"),
        (tiny(generate_audio=1), "INVALID_PARAMETER", "generate_audio"),
        (tiny(image_urls=image), "INVALID_PARAMETER", "image_urls"),
        (tiny(image_urls=["ftp://example.com/a.png"]), "INVALID_PARAMETER", "image_urls[0]"),
        (tiny(callback_url=7), "INVALID_PARAMETER", "callback_url"),
        (["prompt"], "INVALID_REQUEST", "JSON object"),
        ("null", "INVALID_REQUEST", "JSON object"),
        ('"a video"', "INVALID_REQUEST", "JSON object"),
        ("{not json", "INVALID_REQUEST", "JSON"),
    ]
    before, count = credits(queued), len(listed(queued))
    for body, code, named in cases:
        message = seed_error(generate(queued, body), 400, code)
        assert named in message, (body, message)
    assert (credits(queued), len(listed(queued))) == (before, count)


def test_accepted_spellings_of_the_seed_fields(queued: httpx.Client) -> None:
    """Every listed ratio, both resolutions, durations as ints or digit strings, 1.5 Pro's
    aliases as ``model``, an empty ``image_urls`` and nulls taken as absent."""
    bodies: list[dict[str, Any]] = [
        *(tiny(aspect_ratio=r) for r in ("1:1", "16:9", "9:16", "4:3", "3:4", "21:9", "9:21")),
        tiny(duration=12),
        tiny(duration="12", resolution="720p"),
        tiny(model="seedance-1-5-pro"),
        tiny(model="seedance-1.5-pro"),
        tiny(model="doubao-seedance-1-5-pro-251215"),
        tiny(image_urls=[], fixed_lens=False, generate_audio=False),
        tiny(aspect_ratio=None, callback_url=None, model=None),
    ]
    for body in bodies:
        task_id = submit(queued, body)
        assert generation(queued, task_id)["model"] == "seedance-1-5-pro", body
        task = v3_task(queued, task_id)
        assert task["model"] == (body.get("model") or "seedance-1-5-pro"), (body, task)
        assert task["ratio"] == (body.get("aspect_ratio") or "1:1"), (body, task)
        assert task["duration"] == int(body["duration"]), (body, task)


def test_a_missing_or_bad_key_is_401_invalid_api_key(queue_server: Any) -> None:
    """No ``Authorization``, an unknown key or another scheme: 401 ``INVALID_API_KEY`` on every
    route of the dialect."""
    for headers in ({}, {"Authorization": "Bearer sk-not-a-key"}, {"Authorization": "Basic x"}):
        with httpx.Client(base_url=queue_server.url, headers=headers, timeout=30) as anonymous:
            for response in (
                anonymous.post("/v1/generate", json=tiny()),
                anonymous.get("/v1/status", params={"task_id": "task_x"}),
                anonymous.post("/v2/generate", json=tiny()),
                anonymous.get("/v2/status", params={"task_id": "task_x"}),
            ):
                seed_error(response, 401, "INVALID_API_KEY")


def test_an_unknown_task_or_another_accounts_task_is_task_not_found(
    queue_server: Any, queued: httpx.Client
) -> None:
    """``TASK_NOT_FOUND`` for an id nobody has, a malformed id and a task of another account (on
    ``/v1/status`` and ``/v2/status``); no ``task_id`` is ``INVALID_PARAMETER``."""
    task_id = submit(queued, tiny())
    assert status(queued, task_id)["task_id"] == task_id
    for unknown in ("task_00000000000000000000000000", "seed15abc123def456pro"):
        message = seed_error(
            queued.get("/v1/status", params={"task_id": unknown}), 404, "TASK_NOT_FOUND"
        )
        assert unknown in message, message
    with queue_server.client() as other:  # the shared key: another account
        for version in ("v1", "v2"):
            response = other.get(f"/{version}/status", params={"task_id": task_id})
            seed_error(response, 404, "TASK_NOT_FOUND")
    for query in ({}, {"task_id": ""}, {"task_id": "  "}):
        message = seed_error(queued.get("/v1/status", params=query), 400, "INVALID_PARAMETER")
        assert "task_id" in message, message


def test_unknown_paths_and_methods_answer_in_the_seed_envelope(queued: httpx.Client) -> None:
    """Under ``/v1/`` and ``/v2/``: ``NOT_FOUND`` and ``METHOD_NOT_ALLOWED``; ``/v1/videos``
    belongs to the OpenAI dialect and keeps its own envelope."""
    for method, path, code, status_code in (
        ("GET", "/v1/nope", "NOT_FOUND", 404),
        ("POST", "/v2/generate/extra", "NOT_FOUND", 404),
        ("GET", "/v1/generate", "METHOD_NOT_ALLOWED", 405),
        ("POST", "/v1/status", "METHOD_NOT_ALLOWED", 405),
        ("DELETE", "/v2/status", "METHOD_NOT_ALLOWED", 405),
    ):
        seed_error(queued.request(method, path), status_code, code)
    other = queued.get("/v1/videos/video_nope")
    assert other.status_code == 404, other.text
    assert set(other.json()) == {"error"}, other.text


def test_a_fault_is_500_internal_error_and_charges_nothing(
    server_factory: Any, database_url: str
) -> None:
    """With the ``tasks`` table renamed away under a running server: ``/v1/status`` and
    ``/v1/generate`` answer 500 ``INTERNAL_ERROR`` in the envelope (logged as unhandled, no
    internals in the message) and the balance is untouched."""
    server = server_factory(start=False)
    server.start("--no-worker")
    with server.client() as client:
        task_id = submit(client, tiny())
        assert status(client, task_id)["status"] == "IN_PROGRESS"
        before = credits(client)
        assert "unhandled error" not in server.logs()
    rename_table(database_url, "tasks", "tasks_away")
    # One keep-alive connection for all: a 500 must not drop it.
    with server.client() as client:
        faults = [
            client.get("/v1/status", params={"task_id": task_id}),
            generate(client, tiny()),
            client.get("/v2/status", params={"task_id": task_id}),
        ]
    for response in faults:
        message = seed_error(response, 500, "INTERNAL_ERROR")
        assert "tasks" not in message, message
    with server.client() as client:
        assert credits(client) == before
    assert "unhandled error on GET /v1/status" in server.logs()
    assert "unhandled error on POST /v1/generate" in server.logs()


def test_a_short_balance_is_402_and_too_many_requests_429(server_factory: Any) -> None:
    """7 credits: a create costing 8 is 402 ``INSUFFICIENT_CREDITS`` (no task, no charge); past
    ``3/minute`` the next request is 429 ``RATE_LIMITED`` with ``Retry-After``."""
    server = server_factory(credits=7, rate_limit="3/minute")
    with server.client() as client:
        short = generate(client, tiny())
        tasks = client.get("/api/v1/generations").json()["data"]
        balance = credits(client)
        limited = generate(client, tiny())
    message = seed_error(short, 402, "INSUFFICIENT_CREDITS")
    assert message.strip()
    assert (tasks, balance) == ([], 7)
    seed_error(limited, 429, "RATE_LIMITED")
    assert limited.headers["Retry-After"].isdigit(), limited.headers
    retry_after = int(limited.headers["Retry-After"])
    assert retry_after >= 1, limited.headers
    assert retry_after <= 60, limited.headers


# --- /v2 ---------------------------------------------------------------------------------------


def test_v2_models_aliases_and_prices(queued: httpx.Client) -> None:
    """``/v2/generate``: no model is ``seedance-2-0``; aliases name their model; the price is
    docs/pricing.md's pixel rule; ``/v2/status`` (and ``/v1/status``) read the task."""
    cases = [
        ({"prompt": "A fox in the snow"}, "seedance-2-0", pixels_price(175, 960, 960, 8)),
        (
            tiny(model="seedance-2.0-fast", aspect_ratio="16:9"),
            "seedance-2-0-fast",
            pixels_price(140, 864, 496, 4),
        ),
        (
            tiny(model="seedance-2-mini", aspect_ratio="16:9"),
            "seedance-2-0-mini",
            pixels_price(88, 864, 496, 4),
        ),
        (
            tiny(model="doubao-seedance-2-0-260128", duration=15),
            "seedance-2-0",
            pixels_price(175, 640, 640, 15),
        ),
        (
            tiny(model="seedance-2-0", resolution="1080p", aspect_ratio="adaptive", duration=4),
            "seedance-2-0",
            pixels_price(175, 1920, 1080, 4, Fraction(11, 10)),  # adaptive: 16:9; 1080p x 1.1
        ),
    ]
    assert [c[2] for c in cases] == [280, 53, 33, 234, 347]  # the rule, worked by hand
    for body, model, price in cases:
        before = credits(queued)
        task_id = submit(queued, body, "v2")
        data = status(queued, task_id, "v2")
        assert data["request"] == body, data
        assert status(queued, task_id, "v1") == data
        held = before - credits(queued)
        assert data["consumed_credits"] == held == generation(queued, task_id)["reserved_credits"]
        assert held == price, body
        assert generation(queued, task_id)["model"] == model, body
        task = v3_task(queued, task_id)
        assert task["model"] == body.get("model", "seedance-2-0"), (body, task)  # as sent
        assert task["duration"] == int(body.get("duration", 8)), task
        assert task["generate_audio"] is False, task


def test_v2_1080p_price_is_rounded_up_from_the_exact_amount(queued: httpx.Client) -> None:
    """2.0 at 1080p, 16:9 (``adaptive``), 8 s: 175 x 3.6 x 1.1 = 693 credits exactly, so 693."""
    body = tiny(model="seedance-2-0", resolution="1080p", aspect_ratio="adaptive", duration=8)
    assert pixels_price(175, 1920, 1080, 8, Fraction(11, 10)) == 693
    task_id = submit(queued, body, "v2")
    assert status(queued, task_id, "v2")["consumed_credits"] == 693


def test_v2_limits_and_errors(queued: httpx.Client) -> None:
    """Durations 4 and 15 (int or digit string) are taken, 3 and 16 refused; ``fixed_lens: true``
    is refused on 2.0; 2 images are first and last frame, 3 ``TOO_MANY_IMAGES``; an unknown or
    1.5 model is ``INVALID_MODEL`` listing the 2.0 models; per-model ratios and resolutions."""
    first, last = png_data_url(poster(640, 360)), png_data_url(poster(640, 360, flip=True))
    for duration in (4, "4", 15, "15"):
        task_id = submit(queued, tiny(duration=duration), "v2")
        assert v3_task(queued, task_id)["duration"] == int(duration)
    framed = submit(queued, tiny(image_urls=[first, last], fixed_lens=False), "v2")
    assert status(queued, framed, "v2")["status"] == "IN_PROGRESS"
    before, count = credits(queued), len(listed(queued))
    refused: list[tuple[dict[str, Any], str, str]] = [
        (tiny(duration=3), "INVALID_DURATION", "4 to 15"),
        (tiny(duration="16"), "INVALID_DURATION", "4 to 15"),
        (tiny(duration=4.5), "INVALID_DURATION", "duration"),
        (tiny(fixed_lens=True), "INVALID_PARAMETER", "fixed_lens"),
        (tiny(image_urls=[first, last, first]), "TOO_MANY_IMAGES", "2 images"),
        (tiny(model="seedance-9"), "INVALID_MODEL", ", ".join(V2_MODELS)),
        (tiny(model="seedance-1-5-pro"), "INVALID_MODEL", ", ".join(V2_MODELS)),
        (tiny(aspect_ratio="9:21"), "INVALID_ASPECT_RATIO", "aspect_ratio"),
        (tiny(model="seedance-2.0-fast", resolution="1080p"), "INVALID_RESOLUTION", "480p, 720p"),
        (tiny(seed=1), "INVALID_PARAMETER", "seed"),
    ]
    for body, code, named in refused:
        message = seed_error(generate(queued, body, "v2"), 400, code)
        assert named in message, (body, message)
        if code == "INVALID_MODEL":
            assert "seedance-1-5-pro" not in message.partition("use one of:")[2], message
    assert (credits(queued), len(listed(queued))) == (before, count)


def test_v2_first_and_last_frame_render(seedapi: Any) -> None:
    """Two images on ``/v2/generate`` with ``adaptive``: a 16:9 480p video of 4 s that opens on
    the first image and ends on the second; ``/v2/status`` reports it."""
    first, last = poster(640, 360), poster(640, 360, flip=True)
    body = tiny(
        "A slow turn",
        model="seedance-2.0-fast",
        aspect_ratio="adaptive",
        image_urls=[png_data_url(first), png_data_url(last)],
    )
    with seedapi.client() as client:
        task_id = submit(client, body, "v2")
        data = succeeded(client, task_id, "v2")
        assert generation(client, task_id)["model"] == "seedance-2-0-fast"
    video = download(data["response"][0])
    info = probe(video)
    assert (info.width, info.height, info.frames) == (864, 496, 96)
    start, end = first_and_last_frame(video)
    shows(start, first, last)
    shows(end, last, first)


# --- callbacks ---------------------------------------------------------------------------------


def test_callback_url_gets_the_status_body_once_the_task_succeeded(
    seedapi: Any, receiver: Receiver
) -> None:
    """One signed POST when the task ends: the ``/v1/status`` envelope at that moment (result URL
    signatures aside); the video carries the audio asked for."""
    body = tiny(generate_audio=True, callback_url=receiver.url("/seed/callback"))
    with seedapi.client() as client:
        task_id = submit(client, body)
        [record] = receiver.wait_for_requests(1, "/seed/callback", timeout=120)
        response = client.get("/v1/status", params={"task_id": task_id})
        secret = client.get("/api/v1/webhooks/callback-secret").json()["secret"]
    assert len(receiver.records()) == 1  # nothing was posted for earlier statuses
    assert record.method == "POST"
    assert record.headers["content-type"].startswith("application/json")
    payload = record.json()
    assert verify(record, secret) == payload
    now = response.json()
    assert set(payload) == TOP_KEYS and set(payload["data"]) == STATUS_KEYS, payload
    assert payload["data"]["status"] == "SUCCESS", payload
    assert payload["data"]["consumed_credits"] == 14
    assert payload["data"]["request"] == body
    sent_urls, now_urls = payload["data"].pop("response"), now["data"].pop("response")
    assert payload == now
    assert [unsigned(u) for u in sent_urls] == [unsigned(u) for u in now_urls]
    info = probe(download(sent_urls[0]))
    assert (info.width, info.height, info.frames) == (640, 640, 96)
    assert info.audio_codec == "aac" and info.audio_duration == pytest.approx(4.0, abs=0.1)


def test_a_callback_url_that_is_not_public_is_refused(queued: httpx.Client) -> None:
    """On a server without ``allow_private_urls``: loopback, private and link-local callback URLs,
    plain HTTP and an empty string are ``INVALID_PARAMETER`` naming ``callback_url``."""
    before, count = credits(queued), len(listed(queued))
    for url in (
        "https://127.0.0.1:9/hook",
        "https://localhost/hook",
        "https://10.0.0.1/hook",
        "https://169.254.169.254/latest",
        "http://example.com/hook",
        "",
    ):
        for version in ("v1", "v2"):
            response = generate(queued, tiny(callback_url=url), version)
            message = seed_error(response, 400, "INVALID_PARAMETER")
            assert "callback_url" in message, message
    assert (credits(queued), len(listed(queued))) == (before, count)


# --- failed and cancelled tasks ----------------------------------------------------------------


def test_failed_and_cancelled_tasks_are_failed_with_their_credits_back(
    server_factory: Any, receiver: Receiver
) -> None:
    """A cancelled queued task and one whose stored first frame is gone before a worker runs it:
    both ``FAILED`` with ``consumed_credits`` 0 and their credits released; the failure says why;
    each callback is the ``/v1/status`` body."""
    server = server_factory(start=False, **HOOKS)
    server.start("--no-worker")
    image = png_data_url(poster(640, 360))
    with server.client() as client:
        start = credits(client)
        broken = submit(client, tiny(image_urls=[image], callback_url=receiver.url("/broken")))
        dropped = submit(client, tiny(generate_audio=True, callback_url=receiver.url("/dropped")))
        assert start - credits(client) == 8 + 14
        cancel = client.post(f"/api/v1/generations/{dropped}/cancel")
        assert cancel.status_code == 200, cancel.text
        cancelled = status(client, dropped)
        assert (cancelled["status"], cancelled["consumed_credits"]) == ("FAILED", 0), cancelled
        assert cancelled["response"] == []
        assert start - credits(client) == 8
        stored = list(server.home.rglob("inputs/*/*"))
        assert len(stored) == 1, stored
        stored[0].unlink()
        server.spawn("worker")
        failed = finished(client, broken)
        assert credits(client) == start
        secret = client.get("/api/v1/webhooks/callback-secret").json()["secret"]
        records = receiver.wait_for_requests(2, timeout=60)
    assert (failed["status"], failed["consumed_credits"], failed["response"]) == ("FAILED", 0, [])
    assert "no longer stored" in failed["error_message"], failed
    assert failed["request"]["image_urls"][0].startswith("data:image/png;base64,"), failed
    assert sorted(r.path for r in records) == ["/broken", "/dropped"]
    sent = {r.path: verify(r, secret) for r in records}
    assert sent["/broken"] == {"code": 200, "message": "success", "data": failed}
    assert sent["/dropped"] == {"code": 200, "message": "success", "data": cancelled}


def test_a_cancelled_task_says_why_it_is_failed(queued: httpx.Client) -> None:
    """A task cancelled while queued is ``FAILED``; ``error_message`` should say it was
    cancelled, as the seed's ``FAILED`` carries a message."""
    task_id = submit(queued, tiny())
    assert queued.post(f"/api/v1/generations/{task_id}/cancel").status_code == 200
    data = status(queued, task_id)
    assert data["status"] == "FAILED"
    assert data["error_message"], data


# --- idempotency -------------------------------------------------------------------------------


def test_idempotency_key_replays_the_task_and_charges_once(queued: httpx.Client) -> None:
    """The same ``Idempotency-Key`` and body: the same ``task_id`` (``Idempotent-Replayed``),
    charged once; another body with that key: 409 ``IDEMPOTENCY_CONFLICT``, nothing charged."""
    key = {"Idempotency-Key": f"seed003-{time.monotonic_ns()}"}
    body = tiny("An idempotent lantern")
    before = credits(queued)
    first = generate(queued, body, headers=key)
    again = generate(queued, dict(reversed(body.items())), headers=key)  # same JSON, other order
    task_id = created(first)
    assert created(again) == task_id
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert before - credits(queued) == 8
    conflict = generate(queued, tiny("Another lantern"), headers=key)
    message = seed_error(conflict, 409, "IDEMPOTENCY_CONFLICT")
    assert task_id in message, message
    assert before - credits(queued) == 8
    assert [t["id"] for t in listed(queued)].count(task_id) == 1


def test_an_idempotency_key_reused_on_the_other_version_does_not_replay_its_task(
    queued: httpx.Client,
) -> None:
    """The same key and body on ``/v1/generate`` then ``/v2/generate``: ``/v2`` must not answer
    with the 1.5 Pro task (a 2.0 task or a 409 would both be right)."""
    key = {"Idempotency-Key": f"seed003-cross-{time.monotonic_ns()}"}
    body = tiny("A lantern for both versions")
    task_id = created(generate(queued, body, headers=key))
    response = generate(queued, body, "v2", headers=key)
    if response.status_code == 409:
        seed_error(response, 409, "IDEMPOTENCY_CONFLICT")
        return
    other = created(response)
    assert other != task_id
    assert generation(queued, other)["model"] in V2_MODELS


# --- one key, every dialect --------------------------------------------------------------------


def test_a_v1_generate_task_reads_through_api_v1_and_api_v3(seedapi: Any) -> None:
    """A ``/v1/generate`` task under ``/api/v1/generations`` and ``/api/v3``: same task, status,
    model, credits and video."""
    body = tiny("A paper boat", aspect_ratio="16:9", generate_audio=True)
    with seedapi.client() as client:
        task_id = submit(client, body)
        data = succeeded(client, task_id)
        v1 = generation(client, task_id)
        v3 = v3_task(client, task_id)
        by_cgt = status(client, v3["id"], echoed=task_id)  # any spelling of the id works
    assert (v1["id"], v1["status"], v1["model"]) == (task_id, "succeeded", "seedance-1-5-pro")
    assert v1["reserved_credits"] == v1["final_credits"] == data["consumed_credits"] == 14
    assert v3["id"].startswith("cgt-") and v3["id"].endswith(task_id.partition("_")[2]), v3
    assert (v3["status"], v3["model"], v3["resolution"], v3["ratio"]) == (
        "succeeded",
        "seedance-1-5-pro",
        "480p",
        "16:9",
    )
    assert (v3["duration"], v3["generate_audio"]) == (4, True)
    assert {k: v for k, v in by_cgt.items() if k not in {"task_id", "response"}} == {
        k: v for k, v in data.items() if k not in {"task_id", "response"}
    }
    urls = [data["response"][0], v1["result"]["primary_url"], v3["content"]["video_url"]]
    assert len({unsigned(u) for u in urls}) == 1, urls
    video = download(v3["content"]["video_url"])
    assert video == download(data["response"][0])
    assert (probe(video).width, probe(video).height) == (864, 496)


def test_api_v1_and_api_v3_tasks_read_through_v1_status(seedapi: Any, queued: httpx.Client) -> None:
    """A ``/api/v1/generations`` 1.5 Pro task reads through ``/v1/status`` (its fields in the
    seed's names) until ``SUCCESS``; a queued 1.0 Pro task made in ``/api/v1`` or ``/api/v3``
    echoes its model too."""
    with seedapi.client() as client:
        made = client.post(
            "/api/v1/generations", json=small("seedance-1-5-pro", aspectRatio="9:16")
        )
        assert made.status_code == 201, made.text
        task_id = made.json()["id"]
        data = succeeded(client, task_id)
        v1 = generation(client, task_id)
    assert data["request"] == {
        "prompt": small()["prompt"],
        "aspect_ratio": "9:16",
        "resolution": "480p",
        "duration": "4",
    }
    assert data["consumed_credits"] == v1["final_credits"] == 8
    assert unsigned(data["response"][0]) == unsigned(v1["result"]["primary_url"])
    info = probe(download(data["response"][0]))
    assert (info.width, info.height, info.frames) == (496, 864, 96)
    v1_task = queued.post("/api/v1/generations", json=small())
    assert v1_task.status_code == 201, v1_task.text
    v3_made = queued.post(
        "/api/v3/contents/generations/tasks",
        json={
            "model": "doubao-seedance-1-0-pro-250528",
            "content": [{"type": "text", "text": "A red kite"}],
            "resolution": "480p",
            "duration": 3,
            "ratio": "4:3",
        },
    )
    assert v3_made.status_code == 200, v3_made.text
    from_v1 = status(queued, v1_task.json()["id"])
    cgt = v3_made.json()["id"]
    from_v3 = status(queued, cgt, echoed="task_" + cgt.rpartition("-")[2])
    assert from_v1["request"] == {
        "prompt": small()["prompt"],
        "aspect_ratio": "16:9",
        "resolution": "480p",
        "duration": "5",
        "model": "seedance-1-0-pro",
    }
    assert from_v3["request"] == {
        "prompt": "A red kite",
        "aspect_ratio": "4:3",
        "resolution": "480p",
        "duration": "3",
        "model": "doubao-seedance-1-0-pro-250528",
    }
    assert from_v1["status"] == from_v3["status"] == "IN_PROGRESS"
    assert from_v1["consumed_credits"] == v1_task.json()["reserved_credits"]
