"""Fixtures for the pure unit tests: the shipped catalog, loaded once."""

from __future__ import annotations

import pytest

from seedance_gateway import catalog as catalog_module
from seedance_gateway.catalog import Catalog


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The shipped model catalog."""
    return catalog_module.load()


@pytest.fixture(scope="session")
def local_catalog() -> Catalog:
    """The shipped open-weight models (provider local)."""
    return catalog_module.load_local()
