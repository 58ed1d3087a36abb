"""Benchmark the API's create and status-read throughput against a bare Starlette endpoint.

Every figure is a ratio against a bare Starlette JSON endpoint measured in the same run, on
the same machine, with the same uvicorn settings and the same load generator, so the numbers
compare across machines where absolute requests/s would not. Scenarios:

* baseline ``GET /ping`` and ``POST /echo`` (parse a JSON body, return a small dict);
* ``POST /api/v1/generations`` (the seed's minimal Seedance 1.0 Pro request: auth, validation,
  pricing and one transaction that holds credits, inserts the task and enqueues its job);
* ``GET /api/v1/generations/{id}`` over tasks created just before;
* ``GET /api/v1/credits``;
* ``POST /api/v3/contents/generations/tasks`` (the same request in the upstream's body, with
  text commands) and ``GET /api/v3/contents/generations/tasks/{id}``;
* ``POST /v1/videos`` (OpenAI's shape, JSON) and ``GET /v1/videos/{id}``;
* ``POST /v1/generate`` (seed 003, Seedance 1.5 Pro) and ``GET /v1/status?task_id=`` (over the
  OpenAI rows' tasks: every dialect reads every task).

Each runs on SQLite and on PostgreSQL when it is reachable (``--postgres`` insists on it,
``--no-postgres`` skips it, ``--quick`` skips it unless ``--postgres`` is given). The API runs
with ``--no-worker``, so nothing renders. The load generator is a separate process (N
concurrent keep-alive connections, warm-up first, bounded in time and requests) and shares the
machine's cores with the server, which the report says. It speaks HTTP/1.1 over asyncio
streams by default: httpx (``--client httpx``) spends so much CPU per request that it, not the
bare Starlette server, would set the baseline's pace.

Usage: ``python bench/bench_api.py [--quick] [--postgres | --no-postgres] [--json FILE]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

HOST = "127.0.0.1"
PG_ADMIN_URL = os.environ.get("SEEDANCE_BENCH_PG", "postgresql://127.0.0.1:5432/test")
RATE_LIMIT = "1000000/minute"
MAX_IN_FLIGHT = 1_000_000
CREDITS = 100_000_000
IDS_TO_KEEP = 1000
READY_TIMEOUT_S = 60.0
SEED_REQUEST: dict[str, Any] = {
    "model": "seedance-1-0-pro",
    "prompt": "A cinematic product reveal with smooth camera movement",
    "params": {
        "resolution": "720p",
        "duration": "5",
        "aspect_ratio": "16:9",
        "camera_fixed": "false",
        "seed": -1,
        "enable_safety_checker": "true",
    },
}

V3_PATH = "/api/v3/contents/generations/tasks"
#: The seed request in the upstream's body (text commands included, as clients send them).
V3_REQUEST: dict[str, Any] = {
    "model": "doubao-seedance-1-0-pro-250528",
    "content": [
        {"type": "text", "text": f"{SEED_REQUEST['prompt']} --rs 720p --rt 16:9 --dur 5 --cf false"}
    ],
    "seed": None,
    "watermark": None,
    "callback_url": None,
}

#: The seed request in OpenAI's shape (1.0 Pro, 720p 16:9, 5 s: the same task as above).
OPENAI_REQUEST: dict[str, Any] = {
    "model": "seedance-1-0-pro",
    "prompt": SEED_REQUEST["prompt"],
    "seconds": "5",
    "size": "1280x720",
}
#: Seed 003's quick-start request.
SEEDANCEAPI_REQUEST: dict[str, Any] = {
    "prompt": "A cinematic shot of mountains at sunrise with flowing clouds",
    "aspect_ratio": "16:9",
    "resolution": "720p",
    "duration": "8",
}


# --------------------------------------------------------------------------------------------
# The load generator (runs in its own process: ``bench_api.py _load`` with a spec on stdin).
# --------------------------------------------------------------------------------------------

Sender = Callable[[int], Awaitable[tuple[int, bytes]]]  #: request number -> (status, body)


@dataclass(frozen=True, kw_only=True)
class LoadSpec:
    """One scenario for the load generator: what to send, how hard and for how long."""

    base_url: str
    method: str
    paths: list[str]
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: API keys sent in turn (one per request) instead of any ``Authorization`` in ``headers``
    auth_keys: list[str] = field(default_factory=list)
    client: str = "raw"  #: "raw" (lean asyncio HTTP/1.1) or "httpx" (httpx.AsyncClient)
    concurrency: int = 16
    warmup_s: float = 2.0
    duration_s: float = 8.0
    max_requests: int = 1_000_000
    keep_ids: int = 0  #: collect this many ``id`` fields from the (measured) responses
    server_pid: int | None = None  #: its CPU time is sampled over the measured window
    db_name: str | None = None  #: PostgreSQL database whose backends' CPU time is sampled


@dataclass(kw_only=True)
class LoadResult:
    """What the load generator measured (warm-up excluded)."""

    requests: int
    errors: int
    elapsed_s: float
    rps: float
    p50_ms: float
    p99_ms: float
    rps_first_half: float
    rps_second_half: float
    server_cpu: float | None  #: server CPU seconds / wall seconds (1.0 = one core busy)
    client_cpu: float  #: the load generator's own CPU seconds / wall seconds
    database_cpu: float | None  #: PostgreSQL backends of the benchmark database, per wall s
    other_cpu: float | None  #: every other process on the machine, per wall second
    server_us_per_request: float | None  #: server CPU microseconds per request
    statuses: dict[str, int]
    first_error: str | None = None
    ids: list[str] = field(default_factory=list)


@dataclass
class _Tally:
    """Mutable per-phase counters the workers share (one event loop, so no locks)."""

    deadline: float
    budget: int
    keep_ids: int
    sent: int = 0
    finish_times: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    first_error: str | None = None
    ids: list[str] = field(default_factory=list)

    def claim(self) -> bool:
        """Whether a worker may send one more request in this phase."""
        if self.sent >= self.budget or time.perf_counter() >= self.deadline:
            return False
        self.sent += 1
        return True

    def record(self, started: float, status: int, body: bytes) -> None:
        """Counts one response (status 0: the request failed without one)."""
        finished = time.perf_counter()
        self.latencies.append(finished - started)
        self.finish_times.append(finished)
        self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1
        if not 200 <= status < 400:
            if self.first_error is None:
                self.first_error = f"{status}: {body[:300].decode(errors='replace')}"
        elif len(self.ids) < self.keep_ids:
            self.ids.append(str(json.loads(body)["id"]))


class RawConnection:
    """One HTTP/1.1 keep-alive connection speaking just enough HTTP for these endpoints.

    httpx costs about 1-2 ms of client CPU per request here, which caps it near 500-1,200
    requests/s whatever the server: the bare Starlette baseline would measure the client.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, payload: bytes) -> tuple[int, bytes]:
        """Sends a prepared request; returns the status and the body."""
        if self.reader is None or self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        try:
            self.writer.write(payload)
            status, length, close = parse_head(await self.reader.readuntil(b"\r\n\r\n"))
            body = await self.reader.readexactly(length)
        except BaseException:
            await self.close()
            raise
        if close:
            await self.close()
        return status, body

    async def close(self) -> None:
        """Closes the connection; the next request opens a new one."""
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


def parse_head(head: bytes) -> tuple[int, int, bool]:
    """(status, Content-Length, whether the server closes) from a response head."""
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    headers = dict(line.split(b":", 1) for line in lines[1:] if b":" in line)
    fields = {k.strip().lower(): v.strip().lower() for k, v in headers.items()}
    if b"content-length" not in fields:
        raise ValueError("response without Content-Length (chunked is not supported)")
    return status, int(fields[b"content-length"]), fields.get(b"connection") == b"close"


def request_headers(spec: LoadSpec, n: int) -> dict[str, str]:
    """The headers of request number ``n``: the spec's, with the next of its keys if any."""
    if not spec.auth_keys:
        return spec.headers
    return {**spec.headers, "Authorization": f"Bearer {spec.auth_keys[n % len(spec.auth_keys)]}"}


def build_request(spec: LoadSpec, n: int) -> bytes:
    """The bytes of request number ``n`` (its path and key taken in turn)."""
    url = urlsplit(spec.base_url)
    path = spec.paths[n % len(spec.paths)]
    body = b"" if spec.body is None else json.dumps(spec.body).encode()
    headers = {"Host": url.netloc, **request_headers(spec, n)}
    if spec.body is not None:
        headers |= {"Content-Type": "application/json", "Content-Length": str(len(body))}
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"{spec.method} {path} HTTP/1.1\r\n{head}\r\n".encode() + body


async def _worker(send: Sender, tally: _Tally, first: int, step: int) -> None:
    """One closed-loop client: the next request goes out as soon as the last is answered."""
    number = first
    while tally.claim():
        started = time.perf_counter()
        try:
            status, body = await send(number)
        except (
            OSError,
            ValueError,
            RuntimeError,
            asyncio.IncompleteReadError,
            httpx.HTTPError,
        ) as exc:
            status, body = 0, repr(exc).encode()
        tally.record(started, status, body)
        number += step


async def _phase(
    senders: Sequence[Sender], spec: LoadSpec, seconds: float, keep_ids: int
) -> _Tally:
    """Runs every sender's closed loop until ``seconds`` pass or the request budget is spent."""
    tally = _Tally(
        deadline=time.perf_counter() + seconds, budget=spec.max_requests, keep_ids=keep_ids
    )
    step = len(senders)
    await asyncio.gather(*(_worker(s, tally, i, step) for i, s in enumerate(senders)))
    return tally


@contextlib.asynccontextmanager
async def raw_senders(spec: LoadSpec) -> AsyncIterator[list[Sender]]:
    """One ``RawConnection`` per concurrent worker, requests prepared up front."""
    url = urlsplit(spec.base_url)
    payloads = [build_request(spec, n) for n in range(max(len(spec.paths), len(spec.auth_keys)))]
    connections = [
        RawConnection(url.hostname or HOST, url.port or 80) for _ in range(spec.concurrency)
    ]

    def sender(conn: RawConnection) -> Sender:
        return lambda n: conn.request(payloads[n % len(payloads)])

    try:
        yield [sender(c) for c in connections]
    finally:
        for conn in connections:
            await conn.close()


@contextlib.asynccontextmanager
async def httpx_senders(spec: LoadSpec) -> AsyncIterator[list[Sender]]:
    """Workers sharing one ``httpx.AsyncClient`` with ``concurrency`` pooled connections."""
    limits = httpx.Limits(
        max_connections=spec.concurrency, max_keepalive_connections=spec.concurrency
    )
    async with httpx.AsyncClient(
        base_url=spec.base_url, limits=limits, timeout=30.0, trust_env=False
    ) as client:

        async def send(n: int) -> tuple[int, bytes]:
            path = spec.paths[n % len(spec.paths)]
            headers = request_headers(spec, n)
            response = await client.request(spec.method, path, json=spec.body, headers=headers)
            return response.status_code, response.content

        yield [send] * spec.concurrency


def _percentile(sorted_values: Sequence[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    rank = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[rank]


def _halves(finish_times: Sequence[float], start: float, end: float) -> tuple[float, float]:
    middle = (start + end) / 2
    first = sum(1 for t in finish_times if t <= middle)
    half = max((end - start) / 2, 1e-9)
    return first / half, (len(finish_times) - first) / half


@dataclass(frozen=True)
class CpuSample:
    """Cumulative CPU seconds: server, this process, database backends, the whole machine."""

    server: float | None
    client: float
    database: dict[int, float]  #: per PostgreSQL backend process serving our database
    machine: float | None

    @staticmethod
    def now(server_pid: int | None, db_name: str | None) -> CpuSample:
        """Reads the counters (``/proc`` on Linux; None where unavailable)."""
        times = os.times()
        server = process_cpu_seconds(server_pid) if server_pid else None
        database = postgres_backends_cpu(db_name) if db_name else {}
        return CpuSample(server, times.user + times.system, database, machine_cpu_seconds())


@dataclass(frozen=True)
class CpuShares:
    """CPU seconds per wall second over the measured window (1.0 = one core busy)."""

    server: float | None
    client: float
    database: float | None  #: PostgreSQL backends serving the benchmark's database
    other: float | None  #: everything else on the machine: other processes are noise

    @staticmethod
    def between(before: CpuSample, after: CpuSample, wall: float) -> CpuShares:
        """The shares from two samples ``wall`` seconds apart."""
        server = _rate(before.server, after.server, wall)
        client = (after.client - before.client) / wall
        database = None
        if after.database:
            used = sum(t - before.database.get(pid, 0.0) for pid, t in after.database.items())
            database = used / wall
        machine = _rate(before.machine, after.machine, wall)
        other = None
        if machine is not None:
            other = max(0.0, machine - (server or 0.0) - client - (database or 0.0))
        return CpuShares(server, client, database, other)


def _rate(before: float | None, after: float | None, wall: float) -> float | None:
    return None if before is None or after is None else (after - before) / wall


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process and its descendants (``serve --workers N``'s
    processes), from ``/proc`` (None where unavailable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(process_cpu_seconds(child) or 0.0 for child in _children(pid))


def _children(pid: int) -> list[int]:
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return []
    found: list[int] = []
    for task in tasks:
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def postgres_backends_cpu(db_name: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend whose process title names ``db_name``."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres:") and f" {db_name} " in title:
            seconds = process_cpu_seconds(int(proc.name))
            if seconds is not None:
                found[int(proc.name)] = seconds
    return found


def machine_cpu_seconds() -> float | None:
    """Busy (not idle, not iowait) CPU seconds of all cores, from ``/proc/stat``."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return None
    ticks = [int(v) for v in first[1:9]]  # user nice system idle iowait irq softirq steal
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def _summarize(tally: _Tally, start: float, end: float, cpu: CpuShares) -> LoadResult:
    elapsed = max(end - start, 1e-9)
    latencies = sorted(tally.latencies)
    errors = sum(n for code, n in tally.statuses.items() if not 200 <= int(code) < 400)
    first, second = _halves(tally.finish_times, start, end)
    return LoadResult(
        requests=len(latencies),
        errors=errors,
        elapsed_s=elapsed,
        rps=len(latencies) / elapsed,
        p50_ms=_percentile(latencies, 0.50) * 1000,
        p99_ms=_percentile(latencies, 0.99) * 1000,
        rps_first_half=first,
        rps_second_half=second,
        server_cpu=cpu.server,
        client_cpu=cpu.client,
        database_cpu=cpu.database,
        other_cpu=cpu.other,
        server_us_per_request=(
            None
            if cpu.server is None or not latencies
            else cpu.server * elapsed / len(latencies) * 1e6
        ),
        statuses=dict(sorted(tally.statuses.items())),
        first_error=tally.first_error,
        ids=tally.ids,
    )


async def run_load(spec: LoadSpec) -> LoadResult:
    """Warms up, then measures, over ``spec.concurrency`` concurrent connections."""
    opened = raw_senders(spec) if spec.client == "raw" else httpx_senders(spec)
    async with opened as senders:
        await _phase(senders, spec, spec.warmup_s, keep_ids=0)
        cpu_before, start = CpuSample.now(spec.server_pid, spec.db_name), time.perf_counter()
        tally = await _phase(senders, spec, spec.duration_s, keep_ids=spec.keep_ids)
        end, cpu_after = time.perf_counter(), CpuSample.now(spec.server_pid, spec.db_name)
    return _summarize(tally, start, end, CpuShares.between(cpu_before, cpu_after, end - start))


def load_main() -> None:
    """``_load``: reads a ``LoadSpec`` as JSON on stdin, prints a ``LoadResult`` as JSON."""
    spec = LoadSpec(**json.load(sys.stdin))
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(run_load(spec))
    else:
        result = uvloop.run(run_load(spec))
    json.dump(asdict(result), sys.stdout)


# --------------------------------------------------------------------------------------------
# The baseline server (``bench_api.py _baseline --port P``): bare Starlette, same uvicorn.
# --------------------------------------------------------------------------------------------


def baseline_app() -> Starlette:
    """A bare Starlette app: ``GET /ping`` and ``POST /echo`` return small JSON objects."""

    async def ping(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "object": "ping"})

    async def echo(request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse(
            {"status": "ok", "model": body.get("model"), "keys": len(body)}, status_code=201
        )

    return Starlette(routes=[Route("/ping", ping), Route("/echo", echo, methods=["POST"])])


def baseline_main(argv: Sequence[str]) -> None:
    """``_baseline``: serves the baseline app the way ``seedance serve`` serves the API."""
    parser = argparse.ArgumentParser(prog="bench_api.py _baseline")
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args(argv).port
    uvicorn.run(baseline_app(), host=HOST, port=port, log_level="info", access_log=False)


# --------------------------------------------------------------------------------------------
# The orchestrator: servers, databases, scenarios, the report.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Plan:
    """How hard and how long every scenario runs."""

    client: str
    concurrency: int
    warmup_s: float
    duration_s: float
    max_requests: int
    repeat: int = 1
    workers: int = 1  #: above 1: status and credits rows again on ``serve --workers N``
    keys: int = 1  #: creates are sent with this many keys of one account, in turn


@dataclass(frozen=True, kw_only=True)
class Server:
    """A server process we started, and where it listens."""

    pid: int
    base_url: str
    db_name: str | None = None  #: its PostgreSQL database, if any
    create_keys: list[str] = field(default_factory=list)  #: keys the creates take in turn


@dataclass(frozen=True, kw_only=True)
class Row:
    """One line of the report."""

    label: str
    backend: str
    result: LoadResult
    baseline: str | None = None  #: label of the baseline row this one is compared against


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without any ``SEEDANCE_*`` variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEEDANCE_")}
    env.update(extra)
    return env


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{_tail(log)}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2.0, trust_env=False).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"server not ready after {READY_TIMEOUT_S:.0f} s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    return "(no log)"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def running(
    cmd: Sequence[str], env: Mapping[str, str], port: int, ready_path: str, log: Path
) -> Iterator[Server]:
    """Starts a server process, waits until ``ready_path`` answers 200, stops it afterwards."""
    with log.open("wb") as sink:
        proc = subprocess.Popen(list(cmd), env=dict(env), stdout=sink, stderr=subprocess.STDOUT)
    base_url = f"http://{HOST}:{port}"
    try:
        _wait_ready(proc, base_url + ready_path, log)
        yield Server(pid=proc.pid, base_url=base_url)
    finally:
        _stop(proc)


def postgres_reachable(admin_url: str) -> bool:
    """Whether ``psql`` can run a query on the admin database."""
    try:
        done = subprocess.run(
            ["psql", admin_url, "-tAc", "SELECT 1"], capture_output=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _psql(admin_url: str, sql: str) -> None:
    subprocess.run(
        ["psql", admin_url, "-v", "ON_ERROR_STOP=1", "-qc", sql],
        check=True,
        capture_output=True,
        timeout=60,
    )


@contextlib.contextmanager
def scratch_postgres(admin_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database (dropped afterwards); yields its URL."""
    name = f"sdg_bench_{secrets.token_hex(4)}"
    _psql(admin_url, f"CREATE DATABASE {name}")
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        _psql(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def gateway_command(*args: str) -> list[str]:
    """``python -m seedance_gateway ARGS`` with this interpreter."""
    return [sys.executable, "-m", "seedance_gateway", *args]


def create_key(env: Mapping[str, str]) -> str:
    """A new API key (on a new account with plenty of credits), via the CLI."""
    args = ("keys", "create", "--name", "bench", "--credits", str(CREDITS), "--json")
    done = subprocess.run(
        gateway_command(*args), env=dict(env), capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"keys create failed ({done.returncode}):\n{done.stderr[-3000:]}")
    key: str = json.loads(done.stdout.strip().splitlines()[-1])["key"]
    return key


@contextlib.contextmanager
def backend_env(backend: str, home: Path, admin_url: str) -> Iterator[dict[str, str]]:
    """The server environment for a backend, with a fresh database."""
    base = {
        "SEEDANCE_HOME": str(home),
        "SEEDANCE_RATE_LIMIT": RATE_LIMIT,
        "SEEDANCE_MAX_IN_FLIGHT": str(MAX_IN_FLIGHT),
        "SEEDANCE_SECRET": "bench-secret",  # serve --no-worker on PostgreSQL requires one
    }
    if backend == "sqlite":
        yield clean_env(base)
        return
    with scratch_postgres(admin_url) as url:
        yield clean_env({**base, "SEEDANCE_DATABASE_URL": url})


def load(spec: LoadSpec) -> LoadResult:
    """Runs the load generator in its own process and returns what it measured."""
    limit = spec.warmup_s + spec.duration_s + 120
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "_load"],
        input=json.dumps(asdict(spec)),
        capture_output=True,
        text=True,
        timeout=limit,
        check=False,
        env=clean_env({}),
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return LoadResult(**json.loads(done.stdout))


def _spec(plan: Plan, server: Server, method: str, paths: list[str], **extra: Any) -> LoadSpec:
    """A load spec for ``server`` with the plan's concurrency and durations."""
    return LoadSpec(
        base_url=server.base_url,
        method=method,
        paths=paths,
        client=plan.client,
        concurrency=plan.concurrency,
        warmup_s=plan.warmup_s,
        duration_s=plan.duration_s,
        max_requests=plan.max_requests,
        server_pid=server.pid,
        db_name=server.db_name,
        auth_keys=server.create_keys if method == "POST" else [],  # the creates
        **extra,
    )


def _measure(
    plan: Plan, label: str, backend: str, spec: LoadSpec, baseline: str | None = None
) -> Row:
    """Runs a row ``plan.repeat`` times and keeps the fastest run (the least disturbed one)."""
    print(f"  measuring {label} ({backend}) ...", file=sys.stderr, flush=True)
    runs = [load(spec) for _ in range(max(1, plan.repeat))]
    best = max(runs, key=lambda r: r.rps)
    best.ids = next((r.ids for r in runs if r.ids), [])
    return Row(label=label, backend=backend, result=best, baseline=baseline)


BASE_GET = "GET /ping (bare Starlette)"
BASE_POST = "POST /echo (bare Starlette)"


def measure_baseline(plan: Plan, workdir: Path) -> list[Row]:
    """The bare Starlette endpoints, served by uvicorn like the API."""
    port = free_port()
    cmd = [sys.executable, str(Path(__file__).resolve()), "_baseline", "--port", str(port)]
    with running(cmd, clean_env({}), port, "/ping", workdir / "baseline.log") as server:
        return [
            _measure(plan, BASE_GET, "-", _spec(plan, server, "GET", ["/ping"])),
            _measure(
                plan, BASE_POST, "-", _spec(plan, server, "POST", ["/echo"], body=SEED_REQUEST)
            ),
        ]


def measure_gateway(plan: Plan, backend: str, workdir: Path, admin_url: str) -> list[Row]:
    """Create, status read and credits on ``seedance serve --no-worker`` over ``backend``."""
    home = workdir / f"home-{backend}"
    with backend_env(backend, home, admin_url) as env:
        auth = {"Authorization": f"Bearer {create_key(env)}"}
        port = free_port()
        cmd = gateway_command("serve", "--port", str(port), "--no-worker")
        db_name = env["SEEDANCE_DATABASE_URL"].rsplit("/", 1)[1] if backend != "sqlite" else None
        with running(cmd, env, port, "/readyz", workdir / f"api-{backend}.log") as server:
            keys = more_keys(server, auth, plan.keys)
            server = replace(server, db_name=db_name, create_keys=keys)
            rows = _gateway_rows(plan, backend, server, auth)
        if plan.workers > 1:
            ids = next(r.result.ids for r in rows if r.label == "POST /api/v1/generations")
            rows += _processes_rows(plan, backend, env, workdir, db_name, auth, ids)
        return rows


def more_keys(server: Server, auth: dict[str, str], count: int) -> list[str]:
    """``count`` keys of the bench account: the one in ``auth`` and new ones (Keys API), each
    used once, so that its first use (a ``last_used_at`` write, then once a minute) is not
    measured: in a 2 s row 1,000 keys would each pay it on one request in two."""
    keys = [auth["Authorization"].removeprefix("Bearer ")]
    with httpx.Client(base_url=server.base_url, headers=auth, timeout=30, trust_env=False) as http:
        for n in range(1, count):
            made = http.post("/api/v1/keys", json={"name": f"bench-{n}"})
            made.raise_for_status()
            keys.append(made.json()["key"])
        for key in keys:
            http.get("/api/v1/credits", headers={"Authorization": f"Bearer {key}"})
    return keys


def _processes_rows(
    plan: Plan,
    backend: str,
    env: Mapping[str, str],
    workdir: Path,
    db_name: str | None,
    auth: dict[str, str],
    ids: list[str],
) -> list[Row]:
    """The v1 status read and credits on ``serve --workers N`` over the same database."""
    port = free_port()
    cmd = gateway_command("serve", "--port", str(port), "--no-worker")
    cmd += ["--workers", str(plan.workers)]
    log = workdir / f"api-{backend}-{plan.workers}.log"
    with running(cmd, env, port, "/readyz", log) as server:
        server = replace(server, db_name=db_name)
        suffix = f" x{plan.workers} processes"
        paths = [f"/api/v1/generations/{i}" for i in ids]
        return [
            _measure(
                plan,
                "GET /api/v1/generations/{id}" + suffix,
                backend,
                _spec(plan, server, "GET", paths, headers=auth),
                baseline=BASE_GET,
            ),
            _measure(
                plan,
                "GET /api/v1/credits" + suffix,
                backend,
                _spec(plan, server, "GET", ["/api/v1/credits"], headers=auth),
                baseline=BASE_GET,
            ),
        ]


def _gateway_rows(plan: Plan, backend: str, server: Server, auth: dict[str, str]) -> list[Row]:
    """Create first (its task ids feed the status row), then status, then credits."""
    create = _measure(
        plan,
        "POST /api/v1/generations",
        backend,
        _spec(
            plan,
            server,
            "POST",
            ["/api/v1/generations"],
            body=SEED_REQUEST,
            headers=auth,
            keep_ids=IDS_TO_KEEP,
        ),
        baseline=BASE_POST,
    )
    ids = create.result.ids
    if not ids:
        raise RuntimeError(f"no task was created on {backend}: {create.result.first_error}")
    status = _measure(
        plan,
        "GET /api/v1/generations/{id}",
        backend,
        _spec(plan, server, "GET", [f"/api/v1/generations/{i}" for i in ids], headers=auth),
        baseline=BASE_GET,
    )
    credits = _measure(
        plan,
        "GET /api/v1/credits",
        backend,
        _spec(plan, server, "GET", ["/api/v1/credits"], headers=auth),
        baseline=BASE_GET,
    )
    return [
        create,
        status,
        credits,
        *_v3_rows(plan, backend, server, auth),
        *_newer_dialect_rows(plan, backend, server, auth),
    ]


def _v3_rows(plan: Plan, backend: str, server: Server, auth: dict[str, str]) -> list[Row]:
    """The upstream dialect's create and get, on the same server."""
    create = _measure(
        plan,
        f"POST {V3_PATH}",
        backend,
        _spec(plan, server, "POST", [V3_PATH], body=V3_REQUEST, headers=auth, keep_ids=IDS_TO_KEEP),
        baseline=BASE_POST,
    )
    ids = create.result.ids
    if not ids:
        raise RuntimeError(f"no v3 task was created on {backend}: {create.result.first_error}")
    status = _measure(
        plan,
        f"GET {V3_PATH}/{{id}}",
        backend,
        _spec(plan, server, "GET", [f"{V3_PATH}/{i}" for i in ids], headers=auth),
        baseline=BASE_GET,
    )
    return [create, status]


def _newer_dialect_rows(
    plan: Plan, backend: str, server: Server, auth: dict[str, str]
) -> list[Row]:
    """OpenAI's create and get, then seed 003's create and status (over OpenAI's tasks)."""
    create = _measure(
        plan,
        "POST /v1/videos",
        backend,
        _spec(
            plan,
            server,
            "POST",
            ["/v1/videos"],
            body=OPENAI_REQUEST,
            headers=auth,
            keep_ids=IDS_TO_KEEP,
        ),
        baseline=BASE_POST,
    )
    ids = create.result.ids
    if not ids:
        raise RuntimeError(f"no video was created on {backend}: {create.result.first_error}")
    get = _measure(
        plan,
        "GET /v1/videos/{id}",
        backend,
        _spec(plan, server, "GET", [f"/v1/videos/{i}" for i in ids], headers=auth),
        baseline=BASE_GET,
    )
    generate = _measure(
        plan,
        "POST /v1/generate",
        backend,
        _spec(plan, server, "POST", ["/v1/generate"], body=SEEDANCEAPI_REQUEST, headers=auth),
        baseline=BASE_POST,
    )
    status = _measure(
        plan,
        "GET /v1/status?task_id={id}",
        backend,
        _spec(plan, server, "GET", [f"/v1/status?task_id={i}" for i in ids], headers=auth),
        baseline=BASE_GET,
    )
    return [create, get, generate, status]


# --------------------------------------------------------------------------------------------
# The report.
# --------------------------------------------------------------------------------------------

NOISY_OTHER_CPU = 0.25  #: other processes using more than this per wall second: noisy row
COLUMNS = (
    f"{'endpoint':<44} {'backend':<8} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>8} "
    f"{'rps/base':>8} {'srv us/req':>10} {'cpu/base':>8} {'1st/2nd half':>12} "
    f"{'srv':>4} {'db':>4} {'gen':>4} {'other':>5} {'errors':>6}"
)
LEGEND = """\
rps/base   req/s divided by the matching bare Starlette row (creates vs POST /echo, reads vs
           GET /ping): the headline figure on a quiet machine.
srv us/req server CPU microseconds per request; cpu/base = that divided by the baseline's. It
           suffers less than req/s when other processes compete: read it when "other" is high.
           With the server CPU-bound, rps/base is about 1 / cpu/base; much lower means the
           server waits (a lock, a commit's fsync, the single SQLite writer).
1st/2nd    req/s in the first and second half of the window (a drop: cost grows with data).
srv/db/gen/other  CPU per wall second of the server process, the PostgreSQL backends serving
           its database, the load generator and everything else on the machine (100% = one
           core); a large "other" means other processes competed: the row is noisy."""


def _pct(value: float | None, missing: str = "n/a") -> str:
    return missing if value is None else f"{value * 100:.0f}%"


def _ratio(value: float | None, base: float | None) -> str:
    return "n/a" if value is None or not base else f"{value / base:.3g}x"


def format_row(row: Row, baselines: Mapping[str, LoadResult]) -> str:
    """One table line: throughput, latency, ratios to its baseline, trend, CPU shares."""
    r = row.result
    base = baselines.get(row.baseline or row.label, r)
    us = "n/a" if r.server_us_per_request is None else f"{r.server_us_per_request:.0f}"
    halves = f"{r.rps_first_half:.0f}/{r.rps_second_half:.0f}"
    return (
        f"{row.label:<44} {row.backend:<8} {r.rps:>7.0f} {r.p50_ms:>7.2f} {r.p99_ms:>8.2f} "
        f"{_ratio(r.rps, base.rps):>8} {us:>10} "
        f"{_ratio(r.server_us_per_request, base.server_us_per_request):>8} {halves:>12} "
        f"{_pct(r.server_cpu):>4} {_pct(r.database_cpu, '-'):>4} {_pct(r.client_cpu):>4} "
        f"{_pct(r.other_cpu):>5} {r.errors:>6}"
    )


def machine_note(plan: Plan) -> str:
    """What the figures were measured on, and the caveat that matters most."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{cores} CPU cores, shared by the server (1 uvicorn process, uvloop + httptools when "
        f"installed) and the load generator ({plan.client} client, 1 process, "
        f"{plan.concurrency} connections); {plan.warmup_s:g} s warm-up, "
        f"{plan.duration_s:g} s measured per row"
        + (f", best of {plan.repeat} runs." if plan.repeat > 1 else ".")
    )


def _warnings(rows: Sequence[Row]) -> list[str]:
    notes = []
    for row in rows:
        r = row.result
        if r.errors:
            notes.append(f"{row.label} ({row.backend}): {r.statuses}; first: {r.first_error}")
        if r.other_cpu is not None and r.other_cpu > NOISY_OTHER_CPU:
            notes.append(
                f"{row.label} ({row.backend}): other processes used {_pct(r.other_cpu)} CPU "
                "during the row; its req/s are noisy (srv us/req less so)"
            )
    return notes


def print_report(rows: Sequence[Row], plan: Plan) -> None:
    """The table, its legend, then any errors and noisy rows."""
    baselines = {row.label: row.result for row in rows if row.baseline is None}
    print()
    print(machine_note(plan))
    print()
    print(COLUMNS)
    print("-" * len(COLUMNS))
    for row in rows:
        print(format_row(row, baselines))
    print()
    print(LEGEND)
    for note in _warnings(rows):
        print(f"! {note}")


def write_json(path: Path, rows: Sequence[Row], plan: Plan) -> None:
    """Every figure, machine-readable (task ids left out)."""
    data = {
        "plan": asdict(plan),
        "cpu_count": os.cpu_count(),
        "rows": [
            {
                "label": r.label,
                "backend": r.backend,
                "baseline": r.baseline,
                **{k: v for k, v in asdict(r.result).items() if k != "ids"},
            }
            for r in rows
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


# --------------------------------------------------------------------------------------------
# Entry point.
# --------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The orchestrator's options."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="about 20 s: 0.5 s warm-up and 1.5 s measured per row, SQLite only unless "
        "--postgres is given",
    )
    parser.add_argument(
        "--postgres",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also run on PostgreSQL (default: when it is reachable, except with --quick; "
        "--postgres fails if it is not)",
    )
    parser.add_argument(
        "--pg-url",
        default=PG_ADMIN_URL,
        help="admin database for CREATE/DROP DATABASE (env SEEDANCE_BENCH_PG)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=16, help="keep-alive connections (default 16)"
    )
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load generator: lean asyncio HTTP/1.1 (default) or httpx, which "
        "saturates its own core long before the baseline server",
    )
    parser.add_argument("--seconds", type=float, help="measured seconds per row (default 8)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds per row (default 2)")
    parser.add_argument(
        "--max-requests", type=int, default=1_000_000, help="cap on measured requests per row"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="run every row N times, keep the fastest run"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="N > 1: measure the status read and credits again on `serve --workers N` "
        "(N API processes on one port; server CPU summed over them)",
    )
    parser.add_argument(
        "--keys",
        type=int,
        default=1000,
        help="send the creates with this many API keys of one account, in turn (default 1000): "
        "each key's queue then stays near what the default in-flight limit allows; 1 piles "
        "every queued task on one key, whose in-flight count grows through the run",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    return parser.parse_args(argv)


def make_plan(args: argparse.Namespace) -> Plan:
    """Durations from ``--quick`` / ``--seconds`` / ``--warmup``."""
    default_duration, default_warmup = (1.5, 0.5) if args.quick else (8.0, 2.0)
    return Plan(
        client=args.client,
        concurrency=args.concurrency,
        warmup_s=default_warmup if args.warmup is None else args.warmup,
        duration_s=default_duration if args.seconds is None else args.seconds,
        max_requests=args.max_requests,
        repeat=args.repeat,
        workers=args.workers,
        keys=args.keys,
    )


def choose_backends(args: argparse.Namespace) -> list[str]:
    """SQLite always; PostgreSQL when asked for, or (without --quick) when it is reachable."""
    if args.postgres is False or (args.postgres is None and args.quick):
        return ["sqlite"]
    if postgres_reachable(args.pg_url):
        return ["sqlite", "postgres"]
    if args.postgres:
        raise SystemExit(f"PostgreSQL is not reachable at {args.pg_url}")
    print(f"PostgreSQL not reachable at {args.pg_url}; SQLite only.", file=sys.stderr)
    return ["sqlite"]


def orchestrate(argv: Sequence[str]) -> None:
    """Measures the baseline, then the API on each backend, and prints the report."""
    args = parse_args(argv)
    plan = make_plan(args)
    backends = choose_backends(args)
    print(machine_note(plan), file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="sdg-bench-") as tmp:
        workdir = Path(tmp)
        rows = measure_baseline(plan, workdir)
        for backend in backends:
            rows += measure_gateway(plan, backend, workdir, args.pg_url)
    print_report(rows, plan)
    if args.json:
        write_json(args.json, rows, plan)


def main() -> None:
    """Dispatches to the orchestrator or to one of its helper processes."""
    argv = sys.argv[1:]
    if argv[:1] == ["_load"]:
        load_main()
    elif argv[:1] == ["_baseline"]:
        baseline_main(argv[1:])
    else:
        orchestrate(argv)


if __name__ == "__main__":
    main()
