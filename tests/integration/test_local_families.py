"""Provider ``local`` with the other open-weight families: tiny Wan 2.2 TI2V 5B, Wan 2.2 A14B,
LTX-Video and LTX-2 pipelines (``e2e.tiny_wan22``, ``e2e.tiny_ltx``, ``e2e.tiny_ltx2``) at 64x64
on the CPU; LTX-2's sound becomes the MP4's AAC track. TI2V and LTX
weights load as a text-to-video pipeline; a first-frame task runs their image pipeline over the
same components (``from_pipe``), and the frame it is given shapes the video. The A14B models run
their two experts; the I2V one takes a last frame too."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import av
import numpy as np
import pytest
from local_support import ignore, tiny_request
from PIL import Image

from e2e.tiny_ltx import save_tiny_ltx
from e2e.tiny_ltx2 import save_tiny_ltx2
from e2e.tiny_wan22 import save_tiny_wan22_a14b, save_tiny_wan22_ti2v
from seedance_gateway import catalog as catalog_module
from seedance_gateway.domain.requests import GenerationRequest, Reference
from seedance_gateway.providers.local.provider import LocalProvider

TI2V, LTX = "wan-2-2-ti2v-5b", "ltx-video"
T2V_A14B, I2V_A14B = "wan-2-2-t2v-a14b", "wan-2-2-i2v-a14b"
LTX2 = "ltx-2"
FRAMES = 25  #: 1 s at 24 fps + 1: Wan's 4k + 1 and LTX's 8k + 1 alike


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> LocalProvider:
    root = tmp_path_factory.mktemp("weights")
    sources = {
        TI2V: str(save_tiny_wan22_ti2v(root / "ti2v")),
        LTX: str(save_tiny_ltx(root / "ltx", timestep_conditioning=True)),
        T2V_A14B: str(save_tiny_wan22_a14b(root / "t2v-a14b", image=False)),
        I2V_A14B: str(save_tiny_wan22_a14b(root / "i2v-a14b", image=True)),
        LTX2: str(save_tiny_ltx2(root / "ltx2")),
    }
    both = catalog_module.load().joined(catalog_module.load_local())
    return LocalProvider(both, sources, device="cpu", download=False)


def request(model: str, *, frame: str | None = None, last: str | None = None) -> GenerationRequest:
    """A 64x64, 1 s request at 24 fps; with ``frame`` (and ``last``), a first-frame (first and
    last frame) task reading those blobs."""
    roles = [("first_frame", frame), ("last_frame", last)]
    references = tuple(
        Reference(role=role, kind="image", url="x", blob_key=key) for role, key in roles if key
    )
    return tiny_request(model, steps=2, seed=3, frames=FRAMES, fps=24, references=references)


def png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (96, 80), colour).save(out, format="PNG")
    return out.getvalue()


BLOBS = {"red": png((220, 30, 30)), "blue": png((20, 40, 230))}


async def read_blob(key: str) -> bytes:
    return BLOBS[key]


async def render(provider: LocalProvider, asked: GenerationRequest, folder: Path) -> np.ndarray:
    folder.mkdir()
    output = await provider.generate(asked, folder, read_blob=read_blob, progress=ignore)
    with av.open(str(output.video)) as container:
        assert container.streams.video[0].average_rate == 24
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


@pytest.mark.parametrize("model", [TI2V, LTX, T2V_A14B, LTX2])
async def test_text_to_video_writes_the_frames_asked(
    provider: LocalProvider, tmp_path: Path, model: str
) -> None:
    frames = await render(provider, request(model), tmp_path / "t2v")
    assert frames.shape == (FRAMES, 64, 64, 3)


@pytest.mark.parametrize("model", [TI2V, LTX, I2V_A14B, LTX2])
async def test_a_first_frame_task_runs_the_image_pipeline_on_the_same_weights(
    provider: LocalProvider, tmp_path: Path, model: str
) -> None:
    red = await render(provider, request(model, frame="red"), tmp_path / "red")
    again = await render(provider, request(model, frame="red"), tmp_path / "again")
    blue = await render(provider, request(model, frame="blue"), tmp_path / "blue")
    assert red.shape == blue.shape == (FRAMES, 64, 64, 3)
    # same seed, same frame: the same video (LTX-2's image pipeline drifts by under a level)
    drift, apart = _distance(red, again), _distance(red, blue)
    assert drift == 0 or (model == LTX2 and drift < 1.0), drift
    assert apart > max(1.0, 10 * drift), (apart, drift)  # the frame reaches the pipeline
    if model != I2V_A14B:  # one set of weights for both: text alone is another video
        text = await render(provider, request(model), tmp_path / "text")
        assert not np.array_equal(red, text)  # (the text pipeline alone takes no image at all)


async def test_the_two_expert_i2v_model_takes_a_last_frame_too(
    provider: LocalProvider, tmp_path: Path
) -> None:
    first = await render(provider, request(I2V_A14B, frame="red"), tmp_path / "first")
    both = await render(provider, request(I2V_A14B, frame="red", last="blue"), tmp_path / "both")
    assert both.shape == first.shape == (FRAMES, 64, 64, 3)
    assert not np.array_equal(both, first)  # the last frame reaches the pipeline


async def test_ltx_2_s_sound_is_the_video_s_aac_track_unless_it_is_declined(
    provider: LocalProvider, tmp_path: Path
) -> None:
    """LTX-2 makes sound with every video: stereo at its vocoder's 24 kHz, as long as the
    video (within AAC's framing); ``generate_audio: false`` keeps the same video, silent."""
    heard = await provider.generate(
        dataclasses.replace(request(LTX2), generate_audio=True),
        _made(tmp_path / "heard"),
        read_blob=read_blob,
        progress=ignore,
    )
    silent = await provider.generate(
        request(LTX2),  # generate_audio false
        _made(tmp_path / "silent"),
        read_blob=read_blob,
        progress=ignore,
    )
    with av.open(str(heard.video)) as container:
        sound = container.streams.audio[0]
        assert (sound.codec_context.name, sound.rate, sound.layout.name) == ("aac", 24000, "stereo")
        seconds = sum(f.samples for f in container.decode(audio=0)) / 24000
    assert abs(seconds - FRAMES / 24) < 0.15
    with av.open(str(silent.video)) as container:
        assert not container.streams.audio


def _distance(one: np.ndarray, other: np.ndarray) -> float:
    """The mean difference of two videos, in levels of 255."""
    return float(np.abs(one.astype(int) - other.astype(int)).mean())


def _made(folder: Path) -> Path:
    folder.mkdir()
    return folder
