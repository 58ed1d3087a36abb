"""Provider ``local`` through real server processes: a tiny Wan pipeline (``tiny_wan``), loaded
by the same ``from_pretrained`` code the server uses for real weights, offline, on the CPU.

A text-to-video task through Public API v1 and the upstream dialect: an H.264 MP4 of the asked
size and 16 x seconds + 1 frames, progress rising through the denoising steps to 100, the quote
captured. Weights that do not load fail the task with ``weights_unavailable`` and release its
credits. Without ``SEEDANCE_LOCAL_WEIGHTS`` nobody sees the model.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from .support import (
    create,
    credits,
    download,
    error_message,
    png_data_url,
    post,
    probe,
    wait_for_status,
    wait_until_rendering,
)
from .test_files import poster
from .test_generation_events import read_events
from .tiny_ltx import save_tiny_ltx
from .tiny_ltx2 import save_tiny_ltx2
from .tiny_wan import save_tiny_wan
from .tiny_wan22 import save_tiny_wan22_a14b, save_tiny_wan22_ti2v

MODEL = "wan-2-1-t2v-1-3b"
#: The provider does not touch the database: its renders (the CPU's seconds) run on SQLite only.
ONE_BACKEND = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def tiny(**params: Any) -> dict[str, Any]:
    """A 1 s (17 frames), 2-step request."""
    return {
        "model": MODEL,
        "prompt": "a red kite over the sea",
        "params": {"duration": 1, "steps": 2, **params},
    }


I2V, FLF2V = "wan-2-1-i2v-14b-480p", "wan-2-1-flf2v-14b-720p"
TI2V, LTX, I2V_A14B, LTX2 = "wan-2-2-ti2v-5b", "ltx-video", "wan-2-2-i2v-a14b", "ltx-2"


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_wan(tmp_path_factory.mktemp("weights") / "tiny-wan")


@pytest.fixture(scope="module")
def image_weights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny pipelines for the first frame (I2V) and the first and last frames (FLF2V)."""
    root = tmp_path_factory.mktemp("image-weights")
    return {
        I2V: save_tiny_wan(root / "i2v", frames=1),
        FLF2V: save_tiny_wan(root / "flf2v", 2),
        TI2V: save_tiny_wan22_ti2v(root / "ti2v"),
        LTX: save_tiny_ltx(root / "ltx", timestep_conditioning=True),
        I2V_A14B: save_tiny_wan22_a14b(root / "i2v-a14b", image=True),
        LTX2: save_tiny_ltx2(root / "ltx2"),
    }


@pytest.fixture
def local_server(server_factory: Any, weights: Path, image_weights: dict[str, Path]) -> Any:
    named = [f"{MODEL}={weights}", *(f"{m}={path}" for m, path in image_weights.items())]
    # polling for progress must never meet the rate limit, however slow the CPU
    server = server_factory(start=False, local_weights=",".join(named), rate_limit="100000/minute")
    server.env.update(OFFLINE)
    server.start()
    return server


@ONE_BACKEND
def test_a_text_to_video_task_renders_with_progress_and_is_charged_its_quote(
    local_server: Any,
) -> None:
    with local_server.client() as client:
        listed = {m["id"] for m in client.get("/api/v1/models").json()["data"]}
        assert MODEL in listed
        before = credits(client)
        task = create(client, tiny(aspect_ratio="9:16", guidance_scale=3.5, negative_prompt="blur"))
        events = read_events(local_server, local_server.key, task["id"])
        done = wait_for_status(client, task["id"], {"succeeded", "failed"})
        assert done["status"] == "succeeded", done
        assert before - credits(client) == done["final_credits"] == task["reserved_credits"] > 0
    info = probe(download(done["result"]["primary_url"]))
    assert (info.codec, info.width, info.height, info.fps, info.frames) == (
        "h264",
        480,
        832,
        16,
        17,
    )
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress) and progress[-1] == 100
    assert any(0 < p < 100 for p in progress), progress  # the steps show between start and end


@ONE_BACKEND
def test_the_upstream_dialect_names_the_model_by_its_hugging_face_repo_id(
    local_server: Any,
) -> None:
    body = {
        "model": "Wan-AI/Wan2.1-T2V-1.3B-Diffusers",
        "content": [{"type": "text", "text": "a paper lantern at dusk"}],
        "duration": 1,
    }
    with local_server.client() as client:
        made = client.post("/api/v3/contents/generations/tasks", json=body)
        assert made.status_code == 200, made.text
        task = client.get(f"/api/v3/contents/generations/tasks/{made.json()['id']}").json()
        done = wait_for_status(client, task["id"], {"succeeded", "failed"})
    assert done["status"] == "succeeded", done
    video = probe(download(done["result"]["primary_url"]))
    assert (video.width, video.height, video.frames) == (832, 480, 17)


@ONE_BACKEND
def test_a_first_frame_task_through_v1_renders_the_frames_shape(local_server: Any) -> None:
    """Wan 2.1 I2V with a ``data:`` PNG as the first frame; ``adaptive`` picks 16:9 for a
    700x520 image (Wan's nearest shape)."""
    item = {"url": png_data_url(poster(700, 520)), "kind": "image", "role": "first_frame"}
    body = {"model": I2V, "prompt": "a red kite", "params": {"duration": 1, "steps": 2}}
    body["params"]["referenceMediaItems"] = [item]
    with local_server.client() as client:
        done = wait_for_status(client, create(client, body)["id"], {"succeeded", "failed"})
    assert done["status"] == "succeeded", done
    video = probe(download(done["result"]["primary_url"]))
    assert (video.width, video.height, video.frames) == (832, 480, 17)


@ONE_BACKEND
def test_a_first_and_last_frame_task_through_v3_renders(local_server: Any) -> None:
    """Wan 2.1 FLF2V with two ``data:`` PNGs in the upstream dialect's roles, at 480p."""
    frames = [
        {"type": "image_url", "image_url": {"url": png_data_url(poster(480, 832))}, "role": role}
        for role in ("first_frame", "last_frame")
    ]
    body = {
        "model": FLF2V,
        "content": [{"type": "text", "text": "a paper boat"}, *frames],
        "resolution": "480p",
        "duration": 1,
    }
    with local_server.client() as client:
        made = client.post("/api/v3/contents/generations/tasks", json=body)
        assert made.status_code == 200, made.text
        task_id = made.json()["id"]
        done = wait_for_status(client, task_id, {"succeeded", "failed"})
        shown = client.get(f"/api/v3/contents/generations/tasks/{task_id}").json()
    assert done["status"] == "succeeded", done
    video = probe(download(done["result"]["primary_url"]))
    assert (video.width, video.height, video.frames) == (480, 832, 17)
    assert shown["ratio"] == "9:16"


@ONE_BACKEND
def test_wan_2_2_a14b_takes_a_first_and_last_frame(local_server: Any) -> None:
    """The two-expert I2V model by its repo id, both frames as v1 reference items, at 480p:
    16 x 1 + 1 frames at 16 fps, 9:16 from the first frame's shape."""
    items = [
        {"url": png_data_url(poster(480, 832)), "kind": "image", "role": role}
        for role in ("first_frame", "last_frame")
    ]
    params = {"resolution": "480p", "duration": 1, "steps": 2, "referenceMediaItems": items}
    body = {"model": "Wan-AI/Wan2.2-I2V-A14B-Diffusers", "prompt": "a lantern", "params": params}
    with local_server.client() as client:
        done = wait_for_status(client, create(client, body)["id"], {"succeeded", "failed"})
    assert done["status"] == "succeeded", done
    assert done["model"] == I2V_A14B
    video = probe(download(done["result"]["primary_url"]))
    assert (video.width, video.height, video.fps, video.frames) == (480, 832, 16, 17)


@ONE_BACKEND
def test_wan_2_2_ti2v_makes_a_first_frame_video_at_24_fps(local_server: Any) -> None:
    """One set of weights for text and first frame: the first-frame task runs the image
    pipeline over them; 720p (1280x704, multiples of 32), 24 x 1 + 1 frames at 24 fps."""
    item = {"url": png_data_url(poster(700, 520)), "kind": "image", "role": "first_frame"}
    params = {"duration": 1, "steps": 2, "aspect_ratio": "adaptive", "referenceMediaItems": [item]}
    with local_server.client() as client:
        task = create(client, {"model": TI2V, "prompt": "a green hill", "params": params})
        done = wait_for_status(client, task["id"], {"succeeded", "failed"}, timeout=180)
    assert done["status"] == "succeeded", done
    video = probe(download(done["result"]["primary_url"]))
    assert (video.width, video.height, video.fps, video.frames) == (1280, 704, 24, 25)


@ONE_BACKEND
def test_ltx_video_through_v3_by_its_repo_id_and_from_a_first_frame_through_v1(
    local_server: Any,
) -> None:
    """LTX-Video (its frame rate passed, 8k + 1 frames): text to video in the upstream
    dialect, then a first frame at 9:16 in Public API v1."""
    body = {
        "model": "Lightricks/LTX-Video",
        "content": [{"type": "text", "text": "a lighthouse at dusk --dur 2"}],
    }
    item = {"url": png_data_url(poster(480, 832)), "kind": "image", "role": "first_frame"}
    params = {"duration": 1, "steps": 2, "aspect_ratio": "9:16", "referenceMediaItems": [item]}
    with local_server.client() as client:
        made = client.post("/api/v3/contents/generations/tasks", json=body)
        assert made.status_code == 200, made.text
        framed = create(client, {"model": LTX, "prompt": "a paper boat", "params": params})
        texted = wait_for_status(client, made.json()["id"], {"succeeded", "failed"})
        done = wait_for_status(client, framed["id"], {"succeeded", "failed"})
    assert (texted["status"], done["status"]) == ("succeeded", "succeeded"), (texted, done)
    text_video = probe(download(texted["result"]["primary_url"]))
    frame_video = probe(download(done["result"]["primary_url"]))
    assert (text_video.width, text_video.height, text_video.frames) == (704, 480, 49)
    assert (frame_video.width, frame_video.height, frame_video.frames) == (480, 704, 25)
    assert frame_video.fps == 24


@ONE_BACKEND
def test_ltx_2_makes_a_video_with_sound(local_server: Any) -> None:
    """LTX-2 through Public API v1: 768x512, 24 x 2 + 1 frames at 24 fps, with its sound as
    an AAC track as long as the video; the model list says it makes audio."""
    body = {"model": LTX2, "prompt": "a boat", "params": {"duration": 2, "steps": 2}}
    with local_server.client() as client:
        listed = {m["id"]: m for m in client.get("/api/v1/models").json()["data"]}
        done = wait_for_status(client, create(client, body)["id"], {"succeeded", "failed"})
    assert done["status"] == "succeeded", done
    assert any(p["key"] == "generate_audio" for p in listed[LTX2]["params"])
    video = probe(download(done["result"]["primary_url"]))
    assert (video.width, video.height, video.fps, video.frames) == (768, 512, 24, 49)
    assert video.audio_codec == "aac"
    assert video.audio_duration is not None and abs(video.audio_duration - 49 / 24) < 0.15


@ONE_BACKEND
def test_a_running_task_cancelled_stops_between_steps_and_frees_the_device(
    local_server: Any,
) -> None:
    """A long task (100 steps) is cancelled once it shows progress: ``cancelled`` at once with
    its credits released, and the next task renders (the device was freed) while the
    cancelled one stays cancelled."""
    with local_server.client() as client:
        before = credits(client)
        long = create(client, tiny(steps=100))
        wait_until_rendering(client, long["id"])
        cancelled = client.post(f"/api/v1/generations/{long['id']}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        assert credits(client) == before
        quick = create(client, tiny())
        done = wait_for_status(client, quick["id"], {"succeeded", "failed"}, timeout=120)
        assert done["status"] == "succeeded", done
        still = client.get(f"/api/v1/generations/{long['id']}").json()
    assert (still["status"], still["final_credits"], still["result"]) == ("cancelled", 0, None)
    assert "stopped between denoising steps" in local_server.logs()


@ONE_BACKEND
def test_worker_gpus_runs_one_worker_per_device_each_rendering_one_task_at_a_time(
    server_factory: Any, weights: Path
) -> None:
    """``seedance worker --gpus cpu,cpu`` beside ``serve --no-worker``: two worker processes,
    one per device, each taking a local task only while its device is free. Three tasks: two
    render at once, never three, and all three succeed."""
    server = server_factory(
        start=False, local_weights=f"{MODEL}={weights}", rate_limit="100000/minute"
    )
    server.env.update(OFFLINE)
    server.start("--no-worker")
    worker = server.spawn("worker", "--gpus", "cpu,cpu")
    with server.client() as client:
        ids = [create(client, tiny(steps=6))["id"] for _ in range(3)]
        most = 0
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            seen = [client.get(f"/api/v1/generations/{i}").json()["status"] for i in ids]
            most = max(most, seen.count("processing"))
            if all(status in ("succeeded", "failed") for status in seen):
                break
            time.sleep(0.1)
        done = [client.get(f"/api/v1/generations/{i}").json() for i in ids]
    assert [d["status"] for d in done] == ["succeeded"] * 3, done
    assert most == 2
    assert worker.poll() is None
    assert "one worker process per device: cpu, cpu" in server.logs()


@ONE_BACKEND
def test_weights_that_do_not_load_fail_the_task_and_release_its_credits(
    server_factory: Any, weights: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(weights, broken)
    shutil.rmtree(broken / "transformer")
    server = server_factory(start=False, local_weights=f"{MODEL}={broken}")
    server.env.update(OFFLINE)
    server.start()
    with server.client() as client:
        before = credits(client)
        task = create(client, tiny())
        done = wait_for_status(client, task["id"], {"succeeded", "failed"})
        assert credits(client) == before
    assert done["status"] == "failed", done
    assert done["error"]["code"] == "weights_unavailable", done
    assert "could not be loaded" in done["error"]["message"]


@ONE_BACKEND
def test_the_open_weight_parameters_are_listed_and_checked(local_server: Any) -> None:
    """The model list shows the guidance scale (a decimal) and the negative prompt (a text);
    a value they do not take is the v1 error naming the parameter, and nothing is charged."""
    with local_server.client() as client:
        models = {m["id"]: m for m in client.get("/api/v1/models").json()["data"]}
        params = {p["key"]: p for p in models[MODEL]["params"]}
        before = credits(client)
        too_strong = post(client, tiny(guidance_scale=25))
        not_text = post(client, tiny(negative_prompt=["blur"]))
        assert credits(client) == before
    guidance, negative = params["guidance_scale"], params["negative_prompt"]
    assert (guidance["type"], guidance["default"], guidance["min"], guidance["max"]) == (
        "decimal",
        5.0,
        1,
        20,
    )
    assert (negative["type"], negative["default"], negative["max"]) == ("text", "", 2000)
    assert "params.guidance_scale must be between 1 and 20 (got 25)" in error_message(
        too_strong, 400, "validation_failed"
    )
    assert "params.negative_prompt must be a string" in error_message(
        not_text, 400, "validation_failed"
    )


def test_without_weights_the_model_is_not_offered(shared_server: Any) -> None:
    with shared_server.client() as client:
        listed = {m["id"] for m in client.get("/api/v1/models").json()["data"]}
        refused = post(client, tiny())
    assert MODEL not in listed
    assert f"model {MODEL!r} is not a known model" in error_message(
        refused, 400, "validation_failed"
    )
