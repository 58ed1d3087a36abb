"""How each open-weight model runs on its device (``SEEDANCE_LOCAL_SPEED``): diffusers' own speed
settings, each a trade the operator chooses per model.

The setting is a JSON object by model id (or alias), ``"*"`` for every local model; a model's
entry overrides ``"*"`` key by key::

    {"*": {"fp8": true}, "wan-2-1-t2v-1-3b": {"cache": 0.05, "compile": true}}

* ``dtype``: ``auto`` (bfloat16 on a GPU, float32 on the CPU), ``bfloat16``, ``float16`` or
  ``float32``. The VAE stays in float32 (the Wan and LTX docs decode in float32).
* ``fp8``: the transformer's weights stored in float8 and computed in ``dtype`` (layerwise
  casting): about half its memory, a small loss of detail.
* ``cache``: first-block cache threshold (0 is off; 0.05-0.2 in diffusers' docs): a step whose
  first block changes less than this reuses the rest of the last step's output. Faster as it
  rises, and less faithful to the prompt's detail.
* ``compile``: ``torch.compile`` of the transformer's repeated blocks; the first task on a
  process pays the compile (minutes), the next ones run faster. No quality cost.
* ``attention``: a diffusers attention backend (``flash``, ``_flash_3``, ``sage``,
  ``_native_cudnn``; empty: PyTorch's default). ``sage`` quantizes attention (small loss).
* ``offload``: ``none``, ``model`` (each component moves to the GPU while it runs: fits a
  smaller GPU, slower) or ``sequential`` (layer by layer: the least memory, much slower).
  Ignored on the CPU.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from seedance_gateway.config import ConfigError

log = logging.getLogger(__name__)

DTYPES = ("auto", "bfloat16", "float16", "float32")
OFFLOADS = ("none", "model", "sequential")
EVERY_MODEL = "*"


@dataclass(frozen=True, kw_only=True)
class Speed:
    """One model's speed settings (the module's docstring says what each trades)."""

    dtype: str = "auto"
    fp8: bool = False
    cache: float = 0.0
    compile: bool = False
    attention: str = ""
    offload: str = "none"

    def torch_dtype(self, device: str) -> Any:
        """The dtype the model computes in on ``device``."""
        import torch

        name = self.dtype
        if name == "auto":
            name = "float32" if device == "cpu" else "bfloat16"
        return getattr(torch, name)


_TYPES = {f.name: type(getattr(Speed(), f.name)) for f in fields(Speed)}


def parse(setting: str) -> dict[str, Speed]:
    """``SEEDANCE_LOCAL_SPEED`` as settings by model name (``"*"`` for the rest); a malformed
    entry is a ``ConfigError`` naming it."""
    if not setting.strip():
        return {}
    try:
        raw = json.loads(setting)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"SEEDANCE_LOCAL_SPEED is not JSON ({exc.msg})") from None
    if not isinstance(raw, dict):
        raise ConfigError('SEEDANCE_LOCAL_SPEED must be an object: {"model-id": {"fp8": true}}')
    every = _speed(EVERY_MODEL, raw.get(EVERY_MODEL, {}), Speed())
    return {
        name: every if name == EVERY_MODEL else _speed(name, entry, every)
        for name, entry in raw.items()
    }


def for_model(speeds: Mapping[str, Speed], names: tuple[str, ...]) -> Speed:
    """The settings of the model called ``names`` (its id, then its aliases), else ``"*"``'s."""
    found = next((speeds[name] for name in names if name in speeds), None)
    return found or speeds.get(EVERY_MODEL, Speed())


def _speed(name: str, entry: Any, base: Speed) -> Speed:
    where = f"SEEDANCE_LOCAL_SPEED[{name!r}]"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be an object of settings")
    for key, value in entry.items():
        expected = _TYPES.get(key)
        if expected is None:
            raise ConfigError(f"{where}: unknown setting {key!r}; known: {', '.join(_TYPES)}")
        if not _fits(expected, value):
            raise ConfigError(f"{where}.{key} must be a {expected.__name__} (got {value!r})")
    values: dict[str, Any] = {k: float(v) if _TYPES[k] is float else v for k, v in entry.items()}
    speed = replace(base, **values)
    if speed.dtype not in DTYPES:
        raise ConfigError(f"{where}.dtype must be one of {', '.join(DTYPES)}")
    if speed.offload not in OFFLOADS:
        raise ConfigError(f"{where}.offload must be one of {', '.join(OFFLOADS)}")
    if not 0.0 <= speed.cache <= 1.0:
        raise ConfigError(f"{where}.cache must be between 0 (off) and 1")
    return speed


def _fits(expected: type, value: Any) -> bool:
    if expected is float:  # a JSON integer is a number too; a boolean is not
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, expected)


def load_dtypes(speed: Speed, device: str) -> dict[str, Any]:
    """``from_pretrained``'s ``dtype`` by component: the compute dtype, the VAE float32."""
    import torch

    return {"default": speed.torch_dtype(device), "vae": torch.float32}


def apply(pipeline: Any, speed: Speed, device: str) -> Any:
    """Puts ``pipeline`` on ``device`` with ``speed``'s settings; returns it."""
    import torch

    compute = speed.torch_dtype(device)
    for transformer in _transformers(pipeline):
        if speed.fp8:
            transformer.enable_layerwise_casting(
                storage_dtype=torch.float8_e4m3fn, compute_dtype=compute
            )
        if speed.cache:
            from diffusers import FirstBlockCacheConfig

            cache = FirstBlockCacheConfig(threshold=speed.cache)  # type: ignore[no-untyped-call]
            transformer.enable_cache(cache)
        if speed.attention:
            transformer.set_attention_backend(speed.attention)
    _place(pipeline, speed.offload, device)
    if speed.compile:
        # one graph per block, unless fp8's or the cache's hooks sit in it: dynamo cannot
        # trace them (a Parameter built in a hook, ``inspect.signature``), so they break it
        whole = not (speed.fp8 or speed.cache)
        for transformer in _transformers(pipeline):
            transformer.compile_repeated_blocks(fullgraph=whole)
    return pipeline


def _transformers(pipeline: Any) -> list[Any]:
    """The denoisers: ``transformer``, and ``transformer_2`` where there are two (Wan 2.2 A14B)."""
    found = (getattr(pipeline, name, None) for name in ("transformer", "transformer_2"))
    return [t for t in found if t is not None]


def _place(pipeline: Any, offload: str, device: str) -> None:
    if offload == "none" or device == "cpu":
        if offload != "none":
            log.warning("offload %s needs a GPU: the pipeline stays on the CPU", offload)
        pipeline.to(device)
    elif offload == "model":
        pipeline.enable_model_cpu_offload(device=device)
    else:
        pipeline.enable_sequential_cpu_offload(device=device)
