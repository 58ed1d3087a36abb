"""Retention end to end, on both backends and both blob stores (issue 18).

A finished task's blobs (video, last frame, stills, reference copies) are deleted by ``collect``
jobs once it is older than ``SEEDANCE_RESULT_TTL_DAYS`` (here about 9 s), a deleted task's at
once; every dialect then says so instead of handing out a broken URL, and nothing a queued
task still needs is touched.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from seedance_gateway.store import tables

from .conftest import Spec, no_unhandled_errors, shared_many
from .receiver import wait_for
from .support import (
    S3_ENV,
    create,
    download,
    finish,
    png_data_url,
    rgb_frames,
    s3_blobs,
    small,
    wait_for_status,
)
from .test_files import png_bytes, poster, uploaded

TTL_DAYS = 0.0001  #: 8.64 s
SHORT = {
    "result_ttl_days": str(TTL_DAYS),
    "upload_ttl_days": str(TTL_DAYS),
    "collect_interval_seconds": "1",
    "worker_concurrency": "1",
}


@pytest.fixture(scope="module", params=["local", "s3"])
def retention_servers(
    request: pytest.FixtureRequest,
    shared_backend: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Any]]:
    """``short``: results and uploads kept 8.64 s; ``idle``: the same without a worker (nothing
    is collected); ``kept``: the defaults (results 30 days, uploads until deleted). Blobs on the
    local disk or in S3 (SeaweedFS)."""
    store = {"blobs": s3_blobs("retention")} if request.param == "s3" else {}
    specs = {
        "short": Spec({**SHORT, **store}),
        "idle": Spec({**SHORT, **store}, ("--no-worker",)),
        "kept": Spec({"collect_interval_seconds": "1", **store}),
    }
    env = S3_ENV if request.param == "s3" else None
    for servers in shared_many(shared_backend, request, tmp_path_factory, *specs.values(), env=env):
        named = dict(zip(specs, servers, strict=True))
        with no_unhandled_errors(*named.values()):
            yield named


def stored(server: Any, key: str) -> bool:
    return server.blob_size(key) is not None


def test_results_expire_and_every_dialect_says_so(retention_servers: dict[str, Any]) -> None:
    server = retention_servers["short"]
    key, _ = server.create_key(1000)
    with server.client(key) as client:
        task = finish(client, create(client, small(return_last_frame="true"))["id"])
        task_id, result = task["id"], task["result"]
        finished = datetime.fromisoformat(task["updated_at"].replace("Z", "+00:00"))
        expires = datetime.fromisoformat(result["expires_at"].replace("Z", "+00:00"))
        assert abs((expires - finished) - timedelta(days=TTL_DAYS)) < timedelta(seconds=2)
        video = client.get(f"/v1/videos/{task_id}").json()
        assert video["expires_at"] == int(expires.timestamp())
        assert download(result["primary_url"])  # served while kept
        thumbnail = client.get(f"/v1/videos/{task_id}/content", params={"variant": "thumbnail"})
        assert thumbnail.status_code == 200
        for name in ("video.mp4", "last_frame.png", "thumbnail.webp"):
            assert stored(server, f"results/{task_id}/{name}")

        def collected() -> Any:
            return client.get(f"/api/v1/generations/{task_id}").json()["result"] is None

        wait_for(collected, 60, "collection")
        for name in ("video.mp4", "last_frame.png", "thumbnail.webp"):
            assert not stored(server, f"results/{task_id}/{name}")
        gone = client.get(f"/api/v1/generations/{task_id}").json()
        assert gone["status"] == "succeeded" and gone["result"] is None
        assert gone["error"]["code"] == "result_expired", gone
        content = client.get(f"/v1/videos/{task_id}/content")
        assert content.status_code == 404
        assert "were deleted on" in content.json()["error"]["message"]
        assert "kept for 0.0001 days" in content.json()["error"]["message"]
    stale = httpx.get(result["primary_url"], timeout=30)
    assert stale.status_code == 404 and "no longer" in stale.json()["error"]["message"]


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=60)


def test_a_queued_tasks_reference_is_not_collected(retention_servers: dict[str, Any]) -> None:
    """A task waits, queued, with its reference while a worker that only collects (no render
    slot) deletes another task's results; then a rendering worker makes it from that reference."""
    server = retention_servers["idle"]  # no worker of its own
    key, _ = server.create_key(1000)
    image = poster(864, 480)
    with server.client(key) as client:
        renderer = server.spawn("worker")
        early = finish(client, create(client, small())["id"])
        stop(renderer)
        reference = {"url": png_data_url(image), "kind": "image", "role": "first_frame"}
        waiting = create(client, small(referenceMediaItems=[reference]))
        collector = server.spawn("worker", settings={"worker_concurrency": "0"})
        try:

            def collected() -> Any:
                return client.get(f"/api/v1/generations/{early['id']}").json()["result"] is None

            wait_for(collected, 60, "the collection of the finished task")
            assert not stored(server, f"results/{early['id']}/video.mp4")
            assert client.get(f"/api/v1/generations/{waiting['id']}").json()["status"] == "queued"
            assert stored(server, f"inputs/{waiting['id']}/0.png")
        finally:
            stop(collector)
        renderer = server.spawn("worker")
        try:
            done = wait_for_status(client, waiting["id"], {"succeeded", "failed"}, 180)
        finally:
            stop(renderer)
    assert done["status"] == "succeeded", done
    frame = rgb_frames(download(done["result"]["primary_url"]))[0].astype(np.int16)
    assert np.abs(frame - np.asarray(image.convert("RGB"), dtype=np.int16)).mean() < 12


def test_a_deleted_tasks_blobs_are_collected_at_once(retention_servers: dict[str, Any]) -> None:
    """The task's copy of a reference goes with it; the caller's uploaded file stays."""
    server = retention_servers["kept"]  # 30 days: only the deletion makes them due
    key, _ = server.create_key(1000)
    with server.client(key) as client:
        kept = finish(client, create(client, small())["id"])
        reference = uploaded(client, png_bytes(poster(864, 480)), "image", "first.png")
        item = {"url": reference["url"], "kind": "image", "role": "first_frame"}
        deleted = finish(client, create(client, small(referenceMediaItems=[item]))["id"])
        assert stored(server, f"inputs/{deleted['id']}/0.png")
        assert kept["result"]["expires_at"] is not None
        answer = client.delete(f"/api/v3/contents/generations/tasks/{deleted['id']}")
        assert answer.status_code == 200, answer.text
    wait_for(lambda: not stored(server, f"results/{deleted['id']}/video.mp4"), 60, "collection")
    assert not stored(server, f"inputs/{deleted['id']}/0.png")
    assert stored(server, f"files/{reference['id']}/first.png")
    assert stored(server, f"results/{kept['id']}/video.mp4")
    assert download(kept["result"]["primary_url"])


def test_an_expired_upload_is_deleted_and_refused(retention_servers: dict[str, Any]) -> None:
    server = retention_servers["short"]
    key, _ = server.create_key(1000)
    with server.client(key) as client:
        made = uploaded(client, png_bytes(poster(640, 360)), "image", "old.png")
        created = datetime.fromisoformat(made["created_at"].replace("Z", "+00:00"))
        expires = datetime.fromisoformat(made["expires_at"].replace("Z", "+00:00"))
        assert abs((expires - created) - timedelta(days=TTL_DAYS)) < timedelta(seconds=1)
        blob = f"files/{made['id']}/old.png"
        assert stored(server, blob)
        wait_for(
            lambda: client.get(f"/api/v1/files/{made['id']}").status_code == 404,
            60,
            "the upload's collection",
        )
        assert not stored(server, blob)
        reference = [{"url": made["url"], "kind": "image", "role": "first_frame"}]
        refused = client.post("/api/v1/generations", json=small(referenceMediaItems=reference))
    assert refused.status_code == 400
    assert f"no file {made['id']}" in refused.json()["error"]["message"]


def test_an_expired_upload_is_refused_before_it_is_collected(
    retention_servers: dict[str, Any],
) -> None:
    server = retention_servers["idle"]  # no worker: nothing collects it
    key, _ = server.create_key(1000)
    with server.client(key) as client:
        made = uploaded(client, png_bytes(poster(640, 360)), "image", "old.png")
        expires = datetime.fromisoformat(made["expires_at"].replace("Z", "+00:00"))
        time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.5)
        reference = [{"url": made["url"], "kind": "image", "role": "first_frame"}]
        refused = client.post("/api/v1/generations", json=small(referenceMediaItems=reference))
    assert refused.status_code == 400
    assert f"file {made['id']} expired on" in refused.json()["error"]["message"]
    assert stored(server, f"files/{made['id']}/old.png")


def test_uploads_are_kept_by_default(retention_servers: dict[str, Any]) -> None:
    with retention_servers["kept"].client() as client:
        assert uploaded(client, png_bytes(poster(640, 360)), "image", "k.png")["expires_at"] is None


def test_one_collect_job_serves_every_run(retention_servers: dict[str, Any]) -> None:
    """Runs reuse one row: the jobs table does not grow with them."""
    server = retention_servers["kept"]
    time.sleep(3)  # a few runs at one a second

    async def rows() -> list[tuple[str, int]]:
        engine = create_async_engine(server.env["SEEDANCE_DATABASE_URL"])
        try:
            async with engine.connect() as conn:
                query = select(tables.jobs.c.state, tables.jobs.c.attempt).where(
                    tables.jobs.c.kind == "collect"
                )
                return [(row.state, row.attempt) for row in await conn.execute(query)]
        finally:
            await engine.dispose()

    [(state, attempt)] = asyncio.run(rows())
    assert state in ("available", "running") and attempt <= 1
