"""``seedance serve --workers N``: N API processes share one port (issue 19).

Each process runs its own worker over the shared queue; a process that dies is replaced by
uvicorn's supervisor while the others keep answering.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any

from .support import SMALL_1_0_PRO_CREDITS, credits, probe, render, small


def serving_processes(parent: int) -> set[int]:
    """The pids of the API processes ``parent`` (uvicorn's supervisor) runs."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return {
        int(pid)
        for pid in children
        if b"multiprocessing.spawn" in Path(f"/proc/{pid}/cmdline").read_bytes()
    }


def wait_for_processes(parent: int, count: int, *, other_than: set[int]) -> set[int]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = serving_processes(parent)
        if len(found) == count and not found & other_than:
            return found
        time.sleep(0.2)
    raise AssertionError(f"expected {count} new API processes, found {serving_processes(parent)}")


def sockets_held(pids: set[int], port: int, state: str) -> dict[int, int]:
    """How many sockets on local ``port`` in ``state`` (``01`` established, ``0A`` listening)
    each of ``pids`` holds (from /proc)."""
    wanted = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                wanted.add(f"socket:[{fields[9]}]")
    held = {}
    for pid in pids:
        links = []
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                links.append(os.readlink(fd))
        held[pid] = sum(link in wanted for link in links)
    return held


def wait_listening(pids: set[int], port: int) -> None:
    """Until each of ``pids`` listens on ``port`` (a process answers before the other binds)."""
    deadline = time.monotonic() + 60
    while min(sockets_held(pids, port, "0A").values()) < 1:
        assert time.monotonic() < deadline, "a process never listened"
        time.sleep(0.2)


def keep_alive_connections(port: int, count: int) -> list[socket.socket]:
    """``count`` connections opened at once, each answered once and kept open."""
    opened = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    for sock in opened:
        sock.sendall(request)
    for sock in opened:
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    return opened


def test_two_processes_serve_one_port_and_a_dead_one_is_replaced(server_factory: Any) -> None:
    server = server_factory(start=False, rate_limit="100000/minute")
    server.start("--workers", "2")
    assert server.process is not None
    first = wait_for_processes(server.process.pid, 2, other_than=set())
    wait_listening(first, server.port)
    opened = keep_alive_connections(server.port, 16)
    try:  # each process listens on its own socket: a burst is spread, not taken by one
        held = sockets_held(first, server.port, "01")
    finally:
        for sock in opened:
            sock.close()
    assert sum(held.values()) == 16 and min(held.values()) >= 1, held
    with server.client() as client:
        task, video = render(client, small(seed=7))
        assert probe(video).height == 480
        assert credits(client) == 10_000 - SMALL_1_0_PRO_CREDITS
    os.kill(min(first), signal.SIGKILL)  # its open connections die with it
    answered = []
    for _ in range(20):  # new connections: the other process answers meanwhile
        with server.client() as client:
            answered.append(client.get("/api/v1/credits").status_code)
    assert answered == [200] * 20
    replaced = wait_for_processes(server.process.pid, 2, other_than={min(first)})
    assert max(first) in replaced  # the survivor kept running
    with server.client() as client:
        assert client.get(f"/api/v1/generations/{task['id']}").json()["status"] == "succeeded"
