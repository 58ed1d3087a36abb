"""Draft to final (the use case): a create that names a draft, made whole from that draft.

The rules (which drafts qualify, what the final takes from its draft) are
``domain.drafts``; here the draft is read from the caller's tasks and its stored media become
the final's references, copied for the final when it is submitted (``Files.resolve``).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from seedance_gateway import references as refs
from seedance_gateway.commands import SubmitCommand
from seedance_gateway.domain import drafts, ids
from seedance_gateway.errors import NotFound, ValidationFailed
from seedance_gateway.store.tasks import TaskStore


class Finals:
    """Turns a final's create command into one carrying its draft's prompt, media and scene."""

    def __init__(self, tasks: TaskStore) -> None:
        self.tasks = tasks

    async def command(self, account_id: str, command: SubmitCommand) -> SubmitCommand:
        """``command`` (which names ``draft_task_id``) made whole from the draft, or a 400
        saying why the draft cannot be made final."""
        field = command.names.get("draft_task_id", "draft_task_id")
        sent = command.draft_task_id or ""
        try:
            draft = await self.tasks.get(ids.task_id_of(sent), account_id)
        except NotFound:
            raise ValidationFailed(
                f"{field}: there is no task {sent} in your account", field=field
            ) from None
        inputs = drafts.final_inputs(
            draft,
            model_id=command.spec.id,
            fields=command.fields,
            names=command.names,
            sent_id=sent,
            now=datetime.now(UTC),
        )
        media = tuple(
            refs.IncomingReference(
                url=r.url, kind=r.kind, role=r.role, field=f"{field}.references[{i}]", stored=r
            )
            for i, r in enumerate(inputs.references)
        )
        return dataclasses.replace(
            command, prompt=inputs.prompt, fields=inputs.fields, references=media
        )
