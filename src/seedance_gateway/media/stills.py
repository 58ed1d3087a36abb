"""Still images made from a finished video: a thumbnail and a spritesheet (OpenAI's ``variant``s).

Pure functions over a local MP4 (PyAV decodes, Pillow encodes); callers run them off the event
loop and cache the bytes.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import av
from PIL import Image

THUMBNAIL_MAX_SIDE = 640
SPRITE_TILES = 10
SPRITE_TILE_WIDTH = 256


def thumbnail(video: Path, *, max_side: int = THUMBNAIL_MAX_SIDE) -> bytes:
    """The first frame as WEBP, scaled to fit ``max_side``."""
    with av.open(str(video)) as container:
        frame = next(container.decode(video=0))
        image = _image(frame)
    image.thumbnail((max_side, max_side))
    return _encode(image, "WEBP")


def spritesheet(
    video: Path, *, tiles: int = SPRITE_TILES, tile_width: int = SPRITE_TILE_WIDTH
) -> bytes:
    """``tiles`` frames spread evenly over the video, in a grid, as JPEG."""
    frames = _sampled_frames(video, tiles)
    first = frames[0]
    tile_height = max(1, round(tile_width * first.height / first.width))
    columns = min(5, len(frames))
    rows = math.ceil(len(frames) / columns)
    sheet = Image.new("RGB", (columns * tile_width, rows * tile_height))
    for index, image in enumerate(frames):
        tile = image.resize((tile_width, tile_height))
        sheet.paste(tile, ((index % columns) * tile_width, (index // columns) * tile_height))
    return _encode(sheet, "JPEG")


def _sampled_frames(video: Path, count: int) -> list[Image.Image]:
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        total = stream.frames or 0
        images = [_image(f) for f in container.decode(video=0)] if total == 0 else []
        if total:
            wanted = {round(i * (total - 1) / max(1, count - 1)) for i in range(count)}
            for index, frame in enumerate(container.decode(video=0)):
                if index in wanted:
                    images.append(_image(frame))
    if not images:
        raise ValueError(f"{video} has no video frames")
    if len(images) > count:
        step = len(images) / count
        images = [images[int(i * step)] for i in range(count)]
    return images


def _image(frame: av.VideoFrame) -> Image.Image:
    return Image.fromarray(frame.to_ndarray(format="rgb24"))


def _encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format=fmt, quality=85)
    return buffer.getvalue()
