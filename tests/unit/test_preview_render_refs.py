"""Tests for reference videos and reference audio in the CPU preview renderer.

Inputs are made here with PyAV; the output is checked by decoding it with PyAV."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from seedance_gateway.providers.preview_render import RenderOutput, RenderSpec, render

W, H, FPS = 320, 192, 24
RATE = 48_000
RGB = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]
Colour = tuple[int, int, int]
RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def make_spec(**overrides: Any) -> RenderSpec:
    base: dict[str, Any] = {
        "prompt": "A paper boat drifting down a rainy street at dusk, neon reflections",
        "width": W,
        "height": H,
        "fps": FPS,
        "frames": 48,
        "seed": 1234,
        "camera_fixed": False,
        "generate_audio": False,
        "watermark": False,
    }
    base.update(overrides)
    return RenderSpec(**base)


def video_clip(
    segments: list[tuple[Colour, float]],
    size: tuple[int, int] = (160, 120),
    fps: int = 24,
    fmt: str = "mp4",
    codec: str = "libx264",
) -> bytes:
    """A clip of solid-colour segments: [(rgb, seconds), ...]."""
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        index = 0
        for colour, seconds in segments:
            picture = np.empty((size[1], size[0], 3), dtype=np.uint8)
            picture[...] = colour
            for _ in range(round(seconds * fps)):
                frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
                frame.pts, frame.time_base = index, Fraction(1, fps)
                container.mux(stream.encode(frame))
                index += 1
        container.mux(stream.encode(None))
    return buf.getvalue()


def sine_audio(
    freq: float,
    seconds: float = 2.0,
    fmt: str = "wav",
    codec: str = "pcm_s16le",
    rate: int = 44_100,
    amplitude: float = 0.5,
) -> bytes:
    """A mono sine tone, encoded with ``codec`` (converted to its sample format by PyAV)."""
    t = np.arange(round(seconds * rate), dtype=np.float64) / rate
    wave = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)[None, :]
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.layout = "mono"
        size = stream.codec_context.frame_size or 1024
        resampler = av.AudioResampler(
            format=stream.codec_context.format, layout="mono", rate=rate, frame_size=size
        )
        source = av.AudioFrame.from_ndarray(wave, format="fltp", layout="mono")
        source.sample_rate, source.pts, source.time_base = rate, 0, Fraction(1, rate)
        for frame in [*resampler.resample(source), *resampler.resample(None)]:
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buf.getvalue()


def do_render(spec: RenderSpec, tmp_path: Path, name: str = "out") -> RenderOutput:
    return render(spec, tmp_path / name)


def decode_frames(path: Path) -> list[RGB]:
    with av.open(str(path)) as container:
        return [
            np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)
            for frame in container.decode(video=0)
        ]


def decode_audio(path: Path) -> F32:
    with av.open(str(path)) as container:
        assert len(container.streams.audio) == 1, "expected one audio track"
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "aac"
        assert stream.codec_context.sample_rate == RATE
        return np.concatenate(
            [np.asarray(f.to_ndarray(), dtype=np.float32) for f in container.decode(audio=0)],
            axis=1,
        )


def colour_mask(frame: RGB, colour: Colour) -> npt.NDArray[np.bool_]:
    """Pixels close to a pure primary colour."""
    pixels = frame.astype(np.int32)
    high = np.asarray(colour) > 0
    near_high = pixels[..., high] > 190
    near_low = pixels[..., ~high] < 70
    return np.asarray(np.all(near_high, axis=-1) & np.all(near_low, axis=-1))


def count(frame: RGB, colour: Colour) -> int:
    return int(colour_mask(frame, colour).sum())


def peak_hz(samples: F32) -> float:
    mono = samples.mean(axis=0).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(mono.size)))
    return float(np.fft.rfftfreq(mono.size, 1 / RATE)[int(np.argmax(spectrum))])


def band_power(samples: F32, low: float, high: float) -> float:
    """Spectral power of the (mono-mixed) signal in [low, high] Hz."""
    mono = samples.mean(axis=0).astype(np.float64)
    power = np.abs(np.fft.rfft(mono * np.hanning(mono.size))) ** 2 / mono.size
    freqs = np.fft.rfftfreq(mono.size, 1 / RATE)
    return float(power[(freqs >= low) & (freqs <= high)].sum())


def band_energy(samples: F32, low: float, high: float) -> float:
    """Fraction of the signal's power in [low, high] Hz."""
    return band_power(samples, low, high) / band_power(samples, 0.0, RATE / 2)


# --------------------------------------------------------------------------------------------
# Reference videos
# --------------------------------------------------------------------------------------------


def test_reference_video_is_visible(tmp_path: Path) -> None:
    green = video_clip([(GREEN, 2.0)])
    with_ref = decode_frames(
        do_render(make_spec(reference_videos=(green,)), tmp_path, "a").video_path
    )
    without = decode_frames(do_render(make_spec(), tmp_path, "b").video_path)
    for index in (0, 24, 47):
        assert count(with_ref[index], GREEN) - count(without[index], GREEN) > 2500, index
    # The panel sits inside the frame, as one compact region (a card, not a full-frame wash).
    ys, xs = np.nonzero(colour_mask(with_ref[24], GREEN))
    assert xs.max() - xs.min() < W * 0.6 and ys.max() - ys.min() < H * 0.5


def test_reference_video_plays_and_loops(tmp_path: Path) -> None:
    """A 2 s clip (red, then blue) plays in time and repeats in a 3 s output."""
    clip = video_clip([(RED, 1.0), (BLUE, 1.0)])
    frames = decode_frames(
        do_render(make_spec(reference_videos=(clip,), frames=72), tmp_path).video_path
    )
    for index, shown, hidden in ((6, RED, BLUE), (18, RED, BLUE), (30, BLUE, RED), (42, BLUE, RED)):
        assert count(frames[index], shown) > 2500, (index, shown)
        assert count(frames[index], hidden) < 100, (index, hidden)
    assert count(frames[60], RED) > 2500, "the clip loops after its end"
    # The switch happens at the clip's 1 s mark (frame 24 at 24 fps), not before.
    assert count(frames[23], RED) > 2500 and count(frames[25], BLUE) > 2500


def test_reference_video_is_resampled_to_output_rate(tmp_path: Path) -> None:
    """A 30 fps webm (VP9) clip: timing follows seconds, not frame counts."""
    clip = video_clip(
        [(RED, 1.0), (BLUE, 1.0)], size=(128, 128), fps=30, fmt="webm", codec="libvpx-vp9"
    )
    frames = decode_frames(do_render(make_spec(reference_videos=(clip,)), tmp_path).video_path)
    assert count(frames[20], RED) > 2000 and count(frames[20], BLUE) < 100
    assert count(frames[28], BLUE) > 2000 and count(frames[28], RED) < 100


def test_several_reference_videos_side_by_side(tmp_path: Path) -> None:
    clips = (video_clip([(GREEN, 2.0)]), video_clip([(BLUE, 2.0)], size=(120, 160)))
    image = io.BytesIO()
    Image.new("RGB", (100, 100), RED).save(image, format="PNG")
    spec = make_spec(reference_videos=clips, reference_images=(image.getvalue(),))
    frame = decode_frames(do_render(spec, tmp_path).video_path)[24]
    centres = {}
    for name, colour in (("image", RED), ("green", GREEN), ("blue", BLUE)):
        mask = colour_mask(frame, colour)
        assert mask.sum() > 1000, name
        centres[name] = float(np.nonzero(mask)[1].mean())
    assert centres["image"] < centres["green"] < centres["blue"], centres


# --------------------------------------------------------------------------------------------
# Reference audio
# --------------------------------------------------------------------------------------------


def test_reference_audio_alone_makes_a_track(tmp_path: Path) -> None:
    """generate_audio False + a 2 s 1 kHz wav: a track with the tone, looped over 3 s."""
    spec = make_spec(frames=72, reference_audios=(sine_audio(1000.0),))
    out = do_render(spec, tmp_path)
    samples = decode_audio(out.video_path)
    assert samples.shape[1] / RATE == pytest.approx(3.0, abs=0.05)
    assert peak_hz(samples) == pytest.approx(1000.0, abs=10.0)
    assert band_energy(samples, 950.0, 1050.0) > 0.95
    for second in range(3):  # present all the way through (looped past its 2 s)
        part = samples[:, second * RATE + 4800 : (second + 1) * RATE - 4800]
        assert float(np.sqrt(np.mean(part**2))) > 0.2, second
    assert float(np.max(np.abs(samples))) < 1.0
    with av.open(str(out.video_path)) as container:
        audio = container.streams.audio[0]
        assert audio.duration is not None and audio.time_base is not None
        assert float(audio.duration * audio.time_base) == pytest.approx(3.0, abs=0.05)


def test_reference_audio_is_mixed_with_generated_audio(tmp_path: Path) -> None:
    mp3 = sine_audio(1000.0, fmt="mp3", codec="libmp3lame")
    spec = make_spec(frames=60, generate_audio=True, reference_audios=(mp3,))
    mixed = decode_audio(do_render(spec, tmp_path, "mixed").video_path)
    plain = decode_audio(
        do_render(make_spec(frames=60, generate_audio=True), tmp_path, "plain").video_path
    )
    assert mixed.shape[1] / RATE == pytest.approx(2.5, abs=0.05)
    assert band_energy(mixed, 980.0, 1020.0) > 0.2
    assert band_energy(plain, 980.0, 1020.0) < 0.01
    # The generated pad is still there, ducked under the reference (to half its amplitude).
    pad_ratio = band_power(mixed, 80.0, 700.0) / band_power(plain, 80.0, 700.0)
    assert 0.1 < pad_ratio < 0.6, pad_ratio
    assert float(np.max(np.abs(mixed))) < 1.0


def test_loud_reference_audios_are_normalised(tmp_path: Path) -> None:
    """Two full-scale tones (ogg/opus and adts/aac) mixed with the pad must not clip."""
    loud = (
        sine_audio(1000.0, fmt="ogg", codec="libopus", rate=48_000, amplitude=0.98),
        sine_audio(1000.0, fmt="adts", codec="aac", amplitude=0.98),
    )
    spec = make_spec(generate_audio=True, reference_audios=loud)
    samples = decode_audio(do_render(spec, tmp_path).video_path)
    assert 0.5 < float(np.max(np.abs(samples))) < 1.0
    assert peak_hz(samples) == pytest.approx(1000.0, abs=10.0)


# --------------------------------------------------------------------------------------------
# Determinism and validation
# --------------------------------------------------------------------------------------------


def test_same_spec_with_references_gives_identical_bytes(tmp_path: Path) -> None:
    spec = make_spec(
        frames=30,
        generate_audio=True,
        watermark=True,
        reference_videos=(video_clip([(RED, 0.5), (BLUE, 0.5)]), video_clip([(GREEN, 1.0)])),
        reference_audios=(sine_audio(440.0), sine_audio(1000.0, fmt="mp3", codec="libmp3lame")),
    )
    first, second = do_render(spec, tmp_path, "a"), do_render(spec, tmp_path, "b")
    assert first.video_path.read_bytes() == second.video_path.read_bytes()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"reference_videos": (b"not a video",)}, r"reference_videos\[0\]"),
        ({"reference_videos": (video_clip([(RED, 0.5)]), b"")}, r"reference_videos\[1\]"),
        ({"reference_videos": (sine_audio(440.0),)}, r"reference_videos\[0\]"),  # no video
        ({"reference_videos": ("text",)}, "reference_videos"),
        ({"reference_audios": (b"\x00" * 64,)}, r"reference_audios\[0\]"),
        ({"reference_audios": (sine_audio(440.0), b"RIFF junk")}, r"reference_audios\[1\]"),
        ({"reference_audios": (video_clip([(RED, 0.5)]),)}, r"reference_audios\[0\]"),  # no audio
    ],
)
def test_undecodable_references_raise(
    tmp_path: Path, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        render(make_spec(**overrides), tmp_path)
    assert not (tmp_path / "video.mp4").exists()
