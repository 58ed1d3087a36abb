"""All SQL lives here: tables, migrations, and the stores for accounts, tasks, jobs, files,
webhooks, upstream tasks and retention."""

from __future__ import annotations

from dataclasses import dataclass

from seedance_gateway.store.accounts import AccountStore
from seedance_gateway.store.database import Database
from seedance_gateway.store.files import FileStore
from seedance_gateway.store.jobs import RENDER_LOCAL, JobStore
from seedance_gateway.store.outbox import DELIVER
from seedance_gateway.store.retention import COLLECT, RetentionStore
from seedance_gateway.store.tasks import TaskStore
from seedance_gateway.store.upstream import FETCH, SUBMIT, UpstreamStore
from seedance_gateway.store.webhooks import WebhookStore

#: Every kind of job the queue holds: render here (a preview, or an open-weight model on a
#: worker's device), deliver a webhook, the upstream's two steps, collect expired blobs.
JOB_KINDS = ("generate", RENDER_LOCAL, DELIVER, SUBMIT, FETCH, COLLECT)


@dataclass(frozen=True)
class Store:
    """The stores over one database."""

    db: Database
    accounts: AccountStore
    tasks: TaskStore
    jobs: JobStore
    files: FileStore
    webhooks: WebhookStore
    upstream: UpstreamStore
    retention: RetentionStore

    @classmethod
    def open(cls, url: str, *, max_attempts: int = 3) -> Store:
        """Stores over the database at ``url`` (engines connect lazily)."""
        db = Database(url)
        tasks = TaskStore(db, max_attempts=max_attempts)
        return cls(
            db,
            AccountStore(db),
            tasks,
            JobStore(db),
            FileStore(db),
            WebhookStore(db),
            UpstreamStore(db),
            RetentionStore(db),
        )

    async def close(self) -> None:
        """Closes the engines."""
        await self.db.dispose()
