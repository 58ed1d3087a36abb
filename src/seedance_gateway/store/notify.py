"""``NOTIFY`` for due jobs on PostgreSQL (workers ``LISTEN`` through ``queue.listening``).

A job ``INSERT`` announces itself: a trigger on ``jobs`` (migration 0012) sends the ``NOTIFY``
inside the statement, so queueing a job costs no extra round trip. ``announce`` is for a
transaction that makes work due without inserting a job (an upstream check moved forward).
"""

from __future__ import annotations

from sqlalchemy import text

from seedance_gateway.store.database import Connection

CHANNEL = "seedance_jobs"
ANNOUNCE = text(f"NOTIFY {CHANNEL}")


async def announce(conn: Connection) -> None:
    """Tells other processes work is due (PostgreSQL only; delivered when ``conn`` commits)."""
    if conn.dialect.name == "postgresql":
        await conn.run(ANNOUNCE, {})
