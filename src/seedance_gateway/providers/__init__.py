"""Providers produce the video. A tiny port; one file per adapter.

``preview`` (the default) renders on the CPU; ``ark`` (the real upstream) and ``local`` (open
weights on a GPU) come later and plug in the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from seedance_gateway.domain.requests import GenerationRequest

#: Reports progress, 0-100.
Progress = Callable[[int], Awaitable[None]]
#: Reads a reference's bytes by blob key.
ReadBlob = Callable[[str], Awaitable[bytes]]


@dataclass(frozen=True, kw_only=True)
class Output:
    """What a provider produced, as local files the worker then stores."""

    video: Path
    last_frame: Path | None = None


class Provider(Protocol):
    """Turns a normalized request into a video."""

    name: str

    async def generate(
        self,
        request: GenerationRequest,
        workdir: Path,
        *,
        read_blob: ReadBlob,
        progress: Progress,
    ) -> Output:
        """Produces the video in ``workdir``; raises ``ProviderError`` subclasses on failure."""
        ...

    async def close(self) -> None:
        """Releases pools and connections."""
        ...
