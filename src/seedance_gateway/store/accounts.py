"""Accounts, API keys and the credit ledger (all SQL for them)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from seedance_gateway.domain import ledger
from seedance_gateway.domain.ids import new_id
from seedance_gateway.errors import NotFound
from seedance_gateway.store import tables as t
from seedance_gateway.store.database import Database
from seedance_gateway.store.rows import ApiKey, key_from_row


def now() -> datetime:
    """The current UTC time."""
    return datetime.now(UTC)


async def change_balance(conn: AsyncConnection, account_id: str, delta: int) -> int | None:
    """Adds ``delta`` to the balance; None if the account is missing or would go negative."""
    stmt = update(t.accounts).where(t.accounts.c.id == account_id)
    if delta < 0:
        stmt = stmt.where(t.accounts.c.balance >= -delta)
    result = await conn.execute(
        stmt.values(balance=t.accounts.c.balance + delta).returning(t.accounts.c.balance)
    )
    balance = result.scalar_one_or_none()
    return None if balance is None else int(balance)


async def record_entry(
    conn: AsyncConnection,
    *,
    account_id: str,
    kind: ledger.EntryKind,
    amount: int,
    balance_after: int,
    task_id: str | None = None,
    note: str | None = None,
) -> None:
    """Appends one ledger entry (the balance change was made by ``change_balance``)."""
    await conn.execute(
        insert(t.ledger).values(
            account_id=account_id,
            task_id=task_id,
            kind=str(kind),
            amount=amount,
            balance_after=balance_after,
            note=note,
            created_at=now(),
        )
    )


async def append_entry(
    conn: AsyncConnection,
    *,
    account_id: str,
    kind: ledger.EntryKind,
    amount: int,
    task_id: str | None = None,
    note: str | None = None,
) -> int | None:
    """Applies an entry to the balance and appends it; None if the balance would go negative."""
    balance = await change_balance(conn, account_id, ledger.balance_delta(kind, amount))
    if balance is not None:
        await record_entry(
            conn,
            account_id=account_id,
            kind=kind,
            amount=amount,
            balance_after=balance,
            task_id=task_id,
            note=note,
        )
    return balance


class AccountStore:
    """Accounts, keys and credits."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create_account(self, name: str, credits: int = 0) -> str:
        """A new account, with ``credits`` granted."""
        account_id = new_id("acct")
        async with self.db.write() as conn:
            await conn.execute(
                insert(t.accounts).values(id=account_id, name=name, balance=0, created_at=now())
            )
            if credits:
                await append_entry(
                    conn,
                    account_id=account_id,
                    kind=ledger.EntryKind.GRANT,
                    amount=credits,
                    note="initial grant",
                )
        return account_id

    async def add_key(self, *, account_id: str, name: str, prefix: str, key_hash: str) -> ApiKey:
        """Stores a key's hash; the plaintext is never stored."""
        key = ApiKey(
            id=new_id("key"),
            account_id=account_id,
            name=name,
            prefix=prefix,
            created_at=now(),
            revoked_at=None,
        )
        async with self.db.write() as conn:
            await conn.execute(insert(t.api_keys).values(**vars(key), hash=key_hash))
        return key

    async def key_by_hash(self, key_hash: str) -> ApiKey | None:
        """The key with this hash, revoked or not."""
        async with self.db.read() as conn:
            row = (
                (await conn.execute(select(t.api_keys).where(t.api_keys.c.hash == key_hash)))
                .mappings()
                .first()
            )
        return key_from_row(row) if row else None

    async def list_keys(self) -> list[ApiKey]:
        """Every key, oldest first."""
        async with self.db.read() as conn:
            rows = (
                await conn.execute(select(t.api_keys).order_by(t.api_keys.c.created_at))
            ).mappings()
            return [key_from_row(r) for r in rows]

    async def revoke_key(self, key_ref: str) -> ApiKey:
        """Revokes a key by id or prefix."""
        where = (t.api_keys.c.id == key_ref) | (t.api_keys.c.prefix == key_ref)
        async with self.db.write() as conn:
            await conn.execute(
                update(t.api_keys)
                .where(where, t.api_keys.c.revoked_at.is_(None))
                .values(revoked_at=now())
            )
            row = (await conn.execute(select(t.api_keys).where(where))).mappings().first()
        if row is None:
            raise NotFound(f"no API key with id or prefix {key_ref!r}")
        return key_from_row(row)

    async def grant(self, account_id: str, amount: int, note: str | None = None) -> int:
        """Adds credits; returns the new balance."""
        async with self.db.write() as conn:
            balance = await append_entry(
                conn, account_id=account_id, kind=ledger.EntryKind.GRANT, amount=amount, note=note
            )
        if balance is None:
            raise NotFound(f"no account {account_id!r}")
        return balance

    async def balance(self, account_id: str) -> int:
        """The account's current balance."""
        async with self.db.read() as conn:
            value = (
                await conn.execute(
                    select(t.accounts.c.balance).where(t.accounts.c.id == account_id)
                )
            ).scalar_one_or_none()
        if value is None:
            raise NotFound(f"no account {account_id!r}")
        return int(value)

    async def ledger_balance(self, account_id: str) -> int:
        """The balance recomputed from the ledger (it must equal ``balance``)."""
        entries = select(t.ledger.c.kind, func.sum(t.ledger.c.amount)).where(
            t.ledger.c.account_id == account_id
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(entries.group_by(t.ledger.c.kind))).all()
        return sum(ledger.balance_delta(ledger.EntryKind(kind), int(total)) for kind, total in rows)

    async def count_keys(self) -> int:
        """How many keys exist (zero means a fresh home)."""
        async with self.db.read() as conn:
            return int(
                (await conn.execute(select(func.count()).select_from(t.api_keys))).scalar_one()
            )
