"""``NOTIFY`` for new jobs on PostgreSQL (workers ``LISTEN`` through ``queue.listening``)."""

from __future__ import annotations

from sqlalchemy import text

from seedance_gateway.store.database import Connection

CHANNEL = "seedance_jobs"
ANNOUNCE = text(f"NOTIFY {CHANNEL}")


async def announce(conn: Connection) -> None:
    """Tells other processes a job is due (PostgreSQL only; delivered when ``conn`` commits)."""
    if conn.dialect.name == "postgresql":
        await conn.run(ANNOUNCE, {})
