"""The accepted file types and, for each, how it is parsed: the allow-lists live here."""

from __future__ import annotations

from dataclasses import dataclass

from seedance_gateway.media.model import MediaRejected


@dataclass(frozen=True, kw_only=True)
class FileType:
    """One accepted file type, as sniffing names it and as the parsers must confirm it."""

    kind: str  #: "image" | "video" | "audio"
    mime_type: str
    extension: str
    label: str  #: for messages: "PNG image"
    article: str = "a"  #: "a" or "an", to go before ``label``
    pillow_format: str | None = None  #: the only Pillow plugin allowed to open it
    demuxer: str | None = None  #: the FFmpeg demuxer forced when opening it with PyAV
    containers: frozenset[str] = frozenset()  #: accepted ``container.format.name`` values
    header_duration: bool = True  #: False: the container's duration is an estimate, measure it
    #: FFmpeg demuxer options that hand over every sample the file holds, whatever its header
    #: says (a WAV's data size, an MP4's edit list)
    demuxer_options: tuple[tuple[str, str], ...] = ()
    short_tail: bool = False  #: the last packet may be cut short by the end of the file

    @property
    def a_label(self) -> str:
        """The label with its article: "an MP4 video"."""
        return f"{self.article} {self.label}"


_MOV = frozenset({"mov,mp4,m4a,3gp,3g2,mj2", "mov", "mp4"})
_WHOLE_MOV = (("ignore_editlist", "1"),)  #: every sample, not only the edit list's span

FILE_TYPES: tuple[FileType, ...] = (
    FileType(
        kind="image", mime_type="image/jpeg", extension="jpg", label="JPEG image",
        pillow_format="JPEG",
    ),
    FileType(
        kind="image", mime_type="image/png", extension="png", label="PNG image",
        pillow_format="PNG",
    ),
    FileType(
        kind="image", mime_type="image/webp", extension="webp", label="WebP image",
        pillow_format="WEBP",
    ),
    FileType(
        kind="video", mime_type="video/mp4", extension="mp4", label="MP4 video", article="an",
        demuxer="mov", containers=_MOV, demuxer_options=_WHOLE_MOV,
    ),
    FileType(
        kind="video", mime_type="video/quicktime", extension="mov", label="QuickTime video",
        demuxer="mov", containers=_MOV, demuxer_options=_WHOLE_MOV,
    ),
    FileType(
        kind="video", mime_type="video/webm", extension="webm", label="WebM video",
        demuxer="webm", containers=frozenset({"matroska,webm", "matroska", "webm"}),
    ),
    FileType(
        kind="audio", mime_type="audio/mpeg", extension="mp3", label="MP3 audio", article="an",
        demuxer="mp3", containers=frozenset({"mp3"}), header_duration=False,
    ),
    FileType(
        kind="audio", mime_type="audio/wav", extension="wav", label="WAV audio",
        demuxer="wav", containers=frozenset({"wav"}),
        demuxer_options=(("ignore_length", "1"),), short_tail=True,
    ),
    FileType(
        kind="audio", mime_type="audio/aac", extension="aac", label="AAC (ADTS) audio",
        article="an", demuxer="aac", containers=frozenset({"aac"}), header_duration=False,
    ),
    FileType(
        kind="audio", mime_type="audio/mp4", extension="m4a", label="M4A audio", article="an",
        demuxer="mov", containers=_MOV, demuxer_options=_WHOLE_MOV,
    ),
    FileType(
        kind="audio", mime_type="audio/ogg", extension="ogg", label="Ogg audio", article="an",
        demuxer="ogg", containers=frozenset({"ogg"}),
    ),
)  # fmt: skip

BY_MIME: dict[str, FileType] = {t.mime_type: t for t in FILE_TYPES}
#: Stored names end in the sniffed type's extension, so a stored name's extension is its type.
BY_EXTENSION: dict[str, FileType] = {t.extension: t for t in FILE_TYPES}

#: Video codecs accepted in video files (FFmpeg codec names).
VIDEO_CODECS = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg4"})
#: Audio codecs accepted in video and audio files; any ``pcm_*`` is accepted too.
AUDIO_CODECS = frozenset({"aac", "mp3", "mp3float", "opus", "vorbis", "flac"})

#: The MP4 family: sniffing cannot tell MP4 from M4A for sure, the streams decide.
MP4_FAMILY = frozenset({"video/mp4", "audio/mp4"})


def audio_codec_allowed(name: str) -> bool:
    """Whether an audio codec is on the allow-list."""
    return name in AUDIO_CODECS or name.startswith("pcm_")


def allowed_summary() -> str:
    """The allowed types in a sentence fragment, for messages."""
    parts = []
    for kind in ("image", "video", "audio"):
        exts = [t.extension for t in FILE_TYPES if t.kind == kind]
        parts.append(f"{kind} ({', '.join(exts)})")
    return "; ".join(parts)


def check_declared(ftype: FileType, declared_kind: str, field: str) -> None:
    """Refuses bytes of another kind than the one the caller declared."""
    if ftype.kind != declared_kind:
        raise MediaRejected(
            f"{field}: file is {ftype.a_label}, but kind is {declared_kind}",
            field=field,
            rule="type",
        )
