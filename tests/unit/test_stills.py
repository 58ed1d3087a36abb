"""Thumbnails and spritesheets made from a real H.264 MP4 (media.stills)."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from seedance_gateway.media import stills

FRAMES = 48


def _colour(index: int) -> tuple[int, int, int]:
    """Frame ``index`` is one flat colour that moves from blue to red."""
    return (index * 5, 40, 255 - index * 5)


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2 s, 24 fps, 1280x720 H.264 MP4 whose frames are flat, distinct colours."""
    path = tmp_path_factory.mktemp("stills") / "clip.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        stream.time_base = Fraction(1, 24)
        for index in range(FRAMES):
            pixels = np.full((720, 1280, 3), _colour(index), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def _close(actual: np.ndarray, expected: tuple[int, int, int]) -> bool:
    return bool(np.all(np.abs(actual.astype(int) - np.array(expected)) <= 12))


def test_the_thumbnail_is_the_first_frame_as_webp_within_640_px(video: Path) -> None:
    """WEBP, the video's aspect, the long side at most 640, the first frame's colour."""
    image = Image.open(io.BytesIO(stills.thumbnail(video)))
    assert image.format == "WEBP"
    assert image.size == (640, 360)
    centre = np.asarray(image.convert("RGB"))[180, 320]
    assert _close(centre, _colour(0)), centre


def test_a_small_video_keeps_its_size_in_the_thumbnail(video: Path) -> None:
    """``max_side`` only shrinks."""
    image = Image.open(io.BytesIO(stills.thumbnail(video, max_side=4000)))
    assert image.size == (1280, 720)


def test_the_spritesheet_is_ten_frames_from_first_to_last_in_a_grid(video: Path) -> None:
    """A 5 x 2 JPEG grid of 256 px tiles: the first tile is frame 0, the last frame 47."""
    image = Image.open(io.BytesIO(stills.spritesheet(video)))
    assert image.format == "JPEG"
    assert image.size == (5 * 256, 2 * 144)
    pixels = np.asarray(image.convert("RGB"))
    tiles = [pixels[(i // 5) * 144 + 72, (i % 5) * 256 + 128] for i in range(10)]
    assert _close(tiles[0], _colour(0)), tiles[0]
    assert _close(tiles[-1], _colour(FRAMES - 1)), tiles[-1]
    reds = [int(t[0]) for t in tiles]
    assert reds == sorted(reds) and reds[0] < reds[-1]  # in time order, spread over the clip


def test_fewer_frames_than_tiles_gives_a_smaller_grid(tmp_path: Path) -> None:
    """A 3-frame video makes a 3-tile sheet rather than repeating frames."""
    path = tmp_path / "short.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 320, 320, "yuv420p"
        for index in range(3):
            pixels = np.full((320, 320, 3), _colour(index * 10), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    image = Image.open(io.BytesIO(stills.spritesheet(path)))
    assert image.size == (3 * 256, 256)


def test_a_file_that_is_not_a_video_raises(tmp_path: Path) -> None:
    """Garbage is an error, not an empty image."""
    path = tmp_path / "not.mp4"
    path.write_bytes(b"\x00" * 1024)
    with pytest.raises(av.error.FFmpegError):
        stills.thumbnail(path)
