"""Runs a few child processes until SIGINT or SIGTERM: ``serve --workers N``'s API processes
and ``worker --gpus``'s one worker per device.

``supervise`` starts each child (``multiprocessing``'s spawn: nothing of the parent's state,
CUDA's included, is inherited), starts another in place of one that exits, and on SIGINT or
SIGTERM asks each to stop (SIGTERM: each finishes what it is doing), killing any still running
after ``STOP_SECONDS``.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from collections.abc import Callable, Sequence
from multiprocessing.process import BaseProcess
from typing import Any

STOP_SECONDS = 30.0
RESTART_PAUSE_S = 0.5  #: between noticing an exit and starting the replacement

log = logging.getLogger(__name__)


def supervise(targets: Sequence[tuple[Callable[..., None], tuple[Any, ...]]], what: str) -> None:
    """Runs one child process per (function, arguments) of ``targets`` until SIGINT or SIGTERM;
    ``what`` names them in the log (``API process``)."""
    context = multiprocessing.get_context("spawn")
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    processes = [_start(context, target) for target in targets]
    while not stopping.wait(RESTART_PAUSE_S):
        for n, process in enumerate(processes):
            if not process.is_alive():
                log.warning(
                    "%s %s exited (code %s); starting another", what, process.pid, process.exitcode
                )
                processes[n] = _start(context, targets[n])
    _stop(processes)


def _start(context: Any, target: tuple[Callable[..., None], tuple[Any, ...]]) -> BaseProcess:
    function, arguments = target
    process: BaseProcess = context.Process(target=function, args=arguments, daemon=False)
    process.start()
    return process


def _stop(processes: list[BaseProcess]) -> None:
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(STOP_SECONDS)
        if process.is_alive():
            process.kill()
            process.join()
