"""``providers.local.encode``: a pipeline's frames, and sound where the model makes it, as the
MP4 every provider writes (H.264, and an AAC track)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from seedance_gateway.providers.local.encode import Soundtrack, write

FRAMES = np.random.default_rng(0).random((25, 64, 64, 3)).astype(np.float32)


def tone(seconds: float, rate: int, channels: int) -> Soundtrack:
    t = np.arange(int(seconds * rate)) / rate
    wave = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    return Soundtrack(np.stack([wave] * channels), rate)


@pytest.mark.parametrize(("channels", "layout"), [(1, "mono"), (2, "stereo")])
def test_the_sound_becomes_an_aac_track_as_long_as_the_video(
    tmp_path: Path, channels: int, layout: str
) -> None:
    video = tmp_path / "video.mp4"
    write(FRAMES, 24, video, sound=tone(25 / 24, 16000, channels))
    with av.open(str(video)) as container:
        picture, sound = container.streams.video[0], container.streams.audio[0]
        assert (picture.codec_context.name, sound.codec_context.name) == ("h264", "aac")
        assert (sound.rate, sound.layout.name) == (16000, layout)
        decoded = list(container.decode(audio=0))
    heard = sum(f.samples for f in decoded) / 16000
    assert abs(heard - 25 / 24) < 0.1  # AAC rounds up to whole 1024-sample frames
    loudest = max(float(np.abs(f.to_ndarray()).max()) for f in decoded)
    assert 0.3 < loudest < 0.7  # the tone, not silence


def test_without_sound_there_is_no_audio_track(tmp_path: Path) -> None:
    video = tmp_path / "video.mp4"
    write(FRAMES, 24, video)
    with av.open(str(video)) as container:
        assert not container.streams.audio and container.streams.video[0].frames in (0, 25)
