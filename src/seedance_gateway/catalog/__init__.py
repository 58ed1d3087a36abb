"""Models as data: the catalog file, its loader and the parameter surface of each model."""

from __future__ import annotations

from seedance_gateway.catalog.loader import CatalogError, load, load_local
from seedance_gateway.catalog.model import Catalog, Mode, ModelSpec, ParamSpec

__all__ = ["Catalog", "CatalogError", "Mode", "ModelSpec", "ParamSpec", "load", "load_local"]
