"""``seedance worker --gpus``: the devices it takes and each worker process's environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from seedance_gateway import devices
from seedance_gateway.config import ConfigError, Settings


def test_cuda_indices_and_device_names_are_taken_in_order() -> None:
    assert devices.parse("0, 1") == ["0", "1"]
    assert devices.parse("cuda:1,cuda:0") == ["cuda:1", "cuda:0"]
    assert devices.parse("cpu,cpu") == ["cpu", "cpu"]  # several CPU workers are allowed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "names no device"),
        (" , ", "names no device"),
        ("gpu0", "'gpu0' is not a CUDA index"),
        ("cuda:x", "'cuda:x' is not a CUDA index"),
        ("0,0", "names a device twice"),
        ("cuda:1,cuda:1", "names a device twice"),
    ],
)
def test_what_is_not_a_device_list_is_refused(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        devices.parse(text)


def test_a_cuda_index_shows_its_process_that_gpu_alone(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    assert devices.environment("1", 1, settings) == {
        "SEEDANCE_HOME": str(tmp_path),
        "CUDA_VISIBLE_DEVICES": "1",
        "SEEDANCE_LOCAL_DEVICE": "cuda",
    }
    named = devices.environment("cuda:2", 0, settings)
    assert named["SEEDANCE_LOCAL_DEVICE"] == "cuda:2" and "CUDA_VISIBLE_DEVICES" not in named


def test_each_worker_process_gets_its_own_metrics_port(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, metrics_port=9300)
    ports = [
        devices.environment(d, n, settings)["SEEDANCE_METRICS_PORT"] for n, d in enumerate("01")
    ]
    assert ports == ["9300", "9301"]
    assert "SEEDANCE_METRICS_PORT" not in devices.environment("0", 0, Settings(home=tmp_path))
