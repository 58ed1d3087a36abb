"""Benchmark the API's create and status-read throughput against a bare Starlette endpoint.

Every figure is a ratio against a bare Starlette JSON endpoint measured in the same run, on
the same machine, with the same uvicorn settings and the same load generator, so the numbers
compare across machines where absolute requests/s would not. Scenarios:

* baseline ``GET /ping`` and ``POST /echo`` (parse a JSON body, return a small dict);
* ``POST /api/v1/generations`` (the seed's minimal Seedance 1.0 Pro request: auth, validation,
  pricing and one transaction that holds credits, inserts the task and enqueues its job);
* ``GET /api/v1/generations/{id}`` over tasks created just before;
* ``GET /api/v1/credits``.

Each runs on SQLite and, when it is reachable (or ``--postgres`` is given), on PostgreSQL. The
API runs with ``--no-worker``, so nothing renders. The load generator is a separate process
(httpx, N concurrent keep-alive connections, warm-up first, bounded in time and requests) and
shares the machine's cores with the server, which the report says.

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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

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


# --------------------------------------------------------------------------------------------
# The load generator (runs in its own process: ``bench_api.py _load`` with a spec on stdin).
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class LoadSpec:
    """One scenario for the load generator: what to send, how hard and for how long."""

    base_url: str
    method: str
    paths: list[str]
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    concurrency: int = 16
    warmup_s: float = 2.0
    duration_s: float = 8.0
    max_requests: int = 200_000
    keep_ids: int = 0  #: collect this many ``id`` fields from the (measured) responses
    server_pid: int | None = None  #: its CPU time is sampled over the measured window


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


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process, from ``/proc`` (None where unavailable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _record(tally: _Tally, started: float, response: httpx.Response) -> None:
    finished = time.perf_counter()
    tally.latencies.append(finished - started)
    tally.finish_times.append(finished)
    status = response.status_code
    tally.statuses[str(status)] = tally.statuses.get(str(status), 0) + 1
    if status >= 400:
        if tally.first_error is None:
            tally.first_error = f"{status}: {response.text[:300]}"
    elif len(tally.ids) < tally.keep_ids:
        tally.ids.append(str(response.json()["id"]))


async def _worker(client: httpx.AsyncClient, spec: LoadSpec, tally: _Tally, offset: int) -> None:
    index = offset
    while tally.claim():
        path = spec.paths[index % len(spec.paths)]
        index += spec.concurrency
        started = time.perf_counter()
        response = await client.request(spec.method, path, json=spec.body, headers=spec.headers)
        _record(tally, started, response)


async def _phase(
    client: httpx.AsyncClient, spec: LoadSpec, seconds: float, keep_ids: int
) -> _Tally:
    tally = _Tally(
        deadline=time.perf_counter() + seconds, budget=spec.max_requests, keep_ids=keep_ids
    )
    await asyncio.gather(*(_worker(client, spec, tally, i) for i in range(spec.concurrency)))
    return tally


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


def _summarize(tally: _Tally, start: float, end: float, cpu: dict[str, float | None]) -> LoadResult:
    elapsed = max(end - start, 1e-9)
    latencies = sorted(tally.latencies)
    errors = sum(n for code, n in tally.statuses.items() if int(code) >= 400)
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
        server_cpu=cpu["server"],
        client_cpu=cpu["client"] or 0.0,
        statuses=dict(sorted(tally.statuses.items())),
        first_error=tally.first_error,
        ids=tally.ids,
    )


def _cpu_now(pid: int | None) -> tuple[float | None, float]:
    times = os.times()
    return (process_cpu_seconds(pid) if pid else None), times.user + times.system


def _cpu_share(
    before: tuple[float | None, float], after: tuple[float | None, float], wall: float
) -> dict[str, float | None]:
    server = None
    if before[0] is not None and after[0] is not None:
        server = (after[0] - before[0]) / wall
    return {"server": server, "client": (after[1] - before[1]) / wall}


async def run_load(spec: LoadSpec) -> LoadResult:
    """Warms up, then measures; every request goes over ``spec.concurrency`` connections."""
    limits = httpx.Limits(
        max_connections=spec.concurrency, max_keepalive_connections=spec.concurrency
    )
    async with httpx.AsyncClient(
        base_url=spec.base_url, limits=limits, timeout=30.0, trust_env=False
    ) as client:
        await _phase(client, spec, spec.warmup_s, keep_ids=0)
        cpu_before, start = _cpu_now(spec.server_pid), time.perf_counter()
        tally = await _phase(client, spec, spec.duration_s, keep_ids=spec.keep_ids)
        end, cpu_after = time.perf_counter(), _cpu_now(spec.server_pid)
    return _summarize(tally, start, end, _cpu_share(cpu_before, cpu_after, end - start))


def load_main() -> None:
    """``_load``: reads a ``LoadSpec`` as JSON on stdin, prints a ``LoadResult`` as JSON."""
    spec = LoadSpec(**json.load(sys.stdin))
    try:
        import uvloop

        result = uvloop.run(run_load(spec))
    except ImportError:
        result = asyncio.run(run_load(spec))
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

    concurrency: int
    warmup_s: float
    duration_s: float
    max_requests: int


@dataclass(frozen=True, kw_only=True)
class Server:
    """A server process we started, and where it listens."""

    pid: int
    base_url: str


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


def create_key(env: Mapping[str, str]) -> str:
    """A new API key (on a new account with plenty of credits), via the CLI."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "seedance_gateway",
            "keys",
            "create",
            "--name",
            "bench",
            "--credits",
            str(CREDITS),
            "--json",
        ],
        env=dict(env),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    key: str = json.loads(done.stdout.strip().splitlines()[-1])["key"]
    return key


@contextlib.contextmanager
def backend_env(backend: str, home: Path, admin_url: str) -> Iterator[dict[str, str]]:
    """The server environment for a backend, with a fresh database."""
    base = {
        "SEEDANCE_HOME": str(home),
        "SEEDANCE_RATE_LIMIT": RATE_LIMIT,
        "SEEDANCE_MAX_IN_FLIGHT": str(MAX_IN_FLIGHT),
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
    return LoadSpec(
        base_url=server.base_url,
        method=method,
        paths=paths,
        concurrency=plan.concurrency,
        warmup_s=plan.warmup_s,
        duration_s=plan.duration_s,
        max_requests=plan.max_requests,
        server_pid=server.pid,
        **extra,
    )


def _measure(label: str, backend: str, spec: LoadSpec, baseline: str | None = None) -> Row:
    print(f"  measuring {label} ({backend}) ...", file=sys.stderr, flush=True)
    return Row(label=label, backend=backend, result=load(spec), baseline=baseline)


BASE_GET = "GET /ping (bare Starlette)"
BASE_POST = "POST /echo (bare Starlette)"


def measure_baseline(plan: Plan, workdir: Path) -> list[Row]:
    """The bare Starlette endpoints, served by uvicorn like the API."""
    port = free_port()
    cmd = [sys.executable, str(Path(__file__).resolve()), "_baseline", "--port", str(port)]
    with running(cmd, clean_env({}), port, "/ping", workdir / "baseline.log") as server:
        return [
            _measure(BASE_GET, "-", _spec(plan, server, "GET", ["/ping"])),
            _measure(BASE_POST, "-", _spec(plan, server, "POST", ["/echo"], body=SEED_REQUEST)),
        ]


def measure_gateway(plan: Plan, backend: str, workdir: Path, admin_url: str) -> list[Row]:
    """Create, status read and credits on ``seedance serve --no-worker`` over ``backend``."""
    home = workdir / f"home-{backend}"
    with backend_env(backend, home, admin_url) as env:
        auth = {"Authorization": f"Bearer {create_key(env)}"}
        port = free_port()
        cmd = [
            sys.executable,
            "-m",
            "seedance_gateway",
            "serve",
            "--port",
            str(port),
            "--no-worker",
        ]
        with running(cmd, env, port, "/readyz", workdir / f"api-{backend}.log") as server:
            return _gateway_rows(plan, backend, server, auth)


def _gateway_rows(plan: Plan, backend: str, server: Server, auth: dict[str, str]) -> list[Row]:
    create = _measure(
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
        "GET /api/v1/generations/{id}",
        backend,
        _spec(plan, server, "GET", [f"/api/v1/generations/{i}" for i in ids], headers=auth),
        baseline=BASE_GET,
    )
    credits = _measure(
        "GET /api/v1/credits",
        backend,
        _spec(plan, server, "GET", ["/api/v1/credits"], headers=auth),
        baseline=BASE_GET,
    )
    return [create, status, credits]


# --------------------------------------------------------------------------------------------
# The report.
# --------------------------------------------------------------------------------------------

COLUMNS = (
    f"{'endpoint':<31} {'backend':<8} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
    f"{'vs base':>8} {'1st/2nd half':>13} {'srv CPU':>7} {'gen CPU':>7} {'errors':>6}"
)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f}%"


def format_row(row: Row, baselines: Mapping[str, LoadResult]) -> str:
    """One table line: throughput, latency, ratio to its baseline, trend, CPU shares."""
    r = row.result
    ratio = f"{r.rps / baselines[row.baseline].rps:.3f}x" if row.baseline else "1"
    halves = f"{r.rps_first_half:.0f}/{r.rps_second_half:.0f}"
    return (
        f"{row.label:<31} {row.backend:<8} {r.rps:>8.0f} {r.p50_ms:>7.2f} {r.p99_ms:>7.2f} "
        f"{ratio:>8} {halves:>13} {_pct(r.server_cpu):>7} {_pct(r.client_cpu):>7} "
        f"{r.errors:>6}"
    )


def machine_note(plan: Plan) -> str:
    """What the figures were measured on, and the caveat that matters most."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{cores} CPU cores; the load generator (1 process, {plan.concurrency} connections) "
        f"shares them with the server (1 uvicorn process). {plan.warmup_s:g} s warm-up, "
        f"{plan.duration_s:g} s measured per row."
    )


def print_report(rows: Sequence[Row], plan: Plan) -> None:
    """The table, then the errors any row had."""
    baselines = {row.label: row.result for row in rows if row.baseline is None}
    print()
    print(machine_note(plan))
    print(
        "vs base = req/s divided by the bare Starlette row (creates vs POST /echo, reads vs "
        "GET /ping)."
    )
    print(
        "srv CPU / gen CPU = CPU time of the server / load generator per wall second "
        "(100% = one core)."
    )
    print()
    print(COLUMNS)
    print("-" * len(COLUMNS))
    for row in rows:
        print(format_row(row, baselines))
    for row in rows:
        if row.result.errors:
            print(
                f"\n{row.label} ({row.backend}): {row.result.statuses}; first error: "
                f"{row.result.first_error}"
            )


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
        help="about 20 s in all: 0.5 s warm-up and 1.5 s measured per row",
    )
    parser.add_argument(
        "--postgres",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also run on PostgreSQL (default: when it is reachable; "
        "--postgres fails if it is not)",
    )
    parser.add_argument(
        "--pg-url",
        default=PG_ADMIN_URL,
        help="admin database for CREATE/DROP DATABASE (env SEEDANCE_BENCH_PG)",
    )
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, help="measured seconds per row (default 8)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds per row (default 2)")
    parser.add_argument(
        "--max-requests", type=int, default=200_000, help="cap on measured requests per row"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    return parser.parse_args(argv)


def make_plan(args: argparse.Namespace) -> Plan:
    """Durations from ``--quick`` / ``--seconds`` / ``--warmup``."""
    default_duration, default_warmup = (1.5, 0.5) if args.quick else (8.0, 2.0)
    return Plan(
        concurrency=args.concurrency,
        warmup_s=default_warmup if args.warmup is None else args.warmup,
        duration_s=default_duration if args.seconds is None else args.seconds,
        max_requests=args.max_requests,
    )


def choose_backends(args: argparse.Namespace) -> list[str]:
    """SQLite always; PostgreSQL when asked for, or by default when it is reachable."""
    if args.postgres is False:
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
