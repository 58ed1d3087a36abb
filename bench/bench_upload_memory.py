"""Peak memory of the upload path: does the server's RSS stay flat whatever the body size?

Starts a real ``seedance serve --no-worker`` (SQLite, fresh home) and, while the scenarios below
upload to ``POST /api/v1/files``, watches that process's memory in ``/proc/<pid>/status``
(psutil is not needed): ``VmRSS`` sampled every few milliseconds, and ``VmHWM`` (the kernel's
own peak, reset before each scenario by writing ``5`` to ``/proc/<pid>/clear_refs``). Growth is
measured against the idle server's RSS after a warm-up (one small image and one small video
upload, so that Pillow, PyAV and FFmpeg are loaded before anything is measured).

Scenarios (bodies are generated on the fly from one 256 KiB buffer and sent over a raw socket
that stops as soon as the server answers or closes, so the client never holds a large body):

* ``a``: a valid 5 MB PNG (noise), ``kind=image``: stored (201); the image is decoded in full;
* ``b``: 200 MB, chunked (no length), ``kind=image``: must stop at the 10 MB cap (413);
* ``c``: 2 GB, chunked, ``kind=video``: must stop at the 50 MB cap (413);
* ``c-declared``: 2 GB announced by ``Content-Length``: refused before the body (413);
* ``d``: 49 MB of non-video bytes, ``kind=video``: fully received to disk, then refused by
  inspection (400): the largest body the server accepts onto disk.

Usage: ``python bench/bench_upload_memory.py [--repeat N] [--json FILE]``. Linux only.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

HOST = "127.0.0.1"
MIB = 1024 * 1024
BLOCK = 256 * 1024
SAMPLE_EVERY_S = 0.002


# --- the server and its memory -------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A ``seedance serve --no-worker`` process on a fresh SQLite home."""

    home: Path
    port: int
    key: str
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid


def start_server(home: Path) -> Server:
    """Migrates a fresh database, creates a key and starts the API (no worker)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEEDANCE_")}
    env.update(
        SEEDANCE_HOME=str(home),
        SEEDANCE_DATABASE_URL=f"sqlite+aiosqlite:///{home / 'seedance.db'}",
        SEEDANCE_RATE_LIMIT="1000000/minute",
        PYTHONUNBUFFERED="1",
    )
    cli = [sys.executable, "-m", "seedance_gateway"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    created = subprocess.run(
        [*cli, "keys", "create", "--name", "bench", "--credits", "10", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    key = json.loads(created.stdout)["key"]
    port = _free_port()
    log = (home / "serve.log").open("wb")
    process = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--no-worker"], env=env, stdout=log, stderr=log
    )
    server = Server(home=home, port=port, key=key, process=process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((home / "serve.log").read_text(errors="replace"))
        try:
            if _get(server, "/readyz")[0] == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not become ready")


def memory(pid: int) -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` of ``pid``, in bytes."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0]) * 1024
    return found


def reset_peak(pid: int) -> bool:
    """Resets ``VmHWM`` to the current RSS (Linux >= 4.0; needs to own the process)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class Sampler:
    """Samples ``VmRSS`` in a thread; ``peak`` is the largest value seen."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, memory(self.pid)["VmRSS"])
            self.samples += 1
            time.sleep(SAMPLE_EVERY_S)


# --- HTTP over a raw socket ----------------------------------------------------------------------


def _read_response(sock: socket.socket) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed without a response: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    size = int(headers.get("content-length", "0"))
    while len(body) < size:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), body[:size]


def _get(server: Server, path: str) -> tuple[int, bytes]:
    with socket.create_connection((HOST, server.port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
        return _read_response(sock)


@dataclass(frozen=True)
class Sent:
    status: int
    body: bytes
    sent: int  #: request-body bytes on the wire before the server answered or closed
    seconds: float


def upload(
    server: Server,
    *,
    kind: str,
    size: int,
    file: bytes | None = None,
    chunked: bool = True,
    declared: int | None = None,
) -> Sent:
    """``POST /api/v1/files`` with ``file`` (or ``size`` generated bytes), stopping early when
    the server answers. ``chunked``: no length; else ``Content-Length: declared or the truth``."""
    boundary = "bench-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\n{kind}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    total = len(file) if file is not None else size
    length = len(head) + total + len(tail)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {declared or length}"
    request = (
        f"POST /api/v1/files HTTP/1.1\r\nHost: {HOST}:{server.port}\r\n"
        f"Authorization: Bearer {server.key}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n{framing}\r\n\r\n"
    ).encode()
    filler = memoryview(bytes(BLOCK))

    def frame(data: bytes | memoryview) -> Iterator[bytes | memoryview]:
        if chunked:
            yield f"{len(data):x}\r\n".encode()
            yield data
            yield b"\r\n"
        else:
            yield data

    def pieces() -> Iterator[bytes | memoryview]:
        yield from frame(head)
        if file is not None:
            for start in range(0, len(file), BLOCK):
                yield from frame(memoryview(file)[start : start + BLOCK])
        else:
            remaining = size
            while remaining:
                data = filler[: min(BLOCK, remaining)]
                yield from frame(data)
                remaining -= len(data)
        yield from frame(tail)
        if chunked:
            yield b"0\r\n\r\n"

    began = time.perf_counter()
    with socket.create_connection((HOST, server.port), timeout=120) as sock:
        sock.sendall(request)
        sent = _pump(sock, pieces())
        status, body = _read_response(sock)
    return Sent(status=status, body=body, sent=sent, seconds=time.perf_counter() - began)


def _pump(sock: socket.socket, pieces: Iterator[bytes | memoryview]) -> int:
    """Sends until the server answers or closes; returns the body bytes sent."""
    sent = 0
    for piece in pieces:
        view = memoryview(piece)
        while view:
            readable, writable, _ = select.select([sock], [sock], [], 60)
            if readable:
                return sent
            if not writable:
                raise TimeoutError("the server neither reads nor answers")
            try:
                count = sock.send(view)
            except (BrokenPipeError, ConnectionResetError):
                return sent
            view, sent = view[count:], sent + count
    return sent


# --- media for the warm-up and scenario a --------------------------------------------------------


def noise_png(width: int, height: int) -> bytes:
    """An incompressible RGB PNG (about 3 bytes a pixel)."""
    pixels = np.random.default_rng(1).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def small_mp4() -> bytes:
    """A 3 s 96x64 H.264 MP4."""
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for index in range(24):
            rgb = np.full((64, 96, 3), index * 10, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()


# --- the run -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    scenario: str
    body: str
    status: int
    code: str
    sent_mib: float
    seconds: float
    rss_before_mib: float
    peak_hwm_mib: float  #: VmHWM after the scenario (reset before it)
    peak_sampled_mib: float
    growth_mib: float  #: peak (the larger of both) minus the RSS just before the scenario
    over_idle_mib: float  #: peak minus the idle baseline
    rss_after_mib: float


def _code(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return "?"
    if "error" in data:
        return str(data["error"]["code"])
    return str(data.get("object", "?"))


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    kind: str
    size: int = 0  #: generated bytes (when ``file`` is None)
    file: bytes | None = None
    chunked: bool = True


def scenarios(image: bytes) -> list[Scenario]:
    """The measured uploads, in order (see the module docstring)."""
    return [
        Scenario("a", f"{len(image) / MIB:.1f} MB PNG, kind=image", "image", file=image),
        Scenario("b", "200 MB chunked, kind=image", "image", 200 * MIB),
        Scenario("c", "2 GB chunked, kind=video", "video", 2048 * MIB),
        Scenario("c-declared", "2 GB Content-Length, kind=video", "video", 2048 * MIB, None, False),
        Scenario("d", "49 MB not-a-video, kind=video", "video", 49 * MIB, None, False),
    ]


def measure(server: Server, baseline: int, scenario: Scenario) -> Row:
    before = memory(server.pid)["VmRSS"]
    hwm_reset = reset_peak(server.pid)
    with Sampler(server.pid) as sampler:
        result = upload(
            server,
            kind=scenario.kind,
            size=scenario.size,
            file=scenario.file,
            chunked=scenario.chunked,
        )
        time.sleep(0.3)  # let the server finish (scratch file removal, inspection)
    after = memory(server.pid)
    hwm = after["VmHWM"] if hwm_reset else 0
    peak = max(hwm, sampler.peak)
    return Row(
        scenario=scenario.name,
        body=scenario.label,
        status=result.status,
        code=_code(result.body),
        sent_mib=result.sent / MIB,
        seconds=result.seconds,
        rss_before_mib=before / MIB,
        peak_hwm_mib=hwm / MIB,
        peak_sampled_mib=sampler.peak / MIB,
        growth_mib=(peak - before) / MIB,
        over_idle_mib=(peak - baseline) / MIB,
        rss_after_mib=after["VmRSS"] / MIB,
    )


def run(repeat: int) -> tuple[float, list[Row]]:
    with tempfile.TemporaryDirectory(prefix="sdg-bench-mem-") as folder:
        server = start_server(Path(folder))
        try:
            image = noise_png(1700, 1000)
            warm_image = upload(server, kind="image", size=0, file=noise_png(640, 360))
            warm_video = upload(server, kind="video", size=0, file=small_mp4())
            assert warm_image.status == warm_video.status == 201, (warm_image, warm_video)
            time.sleep(1.0)
            baseline = memory(server.pid)["VmRSS"]
            rows = [
                measure(server, baseline, scenario)
                for _ in range(repeat)
                for scenario in scenarios(image)
            ]
            scratch = (server.home / "tmp").rglob("*")
            left = sorted(p.name for p in scratch if p.is_file() and p.name != ".lock")
            assert left == [], f"scratch files left behind: {left}"
            return baseline / MIB, rows
        finally:
            server.process.terminate()
            server.process.wait(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="run every scenario N times")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    baseline, rows = run(args.repeat)
    print(f"server: seedance serve --no-worker (SQLite), idle RSS after warm-up {baseline:.1f} MiB")
    header = (
        f"{'':11} {'body':32} {'status':>6} {'code':18} {'sent':>6} {'s':>5} {'before':>7} "
        f"{'VmHWM':>7} {'sampled':>7} {'growth':>7} {'vs idle':>7} {'after':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.scenario:11} {r.body:32} {r.status:>6} {r.code:18} {r.sent_mib:>6.1f} "
            f"{r.seconds:>5.2f} {r.rss_before_mib:>7.1f} {r.peak_hwm_mib:>7.1f} "
            f"{r.peak_sampled_mib:>7.1f} {r.growth_mib:>+7.1f} {r.over_idle_mib:>+7.1f} "
            f"{r.rss_after_mib:>7.1f}"
        )
    print(
        "MiB. sent: body bytes the client got out before the server answered; before/after: "
        "VmRSS;\ngrowth: max(VmHWM, sampled VmRSS) during the upload - VmRSS just before it; "
        "vs idle: the same peak - the idle RSS"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"baseline_mib": baseline, "rows": [asdict(r) for r in rows]}
        args.json.write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
