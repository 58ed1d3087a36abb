"""Per-model request rules: domain.requests.normalize, mode_of and with_concrete_seed."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

import pytest

from seedance_gateway.catalog import Catalog, Mode, ModelSpec
from seedance_gateway.catalog.params import parse, wire_names
from seedance_gateway.domain.requests import (
    MAX_SEED,
    GenerationRequest,
    Reference,
    mode_of,
    normalize,
    with_concrete_seed,
)
from seedance_gateway.errors import ValidationFailed


def image(role: str, width: int | None = 1280, height: int | None = 720) -> Reference:
    """A reference image in ``role`` of the given size."""
    return Reference(role=role, kind="image", url="data:", width=width, height=height)


FIRST = (image("first_frame"),)
FIRST_LAST = (image("first_frame"), image("last_frame"))
REFS = (image("reference_image"), image("reference_image"))


def spec_of(catalog: Catalog, model_id: str) -> ModelSpec:
    spec = catalog.find(model_id)
    assert spec is not None
    return spec


def build(
    catalog: Catalog,
    model_id: str,
    references: tuple[Reference, ...] = (),
    prompt: str = "a paper boat on a rainy street",
    names: Mapping[str, str] | None = None,
    **fields: Any,
) -> GenerationRequest:
    """``normalize`` with canonical ``fields``."""
    spec = spec_of(catalog, model_id)
    return normalize(spec, prompt=prompt, fields=fields, references=references, names=names)


def refused(
    catalog: Catalog,
    model_id: str,
    references: tuple[Reference, ...] = (),
    prompt: str = "a paper boat on a rainy street",
    names: Mapping[str, str] | None = None,
    **fields: Any,
) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        build(catalog, model_id, references, prompt, names, **fields)
    return caught.value


# --- prompt ----------------------------------------------------------------------------------


@pytest.mark.parametrize("prompt", ["", "   ", "\n\t"])
def test_an_empty_prompt_is_refused(catalog: Catalog, prompt: str) -> None:
    """A blank prompt names the prompt field."""
    error = refused(catalog, "seedance-1-0-pro", prompt=prompt)
    assert error.field == "prompt"
    assert "prompt is required" in error.message


@pytest.mark.parametrize(
    ("model_id", "limit"), [("seedance-1-0-pro", 10000), ("seedance-1-5-pro", 2500)]
)
def test_a_prompt_over_the_models_limit_is_refused_naming_the_limit(
    catalog: Catalog, model_id: str, limit: int
) -> None:
    """One character over the limit is refused; exactly the limit is accepted."""
    assert build(catalog, model_id, prompt="x" * limit).prompt == "x" * limit
    error = refused(catalog, model_id, prompt="x" * (limit + 1))
    assert error.field == "prompt"
    assert f"is {limit + 1} characters" in error.message
    assert f"{model_id} allows at most {limit}" in error.message


# --- modes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("references", "mode"),
    [
        ((), Mode.T2V),
        (FIRST, Mode.FIRST_FRAME),
        (FIRST_LAST, Mode.FIRST_LAST_FRAME),
        ((image("last_frame"), image("first_frame")), Mode.FIRST_LAST_FRAME),
        (REFS, Mode.REFERENCE),
        ((Reference(role="reference_video", kind="video", url="x"),), Mode.REFERENCE),
    ],
)
def test_the_mode_follows_the_reference_roles(
    references: tuple[Reference, ...], mode: Mode
) -> None:
    """No media is t2v; frames give first(-last) frame mode; reference items give reference."""
    assert mode_of(references) is mode


@pytest.mark.parametrize(
    "references",
    [
        (image("first_frame"), image("reference_image")),
        (image("last_frame"), Reference(role="reference_audio", kind="audio", url="x")),
    ],
)
def test_frames_cannot_be_mixed_with_reference_media(references: tuple[Reference, ...]) -> None:
    """A frame image next to reference media is refused, naming the references field."""
    with pytest.raises(ValidationFailed, match="cannot be mixed with reference media") as caught:
        mode_of(references)
    assert caught.value.field == "references"


@pytest.mark.parametrize(
    "references",
    [
        (image("last_frame"),),
        (image("first_frame"), image("first_frame")),
        (image("first_frame"), image("last_frame"), image("last_frame")),
    ],
)
def test_frames_mode_needs_one_first_frame_and_at_most_one_last(
    references: tuple[Reference, ...],
) -> None:
    """A last frame alone, two first frames or two last frames are refused."""
    with pytest.raises(ValidationFailed, match="exactly one first_frame"):
        mode_of(references)


def test_lite_t2v_refuses_a_first_frame(catalog: Catalog) -> None:
    """The text-only lite model lacks first-frame mode and says what it supports."""
    error = refused(catalog, "seedance-1-0-lite-t2v", FIRST)
    assert error.field == "references"
    assert "seedance-1-0-lite-t2v does not support first_frame generation" in error.message
    assert "it supports: t2v" in error.message


def test_pro_fast_refuses_first_and_last_frame(catalog: Catalog) -> None:
    """1.0 pro fast takes a first frame but not a first and last frame."""
    assert build(catalog, "seedance-1-0-pro-fast", FIRST).mode is Mode.FIRST_FRAME
    error = refused(catalog, "seedance-1-0-pro-fast", FIRST_LAST)
    assert "does not support first_last_frame generation" in error.message
    assert "t2v, first_frame" in error.message


def test_lite_i2v_refuses_text_only(catalog: Catalog) -> None:
    """The image-to-video lite model needs media."""
    error = refused(catalog, "seedance-1-0-lite-i2v")
    assert "does not support t2v generation" in error.message


def test_reference_mode_is_refused_on_models_without_it(catalog: Catalog) -> None:
    """1.0 pro and 1.5 pro take no reference media; 2.0 does."""
    for model_id in ("seedance-1-0-pro", "seedance-1-5-pro"):
        assert "does not support reference generation" in refused(catalog, model_id, REFS).message
    assert build(catalog, "seedance-2-0", REFS, ratio="16:9").mode is Mode.REFERENCE


# --- reference media ---------------------------------------------------------------------------


def media(kind: str, seconds: float | None = None) -> Reference:
    """A reference of ``kind`` (image, video, audio), with a duration for video and audio."""
    return Reference(role=f"reference_{kind}", kind=kind, url="x", duration=seconds)


def test_lite_i2v_takes_one_to_four_reference_images_and_nothing_else(catalog: Catalog) -> None:
    """Four images are fine; a fifth, or any video, is refused naming the allowed count."""
    four = tuple(media("image") for _ in range(4))
    assert build(catalog, "seedance-1-0-lite-i2v", four, ratio="16:9").mode is Mode.REFERENCE
    error = refused(catalog, "seedance-1-0-lite-i2v", (*four, media("image")), ratio="16:9")
    assert error.field == "references"
    assert "has 5 reference images; seedance-1-0-lite-i2v takes 1 to 4" in error.message
    error = refused(catalog, "seedance-1-0-lite-i2v", (media("image"), media("video", 5.0)))
    assert "has 1 reference videos; seedance-1-0-lite-i2v takes none" in error.message


def test_2_0_takes_up_to_nine_images_three_videos_and_three_audios(catalog: Catalog) -> None:
    """The documented maxima are accepted together; one more of any kind is refused."""
    images = tuple(media("image") for _ in range(9))
    videos = tuple(media("video", 4.0) for _ in range(3))
    audios = tuple(media("audio", 4.0) for _ in range(3))
    assert build(catalog, "seedance-2-0", images + videos + audios).mode is Mode.REFERENCE
    for kind, extra in (("image", media("image")), ("video", media("video", 2.0))):
        error = refused(catalog, "seedance-2-0", (*images, *videos, extra))
        assert f"reference {kind}s; seedance-2-0 takes 0 to" in error.message
    error = refused(catalog, "seedance-2-0", (media("image"), *audios, media("audio", 2.0)))
    assert "has 4 reference audios; seedance-2-0 takes 0 to 3" in error.message


def test_reference_audio_alone_is_refused(catalog: Catalog) -> None:
    """Audio needs an image or a video beside it."""
    error = refused(catalog, "seedance-2-0", (media("audio", 5.0),))
    assert "cannot have reference audio alone" in error.message
    assert build(catalog, "seedance-2-0", (media("video", 5.0), media("audio", 5.0))).references


@pytest.mark.parametrize(
    ("clips", "message"),
    [
        ((1.5,), "has a 1.5 s video; each must be 2-15 s"),
        ((15.5,), "has a 15.5 s video; each must be 2-15 s"),
        ((8.0, 8.0), "videos add up to 16.0 s; at most 15 s in all"),
    ],
)
def test_reference_videos_must_be_2_to_15_seconds_and_15_in_all(
    catalog: Catalog, clips: tuple[float, ...], message: str
) -> None:
    """Each clip lasts 2-15 s and all clips of a kind add up to at most 15 s."""
    error = refused(catalog, "seedance-2-0", tuple(media("video", c) for c in clips))
    assert message in error.message


def test_reference_clips_at_the_duration_limits_are_accepted(catalog: Catalog) -> None:
    """2 s, 15 s, and 7.5 + 7.5 s are all within the rules."""
    for clips in ((2.0,), (15.0,), (7.5, 7.5)):
        request = build(catalog, "seedance-2-0", tuple(media("video", c) for c in clips))
        assert len(request.references) == len(clips)


def test_reference_rule_errors_use_the_dialects_name(catalog: Catalog) -> None:
    """With Public API v1 names a count error names params.referenceMediaItems."""
    spec = spec_of(catalog, "seedance-2-0")
    with pytest.raises(ValidationFailed) as caught:
        normalize(
            spec,
            prompt="a boat",
            fields={},
            references=(media("audio", 3.0),),
            names=wire_names(spec),
        )
    assert caught.value.field == "params.referenceMediaItems"


def test_an_unset_ratio_in_lite_reference_mode_defaults_to_16_9(catalog: Catalog) -> None:
    """The reference-image mode defaults to 16:9 (research §2.1) instead of refusing adaptive."""
    request = build(catalog, "seedance-1-0-lite-i2v", REFS, resolution="720p")
    assert (request.ratio, request.width, request.height) == ("16:9", 1248, 704)


def test_2_0_reference_mode_keeps_its_adaptive_default(catalog: Catalog) -> None:
    """2.0's multimodal reference mode accepts adaptive, rendered at 16:9 without a frame."""
    request = build(catalog, "seedance-2-0", REFS, ratio="adaptive", resolution="480p")
    assert (request.ratio, request.width, request.height) == ("adaptive", 864, 496)


# --- resolution and ratio --------------------------------------------------------------------


def test_a_resolution_the_model_lacks_is_refused(catalog: Catalog) -> None:
    """2.0 fast stops at 720p."""
    error = refused(catalog, "seedance-2-0-fast", resolution="1080p")
    assert error.field == "resolution"
    assert "must be one of 480p, 720p (got '1080p')" in error.message


def test_resolution_is_matched_case_insensitively(catalog: Catalog) -> None:
    """``720P`` is 720p, as the upstream accepts it."""
    assert build(catalog, "seedance-2-0", resolution="720P").resolution == "720p"


def test_lite_i2v_reference_mode_refuses_1080p_but_frames_mode_allows_it(
    catalog: Catalog,
) -> None:
    """1080p is allowed for lite-i2v from a first frame, not with reference images."""
    assert build(catalog, "seedance-1-0-lite-i2v", FIRST, resolution="1080p").height == 1088
    ok = build(catalog, "seedance-1-0-lite-i2v", REFS, resolution="720p", ratio="16:9")
    assert (ok.width, ok.height) == (1248, 704)
    error = refused(catalog, "seedance-1-0-lite-i2v", REFS, resolution="1080p", ratio="16:9")
    assert error.field == "resolution"
    assert "480p, 720p in reference mode" in error.message


def test_an_unknown_ratio_is_refused_listing_the_ratios(catalog: Catalog) -> None:
    """``2:1`` is not a ratio any model offers."""
    error = refused(catalog, "seedance-1-5-pro", ratio="2:1")
    assert error.field == "ratio"
    assert "16:9, 4:3, 1:1, 3:4, 9:16, 21:9, 9:21, adaptive" in error.message


def test_adaptive_ratio_is_refused_for_1_0_text_to_video(catalog: Catalog) -> None:
    """1.0 has nothing to adapt to without an image; 1.5 pro accepts it (16:9)."""
    error = refused(catalog, "seedance-1-0-pro", ratio="adaptive")
    assert error.field == "ratio"
    assert "cannot be adaptive for t2v" in error.message
    adaptive = build(catalog, "seedance-1-5-pro", ratio="adaptive")
    assert (adaptive.ratio, adaptive.width, adaptive.height) == ("adaptive", 1280, 720)


def test_adaptive_ratio_is_refused_in_lite_reference_mode(catalog: Catalog) -> None:
    """The lite reference-image mode needs a concrete ratio."""
    error = refused(catalog, "seedance-1-0-lite-i2v", REFS, ratio="adaptive")
    assert "cannot be adaptive for reference" in error.message


@pytest.mark.parametrize(
    ("size", "ratio10", "pixels10", "pixels15"),
    [
        ((1920, 1080), "16:9", (1248, 704), (1280, 720)),
        ((1000, 1000), "1:1", (960, 960), (960, 960)),
        ((1080, 1920), "9:16", (704, 1248), (720, 1280)),
        ((1600, 1200), "4:3", (1120, 832), (1112, 834)),
        ((900, 1200), "3:4", (832, 1120), (834, 1112)),
        ((2520, 1080), "21:9", (1504, 640), (1470, 630)),
    ],
)
def test_adaptive_ratio_follows_the_first_frames_shape(
    catalog: Catalog,
    size: tuple[int, int],
    ratio10: str,
    pixels10: tuple[int, int],
    pixels15: tuple[int, int],
) -> None:
    """The nearest concrete ratio to the first frame's W/H picks the output size at 720p."""
    frame = (image("first_frame", *size),)
    on10 = build(catalog, "seedance-1-0-pro", frame, ratio="adaptive", resolution="720p")
    on15 = build(catalog, "seedance-1-5-pro", frame, ratio="adaptive", resolution="720p")
    assert on10.ratio == "adaptive"
    assert (on10.width, on10.height) == pixels10, ratio10
    assert (on15.width, on15.height) == pixels15, ratio10


def test_adaptive_without_a_sized_first_frame_falls_back_to_16_9(catalog: Catalog) -> None:
    """A first frame of unknown size gives 16:9."""
    unsized = (image("first_frame", None, None),)
    request = build(catalog, "seedance-1-0-pro", unsized, ratio="adaptive", resolution="480p")
    assert (request.width, request.height) == (864, 480)


def test_an_explicit_ratio_wins_over_the_first_frames_shape(catalog: Catalog) -> None:
    """A square first frame with ratio 9:16 gives a 9:16 video."""
    frame = (image("first_frame", 1000, 1000),)
    request = build(catalog, "seedance-2-0", frame, ratio="9:16", resolution="1080p")
    assert (request.width, request.height) == (1080, 1920)


# --- duration and frames ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_id", "low", "high"),
    [("seedance-1-0-pro", 2, 12), ("seedance-1-5-pro", 4, 12), ("seedance-2-0", 4, 15)],
)
def test_duration_is_limited_to_the_models_range(
    catalog: Catalog, model_id: str, low: int, high: int
) -> None:
    """The bounds are accepted; one second beyond either is refused, naming the range."""
    assert build(catalog, model_id, duration=low).frames == low * 24
    assert build(catalog, model_id, duration=high).frames == high * 24
    for bad in (low - 1, high + 1):
        error = refused(catalog, model_id, duration=bad)
        assert error.field == "duration"
        assert f"between {low} and {high} seconds" in error.message
        assert f"(got {bad})" in error.message


def test_auto_duration_is_allowed_only_where_the_model_decides(catalog: Catalog) -> None:
    """-1 works on 1.5 pro and 2.0 (rendered at the default 5 s) and is refused on 1.0."""
    for model_id in ("seedance-1-5-pro", "seedance-2-0", "seedance-2-0-mini"):
        request = build(catalog, model_id, duration=-1)
        assert (request.duration, request.frames) == (-1, 120)
    error = refused(catalog, "seedance-1-0-pro", duration=-1)
    assert "between 2 and 12 seconds (got -1)" in error.message
    assert "-1 (the model decides)" not in error.message
    assert "-1 (the model decides)" in refused(catalog, "seedance-2-0", duration=0).message


@pytest.mark.parametrize("frames", [29, 33, 121, 285, 289])
def test_frames_of_the_form_25_plus_4n_are_accepted_on_1_0(catalog: Catalog, frames: int) -> None:
    """1.0 takes an explicit frame count 25 + 4n within [29, 289], overriding duration."""
    request = build(catalog, "seedance-1-0-pro", frames=frames, duration=5)
    assert request.frames == frames
    assert request.seconds == pytest.approx(frames / 24)


@pytest.mark.parametrize("frames", [25, 28, 30, 120, 290, 293])
def test_frames_off_the_25_plus_4n_grid_or_out_of_range_are_refused(
    catalog: Catalog, frames: int
) -> None:
    """Counts below 29, above 289 or not 25 + 4n are refused, naming the rule."""
    error = refused(catalog, "seedance-1-0-lite-t2v", frames=frames)
    assert error.field == "frames"
    assert f"must be 25 + 4n within [29, 289] (got {frames})" in error.message


@pytest.mark.parametrize("model_id", ["seedance-1-5-pro", "seedance-2-0"])
def test_frames_are_refused_beyond_the_1_0_series(catalog: Catalog, model_id: str) -> None:
    """1.5 pro and 2.0 take a duration, not a frame count."""
    error = refused(catalog, model_id, frames=121)
    assert error.field == "frames"
    assert f"is not supported by {model_id}; use duration" in error.message


# --- other fields ----------------------------------------------------------------------------


def test_generate_audio_is_refused_on_1_0_and_kept_on_1_5(catalog: Catalog) -> None:
    """Asking 1.0 for audio is an error; asking it for silence is fine; 1.5 pro produces audio."""
    error = refused(catalog, "seedance-1-0-pro", generate_audio=True)
    assert error.field == "generate_audio"
    assert "not supported by seedance-1-0-pro" in error.message
    assert build(catalog, "seedance-1-0-pro", generate_audio=False).generate_audio is False
    assert build(catalog, "seedance-1-5-pro", generate_audio=True).generate_audio is True


def test_the_upstream_defaults_fill_fields_a_dialect_left_out(catalog: Catalog) -> None:
    """Without fields: 1.0 pro is 1080p 16:9 5 s silent; 1.5 pro is 720p adaptive with audio."""
    pro10 = build(catalog, "seedance-1-0-pro")
    assert (pro10.resolution, pro10.ratio, pro10.duration, pro10.generate_audio) == (
        "1080p",
        "16:9",
        5,
        False,
    )
    assert (pro10.width, pro10.height, pro10.fps, pro10.frames) == (1920, 1088, 24, 120)
    pro15 = build(catalog, "seedance-1-5-pro")
    assert (pro15.resolution, pro15.ratio, pro15.generate_audio) == ("720p", "adaptive", True)
    assert (pro10.seed, pro10.service_tier, pro10.safety_checker) == (-1, "default", True)


def test_none_fields_count_as_absent(catalog: Catalog) -> None:
    """A canonical field set to None leaves the model's default."""
    request = build(catalog, "seedance-2-0", resolution=None, duration=None, ratio=None)
    assert (request.resolution, request.duration, request.ratio) == ("720p", 5, "adaptive")


def test_the_flex_tier_is_refused_on_2_0_and_accepted_on_1_x(catalog: Catalog) -> None:
    """2.0 has only the default tier; 1.0 and 1.5 take flex."""
    error = refused(catalog, "seedance-2-0", service_tier="flex")
    assert error.field == "service_tier"
    assert "must be one of default for seedance-2-0" in error.message
    assert build(catalog, "seedance-1-0-pro", service_tier="flex").service_tier == "flex"
    assert build(catalog, "seedance-1-5-pro", service_tier="flex").service_tier == "flex"


def test_camera_fixed_is_refused_on_2_0_and_in_reference_mode(catalog: Catalog) -> None:
    """2.0 has no fixed camera; lite-i2v has one, but not with reference images."""
    assert build(catalog, "seedance-1-0-pro", camera_fixed=True).camera_fixed is True
    assert refused(catalog, "seedance-2-0", camera_fixed=True).field == "camera_fixed"
    error = refused(catalog, "seedance-1-0-lite-i2v", REFS, ratio="16:9", camera_fixed=True)
    assert "in reference mode" in error.message


@pytest.mark.parametrize("seed", [-1, 0, 2**31, MAX_SEED])
def test_seeds_in_range_are_kept(catalog: Catalog, seed: int) -> None:
    """Seeds from -1 up to 2^32 - 1 are accepted as given."""
    assert build(catalog, "seedance-1-5-pro", seed=seed).seed == seed


@pytest.mark.parametrize("seed", [-2, MAX_SEED + 1])
def test_seeds_out_of_range_are_refused(catalog: Catalog, seed: int) -> None:
    """Seeds below -1 or above 2^32 - 1 name the seed field and the range."""
    error = refused(catalog, "seedance-1-5-pro", seed=seed)
    assert error.field == "seed"
    assert f"must be between -1 and {MAX_SEED} (got {seed})" in error.message


# --- error names follow the dialect ----------------------------------------------------------


def test_errors_use_the_dialects_names_for_each_field(catalog: Catalog) -> None:
    """With the Public API v1 names, 1.5 pro errors say params.aspectRatio, params.duration."""
    spec = spec_of(catalog, "seedance-1-5-pro")
    names = wire_names(spec)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"ratio": "2:1"}, "params.aspectRatio"),
        ({"duration": 3}, "params.duration"),
        ({"resolution": "4k"}, "params.resolution"),
        ({"seed": -5}, "params.seed"),
        ({"frames": 29}, "frames"),
    ]
    for fields, name in cases:
        with pytest.raises(ValidationFailed) as caught:
            normalize(spec, prompt="a boat", fields=fields, names=names)
        assert caught.value.field == name, fields
        assert caught.value.message.startswith(f"{name} "), caught.value.message
    with pytest.raises(ValidationFailed) as prompt_error:
        normalize(spec, prompt=" ", fields={}, names=names)
    assert prompt_error.value.field == "prompt"


def test_mode_errors_use_the_dialects_name_for_the_references(catalog: Catalog) -> None:
    """Both a missing mode and mixed media name params.referenceMediaItems on Public API v1."""
    spec = spec_of(catalog, "seedance-1-5-pro")
    names = wire_names(spec)
    with pytest.raises(ValidationFailed) as lacking:
        normalize(spec, prompt="a boat", fields={}, references=REFS, names=names)
    assert lacking.value.field == "params.referenceMediaItems"
    mixed = (image("first_frame"), image("reference_image"))
    with pytest.raises(ValidationFailed) as mixing:
        normalize(spec, prompt="a boat", fields={}, references=mixed, names=names)
    assert mixing.value.field == "params.referenceMediaItems"


def test_v1_params_feed_normalize_end_to_end(catalog: Catalog) -> None:
    """The 1.5 pro seed request normalizes to 720p 1:1 (960x960), 8 s, silent."""
    spec = spec_of(catalog, "seedance-1-5-pro")
    fields = parse(spec, {"aspectRatio": "1:1", "duration": "8", "generate_audio": "false"})
    request = normalize(spec, prompt="a boat", fields=fields, names=wire_names(spec))
    assert (request.width, request.height, request.duration, request.frames) == (960, 960, 8, 192)
    assert request.generate_audio is False


# --- serialization and seeds -----------------------------------------------------------------


def test_a_request_survives_a_json_round_trip(catalog: Catalog) -> None:
    """to_json is plain JSON and from_json restores an equal request, references included."""
    frames = (image("first_frame", 1000, 1000), image("last_frame", 1000, 1000))
    spec = spec_of(catalog, "seedance-2-0")
    request = normalize(
        spec,
        prompt="a boat",
        fields={"resolution": "1080p", "seed": 99, "return_last_frame": True, "duration": 7},
        references=frames,
        callback_url="https://example.com/hook",
        expires_after=3600,
    )
    data = json.loads(json.dumps(request.to_json()))
    assert data["mode"] == "first_last_frame"
    restored = GenerationRequest.from_json(data)
    assert restored == request
    assert restored.references[0].width == 1000
    assert (restored.callback_url, restored.expires_after) == ("https://example.com/hook", 3600)


def test_to_json_holds_every_field_as_asdict_would(catalog: Catalog) -> None:
    """Every field of the request and of each reference, by name, mode as its string."""
    frames = (image("first_frame", 1000, 1000), image("last_frame", 800, 600))
    request = normalize(
        spec_of(catalog, "seedance-2-0"),
        prompt="a boat",
        fields={"seed": 7},
        references=frames,
        callback_url="https://example.com/hook",
        callback_statuses=("succeeded",),
    )
    assert request.to_json() == {**dataclasses.asdict(request), "mode": "first_last_frame"}


def test_a_random_seed_is_made_concrete_within_range(catalog: Catalog) -> None:
    """-1 becomes a seed in [0, 2^32 - 1], different across calls; nothing else changes."""
    request = build(catalog, "seedance-2-0", seed=-1)
    seeds = {with_concrete_seed(request).seed for _ in range(50)}
    assert all(0 <= s <= MAX_SEED for s in seeds)
    assert len(seeds) > 40
    concrete = with_concrete_seed(request)
    assert concrete.seed >= 0
    assert concrete == GenerationRequest.from_json({**request.to_json(), "seed": concrete.seed})


@pytest.mark.parametrize("seed", [0, 42, MAX_SEED])
def test_a_given_seed_is_kept(catalog: Catalog, seed: int) -> None:
    """A concrete seed (0 included) is not replaced."""
    request = build(catalog, "seedance-2-0", seed=seed)
    assert with_concrete_seed(request) == request


# --- Seedance 2.5 ------------------------------------------------------------------------------


def test_2_5_defaults_to_the_model_deciding_the_length_rendered_as_ten_seconds(
    catalog: Catalog,
) -> None:
    """2.5's upstream default is ``duration: -1``; here it becomes 10 s (240 frames at 24 fps),
    and 30 s is the longest clip."""
    request = build(catalog, "seedance-2-5")
    assert (request.duration, request.frames) == (-1, 240)
    assert build(catalog, "seedance-2-5", duration=30).frames == 720
    assert build(catalog, "seedance-2-0", duration=-1).frames == 120  # 2.0's -1: 5 s
    error = refused(catalog, "seedance-2-5", duration=31)
    assert "must be between 4 and 30 seconds or -1 (the model decides)" in error.message


@pytest.mark.parametrize("references", [FIRST, FIRST_LAST], ids=["first", "first+last"])
def test_2_5_frames_take_only_the_adaptive_ratio(
    catalog: Catalog, references: tuple[Reference, ...]
) -> None:
    """On 2.5 a frames task follows its frame's shape: ``adaptive``, or a 400 naming why."""
    assert build(catalog, "seedance-2-5", references).ratio == "adaptive"
    assert build(catalog, "seedance-2-5", references, ratio="adaptive").ratio == "adaptive"
    error = refused(catalog, "seedance-2-5", references, ratio="16:9")
    assert error.field == "ratio"
    assert "must be adaptive for" in error.message and "got '16:9'" in error.message
    assert build(catalog, "seedance-2-0", references, ratio="16:9").ratio == "16:9"  # 2.0 may
    assert build(catalog, "seedance-2-5", ratio="16:9").ratio == "16:9"  # text only: any ratio


def test_2_5_takes_thirty_images_ten_videos_and_ten_audios_and_audio_alone(
    catalog: Catalog,
) -> None:
    """2.5's reference limits, and reference audio needs no image or video beside it."""
    most = (
        *(image("reference_image") for _ in range(30)),
        *(media("video", 2.0) for _ in range(7)),  # the clips' 15 s in all still holds
        *(media("audio", 2.0) for _ in range(7)),
    )
    assert len(build(catalog, "seedance-2-5", most).references) == 44
    error = refused(catalog, "seedance-2-5", tuple(image("reference_image") for _ in range(31)))
    assert "has 31 reference images; seedance-2-5 takes 0 to 30" in error.message
    error = refused(catalog, "seedance-2-5", tuple(media("video", 2.0) for _ in range(11)))
    assert "has 11 reference videos; seedance-2-5 takes 0 to 10" in error.message
    assert build(catalog, "seedance-2-5", (media("audio", 5.0),)).mode is Mode.REFERENCE
