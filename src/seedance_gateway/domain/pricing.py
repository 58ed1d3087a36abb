"""Prices in credits (pure). The rules are documented in docs/pricing.md."""

from __future__ import annotations

import functools
import math
from fractions import Fraction

from seedance_gateway.catalog.model import ModelSpec
from seedance_gateway.domain.requests import GenerationRequest


def quote(spec: ModelSpec, request: GenerationRequest) -> int:
    """Credits the request costs, rounded up; the same for every dialect."""
    price = spec.price
    if price.kind == "table":
        amount = _table_price(spec, request)
    else:
        amount = _pixel_price(spec, request)
        if request.generate_audio:
            amount *= _exact(price.audio_factor)
        amount *= _exact(price.resolution_factors.get(request.resolution, 1.0))
    if request.service_tier == "flex":
        amount *= _exact(price.flex_factor)
    return max(1, math.ceil(amount))


@functools.cache
def _exact(factor: float) -> Fraction:
    """The decimal the catalog wrote (``1.1``), not the binary float nearest to it."""
    return Fraction(str(factor))


def _reference_volume(spec: ModelSpec) -> Fraction:
    """Pixels x seconds at the Public API v1 defaults, where ``base_credits`` is the price."""
    defaults = {p.maps_to: p.default for p in spec.params}
    resolution = str(defaults.get("resolution", spec.capabilities.defaults["resolution"]))
    ratio = str(defaults.get("ratio", spec.capabilities.defaults["ratio"]))
    seconds = int(defaults.get("duration", spec.capabilities.defaults["duration"]))
    if seconds == -1:  # the model decides: the length it gets here
        seconds = spec.capabilities.duration.auto_seconds
    width, height = spec.size(resolution, "16:9" if ratio == "adaptive" else ratio)
    return Fraction(width * height * seconds)


def _billed_seconds(spec: ModelSpec, request: GenerationRequest) -> Fraction:
    """Seconds of output (``normalize`` already turned ``duration: -1`` into a frame count);
    a model that makes seconds x fps + 1 frames (Wan's 4k + 1) bills the seconds asked."""
    frames = request.frames - 1 if spec.capabilities.frames_plus_one else request.frames
    return Fraction(frames, request.fps)


def _pixel_price(spec: ModelSpec, request: GenerationRequest) -> Fraction:
    volume = request.width * request.height * _billed_seconds(spec, request)
    amount = spec.price.base_credits * volume / _reference_volume(spec)
    steps = spec.param_for("steps")
    if spec.price.per_step and steps is not None and request.steps is not None:
        amount *= Fraction(request.steps, int(steps.default))
    return amount


def _table_price(spec: ModelSpec, request: GenerationRequest) -> Fraction:
    row = spec.price.table[request.resolution]
    column = 1 if request.generate_audio else 0
    seconds = _billed_seconds(spec, request)
    points = sorted(row)
    if seconds in row:
        return Fraction(row[int(seconds)][column])
    low = max((p for p in points if p < seconds), default=points[0])
    high = min((p for p in points if p > seconds), default=points[-1])
    if low == high:
        return Fraction(row[low][column]) * seconds / low
    slope = Fraction(row[high][column] - row[low][column], high - low)
    return row[low][column] + slope * (seconds - low)
