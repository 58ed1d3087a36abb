"""OpenAI's ``size`` ("WxH") becomes a model's nearest ratio and resolution."""

from __future__ import annotations

import pytest

from seedance_gateway.catalog import Catalog
from seedance_gateway.dialects.openai_videos import size_terms


@pytest.mark.parametrize(
    ("model", "size", "ratio", "resolution", "rendered"),
    [
        # The SDK's sizes on the default model.
        ("seedance-1-5-pro", (720, 1280), "9:16", "720p", (720, 1280)),
        ("seedance-1-5-pro", (1280, 720), "16:9", "720p", (1280, 720)),
        ("seedance-1-5-pro", (1024, 1792), "9:16", "1080p", (1080, 1920)),
        ("seedance-1-5-pro", (1792, 1024), "16:9", "1080p", (1920, 1080)),
        # Small, square, very tall, and larger than the model offers.
        ("seedance-1-5-pro", (854, 480), "16:9", "480p", (864, 496)),
        ("seedance-1-5-pro", (640, 640), "1:1", "480p", (640, 640)),
        ("seedance-1-5-pro", (430, 1000), "9:21", "480p", (432, 992)),
        ("seedance-1-5-pro", (3840, 2160), "16:9", "1080p", (1920, 1080)),
        # 1.0 tables differ; 2.0 Fast stops at 720p; 2.0 goes to 4K; 9:21 is 1.5 Pro's only.
        ("seedance-1-0-pro", (1280, 720), "16:9", "720p", (1248, 704)),
        ("seedance-2-0-fast", (1792, 1024), "16:9", "720p", (1280, 720)),
        ("seedance-2-0", (3840, 2160), "16:9", "4k", (3840, 2160)),
        ("seedance-2-0", (430, 1000), "9:16", "480p", (496, 864)),
        ("seedance-1-0-lite-t2v", (1000, 760), "4:3", "720p", (1120, 832)),
    ],
)
def test_a_size_maps_to_the_models_nearest_ratio_and_resolution(
    catalog: Catalog,
    model: str,
    size: tuple[int, int],
    ratio: str,
    resolution: str,
    rendered: tuple[int, int],
) -> None:
    """Nearest aspect first, then the resolution whose pixel count is closest."""
    spec = catalog.find(model)
    assert spec is not None
    assert size_terms(spec, *size) == (ratio, resolution)
    assert spec.size(resolution, ratio) == rendered
