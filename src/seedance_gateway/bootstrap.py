"""Admin operations the CLI runs outside the server: migrate, first key, keys and credits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from seedance_gateway import config
from seedance_gateway.domain import keys, scopes
from seedance_gateway.store import Store, migrate
from seedance_gateway.store.rows import ApiKey


@dataclass(frozen=True, kw_only=True)
class NewKey:
    """A key just created: its plaintext is shown once."""

    plaintext: str
    key: ApiKey
    credits: int


async def open_store(settings: config.Settings) -> Store:
    """Migrates the database, then opens it."""
    url = settings.effective_database_url
    await migrate.upgrade(url)
    return Store.open(url, max_attempts=settings.job_max_attempts)


async def create_key(
    store: Store,
    *,
    name: str,
    credits: int,
    account_id: str | None = None,
    key_scopes: frozenset[str] = frozenset(scopes.ALL),
    role: str = "user",
    expires_at: datetime | None = None,
) -> NewKey:
    """A new key, on a new account (with ``credits`` and ``role``) unless ``account_id`` is
    given."""
    if account_id is None:
        account_id = await store.accounts.create_account(name, credits, role=role)
    elif credits:
        await store.accounts.grant(account_id, credits, note="grant with new key")
    plaintext = keys.generate()
    key = await store.accounts.add_key(
        account_id=account_id,
        name=name,
        prefix=keys.display_prefix(plaintext),
        key_hash=keys.digest(plaintext),
        key_scopes=key_scopes,
        expires_at=expires_at,
    )
    return NewKey(plaintext=plaintext, key=key, credits=await store.accounts.balance(account_id))


async def first_key(settings: config.Settings) -> NewKey | None:
    """On an empty home, a key with starter credits on an admin account (the operator's);
    None when keys already exist."""
    store = await open_store(settings)
    try:
        if await store.accounts.count_keys():
            return None
        return await create_key(
            store, name="default", credits=settings.starter_credits, role="admin"
        )
    finally:
        await store.close()
