"""Tests for the built-in CPU preview renderer (checked by decoding the output with PyAV)."""

from __future__ import annotations

import dataclasses
import io
import itertools
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageDraw, ImageOps

from seedance_gateway.providers.preview_render import (
    RenderOutput,
    RenderSpec,
    _wrap_text,
    render,
)

W, H, FPS = 320, 192, 24
RGB = npt.NDArray[np.uint8]


def make_spec(**overrides: Any) -> RenderSpec:
    base: dict[str, Any] = {
        "prompt": "A paper boat drifting down a rainy street at dusk, neon reflections",
        "width": W,
        "height": H,
        "fps": FPS,
        "frames": 24,
        "seed": 1234,
        "camera_fixed": False,
        "generate_audio": False,
        "watermark": False,
    }
    base.update(overrides)
    return RenderSpec(**base)


def picture(seed: int, size: tuple[int, int] = (400, 300), fmt: str = "PNG") -> bytes:
    """A deterministic test picture: a gradient with coloured discs (smooth, photo-like)."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    blue = np.full_like(xx, int(rng.integers(0, 256)))
    arr = np.stack([xx * 255 // w, yy * 255 // h, blue], axis=-1).astype(np.uint8)
    img = Image.fromarray(arr, "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(10):
        x, y, r = int(rng.integers(0, w)), int(rng.integers(0, h)), int(rng.integers(15, 60))
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    return encode(img, fmt)


def checkerboard(cell: int = 8, size: tuple[int, int] = (W, H)) -> bytes:
    """A high-contrast texture: any camera motion changes most pixels."""
    yy, xx = np.mgrid[0 : size[1], 0 : size[0]]
    grey = (((xx // cell) + (yy // cell)) % 2 * 200 + 30).astype(np.uint8)
    return encode(Image.fromarray(np.stack([grey, grey, grey], axis=-1), "RGB"), "PNG")


def encode(img: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def cover(data: bytes) -> RGB:
    """What the renderer should show for an input image: resized/centre-cropped to W x H."""
    img = Image.open(io.BytesIO(data)).convert("RGB")
    fitted = ImageOps.fit(img, (W, H), method=Image.Resampling.LANCZOS)
    return np.asarray(fitted, dtype=np.uint8)


def decode_frames(path: Path) -> list[RGB]:
    with av.open(str(path)) as container:
        return [
            np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)
            for frame in container.decode(video=0)
        ]


def mae(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> float:
    return float(np.mean(np.abs(a.astype(np.float64) - b.astype(np.float64))))


def do_render(spec: RenderSpec, tmp_path: Path, name: str = "out") -> RenderOutput:
    return render(spec, tmp_path / name)


# --------------------------------------------------------------------------------------------
# Container / stream properties
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("width", "height", "frames"), [(W, H, 24), (322, 190, 13), (W, H, 1)])
def test_video_stream_properties(tmp_path: Path, width: int, height: int, frames: int) -> None:
    out = do_render(make_spec(width=width, height=height, frames=frames), tmp_path)
    assert out.video_path == tmp_path / "out" / "video.mp4"
    assert out.last_frame_path is None
    with av.open(str(out.video_path)) as container:
        assert len(container.streams.audio) == 0
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.codec_context.width, stream.codec_context.height) == (width, height)
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert stream.average_rate == FPS
        assert stream.duration is not None and stream.time_base is not None
        assert float(stream.duration * stream.time_base) == pytest.approx(frames / FPS, abs=1e-3)
        decoded = list(container.decode(video=0))
    assert len(decoded) == frames
    assert all((f.width, f.height) == (width, height) for f in decoded)


def test_mp4_is_faststart_without_creation_time(tmp_path: Path) -> None:
    out = do_render(make_spec(generate_audio=True), tmp_path)
    data = out.video_path.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat"), "moov atom must precede mdat"
    with av.open(str(out.video_path)) as container:
        assert "creation_time" not in container.metadata
        assert all("creation_time" not in s.metadata for s in container.streams)


def test_audio_track_covers_video(tmp_path: Path) -> None:
    spec = make_spec(generate_audio=True, frames=36)
    out = do_render(spec, tmp_path)
    video_seconds = spec.frames / FPS
    with av.open(str(out.video_path)) as container:
        assert len(container.streams.audio) == 1
        audio = container.streams.audio[0]
        assert audio.codec_context.name == "aac"
        assert audio.codec_context.sample_rate == 48_000
        assert audio.duration is not None and audio.time_base is not None
        assert float(audio.duration * audio.time_base) == pytest.approx(video_seconds, abs=0.05)
        samples = np.concatenate(
            [np.asarray(f.to_ndarray(), dtype=np.float32) for f in container.decode(audio=0)],
            axis=1,
        )
    assert samples.shape[1] / 48_000 == pytest.approx(video_seconds, abs=0.05)
    rms = float(np.sqrt(np.mean(samples**2)))
    assert rms > 0.02, "audio must not be silence"
    mid = samples[:, samples.shape[1] // 4 : samples.shape[1] * 3 // 4]
    assert float(np.max(np.abs(mid))) < 1.0, "audio must not clip"


# --------------------------------------------------------------------------------------------
# Determinism and prompt/seed dependence
# --------------------------------------------------------------------------------------------


def test_same_spec_gives_identical_bytes(tmp_path: Path) -> None:
    spec = make_spec(
        generate_audio=True,
        watermark=True,
        first_frame=picture(1),
        last_frame=picture(2, fmt="JPEG"),
        reference_images=(picture(3, (200, 260)),),
        return_last_frame=True,
    )
    first, second = do_render(spec, tmp_path, "a"), do_render(spec, tmp_path, "b")
    assert first.video_path.read_bytes() == second.video_path.read_bytes()
    assert first.last_frame_path is not None and second.last_frame_path is not None
    assert first.last_frame_path.read_bytes() == second.last_frame_path.read_bytes()


def test_different_seed_changes_picture(tmp_path: Path) -> None:
    a = do_render(make_spec(seed=1), tmp_path, "a")
    b = do_render(make_spec(seed=2), tmp_path, "b")
    assert a.video_path.read_bytes() != b.video_path.read_bytes()
    assert mae(decode_frames(a.video_path)[12], decode_frames(b.video_path)[12]) > 10


def test_prompt_changes_picture_and_text(tmp_path: Path) -> None:
    a = do_render(make_spec(prompt="A quiet forest lake at dawn"), tmp_path, "a")
    b = do_render(make_spec(prompt="Fireworks over a desert city"), tmp_path, "b")
    frame_a, frame_b = decode_frames(a.video_path)[0], decode_frames(b.video_path)[0]
    assert mae(frame_a, frame_b) > 10
    band = (slice(0, H // 4), slice(0, W))
    assert mae(frame_a[band], frame_b[band]) > 5


def test_prompt_text_is_wrapped_and_truncated() -> None:
    from PIL import ImageFont

    font = ImageFont.load_default(size=14)
    long_prompt = " ".join(["cinematic"] * 200)
    lines = _wrap_text(long_prompt, font, 200, 3)
    assert len(lines) == 3
    assert lines[-1].endswith("\u2026")
    assert all(font.getlength(line) <= 200 for line in lines)
    assert _wrap_text("short prompt", font, 200, 3) == ["short prompt"]
    assert _wrap_text("   ", font, 200, 3) == []
    unbroken = _wrap_text("x" * 500, font, 100, 2)
    assert len(unbroken) == 2 and all(font.getlength(line) <= 100 for line in unbroken)


# --------------------------------------------------------------------------------------------
# First / last frame, camera, reference images
# --------------------------------------------------------------------------------------------


def test_first_frame_starts_the_video(tmp_path: Path) -> None:
    image = picture(11, (500, 250))  # wider than 5:3, so it must be centre-cropped
    out = do_render(make_spec(first_frame=image), tmp_path)
    frames = decode_frames(out.video_path)
    expected, unrelated = cover(image), cover(picture(99))
    assert mae(frames[0], expected) < 6, "frame 0 shows the picture (overlays fade in later)"
    assert mae(frames[0], expected) < 0.3 * mae(frames[0], unrelated)
    assert mae(frames[-1], expected) > mae(frames[0], expected) + 5, "the video must move on"


def test_last_frame_ends_the_video(tmp_path: Path) -> None:
    image = picture(21, (300, 300), fmt="JPEG")
    out = do_render(make_spec(last_frame=image, first_frame=picture(22)), tmp_path)
    frames = decode_frames(out.video_path)
    expected = cover(image)
    assert mae(frames[-1], expected) < 6
    assert mae(frames[-1], expected) < 0.3 * mae(frames[-1], cover(picture(22)))
    assert mae(frames[len(frames) // 3], expected) > 20, "the crossfade happens near the end"


def test_camera_fixed_keeps_background_still(tmp_path: Path) -> None:
    texture = checkerboard()
    region = (slice(H // 2, H), slice(0, W))  # below the prompt band
    diffs = {}
    for fixed in (True, False):
        spec = make_spec(first_frame=texture, camera_fixed=fixed, frames=24)
        frames = decode_frames(do_render(spec, tmp_path, f"fixed-{fixed}").video_path)
        diffs[fixed] = mae(frames[0][region], frames[12][region])
    assert diffs[False] > 30, diffs
    assert diffs[True] < 0.5 * diffs[False], diffs


def test_camera_moves_over_generated_scene(tmp_path: Path) -> None:
    region = (slice(H // 2, H), slice(0, W))
    diffs = {}
    for fixed in (True, False):
        spec = make_spec(camera_fixed=fixed, frames=48, seed=5)
        frames = decode_frames(do_render(spec, tmp_path, f"fixed-{fixed}").video_path)
        diffs[fixed] = mae(frames[0][region], frames[-1][region])
    assert diffs[True] < 0.8 * diffs[False], diffs


def test_reference_images_are_visible(tmp_path: Path) -> None:
    red = encode(Image.new("RGB", (120, 120), (255, 0, 0)), "PNG")

    def red_pixels(spec: RenderSpec, name: str) -> int:
        frame = decode_frames(do_render(spec, tmp_path, name).video_path)[12].astype(np.int32)
        mask = (frame[..., 0] > 190) & (frame[..., 1] < 70) & (frame[..., 2] < 70)
        return int(mask.sum())

    with_ref = red_pixels(make_spec(reference_images=(red,)), "with")
    without = red_pixels(make_spec(), "without")
    assert with_ref - without > 1500, (with_ref, without)


# --------------------------------------------------------------------------------------------
# Watermark and last-frame PNG
# --------------------------------------------------------------------------------------------

CORNER = (slice(H - H // 8, H), slice(W - W // 4, W))
TOP_LEFT = (slice(H // 2, H - H // 5), slice(0, W // 3))


def test_watermark_marks_bottom_right_corner(tmp_path: Path) -> None:
    marked = decode_frames(do_render(make_spec(watermark=True), tmp_path, "on").video_path)
    plain = decode_frames(do_render(make_spec(watermark=False), tmp_path, "off").video_path)
    for index in (0, len(marked) - 1):
        assert mae(marked[index][CORNER], plain[index][CORNER]) > 8
        assert mae(marked[index][TOP_LEFT], plain[index][TOP_LEFT]) < 3


def test_return_last_frame_png_matches_unwatermarked_last_frame(tmp_path: Path) -> None:
    spec = make_spec(return_last_frame=True, watermark=True)
    out = do_render(spec, tmp_path)
    assert out.last_frame_path == tmp_path / "out" / "last_frame.png"
    with Image.open(out.last_frame_path) as img:
        assert img.format == "PNG" and img.size == (W, H)
        png = np.asarray(img.convert("RGB"), dtype=np.uint8)
    last_video = decode_frames(out.video_path)[-1]
    assert mae(png, last_video) < 6
    plain = decode_frames(
        do_render(dataclasses.replace(spec, watermark=False), tmp_path).video_path
    )
    assert mae(png[CORNER], plain[-1][CORNER]) < 6, "last_frame.png must not carry the watermark"
    assert mae(png[CORNER], last_video[CORNER]) > 8


# --------------------------------------------------------------------------------------------
# Progress and validation
# --------------------------------------------------------------------------------------------


def test_progress_is_monotonic_from_0_to_100(tmp_path: Path) -> None:
    seen: list[int] = []
    render(make_spec(frames=30, generate_audio=True), tmp_path, seen.append)
    assert seen[0] == 0 and seen[-1] == 100
    assert all(isinstance(p, int) and 0 <= p <= 100 for p in seen)
    assert all(a <= b for a, b in itertools.pairwise(seen))
    assert len(seen) > 5


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"width": 321}, "width"),
        ({"width": 0}, "width"),
        ({"height": -2}, "height"),
        ({"height": 191}, "height"),
        ({"frames": 0}, "frames"),
        ({"fps": 0}, "fps"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**32}, "seed"),
        ({"width": 320.0}, "width"),
    ],
)
def test_invalid_spec_raises(tmp_path: Path, overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        render(make_spec(**overrides), tmp_path)
    assert not (tmp_path / "video.mp4").exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"first_frame": b"not an image"}, "first_frame"),
        ({"last_frame": b"\x89PNG\r\n\x1a\n broken"}, "last_frame"),
        ({"reference_images": (picture(1), b"")}, r"reference_images\[1\]"),
    ],
)
def test_undecodable_images_raise(tmp_path: Path, overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        render(make_spec(**overrides), tmp_path)
    assert not (tmp_path / "video.mp4").exists()
