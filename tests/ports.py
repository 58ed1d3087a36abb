"""Free TCP ports for the test suite's servers and receivers: never the same one twice in a run.

A port is free when the kernel hands it out, but a server binds it only seconds later, after
its start. Two servers launched side by side could be handed the same port (about one pick in
3,000 repeats one of the five before it): the second then exits on ``EADDRINUSE`` while the
first answers both servers' readiness checks, and every request meant for the second reaches
the first, which knows none of its keys (the flaky ``401 api_key_invalid`` of stop 30's CI).
"""

from __future__ import annotations

import socket
import threading

_handed_out: set[int] = set()
_lock = threading.Lock()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on now and no caller in this run was given."""
    with _lock:
        while True:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = int(sock.getsockname()[1])
            if port not in _handed_out:
                _handed_out.add(port)
                return port
