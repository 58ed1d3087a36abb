"""``seedance worker --gpus``: which devices, and the environment of each one's worker process.

Each device gets its own worker process, which keeps the open-weight models warm on that device
and renders one task at a time there (``worker.Worker``'s ``render_local`` pool has one slot), so
a free device takes the next task while another renders. A CUDA index (``0``) is handed over as
``CUDA_VISIBLE_DEVICES``, so the process sees that GPU alone (as ``cuda``, where every library
looks first); a device name (``cuda:2``, ``cpu``) is passed as it is.
"""

from __future__ import annotations

import re

from seedance_gateway.config import ConfigError, Settings

_NAMED = re.compile(r"cpu|cuda(:[0-9]+)?|mps")


def parse(text: str) -> list[str]:
    """``0,1`` or ``cuda:0,cuda:1`` (or ``cpu``, repeated to run several CPU workers) as a list;
    a device named twice or an unknown name is a ``ConfigError``."""
    devices = [d.strip() for d in text.split(",") if d.strip()]
    if not devices:
        raise ConfigError("--gpus names no device: give CUDA indices such as 0,1")
    for device in devices:
        if not (device.isdigit() or _NAMED.fullmatch(device)):
            raise ConfigError(
                f"--gpus: {device!r} is not a CUDA index (0, 1) or a device name (cuda:0, cpu)"
            )
    gpus = [d for d in devices if d != "cpu"]
    if len(set(gpus)) != len(gpus):
        raise ConfigError(f"--gpus names a device twice ({text}): one worker per GPU")
    return devices


def environment(device: str, index: int, settings: Settings) -> dict[str, str]:
    """The variables of the worker process for ``device``, the ``index``-th: its device, and
    its own metrics port (``SEEDANCE_METRICS_PORT`` + ``index``) when the workers have one."""
    env = {"SEEDANCE_HOME": str(settings.home)}
    if device.isdigit():
        env |= {"CUDA_VISIBLE_DEVICES": device, "SEEDANCE_LOCAL_DEVICE": "cuda"}
    else:
        env["SEEDANCE_LOCAL_DEVICE"] = device
    if settings.metrics_port:
        env["SEEDANCE_METRICS_PORT"] = str(settings.metrics_port + index)
    return env
