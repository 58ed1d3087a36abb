"""Blobs on S3 against the local disk: throughput and peak memory, as ratios in one run.

Starts two ``seedance serve --no-worker`` processes (SQLite), one with blobs on its local disk
and one with ``SEEDANCE_BLOBS=s3://…`` on the SeaweedFS that ``scripts/services`` starts (or
``--endpoint``), and measures for each:

* ``upload``: ``POST /api/v1/files`` of a 9 MB noise PNG, ``--uploads`` times: MB/s and the
  server's peak memory growth (streamed to scratch, inspected, then stored);
* ``download``: ``GET`` of a signed URL to a ``--size`` MB blob (put into the store directly),
  streamed through the API: MB/s and the server's peak memory growth;
* ``ranges``: 200 requests of a random 64 KB range of that blob: requests/s;
* ``copy``: ``put_file`` of a 50 MB and a ``--result`` MB file by the adapter in this process,
  as a worker stores a result: MB/s and this process's peak memory growth.

Each row prints the local figure, the S3 figure and their ratio. Usage:
``python bench/bench_blobs.py [--size 200] [--result 500] [--uploads 5] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_upload_memory import (
    MIB,
    Sampler,
    _free_port,
    memory,
    noise_png,
    reset_peak,
)
from seedance_gateway.blobs import BlobStore
from seedance_gateway.blobs.filesystem import FilesystemBlobStore
from seedance_gateway.blobs.s3 import S3BlobStore
from seedance_gateway.blobs.signing import signed_url

SECRET = "bench-blobs-secret"


@dataclass
class Target:
    """One server and the blob store it uses."""

    name: str
    url: str
    key: str
    process: subprocess.Popen[bytes]
    blobs: BlobStore


def start(name: str, home: Path, extra: dict[str, str]) -> Target:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEEDANCE_")}
    env.update(
        SEEDANCE_HOME=str(home),
        SEEDANCE_RATE_LIMIT="1000000/minute",
        SEEDANCE_SECRET=SECRET,
        PYTHONUNBUFFERED="1",
        **extra,
    )
    cli = [sys.executable, "-m", "seedance_gateway"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    made = subprocess.run(
        [*cli, "keys", "create", "--name", "bench", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    port = _free_port()
    with (home / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [*cli, "serve", "--port", str(port), "--no-worker"], env=env, stdout=log, stderr=log
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    blobs: BlobStore = (
        S3BlobStore(extra["SEEDANCE_BLOBS"], env)
        if "SEEDANCE_BLOBS" in extra
        else FilesystemBlobStore(home / "blobs")
    )
    return Target(name, url, json.loads(made.stdout)["key"], process, blobs)


@dataclass(frozen=True)
class Figure:
    row: str
    unit: str
    local: float
    s3: float
    local_growth_mib: float
    s3_growth_mib: float


def server_peak(pid: int, action: Callable[[], float]) -> tuple[float, float]:
    """``action``'s figure and the peak memory growth of ``pid`` while it ran (MiB)."""
    before = memory(pid)["VmRSS"]
    reset = reset_peak(pid)
    with Sampler(pid) as sampler:
        figure = action()
    peak = max(memory(pid)["VmHWM"] if reset else 0, sampler.peak)
    return figure, (peak - before) / MIB


def upload_rate(target: Target, image: bytes, count: int) -> float:
    started = time.perf_counter()
    with httpx.Client(headers={"Authorization": f"Bearer {target.key}"}, timeout=120) as client:
        for _ in range(count):
            made = client.post(
                f"{target.url}/api/v1/files",
                files={"kind": (None, "image"), "file": ("n.png", image, "image/png")},
            )
            assert made.status_code == 201, made.text
    return count * len(image) / MIB / (time.perf_counter() - started)


def download_rate(url: str) -> float:
    started = time.perf_counter()
    received = 0
    with httpx.stream("GET", url, timeout=300) as response:
        assert response.status_code == 200, response.status_code
        for chunk in response.iter_bytes():
            received += len(chunk)
    return received / MIB / (time.perf_counter() - started)


def range_rate(url: str, size: int, count: int = 200) -> float:
    rng = random.Random(1)
    started = time.perf_counter()
    with httpx.Client(timeout=60) as client:
        for _ in range(count):
            start = rng.randrange(0, size - 65536)
            part = client.get(url, headers={"Range": f"bytes={start}-{start + 65535}"})
            assert part.status_code == 206 and len(part.content) == 65536
    return count / (time.perf_counter() - started)


def copy_rate(blobs: BlobStore, source: Path) -> tuple[float, float]:
    """MB/s of ``put_file`` and this process's peak growth (MiB) while it ran."""
    pid = os.getpid()
    before = memory(pid)["VmRSS"]
    reset = reset_peak(pid)
    started = time.perf_counter()
    with Sampler(pid) as sampler:
        asyncio.run(blobs.put_file(f"results/bench-{secrets.token_hex(4)}/video.mp4", source))
    rate = source.stat().st_size / MIB / (time.perf_counter() - started)
    peak = max(memory(pid)["VmHWM"] if reset else 0, sampler.peak)
    return rate, (peak - before) / MIB


def run(args: argparse.Namespace, folder: Path) -> list[Figure]:
    aws = {
        "AWS_ENDPOINT_URL": args.endpoint,
        "AWS_ACCESS_KEY_ID": args.access_key,
        "AWS_SECRET_ACCESS_KEY": args.secret_key,
    }
    os.environ.update(aws)
    s3_url = f"s3://{args.bucket}/bench-{secrets.token_hex(4)}"
    (folder / "local").mkdir()
    (folder / "s3").mkdir()
    local = start("local", folder / "local", {})
    remote = start("s3", folder / "s3", {"SEEDANCE_BLOBS": s3_url, **aws})
    targets = (local, remote)
    try:
        image = noise_png(1700, 1800)  # about 9 MB, under the 10 MB image cap
        big = folder / "big.bin"
        big.write_bytes(os.urandom(args.size * MIB))
        figures: dict[str, list[tuple[float, float]]] = {}
        for target in targets:
            asyncio.run(target.blobs.put_file("results/bench/video.mp4", big))
            url = signed_url(target.url, SECRET, "results/bench/video.mp4", 3600)
            pid = target.process.pid
            figures.setdefault("upload", []).append(
                server_peak(pid, lambda t=target: upload_rate(t, image, args.uploads))
            )
            figures.setdefault("download", []).append(
                server_peak(pid, lambda u=url: download_rate(u))
            )
            figures.setdefault("ranges", []).append(
                server_peak(pid, lambda u=url: range_rate(u, args.size * MIB))
            )
        for size in (50, args.result):
            source = folder / f"result-{size}.bin"
            with source.open("wb") as sink:
                for _ in range(size):
                    sink.write(os.urandom(MIB))
            figures[f"copy {size} MB"] = [copy_rate(t.blobs, source) for t in targets]
            source.unlink()
        units = {"upload": "MB/s", "download": "MB/s", "ranges": "req/s"}
        return [
            Figure(row, units.get(row, "MB/s"), a[0], b[0], a[1], b[1])
            for row, (a, b) in figures.items()
        ]
    finally:
        for target in targets:
            target.process.terminate()
            target.process.wait(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=200, help="MB of the downloaded blob")
    parser.add_argument("--result", type=int, default=500, help="MB of the large result copy")
    parser.add_argument("--uploads", type=int, default=5)
    parser.add_argument("--endpoint", default="http://127.0.0.1:9354")
    parser.add_argument("--bucket", default="seedance-test")
    parser.add_argument("--access-key", default="seedance")
    parser.add_argument("--secret-key", default="seedance-secret")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sdg-bench-blobs-") as folder:
        figures = run(args, Path(folder))
    header = (
        f"{'row':14} {'unit':6} {'local':>9} {'S3':>9} {'S3/local':>9} "
        f"{'+MiB local':>11} {'+MiB S3':>8}"
    )
    print(header)
    print("-" * len(header))
    for f in figures:
        print(
            f"{f.row:14} {f.unit:6} {f.local:>9.1f} {f.s3:>9.1f} {f.s3 / f.local:>9.2f} "
            f"{f.local_growth_mib:>+11.1f} {f.s3_growth_mib:>+8.1f}"
        )
    print("+MiB: peak memory growth of the server (upload, download, ranges) or of this process")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(f) for f in figures], indent=2))


if __name__ == "__main__":
    main()
