"""The documents of ``/api/v3`` and seed 004 against the code they describe: each catalog
model's create body takes what the parser and the model's rules take, and the objects the
dialects build match the published response schemas exactly."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest
from contract_support import CATALOG, built, ref, valid
from openapi_spec_validator import validate

from seedance_gateway.catalog import Catalog, ModelSpec
from seedance_gateway.contracts import acedata as ace_wire
from seedance_gateway.contracts import ark_v3 as ark_wire
from seedance_gateway.contracts import documents
from seedance_gateway.contracts.build import combined
from seedance_gateway.dialects import acedata, ark_body, ark_v3
from seedance_gateway.domain.requests import normalize, with_concrete_seed
from seedance_gateway.domain.tasks import Status, Task, TaskError, TaskResult
from seedance_gateway.errors import GatewayError
from seedance_gateway.links import ResultLinks
from seedance_gateway.service import Service

NAMES = ("ark-v3", "acedata")
STAMP = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
IMAGE = {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
TEXT = {"type": "text", "text": "a fox in the snow"}
#: Values tried for each body field: good ones, bad ones and null.
TRIED: dict[str, tuple[Any, ...]] = {
    "resolution": ("480p", "720p", "1080p", "4k", "360p"),
    "ratio": ("16:9", "9:21", "21:9", "2:1"),
    "duration": (-1, 0, 2, 4, 5.0, 12, 13, 15, 16, "5"),
    "frames": (25, 29, 30, 57, 289, 293),
    "seed": (-2, -1, 0, 2**32 - 1, 2**32),
    "camera_fixed": (True, False, "true"),
    "camerafixed": (True,),
    "watermark": (True, "yes"),
    "generate_audio": (True, False),
    "return_last_frame": (True,),
    "service_tier": ("default", "flex", "fast"),
    "execution_expires_after": (3599, 3600, 259200, 259201),
    "draft": (True, False),
    "priority": (-1, 0, 9, 10),
    "tools": ([{"type": "web_search"}], [{"type": "maps"}], []),
    "safety_identifier": ("x" * 64, "x" * 65),
    "output_format": ("mp4",),
    "omni_reference_task_type": ("auto",),
    "unknown_field": (1,),
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return CATALOG


@pytest.fixture(scope="module")
def docs() -> dict[str, dict[str, Any]]:
    return built(*NAMES)


class FakeService:
    """What the create parser and the model's rules ask of the service."""

    resolve_model = Service.resolve_model
    quote = Service.quote
    _normalize = Service._normalize

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.settings = SimpleNamespace(default_expires_after=172800)


def accepted(service: FakeService, body: dict[str, Any]) -> bool:
    """Whether a create with ``body`` passes every check before its media are fetched."""
    try:
        service.quote(ark_v3.parse_create(service, body, request_id=None))  # type: ignore[arg-type]
    except GatewayError:
        return False
    return True


def test_both_documents_are_valid_and_merge(docs: dict[str, dict[str, Any]]) -> None:
    for doc in docs.values():
        validate(doc)
    validate(combined(((documents.BY_NAME[n], docs[n]) for n in NAMES), version="0"))


def test_the_create_body_names_every_field_the_parser_reads(
    docs: dict[str, dict[str, Any]],
) -> None:
    fields = {"model", "content", *ark_body.FIELD_TYPES, *ark_body.FIELD_ALIASES}
    for doc, name in ((docs["ark-v3"], "ArkCreateTask"), (docs["acedata"], "AceDataCreateVideo")):
        variants = doc["components"]["schemas"][name]["oneOf"]
        for variant in variants:
            schema = doc["components"]["schemas"][variant["$ref"].rsplit("/", 1)[1]]
            assert set(schema["properties"]) == fields, variant


def _content(spec: ModelSpec) -> list[dict[str, Any]]:
    return [TEXT] if "t2v" in spec.modes else [IMAGE, TEXT]


def _unexpressed(spec: ModelSpec, key: str, value: Any) -> bool:
    """Rules a JSON Schema of the body cannot state: they depend on the content's mode."""
    text_only = "t2v" in spec.modes
    adaptive_refused = spec.family == "1.0" and text_only
    return key == "ratio" and value == "adaptive" and adaptive_refused


@pytest.mark.parametrize("name", NAMES)
def test_each_create_variant_takes_what_the_server_takes(
    docs: dict[str, dict[str, Any]], catalog: Catalog, name: str
) -> None:
    """Each model name picks one variant (``model`` discriminates), and that variant takes each
    field's value exactly when the parser and the model's rules do."""
    doc, service = docs[name], FakeService(catalog)
    body_schema = ref("ArkCreateTask" if name == "ark-v3" else "AceDataCreateVideo")
    mapping = doc["components"]["schemas"][body_schema["$ref"].rsplit("/", 1)[1]]
    mapping = mapping["discriminator"]["mapping"]
    for spec in catalog.models:
        for model in (spec.id, *spec.aliases):
            variant = {"$ref": mapping[model]}
            schema = jsonschema.Draft202012Validator({**variant, "components": doc["components"]})
            base = {"model": model, "content": _content(spec)}
            assert valid(doc, body_schema, base) and accepted(service, base), base
            for key, values in TRIED.items():
                for value in (*values, *spec.capabilities.ratios, None):
                    if key != "ratio" and value in spec.capabilities.ratios:
                        continue
                    if _unexpressed(spec, key, value):
                        continue
                    body = {**base, key: value}
                    said, done = schema.is_valid(body), accepted(service, body)
                    assert said == done, (body, said, done)


def test_the_sdks_explicit_nulls_are_valid(docs: dict[str, dict[str, Any]]) -> None:
    nulls = dict.fromkeys(ark_body.FIELD_TYPES)
    body = {"model": "seedance-1-0-pro", "content": [TEXT], **nulls}
    assert valid(docs["ark-v3"], ref("ArkCreateTask"), body)


def test_content_needs_a_prompt_and_known_items(docs: dict[str, dict[str, Any]]) -> None:
    doc, schema = docs["ark-v3"], ref("ArkCreateTask")
    model = {"model": "seedance-2-0"}
    assert not valid(doc, schema, {**model, "content": []})
    assert not valid(doc, schema, {**model, "content": [IMAGE]})
    assert not valid(doc, schema, {**model, "content": [{"type": "text", "text": "  "}]})
    draft = {"type": "draft_task", "draft_task": {"id": "cgt-1"}}
    assert not valid(doc, schema, {**model, "content": [TEXT, draft]})
    assert not valid(doc, schema, {**model, "content": [draft, draft]})
    assert valid(doc, schema, {**model, "content": [draft]})  # a final
    video = {"type": "video_url", "video_url": {"url": "file_" + "a" * 26}, "role": "first_frame"}
    assert not valid(doc, schema, {**model, "content": [TEXT, video]})
    assert valid(doc, schema, {**model, "content": [TEXT, {**video, "role": "reference_video"}]})


def test_the_bounds_and_values_are_the_dialects() -> None:
    assert ace_wire.MAX_BATCH == acedata.MAX_BATCH
    query = {p["name"]: p["schema"] for p in ark_wire.LIST_PARAMETERS}
    assert query["page_num"]["maximum"] == query["page_size"]["maximum"] == ark_v3.MAX_PAGE
    assert tuple(query["filter.status"]["enum"]) == ark_v3.LIST_STATUSES
    assert tuple(query["filter.service_tier"]["enum"]) == ark_v3.SERVICE_TIERS


def request_json(catalog: Catalog, model: str, **fields: Any) -> dict[str, Any]:
    spec = catalog.find(model)
    assert spec is not None
    made = normalize(spec, prompt="a fox", fields=fields)
    return with_concrete_seed(made).to_json()


def task(catalog: Catalog, status: Status, **changes: Any) -> Task:
    base = Task(
        id="task_01m91gjbzz2w1wjjb00tpx98a7",
        account_id="acct_1",
        api_key_id="key_1",
        dialect="ark_v3",
        model="seedance-1-0-pro",
        model_alias="doubao-seedance-1-0-pro-250528",
        request=request_json(catalog, "seedance-1-0-pro", resolution="480p"),
        status=status,
        progress=0,
        quote=40,
        reserved_credits=40,
        final_credits=0,
        result=None,
        error=None,
        created_at=STAMP,
        updated_at=STAMP,
        request_id="req_01m91g739691q6jqhjezqhm1ye",
    )
    return base.evolve(**changes)


def tasks(catalog: Catalog) -> dict[str, Task]:
    done = {"finished_at": STAMP, "result": TaskResult(video_key="results/x/video.mp4")}
    failed = TaskError(code="provider_rejected", message="no")
    return {
        "queued": task(catalog, Status.QUEUED),
        "running": task(catalog, Status.RUNNING, progress=42),
        "succeeded": task(catalog, Status.SUCCEEDED, **done),
        "failed": task(catalog, Status.FAILED, finished_at=STAMP, error=failed),
        "expired": task(catalog, Status.EXPIRED, finished_at=STAMP, error=failed),
        "cancelled": task(catalog, Status.CANCELLED, finished_at=STAMP, request_id=None),
        "frames": task(
            catalog,
            Status.SUCCEEDED,
            request=request_json(catalog, "seedance-1-0-pro", frames=57, ratio="1:1"),
            **done,
        ),
        "everything": task(
            catalog,
            Status.SUCCEEDED,
            model="seedance-2-0",
            model_alias="seedance-2",
            request=request_json(
                catalog,
                "seedance-2-0",
                duration=-1,
                priority=3,
                safety_identifier="u1",
                return_last_frame=True,
                ratio="adaptive",
            ),
            **done,
        ),
        "draft": task(
            catalog,
            Status.QUEUED,
            model="seedance-1-5-pro",
            request=request_json(catalog, "seedance-1-5-pro", draft=True, service_tier="default"),
            wire_request={"model": "seedance-1-5-pro", "content": [TEXT], "draft": True},
        ),
    }


LINKS = {
    "none": ResultLinks(video_url=None, last_frame_url=None),
    "video": ResultLinks(video_url="https://gw.example/b/v.mp4?s=x", last_frame_url=None),
    "both": ResultLinks(
        video_url="https://gw.example/b/v.mp4?s=x", last_frame_url="https://gw.example/b/f.png"
    ),
    "deleted": ResultLinks(video_url=None, last_frame_url=None, expired=True),
}


@pytest.mark.parametrize("links", LINKS)
def test_the_objects_built_are_the_documented_ones(
    docs: dict[str, dict[str, Any]], catalog: Catalog, links: str
) -> None:
    ark, ace = docs["ark-v3"], docs["acedata"]
    for name, made in tasks(catalog).items():
        body = ark_v3.task_json(made, LINKS[links])
        assert valid(ark, ref("ArkTask"), body), (name, body)
        assert valid(ark, ref("ArkTaskList"), {"total": 7, "items": [body]})
        answer = acedata.response_json(made, LINKS[links])
        assert valid(ace, ref("AceDataCreated"), answer), (name, answer)
        record = acedata.record_json(made, LINKS[links])
        assert valid(ace, ref("AceDataTasks"), record), (name, record)
        batch = {"items": [record], "count": 1}
        assert valid(ace, ref("AceDataTasks"), batch)


def test_the_small_answers_are_the_documented_ones(docs: dict[str, dict[str, Any]]) -> None:
    ark, ace = docs["ark-v3"], docs["acedata"]
    created = {"id": "cgt-20261204093000-01m91gjbzz2w1wjjb00tpx98a7"}
    assert valid(ark, ref("ArkCreated"), created)
    assert valid(ark, ref("ArkCreated"), {**created, "safety_identifier": "u1"})
    assert not valid(ark, ref("ArkCreated"), {**created, "safety_identifier": None})
    assert valid(ark, ref("ArkDeleted"), {}) and not valid(ark, ref("ArkDeleted"), {"id": "x"})
    accepted_now = {"task_id": "01a24303-8d26-486e-695e-3277ef1a07ce"}
    assert valid(ace, ref("AceDataCreated"), accepted_now)
