"""Video tokens as the upstream reports them in ``usage`` (research/ark-official-api.md §4).

tokens = W x H x frames / 1024, where a request by seconds makes ``24 x seconds + 1`` frames
(the official example: 1280 x 720 x 121 / 1024 = 108 900) and a request by ``frames`` makes
exactly that many.
"""

from __future__ import annotations

from seedance_gateway.domain.requests import GenerationRequest


def output_frames(request: GenerationRequest) -> int:
    """Frames the upstream would produce: ``frames`` as asked (25 + 4n), or seconds x fps + 1."""
    by_seconds = request.frames % request.fps == 0  # 25 + 4n is odd, never a multiple of 24
    return request.frames + 1 if by_seconds else request.frames


def video_tokens(request: GenerationRequest) -> int:
    """``completion_tokens`` (= ``total_tokens``; input tokens are always 0)."""
    return request.width * request.height * output_frames(request) // 1024


def echoed_duration(request: GenerationRequest) -> int:
    """Whole seconds of output, as the upstream echoes ``duration`` (frames // fps)."""
    return output_frames(request) // request.fps


def requested_by_frames(request: GenerationRequest) -> bool:
    """Whether the client asked for a frame count (then ``frames`` is echoed, not ``duration``)."""
    return request.frames % request.fps != 0
