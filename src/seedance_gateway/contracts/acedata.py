"""Seed 004's wire objects (``/seedance/videos``, ``/seedance/tasks``), as its document
publishes them. The create body is the upstream's (``contracts.ark_v3``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel
from pydantic.json_schema import SkipJsonSchema

from seedance_gateway.catalog import Catalog
from seedance_gateway.contracts.ark_v3 import (
    ARK_ID,
    ArkCreateTask,
    ArkTaskError,
    TaskStatus,
    absent,
    bound_idempotency_key,
    refine_create_body,
)

MAX_BATCH = 100  #: ``dialects.acedata.MAX_BATCH`` (a test holds the two together)
UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class Body(BaseModel):
    """A request object: these fields only."""

    model_config = ConfigDict(extra="forbid")


class Wire(BaseModel):
    """A response object: exactly these fields."""

    model_config = ConfigDict(extra="forbid")


# --- requests ----------------------------------------------------------------------------------


class AceDataCreateVideo(ArkCreateTask):
    """``POST /seedance/videos``: the upstream's create body. Without ``callback_url`` the
    answer waits for the video (at most the server's ``sync_wait_seconds``, 300 s by default,
    then it is the task as it stands); with one it is ``{"task_id"}`` at once and the answer is
    POSTed there when the task ends."""

    callback_url: Annotated[str, Field(pattern=r"^https?://")] | None = Field(
        default=None,
        description="A public https URL (http only where the server allows it): the create "
        "answers at once and the final answer is POSTed there when the task ends.",
    )


class AceDataRetrieve(Body):
    """One task, by its id (any spelling) or the create request's ``trace_id``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"anyOf": [{"required": ["id"]}, {"required": ["trace_id"]}]},
    )
    action: Literal["retrieve"] = "retrieve"
    id: Annotated[str, Field(min_length=1)] | SkipJsonSchema[None] = Field(
        default=None, description="`task_id` or `data.task_id`."
    )
    trace_id: Annotated[str, Field(min_length=1)] | SkipJsonSchema[None] = Field(
        default=None, description="The create's `trace_id`."
    )


class AceDataRetrieveBatch(Body):
    """Several tasks by id; those that do not exist are left out."""

    action: Literal["retrieve_batch"]
    ids: list[str] = Field(min_length=1, max_length=MAX_BATCH)


class AceDataTasksQuery(RootModel[AceDataRetrieve | AceDataRetrieveBatch]):
    """``POST /seedance/tasks``."""


# --- responses ---------------------------------------------------------------------------------


class AceDataErrorDetail(Wire):
    code: str = Field(description="`invalid_token`, `used_up`, `token_mismatched`, ….")
    message: str


class AceDataError(Wire):
    """Every seed 004 error."""

    success: Literal[False]
    error: AceDataErrorDetail
    trace_id: str = Field(description="This request's id, as a UUID.")


class AceDataVideo(Wire):
    """The upstream's task, briefly."""

    task_id: str = Field(pattern=ARK_ID, description="The upstream's spelling of the task id.")
    status: TaskStatus
    model: str = Field(description="The model name as sent on create.")
    video_url: str | None = absent(
        "Once it succeeded: the MP4, a signed link (null once retention deleted it)."
    )
    last_frame_url: str | None = absent(
        "Once it succeeded: a PNG of the last frame, or null unless `return_last_frame`."
    )


class AceDataAnswer(Wire):
    """A create's answer (and what ``callback_url`` is POSTed): the task as it stands."""

    success: bool = Field(description="False once it failed, expired or was cancelled.")
    task_id: str = Field(pattern=UUID, description="The task's id, as a UUID.")
    trace_id: str | None = Field(description="The create request's id, as a UUID.")
    data: AceDataVideo
    error: ArkTaskError | None = absent("Why it failed or expired.")


class AceDataAccepted(Wire):
    """A create with ``callback_url``: answered at once."""

    task_id: str = Field(pattern=UUID, description="The task's id, as a UUID.")


class AceDataCreated(RootModel[AceDataAnswer | AceDataAccepted]):
    """The task once it ended (or the wait limit passed); ``{"task_id"}`` with a
    ``callback_url``."""


class AceDataRecord(Wire):
    """A task: the request as sent and the answer as it stands."""

    id: str = Field(pattern=UUID, description="The task's id, as a UUID.")
    created_at: float = Field(description="Unix seconds, to the millisecond.")
    finished_at: float | None = Field(description="Unix seconds, once it ended.")
    request: dict[str, Any] = Field(
        description="The create body as sent (`data:` URLs elided); for a task created "
        "through another API, its model and prompt."
    )
    trace_id: str | None = Field(description="The create request's id, as a UUID.")
    type: Literal["videos"]
    response: AceDataAnswer


class AceDataBatch(Wire):
    items: list[AceDataRecord]
    count: int = Field(ge=0, le=MAX_BATCH)


class AceDataTasks(RootModel[AceDataRecord | AceDataBatch]):
    """``retrieve``: one record; ``retrieve_batch``: ``{"items", "count"}``."""


RETRIEVE_LINK = {
    "RetrieveTask": {
        "operationId": "tasks",
        "requestBody": {"action": "retrieve", "id": "$response.body#/task_id"},
        "description": "The task just created.",
    }
}


def refine_acedata(doc: dict[str, Any], catalog: Catalog) -> None:
    """The create body per catalog model and the idempotency key's bound."""
    refine_create_body(doc, catalog, AceDataCreateVideo.__name__)
    bound_idempotency_key(doc["paths"]["/seedance/videos"]["post"])
