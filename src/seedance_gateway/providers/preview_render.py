"""Built-in CPU "preview" video renderer.

Turns a :class:`RenderSpec` into a real H.264/AAC MP4 without any GPU or model: an animated,
prompt-derived scene (gradient sky, glow, rolling hills, drifting shapes and particles) with the
prompt text on a semi-transparent band, optional first/last frame images, reference-image cards,
reference-video cards that play their clip, a slow camera pan/zoom, an optional chord-pad audio
track mixed with any reference audio, and an optional "AI generated" mark.

Everything is deterministic: the same spec always yields byte-identical files. Frames are built
directly in YUV 4:2:0 with cheap numpy operations over layers that are precomputed once, so the
encoder (libx264, fixed preset and thread count) dominates the cost.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.video.reformatter import Colorspace, VideoReformatter
from av.video.stream import VideoStream
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps, UnidentifiedImageError

__all__ = ["RenderOutput", "RenderSpec", "render"]

U8 = npt.NDArray[np.uint8]
U16 = npt.NDArray[np.uint16]
F32 = npt.NDArray[np.float32]
Rng = np.random.Generator
Rgb = tuple[int, int, int]
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

VIDEO_NAME = "video.mp4"
LAST_FRAME_NAME = "last_frame.png"
MAX_DIMENSION = 8192
MAX_SEED = 2**32 - 1
X264_PRESET = "ultrafast"
X264_CRF = "23"
ENCODER_THREADS = 4
AUDIO_RATE = 48_000
AUDIO_BITRATE = 128_000
AUDIO_GAIN = 0.3
TONE_PEAK = 0.6  # bound on the generated pad's peak (see _audio_block)
TONE_UNDER_REFS = 0.5  # the generated pad's level when it is mixed under reference audio
MIX_PEAK = 0.9  # bound on the mix's peak when reference audio is present
DECLICK_SAMPLES = 240  # 5 ms fades at a reference clip's edges (so loops do not click)
TAIL_FADE_SAMPLES = 480  # 10 ms fade-out of reference audio at the end of the track
FULL = 256  # fixed-point scale for alpha/blend weights (0..256)
WATERMARK_TEXT = "AI generated"
ELLIPSIS = "\u2026"
MAX_TEXT_LINES = 3
WORLD_BLEND_MAX = 0.4  # how far a first_frame video drifts toward the generated scene
WORLD_BLEND_LEVELS = 40
HUE_HINTS: tuple[tuple[str, float, float], ...] = (
    # keyword, hue (0..1), brightness factor
    ("sunset", 0.05, 1.0),
    ("sunrise", 0.09, 1.0),
    ("fire", 0.01, 1.0),
    ("desert", 0.11, 1.0),
    ("forest", 0.32, 0.9),
    ("jungle", 0.30, 0.9),
    ("ocean", 0.56, 1.0),
    ("sea", 0.55, 1.0),
    ("beach", 0.52, 1.0),
    ("snow", 0.58, 1.1),
    ("space", 0.70, 0.5),
    ("night", 0.64, 0.45),
    ("neon", 0.85, 0.8),
    ("city", 0.62, 0.75),
)
CHORDS: tuple[tuple[int, ...], ...] = (
    (0, 4, 7, 11),  # maj7
    (0, 3, 7, 10),  # m7
    (0, 4, 7, 14),  # add9
    (0, 5, 7, 12),  # sus4
    (0, 2, 7, 12),  # sus2
    (0, 4, 7, 9),  # 6
)


@dataclass(frozen=True, kw_only=True)
class RenderSpec:
    """Everything that determines a preview video (the same spec gives the same bytes)."""

    prompt: str
    width: int
    height: int
    fps: int
    frames: int
    seed: int
    camera_fixed: bool
    generate_audio: bool
    watermark: bool
    first_frame: bytes | None = None
    last_frame: bytes | None = None
    reference_images: tuple[bytes, ...] = ()
    # Encoded video files (mp4/mov/webm...): each is shown as a card that plays the clip,
    # resampled to ``fps`` and looped; several clips sit side by side with the image cards.
    reference_videos: tuple[bytes, ...] = ()
    # Encoded audio files (mp3/wav/m4a/aac/ogg...): each plays from t=0, looped to the video
    # length; several are mixed (summed) and laid over the generated pad when generate_audio.
    reference_audios: tuple[bytes, ...] = ()
    return_last_frame: bool = False


@dataclass(frozen=True, kw_only=True)
class RenderOutput:
    """Files written by :func:`render`."""

    video_path: Path
    last_frame_path: Path | None


# --------------------------------------------------------------------------------------------
# Internal data structures
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Planes:
    """A YUV 4:2:0 picture as three separate uint8 planes."""

    y: U8
    u: U8
    v: U8


@dataclass(frozen=True)
class _Layer:
    """A premultiplied RGBA overlay converted to YUV 4:2:0 (alpha scaled to 0..256)."""

    width: int
    height: int
    y_col: U8
    y_alpha: U16
    y_pre: U16
    u_col: U8
    v_col: U8
    c_alpha: U16
    u_pre: U16
    v_pre: U16


@dataclass(frozen=True)
class _Sprite:
    """A layer that floats around a world-space centre on a Lissajous path."""

    layer: _Layer
    cx: float
    cy: float
    amp_x: float
    amp_y: float
    freq_x: float
    freq_y: float
    phase_x: float
    phase_y: float

    def centre(self, seconds: float) -> tuple[float, float]:
        x = self.cx + self.amp_x * math.sin(2 * math.pi * self.freq_x * seconds + self.phase_x)
        y = self.cy + self.amp_y * math.sin(2 * math.pi * self.freq_y * seconds + self.phase_y)
        return x, y


@dataclass(frozen=True)
class _VideoCard:
    """A reference-video card: static chrome (border and shadow around a transparent hole) and
    the clip resampled to the output frame rate; ``steps[i]`` indexes ``frames`` for output
    frame i of one loop."""

    sprite: _Sprite
    inset: int  # where the picture sits inside the card (even, so chroma stays aligned)
    frames: tuple[_Planes, ...]
    steps: tuple[int, ...]

    def planes_at(self, index: int) -> _Planes:
        return self.frames[self.steps[index % len(self.steps)]]


@dataclass(frozen=True)
class _Camera:
    """Slow zoom-in with drift; frame 0 always shows the whole world unchanged."""

    fixed: bool
    zoom_end: float
    start: tuple[float, float]
    end: tuple[float, float]

    def window(self, progress: float) -> tuple[float, float, float]:
        """Return (x0, y0, zoom) as fractions of the free margin for progress in 0..1."""
        if self.fixed:
            return 0.0, 0.0, 1.0
        ease = progress * progress * (3.0 - 2.0 * progress)
        zoom = 1.0 + (self.zoom_end - 1.0) * ease
        fx = self.start[0] + (self.end[0] - self.start[0]) * progress
        fy = self.start[1] + (self.end[1] - self.start[1]) * progress
        return fx, fy, zoom


@dataclass(frozen=True)
class _Palette:
    sky_top: Rgb
    sky_bottom: Rgb
    glow: Rgb
    hills: tuple[Rgb, Rgb, Rgb]
    accents: tuple[Rgb, ...]
    band: Rgb
    dark: bool


@dataclass(frozen=True)
class _Plan:
    """Everything precomputed before the frame loop."""

    spec: RenderSpec
    scene: _Planes
    first: _Planes | None
    last: _Planes | None
    sprites: tuple[_Sprite, ...]
    cards: tuple[_Sprite, ...]
    band: _Layer | None
    band_pos: tuple[int, int]
    watermark: _Layer | None
    watermark_pos: tuple[int, int]
    camera: _Camera
    fade_frames: int
    crossfade_frames: int
    video_cards: tuple[_VideoCard, ...]
    soundtrack: _Soundtrack | None


class _FrameBuffer:
    """One reusable yuv420p frame laid out the way ``VideoFrame.from_ndarray`` expects."""

    def __init__(self, width: int, height: int) -> None:
        size = width * height
        self.flat: U8 = np.zeros(size * 3 // 2, dtype=np.uint8)
        self.array: U8 = self.flat.reshape(height * 3 // 2, width)
        self.planes = _Planes(
            y=self.flat[:size].reshape(height, width),
            u=self.flat[size : size + size // 4].reshape(height // 2, width // 2),
            v=self.flat[size + size // 4 :].reshape(height // 2, width // 2),
        )


# --------------------------------------------------------------------------------------------
# Validation and image decoding
# --------------------------------------------------------------------------------------------


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _validate(spec: RenderSpec) -> None:
    if not isinstance(spec.prompt, str):
        raise ValueError("prompt must be a string")
    for name, value in (("width", spec.width), ("height", spec.height)):
        _check_int(name, value, 2, MAX_DIMENSION)
        if value % 2:
            raise ValueError(f"{name} must be even for yuv420p H.264, got {value}")
    _check_int("fps", spec.fps, 1, 240)
    _check_int("frames", spec.frames, 1, 1_000_000)
    _check_int("seed", spec.seed, 0, MAX_SEED)
    for name, data in (("first_frame", spec.first_frame), ("last_frame", spec.last_frame)):
        if data is not None and not isinstance(data, bytes | bytearray):
            raise ValueError(f"{name} must be bytes or None")
    for name, items in (
        ("reference_images", spec.reference_images),
        ("reference_videos", spec.reference_videos),
        ("reference_audios", spec.reference_audios),
    ):
        if not all(isinstance(item, bytes | bytearray) for item in items):
            raise ValueError(f"{name} must be a tuple of bytes")


def _decode_image(data: bytes, name: str) -> Image.Image:
    """Decode PNG/JPEG/WEBP bytes to RGB, raising ValueError that names the field."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.load()
            img = ImageOps.exif_transpose(opened)
            if img.mode in ("RGBA", "LA", "P", "PA"):
                rgba = img.convert("RGBA")
                canvas = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
                return Image.alpha_composite(canvas, rgba).convert("RGB")
            return img.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ValueError(f"{name} is not a decodable image: {exc}") from exc


def _cover(img: Image.Image, width: int, height: int) -> Image.Image:
    """Resize and centre-crop so the image exactly covers width x height."""
    return ImageOps.fit(img, (width, height), method=Image.Resampling.LANCZOS)


# --------------------------------------------------------------------------------------------
# Reference video decoding
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Clip:
    """A reference clip resampled to the output rate: output step i of one loop shows
    ``frames[steps[i]]`` (frames are yuv420p planes, BT.601 limited range, even-sized)."""

    frames: tuple[_Planes, ...]
    steps: tuple[int, ...]


def _contain_even(width: int, height: int, box: tuple[int, int]) -> tuple[int, int]:
    """The largest even size with the aspect ratio of width x height that fits in box."""
    scale = min(box[0] / max(width, 1), box[1] / max(height, 1))
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def _video_planes(scaler: VideoReformatter, frame: av.VideoFrame, size: tuple[int, int]) -> _Planes:
    """Downscale a decoded frame (once) straight to BT.601 limited-range yuv420p planes."""
    small = scaler.reformat(
        frame,
        width=size[0],
        height=size[1],
        format="yuv420p",
        dst_colorspace=Colorspace.ITU601,
        interpolation="AREA",
        src_color_range=frame.color_range or None,
        dst_color_range="MPEG",
        threads=1,
    )
    flat = np.ascontiguousarray(small.to_ndarray(), dtype=np.uint8).reshape(-1)
    w, h = size
    luma, chroma = w * h, w * h // 4
    return _Planes(
        y=flat[:luma].reshape(h, w),
        u=flat[luma : luma + chroma].reshape(h // 2, w // 2),
        v=flat[luma + chroma : luma + 2 * chroma].reshape(h // 2, w // 2),
    )


class _ClipSampler:
    """Resamples decoded frames to ``fps``: output step s shows the last frame that starts at
    or before s / fps. Only frames that some step shows are downscaled and kept, and at most
    ``limit`` steps are made (steps past the output's length would never be shown)."""

    def __init__(self, fps: int, limit: int, size: tuple[int, int]) -> None:
        self.fps, self.limit, self.size = fps, limit, size
        self.scaler = VideoReformatter()  # one per clip: reusing its scaler context is cheap
        self.frames: list[_Planes] = []
        self.steps: list[int] = []
        self.pending: av.VideoFrame | None = None

    def _fill(self, until: float) -> None:
        """Let the pending frame cover every step before ``until`` seconds."""
        kept = False
        while self.pending is not None and len(self.steps) < self.limit:
            if len(self.steps) / self.fps >= until - 1e-6:
                return
            if not kept:
                self.frames.append(_video_planes(self.scaler, self.pending, self.size))
                kept = True
            self.steps.append(len(self.frames) - 1)

    def push(self, frame: av.VideoFrame, start: float) -> bool:
        """Add the next frame (start in seconds from the clip's start); False when full."""
        self._fill(start)
        self.pending = frame
        return len(self.steps) < self.limit

    def finish(self, end: float) -> _Clip:
        self._fill(end if self.steps else max(end, 1e-3))  # always at least one step
        return _Clip(frames=tuple(self.frames), steps=tuple(self.steps))


def _sample_clip(
    frames: Iterator[av.VideoFrame], rate: float, spec: RenderSpec, box: tuple[int, int]
) -> _Clip | None:
    """Decode and resample until the clip ends or the output's length is covered."""
    sampler: _ClipSampler | None = None
    origin = end = 0.0
    for index, frame in enumerate(frames):
        start = frame.time if frame.time is not None else index / rate
        if sampler is None:
            size = _contain_even(frame.width, frame.height, box)
            sampler, origin = _ClipSampler(spec.fps, spec.frames, size), start
        if not sampler.push(frame, start - origin):
            break
        length = frame.duration * frame.time_base if frame.duration and frame.time_base else 0
        end = start - origin + (float(length) or 1.0 / rate)
    return None if sampler is None else sampler.finish(end)


def _read_video(data: bytes, spec: RenderSpec, box: tuple[int, int]) -> _Clip | None:
    with av.open(io.BytesIO(data), mode="r") as container:
        if not container.streams.video:
            return None
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = float(stream.average_rate or spec.fps)
        return _sample_clip(container.decode(stream), rate, spec, box)


def _decode_video(data: bytes, name: str, spec: RenderSpec, box: tuple[int, int]) -> _Clip:
    """Decode a reference video once, raising ValueError that names the field."""
    try:
        clip = _read_video(data, spec, box)
    except (av.FFmpegError, OSError, ValueError, IndexError) as exc:
        raise ValueError(f"{name} is not a decodable video: {exc}") from exc
    if clip is None:
        raise ValueError(f"{name} has no decodable video frames")
    return clip


# --------------------------------------------------------------------------------------------
# Colour conversion and layers
# --------------------------------------------------------------------------------------------


def _rgb_to_yuv(rgb: F32) -> tuple[F32, F32, F32]:
    """BT.601 limited-range conversion of float RGB (0..255) arrays."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0
    u = 128.0 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255.0
    v = 128.0 + (112.0 * r - 93.786 * g - 18.214 * b) / 255.0
    return y.astype(np.float32), u.astype(np.float32), v.astype(np.float32)


def _to_u8(values: F32) -> U8:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _pool2(values: F32) -> F32:
    """Sum each 2x2 block (dimensions must be even)."""
    h, w = values.shape
    pooled: F32 = values.reshape(h // 2, 2, w // 2, 2).sum(axis=(1, 3), dtype=np.float32)
    return pooled


def _image_planes(img: Image.Image) -> _Planes:
    """Convert an opaque RGB image with even dimensions to YUV 4:2:0 planes."""
    y, u, v = _rgb_to_yuv(np.asarray(img.convert("RGB"), dtype=np.float32))
    return _Planes(y=_to_u8(y), u=_to_u8(_pool2(u) / 4.0), v=_to_u8(_pool2(v) / 4.0))


def _even_rgba(img: Image.Image) -> Image.Image:
    """Pad an RGBA image with transparency to even dimensions."""
    w, h = img.size
    if w % 2 == 0 and h % 2 == 0:
        return img
    padded = Image.new("RGBA", (w + w % 2, h + h % 2), (0, 0, 0, 0))
    padded.paste(img, (0, 0))
    return padded


def _make_layer(img: Image.Image) -> _Layer:
    """Convert an RGBA image to a premultiplied YUV 4:2:0 layer."""
    rgba = np.asarray(_even_rgba(img.convert("RGBA")), dtype=np.float32)
    alpha = rgba[..., 3]
    y, u, v = _rgb_to_yuv(rgba[..., :3])
    y_alpha = np.rint(alpha * (FULL / 255.0)).astype(np.uint16)
    alpha_sum = _pool2(alpha)
    safe = np.maximum(alpha_sum, 1e-6)
    u_c = np.where(alpha_sum > 0, _pool2(u * alpha) / safe, 128.0).astype(np.float32)
    v_c = np.where(alpha_sum > 0, _pool2(v * alpha) / safe, 128.0).astype(np.float32)
    c_alpha = np.rint(alpha_sum * (FULL / 1020.0)).astype(np.uint16)
    y_col, u_col, v_col = _to_u8(y), _to_u8(u_c), _to_u8(v_c)
    return _Layer(
        width=rgba.shape[1],
        height=rgba.shape[0],
        y_col=y_col,
        y_alpha=y_alpha,
        y_pre=(y_col * y_alpha).astype(np.uint16),
        u_col=u_col,
        v_col=v_col,
        c_alpha=c_alpha,
        u_pre=(u_col * c_alpha).astype(np.uint16),
        v_pre=(v_col * c_alpha).astype(np.uint16),
    )


def _blend_plane(dst: U8, col: U8, alpha: U16, pre: U16, fade: int) -> None:
    """dst = dst * (1 - a) + col * a in 8.8 fixed point; ``fade`` (0..256) scales alpha."""
    if fade < FULL:
        alpha = ((alpha * np.uint16(fade) + np.uint16(128)) >> np.uint16(8)).astype(np.uint16)
        pre = (col * alpha).astype(np.uint16)
    out = dst * (np.uint16(FULL) - alpha)
    out += pre
    out += np.uint16(128)
    out >>= np.uint16(8)
    dst[...] = out


def _clip_span(pos: int, size: int, limit: int) -> tuple[int, int, int] | None:
    """Clip [pos, pos+size) to [0, limit): returns (dst_start, dst_end, src_start)."""
    start, end = max(pos, 0), min(pos + size, limit)
    if start >= end:
        return None
    return start, end, start - pos


def _paste(frame: _Planes, layer: _Layer, x: int, y: int, fade: int) -> None:
    """Alpha-blend a layer onto the frame with its top-left corner at (x, y) (snapped even)."""
    if fade <= 0:
        return
    x, y = x & ~1, y & ~1
    height, width = frame.y.shape
    span_x = _clip_span(x, layer.width, width)
    span_y = _clip_span(y, layer.height, height)
    if span_x is None or span_y is None:
        return
    (dx0, dx1, sx0), (dy0, dy1, sy0) = span_x, span_y
    src = (slice(sy0, sy0 + dy1 - dy0), slice(sx0, sx0 + dx1 - dx0))
    dst = frame.y[dy0:dy1, dx0:dx1]
    _blend_plane(dst, layer.y_col[src], layer.y_alpha[src], layer.y_pre[src], fade)
    c_src = (slice(sy0 // 2, (sy0 + dy1 - dy0) // 2), slice(sx0 // 2, (sx0 + dx1 - dx0) // 2))
    c_dst = (slice(dy0 // 2, dy1 // 2), slice(dx0 // 2, dx1 // 2))
    alpha = layer.c_alpha[c_src]
    _blend_plane(frame.u[c_dst], layer.u_col[c_src], alpha, layer.u_pre[c_src], fade)
    _blend_plane(frame.v[c_dst], layer.v_col[c_src], alpha, layer.v_pre[c_src], fade)


def _mix_into(dst: U8, a: U8, b: U8, weight: int) -> None:
    """dst = a * (1 - w) + b * w with w = weight / 256."""
    out = a.astype(np.uint16) * np.uint16(FULL - weight)
    out += b.astype(np.uint16) * np.uint16(weight)
    out += np.uint16(128)
    out >>= np.uint16(8)
    dst[...] = out


def _mix_planes(dst: _Planes, a: _Planes, b: _Planes, weight: int) -> None:
    for d, pa, pb in ((dst.y, a.y, b.y), (dst.u, a.u, b.u), (dst.v, a.v, b.v)):
        _mix_into(d, pa, pb, weight)


# --------------------------------------------------------------------------------------------
# Prompt-derived palette and static scene
# --------------------------------------------------------------------------------------------


def _digest(spec: RenderSpec) -> bytes:
    return hashlib.sha256(f"{spec.seed}\x00{spec.prompt}".encode()).digest()


def _rng(spec: RenderSpec, stream: int) -> np.random.Generator:
    """A seeded generator derived from prompt + seed (separate streams stay independent)."""
    return np.random.default_rng([int.from_bytes(_digest(spec)[:16], "big"), stream])


def _hsv(h: float, s: float, v: float) -> Rgb:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))
    return round(r * 255), round(g * 255), round(b * 255)


def _base_hue(prompt: str, rng: np.random.Generator) -> tuple[float, float]:
    """Hue and brightness: keyword hints from the prompt first, otherwise hash-derived."""
    words = set(re.findall(r"[a-z]+", prompt.lower()))
    for keyword, hue, brightness in HUE_HINTS:
        if keyword in words:
            return (hue + float(rng.uniform(-0.03, 0.03))) % 1.0, brightness
    return float(rng.random()), float(rng.uniform(0.75, 1.05))


def _palette(spec: RenderSpec) -> _Palette:
    rng = _rng(spec, 1)
    hue, val = _base_hue(spec.prompt, rng)
    offset = float(rng.choice([0.08, -0.08, 0.33, 0.5, 0.42]))
    accents = tuple(
        _hsv(hue + offset * k + float(rng.uniform(-0.04, 0.04)), rng.uniform(0.45, 0.8), 1.0)
        for k in range(1, 5)
    )
    return _Palette(
        sky_top=_hsv(hue + 0.02, 0.6, 0.38 * val),
        sky_bottom=_hsv(hue - 0.04, 0.45, 0.95 * val),
        glow=_hsv(hue + offset, 0.3, 1.0),
        hills=(
            _hsv(hue + offset * 0.5, 0.45, 0.62 * val),
            _hsv(hue + offset * 0.5 + 0.03, 0.55, 0.42 * val),
            _hsv(hue + offset * 0.5 + 0.06, 0.6, 0.24 * val),
        ),
        accents=accents,
        band=_hsv(hue, 0.5, 0.12),
        dark=val < 0.6,
    )


def _lerp_rgb(a: Rgb, b: Rgb, t: F32) -> F32:
    ca, cb = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    return (ca + (cb - ca) * t[..., None]).astype(np.float32)


def _sky(pal: _Palette, width: int, height: int, rng: np.random.Generator) -> F32:
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    xs = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    t = np.clip(ys + 0.08 * np.sin(xs * 3.1 + float(rng.uniform(0, 6.28))), 0.0, 1.0)
    img = _lerp_rgb(pal.sky_top, pal.sky_bottom, t.astype(np.float32))
    sx, sy = float(rng.uniform(0.2, 0.8)) * width, float(rng.uniform(0.18, 0.4)) * height
    radius = float(rng.uniform(0.07, 0.12)) * height
    dist = np.hypot((xs * (width - 1) - sx), (ys * (height - 1) - sy)).astype(np.float32)
    disc = np.clip(radius - dist + 0.5, 0.0, 1.0) * 0.85
    halo = 0.45 * np.exp(-((dist / (radius * 3.5)) ** 2))
    glow = np.clip(disc + halo, 0.0, 1.0).astype(np.float32)
    img = img + (np.asarray(pal.glow, dtype=np.float32) - img) * glow[..., None]
    out: F32 = img.astype(np.float32)
    if pal.dark:
        _stars(out, rng)
    return out


def _stars(img: F32, rng: np.random.Generator) -> None:
    height, width = img.shape[:2]
    count = max(8, width * height // 6000)
    ys = rng.integers(0, max(1, int(height * 0.55)), size=count)
    xs = rng.integers(0, width, size=count)
    bright = rng.uniform(0.4, 1.0, size=count).astype(np.float32)[:, None]
    img[ys, xs] = img[ys, xs] * (1 - bright) + 255.0 * bright


def _hills(img: F32, pal: _Palette, rng: np.random.Generator) -> F32:
    height, width = img.shape[:2]
    xs = np.arange(width, dtype=np.float32)[None, :] / max(width, height)
    ys = np.arange(height, dtype=np.float32)[:, None]
    for layer, colour in enumerate(pal.hills):
        base = height * (0.58 + 0.11 * layer)
        ridge = np.zeros_like(xs)
        for _ in range(3):
            freq, phase = float(rng.uniform(1.5, 7.0)), float(rng.uniform(0.0, 6.28))
            ridge += float(rng.uniform(0.015, 0.05)) * height * np.sin(xs * freq * 3.1 + phase)
        depth = ys - (base + ridge)
        cover = np.clip(depth + 0.5, 0.0, 1.0)
        shade = np.clip(1.0 - 0.5 * depth / height, 0.6, 1.0)
        colour_arr = np.asarray(colour, dtype=np.float32)
        target = colour_arr * shade[..., None]
        img = img + (target - img) * cover[..., None]
    return img.astype(np.float32)


def _scene_image(spec: RenderSpec, pal: _Palette) -> Image.Image:
    """The static background, computed at half resolution (it is smooth) and upscaled."""
    rng = _rng(spec, 2)
    small_w, small_h = max(2, spec.width // 2), max(2, spec.height // 2)
    img = _hills(_sky(pal, small_w, small_h, rng), pal, rng)
    small = Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8), "RGB")
    return small.resize((spec.width, spec.height), Image.Resampling.BICUBIC)


# --------------------------------------------------------------------------------------------
# Sprites: shapes, particles and reference cards
# --------------------------------------------------------------------------------------------


def _shape_image(kind: int, size: int, colour: Rgb, opacity: int) -> Image.Image:
    """Draw one anti-aliased shape (4x supersampled) on a transparent square."""
    big = size * 4
    img = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    fill = (*colour, opacity)
    pad = big // 8
    box = (pad, pad, big - pad, big - pad)
    if kind == 0:
        draw.ellipse(box, fill=fill)
    elif kind == 1:
        draw.ellipse(box, outline=fill, width=max(4, big // 10))
    elif kind == 2:
        mid = big // 2
        draw.polygon([(mid, pad), (big - pad, mid), (mid, big - pad), (pad, mid)], fill=fill)
    else:
        draw.polygon([(big // 2, pad), (big - pad, big - pad), (pad, big - pad)], fill=fill)
    img = img.filter(ImageFilter.GaussianBlur(big / 40))
    return img.resize((size, size), Image.Resampling.LANCZOS)


def _shape_sprites(spec: RenderSpec, pal: _Palette) -> list[_Sprite]:
    rng = _rng(spec, 3)
    w, h = spec.width, spec.height
    sprites: list[_Sprite] = []
    count = int(rng.integers(5, 9))
    particles = int(rng.integers(14, 26))
    for index in range(count + particles):
        small = index >= count
        scale = rng.uniform(0.012, 0.028) if small else rng.uniform(0.07, 0.17)
        size = max(4, int(h * scale) // 2 * 2)
        kind = 0 if small else int(rng.integers(0, 4))
        colour = pal.accents[int(rng.integers(0, len(pal.accents)))]
        opacity = int(rng.integers(170, 240)) if small else int(rng.integers(120, 200))
        layer = _make_layer(_shape_image(kind, size, colour, opacity))
        sprites.append(_random_path(layer, w, h, rng, speed=1.6 if small else 1.0))
    return sprites


def _random_path(
    layer: _Layer, width: int, height: int, rng: np.random.Generator, speed: float
) -> _Sprite:
    return _Sprite(
        layer=layer,
        cx=float(rng.uniform(0.05, 0.95)) * width,
        cy=float(rng.uniform(0.08, 0.92)) * height,
        amp_x=float(rng.uniform(0.04, 0.18)) * width,
        amp_y=float(rng.uniform(0.03, 0.12)) * height,
        freq_x=float(rng.uniform(0.05, 0.16)) * speed,
        freq_y=float(rng.uniform(0.05, 0.2)) * speed,
        phase_x=float(rng.uniform(0.0, 2 * math.pi)),
        phase_y=float(rng.uniform(0.0, 2 * math.pi)),
    )


def _card_border(max_w: int, max_h: int) -> int:
    return max(2, min(max_w, max_h) // 30)


def _card_canvas(inner: tuple[int, int], border: int) -> Image.Image:
    """A white frame with a soft drop shadow around an ``inner``-sized picture at (2b, 2b)."""
    tw, th = inner
    shadow_off = border
    canvas = Image.new("RGBA", (tw + 4 * border, th + 4 * border), (0, 0, 0, 0))
    shadow = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    ImageDraw.Draw(shadow).rectangle(
        (border + shadow_off, border + shadow_off, tw + 3 * border, th + 3 * border),
        fill=(0, 0, 0, 120),
    )
    canvas = Image.alpha_composite(canvas, shadow.filter(ImageFilter.GaussianBlur(border)))
    frame = Image.new("RGBA", (tw + 2 * border, th + 2 * border), (250, 250, 250, 255))
    canvas.alpha_composite(frame, (border, border))
    return canvas


def _card_image(img: Image.Image, max_w: int, max_h: int) -> Image.Image:
    """A thumbnail with a white border and a soft drop shadow."""
    border = _card_border(max_w, max_h)
    thumb = ImageOps.contain(img, (max(1, max_w - 4 * border), max(1, max_h - 4 * border)))
    canvas = _card_canvas(thumb.size, border)
    canvas.paste(thumb.convert("RGBA"), (2 * border, 2 * border))
    return canvas


def _card_box(spec: RenderSpec, count: int) -> tuple[int, int]:
    """Slot width and card height when ``count`` cards share the row."""
    return int(spec.width * 0.9) // count, int(spec.height * (0.34 if count <= 3 else 0.26))


def _card_sprite(spec: RenderSpec, layer: _Layer, slot: int, count: int, rng: Rng) -> _Sprite:
    """A card that bobs gently around the centre of ``slot`` in a row of ``count``."""
    w, h = spec.width, spec.height
    return _Sprite(
        layer=layer,
        cx=w * 0.05 + _card_box(spec, count)[0] * (slot + 0.5),
        cy=h * 0.66,
        amp_x=w * 0.006,
        amp_y=h * 0.012,
        freq_x=float(rng.uniform(0.1, 0.2)),
        freq_y=float(rng.uniform(0.2, 0.35)),
        phase_x=float(rng.uniform(0.0, 2 * math.pi)),
        phase_y=float(rng.uniform(0.0, 2 * math.pi)),
    )


def _card_count(spec: RenderSpec) -> int:
    """Reference images and reference videos share one row of cards (images first)."""
    return len(spec.reference_images) + len(spec.reference_videos)


def _card_sprites(spec: RenderSpec, images: list[Image.Image]) -> list[_Sprite]:
    if not images:
        return []
    rng = _rng(spec, 4)
    count = _card_count(spec)
    slot_w, max_h = _card_box(spec, count)
    sprites: list[_Sprite] = []
    for index, img in enumerate(images):
        layer = _make_layer(_card_image(img, max(8, slot_w), max(8, max_h)))
        sprites.append(_card_sprite(spec, layer, index, count, rng))
    return sprites


def _video_card(spec: RenderSpec, clip: _Clip, slot: int, rng: Rng) -> _VideoCard:
    """The card for one decoded reference clip, in ``slot`` of the shared row."""
    slot_w, max_h = _card_box(spec, _card_count(spec))
    border = _card_border(max(8, slot_w), max(8, max_h))
    inner = clip.frames[0].y.shape[::-1]
    canvas = _card_canvas((inner[0], inner[1]), border)
    hole = (2 * border, 2 * border, 2 * border + inner[0], 2 * border + inner[1])
    canvas.paste((0, 0, 0, 0), hole)  # the clip is pasted here, opaque, every frame
    sprite = _card_sprite(spec, _make_layer(canvas), slot, _card_count(spec), rng)
    return _VideoCard(sprite=sprite, inset=2 * border, frames=clip.frames, steps=clip.steps)


def _video_cards(spec: RenderSpec) -> tuple[_VideoCard, ...]:
    if not spec.reference_videos:
        return ()
    rng = _rng(spec, 6)
    slot_w, max_h = _card_box(spec, _card_count(spec))
    border = _card_border(max(8, slot_w), max(8, max_h))
    box = (max(2, max(8, slot_w) - 4 * border), max(2, max(8, max_h) - 4 * border))
    cards = []
    for index, data in enumerate(spec.reference_videos):
        clip = _decode_video(bytes(data), f"reference_videos[{index}]", spec, box)
        cards.append(_video_card(spec, clip, len(spec.reference_images) + index, rng))
    return tuple(cards)


# --------------------------------------------------------------------------------------------
# Text: prompt band and watermark
# --------------------------------------------------------------------------------------------


def _font(size: int) -> Font:
    return ImageFont.load_default(size=size)


def _text_width(font: Font, text: str) -> float:
    return float(font.getlength(text))


def _split_long_word(word: str, font: Font, max_width: float) -> list[str]:
    """Break a word that does not fit on one line into pieces that do."""
    pieces: list[str] = []
    current = ""
    for char in word:
        if current and _text_width(font, current + char) > max_width:
            pieces.append(current)
            current = char
        else:
            current += char
    return [*pieces, current] if current else pieces


def _fit_ellipsis(line: str, font: Font, max_width: float) -> str:
    text = line.rstrip()
    while text and _text_width(font, text + ELLIPSIS) > max_width:
        text = text[:-1].rstrip()
    return text + ELLIPSIS


def _wrap_text(text: str, font: Font, max_width: float, max_lines: int) -> list[str]:
    """Greedy word wrap; the last line gets an ellipsis when the text does not fit."""
    words = [p for word in text.split() for p in _split_long_word(word, font, max_width)]
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if not current or _text_width(font, candidate) <= max_width:
            current = candidate
            continue
        lines.append(current)
        current = word
        if len(lines) == max_lines:
            lines[-1] = _fit_ellipsis(lines[-1], font, max_width)
            return lines
    if current:
        lines.append(current)
    return lines


def _band_layer(spec: RenderSpec, pal: _Palette) -> tuple[_Layer | None, tuple[int, int]]:
    """The prompt text on a rounded semi-transparent band near the top of the frame."""
    w, h = spec.width, spec.height
    size = max(10, h // 18)
    font = _font(size)
    margin, pad = max(4, w // 40), max(4, size // 2)
    lines = _wrap_text(spec.prompt, font, w - 2 * margin - 2 * pad, MAX_TEXT_LINES)
    if not lines:
        return None, (0, 0)
    line_h = int(size * 1.25)
    band_w, band_h = w - 2 * margin, line_h * len(lines) + 2 * pad
    img = Image.new("RGBA", (band_w, band_h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((0, 0, band_w - 1, band_h - 1), radius=pad, fill=(*pal.band, 150))
    for row, line in enumerate(lines):
        pos = (pad, pad + row * line_h)
        draw.text((pos[0] + 1, pos[1] + 1), line, font=font, fill=(0, 0, 0, 200))
        draw.text(pos, line, font=font, fill=(255, 255, 255, 255))
    return _make_layer(img), (margin, max(4, h // 30))


def _watermark_layer(spec: RenderSpec) -> tuple[_Layer, tuple[int, int]]:
    """A small "AI generated" pill anchored to the bottom-right corner."""
    size = max(10, spec.height // 28)
    font = _font(size)
    pad = max(3, size // 3)
    text_w = math.ceil(_text_width(font, WATERMARK_TEXT))
    box_w, box_h = text_w + 2 * pad, int(size * 1.3) + pad
    img = Image.new("RGBA", (box_w, box_h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((0, 0, box_w - 1, box_h - 1), radius=pad, fill=(0, 0, 0, 140))
    draw.text((pad, pad // 2), WATERMARK_TEXT, font=font, fill=(255, 255, 255, 235))
    layer = _make_layer(img)
    margin = max(4, spec.height // 40)
    return layer, (spec.width - layer.width - margin, spec.height - layer.height - margin)


# --------------------------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------------------------


def _camera(spec: RenderSpec) -> _Camera:
    rng = _rng(spec, 5)
    seconds = spec.frames / spec.fps
    zoom_end = 1.0 + min(max(0.035 * seconds, 0.06), 0.22)
    start = (float(rng.uniform(0.3, 0.7)), float(rng.uniform(0.3, 0.7)))
    end = (float(rng.uniform(0.1, 0.9)), float(rng.uniform(0.1, 0.9)))
    return _Camera(fixed=spec.camera_fixed, zoom_end=zoom_end, start=start, end=end)


def _decode_optional(data: bytes | None, name: str, spec: RenderSpec) -> _Planes | None:
    if data is None:
        return None
    return _image_planes(_cover(_decode_image(bytes(data), name), spec.width, spec.height))


def _plan(spec: RenderSpec) -> _Plan:
    first = _decode_optional(spec.first_frame, "first_frame", spec)
    last = _decode_optional(spec.last_frame, "last_frame", spec)
    refs = [
        _decode_image(bytes(data), f"reference_images[{index}]")
        for index, data in enumerate(spec.reference_images)
    ]
    pal = _palette(spec)
    band, band_pos = _band_layer(spec, pal)
    mark, mark_pos = _watermark_layer(spec)
    ramp = max(1, min(spec.fps, spec.frames // 3))
    return _Plan(
        spec=spec,
        scene=_image_planes(_scene_image(spec, pal)),
        first=first,
        last=last,
        sprites=tuple(_shape_sprites(spec, pal)),
        cards=tuple(_card_sprites(spec, refs)),
        band=band,
        band_pos=band_pos,
        watermark=mark if spec.watermark else None,
        watermark_pos=mark_pos,
        camera=_camera(spec),
        fade_frames=ramp if first is not None else 0,
        crossfade_frames=ramp if last is not None else 0,
        video_cards=_video_cards(spec),
        soundtrack=_soundtrack(spec),
    )


# --------------------------------------------------------------------------------------------
# Frame composition
# --------------------------------------------------------------------------------------------


def _progress_at(index: int, frames: int) -> float:
    return index / (frames - 1) if frames > 1 else 1.0


def _ramp(value: float) -> int:
    """Smoothstep of a 0..1 value, as a 0..256 fixed-point weight."""
    value = min(max(value, 0.0), 1.0)
    return round(FULL * value * value * (3.0 - 2.0 * value))


class _World:
    """Provides the (camera-less) background of each frame.

    Without a first frame that is the static scene. With one, the picture drifts toward the
    scene; the blend is quantised to WORLD_BLEND_LEVELS steps and cached, so a full-frame mix
    is only computed every few frames."""

    def __init__(self, plan: _Plan) -> None:
        self._plan = plan
        self._level = 0
        first = plan.first
        self._blend = (
            None
            if first is None
            else _Planes(np.empty_like(first.y), np.empty_like(first.u), np.empty_like(first.v))
        )

    def at(self, progress: float) -> _Planes:
        first, blend = self._plan.first, self._blend
        if first is None or blend is None:
            return self._plan.scene
        level = round(progress * WORLD_BLEND_LEVELS)
        if level == 0:
            return first
        if level != self._level:
            weight = round(FULL * WORLD_BLEND_MAX * level / WORLD_BLEND_LEVELS)
            _mix_planes(blend, first, self._plan.scene, weight)
            self._level = level
        return blend


def _sample_axis(size: int, origin: float, zoom: float) -> npt.NDArray[np.intp]:
    idx = (origin + (np.arange(size, dtype=np.float64) + 0.5) / zoom).astype(np.intp)
    return np.clip(idx, 0, size - 1)


def _apply_camera(src: _Planes, dst: _Planes, window: tuple[float, float, float]) -> None:
    """Nearest-neighbour crop/zoom of src into dst (a plain copy when there is no zoom)."""
    fx, fy, zoom = window
    height, width = src.y.shape
    if zoom <= 1.0:
        for s, d in ((src.y, dst.y), (src.u, dst.u), (src.v, dst.v)):
            np.copyto(d, s)
        return
    x0, y0 = (width - width / zoom) * fx, (height - height / zoom) * fy
    for s, d, scale in ((src.y, dst.y, 1), (src.u, dst.u, 2), (src.v, dst.v, 2)):
        rows = _sample_axis(height // scale, y0 / scale, zoom)
        cols = _sample_axis(width // scale, x0 / scale, zoom)
        np.take(np.take(s, rows, axis=0), cols, axis=1, out=d, mode="clip")


def _paste_planes(frame: _Planes, src: _Planes, x: int, y: int, fade: int) -> None:
    """Paste an opaque picture (even size) at an even (x, y), mixed in by ``fade`` (0..256)."""
    height, width = frame.y.shape
    span_x = _clip_span(x, src.y.shape[1], width)
    span_y = _clip_span(y, src.y.shape[0], height)
    if fade <= 0 or span_x is None or span_y is None:
        return
    (dx0, dx1, sx0), (dy0, dy1, sy0) = span_x, span_y
    for d, s, k in ((frame.y, src.y, 1), (frame.u, src.u, 2), (frame.v, src.v, 2)):
        dst = d[dy0 // k : dy1 // k, dx0 // k : dx1 // k]
        part = s[sy0 // k : (sy0 + dy1 - dy0) // k, sx0 // k : (sx0 + dx1 - dx0) // k]
        if fade >= FULL:
            dst[...] = part
        else:
            _mix_into(dst, dst, part, fade)


def _paste_sprites(
    frame: _Planes, plan: _Plan, index: int, window: tuple[float, float, float], fade: int
) -> None:
    """Paste shapes, image cards and video cards (each showing the clip frame for ``index``)."""
    height, width = frame.y.shape
    fx, fy, zoom = window
    x0, y0 = (width - width / zoom) * fx, (height - height / zoom) * fy
    seconds = index / plan.spec.fps

    def origin(sprite: _Sprite) -> tuple[int, int]:
        cx, cy = sprite.centre(seconds)
        sx, sy = (cx - x0) * zoom, (cy - y0) * zoom
        return round(sx - sprite.layer.width / 2), round(sy - sprite.layer.height / 2)

    for sprite in (*plan.sprites, *plan.cards):
        _paste(frame, sprite.layer, *origin(sprite), fade)
    for card in plan.video_cards:
        x, y = origin(card.sprite)
        _paste(frame, card.sprite.layer, x, y, fade)
        picture = card.planes_at(index)
        _paste_planes(frame, picture, (x & ~1) + card.inset, (y & ~1) + card.inset, fade)


def _compose(plan: _Plan, world: _World, index: int, frame: _Planes) -> None:
    """Draw frame ``index`` (without watermark) into ``frame``."""
    spec = plan.spec
    progress = _progress_at(index, spec.frames)
    window = plan.camera.window(progress)
    _apply_camera(world.at(progress), frame, window)
    fade = _ramp(index / plan.fade_frames) if plan.fade_frames else FULL
    _paste_sprites(frame, plan, index, window, fade)
    if plan.band is not None:
        _paste(frame, plan.band, plan.band_pos[0], plan.band_pos[1], fade)
    if plan.last is not None:
        start = spec.frames - 1 - plan.crossfade_frames
        weight = _ramp((index - start) / plan.crossfade_frames)
        if weight > 0:
            _mix_planes(frame, frame, plan.last, weight)


# --------------------------------------------------------------------------------------------
# Audio
# --------------------------------------------------------------------------------------------


def _midi_hz(note: float) -> float:
    return float(440.0 * 2.0 ** ((note - 69.0) / 12.0))


def _pad(notes: list[float], t: npt.NDArray[np.float64], detune: float) -> npt.NDArray[np.float64]:
    out = np.zeros_like(t)
    for index, note in enumerate(notes):
        freq = _midi_hz(note) * detune
        swell = 1.0 + 0.3 * np.sin(2 * np.pi * (0.13 + 0.04 * index) * t + index)
        out += swell * (np.sin(2 * np.pi * freq * t) + 0.2 * np.sin(4 * np.pi * freq * t))
    return out / len(notes)


def _arpeggio(
    notes: list[float], t: npt.NDArray[np.float64], beat: float
) -> npt.NDArray[np.float64]:
    step = np.floor(t / beat).astype(np.intp)
    since = t - step * beat
    freqs = np.asarray([_midi_hz(n + 12.0) for n in notes])[step % len(notes)]
    env = (1.0 - np.exp(-since / 0.006)) * np.exp(-since / 0.35) * (1.0 - since / beat) ** 2
    return env * np.sin(2 * np.pi * freqs * since)


@dataclass(frozen=True)
class _Tune:
    """The prompt + seed derived chord (MIDI notes) and arpeggio beat length."""

    notes: tuple[float, ...]
    beat: float
    total: int


def _tune(spec: RenderSpec) -> _Tune:
    digest = _digest(spec)
    root = 45.0 + digest[20] % 12
    notes = tuple(root + step for step in CHORDS[digest[21] % len(CHORDS)])
    total = round(spec.frames * AUDIO_RATE / spec.fps)
    return _Tune(notes=notes, beat=60.0 / (66 + digest[22] % 40), total=total)


def _audio_block(tune: _Tune, start: int, count: int) -> npt.NDArray[np.float32]:
    """Samples [start, start+count) of a stereo chord pad plus a soft, echoed arpeggio.

    Computed per block with a fixed gain (peak < 0.6) so memory stays O(block)."""
    notes = list(tune.notes)
    t = (start + np.arange(count, dtype=np.float64)) / AUDIO_RATE
    echo = np.maximum(t - 0.02, 0.0)
    left = _pad(notes, t, 0.9985) + 0.35 * _arpeggio(notes, t, tune.beat)
    right = _pad(notes, t, 1.0015) + 0.35 * _arpeggio(notes, echo, tune.beat)
    fade = min(0.3 * AUDIO_RATE, tune.total / 4)
    index = start + np.arange(count)
    envelope = np.minimum(1.0, np.minimum(index + 1, tune.total - index) / fade)
    return (np.stack([left, right]) * (envelope * AUDIO_GAIN)).astype(np.float32)


def _resampled(resampler: av.AudioResampler, frame: av.AudioFrame | None) -> list[F32]:
    """Resample one frame (None flushes) to float planar arrays of shape (channels, n)."""
    channels = resampler.layout.nb_channels
    return [
        np.asarray(out.to_ndarray(), dtype=np.float32).reshape(channels, -1)
        for out in resampler.resample(frame)
    ]


def _read_audio(data: bytes, limit: int) -> F32 | None:
    """Decode and resample to float stereo at AUDIO_RATE, stopping after ``limit`` samples.

    A mono source is played at full level on both channels (not downmixed by -3 dB)."""
    with av.open(io.BytesIO(data), mode="r") as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        layout = "mono" if stream.channels == 1 else "stereo"
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=AUDIO_RATE)
        parts = [np.zeros((resampler.layout.nb_channels, 0), dtype=np.float32)]
        count = 0
        for frame in container.decode(stream):
            fresh = _resampled(resampler, frame)
            parts += fresh
            count += sum(part.shape[1] for part in fresh)
            if count >= limit:
                break
        else:
            parts += _resampled(resampler, None)
    samples = np.concatenate(parts, axis=1)[:, :limit]
    return np.repeat(samples, 2, axis=0) if samples.shape[0] == 1 else samples


def _declick(samples: F32) -> F32:
    """Finite copy with short fades at both edges, so the start and each loop point are soft."""
    clean = np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
    fade = min(DECLICK_SAMPLES, clean.shape[1] // 2)
    if fade > 0:
        ramp = ((np.arange(fade, dtype=np.float32) + 0.5) / fade).astype(np.float32)
        clean[:, :fade] *= ramp
        clean[:, clean.shape[1] - fade :] *= ramp[::-1]
    return clean


def _decode_audio(data: bytes, name: str, limit: int) -> F32:
    """Decode a reference audio file once, raising ValueError that names the field."""
    try:
        samples = _read_audio(data, limit)
    except (av.FFmpegError, OSError, ValueError, IndexError) as exc:
        raise ValueError(f"{name} is not a decodable audio file: {exc}") from exc
    if samples is None or samples.shape[1] == 0:
        raise ValueError(f"{name} has no decodable audio")
    return _declick(samples)


@dataclass(frozen=True)
class _Soundtrack:
    """The audio track: the generated pad (``tone_gain`` 0 when off) plus the reference clips,
    each from t=0 and looped, summed with ``clip_gain``."""

    tune: _Tune
    tone_gain: float
    clips: tuple[F32, ...]
    clip_gain: float


def _soundtrack(spec: RenderSpec) -> _Soundtrack | None:
    """Decode the reference audio and set gains so that the mix cannot clip.

    The pad's peak is below TONE_PEAK (it is ducked to TONE_UNDER_REFS under references) and the
    summed references' peak is at most the sum of their peaks, which is scaled down (never up)
    to fit the rest of MIX_PEAK: references keep their own level unless the mix would clip."""
    tune = _tune(spec)
    clips = tuple(
        _decode_audio(bytes(data), f"reference_audios[{index}]", tune.total)
        for index, data in enumerate(spec.reference_audios)
    )
    if not clips and not spec.generate_audio:
        return None
    tone_gain = (TONE_UNDER_REFS if clips else 1.0) if spec.generate_audio else 0.0
    bound = sum(float(np.max(np.abs(clip))) for clip in clips)
    headroom = MIX_PEAK - TONE_PEAK * tone_gain
    clip_gain = min(1.0, headroom / bound) if bound > 0 else 0.0
    return _Soundtrack(tune=tune, tone_gain=tone_gain, clips=clips, clip_gain=clip_gain)


def _mix_block(track: _Soundtrack, start: int, count: int) -> F32:
    """Samples [start, start+count) of the track (computed per block: memory stays O(block))."""
    if not track.clips:
        return _audio_block(track.tune, start, count)
    index = start + np.arange(count)
    out = np.zeros((2, count), dtype=np.float64)
    for clip in track.clips:
        out += clip[:, index % clip.shape[1]]
    tail = np.minimum(1.0, (track.tune.total - index) / TAIL_FADE_SAMPLES)
    out *= track.clip_gain * tail
    if track.tone_gain:
        out += _audio_block(track.tune, start, count) * track.tone_gain
    return out.astype(np.float32)


def _audio_chunks(
    spec: RenderSpec, track: _Soundtrack
) -> Iterator[tuple[int, npt.NDArray[np.float32]]]:
    """Yields (first sample index, samples) once per video frame, following frame times."""
    for index in range(spec.frames):
        start = round(index * AUDIO_RATE / spec.fps)
        end = round((index + 1) * AUDIO_RATE / spec.fps)
        yield start, _mix_block(track, start, end - start)


# --------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------


def _add_video_stream(container: OutputContainer, spec: RenderSpec) -> VideoStream:
    stream = container.add_stream("libx264", rate=spec.fps)
    stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, "yuv420p"
    stream.options = {"preset": X264_PRESET, "crf": X264_CRF}
    ctx = stream.codec_context
    ctx.thread_type = "FRAME"  # frame threads: faster here, still deterministic in x264
    ctx.thread_count = ENCODER_THREADS
    ctx.time_base = Fraction(1, spec.fps)
    ctx.color_range = 1  # MPEG / limited range
    ctx.colorspace = 6  # SMPTE 170M (BT.601)
    ctx.color_primaries = 6
    ctx.color_trc = 6
    return stream


def _add_audio_stream(container: OutputContainer) -> AudioStream:
    stream = container.add_stream("aac", rate=AUDIO_RATE)
    stream.layout = "stereo"
    stream.bit_rate = AUDIO_BITRATE
    stream.codec_context.thread_count = 1
    return stream


def _save_png(frame: _FrameBuffer, path: Path) -> None:
    video_frame = av.VideoFrame.from_ndarray(frame.array, format="yuv420p")
    rgb = video_frame.to_ndarray(format="rgb24", src_colorspace="itu601", src_color_range=1)
    Image.fromarray(np.asarray(rgb, dtype=np.uint8), "RGB").save(path, format="PNG")


def _encode_audio(
    container: OutputContainer,
    stream: AudioStream,
    chunk: tuple[int, npt.NDArray[np.float32]] | None,
) -> None:
    """Encode one chunk (explicit pts so the muxer writes an edit list hiding AAC priming)."""
    frame = None
    if chunk is not None:
        frame = av.AudioFrame.from_ndarray(chunk[1], format="fltp", layout="stereo")
        frame.sample_rate = AUDIO_RATE
        frame.pts, frame.time_base = chunk[0], Fraction(1, AUDIO_RATE)
    container.mux(stream.encode(frame))


def _encode_frames(
    plan: _Plan,
    container: OutputContainer,
    png_path: Path | None,
    progress: Callable[[int], None],
) -> None:
    spec = plan.spec
    video = _add_video_stream(container, spec)
    track = plan.soundtrack
    audio = _add_audio_stream(container) if track is not None else None
    chunks = _audio_chunks(spec, track) if track is not None else None
    buffer, world, reported = _FrameBuffer(spec.width, spec.height), _World(plan), 0
    for index in range(spec.frames):
        _compose(plan, world, index, buffer.planes)
        if png_path is not None and index == spec.frames - 1:
            _save_png(buffer, png_path)
        if plan.watermark is not None:
            _paste(buffer.planes, plan.watermark, *plan.watermark_pos, FULL)
        video_frame = av.VideoFrame.from_ndarray(buffer.array, format="yuv420p")
        video_frame.pts, video_frame.time_base = index, Fraction(1, spec.fps)
        container.mux(video.encode(video_frame))
        if audio is not None and chunks is not None:
            _encode_audio(container, audio, next(chunks))
        percent = min(99, (index + 1) * 100 // spec.frames)
        if percent > reported:
            reported = percent
            progress(percent)
    container.mux(video.encode(None))
    if audio is not None:
        _encode_audio(container, audio, None)


def _ignore_progress(_: int) -> None:
    return None


def render(
    spec: RenderSpec, out_dir: Path, progress: Callable[[int], None] | None = None
) -> RenderOutput:
    """Writes out_dir/video.mp4 (and out_dir/last_frame.png when asked); calls progress(0..100)
    as frames are encoded."""
    _validate(spec)
    report = progress or _ignore_progress
    report(0)
    plan = _plan(spec)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    video_path, png_path = out_dir / VIDEO_NAME, out_dir / LAST_FRAME_NAME
    video_temp, png_temp = out_dir / f".{VIDEO_NAME}.part", out_dir / f".{LAST_FRAME_NAME}.part"
    options = {"movflags": "+faststart", "fflags": "+bitexact"}
    try:
        with av.open(str(video_temp), mode="w", format="mp4", options=options) as container:
            _encode_frames(plan, container, png_temp if spec.return_last_frame else None, report)
        if spec.return_last_frame:
            os.replace(png_temp, png_path)
        os.replace(video_temp, video_path)
    finally:
        video_temp.unlink(missing_ok=True)
        png_temp.unlink(missing_ok=True)
    report(100)
    return RenderOutput(
        video_path=video_path, last_frame_path=png_path if spec.return_last_frame else None
    )
