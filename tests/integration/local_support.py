"""What the provider ``local`` tests share: a small request, and blob and progress stand-ins."""

from __future__ import annotations

from seedance_gateway.catalog import Mode
from seedance_gateway.domain.requests import GenerationRequest, Reference

WAN = "wan-2-1-t2v-1-3b"


def tiny_request(
    model: str = WAN,
    *,
    steps: int,
    seed: int = 7,
    frames: int = 9,
    fps: int = 16,
    references: tuple[Reference, ...] = (),
) -> GenerationRequest:
    """A 64x64 request of ``frames`` frames (a size the catalog does not offer, for speed); with
    ``references``, a first-frame task."""
    return GenerationRequest(
        model=model,
        prompt="a red kite over the sea",
        mode=Mode.FIRST_FRAME if references else Mode.T2V,
        resolution="480p",
        ratio="16:9",
        width=64,
        height=64,
        duration=1,
        frames=frames,
        fps=fps,
        seed=seed,
        steps=steps,
        references=references,
    )


async def never(_key: str) -> bytes:
    raise AssertionError("a text-to-video task reads no media")


async def ignore(_percent: int) -> None:
    return None
