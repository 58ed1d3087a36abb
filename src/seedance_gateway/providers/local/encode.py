"""A pipeline's frames (and sound, for a model that makes it) as an H.264 MP4 with an AAC track,
and the last frame as a PNG, like the other providers' outputs: yuv420p, BT.601 limited range,
``+faststart``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from av.audio.stream import AudioStream
from av.container import OutputContainer
from PIL import Image

PRESET = "veryfast"  #: x264: a model's frames are worth a better preset than the preview's
CRF = "20"
AUDIO_BITRATE = 128_000


@dataclass(frozen=True)
class Soundtrack:
    """A model's sound: samples in [-1, 1], channels x samples, at ``rate`` per second."""

    samples: npt.NDArray[np.float32]
    rate: int


def write(
    frames: npt.NDArray[np.floating] | npt.NDArray[np.uint8],
    fps: int,
    video: Path,
    last_frame: Path | None = None,
    sound: Soundtrack | None = None,
) -> None:
    """Writes ``frames`` (frames x height x width x RGB, floats in [0, 1] or bytes) to
    ``video``, with ``sound`` as its AAC track (and its last frame to ``last_frame``), each
    whole or not at all."""
    pixels = _as_bytes(frames)
    count, height, width, _ = pixels.shape
    partial = video.with_name(f".{video.name}.part")
    try:
        options = {"movflags": "+faststart"}
        with av.open(str(partial), mode="w", format="mp4", options=options) as container:
            stream = container.add_stream("libx264", rate=fps)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.options = {"preset": PRESET, "crf": CRF}
            stream.codec_context.time_base = Fraction(1, fps)
            stream.codec_context.color_range = 1  # MPEG / limited range
            stream.codec_context.colorspace = 6  # SMPTE 170M (BT.601)
            track = _sound_stream(container, sound) if sound is not None else None
            for index in range(count):
                frame = av.VideoFrame.from_ndarray(pixels[index], format="rgb24")
                frame.pts = index
                container.mux(stream.encode(frame))
            container.mux(stream.encode(None))
            if track is not None and sound is not None:
                _write_sound(container, track, sound)
        os.replace(partial, video)
    finally:
        partial.unlink(missing_ok=True)
    if last_frame is not None:
        Image.fromarray(pixels[-1]).save(last_frame, format="PNG")


def _sound_stream(container: OutputContainer, sound: Soundtrack) -> AudioStream:
    """The container's AAC track for ``sound`` (mono or stereo, at its own rate)."""
    stream = container.add_stream("aac", rate=sound.rate)
    stream.layout = "mono" if _channels(sound).shape[0] == 1 else "stereo"
    stream.bit_rate = AUDIO_BITRATE
    return stream


def _write_sound(container: OutputContainer, stream: AudioStream, sound: Soundtrack) -> None:
    samples = _channels(sound)
    frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout=stream.layout.name)
    frame.sample_rate = sound.rate
    frame.pts, frame.time_base = 0, Fraction(1, sound.rate)
    container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def _channels(sound: Soundtrack) -> npt.NDArray[np.float32]:
    """The samples as channels x samples (at most two), float32 in [-1, 1]."""
    samples = np.clip(np.asarray(sound.samples, dtype=np.float32), -1.0, 1.0)
    if samples.ndim == 1:
        samples = samples[np.newaxis, :]
    return np.ascontiguousarray(samples[:2])


def _as_bytes(frames: npt.NDArray[np.floating] | npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    array = np.asarray(frames)
    if array.ndim == 5:  # a batch of one video
        array = array[0]
    if array.ndim != 4 or array.shape[-1] != 3:
        raise ValueError(f"expected frames x height x width x 3, got shape {array.shape}")
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    return np.ascontiguousarray((np.clip(array, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8))
