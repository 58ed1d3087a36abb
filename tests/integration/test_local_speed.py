"""The speed settings (``SEEDANCE_LOCAL_SPEED``) applied to a tiny Wan pipeline on the CPU, by
the provider's own loading: each one takes effect, and the task still renders its video."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import torch
from diffusers import DiffusionPipeline
from local_support import WAN, ignore, never, tiny_request

from e2e.tiny_wan import save_tiny_wan
from seedance_gateway import catalog as catalog_module
from seedance_gateway.providers.local import speed
from seedance_gateway.providers.local.provider import LocalProvider
from seedance_gateway.providers.local.speed import Speed


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_wan(tmp_path_factory.mktemp("weights") / "tiny-wan")


async def render(weights: Path, settings: Speed, folder: Path, steps: int = 4) -> np.ndarray:
    """The frames of one task on a provider with ``settings``."""
    both = catalog_module.load().joined(catalog_module.load_local())
    provider = LocalProvider(
        both, {WAN: str(weights)}, device="cpu", download=False, speeds={"*": settings}
    )
    folder.mkdir()
    output = await provider.generate(
        tiny_request(steps=steps), folder, read_blob=never, progress=ignore
    )
    with av.open(str(output.video)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def test_fp8_stores_the_transformer_in_float8_and_the_vae_stays_float32(weights: Path) -> None:
    settings = Speed(fp8=True, dtype="bfloat16")
    pipeline = DiffusionPipeline.from_pretrained(  # type: ignore[no-untyped-call]
        str(weights), local_files_only=True, dtype=speed.load_dtypes(settings, "cpu")
    )
    speed.apply(pipeline, settings, "cpu")
    stored = {p.dtype for p in pipeline.transformer.parameters()}
    assert torch.float8_e4m3fn in stored
    assert {p.dtype for p in pipeline.vae.parameters()} == {torch.float32}


async def test_each_setting_still_renders_and_the_cache_changes_what_it_renders(
    weights: Path, tmp_path: Path
) -> None:
    plain = await render(weights, Speed(), tmp_path / "plain")
    assert plain.shape == (9, 64, 64, 3)
    assert np.array_equal(plain, await render(weights, Speed(attention="native"), tmp_path / "a"))
    cached = await render(weights, Speed(cache=0.9), tmp_path / "cached")
    assert cached.shape == plain.shape and not np.array_equal(cached, plain)  # steps reused
    stored = await render(weights, Speed(fp8=True), tmp_path / "fp8")
    assert stored.shape == plain.shape and not np.array_equal(stored, plain)  # float8 weights


# inductor's own code warns of torch.jit.script_method (warnings are errors in the tests only)
@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")
async def test_a_compiled_transformer_renders_what_the_plain_one_does(
    weights: Path, tmp_path: Path
) -> None:
    """``torch.compile`` of the repeated blocks (about 15 s of compiling on the CPU)."""
    plain = await render(weights, Speed(), tmp_path / "plain", steps=2)
    compiled = await render(weights, Speed(compile=True), tmp_path / "compiled", steps=2)
    assert compiled.shape == plain.shape
    assert np.abs(compiled.astype(int) - plain.astype(int)).mean() < 2.0
    # with fp8 and the cache, whose hooks the compiler cannot trace as one graph
    everything = Speed(compile=True, fp8=True, cache=0.05)
    assert (await render(weights, everything, tmp_path / "all", steps=2)).shape == plain.shape
