"""Helpers shared by the end-to-end tests: requests, polling, downloads and MP4 decoding.

The server process class and the polling helper come from ``tests/conftest.py`` (found by
path, so this works whatever name pytest gave that module). Decoding uses PyAV and Pillow only;
nothing here imports the gateway itself.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import io
import json
import re
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any

import av
import httpx
import numpy as np
from PIL import Image
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from seedance_gateway.config import Settings
from seedance_gateway.store import tables


def _root_conftest() -> ModuleType:
    """``tests/conftest.py`` as pytest loaded it (or loaded here, under a private name)."""
    path = (Path(__file__).resolve().parent.parent / "conftest.py").resolve()
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if file and Path(file).resolve() == path:
            return module
    spec = importlib.util.spec_from_file_location("seedance_tests_root_conftest", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_ROOT = _root_conftest()
Server: Any = _ROOT.Server
make_server: Any = _ROOT.make_server
wait_for_status: Any = _ROOT.wait_for_status
BACKENDS: list[str] = _ROOT.BACKENDS
S3_ENV: dict[str, str] = _ROOT.S3_ENV
s3_blobs: Any = _ROOT.s3_blobs
pg_admin = _ROOT._pg
pg_url = _ROOT._pg_url

#: Seeds 000 and 002 (the same request in two languages), byte for byte.
SEED_1_0_PRO = """{
"model": "seedance-1-0-pro",
"prompt": "A cinematic product reveal with smooth camera movement",
"params": {
"resolution": "720p",
"duration": "5",
"aspect_ratio": "16:9",
"camera_fixed": "false",
"seed": -1,
"enable_safety_checker": "true"
}
}"""

#: Seed 001, byte for byte.
SEED_1_5_PRO = """{
  "model": "seedance-1-5-pro",
  "prompt": "A cinematic product reveal with smooth camera movement",
  "params": {
    "resolution": "720p",
    "duration": "8",
    "generate_audio": "false",
    "aspectRatio": "1:1",
    "fixed_lens": "false"
  }
}"""

#: The keys of the seeds' create response.
SEED_TASK_KEYS = {
    "id",
    "status",
    "model",
    "reserved_credits",
    "final_credits",
    "created_at",
    "updated_at",
    "result",
    "error",
}
#: Keys we add to the seeds' task object (``request``: on GET of one task only).
EXTRA_TASK_KEYS = {"progress", "client_request_id", "request"}
ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
TERMINAL = {"succeeded", "failed", "cancelled", "expired"}
PROMPT = "A lighthouse on a cliff at sunset, waves rolling in"

#: Credits of small renders (pixel-priced 1.0 Pro: 864x480 vs 1248x704 at 25 credits).
SMALL_1_0_PRO_CREDITS = 12


def small(model: str = "seedance-1-0-pro", prompt: str = PROMPT, **params: Any) -> dict[str, Any]:
    """A cheap, quick request: 480p and the model's shortest duration, plus ``params``."""
    shortest = {"seedance-1-5-pro": "4"}.get(model, "5")
    merged: dict[str, Any] = {"resolution": "480p", "duration": shortest, **params}
    return {"model": model, "prompt": prompt, "params": merged}


def create(
    client: httpx.Client, body: dict[str, Any] | str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """Posts a generation and returns the created task (asserting ``201``)."""
    response = post(client, body, headers)
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


def post(
    client: httpx.Client, body: dict[str, Any] | str | bytes, headers: dict[str, str] | None = None
) -> httpx.Response:
    """``POST /api/v1/generations`` with a dict (as JSON) or raw text as the body."""
    if isinstance(body, dict):
        return client.post("/api/v1/generations", json=body, headers=headers)
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return client.post("/api/v1/generations", content=body, headers=all_headers)


def finish(client: httpx.Client, task_id: str, timeout: float = 120) -> dict[str, Any]:
    """Polls until the task is terminal and asserts it succeeded."""
    task: dict[str, Any] = wait_for_status(client, task_id, TERMINAL, timeout)
    assert task["status"] == "succeeded", task
    return task


def render(client: httpx.Client, body: dict[str, Any] | str) -> tuple[dict[str, Any], bytes]:
    """Creates a task, waits for success and downloads its video."""
    task = finish(client, create(client, body)["id"])
    return task, download(task["result"]["primary_url"])


def download(url: str, headers: dict[str, str] | None = None) -> bytes:
    """The bytes behind a signed result URL (no API key: the signature is the credential)."""
    response = httpx.get(url, headers=headers, timeout=60)
    assert response.status_code == 200, response.text
    return response.content


def wait_until_rendering(client: httpx.Client, task_id: str) -> None:
    """Polls until the task is ``processing`` with some progress recorded."""
    deadline = time.monotonic() + 120
    while True:
        seen = client.get(f"/api/v1/generations/{task_id}").json()
        if seen["status"] == "processing" and seen["progress"] > 0:
            return
        assert seen["status"] in ("queued", "processing"), seen
        assert time.monotonic() < deadline, seen
        time.sleep(0.05)


def credits(client: httpx.Client) -> int:
    """The caller's balance from ``GET /api/v1/credits``."""
    response = client.get("/api/v1/credits")
    assert response.status_code == 200, response.text
    return int(response.json()["current_credits"])


def listed(client: httpx.Client, **query: Any) -> list[dict[str, Any]]:
    """Every task of the caller (following cursors), newest first."""
    tasks: list[dict[str, Any]] = []
    params = {"limit": 100, **query}
    while True:
        page = client.get("/api/v1/generations", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        tasks.extend(body["data"])
        if not body["has_more"]:
            return tasks
        params["after"] = body["next_cursor"]


def wait_until_revoked(client: httpx.Client) -> None:
    """Waits until the server refuses ``client``'s key as revoked, failing past the key cache's
    bound (``SEEDANCE_KEY_CACHE_SECONDS``): for a key revoked by another process (the CLI)."""
    bound = time.monotonic() + Settings().key_cache_seconds + 1.0
    while (response := client.get("/api/v1/credits")).status_code == 200:
        assert time.monotonic() < bound, "still accepted past the key cache's bound"
        time.sleep(0.1)
    error_message(response, 401, "api_key_revoked")


def error_message(response: httpx.Response, status: int, code: str) -> str:
    """Asserts the house error envelope with ``status`` and ``code``; returns the message."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "requestId"}, body
    assert body["error"]["code"] == code, body
    assert body["error"]["requestId"] == response.headers["x-request-id"]
    message: str = body["error"]["message"]
    assert message.strip()
    return message


@dataclass(frozen=True)
class VideoInfo:
    """What decoding an MP4 found."""

    container: str
    codec: str
    width: int
    height: int
    fps: Fraction
    frames: int
    duration: float
    audio_codec: str | None
    audio_duration: float | None
    audio_samples: int


def probe(data: bytes) -> VideoInfo:
    """Decodes every video frame (and audio frame) of an MP4."""
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        frames, last_end = 0, 0.0
        for frame in container.decode(video=0):
            frames += 1
            assert frame.width == video.codec_context.width
            assert frame.time is not None
            last_end = float(frame.time)
        fps = Fraction(video.average_rate)
        samples, audio_end = 0, None
        if audio is not None:
            container.seek(0)
            for chunk in container.decode(audio=0):
                samples += chunk.samples
                assert chunk.time is not None
                audio_end = float(chunk.time) + chunk.samples / chunk.sample_rate
        return VideoInfo(
            container=container.format.name,
            codec=video.codec_context.name,
            width=video.codec_context.width,
            height=video.codec_context.height,
            fps=fps,
            frames=frames,
            duration=last_end + float(1 / fps),
            audio_codec=audio.codec_context.name if audio is not None else None,
            audio_duration=audio_end,
            audio_samples=samples,
        )


def rgb_frames(data: bytes) -> list[np.ndarray]:
    """Every decoded video frame as an RGB array (height x width x 3, uint8)."""
    with av.open(io.BytesIO(data)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def frames_at(video: bytes, size: tuple[int, int]) -> list[np.ndarray]:
    """Frames 0, middle and last of ``video``, scaled to ``size`` (W, H): to compare videos of
    one scene at two resolutions."""
    frames = rgb_frames(video)
    picked = (frames[0], frames[len(frames) // 2], frames[-1])
    return [np.asarray(Image.fromarray(f).resize(size, Image.Resampling.LANCZOS)) for f in picked]


def first_and_last_frame(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The first and last decoded frames as RGB arrays."""
    frames = rgb_frames(data)
    return frames[0], frames[-1]


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two same-shaped images, in 0..255."""
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def png_data_url(image: Image.Image) -> str:
    """A ``data:image/png;base64,...`` URL for ``image``."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def to_json(body: dict[str, Any]) -> str:
    """Compact JSON text (for requests that must be byte-identical)."""
    return json.dumps(body, separators=(",", ":"))


def created_days_ago(server: Any, task_id: str, days: int) -> None:
    """Moves a task's creation ``days`` into the past, in the server's database."""

    async def move() -> None:
        engine = create_async_engine(server.env["SEEDANCE_DATABASE_URL"])
        try:
            async with engine.begin() as conn:
                then = datetime.now(UTC) - timedelta(days=days)
                await conn.execute(
                    update(tables.tasks).where(tables.tasks.c.id == task_id).values(created_at=then)
                )
        finally:
            await engine.dispose()

    asyncio.run(move())
