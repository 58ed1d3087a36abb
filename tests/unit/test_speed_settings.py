"""``SEEDANCE_LOCAL_SPEED``: the open-weight models' speed settings, parsed and checked."""

from __future__ import annotations

import re

import pytest

from seedance_gateway.config import ConfigError
from seedance_gateway.providers.local.speed import Speed, for_model, parse

WAN = ("wan-2-1-t2v-1-3b", "wan2.1-t2v-1.3b", "Wan-AI/Wan2.1-T2V-1.3B-Diffusers")


def test_nothing_set_is_diffusers_plain_defaults() -> None:
    assert parse("") == {}
    assert for_model({}, WAN) == Speed(
        dtype="auto", fp8=False, cache=0.0, compile=False, attention="", offload="none"
    )


def test_a_model_entry_overrides_every_model_s_key_by_key() -> None:
    speeds = parse(
        '{"*": {"fp8": true, "cache": 0.1}, "wan2.1-t2v-1.3b": {"cache": 0, "compile": true}}'
    )
    assert for_model(speeds, WAN) == Speed(fp8=True, cache=0.0, compile=True)
    assert for_model(speeds, ("ltx-video",)) == Speed(fp8=True, cache=0.1)
    assert isinstance(for_model(speeds, WAN).cache, float)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("fp8", "is not JSON"),
        ("[1]", "must be an object"),
        ('{"*": 3}', "SEEDANCE_LOCAL_SPEED['*'] must be an object of settings"),
        ('{"ltx-video": {"turbo": true}}', "unknown setting 'turbo'; known: dtype, fp8, cache"),
        ('{"*": {"fp8": "yes"}}', "fp8 must be a bool (got 'yes')"),
        ('{"*": {"cache": true}}', "cache must be a float (got True)"),
        ('{"*": {"cache": 2}}', "cache must be between 0 (off) and 1"),
        ('{"*": {"dtype": "float8"}}', "dtype must be one of auto, bfloat16, float16, float32"),
        ('{"*": {"offload": "disk"}}', "offload must be one of none, model, sequential"),
        ('{"*": {"attention": 1}}', "attention must be a str (got 1)"),
    ],
)
def test_a_malformed_setting_is_refused_naming_what_is_wrong(setting: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse(setting)
