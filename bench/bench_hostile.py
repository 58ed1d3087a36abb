"""Hostile bodies against a real server: peak memory, log bytes, and a soak's memory curve.

Starts ``seedance serve --no-worker`` (SQLite, fresh home; helpers from
``bench_upload_memory.py``) and measures its memory (``VmHWM`` reset before each row, and
``VmRSS`` sampled every 2 ms) while clients send, all at once:

* ``json-declared``: three 200 MB JSON bodies announced by ``Content-Length`` to
  ``POST /api/v1/generations`` (refused before a byte is read);
* ``json-chunked``: the same three sent chunked, without a length (refused at the 32 MB cap);
* ``values``: three 30 MB bodies of ``[{},{},…]`` (under the cap; refused as they arrive);
* ``within-cap``: three complete 30 MB bodies (a prompt far too long): decoded, then refused;
  the most memory a body within the 32 MB cap can cost;
* ``nested-anon``: 1,000 bodies of 1,000 nested ``[`` to ``POST /api/v1/sessions`` without a key,
  from 3 clients; also counts the log bytes they cost.

Each row's figure is the peak growth over the RSS just before it (goal: at most 50 MB for three
200 MB bodies) and the RSS after it. ``--soak MINUTES`` then runs a mixed load (status reads,
creates, refused bodies, uploads) and prints RSS every ``--every`` seconds and the slope of its
second half in MB per minute.

Usage: ``python bench/bench_hostile.py [--soak 60] [--every 30] [--json FILE]``. Linux only.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_upload_memory import (
    HOST,
    MIB,
    Sampler,
    Server,
    _pump,
    _read_response,
    memory,
    noise_png,
    reset_peak,
    start_server,
    upload,
)

BLOCK = 256 * 1024
PATH = "/api/v1/generations"


def post_json(
    server: Server, path: str, pieces: Iterator[bytes], *, declared: int | None, key: bool = True
) -> int:
    """Sends a JSON body piece by piece (chunked unless ``declared``); the status answered."""
    chunked = "Transfer-Encoding: chunked"
    framing = f"Content-Length: {declared}" if declared is not None else chunked
    auth = f"Authorization: Bearer {server.key}\r\n" if key else ""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\n{auth}"
        f"Content-Type: application/json\r\n{framing}\r\n\r\n"
    ).encode()

    def framed() -> Iterator[bytes]:
        for piece in pieces:
            yield piece if declared is not None else b"%x\r\n%s\r\n" % (len(piece), piece)
        if declared is None:
            yield b"0\r\n\r\n"

    with socket.create_connection((HOST, server.port), timeout=120) as sock:
        sock.sendall(head)
        _pump(sock, framed())
        return _read_response(sock)[0]


def filler(size: int) -> Iterator[bytes]:
    """``{"prompt": "aaaa…`` for ``size`` bytes, in blocks."""
    yield b'{"model": "seedance-1-0-pro", "prompt": "'
    block = b"a" * BLOCK
    for _ in range(size // BLOCK):
        yield block


def long_prompt(size: int) -> Iterator[bytes]:
    """A complete create body of about ``size`` bytes whose prompt is far too long."""
    yield from filler(size)
    yield b'"}'


def empty_objects(size: int) -> Iterator[bytes]:
    """``[{},{},…]`` for about ``size`` bytes."""
    block = b"{}," * (BLOCK // 3)
    yield b"["
    for _ in range(size // len(block)):
        yield block
    yield b"{}]"


def nested(count: int) -> Callable[[Server], list[int]]:
    def send(server: Server) -> list[int]:
        body = b"[" * 1000 + b"]" * 1000
        return [
            post_json(server, "/api/v1/sessions", iter([body]), declared=len(body), key=False)
            for _ in range(count)
        ]

    return send


@dataclass(frozen=True)
class Row:
    scenario: str
    statuses: str
    seconds: float
    rss_before_mib: float
    growth_mib: float  #: max(VmHWM, sampled RSS) during the row - RSS just before it
    rss_after_mib: float
    log_bytes: int


def concurrently(server: Server, send: Callable[[Server], object], clients: int) -> list[object]:
    results: list[object] = [None] * clients

    def run(index: int) -> None:
        results[index] = send(server)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def measure(server: Server, name: str, send: Callable[[Server], object], clients: int = 3) -> Row:
    log = server.home / "serve.log"
    log_before = log.stat().st_size
    before = memory(server.pid)["VmRSS"]
    reset = reset_peak(server.pid)
    began = time.perf_counter()
    with Sampler(server.pid) as sampler:
        results = concurrently(server, send, clients)
        time.sleep(0.5)
    seconds = time.perf_counter() - began
    after = memory(server.pid)
    peak = max(after["VmHWM"] if reset else 0, sampler.peak)
    statuses = sorted({str(s) for r in results for s in (r if isinstance(r, list) else [r])})
    return Row(
        scenario=name,
        statuses=",".join(statuses),
        seconds=seconds,
        rss_before_mib=before / MIB,
        growth_mib=(peak - before) / MIB,
        rss_after_mib=after["VmRSS"] / MIB,
        log_bytes=log.stat().st_size - log_before,
    )


def rows(server: Server) -> list[Row]:
    big = 200 * MIB
    return [
        measure(
            server,
            "json-declared",
            lambda s: post_json(s, "/api/v1/generations", filler(big), declared=big),
        ),
        measure(
            server,
            "json-chunked",
            lambda s: post_json(s, "/api/v1/generations", filler(big), declared=None),
        ),
        measure(
            server,
            "values",
            lambda s: post_json(s, "/api/v1/generations", empty_objects(30 * MIB), declared=None),
        ),
        measure(
            server,
            "within-cap",
            lambda s: post_json(s, "/api/v1/generations", long_prompt(30 * MIB), declared=None),
        ),
        measure(server, "nested-anon", nested(334)),
    ]


def soak(server: Server, minutes: float, every: float) -> list[tuple[float, float]]:
    """A mixed load for ``minutes``; ``(minute, RSS MiB)`` every ``every`` seconds."""
    stop = time.monotonic() + minutes * 60
    image = noise_png(640, 360)
    create = json.dumps(
        {"model": "seedance-1-0-pro", "prompt": "a kite", "params": {"resolution": "480p"}}
    ).encode()
    bad = [b"[" * 1000, b'{"prompt": NaN}', b'{"model": "x\\u0000"}', b"\xff\xfe"]

    answers: dict[str, int] = {}

    def count(status: int | str) -> None:
        answers[str(status)] = answers.get(str(status), 0) + 1

    def load() -> None:
        turn = 0
        while time.monotonic() < stop:
            turn += 1
            try:
                for body in [create, *bad]:
                    sent = post_json(server, PATH, iter([body]), declared=len(body))
                    count(sent)
                if turn % 20 == 0:
                    count(upload(server, kind="image", size=0, file=image).status)
            except OSError as exc:
                count(type(exc).__name__)

    curve: list[tuple[float, float]] = []
    started = time.monotonic()
    threads = [threading.Thread(target=load, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    while time.monotonic() < stop:
        curve.append(((time.monotonic() - started) / 60, memory(server.pid)["VmRSS"] / MIB))
        print(f"  {curve[-1][0]:6.1f} min  RSS {curve[-1][1]:7.1f} MiB", flush=True)
        time.sleep(every)
    for thread in threads:
        thread.join()
    print(f"  answers: {dict(sorted(answers.items()))}")
    return curve


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares MB per minute over the second half of ``points``."""
    half = points[len(points) // 2 :]
    if len(half) < 2:
        return 0.0
    mx = sum(x for x, _ in half) / len(half)
    my = sum(y for _, y in half) / len(half)
    num = sum((x - mx) * (y - my) for x, y in half)
    den = sum((x - mx) ** 2 for x, _ in half)
    return num / den if den else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--soak", type=float, default=0, help="minutes of mixed load (0: none)")
    parser.add_argument("--every", type=float, default=30, help="seconds between RSS samples")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sdg-bench-hostile-") as folder:
        server = start_server(Path(folder))
        try:
            upload(server, kind="image", size=0, file=noise_png(640, 360))  # warm-up
            measured = rows(server)
            print("server: seedance serve --no-worker (SQLite); 3 clients at once per row")
            header = (
                f"{'row':14} {'statuses':12} {'s':>6} {'before':>7} {'growth':>7} "
                f"{'after':>7} {'log bytes':>9}"
            )
            print(header)
            print("-" * len(header))
            for r in measured:
                print(
                    f"{r.scenario:14} {r.statuses:12} {r.seconds:>6.2f} {r.rss_before_mib:>7.1f} "
                    f"{r.growth_mib:>+7.1f} {r.rss_after_mib:>7.1f} {r.log_bytes:>9}"
                )
            print("MiB; growth: peak (VmHWM or sampled VmRSS) during the row - VmRSS before it")
            curve = soak(server, args.soak, args.every) if args.soak else []
            if curve:
                print(f"soak: {args.soak:g} min, second-half slope {slope(curve):+.2f} MiB/min")
            if args.json:
                args.json.parent.mkdir(parents=True, exist_ok=True)
                payload = {"rows": [asdict(r) for r in measured], "soak": curve}
                args.json.write_text(json.dumps(payload, indent=2))
        finally:
            server.process.terminate()
            server.process.wait(timeout=15)


if __name__ == "__main__":
    main()
