"""Benchmark the built-in CPU preview renderer.

Renders a 5-second 16:9 clip at 480p, 720p and 1080p, with and without audio, and prints
wall time, the "x real time" ratio (video seconds / wall seconds) and the file size.

Usage: ``python bench/bench_render.py [--seconds 5] [--repeat 1]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from seedance_gateway.providers.preview_render import RenderSpec, render

RESOLUTIONS: tuple[tuple[str, int, int], ...] = (
    ("480p", 864, 496),
    ("720p", 1280, 720),
    ("1080p", 1920, 1080),
)
FPS = 24
PROMPT = (
    "A lighthouse on a rocky coast at sunset, waves crashing, seagulls circling, "
    "slow cinematic drone shot with warm golden light"
)


def bench_one(
    width: int, height: int, seconds: int, audio: bool, out_dir: Path
) -> tuple[float, int]:
    """Render once and return (wall seconds, file size in bytes)."""
    spec = RenderSpec(
        prompt=PROMPT,
        width=width,
        height=height,
        fps=FPS,
        frames=seconds * FPS,
        seed=1234,
        camera_fixed=False,
        generate_audio=audio,
        watermark=True,
    )
    start = time.perf_counter()
    output = render(spec, out_dir)
    wall = time.perf_counter() - start
    return wall, output.video_path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=1, help="report the best of N runs")
    args = parser.parse_args()
    print(f"CPU cores visible: {os.cpu_count()}")
    header = (
        f"{'resolution':<16} {'audio':<6} {'video s':>8} {'wall s':>8} {'x real':>8} {'size':>10}"
    )
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        for name, width, height in RESOLUTIONS:
            for audio in (False, True):
                runs = [
                    bench_one(width, height, args.seconds, audio, Path(tmp))
                    for _ in range(max(1, args.repeat))
                ]
                wall, size = min(runs)
                label = f"{name} {width}x{height}"
                print(
                    f"{label:<16} {'yes' if audio else 'no':<6} {args.seconds:>8.1f} "
                    f"{wall:>8.2f} {args.seconds / wall:>7.2f}x {size / 1e6:>8.2f}MB"
                )


if __name__ == "__main__":
    main()
