"""Video and audio inspection with PyAV: forced demuxer, allow-lists, duration, integrity.

PyAV opens almost anything (a PNG renamed ``.mp4`` opens as ``png_pipe``), so nothing is left
to its probing: the demuxer is forced to the sniffed type, the container name, every codec and
the kind of streams are checked against allow-lists, and a duration is required.

The duration is the longest reading any player could take: what the scan measures (packet
timestamps, decoded audio samples) or the header's figure, whichever is longer. A header that
claims less than the file holds never wins; one that claims more than the data holds is a
truncated file.
"""

from __future__ import annotations

from pathlib import Path

import av
from av.audio.stream import AudioStream
from av.container import InputContainer
from av.video.stream import VideoStream

from seedance_gateway.media.formats import (
    AUDIO_CODECS,
    BY_MIME,
    MP4_FAMILY,
    VIDEO_CODECS,
    FileType,
    audio_codec_allowed,
    check_declared,
)
from seedance_gateway.media.model import MediaInfo, MediaLimits, MediaRejected
from seedance_gateway.media.scan import (
    Damaged,
    Exceeded,
    MediaStream,
    StreamScan,
    error_text,
    scan,
)

#: Enough to find every stream of a 15 s clip; "file" alone keeps FFmpeg off other protocols.
OPEN_OPTIONS = {"probesize": "5000000", "analyzeduration": "5000000", "protocol_whitelist": "file"}


def inspect_av(
    path: Path, ftype: FileType, declared_kind: str, size: int, limits: MediaLimits, field: str
) -> MediaInfo:
    """Probes, checks and scans a video or audio file; any damage becomes ``MediaRejected``."""
    try:
        options = {**OPEN_OPTIONS, **dict(ftype.demuxer_options)}
        with av.open(str(path), mode="r", format=ftype.demuxer, options=options) as c:
            return _inspect(_Probe(c, ftype, field), declared_kind, size, limits)
    except (av.FFmpegError, Damaged) as exc:
        raise MediaRejected(
            f"{field}: the {ftype.label} is truncated or corrupt ({error_text(exc)})",
            field=field,
            rule="corrupt",
        ) from exc


class _Probe:
    """An open container and the streams that matter: real video (no cover art) and audio."""

    def __init__(self, container: InputContainer, ftype: FileType, field: str) -> None:
        self.container = container
        self.field = field
        attached = av.stream.Disposition.attached_pic
        self.video: list[VideoStream] = [
            s for s in container.streams.video if not s.disposition & attached
        ]
        self.audio: list[AudioStream] = list(container.streams.audio)
        self.ftype = _resolve_type(ftype, self.video, self.audio, field)

    def reject(self, message: str, rule: str) -> MediaRejected:
        return MediaRejected(f"{self.field}: {message}", field=self.field, rule=rule)


def _inspect(probe: _Probe, declared_kind: str, size: int, limits: MediaLimits) -> MediaInfo:
    ftype = probe.ftype
    check_declared(ftype, declared_kind, probe.field)
    _check_container(probe)
    _check_codecs(probe)
    _check_frame_size(probe, limits)
    primary = probe.video[0] if ftype.kind == "video" else probe.audio[0]
    header = _header_duration(probe.container, primary, ftype)
    if header is not None and header > _duration_range(ftype.kind, limits)[1]:
        _check_duration(probe, header, limits)  # too long whatever the data holds: no scan
    scans = _scan(probe, limits)
    _check_complete(probe, scans, primary, header)
    duration = _longest(header, scans)
    if duration is None or duration <= 0:
        raise probe.reject(f"the {ftype.label} has no measurable duration", "duration")
    _check_duration(probe, duration, limits)
    return _info(probe, size, duration)


def _scan(probe: _Probe, limits: MediaLimits) -> dict[int, StreamScan]:
    """Scans the streams, stopping one second past the longest acceptable duration."""
    low, high = _duration_range(probe.ftype.kind, limits)
    try:
        streams = probe.video + probe.audio
        return scan(
            probe.container, streams, max_seconds=high + 1.0, short_tail=probe.ftype.short_tail
        )
    except Exceeded as exc:
        allowed = f"; it must last {low:g}-{high:g} s" if exc.rule == "duration" else ""
        raise probe.reject(f"{exc}{allowed}", exc.rule) from exc


def _resolve_type(
    ftype: FileType, video: list[VideoStream], audio: list[AudioStream], field: str
) -> FileType:
    """MP4 with video is video, without is M4A audio; other types must hold their kind."""
    if ftype.mime_type in MP4_FAMILY and (video or audio):
        ftype = BY_MIME["video/mp4" if video else "audio/mp4"]
    problem = None
    if not video and not audio:
        problem = "has no audio or video stream"
    elif ftype.kind == "video" and not video:
        problem = "has no video stream"
    elif ftype.kind == "audio" and video:
        problem = "contains a video stream; audio files must hold audio only"
    elif ftype.kind == "audio" and not audio:
        problem = "has no audio stream"
    if problem:
        raise MediaRejected(f"{field}: the {ftype.label} {problem}", field=field, rule="streams")
    return ftype


def _check_container(probe: _Probe) -> None:
    name = probe.container.format.name
    if name not in probe.ftype.containers:
        allowed = ", ".join(sorted(probe.ftype.containers))
        raise probe.reject(
            f"container format {name!r} does not match a {probe.ftype.label} (allowed: {allowed})",
            "container",
        )


def codec_name(stream: MediaStream) -> str:
    """FFmpeg's name of a stream's codec ("h264", "mp3", "av1"), whatever the decoder is."""
    ctx = stream.codec_context
    return str(ctx.codec.canonical_name) if ctx is not None else "unknown"


def _check_codecs(probe: _Probe) -> None:
    for name in [codec_name(s) for s in probe.video]:
        if name not in VIDEO_CODECS:
            allowed = ", ".join(sorted(VIDEO_CODECS))
            raise probe.reject(f"video codec {name!r} is not allowed (allowed: {allowed})", "codec")
    for name in [codec_name(s) for s in probe.audio]:
        if not audio_codec_allowed(name):
            allowed = ", ".join([*sorted(AUDIO_CODECS), "pcm_*"])
            raise probe.reject(f"audio codec {name!r} is not allowed (allowed: {allowed})", "codec")


def _check_frame_size(probe: _Probe, limits: MediaLimits) -> None:
    """Every video stream is decoded, so every one must fit the pixel limit."""
    for stream in probe.video:
        width, height = stream.codec_context.width, stream.codec_context.height
        if width <= 0 or height <= 0:
            raise probe.reject("video has no frame size", "dimensions")
        if width * height > limits.video_max_pixels:
            raise probe.reject(
                f"video is {width}x{height} = {width * height} pixels per frame; at most "
                f"{limits.video_max_pixels} are allowed",
                "pixels",
            )


def _header_duration(
    container: InputContainer, stream: MediaStream, ftype: FileType
) -> float | None:
    """The duration the container states, when it is more than an estimate; None otherwise."""
    if not ftype.header_duration:
        return None
    if stream.duration and stream.duration > 0 and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration and container.duration > 0:
        return float(container.duration) / av.time_base
    return None


def _longest(header: float | None, scans: dict[int, StreamScan]) -> float | None:
    """The longest of the header's duration and every scanned stream's measured extent."""
    readings = [s.seconds for s in scans.values() if s.seconds is not None]
    if header is not None:
        readings.append(header)
    return max(readings, default=None)


def _duration_range(kind: str, limits: MediaLimits) -> tuple[float, float]:
    if kind == "video":
        return limits.video_min_seconds, limits.video_max_seconds
    return limits.audio_min_seconds, limits.audio_max_seconds


def _check_duration(probe: _Probe, seconds: float, limits: MediaLimits) -> None:
    kind = probe.ftype.kind
    low, high = _duration_range(kind, limits)
    if not low <= seconds <= high:
        raise probe.reject(
            f"{kind} lasts {seconds:.2f} s; it must last {low:g}-{high:g} s", "duration"
        )


def _check_complete(
    probe: _Probe, scans: dict[int, StreamScan], primary: MediaStream, header: float | None
) -> None:
    """Refuses files whose data stops before what their header promises."""
    for stream in probe.video + probe.audio:
        found = scans[stream.index].packets
        counts_samples = codec_name(stream).startswith("pcm_")  # MP4/MOV count PCM samples
        if stream.frames and not counts_samples and found < stream.frames:
            raise probe.reject(
                f"the {probe.ftype.label} is truncated: its index lists {stream.frames} "
                f"{stream.type} packets, the file holds {found}",
                "corrupt",
            )
    measured = scans[primary.index].seconds
    if header is not None and measured is not None and measured + max(0.5, header / 10) < header:
        raise probe.reject(
            f"the {probe.ftype.label} is truncated: its header says {header:.2f} s, "
            f"the data covers {measured:.2f} s",
            "corrupt",
        )


def _info(probe: _Probe, size: int, duration: float) -> MediaInfo:
    video = probe.video[0] if probe.video else None
    audio = probe.audio[0] if probe.audio else None
    rate = (video.average_rate or video.guessed_rate) if video is not None else None
    return MediaInfo(
        kind=probe.ftype.kind,
        mime_type=probe.ftype.mime_type,
        extension=probe.ftype.extension,
        size=size,
        width=video.codec_context.width if video is not None else None,
        height=video.codec_context.height if video is not None else None,
        duration=round(duration, 3),
        fps=round(float(rate), 3) if rate else None,
        video_codec=codec_name(video) if video is not None else None,
        audio_codec=codec_name(audio) if audio is not None else None,
        has_audio=audio is not None,
    )
