"""The Alembic migrations build exactly the schema that ``store.tables`` declares."""

from __future__ import annotations

from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, insert, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from seedance_gateway.store import migrate
from seedance_gateway.store import tables as t
from seedance_gateway.store.accounts import now


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A plain engine on the migrated test database."""
    created = create_async_engine(database_url)
    yield created
    await created.dispose()


async def schema_diff(engine: AsyncEngine, metadata: MetaData) -> list[Any]:
    """Alembic's autogenerate diff between the live database and ``metadata``.

    Types and server defaults are compared too. Ignored: nothing. (Autogenerate cannot see
    CHECK constraints at all, so those are tested by behaviour below.)
    """

    def compare(sync_conn: Any) -> list[Any]:
        context = MigrationContext.configure(
            sync_conn, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, metadata))

    async with engine.connect() as conn:
        return await conn.run_sync(compare)


async def head_revision(conn: AsyncConnection) -> str | None:
    return (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()


def script_head() -> str | None:
    """The newest revision shipped with the package."""
    config = Config()
    location = resources.files("seedance_gateway.store").joinpath("migrations")
    config.set_main_option("script_location", str(location))
    return ScriptDirectory.from_config(config).get_current_head()


async def test_the_migrated_schema_matches_the_table_definitions(engine: AsyncEngine) -> None:
    """No table, column, type, default, index, unique or foreign key differs."""
    assert await schema_diff(engine, t.metadata) == []
    # The comparison is not vacuous: against empty metadata every table shows up as extra.
    diff = await schema_diff(engine, MetaData())
    removed = {entry[1].name for entry in diff if entry[0] == "remove_table"}
    assert removed == set(t.metadata.tables)


async def test_upgrading_twice_is_a_no_op_that_keeps_the_data(
    engine: AsyncEngine, database_url: str
) -> None:
    """The database is at the shipped head; a second upgrade changes no revision, schema or row."""
    async with engine.begin() as conn:
        await conn.execute(
            insert(t.accounts).values(id="acct_kept", name="kept", balance=7, created_at=now())
        )
        assert await head_revision(conn) == script_head()
        tables_before = await conn.run_sync(lambda c: sorted(inspect(c).get_table_names()))
    await migrate.upgrade(database_url)
    async with engine.connect() as conn:
        assert await head_revision(conn) == script_head()
        tables_after = await conn.run_sync(lambda c: sorted(inspect(c).get_table_names()))
        balance = await conn.execute(text("SELECT balance FROM accounts WHERE id = 'acct_kept'"))
        assert balance.scalar_one() == 7
    assert tables_after == tables_before
    assert await schema_diff(engine, t.metadata) == []


async def test_the_database_refuses_a_negative_balance(engine: AsyncEngine) -> None:
    """The balance_not_negative CHECK exists in the migrated schema."""
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(
                insert(t.accounts).values(id="acct_neg", name="n", balance=-1, created_at=now())
            )


async def test_the_database_refuses_a_second_settlement_of_the_same_kind(
    engine: AsyncEngine,
) -> None:
    """The ledger's unique (task_id, kind) and amount_not_negative constraints exist."""
    stamp = now()
    async with engine.begin() as conn:
        await conn.execute(insert(t.accounts).values(id="acct_1", name="a", created_at=stamp))
        await conn.execute(
            insert(t.api_keys).values(
                id="key_1",
                account_id="acct_1",
                name="k",
                prefix="sdg_x",
                hash="h" * 64,
                created_at=stamp,
            )
        )
        await conn.execute(
            insert(t.tasks).values(
                id="task_1",
                account_id="acct_1",
                api_key_id="key_1",
                dialect="public_v1",
                model="seedance-2-0",
                model_alias="seedance-2",
                request={},
                status="queued",
                quote=5,
                reserved_credits=5,
                created_at=stamp,
                updated_at=stamp,
            )
        )
    entry = {"account_id": "acct_1", "task_id": "task_1", "balance_after": 0, "created_at": stamp}
    async with engine.begin() as conn:
        await conn.execute(insert(t.ledger).values(kind="capture", amount=5, **entry))
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(insert(t.ledger).values(kind="capture", amount=5, **entry))
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(insert(t.ledger).values(kind="release", amount=-5, **entry))
