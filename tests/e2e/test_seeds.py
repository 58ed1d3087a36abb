"""The seeds' minimal requests, sent verbatim: the create response, the result and the bill.

Seeds 000 and 002 document ``seedance-1-0-pro`` (the same request in two languages), seed 001
``seedance-1-5-pro``. Each video is downloaded and decoded with PyAV.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx

from .support import (
    EXTRA_TASK_KEYS,
    ISO_MS,
    SEED_1_0_PRO,
    SEED_1_5_PRO,
    SEED_TASK_KEYS,
    create,
    credits,
    download,
    error_message,
    finish,
    post,
    probe,
    small,
    to_json,
)


def _assert_seed_shape(task: dict[str, Any], model: str, reserved: int) -> None:
    assert SEED_TASK_KEYS <= set(task) <= SEED_TASK_KEYS | EXTRA_TASK_KEYS, set(task)
    assert task["id"].startswith("task_")
    assert task["status"] == "queued"
    assert task["model"] == model
    assert task["reserved_credits"] == reserved
    assert task["final_credits"] == 0
    assert ISO_MS.match(task["created_at"]), task["created_at"]
    assert ISO_MS.match(task["updated_at"]), task["updated_at"]
    assert task["result"] is None
    assert task["error"] is None


def _stamp(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ")


def test_seed_000_and_002_request_is_accepted_with_the_documented_create_response(
    shared_server: Any,
) -> None:
    """Seeds 000/002 verbatim: 201 with exactly the seed's keys, queued, 25 credits reserved."""
    key, _ = shared_server.create_key(100)
    with shared_server.client(key) as client:
        response = post(client, SEED_1_0_PRO)
        assert response.status_code == 201, response.text
        assert response.headers["content-type"].startswith("application/json")
        assert response.headers["x-request-id"]
        task = response.json()
        _assert_seed_shape(task, "seedance-1-0-pro", 25)
        assert task["created_at"] == task["updated_at"]
        assert "Idempotent-Replayed" not in response.headers
        assert credits(client) == 75


def test_seed_000_video_is_a_5_second_1248x704_h264_without_audio_billed_25_credits(
    shared_server: Any,
) -> None:
    """Seed 000 runs to success: 25 credits captured, 1248x704 H.264 at 24 fps, 5.0 s, silent."""
    key, _ = shared_server.create_key(100)
    with shared_server.client(key) as client:
        created = create(client, SEED_1_0_PRO)
        task = finish(client, created["id"])
        assert set(task) <= SEED_TASK_KEYS | EXTRA_TASK_KEYS
        assert task["final_credits"] == task["reserved_credits"] == 25
        assert task["progress"] == 100
        assert task["error"] is None
        assert task["created_at"] == created["created_at"]
        assert _stamp(task["updated_at"]) > _stamp(task["created_at"])
        assert task["result"]["urls"] == [task["result"]["primary_url"]]
        assert task["result"]["last_frame_url"] is None
        assert credits(client) == 75
        info = probe(download(task["result"]["primary_url"]))
    assert info.codec == "h264"
    assert (info.width, info.height) == (1248, 704)
    assert info.fps == 24
    assert info.frames == 120
    assert abs(info.duration - 5.0) <= 0.05
    assert info.audio_codec is None


def test_seed_001_video_is_an_8_second_960x960_h264_without_audio_billed_28_credits(
    shared_server: Any,
) -> None:
    """Seed 001 verbatim: 28 credits, 960x960 H.264 at 24 fps, 8.0 s, no audio stream."""
    key, _ = shared_server.create_key(100)
    with shared_server.client(key) as client:
        response = post(client, SEED_1_5_PRO)
        assert response.status_code == 201, response.text
        assert response.headers["x-request-id"]
        created = response.json()
        _assert_seed_shape(created, "seedance-1-5-pro", 28)
        task = finish(client, created["id"])
        assert task["final_credits"] == task["reserved_credits"] == 28
        assert credits(client) == 72
        info = probe(download(task["result"]["primary_url"]))
    assert info.codec == "h264"
    assert (info.width, info.height) == (960, 960)
    assert info.fps == 24
    assert info.frames == 192
    assert abs(info.duration - 8.0) <= 0.05
    assert info.audio_codec is None


def test_seed_001_with_generate_audio_true_has_an_aac_track_covering_the_video(
    shared_server: Any,
) -> None:
    """``generate_audio: "true"`` adds an AAC stream as long as the video, at the audio price."""
    body = json.loads(SEED_1_5_PRO)
    body["params"]["generate_audio"] = "true"
    key, _ = shared_server.create_key(100)
    with shared_server.client(key) as client:
        created = create(client, body)
        assert created["reserved_credits"] == 56  # the published 720p / 8 s row, with audio
        task = finish(client, created["id"])
        assert task["final_credits"] == 56
        assert credits(client) == 44
        info = probe(download(task["result"]["primary_url"]))
    assert (info.codec, info.width, info.height) == ("h264", 960, 960)
    assert abs(info.duration - 8.0) <= 0.05
    assert info.audio_codec == "aac"
    assert info.audio_duration is not None
    assert abs(info.audio_duration - 8.0) <= 0.05
    assert info.audio_samples >= int(7.95 * 48_000)


def test_native_json_values_give_the_same_task_and_video_as_the_seeds_strings(
    shared_server: Any,
) -> None:
    """``"duration": 5`` / ``"camera_fixed": false`` behave exactly like ``"5"`` / ``"false"``."""
    strings = small(
        duration="5",
        camera_fixed="false",
        seed="7",
        enable_safety_checker="true",
        watermark="false",
    )
    natives = small(
        duration=5, camera_fixed=False, seed=7, enable_safety_checker=True, watermark=False
    )
    with shared_server.client() as client:
        first = create(client, strings)
        second = create(client, natives)
        assert first["reserved_credits"] == second["reserved_credits"]
        one, two = finish(client, first["id"]), finish(client, second["id"])
        video_one = download(one["result"]["primary_url"])
        video_two = download(two["result"]["primary_url"])
    assert video_one == video_two
    info = probe(video_two)
    assert (info.width, info.height, info.frames) == (864, 480, 120)


def test_every_response_carries_a_distinct_request_id(shared_server: Any) -> None:
    """Successes, errors, unknown routes and the health check all answer with ``x-request-id``."""
    with shared_server.client() as client:
        responses = [
            post(client, to_json(small())),
            client.get("/api/v1/models"),
            client.get("/api/v1/credits"),
            client.get("/api/v1/generations", params={"limit": 1}),
            post(client, "{not json"),
            client.get("/api/v1/generations/task_does_not_exist"),
            client.get("/api/v1/no-such-route"),
            httpx.get(f"{shared_server.url}/api/v1/credits"),
            httpx.get(f"{shared_server.url}/healthz"),
        ]
    ids = [r.headers.get("x-request-id") for r in responses]
    assert all(ids), ids
    assert len(set(ids)) == len(ids)
    assert responses[0].status_code == 201
    error_message(responses[4], 400, "validation_failed")
    error_message(responses[5], 404, "not_found")
    error_message(responses[6], 404, "not_found")
    error_message(responses[7], 401, "api_key_missing")
