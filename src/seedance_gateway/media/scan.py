"""Integrity scan of a media file: demux every packet, decode a sample of them.

Every packet of the chosen streams is read (cheap: no decoding), which proves the container's
index points at data that is really there and measures each stream's extent. Decoding is
sampled so that a 15 s 4K clip stays fast: the first ``HEAD_PACKETS`` packets, every keyframe,
and the whole last group of pictures (from the last keyframe to the end). Audio packets are all
keyframes, so audio is decoded in full, and its length is also counted in decoded samples: a
sample table that squeezes 60 s of audio into 5 s of timestamps still measures 60 s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import av
from av.audio.stream import AudioStream
from av.container import InputContainer
from av.video.stream import VideoStream

if TYPE_CHECKING:
    from av.packet import Packet as _Packet
    from av.stream import Stream

    Packet = _Packet[Stream]

HEAD_PACKETS = 16
#: No accepted clip comes near this many packets in one stream (60 fps x 15 s is 900).
MAX_PACKETS = 20_000

MediaStream = VideoStream | AudioStream


class Damaged(Exception):
    """The file's data is truncated or corrupt; the message says where."""


class Exceeded(Exception):
    """Scanning stopped early: the file holds more than any accepted clip could."""

    def __init__(self, message: str, *, rule: str) -> None:
        self.rule = rule
        super().__init__(message)


def error_text(exc: BaseException) -> str:
    """An error's message without the file's path (FFmpeg errors carry it)."""
    if isinstance(exc, av.FFmpegError):
        return str(exc.strerror or type(exc).__name__)
    return str(exc)


@dataclass(frozen=True, kw_only=True)
class StreamScan:
    """What scanning one stream found."""

    packets: int  #: packets demuxed
    frames: int  #: frames decoded from the sampled packets
    #: the longer of the packets' timestamp extent and the decoded audio's length; None when
    #: there are neither timestamps nor decoded samples
    seconds: float | None


class _Sampler:
    """Feeds one stream's decoder the sampled packets, in decode order."""

    def __init__(self, stream: MediaStream, short_tail: bool) -> None:
        self.stream = stream
        self.short_tail = short_tail  #: the last packet may be cut short by the end of the file
        self.cut_at: float | None = None  #: where a packet cut short was met
        self.packets = 0
        self.frames = 0
        self.tail: list[Packet] = []  #: packets after the last one decoded, all non-key
        self.start: float | None = None
        self.end: float | None = None
        self.sample_seconds = 0.0  #: length of the audio decoded so far

    def add(self, packet: Packet, max_seconds: float) -> None:
        self.packets += 1
        at = self._track_time(packet)
        self._check_limits(max_seconds)
        if self.cut_at is not None:  # the packet cut short was not the last one
            raise Damaged(f"{self.stream.type} packet at {self.cut_at:.2f} s is damaged")
        if packet.is_corrupt:
            if not self.short_tail:
                raise Damaged(f"{self.stream.type} packet at {at:.2f} s is damaged")
            self.cut_at = at  # measured, not decoded: it may hold less than one sample
            return
        if self.packets <= HEAD_PACKETS:
            self._decode(packet, at)
        elif packet.is_keyframe:
            if self.tail:  # skip the rest of this group: drain, reset, restart at the keyframe
                self.tail.clear()
                self._decode(None, at)
                self.stream.codec_context.flush_buffers()
            self._decode(packet, at)
        else:
            self.tail.append(packet)

    def _check_limits(self, max_seconds: float) -> None:
        if self.packets > MAX_PACKETS:
            raise Exceeded(
                f"{self.stream.type} stream has more than {MAX_PACKETS} packets", rule="streams"
            )
        extent = self.extent()
        if extent is not None and extent > max_seconds:
            raise Exceeded(f"{self.stream.type} lasts more than {max_seconds:g} s", rule="duration")

    def extent(self) -> float | None:
        """The longest reading so far: timestamps' extent or decoded audio, whichever is more."""
        stamps = None if self.start is None or self.end is None else self.end - self.start
        if not self.sample_seconds:
            return stamps
        return max(stamps or 0.0, self.sample_seconds)

    def finish(self) -> StreamScan:
        for packet in self.tail:
            self._decode(packet, self._seconds(packet) or 0.0)
        self._decode(None, self.end or 0.0)
        if self.packets and not self.frames:
            raise Damaged(f"no {self.stream.type} frame could be decoded")
        return StreamScan(packets=self.packets, frames=self.frames, seconds=self.extent())

    def _decode(self, packet: Packet | None, at: float) -> None:
        try:
            frames = self.stream.decode(packet)
        except av.FFmpegError as exc:
            raise Damaged(
                f"{self.stream.type} data at {at:.2f} s cannot be decoded ({error_text(exc)})"
            ) from exc
        for frame in frames:
            if frame.is_corrupt:
                raise Damaged(f"{self.stream.type} frame at {at:.2f} s is corrupt")
            self.frames += 1
            if isinstance(frame, av.AudioFrame) and frame.sample_rate > 0:
                self.sample_seconds += frame.samples / frame.sample_rate

    def _seconds(self, packet: Packet) -> float | None:
        ts = packet.pts if packet.pts is not None else packet.dts
        return None if ts is None else float(ts * packet.time_base)

    def _track_time(self, packet: Packet) -> float:
        at = self._seconds(packet)
        if at is None:
            return self.end or 0.0
        length = float((packet.duration or 0) * packet.time_base)
        self.start = at if self.start is None else min(self.start, at)
        self.end = at + length if self.end is None else max(self.end, at + length)
        return at


def scan(
    container: InputContainer,
    streams: list[MediaStream],
    max_seconds: float,
    *,
    short_tail: bool = False,
) -> dict[int, StreamScan]:
    """Scans ``streams`` of an open input container.

    Raises ``Damaged`` or ``av.FFmpegError`` for damage, ``Exceeded`` as soon as a stream runs
    past ``max_seconds`` or ``MAX_PACKETS`` (so a long low-bitrate file is not decoded in full).
    ``short_tail``: the demuxer reads to the end of the file, so a stream's last packet may be
    cut short (FFmpeg flags it corrupt); only that last one is forgiven.
    """
    samplers = {s.index: _Sampler(s, short_tail) for s in streams}
    for packet in container.demux(*streams):
        if packet.size == 0:  # the demuxer's end-of-stream marker
            continue
        samplers[packet.stream_index].add(packet, max_seconds)
    return {index: sampler.finish() for index, sampler in samplers.items()}
