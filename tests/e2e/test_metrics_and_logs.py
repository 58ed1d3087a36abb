"""Metrics and JSON logs end to end: real processes, scraped and read as an operator would.

``main`` (API and worker, a metrics token, JSON logs, loopback webhooks) does a known amount of
work between two scrapes, parsed with ``prometheus_client``'s own parser, and every counter
must have moved by exactly that work. ``queue`` (``serve --no-worker``) shows its queued jobs
until a standalone ``seedance worker`` with its own metrics listener runs them. ``ark`` sends
every model to ``main``'s ``/api/v3`` (provider ``ark``), so its upstream calls are counted.
The JSON logs are checked line by line, and a failing request's line carries its ids.
Contract: ``docs/operations.md``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from ports import free_port
from seedance_gateway.providers.ark.channels import channel_name
from seedance_gateway.store import tables

from .conftest import Spec, _database, no_unhandled_errors, shared_many
from .receiver import Receiver, wait_for
from .support import create, post, small
from .upstream_chain import gateway_a

TOKEN = "scrape-token-for-tests"
MODEL = "seedance-1-0-pro"
TASK_ROUTE = "/api/v1/generations/{task_id}"
#: Loopback webhooks over plain HTTP (and callbacks from ``ark``'s checks to ``main``).
HOOKS = {
    "allow_private_urls": "true",
    "webhook_allow_http": "true",
    "webhook_schedule": "0.3,0.3",
    "webhook_timeout_seconds": "2",
}
OBSERVED = {"metrics_token": TOKEN, "log_format": "json"}
JOB_KINDS = {"generate", "render_local", "deliver", "upstream_submit", "upstream_fetch", "collect"}


@pytest.fixture(scope="module")
def servers(
    shared_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """``main`` and ``queue`` of this module per backend, started at once."""
    specs = {"main": Spec({**OBSERVED, **HOOKS}), "queue": Spec(OBSERVED, ("--no-worker",))}
    for started in shared_many(shared_backend, request, tmp_path_factory, *specs.values()):
        yield dict(zip(specs, started, strict=True))


@pytest.fixture
def main(servers: dict[str, Any]) -> Any:
    return servers["main"]


@pytest.fixture
def queue(servers: dict[str, Any]) -> Any:
    return servers["queue"]


@pytest.fixture(scope="module")
def ark(
    servers: dict[str, Any],
    shared_backend: str,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    """A gateway serving every model through provider ``ark`` = ``main``'s ``/api/v3``."""
    main = servers["main"]
    with _database(shared_backend, request, tmp_path_factory) as url:
        root = tmp_path_factory.mktemp("ark")
        with gateway_a(root, url, f"{main.url}/api/v3", main.key, **OBSERVED) as server:
            yield server


# --- scraping ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scrape:
    """One scrape, parsed: every sample's value by (name, labels)."""

    values: dict[tuple[str, frozenset[tuple[str, str]]], float]

    def get(self, name: str, **labels: str) -> float:
        """A sample's value (0 when the series does not exist yet)."""
        return self.values.get((name, frozenset(labels.items())), 0.0)

    def labels(self, name: str, label: str) -> set[str]:
        """Every value ``label`` has among the samples called ``name``."""
        return {dict(key)[label] for (sample, key) in self.values if sample == name}

    def __sub__(self, before: Scrape) -> Scrape:
        keys = self.values.keys() | before.values.keys()
        return Scrape({k: self.values.get(k, 0.0) - before.values.get(k, 0.0) for k in keys})


def scrape(url: str, token: str = TOKEN) -> Scrape:
    """``GET {url}/metrics`` with the token, parsed by ``prometheus_client``."""
    response = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    values = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    return Scrape(values)


def requests_of(moved: Scrape, route: str, method: str, status: int) -> float:
    """How many requests a scrape difference counts for a route template, method and status."""
    name = "seedance_http_request_duration_seconds_count"
    return moved.get(name, route=route, method=method, status=str(status))


def finished(scraped: Scrape, provider: str = "preview", status: str = "succeeded") -> float:
    return scraped.get(
        "seedance_tasks_finished_total", model=MODEL, provider=provider, status=status
    )


def jobs_run(scraped: Scrape, kind: str) -> float:
    return scraped.get("seedance_job_duration_seconds_count", kind=kind)


def poll_until_done(client: httpx.Client, task_ids: list[str]) -> int:
    """Reads each task until all have succeeded; the number of reads made (each a 200)."""
    reads = 0
    pending = set(task_ids)
    deadline = time.monotonic() + 120
    while pending and time.monotonic() < deadline:
        for task_id in sorted(pending):
            response = client.get(f"/api/v1/generations/{task_id}")
            reads += 1
            assert response.status_code == 200, response.text
            if response.json()["status"] == "succeeded":
                pending.discard(task_id)
        time.sleep(0.3)
    assert not pending, f"tasks not finished: {pending}"
    return reads


def log_lines(server: Any) -> list[dict[str, Any]]:
    """Every line the server's processes wrote, each parsed as one JSON object."""
    lines = [line for line in server.logs().splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]
    assert all(isinstance(line, dict) for line in parsed)
    return parsed


# --- metrics -----------------------------------------------------------------------------------


def test_metrics_need_the_token_when_one_is_set(main: Any) -> None:
    before = scrape(main.url)
    refused = [
        httpx.get(f"{main.url}/metrics"),
        httpx.get(f"{main.url}/metrics", headers={"Authorization": "Bearer wrong"}),
        httpx.get(f"{main.url}/metrics", headers={"Authorization": f"Basic {TOKEN}"}),
    ]
    for response in refused:
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "metrics_token_required"
        assert "seedance_" not in response.text
    moved = scrape(main.url) - before
    assert requests_of(moved, "/metrics", "GET", 401) == 3
    assert requests_of(moved, "/metrics", "GET", 200) == 1  # the first scrape, seen by the second


#: One request to a route of each router (no key: most are refused, after routing) and the
#: template it must be counted under.
ROUTED = [
    ("GET", "/", "/"),
    ("GET", "/console/app.js", "/console"),
    ("GET", "/blobs/results/task_x/video.mp4?exp=1&sig=x", "/blobs/{key:path}"),
    ("POST", "/upstream/ark/task_x/not-the-secret", "/upstream/ark/{task_id}/{secret}"),
    ("GET", "/api/v1/keys", "/api/v1/keys"),
    ("GET", "/api/v1/credits/ledger", "/api/v1/credits/ledger"),
    ("GET", "/api/v1/files/file_x", "/api/v1/files/{file_id}"),
    ("GET", "/api/v1/webhooks/wh_x/deliveries", "/api/v1/webhooks/{endpoint_id}/deliveries"),
    (
        "GET",
        "/api/v3/contents/generations/tasks/cgt-x",
        "/api/v3/contents/generations/tasks/{task_id}",
    ),
    ("GET", "/v1/videos/video_x", "/v1/videos/{video_id}"),
    ("GET", "/v1/status?task_id=x", "/v1/status"),
    ("POST", "/seedance/tasks", "/seedance/tasks"),
    ("PATCH", "/api/v1/generations/task_x", "/api/v1/generations/{task_id}"),  # 405: still it
    ("GET", "/openapi.json", "/openapi.json"),
    ("PROPFIND", "/api/v1/generations", "/api/v1/generations"),  # counted as method other
]


def test_each_router_counts_its_requests_under_the_full_route_template(main: Any) -> None:
    before = scrape(main.url)
    with no_unhandled_errors(main):
        for method, path, _ in ROUTED:
            httpx.request(method, f"{main.url}{path}")
    moved = scrape(main.url) - before
    name = "seedance_http_request_duration_seconds_count"
    counted = {
        (dict(labels)["method"], dict(labels)["route"]): value
        for (sample, labels), value in moved.values.items()
        if sample == name and value and dict(labels)["route"] != "/metrics"
    }
    expected = {("other" if m == "PROPFIND" else m, route): 1.0 for m, _, route in ROUTED}
    assert counted == expected


def test_the_counters_move_by_exactly_the_work_done(main: Any) -> None:
    key, _ = main.create_key(10_000)
    with Receiver() as receiver, main.client(key) as client, no_unhandled_errors(main):
        hook = client.post("/api/v1/webhooks", json={"url": receiver.url("/hook")})
        assert hook.status_code == 201, hook.text
        before = scrape(main.url)
        tasks = [create(client, small(prompt=f"counted task {n}")) for n in range(3)]
        refused = post(client, small(model="no-such-model"))
        assert refused.status_code == 400
        assert client.get("/api/v1/no/such/path/task_123").status_code == 404
        reads = poll_until_done(client, [task["id"] for task in tasks])
        receiver.wait_for_requests(3, "/hook")

        def settled() -> Scrape | None:
            moved = scrape(main.url) - before
            done = jobs_run(moved, "deliver") >= 3 and jobs_run(moved, "generate") >= 3
            return moved if done else None

        moved = wait_for(settled, 60, "the workers' counters")
        client.delete(f"/api/v1/webhooks/{hook.json()['id']}")
    held = sum(task["reserved_credits"] for task in tasks)
    assert requests_of(moved, "/api/v1/generations", "POST", 201) == 3
    assert requests_of(moved, "/api/v1/generations", "POST", 400) == 1
    assert requests_of(moved, TASK_ROUTE, "GET", 200) == reads
    assert requests_of(moved, "unmatched", "GET", 404) == 1
    created = {"model": MODEL, "dialect": "public_v1", "provider": "preview"}
    assert moved.get("seedance_tasks_created_total", **created) == 3
    assert finished(moved) == 3
    assert finished(moved, status="failed") == 0
    assert moved.get("seedance_credits_held_total") == held
    assert moved.get("seedance_credits_captured_total") == held
    assert moved.get("seedance_credits_released_total") == 0
    assert (jobs_run(moved, "generate"), jobs_run(moved, "deliver")) == (3, 3)
    deliveries = "seedance_webhook_deliveries_total"
    assert moved.get(deliveries, target="endpoint", outcome="succeeded") == 3
    assert moved.get(deliveries, target="endpoint", outcome="retrying") == 0
    routes = scrape(main.url).labels("seedance_http_request_duration_seconds_count", "route")
    assert {TASK_ROUTE, "/api/v1/generations", "/metrics", "unmatched"} <= routes
    raw = [task["id"] for task in tasks] + ["/no/such/path"]
    assert not [route for route in routes if any(part in route for part in raw)]  # templates


def test_a_queue_without_workers_shows_its_depth_and_a_worker_shows_its_own_work(
    queue: Any,
) -> None:
    key, _ = queue.create_key(10_000)
    before = scrape(queue.url)
    with queue.client(key) as client:
        tasks = [create(client, small(prompt=f"queued task {n}"))["id"] for n in range(2)]
        waiting = scrape(queue.url)
        depth = waiting.get("seedance_queue_depth", kind="generate")
        assert depth - before.get("seedance_queue_depth", kind="generate") == 2
        assert waiting.get("seedance_queue_oldest_age_seconds", kind="generate") > 0
        assert waiting.labels("seedance_queue_depth", "kind") == JOB_KINDS
        port = free_port()
        queue.env["SEEDANCE_METRICS_PORT"] = str(port)
        worker = queue.spawn("worker")
        listener = f"http://127.0.0.1:{port}"
        poll_until_done(client, tasks)

    def worked() -> Scrape | None:
        try:
            scraped = scrape(listener)
        except httpx.TransportError:
            return None
        return scraped if jobs_run(scraped, "generate") >= 2 else None

    own = wait_for(worked, 60, "the worker's metrics")
    assert finished(own) == 2 and jobs_run(own, "generate") == 2
    assert own.get("seedance_tasks_created_total", model=MODEL, dialect="public_v1") == 0
    assert httpx.get(f"{listener}/metrics").status_code == 401
    assert scrape(queue.url).get("seedance_queue_depth", kind="generate") == depth - 2
    worker.terminate()
    assert worker.wait(timeout=30) == 0  # the listener leaves the worker's shutdown alone


def test_upstream_calls_are_counted_by_channel_and_outcome(main: Any, ark: Any) -> None:
    before = scrape(ark.url)
    with ark.client() as client:
        task = create(client, small(prompt="sent upstream"))
        poll_until_done(client, [task["id"]])

    def copied() -> Scrape | None:
        moved = scrape(ark.url) - before
        return moved if jobs_run(moved, "upstream_fetch") >= 1 else None

    moved = wait_for(copied, 60, "the upstream counters")
    channel = channel_name(main.key)
    calls = "seedance_upstream_calls_total"
    assert moved.get(calls, channel=channel, call="create", outcome="accepted") == 1
    assert moved.get(calls, channel=channel, call="download", outcome="2xx") == 1
    checks = [moved.get(calls, channel=channel, call=c, outcome="2xx") for c in ("get", "list")]
    assert sum(checks) >= 1
    assert moved.labels(calls, "outcome") <= {"accepted", "2xx"}  # nothing failed
    created = {"model": MODEL, "dialect": "public_v1", "provider": "ark"}
    assert moved.get("seedance_tasks_created_total", **created) == 1
    assert finished(moved, provider="ark") == 1
    assert jobs_run(moved, "upstream_submit") == 1


# --- logs --------------------------------------------------------------------------------------


def test_a_failing_request_logs_its_request_task_and_account_ids(main: Any) -> None:
    key, account_id = main.create_key(10_000)
    with main.client(key) as client:
        task_id = create(client, small(prompt="read while broken"))["id"]
        poll_until_done(client, [task_id])
        set_status(main, task_id, "not-a-status")  # a row no code path can read
        try:
            failed = client.get(f"/api/v1/generations/{task_id}")
        finally:
            set_status(main, task_id, "succeeded")
    assert failed.status_code == 500
    request_id = failed.headers["x-request-id"]
    (line,) = [x for x in log_lines(main) if x.get("request_id") == request_id]
    assert line["level"] == "ERROR" and line["message"].startswith("unhandled error on GET")
    assert (line["task_id"], line["account_id"]) == (task_id, account_id)
    assert "ValueError" in line["exception"]
    ran = [x for x in log_lines(main) if x.get("task_id") == task_id and "job" in x["message"]]
    assert [x["logger"] for x in ran] == ["seedance_gateway.worker"]
    assert ran[0]["account_id"] == account_id and "request_id" not in ran[0]


def test_every_line_the_json_servers_wrote_is_one_json_object(
    servers: dict[str, Any], ark: Any
) -> None:
    """Runs last: by now the servers (API, in-process and standalone workers) have logged
    startups, requests, jobs, a 500 with its traceback and uvicorn's own lines."""
    for server in [*servers.values(), ark]:
        lines = log_lines(server)
        assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
        assert any(line["logger"].startswith("uvicorn") for line in lines)
    assert len(list(servers["queue"].home.glob("worker-*.log"))) == 1


def set_status(server: Any, task_id: str, status: str) -> None:
    """Writes a task's status straight into the server's database."""

    async def write() -> None:
        engine = create_async_engine(server.env["SEEDANCE_DATABASE_URL"])
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    update(tables.tasks).where(tables.tasks.c.id == task_id).values(status=status)
                )
        finally:
            await engine.dispose()

    asyncio.run(write())
