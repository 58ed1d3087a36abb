"""Video and audio inspection (media.inspect with kind="video"/"audio"): PyAV with a forced
demuxer, codec allow-lists, duration rules and integrity checks. Fixtures are written with PyAV."""

from __future__ import annotations

import io
import random
import struct
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from seedance_gateway.media import MediaInfo, MediaLimits, MediaRejected, inspect, sniff
from seedance_gateway.media import scan as media_scan
from seedance_gateway.media.sniff import HEAD_BYTES, id3_size


def _tone(container: Any, stream: Any, seconds: float, rate: int) -> None:
    """Encodes ``seconds`` of a 440 Hz mono tone; PyAV re-frames and converts for the codec."""
    total, done = int(seconds * rate), 0
    while done < total:
        count = min(1024, total - done)
        t = np.arange(done, done + count) / rate
        samples = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = rate, done, Fraction(1, rate)
        container.mux(stream.encode(frame))
        done += count
    container.mux(stream.encode(None))


def write_video(
    path: Path,
    *,
    fmt: str | None = None,
    codec: str = "libx264",
    seconds: float = 3.0,
    fps: int = 12,
    size: tuple[int, int] = (64, 64),
    audio: str | None = None,
    options: dict[str, str] | None = None,
) -> Path:
    width, height = size
    with av.open(str(path), "w", format=fmt, options=options or {}) as container:
        video: Any = container.add_stream(codec, rate=fps)
        video.width, video.height = width, height
        video.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        video.codec_context.gop_size = 6  # several keyframes: exercises the sampled decode
        sound: Any = container.add_stream(audio, rate=48000) if audio else None
        if sound is not None:
            sound.layout = "mono"
        for i in range(int(seconds * fps)):
            pixels = np.full((height, width, 3), (i * 9) % 256, dtype=np.uint8)
            pixels[:, : i % width] = 255
            container.mux(video.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        container.mux(video.encode())
        if sound is not None:
            _tone(container, sound, seconds, 48000)
    return path


def write_audio(path: Path, fmt: str, codec: str, seconds: float = 3.0, rate: int = 48000) -> Path:
    with av.open(str(path), "w", format=fmt) as container:
        stream: Any = container.add_stream(codec, rate=rate)
        stream.layout = "mono"
        _tone(container, stream, seconds, rate)
    return path


def write_mp3_with_cover(path: Path) -> Path:
    """An MP3 whose ID3 tag holds a ~50 kB cover picture: the frames start far past 4 KiB."""
    noise = np.random.default_rng(1).integers(0, 256, (300, 300, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, "JPEG", quality=95)
    with av.open(str(path), "w", format="mp3") as container:
        sound: Any = container.add_stream("libmp3lame", rate=44100)
        sound.layout = "mono"
        cover: Any = container.add_stream("mjpeg")
        cover.width = cover.height = 300
        cover.pix_fmt = "yuvj420p"
        cover.disposition = av.stream.Disposition.attached_pic
        packet = av.Packet(buf.getvalue())
        packet.stream, packet.pts, packet.dts = cover, 0, 0
        container.mux(packet)
        _tone(container, sound, 3.0, 44100)
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every accepted format once, plus the shapes the rules must refuse."""
    d = tmp_path_factory.mktemp("clips")
    faststart = {"movflags": "+faststart"}
    return {
        "mp4": write_video(d / "v.mp4", audio="aac", options=faststart),
        "mp4_moov_last": write_video(d / "moov_last.mp4", seconds=4.0),
        "mp4_silent": write_video(d / "silent.mp4", options=faststart),
        "mov": write_video(d / "v.mov", fmt="mov", audio="pcm_s16le"),
        "webm": write_video(d / "v.webm", codec="libvpx-vp9", audio="libopus"),
        "wav": write_audio(d / "a.wav", "wav", "pcm_s16le"),
        "mp3": write_audio(d / "a.mp3", "mp3", "libmp3lame", rate=44100),
        "m4a": write_audio(d / "a.m4a", "ipod", "aac"),
        "mp4_audio_only": write_audio(d / "a.mp4", "mp4", "aac"),
        "ogg": write_audio(d / "a.ogg", "ogg", "libopus"),
        "ogg_flac": write_audio(d / "f.ogg", "ogg", "flac"),
        "aac": write_audio(d / "a.aac", "adts", "aac"),
        "webm_audio_only": write_audio(d / "a.webm", "webm", "libopus"),
        "mp3_cover": write_mp3_with_cover(d / "cover.mp3"),
        "video_16s": write_video(d / "long.mp4", seconds=16.0, fps=6),
        "video_1s": write_video(d / "short.mp4", seconds=1.0),
        "audio_16s": write_audio(d / "long.wav", "wav", "pcm_s16le", seconds=16.0, rate=8000),
        "audio_1s": write_audio(d / "short.ogg", "ogg", "libopus", seconds=1.0),
        "mjpeg_mov": write_video(d / "mj.mov", fmt="mov", codec="mjpeg"),
        "ac3_mp4": write_video(d / "ac3.mp4", audio="ac3"),
    }


def rejected(path: Path, kind: str, limits: MediaLimits | None = None) -> MediaRejected:
    with pytest.raises(MediaRejected) as caught:
        inspect(path, kind, limits or MediaLimits(), field="media")
    assert caught.value.field == "media"
    return caught.value


def damaged_copy(source: Path, target: Path, keep: int, noise: int = 0) -> Path:
    """The first ``keep`` bytes of ``source``, then ``noise`` random bytes."""
    target.write_bytes(source.read_bytes()[:keep] + random.Random(7).randbytes(noise))
    return target


@pytest.mark.parametrize(
    ("name", "mime", "ext", "video_codec", "audio_codec"),
    [
        ("mp4", "video/mp4", "mp4", "h264", "aac"),
        ("mov", "video/quicktime", "mov", "h264", "pcm_s16le"),
        ("mp4_silent", "video/mp4", "mp4", "h264", None),
        ("webm", "video/webm", "webm", "vp9", "opus"),
    ],
)
def test_allowed_videos_are_measured(
    clips: dict[str, Path],
    name: str,
    mime: str,
    ext: str,
    video_codec: str,
    audio_codec: str | None,
) -> None:
    path = clips[name]
    info = inspect(path, "video")
    assert (info.kind, info.mime_type, info.extension) == ("video", mime, ext)
    assert (info.width, info.height, info.size) == (64, 64, path.stat().st_size)
    assert info.duration == pytest.approx(3.0, abs=0.1)
    assert info.fps == pytest.approx(12.0)
    assert (info.video_codec, info.audio_codec) == (video_codec, audio_codec)
    assert info.has_audio is (audio_codec is not None)
    assert sniff(path.read_bytes()[:4096]) == ("video", mime, ext)


@pytest.mark.parametrize(
    ("name", "mime", "ext", "codec"),
    [
        ("wav", "audio/wav", "wav", "pcm_s16le"),
        ("mp3", "audio/mpeg", "mp3", "mp3"),
        ("m4a", "audio/mp4", "m4a", "aac"),
        ("ogg", "audio/ogg", "ogg", "opus"),
        ("ogg_flac", "audio/ogg", "ogg", "flac"),
        ("aac", "audio/aac", "aac", "aac"),
        ("mp3_cover", "audio/mpeg", "mp3", "mp3"),
    ],
)
def test_allowed_audio_is_measured(
    clips: dict[str, Path], name: str, mime: str, ext: str, codec: str
) -> None:
    path = clips[name]
    info = inspect(path, "audio")
    expected = MediaInfo(
        kind="audio",
        mime_type=mime,
        extension=ext,
        size=path.stat().st_size,
        duration=info.duration,
        audio_codec=codec,
        has_audio=True,
    )
    assert info == expected
    assert info.duration == pytest.approx(3.0, abs=0.1)


def test_mp3_frames_are_found_past_a_long_id3_tag(clips: dict[str, Path]) -> None:
    path = clips["mp3_cover"]
    assert id3_size(path.read_bytes()[:HEAD_BYTES]) > HEAD_BYTES  # the cover art is in the tag
    info = inspect(path, "audio")
    assert (info.mime_type, info.audio_codec, info.has_audio) == ("audio/mpeg", "mp3", True)
    assert info.width is None  # the cover picture is not a video stream


def test_inspections_run_side_by_side_in_threads(clips: dict[str, Path]) -> None:
    jobs = [("mp4", "video"), ("webm", "video"), ("m4a", "audio"), ("ogg", "audio")] * 3
    with ThreadPoolExecutor(max_workers=4) as pool:
        infos = list(pool.map(lambda job: inspect(clips[job[0]], job[1]), jobs))
    assert [info.kind for info in infos] == [kind for _, kind in jobs]


def test_audio_only_mp4_is_audio(clips: dict[str, Path]) -> None:
    path = clips["mp4_audio_only"]
    assert sniff(path.read_bytes()[:64]) == ("video", "video/mp4", "mp4")  # the brand says video
    info = inspect(path, "audio")  # the streams say audio
    assert (info.kind, info.mime_type, info.extension) == ("audio", "audio/mp4", "m4a")
    error = rejected(path, "video")
    assert error.rule == "type" and "file is an M4A audio, but kind is video" in error.message


def test_m4a_is_not_a_video(clips: dict[str, Path]) -> None:
    error = rejected(clips["m4a"], "video")
    assert "file is an M4A audio, but kind is video" in error.message


def test_video_is_not_audio(clips: dict[str, Path]) -> None:
    error = rejected(clips["mp4"], "audio")
    assert error.rule == "type" and "file is an MP4 video, but kind is audio" in error.message


def test_audio_is_not_an_image(clips: dict[str, Path]) -> None:
    error = rejected(clips["ogg"], "image")
    assert "file is an Ogg audio, but kind is image" in error.message


def test_webm_without_video_is_refused(clips: dict[str, Path]) -> None:
    error = rejected(clips["webm_audio_only"], "video")
    assert error.rule == "streams" and "has no video stream" in error.message


@pytest.mark.parametrize("name", ["mp4", "mp4_moov_last"])
def test_truncated_mp4_is_refused(clips: dict[str, Path], tmp_path: Path, name: str) -> None:
    source = clips[name]
    cut = damaged_copy(source, tmp_path / "cut.mp4", source.stat().st_size // 2)
    error = rejected(cut, "video")
    assert error.rule == "corrupt" and "truncated or corrupt" in error.message
    assert str(tmp_path) not in error.message  # FFmpeg's errors name the file: not to clients


@pytest.mark.parametrize(("keep", "reason"), [(64, "no audio or video stream"), (1000, "corrupt")])
def test_mp4_with_random_bytes_after_the_header_is_refused(
    clips: dict[str, Path], tmp_path: Path, keep: int, reason: str
) -> None:
    broken = damaged_copy(clips["mp4"], tmp_path / "noise.mp4", keep=keep, noise=20_000)
    error = rejected(broken, "video")
    assert error.rule in ("corrupt", "streams") and reason in error.message
    assert "Errno" not in error.message and str(tmp_path) not in error.message


@pytest.mark.parametrize("name", ["wav", "ogg", "webm"])
def test_other_truncated_files_are_refused(
    clips: dict[str, Path], tmp_path: Path, name: str
) -> None:
    source = clips[name]
    cut = damaged_copy(source, tmp_path / source.name, source.stat().st_size // 3)
    kind = "video" if name == "webm" else "audio"
    assert rejected(cut, kind).rule in ("corrupt", "duration")


def test_random_bytes_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "random.mp4"
    path.write_bytes(random.Random(3).randbytes(50_000))
    error = rejected(path, "video")
    assert error.rule == "type" and "not a recognized image/video/audio file" in error.message


def test_too_long_video_is_refused(clips: dict[str, Path]) -> None:
    error = rejected(clips["video_16s"], "video")
    assert error.rule == "duration"
    assert "video lasts 16.00 s; it must last 2-15 s" in error.message


def test_too_short_video_is_refused(clips: dict[str, Path]) -> None:
    error = rejected(clips["video_1s"], "video")
    assert error.rule == "duration" and "lasts 1.00 s" in error.message


def test_too_long_audio_is_refused(clips: dict[str, Path]) -> None:
    error = rejected(clips["audio_16s"], "audio")
    assert error.rule == "duration" and "audio lasts 16.00 s" in error.message


def test_too_short_audio_is_refused(clips: dict[str, Path]) -> None:
    assert rejected(clips["audio_1s"], "audio").rule == "duration"


def test_long_file_without_a_stated_duration_is_not_scanned_to_the_end(
    clips: dict[str, Path],
) -> None:
    limits = MediaLimits(audio_min_seconds=0.5, audio_max_seconds=1.0)
    error = rejected(clips["aac"], "audio", limits)  # raw ADTS: duration only by reading it
    assert error.rule == "duration"
    assert "audio lasts more than 2 s; it must last 0.5-1 s" in error.message


def test_absurd_packet_counts_are_refused(
    clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(media_scan, "MAX_PACKETS", 10)
    error = rejected(clips["mp4"], "video")
    assert error.rule == "streams" and "more than 10 packets" in error.message


def test_duration_limits_are_configurable(clips: dict[str, Path]) -> None:
    info = inspect(clips["video_16s"], "video", MediaLimits(video_max_seconds=20))
    assert info.duration == pytest.approx(16.0)


def test_too_many_pixels_per_frame_is_refused(clips: dict[str, Path]) -> None:
    error = rejected(clips["mov"], "video", MediaLimits(video_max_pixels=64 * 63))
    assert error.rule == "pixels" and "64x64 = 4096 pixels" in error.message


def test_oversize_video_is_refused(clips: dict[str, Path]) -> None:
    size = clips["mp4"].stat().st_size
    error = rejected(clips["mp4"], "video", MediaLimits(video_max_bytes=size - 1))
    assert error.rule == "size" and f"file is {size} bytes" in error.message


def test_oversize_audio_is_refused(clips: dict[str, Path]) -> None:
    assert rejected(clips["wav"], "audio", MediaLimits(audio_max_bytes=1000)).rule == "size"


def test_video_codec_off_the_allow_list_is_refused(clips: dict[str, Path]) -> None:
    error = rejected(clips["mjpeg_mov"], "video")
    assert error.rule == "codec" and "video codec 'mjpeg' is not allowed" in error.message


def test_audio_codec_off_the_allow_list_is_refused(clips: dict[str, Path]) -> None:
    error = rejected(clips["ac3_mp4"], "video")
    assert error.rule == "codec" and "audio codec 'ac3' is not allowed" in error.message


# --- durations come from the data, never from a header that claims less ----------------------


def wav_with(
    seconds: float,
    *,
    declared: float | None = None,
    after: bytes = b"",
    rate: int = 16000,
    channels: int = 1,
) -> bytes:
    """A 16-bit PCM WAV holding ``seconds`` of tone whose ``data`` size says ``declared`` s,
    followed by ``after`` (other RIFF chunks)."""
    t = np.arange(int(seconds * rate)) / rate
    samples = np.repeat((8000 * np.sin(2 * np.pi * 440 * t)).astype("<i2"), channels).tobytes()
    block = 2 * channels
    size = len(samples) if declared is None else int(declared * rate) * block
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 36 + size + len(after), b"WAVE", b"fmt ", 16, 1, channels, rate, rate * block,
        block, 16, b"data", size,
    )  # fmt: skip
    return header + samples + after


def riff_chunk(kind: bytes, data: bytes) -> bytes:
    return kind + struct.pack("<I", len(data)) + data + b"\x00" * (len(data) % 2)


def scaled_boxes(data: bytes, scale: float, boxes: dict[bytes, int]) -> bytes:
    """``data`` with the 32-bit field at ``offset`` of each named box multiplied by ``scale``."""
    out = bytearray(data)
    for box, offset in boxes.items():
        at = out.find(box) - 4 + offset
        (value,) = struct.unpack_from(">I", out, at)
        struct.pack_into(">I", out, at, int(value * scale))
    return bytes(out)


#: Where the duration fields sit in version-0 boxes (from the box's first byte).
HEADER_DURATIONS = {b"mvhd": 24, b"tkhd": 28, b"mdhd": 24}


def test_a_wav_whose_header_claims_5_s_but_holds_60_s_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "lie.wav"
    path.write_bytes(wav_with(60, declared=5))
    error = rejected(path, "audio")
    assert error.rule == "duration"
    assert "audio lasts more than 16 s; it must last 2-15 s" in error.message
    info = inspect(path, "audio", MediaLimits(audio_max_seconds=100))
    assert info.duration == pytest.approx(60.0, abs=0.01)


def test_a_wav_is_measured_to_its_last_sample_not_its_header(tmp_path: Path) -> None:
    path = tmp_path / "lie.wav"
    path.write_bytes(wav_with(8, declared=3))
    assert inspect(path, "audio").duration == pytest.approx(8.0, abs=0.01)


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("extra", [b"", b"x"])
def test_a_wav_with_a_chunk_after_its_data_keeps_about_its_true_duration(
    tmp_path: Path, channels: int, extra: bytes
) -> None:
    """Chunks after ``data`` (LIST INFO, odd sizes) are read as a few samples more: the file
    is accepted, and measures its true length within milliseconds."""
    info_list = riff_chunk(b"LIST", b"INFOISFT" + riff_chunk(b"ISFT", b"Lavf60.3.100\x00"))
    path = tmp_path / "tagged.wav"
    path.write_bytes(wav_with(3, after=info_list + extra, channels=channels))
    assert inspect(path, "audio").duration == pytest.approx(3.0, abs=0.01)


def test_a_wav_cut_short_inside_its_data_measures_what_it_holds(tmp_path: Path) -> None:
    path = tmp_path / "cut.wav"
    path.write_bytes(wav_with(6)[: 44 + 3 * 2 * 16000 + 1])  # header says 6 s, 3 s are there
    assert inspect(path, "audio").duration == pytest.approx(3.0, abs=0.01)


@pytest.mark.parametrize(
    "boxes", [HEADER_DURATIONS, {b"elst": 16}, {**HEADER_DURATIONS, b"elst": 16}]
)
def test_an_mp4_whose_headers_claim_less_than_its_frames_measures_its_frames(
    tmp_path: Path, boxes: dict[bytes, int]
) -> None:
    """mvhd/tkhd/mdhd (and the edit list) say 3 s; the sample tables hold 12 s of frames."""
    honest = write_video(tmp_path / "v.mp4", seconds=12.0, fps=6)
    assert inspect(honest, "video").duration == pytest.approx(12.0, abs=0.1)
    liar = tmp_path / "liar.mp4"
    liar.write_bytes(scaled_boxes(honest.read_bytes(), 0.25, boxes))
    with av.open(str(liar)) as container:  # FFmpeg itself believes the header
        assert container.duration == pytest.approx(3_000_000, rel=0.05)
    assert inspect(liar, "video").duration == pytest.approx(12.0, abs=0.1)


def test_an_m4a_whose_sample_table_squeezes_12_s_into_3_s_measures_its_samples(
    tmp_path: Path,
) -> None:
    """Every stts delta (and every header) divided by 4: timestamps say 3 s; the decoder
    makes 12 s of sound, and that is the duration."""
    honest = write_audio(tmp_path / "a.m4a", "ipod", "aac", seconds=12.0)
    data = bytearray(scaled_boxes(honest.read_bytes(), 0.25, {**HEADER_DURATIONS, b"elst": 16}))
    stts = data.find(b"stts") - 4
    (entries,) = struct.unpack_from(">I", data, stts + 12)
    for index in range(entries):
        at = stts + 20 + 8 * index
        struct.pack_into(">I", data, at, struct.unpack_from(">I", data, at)[0] // 4)
    liar = tmp_path / "liar.m4a"
    liar.write_bytes(bytes(data))
    with av.open(str(liar)) as container:
        assert container.duration == pytest.approx(3_000_000, rel=0.05)
    assert inspect(liar, "audio").duration == pytest.approx(12.0, abs=0.1)
    error = rejected(liar, "audio", MediaLimits(audio_max_seconds=10))
    assert error.rule == "duration" and "more than 11 s" in error.message
