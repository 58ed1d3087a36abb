"""Parsing a model's Public API v1 ``params`` into typed canonical fields (catalog.params)."""

from __future__ import annotations

from typing import Any

import pytest

from seedance_gateway.catalog import Catalog, ModelSpec
from seedance_gateway.catalog.params import parse, wire_names
from seedance_gateway.errors import ValidationFailed

#: The seeds' "minimal request" params, verbatim (seed 000 for 1.0 pro, seed 001 for 1.5 pro).
SEED_10_PRO = {
    "resolution": "720p",
    "duration": "5",
    "aspect_ratio": "16:9",
    "camera_fixed": "false",
    "seed": -1,
    "enable_safety_checker": "true",
}
SEED_15_PRO = {
    "resolution": "720p",
    "duration": "8",
    "generate_audio": "false",
    "aspectRatio": "1:1",
    "fixed_lens": "false",
}


def spec_of(catalog: Catalog, model_id: str) -> ModelSpec:
    spec = catalog.find(model_id)
    assert spec is not None
    return spec


def refused(spec: ModelSpec, params: dict[str, Any]) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        parse(spec, params)
    return caught.value


def test_the_1_0_pro_seed_request_parses_to_typed_canonical_fields(catalog: Catalog) -> None:
    """Strings "5", "false", "true" and seed -1 become int, bools and int under canonical names."""
    fields = parse(spec_of(catalog, "seedance-1-0-pro"), SEED_10_PRO)
    assert fields == {
        "resolution": "720p",
        "duration": 5,
        "ratio": "16:9",
        "camera_fixed": False,
        "seed": -1,
        "safety_checker": True,
        "watermark": False,
        "return_last_frame": False,
    }


def test_the_1_5_pro_seed_request_parses_to_typed_canonical_fields(catalog: Catalog) -> None:
    """aspectRatio and fixed_lens land on ratio and camera_fixed; "8" becomes 8."""
    fields = parse(spec_of(catalog, "seedance-1-5-pro"), SEED_15_PRO)
    assert fields == {
        "resolution": "720p",
        "duration": 8,
        "generate_audio": False,
        "ratio": "1:1",
        "camera_fixed": False,
        "seed": -1,
        "watermark": False,
        "return_last_frame": False,
        "draft": False,
    }


@pytest.mark.parametrize(
    ("model_id", "strings", "native"),
    [
        (
            "seedance-1-0-pro",
            {
                "duration": "10",
                "camera_fixed": "true",
                "enable_safety_checker": "false",
                "seed": "7",
            },
            {"duration": 10, "camera_fixed": True, "enable_safety_checker": False, "seed": 7},
        ),
        (
            "seedance-1-5-pro",
            {"duration": "12", "generate_audio": "true", "fixed_lens": "true"},
            {"duration": 12, "generate_audio": True, "fixed_lens": True},
        ),
        (
            "seedance-2-0",
            {"duration": "9", "generate_audio": "false", "web_search": "true"},
            {"duration": 9.0, "generate_audio": False, "web_search": True},
        ),
    ],
)
def test_native_json_values_parse_the_same_as_the_seeds_strings(
    catalog: Catalog, model_id: str, strings: dict[str, Any], native: dict[str, Any]
) -> None:
    """``5``/``false``/``true`` (and a whole float) equal ``"5"``/``"false"``/``"true"``."""
    spec = spec_of(catalog, model_id)
    from_strings = parse(spec, strings)
    assert from_strings == parse(spec, native)
    assert from_strings != parse(spec, {})  # the values took effect


def test_select_values_match_case_insensitively_and_keep_the_catalog_spelling(
    catalog: Catalog,
) -> None:
    """ "720P" and "TRUE" are accepted and normalized to "720p" and True."""
    fields = parse(
        spec_of(catalog, "seedance-1-0-pro"), {"resolution": " 720P ", "camera_fixed": "TRUE"}
    )
    assert fields["resolution"] == "720p"
    assert fields["camera_fixed"] is True


def test_null_values_count_as_absent(catalog: Catalog) -> None:
    """Every param sent as JSON null (as official SDKs do) leaves the defaults in place."""
    spec = spec_of(catalog, "seedance-1-0-pro")
    nulls: dict[str, Any] = {p.key: None for p in spec.params}
    assert parse(spec, nulls) == parse(spec, {})
    assert parse(spec, {**nulls, "not_a_param": None}) == parse(spec, {})


def test_reference_media_items_are_not_treated_as_a_parameter(catalog: Catalog) -> None:
    """``referenceMediaItems`` rides in params but is not a model parameter."""
    spec = spec_of(catalog, "seedance-1-0-pro")
    items = [{"url": "https://cdn.example.com/a.png", "kind": "image"}]
    assert parse(spec, {**SEED_10_PRO, "referenceMediaItems": items}) == parse(spec, SEED_10_PRO)


def test_an_unknown_key_is_refused_naming_it_and_listing_the_allowed_keys(
    catalog: Catalog,
) -> None:
    """``aspect_ratio`` is unknown on 1.5 pro (it says aspectRatio); the error lists its keys."""
    error = refused(spec_of(catalog, "seedance-1-5-pro"), {"aspect_ratio": "16:9"})
    assert error.field == "params.aspect_ratio"
    assert error.code == "validation_failed" and error.status == 400
    assert "params.aspect_ratio is not a parameter of seedance-1-5-pro" in error.message
    assert (
        "allowed: resolution, duration, generate_audio, aspectRatio, fixed_lens, seed, "
        "watermark, return_last_frame" in error.message
    )


def test_a_1_5_only_key_is_unknown_on_1_0(catalog: Catalog) -> None:
    """``generate_audio`` is not a 1.0 pro parameter; its allowed list names aspect_ratio."""
    error = refused(spec_of(catalog, "seedance-1-0-pro"), {"generate_audio": "true"})
    assert error.field == "params.generate_audio"
    assert "aspect_ratio" in error.message and "enable_safety_checker" in error.message


@pytest.mark.parametrize(
    ("model_id", "params", "field", "options"),
    [
        ("seedance-1-0-pro", {"duration": "7"}, "params.duration", "5, 10"),
        ("seedance-1-0-pro", {"duration": 12}, "params.duration", "5, 10"),
        ("seedance-1-0-pro", {"resolution": "4k"}, "params.resolution", "480p, 720p, 1080p"),
        ("seedance-1-0-pro", {"camera_fixed": "yes"}, "params.camera_fixed", "false, true"),
        ("seedance-1-0-pro", {"duration": True}, "params.duration", "5, 10"),
        (
            "seedance-1-5-pro",
            {"aspectRatio": "adaptive"},
            "params.aspectRatio",
            "1:1, 4:3, 3:4, 16:9, 9:16, 21:9",
        ),
        ("seedance-1-5-pro", {"duration": "5"}, "params.duration", "4, 8, 12"),
        ("seedance-2-0-fast", {"resolution": "1080p"}, "params.resolution", "480p, 720p"),
        ("seedance-2-0", {"generate_audio": ["true"]}, "params.generate_audio", "true, false"),
    ],
)
def test_a_value_outside_the_options_names_the_field_and_lists_the_options(
    catalog: Catalog, model_id: str, params: dict[str, Any], field: str, options: str
) -> None:
    """An out-of-enum select names ``params.<key>``, lists its options and echoes the value."""
    error = refused(spec_of(catalog, model_id), params)
    assert error.field == field
    assert f"{field} must be one of {options} (got " in error.message


@pytest.mark.parametrize(
    ("model_id", "params", "message"),
    [
        ("seedance-1-0-pro", {"seed": 2147483648}, "between -1 and 2147483647 (got 2147483648)"),
        ("seedance-1-0-pro", {"seed": "-2"}, "between -1 and 2147483647 (got -2)"),
        ("seedance-2-0", {"duration": 3}, "between 4 and 15 (got 3)"),
        ("seedance-2-0", {"duration": "16"}, "between 4 and 15 (got 16)"),
    ],
)
def test_a_number_out_of_range_is_refused_with_its_bounds(
    catalog: Catalog, model_id: str, params: dict[str, Any], message: str
) -> None:
    """Numbers outside [min, max] name the field and both bounds."""
    error = refused(spec_of(catalog, model_id), params)
    (key,) = params
    assert error.field == f"params.{key}"
    assert f"params.{key} must be {message}" in error.message


def test_number_bounds_are_inclusive(catalog: Catalog) -> None:
    """The minimum and maximum themselves are accepted."""
    spec = spec_of(catalog, "seedance-2-0")
    assert parse(spec, {"duration": 4, "seed": -1})["duration"] == 4
    assert parse(spec, {"duration": 15, "seed": 2147483647})["seed"] == 2147483647


@pytest.mark.parametrize("value", ["abc", "5.5", 5.5, True, False, "", [5], {"n": 5}])
def test_a_non_integer_number_is_refused(catalog: Catalog, value: Any) -> None:
    """Text, fractions, booleans and containers are not integers for a number param."""
    error = refused(spec_of(catalog, "seedance-2-0"), {"duration": value})
    assert error.field == "params.duration"
    assert "params.duration must be an integer" in error.message


def test_defaults_are_filled_from_the_v1_page(catalog: Catalog) -> None:
    """An empty params object yields every canonical field at the model's v1 default."""
    assert parse(spec_of(catalog, "seedance-2-0"), {}) == {
        "scene": "text",
        "resolution": "720p",
        "ratio": "adaptive",
        "duration": 5,
        "generate_audio": True,
        "return_last_frame": False,
        "web_search": False,
        "safety_checker": True,
        "seed": -1,
        "watermark": False,
    }
    assert parse(spec_of(catalog, "seedance-1-0-pro"), {}) == parse(
        spec_of(catalog, "seedance-1-0-pro"), SEED_10_PRO
    )
    assert parse(spec_of(catalog, "seedance-1-5-pro"), {}) == parse(
        spec_of(catalog, "seedance-1-5-pro"), SEED_15_PRO
    )


def test_only_the_sent_fields_change_from_the_defaults(catalog: Catalog) -> None:
    """One sent key changes one canonical field and leaves the rest at their defaults."""
    spec = spec_of(catalog, "seedance-1-5-pro")
    defaults = parse(spec, {})
    changed = parse(spec, {"fixed_lens": "true"})
    assert {k for k in defaults if defaults[k] != changed[k]} == {"camera_fixed"}


def test_wire_names_map_canonical_fields_back_to_the_models_own_keys(catalog: Catalog) -> None:
    """Error messages for 1.5 pro say params.aspectRatio / params.fixed_lens, not ratio."""
    names = wire_names(spec_of(catalog, "seedance-1-5-pro"))
    assert names["ratio"] == "params.aspectRatio"
    assert names["camera_fixed"] == "params.fixed_lens"
    assert names["duration"] == "params.duration"
    assert names["prompt"] == "prompt"
    assert names["references"] == "params.referenceMediaItems"
    assert "safety_checker" not in names
    names10 = wire_names(spec_of(catalog, "seedance-1-0-pro"))
    assert names10["ratio"] == "params.aspect_ratio"
    assert names10["safety_checker"] == "params.enable_safety_checker"


def test_without_defaults_only_the_sent_params_are_parsed(catalog: Catalog) -> None:
    """``defaults=False`` (a draft's final): what the client sent, and nothing else."""
    spec = spec_of(catalog, "seedance-2-5")
    assert parse(spec, {"resolution": "1080p", "watermark": "true"}, defaults=False) == {
        "resolution": "1080p",
        "watermark": True,
    }


# --- decimal and text parameters (the open-weight models' guidance and negative prompt) ----

WAN = "wan-2-1-t2v-1-3b"


@pytest.mark.parametrize(("raw", "value"), [(7.5, 7.5), ("7.5", 7.5), (7, 7.0), (" 1 ", 1.0)])
def test_a_decimal_takes_a_number_or_a_decimal_string(
    local_catalog: Catalog, raw: Any, value: float
) -> None:
    fields = parse(spec_of(local_catalog, WAN), {"guidance_scale": raw})
    assert fields["guidance"] == value and isinstance(fields["guidance"], float)


@pytest.mark.parametrize("raw", ["high", True, "7,5", "1e3", [5], float("inf")])
def test_a_decimal_refuses_what_is_not_a_number(local_catalog: Catalog, raw: Any) -> None:
    error = refused(spec_of(local_catalog, WAN), {"guidance_scale": raw})
    assert error.field == "params.guidance_scale" and "must be a number" in str(error)


@pytest.mark.parametrize("raw", [0.5, 20.01, "-3"])
def test_a_decimal_out_of_range_is_refused_with_its_bounds(
    local_catalog: Catalog, raw: Any
) -> None:
    error = refused(spec_of(local_catalog, WAN), {"guidance_scale": raw})
    assert "params.guidance_scale must be between 1 and 20" in str(error)


def test_a_text_is_taken_as_sent_up_to_its_length(local_catalog: Catalog) -> None:
    spec = spec_of(local_catalog, WAN)
    assert parse(spec, {"negative_prompt": " blur, text "})["negative_prompt"] == " blur, text "
    assert len(parse(spec, {"negative_prompt": "x" * 2000})["negative_prompt"]) == 2000
    error = refused(spec, {"negative_prompt": "x" * 2001})
    assert "params.negative_prompt is 2001 characters long; at most 2000" in str(error)
    assert "must be a string" in str(refused(spec, {"negative_prompt": 12}))


def test_the_open_weight_defaults_fill_guidance_and_an_empty_negative_prompt(
    local_catalog: Catalog,
) -> None:
    fields = parse(spec_of(local_catalog, WAN), {})
    assert fields["guidance"] == 5.0 and fields["negative_prompt"] == ""
    assert fields["steps"] == 30
