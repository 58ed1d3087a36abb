"""Provider ``local`` on its own, with a tiny Wan pipeline (``e2e.tiny_wan``) at 64x64 on the
CPU: the MP4 it writes, its progress, the guidance scale and negative prompt reaching the
pipeline, and a task given up mid-run that stops between steps and frees the device for the next
one."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import av
import numpy as np
import pytest
from local_support import WAN, ignore, never, tiny_request

from e2e.tiny_wan import save_tiny_wan
from seedance_gateway import catalog as catalog_module
from seedance_gateway.domain.requests import GenerationRequest
from seedance_gateway.providers.local.provider import LocalProvider


def request(steps: int) -> GenerationRequest:
    return tiny_request(steps=steps)


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> LocalProvider:
    weights = save_tiny_wan(tmp_path_factory.mktemp("weights") / "tiny-wan")
    both = catalog_module.load().joined(catalog_module.load_local())
    return LocalProvider(both, {WAN: str(weights)}, device="cpu", download=False)


async def test_a_task_writes_its_mp4_and_reports_rising_progress(
    provider: LocalProvider, tmp_path: Path
) -> None:
    seen: list[int] = []

    async def progress(percent: int) -> None:
        seen.append(percent)

    output = await provider.generate(request(4), tmp_path, read_blob=never, progress=progress)
    await asyncio.sleep(0.05)  # the last report crosses from the pipeline's thread
    with av.open(str(output.video)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video=0))
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 64, 64)
    assert frames == 9
    assert seen == sorted(seen) and seen[0] > 0 and seen[-1] == 90  # then encoding


async def test_a_task_given_up_mid_run_stops_between_steps_and_frees_the_device(
    provider: LocalProvider, tmp_path: Path
) -> None:
    steps: list[int] = []
    started = asyncio.Event()

    async def progress(percent: int) -> None:
        steps.append(percent)
        started.set()

    long = asyncio.create_task(
        provider.generate(request(400), tmp_path / "a", read_blob=never, progress=progress)
    )
    await started.wait()
    long.cancel()
    with pytest.raises(asyncio.CancelledError):
        await long
    (tmp_path / "b").mkdir()
    quick = provider.generate(request(2), tmp_path / "b", read_blob=never, progress=ignore)
    output = await asyncio.wait_for(quick, timeout=60)  # the device was freed
    assert output.video.exists()
    assert len(steps) < 400  # the long one stopped early
    assert not (tmp_path / "a" / "video.mp4").exists()


async def test_the_guidance_scale_and_the_negative_prompt_reach_the_pipeline(
    provider: LocalProvider, tmp_path: Path
) -> None:
    """Same seed, same video; another guidance scale, or a negative prompt (guidance on by
    default), another video."""

    async def frames(name: str, asked: GenerationRequest) -> np.ndarray:
        (tmp_path / name).mkdir()
        output = await provider.generate(asked, tmp_path / name, read_blob=never, progress=ignore)
        with av.open(str(output.video)) as container:
            return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])

    plain = request(2)
    base = await frames("base", plain)
    assert np.array_equal(base, await frames("again", plain))
    unguided = await frames("unguided", dataclasses.replace(plain, guidance=1.0))
    avoiding = await frames("avoiding", dataclasses.replace(plain, negative_prompt="sea boat"))
    for other in (unguided, avoiding):
        assert other.shape == base.shape and not np.array_equal(other, base)
    assert not np.array_equal(unguided, avoiding)
