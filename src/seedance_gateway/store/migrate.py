"""Runs the Alembic migrations programmatically, inside the running event loop."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine

from seedance_gateway.store.database import _ensure_parent

_PG_LOCK = 7_302_001  # advisory lock id: one migrator at a time across processes


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("seedance_gateway.store").joinpath("migrations"))
    )
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK})
    command.upgrade(_config(connection), "head")


async def upgrade(url: str) -> None:
    """Brings the database at ``url`` to the newest schema."""
    _ensure_parent(url)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade)
    finally:
        await engine.dispose()
