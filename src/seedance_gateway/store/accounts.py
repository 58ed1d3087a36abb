"""Accounts, API keys and the credit ledger (all SQL for them)."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from seedance_gateway import metrics
from seedance_gateway.domain import ledger, scopes
from seedance_gateway.domain.ids import new_id
from seedance_gateway.errors import InvalidState, NotFound
from seedance_gateway.store import tables as t
from seedance_gateway.store.database import Connection, Database, after_commit
from seedance_gateway.store.rows import Account, ApiKey, account_from_row, key_from_row

#: Reads every request may make, built once and run prepared (``Database.read_one``).
KEY_BY_HASH = select(t.api_keys).where(t.api_keys.c.hash == bindparam("key_hash"))
BALANCE = select(t.accounts.c.balance).where(t.accounts.c.id == bindparam("account_id"))
_DELTA = bindparam("delta", type_=t.accounts.c.balance.type)
ADD_CREDITS = (
    update(t.accounts)
    .where(t.accounts.c.id == bindparam("account"))
    .values(balance=t.accounts.c.balance + _DELTA)
    .returning(t.accounts.c.balance)
)
#: Takes credits only while the balance covers them (``delta`` is negative).
TAKE_CREDITS = ADD_CREDITS.where(t.accounts.c.balance + _DELTA >= 0)
INSERT_ENTRY = insert(t.ledger)


def now() -> datetime:
    """The current UTC time."""
    return datetime.now(UTC)


async def change_balance(conn: Connection, account_id: str, delta: int) -> int | None:
    """Adds ``delta`` to the balance; None if the account is missing or would go negative."""
    stmt = TAKE_CREDITS if delta < 0 else ADD_CREDITS
    balance = (await conn.run(stmt, {"account": account_id, "delta": delta})).scalar()
    return None if balance is None else int(balance)


def count_moved(kind: ledger.EntryKind, amount: int) -> None:
    """Counts the credits an entry moves in the metrics, once its transaction commits."""
    after_commit(functools.partial(metrics.credits_moved, str(kind), amount))


async def record_entry(
    conn: Connection,
    *,
    account_id: str,
    kind: ledger.EntryKind,
    amount: int,
    balance_after: int,
    task_id: str | None = None,
    note: str | None = None,
) -> None:
    """Appends one ledger entry (the balance change was made by ``change_balance``)."""
    count_moved(kind, amount)
    entry = {"account_id": account_id, "task_id": task_id, "kind": str(kind), "amount": amount}
    await conn.run(
        INSERT_ENTRY, {**entry, "balance_after": balance_after, "note": note, "created_at": now()}
    )


async def append_entry(
    conn: Connection,
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

    async def create_account(
        self,
        name: str,
        credits: int = 0,
        *,
        email: str | None = None,
        password_hash: str | None = None,
        role: str = "user",
    ) -> str:
        """A new account, with ``credits`` granted; ``email_taken`` if the email is in use."""
        account_id = new_id("acct")
        values = {
            "id": account_id,
            "name": name,
            "balance": 0,
            "created_at": now(),
            "email": email,
            "password_hash": password_hash,
            "role": role,
        }
        async with self.db.write() as conn:
            try:
                await conn.execute(insert(t.accounts).values(**values))
            except IntegrityError:
                raise InvalidState(
                    f"an account with email {email!r} already exists", code="email_taken"
                ) from None
            if credits:
                await append_entry(
                    conn,
                    account_id=account_id,
                    kind=ledger.EntryKind.GRANT,
                    amount=credits,
                    note="initial grant",
                )
        return account_id

    async def add_key(
        self,
        *,
        account_id: str,
        name: str,
        prefix: str,
        key_hash: str,
        key_scopes: frozenset[str] = frozenset(scopes.ALL),
        expires_at: datetime | None = None,
    ) -> ApiKey:
        """Stores a key's hash; the plaintext is never stored."""
        key = ApiKey(
            id=new_id("key"),
            account_id=account_id,
            name=name,
            prefix=prefix,
            created_at=now(),
            revoked_at=None,
            scopes=key_scopes,
            expires_at=expires_at,
        )
        values = {**vars(key), "scopes": scopes.encode(key_scopes), "hash": key_hash}
        async with self.db.write() as conn:
            await conn.execute(insert(t.api_keys).values(**values))
        return key

    async def key_by_hash(self, key_hash: str) -> ApiKey | None:
        """The key with this hash, revoked or not."""
        row = await self.db.read_one(KEY_BY_HASH, {"key_hash": key_hash})
        return key_from_row(row) if row else None

    async def list_keys(self, account_id: str | None = None) -> list[ApiKey]:
        """Every key (of ``account_id`` when given), oldest first."""
        query = select(t.api_keys).order_by(t.api_keys.c.created_at, t.api_keys.c.id)
        if account_id is not None:
            query = query.where(t.api_keys.c.account_id == account_id)
        async with self.db.read() as conn:
            return [key_from_row(r) for r in (await conn.execute(query)).mappings()]

    async def revoke_key(self, key_ref: str, account_id: str | None = None) -> ApiKey:
        """Revokes a key by id or prefix (only among ``account_id``'s keys when given)."""
        where = (t.api_keys.c.id == key_ref) | (t.api_keys.c.prefix == key_ref)
        if account_id is not None:
            where = where & (t.api_keys.c.account_id == account_id)
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

    async def touch_key(self, key_id: str, at: datetime) -> None:
        """Records that the key was used at ``at``."""
        async with self.db.write() as conn:
            await conn.execute(
                update(t.api_keys).where(t.api_keys.c.id == key_id).values(last_used_at=at)
            )

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
        row = await self.db.read_one(BALANCE, {"account_id": account_id})
        if row is None:
            raise NotFound(f"no account {account_id!r}")
        return int(row["balance"])

    async def ledger_balance(self, account_id: str) -> int:
        """The balance recomputed from the ledger (it must equal ``balance``)."""
        entries = select(t.ledger.c.kind, func.sum(t.ledger.c.amount)).where(
            t.ledger.c.account_id == account_id
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(entries.group_by(t.ledger.c.kind))).all()
        return sum(ledger.balance_delta(ledger.EntryKind(kind), int(total)) for kind, total in rows)

    async def entries(
        self, account_id: str, *, limit: int, before: int | None
    ) -> list[ledger.Entry]:
        """The account's ledger, newest first; ``before``: an entry id (the last one seen)."""
        query = select(t.ledger).where(t.ledger.c.account_id == account_id)
        if before is not None:
            query = query.where(t.ledger.c.id < before)
        query = query.order_by(t.ledger.c.id.desc()).limit(limit)
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [
            ledger.Entry(
                id=r["id"],
                kind=ledger.EntryKind(r["kind"]),
                amount=int(r["amount"]),
                balance_after=int(r["balance_after"]),
                task_id=r["task_id"],
                note=r["note"],
                created_at=r["created_at"],
            )
            for r in rows
        ]

    async def charges(self, account_id: str, since: datetime) -> list[ledger.Charge]:
        """Every captured charge of the account since ``since``, with its task's model."""
        query = (
            select(t.ledger.c.created_at, t.tasks.c.model, t.ledger.c.amount)
            .join(t.tasks, t.tasks.c.id == t.ledger.c.task_id)
            .where(
                t.ledger.c.account_id == account_id,
                t.ledger.c.kind == str(ledger.EntryKind.CAPTURE),
                t.ledger.c.created_at >= since,
            )
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [
            ledger.Charge(at=at, model=model, credits=int(amount)) for at, model, amount in rows
        ]

    async def account(self, account_id: str) -> Account:
        """One account by id."""
        async with self.db.read() as conn:
            row = (
                (await conn.execute(select(t.accounts).where(t.accounts.c.id == account_id)))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound(f"no account {account_id!r}")
        return account_from_row(row)

    async def sign_in_record(self, email: str) -> tuple[Account, str | None] | None:
        """The account with this (lower-cased) email and its password hash; None if none."""
        query = select(t.accounts).where(t.accounts.c.email == email)
        async with self.db.read() as conn:
            row = (await conn.execute(query)).mappings().first()
        return None if row is None else (account_from_row(row), row["password_hash"])

    async def list_accounts(self, *, limit: int, after: str | None) -> list[Account]:
        """Accounts in id order (ids are time-ordered), ``limit`` after the id ``after``."""
        query = select(t.accounts).order_by(t.accounts.c.id).limit(limit)
        if after is not None:
            query = query.where(t.accounts.c.id > after)
        async with self.db.read() as conn:
            return [account_from_row(r) for r in (await conn.execute(query)).mappings()]

    async def set_password(self, account_id: str, password_hash: str) -> None:
        """Replaces the account's password hash."""
        async with self.db.write() as conn:
            result = await conn.execute(
                update(t.accounts)
                .where(t.accounts.c.id == account_id)
                .values(password_hash=password_hash)
            )
        if not result.rowcount:
            raise NotFound(f"no account {account_id!r}")

    async def count_keys(self) -> int:
        """How many keys exist (zero means a fresh home)."""
        async with self.db.read() as conn:
            return int(
                (await conn.execute(select(func.count()).select_from(t.api_keys))).scalar_one()
            )
