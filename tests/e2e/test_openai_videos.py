"""The official ``openai`` SDK, unchanged, against our OpenAI Videos dialect (``/v1/videos``).

Driven as a user would: ``openai.OpenAI(api_key=..., base_url=<server>/v1, max_retries=0)`` and
``client.videos.create / create_and_poll / retrieve / list / delete / download_content``; raw
``httpx`` where the SDK cannot send a request shape (a JSON body, ``input_reference[image_url]``
form fields, a missing prompt). Facts: research/peer-apis.md §1.

Renders are 480p and short (4 s on 1.5 Pro, 2 s on the 1.0 models). Checks that need no video
run on the no-worker ``queue_server``, where tasks stay queued. Tests that count credits, files or
list videos use a fresh key; refused creates must charge nothing. The SDK's video methods are
deprecated upstream (Sora shuts down in 2026), hence the module-wide warning filter.
"""

from __future__ import annotations

import hashlib
import io
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

import httpx
import numpy as np
import openai
import pytest
import yaml
from PIL import Image, ImageOps

from .support import (
    create,
    credits,
    download,
    first_and_last_frame,
    mean_abs_diff,
    png_data_url,
    probe,
    small,
)
from .test_files import files_of, png_bytes, poster, uploaded

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PROMPT = "A lighthouse on a cliff at sunset, waves rolling in"
#: ``video_`` + 26 lowercase Crockford base32 characters.
VIDEO_ID = re.compile(r"^video_[0-9a-hjkmnp-tv-z]{26}$")
VIDEO_KEYS = {
    "id",
    "object",
    "model",
    "status",
    "progress",
    "created_at",
    "completed_at",
    "expires_at",
    "prompt",
    "seconds",
    "size",
    "remixed_from_video_id",
    "error",
}
ERROR_KEYS = {"message", "type", "param", "code"}
POLL_HEADER = "openai-poll-after-ms"
#: A well-formed id that no video has.
UNKNOWN_ID = "video_01m0000000000000000000000z"
#: 480p, 2 s on the cheapest 1.0 model: the quickest real render.
QUICK = {"model": "seedance-1-0-pro-fast", "seconds": "2", "size": "854x480"}
#: Credits of a 480p 4 s 1.5 Pro video with audio (the dialect's default), catalog price table.
CREDITS_1_5_480P_4S = 14


def pixel_table(model: str) -> dict[str, dict[str, list[int]]]:
    """The catalog's output sizes (resolution -> ratio -> [w, h]) for ``model``, read from the
    shipped ``models.yaml`` (not through the code under test)."""
    text = (resources.files("seedance_gateway.catalog") / "models.yaml").read_text()
    catalog = yaml.safe_load(text)
    spec = next(m for m in catalog["models"] if m["id"] == model)
    table: dict[str, dict[str, list[int]]] = catalog["pixel_tables"][spec["pixel_table"]]
    return table


# --- helpers -----------------------------------------------------------------------------------


@contextmanager
def sdk(server: Any, key: str | None = None) -> Iterator[openai.OpenAI]:
    """An ``openai.OpenAI`` client on ``server`` (default: its key), never retrying."""
    client = openai.OpenAI(
        api_key=server.key if key is None else key, base_url=f"{server.url}/v1", max_retries=0
    )
    try:
        yield client
    finally:
        client.close()


def task_id(video_id: str) -> str:
    """The ``/api/v1`` spelling of a video id."""
    assert VIDEO_ID.match(video_id), video_id
    return "task_" + video_id.removeprefix("video_")


def video_id(task: str) -> str:
    """The ``/v1/videos`` spelling of a task id."""
    return "video_" + task.removeprefix("task_")


def finished(client: openai.OpenAI, vid: str, timeout: float = 120) -> Any:
    """Polls ``retrieve`` until the video is completed or failed; returns it."""
    deadline = time.monotonic() + timeout
    video = None
    while time.monotonic() < deadline:
        video = client.videos.retrieve(vid)
        if video.status in ("completed", "failed"):
            return video
        time.sleep(0.1)
    raise AssertionError(f"video {vid} stuck: {video}")


def completed(client: openai.OpenAI, vid: str) -> Any:
    """Waits for the video and asserts it completed."""
    video = finished(client, vid)
    assert video.status == "completed", video
    assert video.error is None
    return video


def refused(
    error: type[openai.APIStatusError],
    call: Callable[[], Any],
    status: int,
    kind: str,
    code: str,
    param: str | None,
) -> openai.APIStatusError:
    """Runs ``call``; asserts the SDK raised ``error`` with this status, type, code and param."""
    with pytest.raises(error) as caught:
        call()
    exc = caught.value
    assert exc.status_code == status, exc.body
    assert isinstance(exc.body, dict) and set(exc.body) == ERROR_KEYS, exc.body
    assert (exc.type, exc.code, exc.param) == (kind, code, param), exc.body
    assert exc.message and exc.body["message"].strip()
    return exc


def error_of(response: httpx.Response, status: int, kind: str, code: str, param: str | None) -> str:
    """Asserts OpenAI's error envelope (exactly ``{"error": {message, type, param, code}}``)."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == ERROR_KEYS, body
    assert (body["error"]["type"], body["error"]["code"], body["error"]["param"]) == (
        kind,
        code,
        param,
    ), body
    message: str = body["error"]["message"]
    assert message.strip()
    return message


def covered(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """``image`` resized and centre-cropped to cover ``size``, as the renderer frames it."""
    return np.asarray(ImageOps.fit(image, size, method=Image.Resampling.LANCZOS))


def assert_opens_with(video: bytes, image: Image.Image) -> None:
    """Frame 0 of ``video`` is ``image``: close to it, and far closer to it than to the poster
    with its colours rearranged."""
    first, _ = first_and_last_frame(video)
    size = (first.shape[1], first.shape[0])
    close = mean_abs_diff(first, covered(image, size))
    far = mean_abs_diff(first, covered(poster(image.width, image.height, flip=True), size))
    assert close < 12.0, close
    assert far > 5 * close, (close, far)


def video_json(response: httpx.Response) -> dict[str, Any]:
    """A ``200`` video object from a raw response."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == VIDEO_KEYS, body
    return body


def ids_of(page: Any) -> list[str]:
    return [v.id for v in page.data]


@pytest.fixture(scope="module")
def refusal_key(queue_server: Any) -> str:
    """A key with 1 000 credits that only ever sends refused creates (so nothing may change)."""
    key, _ = queue_server.create_key(1000, name="openai-refusals")
    return str(key)


# --- create, poll and download -----------------------------------------------------------------


def test_create_and_poll_renders_an_h264_mp4_with_a_thumbnail_and_a_spritesheet(
    shared_server: Any,
) -> None:
    """``create_and_poll`` (following ``openai-poll-after-ms``) ends ``completed``; the video
    object follows the contract; the MP4 is H.264 at the reported size with 4 s x 24 frames and
    audio; the WEBP thumbnail is its first frame; the spritesheet is a JPEG; the audio price is
    charged."""
    key, _ = shared_server.create_key(1000)
    with sdk(shared_server, key) as client, shared_server.client(key) as http:
        before = time.time()
        video = client.videos.create_and_poll(prompt=PROMPT, seconds="4", size="854x480")
        assert video.status == "completed", video
        assert VIDEO_ID.match(video.id), video.id
        assert video.object == "video"
        assert video.model == "seedance-1-5-pro"  # the default model
        assert (video.prompt, video.seconds, video.size) == (PROMPT, "4", "864x496")
        assert video.progress == 100
        assert video.error is None
        assert video.remixed_from_video_id is None
        assert video.completed_at is not None  # kept 30 days by default (SEEDANCE_RESULT_TTL_DAYS)
        assert video.expires_at == video.completed_at + 30 * 86400
        assert before - 2 <= video.created_at <= time.time() + 1
        assert video.completed_at is not None
        assert video.created_at <= video.completed_at <= time.time() + 1
        assert credits(http) == 1000 - CREDITS_1_5_480P_4S

        content = client.videos.download_content(video.id)
        assert content.response.headers["content-type"] == "video/mp4"
        data = content.read()
        info = probe(data)
        assert (info.container, info.codec) == ("mov,mp4,m4a,3gp,3g2,mj2", "h264")
        assert (info.width, info.height) == (864, 496)
        assert info.fps == 24
        assert info.frames == 4 * 24
        assert info.audio_codec is not None and info.audio_duration is not None
        assert info.audio_duration == pytest.approx(4.0, abs=0.1)
        first, _ = first_and_last_frame(data)

        thumb = client.videos.download_content(video.id, variant="thumbnail")
        assert thumb.response.headers["content-type"] == "image/webp"
        still = Image.open(io.BytesIO(thumb.read()))
        assert still.format == "WEBP"
        assert still.width / still.height == pytest.approx(864 / 496, rel=0.01)
        frame = np.asarray(Image.fromarray(first).resize(still.size, Image.Resampling.LANCZOS))
        assert mean_abs_diff(np.asarray(still.convert("RGB")), frame) < 8.0
        again = client.videos.download_content(video.id, variant="thumbnail").read()
        assert again == thumb.read()  # made once, then served as stored

        sheet = client.videos.download_content(video.id, variant="spritesheet")
        assert sheet.response.headers["content-type"] == "image/jpeg"
        sprites = Image.open(io.BytesIO(sheet.read()))
        assert sprites.format == "JPEG"
        assert sprites.width > 0 and sprites.height > 0
        assert sprites.size != still.size


def test_a_completed_video_reads_the_same_through_the_public_api(shared_server: Any) -> None:
    """A 1.0 video made here: ``GET /api/v1/generations/task_<body>`` is the same task,
    succeeded, and its signed result URL serves the very bytes ``download_content`` does."""
    with sdk(shared_server) as client, shared_server.client() as http:
        video = completed(client, client.videos.create(prompt=PROMPT, **QUICK).id)
        assert (video.model, video.seconds, video.size) == ("seedance-1-0-pro-fast", "2", "864x480")
        task = http.get(f"/api/v1/generations/{task_id(video.id)}").json()
        assert (task["id"], task["status"]) == (task_id(video.id), "succeeded")
        assert task["model"] == "seedance-1-0-pro-fast"
        data = client.videos.download_content(video.id).read()
        assert download(task["result"]["primary_url"]) == data
        info = probe(data)
        assert (info.width, info.height, info.frames) == (864, 480, 48)


# --- size mapping ------------------------------------------------------------------------------

#: (model, size sent (None: the default 720x1280), the ratio and resolution it must map to).
SIZES: list[tuple[str, str | None, str, str]] = [
    ("seedance-1-5-pro", "1280x720", "16:9", "720p"),
    ("seedance-1-5-pro", "720x1280", "9:16", "720p"),
    ("seedance-1-5-pro", None, "9:16", "720p"),
    ("seedance-1-5-pro", "1024x1792", "9:16", "1080p"),
    ("seedance-1-5-pro", "1792x1024", "16:9", "1080p"),
    ("seedance-1-5-pro", "854x480", "16:9", "480p"),
    ("seedance-1-5-pro", "480x480", "1:1", "480p"),
    ("seedance-1-5-pro", "432x992", "9:21", "480p"),  # 9:21 exists for 1.5 Pro only
    ("seedance-1-0-pro", "432x992", "9:16", "480p"),
    ("seedance-1-0-pro", "854x480", "16:9", "480p"),
    ("seedance-1-0-pro", "1280x720", "16:9", "720p"),
    ("seedance-1-0-pro-fast", "1024x1792", "9:16", "1080p"),
    ("seedance-1-0-pro-fast", "1000x760", "4:3", "720p"),
    ("seedance-2-0-fast", "1792x1024", "16:9", "720p"),  # no 1080p on 2.0 Fast
    ("seedance-2-0-fast", "720x1280", "9:16", "720p"),
]


@pytest.mark.parametrize(
    ("model", "size", "ratio", "resolution"),
    SIZES,
    ids=[f"{m}-{s or 'default'}" for m, s, _, _ in SIZES],
)
def test_size_maps_to_the_models_nearest_ratio_and_resolution(
    queue_server: Any, model: str, size: str | None, ratio: str, resolution: str
) -> None:
    """The video reports the catalog's pixel size for the nearest ratio and resolution, on
    create and on retrieve."""
    width, height = pixel_table(model)[resolution][ratio]
    with sdk(queue_server) as client:
        extra: dict[str, Any] = {"size": size} if size else {}
        video = client.videos.create(prompt=PROMPT, model=model, seconds="4", **extra)
        assert video.size == f"{width}x{height}", (video.size, width, height)
        assert (video.model, video.seconds, video.status) == (model, "4", "queued")
        assert client.videos.retrieve(video.id).size == video.size


def test_model_aliases_and_integer_seconds_are_accepted(queue_server: Any) -> None:
    """A model alias is echoed as sent; ``seconds`` may be an integer in JSON or the SDK form;
    the defaults (also for fields sent as null) are 1.5 Pro, 4 s, 720x1280."""
    with sdk(queue_server) as client, queue_server.client() as http:
        alias = client.videos.create(
            prompt=PROMPT,
            model="doubao-seedance-1-0-pro-250528",
            seconds=3,
            size="854x480",
        )
        assert (alias.model, alias.seconds, alias.size) == (
            "doubao-seedance-1-0-pro-250528",
            "3",
            "864x480",
        )
        task = http.get(f"/api/v1/generations/{task_id(alias.id)}").json()
        assert task["model"] == "seedance-1-0-pro"
        body = video_json(http.post("/v1/videos", json={"prompt": PROMPT, "seconds": 8}))
        assert (body["model"], body["seconds"], body["size"]) == (
            "seedance-1-5-pro",
            "8",
            "720x1280",
        )
        default = video_json(http.post("/v1/videos", json={"prompt": PROMPT}))
        assert (default["model"], default["seconds"], default["size"]) == (
            "seedance-1-5-pro",
            "4",
            "720x1280",
        )
        nulls = {"model": None, "seconds": None, "size": None, "input_reference": None}
        absent = video_json(http.post("/v1/videos", json={"prompt": PROMPT, **nulls}))
        assert (absent["model"], absent["seconds"], absent["size"]) == (
            "seedance-1-5-pro",
            "4",
            "720x1280",
        )  # JSON null is absent, as SDKs send it


# --- input_reference ---------------------------------------------------------------------------


def _send_reference(
    route: str, http: httpx.Client, client: openai.OpenAI, image: Image.Image
) -> str:
    """Creates a QUICK video whose ``input_reference`` travels by ``route``; its id."""
    data = png_bytes(image)
    if route == "sdk-upload":
        return client.videos.create(
            prompt=PROMPT, input_reference=("poster.png", data, "image/png"), **QUICK
        ).id
    file_id = uploaded(http, data, "image", "poster.png")["id"] if "file_id" in route else None
    url = png_data_url(image)
    if route.startswith("json-"):
        reference: Any = {
            "json-image_url": {"image_url": url},
            "json-file_id": {"file_id": file_id},
            "json-string-url": url,
            "json-string-file_id": file_id,
        }[route]
        body = {"prompt": PROMPT, **QUICK, "input_reference": reference}
        return str(video_json(http.post("/v1/videos", json=body))["id"])
    forms = {
        "form-image_url": ("input_reference[image_url]", url),
        "form-file_id": ("input_reference[file_id]", file_id),
        "form-string-file_id": ("input_reference", file_id),  # a text part, not a file part
    }
    name, value = forms[route]
    parts = {"prompt": PROMPT, **QUICK, name: value}
    response = http.post("/v1/videos", files={k: (None, str(v)) for k, v in parts.items()})
    return str(video_json(response)["id"])


ROUTES = [
    "sdk-upload",
    "json-image_url",
    "json-file_id",
    "json-string-url",
    "json-string-file_id",
    "form-image_url",
    "form-file_id",
    "form-string-file_id",
]


@pytest.mark.parametrize("route", ROUTES)
def test_the_input_reference_becomes_the_first_frame(shared_server: Any, route: str) -> None:
    """An uploaded PNG, ``{"image_url": data:}``, ``{"file_id"}``, a bare URL or file id, the
    multipart ``input_reference[image_url]`` / ``[file_id]`` fields and a plain text
    ``input_reference`` part holding a file id: frame 0 is the image."""
    image = poster(854, 480)
    with sdk(shared_server) as client, shared_server.client() as http:
        vid = _send_reference(route, http, client, image)
        video = completed(client, vid)
        assert video.size == "864x480"
        data = client.videos.download_content(vid).read()
    info = probe(data)
    assert (info.width, info.height, info.frames) == (864, 480, 48)
    assert_opens_with(data, image)


def test_an_uploaded_input_reference_is_kept_as_one_of_the_callers_files(
    queue_server: Any,
) -> None:
    """The SDK upload is listed at ``GET /api/v1/files`` (name, kind, size, pixels) and its bytes
    download unchanged."""
    key, _ = queue_server.create_key(1000)
    data = png_bytes(poster(640, 360))
    with sdk(queue_server, key) as client, queue_server.client(key) as http:
        client.videos.create(
            prompt=PROMPT, input_reference=("still.png", data, "image/png"), **QUICK
        )
        files = files_of(http)
        assert len(files) == 1, files
        file = files[0]
        assert (file["name"], file["kind"], file["mimeType"]) == ("still.png", "image", "image/png")
        assert (file["size"], file["width"], file["height"]) == (len(data), 640, 360)
        content = http.get(f"/api/v1/files/{file['id']}/content")
        assert content.status_code == 200 and content.content == data


def test_an_uploaded_input_reference_carries_its_sha256(queue_server: Any) -> None:
    """The file object of an ``input_reference`` upload has the SHA-256 of its bytes, like any
    ``POST /api/v1/files`` upload."""
    key, _ = queue_server.create_key(1000)
    data = png_bytes(poster(640, 360))
    with sdk(queue_server, key) as client, queue_server.client(key) as http:
        client.videos.create(
            prompt=PROMPT, input_reference=("still.png", data, "image/png"), **QUICK
        )
        (file,) = files_of(http)
    assert file["sha256"] == hashlib.sha256(data).hexdigest()


#: (case, reference as the SDK uploads it, the message must contain).
BAD_UPLOADS = [
    ("not-an-image", ("notes.txt", b"hello, not an image", "text/plain"), "not a recognized"),
    ("too-small", ("tiny.png", png_bytes(poster(200, 200)), "image/png"), "300"),
    ("empty", ("empty.png", b"", "image/png"), "empty"),
]


@pytest.mark.parametrize(
    ("upload", "words"), [c[1:] for c in BAD_UPLOADS], ids=[c[0] for c in BAD_UPLOADS]
)
def test_a_bad_upload_is_400_naming_input_reference_and_nothing_is_kept(
    queue_server: Any, refusal_key: str, upload: tuple[str, bytes, str], words: str
) -> None:
    """Not an image, under 300 px, or empty: 400 ``param: input_reference``; no file, no video,
    no credits taken."""
    with sdk(queue_server, refusal_key) as client, queue_server.client(refusal_key) as http:
        exc = refused(
            openai.BadRequestError,
            lambda: client.videos.create(prompt=PROMPT, input_reference=upload, **QUICK),
            400,
            "invalid_request_error",
            "invalid_value",
            "input_reference",
        )
        assert words in exc.message, exc.message
        assert files_of(http) == []
        assert client.videos.list().data == []
        assert credits(http) == 1000


def test_reference_urls_the_server_must_not_fetch_are_400(
    queue_server: Any, refusal_key: str
) -> None:
    """A loopback ``http`` URL (the default outbound guard), a scheme that is not a URL we fetch,
    another account's file id, and malformed reference objects: 400 naming the field."""
    with queue_server.client() as owner:
        foreign = uploaded(owner, png_bytes(poster(640, 360)), "image", "theirs.png")
    cases: list[tuple[Any, str, str]] = [
        ({"image_url": "http://127.0.0.1:9/x.png"}, "input_reference.url", "loopback"),
        ("ftp://example.com/x.png", "input_reference.url", "data: URL"),
        ({"file_id": foreign["id"]}, "input_reference.url", foreign["id"]),
        ({"image_url": "data:,x", "file_id": foreign["id"]}, "input_reference", "image_url"),
        ({"url": "https://example.com/x.png"}, "input_reference", "image_url"),
        (5, "input_reference", "file upload"),
    ]
    with queue_server.client(refusal_key) as http:
        for reference, param, words in cases:
            body = {"prompt": PROMPT, **QUICK, "input_reference": reference}
            response = http.post("/v1/videos", json=body)
            message = error_of(response, 400, "invalid_request_error", "invalid_value", param)
            assert words in message, (reference, message)
        assert http.get("/v1/videos").json()["data"] == []
        assert files_of(http) == []
        assert credits(http) == 1000


# --- retrieve ----------------------------------------------------------------------------------


def test_poll_after_header_while_unfinished_and_none_once_finished(
    queue_server: Any, shared_server: Any
) -> None:
    """``openai-poll-after-ms`` (1000..10000) on create and retrieve of a queued video; none on a
    completed one, nor on a cancelled one."""
    with sdk(queue_server) as client:
        created = client.videos.with_raw_response.create(prompt=PROMPT, **QUICK)
        video = created.parse()
        assert 1000 <= int(created.headers[POLL_HEADER]) <= 10000
        raw = client.videos.with_raw_response.retrieve(video.id)
        assert raw.parse().status == "queued"
        assert 1000 <= int(raw.headers[POLL_HEADER]) <= 10000
        with queue_server.client() as http:
            cancel = http.post(f"/api/v1/generations/{task_id(video.id)}/cancel")
            assert cancel.status_code == 200, cancel.text
        raw = client.videos.with_raw_response.retrieve(video.id)
        assert raw.parse().status == "failed"
        assert POLL_HEADER not in raw.headers
    with sdk(shared_server) as client:
        done = completed(client, client.videos.create(prompt=PROMPT, **QUICK).id)
        raw = client.videos.with_raw_response.retrieve(done.id)
        assert raw.parse().status == "completed"
        assert POLL_HEADER not in raw.headers


def test_a_video_cancelled_elsewhere_is_failed_with_code_cancelled(queue_server: Any) -> None:
    """Cancelled through ``/api/v1``: ``failed``, ``error.code`` cancelled, ``completed_at`` set,
    credits back; still listed."""
    key, _ = queue_server.create_key(1000)
    with sdk(queue_server, key) as client, queue_server.client(key) as http:
        video = client.videos.create(prompt=PROMPT, **QUICK)
        assert credits(http) < 1000
        assert http.post(f"/api/v1/generations/{task_id(video.id)}/cancel").status_code == 200
        failed = client.videos.retrieve(video.id)
        assert failed.status == "failed"
        assert failed.error is not None and failed.error.code == "cancelled"
        assert failed.error.message
        assert failed.completed_at is not None and failed.completed_at >= failed.created_at
        assert credits(http) == 1000
        assert ids_of(client.videos.list()) == [video.id]
        assert client.videos.list().data[0].status == "failed"


def test_a_video_whose_render_fails_is_failed_with_an_error(server_factory: Any) -> None:
    """A task whose stored first frame vanished before a worker ran it: ``poll`` returns
    ``failed`` with ``error`` {code, message}; no poll header; content is 409; the held credits
    are released; it deletes."""
    server = server_factory(start=False, credits=1000)
    server.start("--no-worker")
    body = {"prompt": PROMPT, **QUICK, "input_reference": {"image_url": png_data_url(poster())}}
    with sdk(server) as client, server.client() as http:
        vid = video_json(http.post("/v1/videos", json=body))["id"]
        stored = list((server.home / "blobs" / "inputs").rglob("*.png"))
        assert stored, "the stored first frame"
        for path in stored:
            path.unlink()
        server.spawn("worker")
        video = client.videos.poll(vid, poll_interval_ms=100)
        assert video.status == "failed", video
        assert video.error is not None and video.error.code and video.error.message
        assert video.progress < 100
        raw = client.videos.with_raw_response.retrieve(vid)
        assert POLL_HEADER not in raw.headers
        refused(
            openai.ConflictError,
            lambda: client.videos.download_content(vid),
            409,
            "invalid_request_error",
            "video_not_ready",
            None,
        )
        assert credits(http) == 1000
        assert client.videos.delete(vid).deleted is True
    assert "unhandled error" not in server.logs()


# --- list --------------------------------------------------------------------------------------


def test_list_pages_with_after_in_both_orders_and_the_sdk_auto_paginates(
    queue_server: Any,
) -> None:
    """Five videos in pages of two, newest first and oldest first, following ``after=last_id``;
    ``has_more`` false on the last page; the SDK's iteration yields all five in order."""
    key, _ = queue_server.create_key(1000)
    with sdk(queue_server, key) as client:
        made = [client.videos.create(prompt=f"{PROMPT} {n}", **QUICK).id for n in range(5)]
        for order, expected in (("desc", made[::-1]), ("asc", made)):
            seen: list[str] = []
            after: str | None = None
            flags = []
            while True:
                extra: dict[str, Any] = {"after": after} if after else {}
                page = client.videos.list(limit=2, order=order, **extra)
                assert page.object == "list"
                assert page.first_id == page.data[0].id
                assert page.last_id == page.data[-1].id
                seen += ids_of(page)
                flags.append(page.has_more)
                if not page.has_more:
                    break
                after = page.last_id
            assert seen == expected, order
            assert flags == [True, True, False], order
        assert [v.id for v in client.videos.list(limit=2)] == made[::-1]
        assert [v.id for v in client.videos.list(limit=2, order="asc")] == made
        assert ids_of(client.videos.list()) == made[::-1]  # the default page holds all five
        assert [v.prompt for v in client.videos.list(limit=100, order="asc")] == [
            f"{PROMPT} {n}" for n in range(5)
        ]


def test_list_cursors_in_the_task_spelling_and_an_empty_list(queue_server: Any) -> None:
    """``after`` may be spelled ``task_<body>``; a key with no videos lists nothing, with null
    ``first_id`` / ``last_id``."""
    key, _ = queue_server.create_key(1000)
    with queue_server.client(key) as http:
        empty = http.get("/v1/videos").json()
        assert empty == {
            "object": "list",
            "data": [],
            "first_id": None,
            "last_id": None,
            "has_more": False,
        }
        made = [
            video_json(http.post("/v1/videos", json={"prompt": PROMPT, **QUICK}))["id"]
            for _ in range(3)
        ]
        page = http.get("/v1/videos", params={"after": task_id(made[2]), "limit": 5}).json()
        assert [v["id"] for v in page["data"]] == [made[1], made[0]]
        page = http.get(
            "/v1/videos", params={"after": task_id(made[0]), "order": "asc", "limit": 1}
        ).json()
        assert ([v["id"] for v in page["data"]], page["has_more"]) == ([made[1]], True)


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"order": "sideways"}, "order"),
        ({"after": "video_nope"}, "after"),
        ({"after": "file_" + "0" * 26}, "after"),
    ],
    ids=["limit-0", "limit-101", "limit-text", "order", "after-garbage", "after-not-a-video"],
)
def test_a_bad_list_query_is_400_naming_the_parameter(
    queue_server: Any, refusal_key: str, query: dict[str, Any], param: str
) -> None:
    """``limit`` outside 1..100 or not a number, ``order`` not asc|desc, ``after`` not a video
    id: ``BadRequestError``."""
    with sdk(queue_server, refusal_key) as client:
        refused(
            openai.BadRequestError,
            lambda: client.videos.list(**query),
            400,
            "invalid_request_error",
            "invalid_value",
            param,
        )


# --- delete ------------------------------------------------------------------------------------


@pytest.mark.parametrize("cancelled_first", [False, True], ids=["queued", "cancelled"])
def test_deleting_a_queued_or_cancelled_video_releases_credits_and_removes_it(
    queue_server: Any, cancelled_first: bool
) -> None:
    """Queued (or already cancelled through ``/api/v1``, which reads as failed) ->
    ``{id, object: video.deleted, deleted: true}``; the balance is back; retrieve, content and a
    second delete are 404; the list no longer has it; another queued video is untouched."""
    key, _ = queue_server.create_key(1000)
    with sdk(queue_server, key) as client, queue_server.client(key) as http:
        keep = client.videos.create(prompt=PROMPT, seconds="4", size="854x480")
        video = client.videos.create(prompt=PROMPT, seconds="4", size="854x480")
        assert credits(http) == 1000 - 2 * CREDITS_1_5_480P_4S
        if cancelled_first:
            http.post(f"/api/v1/generations/{task_id(video.id)}/cancel").raise_for_status()
        raw = http.delete(f"/v1/videos/{video.id}")
        assert credits(http) == 1000 - CREDITS_1_5_480P_4S
        assert raw.status_code == 200, raw.text
        assert raw.json() == {"id": video.id, "object": "video.deleted", "deleted": True}
        for call in (
            lambda: client.videos.retrieve(video.id),
            lambda: client.videos.download_content(video.id),
            lambda: client.videos.delete(video.id),
        ):
            refused(
                openai.NotFoundError, call, 404, "invalid_request_error", "not_found", "video_id"
            )
        assert ids_of(client.videos.list()) == [keep.id]
        task = http.get(f"/api/v1/generations/{task_id(video.id)}")
        assert task.status_code == 404, task.text
        assert client.videos.retrieve(keep.id).status == "queued"


def test_deleting_a_completed_video_removes_it_and_its_content(shared_server: Any) -> None:
    """Completed -> deleted (the SDK's ``VideoDeleteResponse``); retrieve and content are 404;
    the credits spent stay spent."""
    key, _ = shared_server.create_key(1000)
    with sdk(shared_server, key) as client, shared_server.client(key) as http:
        video = completed(client, client.videos.create(prompt=PROMPT, **QUICK).id)
        assert client.videos.download_content(video.id, variant="thumbnail").read()
        spent = credits(http)
        assert spent < 1000
        deleted = client.videos.delete(video.id)
        assert (deleted.id, deleted.object, deleted.deleted) == (video.id, "video.deleted", True)
        for variant in ("video", "thumbnail"):
            refused(
                openai.NotFoundError,
                lambda variant=variant: client.videos.download_content(video.id, variant=variant),
                404,
                "invalid_request_error",
                "not_found",
                "video_id",
            )
        refused(
            openai.NotFoundError,
            lambda: client.videos.retrieve(video.id),
            404,
            "invalid_request_error",
            "not_found",
            "video_id",
        )
        assert client.videos.list().data == []
        assert credits(http) == spent


def test_deleting_a_running_video_is_409_and_it_still_completes(shared_server: Any) -> None:
    """While ``in_progress`` (12 s keeps it rendering for a moment): delete is 409
    ``video_in_progress`` with ``x-should-retry: false``, content is 409 ``video_not_ready``; it
    completes, and then deletes."""
    with sdk(shared_server) as client, shared_server.client() as http:
        vid = client.videos.create(prompt=PROMPT, **{**QUICK, "seconds": "12"}).id
        deadline = time.monotonic() + 60
        while (status := video_json(http.get(f"/v1/videos/{vid}"))["status"]) == "queued":
            assert time.monotonic() < deadline, "the video never started"
            time.sleep(0.02)
        assert status == "in_progress", status
        exc = refused(
            openai.ConflictError,
            lambda: client.videos.delete(vid),
            409,
            "invalid_request_error",
            "video_in_progress",
            None,
        )
        assert exc.response.headers["x-should-retry"] == "false"
        raw = client.videos.with_raw_response.retrieve(vid)
        if raw.parse().status == "in_progress":
            assert 1000 <= int(raw.headers[POLL_HEADER]) <= 10000
            assert 0 <= raw.parse().progress < 100
        video = completed(client, vid)
        assert video.seconds == "12"
        assert probe(client.videos.download_content(vid).read()).frames == 12 * 24
        assert client.videos.delete(vid).deleted is True


def test_unknown_malformed_and_foreign_videos_are_404(queue_server: Any) -> None:
    """An id no video has, a malformed id and another account's video: 404 ``not_found`` with
    ``param: video_id`` for retrieve, content and delete; the owner's video is left alone."""
    key, _ = queue_server.create_key(1000)
    with sdk(queue_server) as owner, sdk(queue_server, key) as stranger:
        theirs = owner.videos.create(prompt=PROMPT, **QUICK).id
        for vid in (UNKNOWN_ID, "video_nope", "nope", theirs):
            for call in (
                stranger.videos.retrieve,
                stranger.videos.download_content,
                stranger.videos.delete,
            ):
                refused(
                    openai.NotFoundError,
                    lambda call=call, vid=vid: call(vid),
                    404,
                    "invalid_request_error",
                    "not_found",
                    "video_id",
                )
        assert owner.videos.retrieve(theirs).status == "queued"
        assert stranger.videos.list().data == []


# --- errors ------------------------------------------------------------------------------------

#: (case, create kwargs for the SDK, code, param).
BAD_CREATES: list[tuple[str, dict[str, Any], str, str]] = [
    ("seconds-too-short", {"seconds": "2"}, "invalid_value", "seconds"),  # 1.5 Pro: 4..12
    (
        "seconds-too-long",
        {"model": "seedance-1-0-pro", "seconds": "13"},
        "invalid_value",
        "seconds",
    ),
    ("seconds-text", {"seconds": "abc"}, "invalid_value", "seconds"),
    ("seconds-fraction", {"seconds": "4.5"}, "invalid_value", "seconds"),
    ("size-abc", {"size": "abc"}, "invalid_value", "size"),
    ("size-zero", {"size": "0x720"}, "invalid_value", "size"),
    ("unknown-model", {"model": "sora-2"}, "invalid_value", "model"),
    ("empty-prompt", {"prompt": "   "}, "missing_required_parameter", "prompt"),
    ("unknown-parameter", {"extra_body": {"quality": "high"}}, "unknown_parameter", "quality"),
    ("huge-seconds", {"model": "seedance-1-0-pro", "seconds": 10**30}, "invalid_value", "seconds"),
]
#: A text-only model with an image: the error must name OpenAI's field, not our canonical one.
IMAGE_ON_TEXT_MODEL = pytest.param(
    {
        "model": "seedance-1-0-lite-t2v",
        "input_reference": ("p.png", png_bytes(poster(640, 360)), "image/png"),
    },
    "invalid_value",
    "input_reference",
    id="lite-t2v-with-image",
)


@pytest.mark.parametrize(
    ("fields", "code", "param"),
    [*(pytest.param(*c[1:], id=c[0]) for c in BAD_CREATES), IMAGE_ON_TEXT_MODEL],
)
def test_a_refused_create_is_a_bad_request_error_and_charges_nothing(
    queue_server: Any, refusal_key: str, fields: dict[str, Any], code: str, param: str
) -> None:
    """``BadRequestError`` (400 ``invalid_request_error``) naming the field; no video, no file,
    no credits taken."""
    sent = {"prompt": PROMPT, "seconds": "4", "size": "854x480", **fields}
    with sdk(queue_server, refusal_key) as client, queue_server.client(refusal_key) as http:
        refused(
            openai.BadRequestError,
            lambda: client.videos.create(**sent),
            400,
            "invalid_request_error",
            code,
            param,
        )
        assert client.videos.list().data == []
        assert files_of(http) == []
        assert credits(http) == 1000


def test_malformed_json_bodies_are_400(queue_server: Any, refusal_key: str) -> None:
    """No prompt, a prompt that is not a string, invalid JSON, a JSON array, an unknown field:
    400 in OpenAI's envelope."""
    with queue_server.client(refusal_key) as http:
        error_of(
            http.post("/v1/videos", json={"model": "seedance-1-5-pro"}),
            400,
            "invalid_request_error",
            "missing_required_parameter",
            "prompt",
        )
        error_of(
            http.post("/v1/videos", json={"prompt": 42}),
            400,
            "invalid_request_error",
            "missing_required_parameter",
            "prompt",
        )
        error_of(
            http.post("/v1/videos", json={"prompt": PROMPT, "n": 2}),
            400,
            "invalid_request_error",
            "unknown_parameter",
            "n",
        )
        error_of(
            http.post(
                "/v1/videos", content=b"{not json", headers={"Content-Type": "application/json"}
            ),
            400,
            "invalid_request_error",
            "invalid_value",
            "body",
        )
        error_of(
            http.post("/v1/videos", json=[PROMPT]),
            400,
            "invalid_request_error",
            "invalid_value",
            "body",
        )
        assert http.get("/v1/videos").json()["data"] == []
        assert credits(http) == 1000


def test_a_bad_or_missing_api_key_is_an_authentication_error(queue_server: Any) -> None:
    """A key the server does not know: 401 ``invalid_api_key`` (``AuthenticationError``) on
    create, retrieve, list, content and delete; no key at all is 401 too."""
    with sdk(queue_server, "sk-not-a-real-key") as client:
        calls: list[Callable[[], Any]] = [
            lambda: client.videos.create(prompt=PROMPT),
            lambda: client.videos.retrieve(UNKNOWN_ID),
            lambda: client.videos.list(),
            lambda: client.videos.download_content(UNKNOWN_ID),
            lambda: client.videos.delete(UNKNOWN_ID),
        ]
        for call in calls:
            refused(
                openai.AuthenticationError,
                call,
                401,
                "invalid_request_error",
                "invalid_api_key",
                None,
            )
    with httpx.Client(base_url=queue_server.url, timeout=30) as anonymous:
        error_of(anonymous.get("/v1/videos"), 401, "invalid_request_error", "invalid_api_key", None)


def test_too_few_credits_is_a_rate_limit_error_insufficient_quota_that_must_not_be_retried(
    queue_server: Any,
) -> None:
    """A key with 5 credits (a 480p 4 s video costs 14): 429 ``insufficient_quota`` with
    ``x-should-retry: false``; nothing charged, no video, and the uploaded image is not kept."""
    key, _ = queue_server.create_key(5)
    with sdk(queue_server, key) as client, queue_server.client(key) as http:
        for extra in ({}, {"input_reference": ("p.png", png_bytes(poster(640, 360)), "image/png")}):
            exc = refused(
                openai.RateLimitError,
                lambda extra=extra: client.videos.create(
                    prompt=PROMPT, seconds="4", size="854x480", **extra
                ),
                429,
                "insufficient_quota",
                "insufficient_quota",
                None,
            )
            assert exc.response.headers["x-should-retry"] == "false"
            assert "14" in exc.message
        assert credits(http) == 5
        assert client.videos.list().data == []
        assert files_of(http) == []
    # The SDK's own retries honour the header: with retries on it still asks only once.
    with openai.OpenAI(api_key=key, base_url=f"{queue_server.url}/v1", max_retries=2) as retrying:
        started = time.monotonic()
        with pytest.raises(openai.RateLimitError):
            retrying.videos.create(prompt=PROMPT, seconds="4", size="854x480")
        assert time.monotonic() - started < 0.5


def test_request_and_in_flight_limits_are_429_rate_limit_exceeded(server_factory: Any) -> None:
    """``max_in_flight=1``: a second queued video is 429 ``rate_limit_exceeded``; past
    ``4/minute`` every request is 429 ``rate_limit_exceeded`` with ``Retry-After``."""
    server = server_factory(start=False, rate_limit="4/minute", max_in_flight="1")
    server.start("--no-worker")
    with sdk(server) as client:
        client.videos.create(prompt=PROMPT, **QUICK)  # request 1
        refused(  # request 2
            openai.RateLimitError,
            lambda: client.videos.create(prompt=PROMPT, **QUICK),
            429,
            "rate_limit_error",
            "rate_limit_exceeded",
            None,
        )
        client.videos.list()  # request 3
        client.videos.list()  # request 4
        for call in (lambda: client.videos.list(), lambda: client.videos.retrieve(UNKNOWN_ID)):
            exc = refused(
                openai.RateLimitError, call, 429, "rate_limit_error", "rate_limit_exceeded", None
            )
            retry_after = exc.response.headers["Retry-After"]
            assert retry_after.isdigit() and 1 <= int(retry_after) <= 60, retry_after
    assert "unhandled error" not in server.logs()


def test_content_before_completion_is_a_conflict_video_not_ready(queue_server: Any) -> None:
    """A queued video's content, in every variant: 409 ``video_not_ready``
    (``ConflictError``) with ``x-should-retry: false``; an unknown variant is 400."""
    with sdk(queue_server) as client, queue_server.client() as http:
        vid = client.videos.create(prompt=PROMPT, **QUICK).id
        for variant in ("video", "thumbnail", "spritesheet"):
            exc = refused(
                openai.ConflictError,
                lambda variant=variant: client.videos.download_content(vid, variant=variant),
                409,
                "invalid_request_error",
                "video_not_ready",
                None,
            )
            assert exc.response.headers["x-should-retry"] == "false"
        error_of(
            http.get(f"/v1/videos/{vid}/content", params={"variant": "gif"}),
            400,
            "invalid_request_error",
            "invalid_value",
            "variant",
        )


def test_idempotency_key_replays_the_same_video_and_refuses_another_body(
    queue_server: Any,
) -> None:
    """The same ``Idempotency-Key`` and body: the same video, ``Idempotent-Replayed: true``,
    charged once; another body under that key: 409 ``idempotency_conflict``
    (``ConflictError``), nothing charged."""
    key, _ = queue_server.create_key(1000)
    headers = {"Idempotency-Key": "openai-idem-1"}
    with sdk(queue_server, key) as client, queue_server.client(key) as http:
        first = client.videos.with_raw_response.create(
            prompt=PROMPT, seconds="4", size="854x480", extra_headers=headers
        )
        assert "Idempotent-Replayed" not in first.headers
        again = client.videos.with_raw_response.create(
            prompt=PROMPT, seconds="4", size="854x480", extra_headers=headers
        )
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.parse().id == first.parse().id
        assert credits(http) == 1000 - CREDITS_1_5_480P_4S
        exc = refused(
            openai.ConflictError,
            lambda: client.videos.create(
                prompt="Another prompt", seconds="4", size="854x480", extra_headers=headers
            ),
            409,
            "invalid_request_error",
            "idempotency_conflict",
            None,
        )
        assert exc.response.headers["x-should-retry"] == "false"
        assert ids_of(client.videos.list()) == [first.parse().id]
        assert credits(http) == 1000 - CREDITS_1_5_480P_4S


def test_idempotency_key_with_a_different_uploaded_image_is_a_conflict(queue_server: Any) -> None:
    """The same key and text fields but another uploaded image is another request: 409."""
    key, _ = queue_server.create_key(1000)
    headers = {"Idempotency-Key": "openai-idem-image"}
    with sdk(queue_server, key) as client:
        client.videos.create(
            prompt=PROMPT,
            input_reference=("a.png", png_bytes(poster(640, 360)), "image/png"),
            extra_headers=headers,
            **QUICK,
        )
        with pytest.raises(openai.ConflictError):
            client.videos.create(
                prompt=PROMPT,
                input_reference=("b.png", png_bytes(poster(640, 360, flip=True)), "image/png"),
                extra_headers=headers,
                **QUICK,
            )


def test_an_idempotent_replay_with_an_upload_keeps_no_extra_file(queue_server: Any) -> None:
    """Replaying a create with an uploaded image returns the first video and stores nothing
    new: the account still has one file."""
    key, _ = queue_server.create_key(1000)
    headers = {"Idempotency-Key": "openai-idem-replay"}
    data = png_bytes(poster(640, 360))
    with sdk(queue_server, key) as client, queue_server.client(key) as http:
        ids = [
            client.videos.create(
                prompt=PROMPT,
                input_reference=("a.png", data, "image/png"),
                extra_headers=headers,
                **QUICK,
            ).id
            for _ in range(2)
        ]
        assert ids[0] == ids[1]
        assert len(files_of(http)) == 1


# --- cross-dialect -----------------------------------------------------------------------------


def test_a_video_is_a_task_and_a_task_is_a_video(queue_server: Any) -> None:
    """A video made here is ``GET /api/v1/generations/task_<body>``; a task made through
    ``/api/v1/generations`` is ``video_<body>`` here (queued, its model, seconds and 480p size)
    and is listed; ``/v1/videos/task_<body>`` answers with the ``video_`` id."""
    key, _ = queue_server.create_key(1000)
    with sdk(queue_server, key) as client, queue_server.client(key) as http:
        video = client.videos.create(prompt=PROMPT, seconds="4", size="854x480")
        task = http.get(f"/api/v1/generations/{task_id(video.id)}")
        assert task.status_code == 200, task.text
        assert task.json()["id"] == task_id(video.id)
        assert (task.json()["status"], task.json()["model"]) == ("queued", "seedance-1-5-pro")
        assert task.json()["reserved_credits"] == CREDITS_1_5_480P_4S

        made = create(http, small("seedance-1-0-pro"))
        other = client.videos.retrieve(video_id(made["id"]))
        assert other.id == video_id(made["id"])
        assert (other.status, other.model, other.prompt) == ("queued", "seedance-1-0-pro", PROMPT)
        assert (other.seconds, other.size, other.error) == ("5", "864x480", None)
        assert ids_of(client.videos.list()) == [other.id, video.id]
        by_task_id = video_json(http.get(f"/v1/videos/{made['id']}"))
        assert by_task_id["id"] == other.id
        cancel = http.post(f"/api/v1/generations/{made['id']}/cancel")
        assert cancel.status_code == 200, cancel.text
        cancelled = client.videos.retrieve(other.id)
        assert cancelled.status == "failed"
        assert cancelled.error is not None and cancelled.error.code == "cancelled"
        assert credits(http) == 1000 - CREDITS_1_5_480P_4S


def test_an_upstream_v3_task_is_a_video_under_every_spelling(queue_server: Any) -> None:
    """A task made through ``/api/v3`` (``cgt-`` id, upstream model name, 2 s at 480p) is
    ``video_<body>`` here, retrievable by its ``cgt-`` id too, and listed."""
    key, _ = queue_server.create_key(1000)
    model = "doubao-seedance-1-0-pro-250528"
    body = {"model": model, "content": [{"type": "text", "text": PROMPT}]}
    with sdk(queue_server, key) as client, queue_server.client(key) as http:
        made = http.post(
            "/api/v3/contents/generations/tasks", json={**body, "resolution": "480p", "duration": 2}
        )
        assert made.status_code == 200, made.text
        cgt = made.json()["id"]
        vid = "video_" + cgt.rsplit("-", 1)[1]
        video = client.videos.retrieve(vid)
        assert (video.id, video.status, video.model) == (vid, "queued", model)
        assert (video.seconds, video.size, video.prompt) == ("2", "864x480", PROMPT)
        assert client.videos.retrieve(cgt).id == vid
        assert ids_of(client.videos.list()) == [vid]


def test_a_task_made_by_frame_count_reports_the_seconds_it_lasts(queue_server: Any) -> None:
    """``frames: 29`` through ``/api/v3`` (1.2 s at 24 fps): ``seconds`` is "1", not the default
    duration."""
    key, _ = queue_server.create_key(1000)
    body = {
        "model": "doubao-seedance-1-0-pro-250528",
        "content": [{"type": "text", "text": PROMPT}],
        "resolution": "480p",
        "frames": 29,
    }
    with sdk(queue_server, key) as client, queue_server.client(key) as http:
        made = http.post("/api/v3/contents/generations/tasks", json=body)
        assert made.status_code == 200, made.text
        video = client.videos.retrieve(made.json()["id"])
        assert video.seconds == str(round(29 / 24))
