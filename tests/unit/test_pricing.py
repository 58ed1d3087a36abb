"""Prices in credits (domain.pricing.quote): the seeds' prices and the rules between them."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seedance_gateway.catalog import Catalog, Mode, ModelSpec
from seedance_gateway.catalog.params import parse
from seedance_gateway.domain.pricing import quote
from seedance_gateway.domain.requests import (
    CONCRETE_RATIOS,
    GenerationRequest,
    Reference,
    normalize,
)

#: Seed 003's published table for 1.5 pro: (resolution, seconds) -> (silent, with audio).
SEED_003 = {
    ("480p", 4): (8, 14),
    ("480p", 8): (14, 28),
    ("480p", 12): (19, 38),
    ("720p", 4): (14, 28),
    ("720p", 8): (28, 56),
    ("720p", 12): (42, 84),
}
FIRST_FRAME = (Reference(role="first_frame", kind="image", url="data:", width=1280, height=720),)


def spec_of(catalog: Catalog, model_id: str) -> ModelSpec:
    spec = catalog.find(model_id)
    assert spec is not None
    return spec


def request_for(
    spec: ModelSpec, references: tuple[Reference, ...] = (), **fields: Any
) -> GenerationRequest:
    """A normalized request with canonical ``fields``; lite-i2v gets a first frame."""
    if not references and Mode.T2V not in spec.modes:
        references = FIRST_FRAME
    return normalize(spec, prompt="a boat", fields=fields, references=references)


def v1_quote(catalog: Catalog, model_id: str, params: dict[str, Any]) -> int:
    """The price of a Public API v1 request with ``params``."""
    spec = spec_of(catalog, model_id)
    return quote(spec, request_for(spec, **parse(spec, params)))


def test_1_0_pro_costs_25_credits_at_its_v1_defaults(catalog: Catalog) -> None:
    """Seed 000: reserved_credits 25 for the minimal request (720p, 5 s, 16:9)."""
    assert v1_quote(catalog, "seedance-1-0-pro", {}) == 25
    seed_params = {"resolution": "720p", "duration": "5", "aspect_ratio": "16:9", "seed": -1}
    assert v1_quote(catalog, "seedance-1-0-pro", seed_params) == 25


def test_1_5_pro_costs_28_credits_at_its_v1_defaults(catalog: Catalog) -> None:
    """Seed 001: reserved_credits 28 for the minimal request (720p, 8 s, silent, 1:1)."""
    assert v1_quote(catalog, "seedance-1-5-pro", {}) == 28
    seed_params = {"resolution": "720p", "duration": "8", "generate_audio": "false"}
    assert v1_quote(catalog, "seedance-1-5-pro", {**seed_params, "aspectRatio": "1:1"}) == 28


@pytest.mark.parametrize(
    ("model_id", "credits"),
    [
        ("seedance-2-0", 175),
        ("seedance-2-0-fast", 140),
        ("seedance-2-0-mini", 88),
        ("seedance-2-5", 350),  # 720p, -1 (billed as 10 s), with audio: 2.0's rate per second
        ("seedance-1-0-pro-fast", 10),
        ("seedance-1-0-lite-t2v", 16),
        ("seedance-1-0-lite-i2v", 16),
    ],
)
def test_every_model_costs_its_base_credits_at_its_v1_defaults(
    catalog: Catalog, model_id: str, credits: int
) -> None:
    """2.0 is 175 at 720p, 5 s, with audio; the catalog's base price is the defaults' price."""
    assert v1_quote(catalog, model_id, {}) == credits
    assert spec_of(catalog, model_id).price.base_credits == credits


@pytest.mark.parametrize(("cell", "prices"), sorted(SEED_003.items()))
@pytest.mark.parametrize("ratio", ["1:1", "16:9", "21:9"])
def test_1_5_pro_follows_seed_003_for_every_cell(
    catalog: Catalog, cell: tuple[str, int], prices: tuple[int, int], ratio: str
) -> None:
    """Each resolution x duration x audio cell of the published table, whatever the ratio."""
    resolution, seconds = cell
    silent, audio = prices
    params = {"resolution": resolution, "duration": str(seconds), "aspectRatio": ratio}
    assert v1_quote(catalog, "seedance-1-5-pro", {**params, "generate_audio": "false"}) == silent
    assert v1_quote(catalog, "seedance-1-5-pro", {**params, "generate_audio": True}) == audio


@pytest.mark.parametrize("seconds", [4, 8, 12])
def test_1_5_pro_1080p_is_the_720p_price_scaled_by_its_pixel_ratio(
    catalog: Catalog, seconds: int
) -> None:
    """The 1080p extension is 720p x 2.25 (1920x1080 / 1280x720), rounded up."""
    spec = spec_of(catalog, "seedance-1-5-pro")
    assert spec.size("1080p", "16:9")[0] * spec.size("1080p", "16:9")[1] == 2.25 * 1280 * 720
    for audio, column in ((False, 0), (True, 1)):
        at_720 = SEED_003[("720p", seconds)][column]
        price = quote(
            spec, request_for(spec, resolution="1080p", duration=seconds, generate_audio=audio)
        )
        assert price == math.ceil(at_720 * 2.25)


@pytest.mark.parametrize(
    ("resolution", "seconds", "audio", "expected"),
    [
        ("720p", 5, False, 18),  # 14 + 14/4 = 17.5
        ("720p", 6, False, 21),
        ("720p", 10, True, 70),  # 56 + 28/2
        ("480p", 5, False, 10),  # 8 + 6/4 = 9.5
        ("480p", 11, True, 36),  # 28 + 10*3/4 = 35.5
    ],
)
def test_1_5_pro_interpolates_linearly_between_table_durations(
    catalog: Catalog, resolution: str, seconds: int, audio: bool, expected: int
) -> None:
    """Durations between two rows cost the linear interpolation, rounded up."""
    spec = spec_of(catalog, "seedance-1-5-pro")
    request = request_for(spec, resolution=resolution, duration=seconds, generate_audio=audio)
    assert quote(spec, request) == expected


def test_1_5_pro_auto_duration_is_priced_at_the_default_five_seconds(catalog: Catalog) -> None:
    """-1 (the model decides) costs what 5 s costs."""
    spec = spec_of(catalog, "seedance-1-5-pro")
    auto = request_for(spec, resolution="720p", duration=-1, generate_audio=False)
    five = request_for(spec, resolution="720p", duration=5, generate_audio=False)
    assert quote(spec, auto) == quote(spec, five) == 18


def test_1_0_prices_scale_with_output_pixels_and_frames(catalog: Catalog) -> None:
    """1.0 pro: 10 s costs twice 5 s; 1080p costs 25 x (1920x1088)/(1248x704), rounded up."""
    spec = spec_of(catalog, "seedance-1-0-pro")
    base = dict(resolution="720p", ratio="16:9")
    assert quote(spec, request_for(spec, **base, duration=10)) == 50
    full_hd = quote(spec, request_for(spec, resolution="1080p", ratio="16:9", duration=5))
    assert full_hd == math.ceil(25 * 1920 * 1088 / (1248 * 704))
    frames = quote(spec, request_for(spec, **base, frames=241))  # 241 frames = 10.04 s
    assert frames == math.ceil(25 * 241 / 120)


def test_2_0_applies_its_resolution_factors(catalog: Catalog) -> None:
    """2.0 at 1080p pays x1.1 and at 4k x0.57 on top of the pixel scaling."""
    spec = spec_of(catalog, "seedance-2-0")
    at_1080 = quote(spec, request_for(spec, resolution="1080p", ratio="16:9"))
    at_4k = quote(spec, request_for(spec, resolution="4k", ratio="16:9"))
    assert at_1080 == math.ceil(175 * 2.25 * 1.1)
    assert at_4k == math.ceil(175 * 9 * 0.57)


def _exact_and_flex(spec: ModelSpec, **fields: Any) -> tuple[int, int]:
    default = quote(spec, request_for(spec, **fields))
    flex = quote(spec, request_for(spec, service_tier="flex", **fields))
    return default, flex


@pytest.mark.parametrize(
    "model_id",
    ["seedance-1-0-pro", "seedance-1-0-pro-fast", "seedance-1-0-lite-t2v", "seedance-1-5-pro"],
)
def test_the_flex_tier_costs_half_rounded_up(catalog: Catalog, model_id: str) -> None:
    """For every resolution and duration, flex = ceil(default price / 2)."""
    spec = spec_of(catalog, model_id)
    caps = spec.capabilities
    for resolution in caps.resolutions:
        for seconds in range(caps.duration.minimum, caps.duration.maximum + 1):
            default, flex = _exact_and_flex(
                spec, resolution=resolution, ratio="16:9", duration=seconds
            )
            assert flex == math.ceil(default / 2), (resolution, seconds)
            assert flex < default


def _durations(spec: ModelSpec) -> range:
    rng = spec.capabilities.duration
    return range(rng.minimum, rng.maximum + 1)


def _audio_options(spec: ModelSpec) -> tuple[bool, ...]:
    return (False, True) if spec.capabilities.audio else (False,)


@pytest.mark.parametrize(
    "model_id",
    [
        "seedance-1-0-pro",
        "seedance-1-0-pro-fast",
        "seedance-1-0-lite-t2v",
        "seedance-1-0-lite-i2v",
        "seedance-1-5-pro",
        "seedance-2-0",
        "seedance-2-0-fast",
        "seedance-2-0-mini",
        "seedance-2-5",
    ],
)
def test_price_is_monotonic_in_duration_and_resolution(catalog: Catalog, model_id: str) -> None:
    """Longer never costs less, a higher resolution never costs less, for every ratio and audio."""
    spec = spec_of(catalog, model_id)
    for ratio in CONCRETE_RATIOS:
        for audio in _audio_options(spec):
            grid = {
                (res, sec): quote(
                    spec,
                    request_for(
                        spec, resolution=res, ratio=ratio, duration=sec, generate_audio=audio
                    ),
                )
                for res in spec.capabilities.resolutions
                for sec in _durations(spec)
            }
            for res in spec.capabilities.resolutions:
                prices = [grid[(res, sec)] for sec in _durations(spec)]
                assert prices == sorted(prices), (ratio, audio, res)
                assert prices[0] < prices[-1], (ratio, audio, res)
            resolutions = spec.capabilities.resolutions
            for sec in _durations(spec):
                by_res = [grid[(res, sec)] for res in resolutions]
                assert by_res == sorted(by_res), (ratio, audio, sec)
                assert by_res[0] < by_res[-1], (ratio, audio, sec)


@given(
    st.integers(min_value=1, max_value=65),
    st.integers(min_value=1, max_value=65),
    st.sampled_from(["480p", "720p", "1080p"]),
    st.sampled_from(CONCRETE_RATIOS),
)
def test_1_0_frame_counts_are_priced_monotonically(
    catalog: Catalog, n: int, m: int, resolution: str, ratio: str
) -> None:
    """More frames (25 + 4n) never cost less on 1.0 pro, at any resolution and ratio."""
    spec = spec_of(catalog, "seedance-1-0-pro")
    short, long = sorted((25 + 4 * n, 25 + 4 * m))
    fields = {"resolution": resolution, "ratio": ratio}
    assert quote(spec, request_for(spec, frames=short, **fields)) <= quote(
        spec, request_for(spec, frames=long, **fields)
    )


def test_2_5_bills_a_model_decided_length_as_ten_seconds_and_30_s_at_three_times_that(
    catalog: Catalog,
) -> None:
    """-1 costs what 10 s costs (the length rendered here); 30 s three times as much; 1080p is
    the pixels x 1.1, as on 2.0."""
    decided = v1_quote(catalog, "seedance-2-5", {"duration": -1})
    assert decided == v1_quote(catalog, "seedance-2-5", {"duration": 10}) == 350
    assert v1_quote(catalog, "seedance-2-5", {"duration": 30}) == 1050
    assert v1_quote(catalog, "seedance-2-5", {"duration": 10, "resolution": "1080p"}) == 867


def test_an_open_weight_price_follows_the_steps_asked(local_catalog: Catalog) -> None:
    """``per_step``: GPU time follows the denoising steps, so does the price (30 by default)."""
    prices = {
        steps: v1_quote(local_catalog, "wan-2-1-t2v-1-3b", {"steps": steps})
        for steps in (15, 30, 60, 100)
    }
    assert prices[30] == 20  # base_credits at the defaults (480p, 5 s, 30 steps)
    assert prices == {15: 10, 30: 20, 60: 40, 100: math.ceil(20 * 100 / 30)}
    guided = v1_quote(local_catalog, "wan-2-1-t2v-1-3b", {"guidance_scale": 9.5})
    assert guided == prices[30]  # the guidance scale does not change the work per step
