"""The documents of ``/v1/videos`` and seed 003 against the code they describe: each catalog
model's create body accepts what the parser accepts, and the objects the dialects build match
the published response schemas exactly."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from contract_support import CATALOG, built, ref, valid
from openapi_spec_validator import validate

from seedance_gateway.catalog import Catalog
from seedance_gateway.contracts import documents
from seedance_gateway.contracts.build import combined
from seedance_gateway.dialects import openai_videos, seedanceapi
from seedance_gateway.domain.tasks import Status, Task, TaskError, TaskResult
from seedance_gateway.errors import ValidationFailed
from seedance_gateway.links import ResultLinks
from seedance_gateway.service import Service

NAMES = ("openai-videos", "seedanceapi")
STAMP = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return CATALOG


@pytest.fixture(scope="module")
def docs() -> dict[str, dict[str, Any]]:
    return built(*NAMES)


class FakeService:
    """What the parsers ask of the service: the catalog and its model resolution."""

    resolve_model = Service.resolve_model

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog


def accepts(parse: Any, *args: Any) -> bool:
    try:
        parse(*args)
    except ValidationFailed:
        return False
    return True


def test_both_documents_are_valid_and_merge(docs: dict[str, dict[str, Any]]) -> None:
    for doc in docs.values():
        validate(doc)
    validate(combined(((documents.BY_NAME[n], docs[n]) for n in NAMES), version="0"))


def test_each_openai_create_variant_takes_what_the_parser_takes(
    docs: dict[str, dict[str, Any]], catalog: Catalog
) -> None:
    doc, service = docs["openai-videos"], FakeService(catalog)
    for spec in catalog.models:
        reference = {} if "t2v" in spec.modes else {"input_reference": "file_" + "a" * 26}
        for name in (spec.id, *spec.aliases):
            for seconds in (0, 1, 2, 4, 5, 12, 13, 15, 16, "8", "30"):
                body = {"prompt": "a fox", "model": name, "seconds": seconds, **reference}
                said = valid(doc, ref("OpenAICreateVideo"), body)
                done = accepts(openai_videos.parse_create, service, body)
                assert said == done, (body, said, done)


def test_a_create_without_a_model_is_the_default_models_variant(
    docs: dict[str, dict[str, Any]],
) -> None:
    doc = docs["openai-videos"]
    variants = doc["components"]["schemas"]["OpenAICreateVideo"]["oneOf"]
    body = {"prompt": "a fox", "seconds": "12", "size": "1280x720"}
    matching = [v["$ref"] for v in variants if valid(doc, v, body)]
    assert matching == ["#/components/schemas/OpenAICreateVideo.seedance-1-5-pro"]
    assert not valid(doc, ref("OpenAICreateVideo"), {**body, "seconds": 15})
    assert not valid(doc, ref("OpenAICreateVideo"), {**body, "quality": "high"})


@pytest.mark.parametrize("surface", [seedanceapi.V1, seedanceapi.V2], ids=lambda s: s.version)
def test_each_seed003_body_takes_what_the_parser_takes(
    docs: dict[str, dict[str, Any]], catalog: Catalog, surface: seedanceapi.Surface
) -> None:
    doc, service = docs["seedanceapi"], FakeService(catalog)
    schema = ref(f"SeedanceApiGenerate{surface.version.upper()}")
    image = "https://example.com/a.png"
    for spec in catalog.models:
        for duration in (2, 4, 5, 8, "12", 15, 16):
            for resolution in ("480p", "1080p", "4k"):
                for images in ([], [image], [image, image], [image] * 3):
                    body = {
                        "prompt": "a boat",
                        "model": spec.id,
                        "duration": duration,
                        "resolution": resolution,
                        "image_urls": images,
                    }
                    said = valid(doc, schema, body)
                    done = accepts(seedanceapi.parse_generate, service, surface, body)
                    assert said == done, (surface.version, body, said, done)


def task(status: Status, **changes: Any) -> Task:
    request = {"prompt": "a fox", "ratio": "16:9", "resolution": "480p", "duration": 4}
    request |= {"frames": 96, "fps": 24, "width": 864, "height": 496}
    base = Task(
        id="task_01m91gjbzz2w1wjjb00tpx98a7",
        account_id="acct_1",
        api_key_id="key_1",
        dialect="public_v1",
        model="seedance-2-0",
        model_alias="seedance-2",
        request=request,
        status=status,
        progress=0,
        quote=40,
        reserved_credits=40,
        final_credits=0,
        result=None,
        error=None,
        created_at=STAMP,
        updated_at=STAMP,
    )
    return base.evolve(**changes)


TASKS = {
    "queued": task(Status.QUEUED),
    "running": task(Status.RUNNING, progress=42),
    "succeeded": task(
        Status.SUCCEEDED,
        progress=100,
        final_credits=40,
        finished_at=STAMP,
        result=TaskResult(video_key="results/task_x/video.mp4"),
    ),
    "failed": task(
        Status.FAILED, finished_at=STAMP, error=TaskError(code="provider_rejected", message="no")
    ),
    "cancelled": task(Status.CANCELLED, finished_at=STAMP),
    "seed003": task(
        Status.QUEUED,
        dialect="seedanceapi",
        wire_request={"prompt": "a fox", "duration": "8", "image_urls": None, "fixed_lens": True},
    ),
}


@pytest.mark.parametrize("name", TASKS)
def test_the_objects_built_are_the_documented_ones(
    docs: dict[str, dict[str, Any]], name: str
) -> None:
    results = SimpleNamespace(expiry=lambda t: t.finished_at)
    video = openai_videos.video_json(TASKS[name], results)  # type: ignore[arg-type]
    openai = docs["openai-videos"]
    assert valid(openai, ref("OpenAIVideo"), video), video
    listed = {"object": "list", "data": [video], "first_id": video["id"]}
    assert valid(openai, ref("OpenAIVideoList"), {**listed, "last_id": None, "has_more": False})
    url = "https://gateway.example/blobs/results/video.mp4?sig=x" if name == "succeeded" else None
    links = ResultLinks(video_url=url, last_frame_url=None)
    body = seedanceapi.envelope(seedanceapi.status_json(TASKS[name], links))
    assert valid(docs["seedanceapi"], ref("SeedanceApiStatus"), body), body
