"""A deployment across machines: 2 API and 2 worker processes, each with its own empty home.

They share only PostgreSQL, Redis, an S3 bucket (SeaweedFS) and ``SEEDANCE_SECRET``, as
processes on different machines would (issue 18). Through alternating API processes a client
uploads a reference, creates a generation that uses it, watches its event stream, downloads
the result with ``Range`` and receives its webhook; a worker killed with ``kill -9`` mid-render
leaves its task to the other; an idempotent create sent to both APIs at once makes one task;
and the credits are exact at the end. PostgreSQL only: SQLite is one machine's database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
import pytest

from ports import free_port

from .conftest import _database, no_unhandled_errors
from .receiver import Receiver, verify
from .support import (
    BACKENDS,
    S3_ENV,
    create,
    credits,
    download,
    listed,
    make_server,
    probe,
    rgb_frames,
    s3_blobs,
    small,
    wait_for_status,
    wait_until_rendering,
)
from .test_files import png_bytes, poster, uploaded
from .test_generation_events import read_events

pytestmark = pytest.mark.skipif("postgres" not in BACKENDS, reason="needs PostgreSQL")

#: Short leases, so that a killed worker's task is taken over within seconds.
SETTINGS = {
    "redis_url": "redis://127.0.0.1:6379/0",
    "lease_seconds": "3",
    "heartbeat_seconds": "1",
    "poll_seconds": "0.5",
    "allow_private_urls": "true",
    "webhook_allow_http": "true",
    "webhook_schedule": "1,1",
    "worker_concurrency": "1",
    "rate_limit": "100000/minute",
    "max_in_flight": "1000",
}
LONG_RENDER = small(resolution="1080p", duration="10", seed=5)


@dataclass
class Cluster:
    apis: list[Any]
    workers: list[Any]
    receiver: Receiver

    @property
    def everyone(self) -> list[Any]:
        return [*self.apis, *self.workers]


@pytest.fixture(scope="module")
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    with ExitStack() as stack:
        url = stack.enter_context(_database("postgres", request, tmp_path_factory))
        receiver = stack.enter_context(Receiver())
        ports = [free_port(), free_port()]
        shared = {
            **SETTINGS,
            "blobs": s3_blobs("scale"),
            "public_url": f"http://127.0.0.1:{ports[0]}",
        }

        def member(name: str) -> Any:
            server = make_server(tmp_path_factory.mktemp(name), url, **shared)
            server.env.update(S3_ENV)
            return server

        apis = [member("api0"), member("api1")]
        workers = [member("worker0"), member("worker1")]
        stack.callback(lambda: [s.stop() for s in (*apis, *workers)])
        for api, port in zip(apis, ports, strict=True):
            api.port = port
            api.process = api.spawn("serve", "--port", str(port), "--no-worker")
        for worker in workers:
            worker.process = worker.spawn("worker")
        for api in apis:
            api.wait_ready()
        made = Cluster(apis=apis, workers=workers, receiver=receiver)
        with no_unhandled_errors(*made.everyone):
            yield made


def test_one_generation_through_alternating_api_processes(cluster: Cluster) -> None:
    key, _ = cluster.apis[0].create_key(1000)
    api0, api1 = (api.client(key) for api in cluster.apis)
    with api0, api1:
        hook = api0.post(
            "/api/v1/webhooks",
            json={"url": cluster.receiver.url("/hook"), "event_types": ["generation.succeeded"]},
        )
        assert hook.status_code == 201, hook.text
        image = poster(864, 480)
        reference = uploaded(api0, png_bytes(image), "image", "first.png")
        body = small(
            referenceMediaItems=[{"url": reference["url"], "kind": "image", "role": "first_frame"}]
        )
        task = create(api1, body)
        events = read_events(cluster.apis[0], key, task["id"])
        assert events[-1]["status"] == "succeeded", events[-1]
        done = api1.get(f"/api/v1/generations/{task['id']}").json()
        url = done["result"]["primary_url"]
        assert url.startswith(cluster.apis[0].url)  # SEEDANCE_PUBLIC_URL, whoever answers
        video = download(url)
        via_other = url.replace(cluster.apis[0].url, cluster.apis[1].url)
        part = httpx.get(via_other, headers={"Range": "bytes=100-199"}, timeout=30)
        assert part.status_code == 206 and part.content == video[100:200]
    first = rgb_frames(video)[0].astype(np.int16)
    assert np.abs(first - np.asarray(image.convert("RGB"), dtype=np.int16)).mean() < 12
    [record] = cluster.receiver.wait_for_requests(1, "/hook", timeout=60)
    payload = verify(record, hook.json()["secret"])
    assert payload["data"]["id"] == task["id"]
    assert download(payload["data"]["result"]["primary_url"]) == video
    for member in cluster.everyone:
        assert not (member.home / "blobs").exists(), member.home


def _rendering_worker(cluster: Cluster, client: httpx.Client, task_id: str) -> Any:
    """Waits until the task renders; the worker process that holds it (by its lease)."""
    wait_until_rendering(client, task_id)
    database = cluster.workers[0].env["SEEDANCE_DATABASE_URL"].replace("+asyncpg", "")
    sql = (
        "SELECT lease_owner FROM jobs WHERE kind = 'generate' AND state = 'running' "
        f"AND task_id = '{task_id}'"
    )
    owner = subprocess.run(
        ["psql", database, "-Atc", sql], capture_output=True, text=True, check=True
    ).stdout.strip()
    pid = int(owner.split(":")[1])  # hostname:pid:worker
    [worker] = [w for w in cluster.workers if w.process.pid == pid]
    return worker


def test_a_killed_workers_task_is_finished_by_the_other(cluster: Cluster) -> None:
    key, _ = cluster.apis[1].create_key(1000)
    with cluster.apis[1].client(key) as client:
        task = create(client, LONG_RENDER)
        victim = _rendering_worker(cluster, client, task["id"])
        os.killpg(victim.process.pid, signal.SIGKILL)
        victim.process.wait(timeout=10)
        done = wait_for_status(client, task["id"], {"succeeded", "failed"}, 180)
        assert done["status"] == "succeeded", done
        assert done["final_credits"] == task["reserved_credits"]
        assert credits(client) == 1000 - task["reserved_credits"]
        info = probe(download(done["result"]["primary_url"]))
    assert (info.width, info.height, info.frames) == (1920, 1088, 240)
    victim.process = victim.spawn("worker")  # back to two for the other tests


def test_an_idempotent_create_sent_to_both_apis_at_once_makes_one_task(cluster: Cluster) -> None:
    key, _ = cluster.apis[0].create_key(1000)
    headers = {"Idempotency-Key": "scale-out-once"}

    def send(api: Any) -> httpx.Response:
        with api.client(key) as client:
            return client.post("/api/v1/generations", json=small(), headers=headers)

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(send, [*cluster.apis, *cluster.apis]))
    assert {a.status_code for a in answers} <= {200, 201}, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    with cluster.apis[1].client(key) as client:
        [only] = listed(client)
        done = wait_for_status(client, only["id"], {"succeeded"}, 120)
        assert credits(client) == 1000 - done["final_credits"]


def test_a_split_process_on_postgresql_refuses_to_start_without_the_secret(
    cluster: Cluster,
) -> None:
    env = {k: v for k, v in cluster.workers[0].env.items() if k != "SEEDANCE_SECRET"}
    for args in (["worker"], ["serve", "--port", str(free_port()), "--no-worker"]):
        done = subprocess.run(
            [sys.executable, "-m", "seedance_gateway", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, done
        assert "SEEDANCE_SECRET is required" in done.stderr
