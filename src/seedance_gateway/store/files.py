"""Uploaded files: metadata rows (the bytes live in the blob store), quota-checked inserts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import RowMapping, delete, func, insert, select

from seedance_gateway.errors import NotFound, PayloadTooLarge
from seedance_gateway.store import tables as t
from seedance_gateway.store.database import Connection, Database


@dataclass(frozen=True, kw_only=True)
class FileRecord:
    """One stored upload."""

    id: str
    account_id: str
    kind: str
    name: str
    mime_type: str
    size: int
    sha256: str
    blob_key: str
    created_at: datetime
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    client_request_id: str | None = None


def _record(row: RowMapping) -> FileRecord:
    return FileRecord(**{c.name: row[c.name] for c in t.files.c})


class FileStore:
    """Every file-row read and write."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, record: FileRecord, *, quota_bytes: int) -> FileRecord:
        """Inserts the row unless the account's files would exceed ``quota_bytes``."""
        async with self.db.write() as conn:
            await _lock_account(conn, record.account_id)
            used = await _usage(conn, record.account_id)
            limit = await _quota(conn, record.account_id, quota_bytes)
            if used + record.size > limit:
                raise PayloadTooLarge(
                    f"storage quota exceeded: {used} of {limit} bytes used, this file needs "
                    f"{record.size}; delete files you no longer need",
                    code="storage_quota_exceeded",
                )
            await conn.execute(insert(t.files).values(**vars(record)))
        return record

    async def get(self, file_id: str, account_id: str) -> FileRecord:
        """The file, if it belongs to ``account_id`` (``not_found`` otherwise)."""
        query = select(t.files).where(t.files.c.id == file_id, t.files.c.account_id == account_id)
        async with self.db.read() as conn:
            row = (await conn.execute(query)).mappings().first()
        if row is None:
            raise NotFound(f"no file {file_id!r}")
        return _record(row)

    async def list_files(
        self, account_id: str, *, limit: int, after: str | None
    ) -> list[FileRecord]:
        """Newest first; ``after`` is the last id of the previous page."""
        query = select(t.files).where(t.files.c.account_id == account_id)
        if after:
            query = query.where(t.files.c.id < after)
        query = query.order_by(t.files.c.id.desc()).limit(limit)
        async with self.db.read() as conn:
            return [_record(r) for r in (await conn.execute(query)).mappings()]

    async def delete(self, file_id: str, account_id: str) -> FileRecord:
        """Removes the row; the caller deletes the blob."""
        record = await self.get(file_id, account_id)
        async with self.db.write() as conn:
            await conn.execute(delete(t.files).where(t.files.c.id == file_id))
        return record

    async def created_before(self, cutoff: datetime, *, limit: int) -> list[FileRecord]:
        """Up to ``limit`` files (of every account) uploaded before ``cutoff``, oldest first."""
        query = (
            select(t.files)
            .where(t.files.c.created_at < cutoff)
            .order_by(t.files.c.created_at)
            .limit(limit)
        )
        async with self.db.read() as conn:
            return [_record(r) for r in (await conn.execute(query)).mappings()]

    async def remove(self, file_ids: list[str]) -> None:
        """Removes these rows (the collector has deleted their bytes)."""
        if file_ids:
            async with self.db.write() as conn:
                await conn.execute(delete(t.files).where(t.files.c.id.in_(file_ids)))

    async def usage(self, account_id: str) -> int:
        """Bytes the account's files take."""
        async with self.db.read() as conn:
            return await _usage(conn, account_id)


async def _lock_account(conn: Connection, account_id: str) -> None:
    if conn.dialect.name == "postgresql":
        await conn.execute(
            select(t.accounts.c.id).where(t.accounts.c.id == account_id).with_for_update()
        )


async def _usage(conn: Connection, account_id: str) -> int:
    query = select(func.coalesce(func.sum(t.files.c.size), 0)).where(
        t.files.c.account_id == account_id
    )
    return int((await conn.execute(query)).scalar_one())


async def _quota(conn: Connection, account_id: str, default: int) -> int:
    query = select(t.accounts.c.storage_quota_bytes).where(t.accounts.c.id == account_id)
    override = (await conn.execute(query)).scalar_one_or_none()
    return int(override) if override is not None else default
