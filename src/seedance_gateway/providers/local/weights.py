"""Which open-weight models this deployment serves, and from where (``SEEDANCE_LOCAL_WEIGHTS``).

The setting names each model's weights: ``wan-2-1-t2v-1-3b=/srv/weights/wan-1.3b`` (a folder
``save_pretrained`` wrote) or ``…=Wan-AI/Wan2.1-T2V-1.3B-Diffusers`` (a Hugging Face repo id,
read from the local cache; downloaded only with ``SEEDANCE_LOCAL_DOWNLOAD=true``). A local model
of the catalog that the setting does not name, or that cannot run here, is left out of the
catalog, and ``unavailable`` says why.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping

from seedance_gateway.catalog import Catalog
from seedance_gateway.config import ConfigError

PROVIDER = "local"
#: The packages the ``[local]`` extra installs, by import name.
PACKAGES = ("torch", "diffusers", "transformers")


def parse(setting: str) -> dict[str, str]:
    """``MODEL=SOURCE,...`` as a mapping (a model named twice, or no ``=``, is a ConfigError)."""
    weights: dict[str, str] = {}
    for entry in filter(None, (e.strip() for e in setting.split(","))):
        model, sep, source = (part.strip() for part in entry.partition("="))
        if not sep or not model or not source:
            raise ConfigError(
                f"SEEDANCE_LOCAL_WEIGHTS entry {entry!r} is not MODEL=FOLDER_OR_REPO_ID"
            )
        if model in weights:
            raise ConfigError(f"SEEDANCE_LOCAL_WEIGHTS names {model} twice")
        weights[model] = source
    return weights


def missing_packages() -> list[str]:
    """The ``[local]`` extra's packages that are not installed here."""
    return [name for name in PACKAGES if importlib.util.find_spec(name) is None]


def unavailable(catalog: Catalog, weights: Mapping[str, str]) -> dict[str, str]:
    """The catalog's local models that cannot be served here, each with the reason."""
    local = [m for m in catalog.models if m.provider == PROVIDER]
    known = {name for m in local for name in (m.id, *m.aliases)}
    strangers = sorted(set(weights) - known)
    if strangers:
        offered = ", ".join(m.id for m in local) or "none"
        raise ConfigError(
            f"SEEDANCE_LOCAL_WEIGHTS names {', '.join(strangers)}, not local models of the "
            f"catalog (local models: {offered})"
        )
    missing = missing_packages()
    reasons: dict[str, str] = {}
    for model in local:
        if not {model.id, *model.aliases} & set(weights):
            reasons[model.id] = "no weights: name them in SEEDANCE_LOCAL_WEIGHTS"
        elif missing:
            reasons[model.id] = (
                f"{', '.join(missing)} not installed: pip install 'seedance-gateway[local]'"
            )
    return reasons


def source_of(model_id: str, aliases: tuple[str, ...], weights: Mapping[str, str]) -> str:
    """Where the weights of ``model_id`` are (by its id or any alias)."""
    return next(weights[name] for name in (model_id, *aliases) if name in weights)
