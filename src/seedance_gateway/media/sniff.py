"""Magic-byte sniffing: what a file is from its first bytes, never from its name.

``sniff`` knows only the accepted types (see ``formats``); ``describe`` names a few common
refused ones so that a refusal can say what the file was.
"""

from __future__ import annotations

from seedance_gateway.media.formats import BY_MIME, FileType

#: How many leading bytes sniffing wants (an ID3 tag may push MP3 frames further; see
#: ``id3_size``).
HEAD_BYTES = 4096

_ISO_AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P "})
_ISO_VIDEO_BRANDS = frozenset(
    {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9", b"mp41",
     b"mp42", b"avc1", b"M4V ", b"M4VH", b"M4VP", b"dash", b"MSNV", b"mmp4", b"f4v ", b"XAVC",
     b"NDAS", b"hvc1", b"av01"}
)  # fmt: skip
_ISO_IMAGE_BRANDS = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis"}
)
#: Old QuickTime files may start with one of these atoms instead of ``ftyp``.
_QT_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"pnot"})
_TEXT_STARTS = (b"<!doctype", b"<html", b"<head", b"<body", b"<script", b"<?xml", b"<svg", b"{")


def sniff(head: bytes) -> tuple[str, str, str] | None:
    """``(kind, mime_type, extension)`` of an accepted type from the first bytes, else None."""
    found = sniff_type(head)
    return (found.kind, found.mime_type, found.extension) if found else None


def sniff_type(head: bytes) -> FileType | None:
    """The accepted ``FileType`` the first bytes announce, or None."""
    mime = _sniff_image(head) or _sniff_container(head) or _sniff_audio(head)
    return BY_MIME[mime] if mime else None


def describe(head: bytes) -> str | None:
    """A name for a common type that is not accepted ("a GIF image", "HTML document"), or None."""
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "a GIF image"
    if head[:2] == b"BM":
        return "a BMP image"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "a TIFF image"
    if head[4:8] == b"ftyp" and _iso_brands(head) & _ISO_IMAGE_BRANDS:
        return "a HEIF/AVIF image"
    if head[:4] == b"\x1aE\xdf\xa3":
        return "a Matroska (non-WebM) video"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "an AVI video"
    if head[:4] == b"fLaC":
        return "a FLAC audio file"
    if head[:5] == b"%PDF-":
        return "a PDF document"
    if head[:4] == b"PK\x03\x04":
        return "a ZIP archive"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return "a text/HTML document" if text.startswith(_TEXT_STARTS) else None


def id3_size(head: bytes) -> int:
    """Bytes taken by a leading ID3v2 tag (0 if none): MP3 frames start after it."""
    if len(head) < 10 or head[:3] != b"ID3" or any(b & 0x80 for b in head[6:10]):
        return 0
    size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
    footer = 10 if head[5] & 0x10 else 0
    return 10 + size + footer


def sniff_frames(data: bytes) -> str | None:
    """``audio/mpeg`` or ``audio/aac`` if ``data`` starts with an MP3 or ADTS frame header."""
    data = data.lstrip(b"\x00")
    if _is_adts(data):
        return "audio/aac"
    return "audio/mpeg" if _is_mp3_frame(data) else None


def _sniff_image(head: bytes) -> str | None:
    if head[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def _sniff_container(head: bytes) -> str | None:
    if head[4:8] == b"ftyp":
        return _sniff_iso(head)
    if head[4:8] in _QT_ATOMS:
        return "video/quicktime"
    if head[:4] == b"\x1aE\xdf\xa3":
        return "video/webm" if _ebml_doctype(head) == b"webm" else None
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:4] == b"OggS":
        return "audio/ogg"
    return None


def _sniff_audio(head: bytes) -> str | None:
    skip = id3_size(head)
    if skip == 0:
        return sniff_frames(head)
    if skip + 4 > len(head):
        return "audio/mpeg"  # the tag runs past the head: assume MP3, the demuxer confirms
    return sniff_frames(head[skip:])


def _iso_brands(head: bytes) -> set[bytes]:
    """The major and compatible brands of an ISO base media ``ftyp`` box."""
    size = min(int.from_bytes(head[:4], "big"), len(head), 256)
    brands = {head[8:12]}
    brands.update(head[i : i + 4] for i in range(16, size - 3, 4))
    return brands


def _sniff_iso(head: bytes) -> str | None:
    major = head[8:12]
    brands = _iso_brands(head)
    if major == b"qt  ":
        return "video/quicktime"
    if brands & _ISO_IMAGE_BRANDS:
        return None
    if major in _ISO_AUDIO_BRANDS:
        return "audio/mp4"
    if brands & _ISO_VIDEO_BRANDS:
        return "video/mp4"
    return "audio/mp4" if brands & _ISO_AUDIO_BRANDS else None


def _ebml_doctype(head: bytes) -> bytes | None:
    """The DocType string of an EBML header ("webm", "matroska"), or None."""
    at = head.find(b"\x42\x82", 4, 64)
    if at < 0 or at + 3 > len(head) or not head[at + 2] & 0x80:
        return None
    size = head[at + 2] & 0x7F
    return head[at + 3 : at + 3 + size]


def _is_mp3_frame(data: bytes) -> bool:
    """An MPEG-1/2/2.5 Layer III frame header with valid bitrate and sample-rate indexes."""
    if len(data) < 4 or data[0] != 0xFF or data[1] & 0xE0 != 0xE0:
        return False
    version, layer = (data[1] >> 3) & 3, (data[1] >> 1) & 3
    bitrate, rate = data[2] >> 4, (data[2] >> 2) & 3
    return version != 1 and layer == 1 and bitrate not in (0, 15) and rate != 3


def _is_adts(data: bytes) -> bool:
    """An ADTS header (12-bit sync, layer 0), and the next one where the buffer reaches it."""
    if len(data) < 7 or data[0] != 0xFF or data[1] & 0xF6 != 0xF0:
        return False
    if (data[2] >> 2) & 0xF > 12:
        return False
    length = ((data[3] & 3) << 11) | (data[4] << 3) | (data[5] >> 5)
    if length < 7:
        return False
    after = data[length : length + 2]
    return len(after) < 2 or (after[0] == 0xFF and after[1] & 0xF6 == 0xF0)
