"""The media inspection vocabulary: what a file is (``MediaInfo``), the rules (``MediaLimits``)
and the refusal (``MediaRejected``)."""

from __future__ import annotations

from dataclasses import dataclass

from seedance_gateway.errors import ValidationFailed

KINDS = ("image", "video", "audio")


class MediaRejected(ValidationFailed):
    """The uploaded file is not acceptable media (400 validation_failed).

    ``rule`` names the rule that failed, for callers and logs: ``kind``, ``type``, ``size``,
    ``dimensions``, ``aspect``, ``pixels``, ``container``, ``codec``, ``streams``, ``duration``,
    ``corrupt`` or ``unreadable``.
    """

    def __init__(self, message: str, *, field: str | None = None, rule: str = "invalid") -> None:
        self.rule = rule
        super().__init__(message, field=field)


@dataclass(frozen=True, kw_only=True)
class MediaInfo:
    """What inspection found: the type from the bytes, the size, and the measurements."""

    kind: str  #: "image" | "video" | "audio"
    mime_type: str  #: from the bytes, never from a name or a client's content type
    extension: str  #: "png", "mp4", "m4a", ...
    size: int  #: bytes of the media: the file's, less any bytes after an image's own end
    width: int | None = None
    height: int | None = None
    duration: float | None = None  #: seconds, video and audio
    fps: float | None = None
    video_codec: str | None = None  #: FFmpeg's codec name: "h264", "vp9", ...
    audio_codec: str | None = None  #: "aac", "mp3", "pcm_s16le", "opus", ...
    has_audio: bool = False


@dataclass(frozen=True, kw_only=True)
class MediaLimits:
    """The rules an upload must meet. Defaults follow the Ark media limits, with smaller files."""

    image_max_bytes: int = 10 * 1024 * 1024
    video_max_bytes: int = 50 * 1024 * 1024
    audio_max_bytes: int = 10 * 1024 * 1024
    image_min_side: int = 300
    image_max_side: int = 6000
    image_min_aspect: float = 0.4  #: width / height
    image_max_aspect: float = 2.5
    max_image_pixels: int = 36_000_000  #: decompression-bomb threshold, checked before decoding
    video_min_seconds: float = 2.0
    video_max_seconds: float = 15.0
    audio_min_seconds: float = 2.0
    audio_max_seconds: float = 15.0
    video_max_pixels: int = 8_295_044  #: width x height of one frame


DEFAULT_LIMITS = MediaLimits()


def check_kind(kind: str, field: str = "kind") -> str:
    """``kind`` itself, or ``MediaRejected`` when it is not image, video or audio."""
    if kind not in KINDS:
        raise MediaRejected(
            f"{field}: kind must be one of {', '.join(KINDS)} (got {kind!r})",
            field=field,
            rule="kind",
        )
    return kind


def max_bytes_for(kind: str, limits: MediaLimits = DEFAULT_LIMITS) -> int:
    """The largest file accepted for ``kind``; callers enforce it while streaming too."""
    check_kind(kind)
    return {
        "image": limits.image_max_bytes,
        "video": limits.video_max_bytes,
        "audio": limits.audio_max_bytes,
    }[kind]
