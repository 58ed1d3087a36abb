"""``seedance serve --workers N``: N API processes share one port (issue 19).

Each process runs its own worker over the shared queue; a process that dies is replaced by
uvicorn's supervisor while the others keep answering.
"""

from __future__ import annotations

import os
import signal
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


def test_two_processes_serve_one_port_and_a_dead_one_is_replaced(server_factory: Any) -> None:
    server = server_factory(start=False, rate_limit="100000/minute")
    server.start("--workers", "2")
    assert server.process is not None
    first = wait_for_processes(server.process.pid, 2, other_than=set())
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
