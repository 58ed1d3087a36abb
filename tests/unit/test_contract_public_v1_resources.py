"""The Public API v1 document's files, credit history, webhooks, keys and accounts against the
code they describe: the objects the routes build match the published schemas exactly, the
events POSTed to endpoints match its ``webhooks``, and its links name its operations."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import contract_support as support
import jsonschema
import pytest
from contract_support import built, ref, responds
from openapi_spec_validator import validate

from seedance_gateway.contracts import public_v1_resources as wire
from seedance_gateway.dialects import (
    public_v1,
    public_v1_accounts,
    public_v1_credits,
    public_v1_files,
    public_v1_keys,
    public_v1_webhooks,
)
from seedance_gateway.domain import ledger, scopes
from seedance_gateway.domain import webhooks as wh
from seedance_gateway.domain.tasks import Status, Task, TaskError, TaskResult
from seedance_gateway.errors import ValidationFailed
from seedance_gateway.files import StoredFile
from seedance_gateway.links import NO_LINKS, ResultLinks
from seedance_gateway.store.files import FileRecord
from seedance_gateway.store.rows import Account, ApiKey
from seedance_gateway.webhooks.manage import Created, example_task

STAMP = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
SHA = "a" * 64


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return built("public-v1")["public-v1"]


def valid(doc: dict[str, Any], name: str, value: Any) -> bool:
    """``value`` is the component schema ``name``."""
    return support.valid(doc, ref(name), value)


def request_for(public_url: str = "https://gateway.example", ttl: timedelta | None = None) -> Any:
    """What ``file_json`` reads of a request: the settings and the uploads' lifetime."""
    files = SimpleNamespace(expires_at=lambda r: r.created_at + ttl if ttl else None)
    service = SimpleNamespace(settings=SimpleNamespace(public_url=public_url), files=files)
    return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(service=service)))


def test_the_document_is_valid_and_every_link_names_one_of_its_operations(
    doc: dict[str, Any],
) -> None:
    validate(doc)
    ids = {op["operationId"] for item in doc["paths"].values() for op in item.values()}
    for item in doc["paths"].values():
        for op in item.values():
            for response in op["responses"].values():
                for link in response.get("links", {}).values():
                    assert link["operationId"] in ids, link


def test_webhooks_are_one_post_per_event_type_with_the_standard_headers(
    doc: dict[str, Any],
) -> None:
    assert set(doc["webhooks"]) == set(wh.EVENT_TYPES)
    for item in doc["webhooks"].values():
        names = [p["name"] for p in item["post"]["parameters"]]
        assert names == ["webhook-id", "webhook-timestamp", "webhook-signature"]


FILES = {
    "image": FileRecord(
        id="file_01m91gjbzz2w1wjjb00tpx98a7",
        account_id="acct_1",
        kind="image",
        name="poster.png",
        mime_type="image/png",
        size=1234,
        sha256=SHA,
        blob_key="files/x/poster.png",
        created_at=STAMP,
        width=640,
        height=360,
    ),
    "video": FileRecord(
        id="file_01m91gjbzz2w1wjjb00tpx98a8",
        account_id="acct_1",
        kind="video",
        name="clip.mp4",
        mime_type="video/mp4",
        size=99,
        sha256=SHA,
        blob_key="files/y/clip.mp4",
        created_at=STAMP,
        width=96,
        height=64,
        duration=3.0,
    ),
    "audio": FileRecord(
        id="file_01m91gjbzz2w1wjjb00tpx98a9",
        account_id="acct_1",
        kind="audio",
        name="tone.wav",
        mime_type="audio/wav",
        size=99,
        sha256=SHA,
        blob_key="files/z/tone.wav",
        created_at=STAMP,
        duration=3.0,
    ),
}


@pytest.mark.parametrize("kind", FILES)
@pytest.mark.parametrize("ttl", [None, timedelta(days=7)])
def test_file_objects_are_the_documented_ones(
    doc: dict[str, Any], kind: str, ttl: timedelta | None
) -> None:
    record = FILES[kind]
    token = None if kind == "image" else "dt_token"
    body = public_v1_files.file_json(
        request_for(ttl=ttl), StoredFile(record=record, duration_token=token)
    )
    assert valid(doc, "UploadedFile", body), body
    listed = {"object": "list", "data": [body], "has_more": True, "next_cursor": record.id}
    assert valid(doc, "UploadedFileList", listed)
    assert valid(doc, "DeletedFile", {"id": record.id, "object": "file", "deleted": True})
    other = "video" if kind == "image" else "image"
    assert not valid(doc, "UploadedFile", {**body, "kind": other}), "a kind has one shape"


@pytest.mark.parametrize("kind", list(ledger.EntryKind))
def test_ledger_entries_are_the_documented_ones(
    doc: dict[str, Any], kind: ledger.EntryKind
) -> None:
    entry = ledger.Entry(
        id=7, kind=kind, amount=40, balance_after=960, task_id=None, note=None, created_at=STAMP
    )
    page = {
        "object": "list",
        "data": [public_v1_credits.entry_json(entry)],
        "has_more": False,
        "next_cursor": None,
    }
    assert valid(doc, "LedgerPage", page), page


def test_usage_is_the_documented_one(doc: dict[str, Any]) -> None:
    row = {"day": date(2026, 12, 4).isoformat(), "model": "seedance-2-0", "tasks": 2, "credits": 80}
    body = {"object": "list", "days": 30, "total_credits": 80, "data": [row]}
    assert valid(doc, "Usage", body)


@pytest.mark.parametrize("after", ["12", "0", "2147483647"])
def test_a_ledger_cursor_is_an_entry_id(after: str) -> None:
    assert public_v1_credits._cursor(after) == int(after)


@pytest.mark.parametrize("after", ["x", "-1", "²", "2147483648", "9" * 40])
def test_a_ledger_cursor_beyond_the_ids_is_refused_not_a_server_error(after: str) -> None:
    with pytest.raises(ValidationFailed):
        public_v1_credits._cursor(after)


def endpoint(**changes: Any) -> wh.Endpoint:
    base = wh.Endpoint(
        id="wh_1",
        account_id="acct_1",
        url="https://example.com/hooks",
        description="",
        event_types=wh.DEFAULT_EVENT_TYPES,
        enabled=True,
        disabled_reason=None,
        secret="whsec_new",
        previous_secret=None,
        previous_secret_expires_at=None,
        created_at=STAMP,
        updated_at=STAMP,
    )
    return base if not changes else wh.Endpoint(**{**vars(base), **changes})


def test_endpoint_objects_are_the_documented_ones(doc: dict[str, Any]) -> None:
    off = endpoint(enabled=False, disabled_reason="the endpoint answered 410 Gone")
    for shown in (endpoint(), off):
        assert valid(doc, "WebhookEndpoint", public_v1_webhooks.endpoint_json(shown))
    created = public_v1_webhooks._with_secret(Created(endpoint=endpoint(), secret="whsec_new"))
    assert valid(doc, "WebhookEndpointWithSecret", created), created
    rotating = endpoint(previous_secret="whsec_old", previous_secret_expires_at=STAMP)
    rotated = public_v1_webhooks._with_secret(Created(endpoint=rotating, secret="whsec_new"))
    assert "previous_secret_expires_at" in rotated
    path = "/api/v1/webhooks/{endpoint_id}/rotate-secret"
    assert responds(doc, path, "post", 200, rotated), rotated
    assert responds(doc, path, "post", 200, created)


@pytest.mark.parametrize("callback", [False, True])
def test_delivery_objects_are_the_documented_ones(doc: dict[str, Any], callback: bool) -> None:
    attempts = (
        wh.Attempt(
            attempt=1,
            started_at=STAMP,
            status_code=None,
            latency_ms=0,
            error="timed out after 15 s",
            response_excerpt=None,
        ),
        wh.Attempt(
            attempt=2,
            started_at=STAMP,
            status_code=200,
            latency_ms=12,
            error=None,
            response_excerpt="ok",
        ),
    )
    delivery = wh.Delivery(
        id="dlv_1",
        account_id="acct_1",
        event_id="evt_1",
        event_type=wh.QUEUED if callback else wh.SUCCEEDED,
        endpoint_id=None if callback else "wh_1",
        task_id="task_1",
        url="https://example.com/hooks",
        renderer="ark_v3" if callback else wh.ENDPOINT_RENDERER,
        status=wh.DeliveryStatus.PENDING,
        attempt_count=2,
        next_attempt_at=STAMP,
        created_at=STAMP,
        updated_at=STAMP,
        attempts=attempts,
    )
    body = public_v1_webhooks.delivery_json(delivery)
    assert valid(doc, "WebhookDelivery", body), body
    page = public_v1_webhooks._page([body], "dlv_1")
    assert valid(doc, "WebhookDeliveryList", page)


SUCCEEDED = Task(
    id="task_01m91gjbzz2w1wjjb00tpx98a7",
    account_id="acct_1",
    api_key_id="key_1",
    dialect="public_v1",
    model="seedance-2-0",
    model_alias="seedance-2",
    request={},
    status=Status.SUCCEEDED,
    progress=100,
    quote=40,
    reserved_credits=40,
    final_credits=40,
    result=TaskResult(video_key="results/task_x/video.mp4"),
    error=None,
    created_at=STAMP,
    updated_at=STAMP,
    finished_at=STAMP,
    client_request_id="mine-1",
)
LINKS = ResultLinks(
    video_url="https://gateway.example/blobs/results/video.mp4?sig=x",
    last_frame_url=None,
    expires_at=STAMP,
)
EXPIRED = ResultLinks(video_url=None, last_frame_url=None, expires_at=STAMP, expired=True)
EVENTS = [
    (wh.SUCCEEDED, SUCCEEDED, LINKS, False),
    (wh.SUCCEEDED, SUCCEEDED, EXPIRED, False),
    (
        wh.FAILED,
        SUCCEEDED.evolve(status=Status.EXPIRED, final_credits=0, result=None),
        NO_LINKS,
        False,
    ),
    (
        wh.FAILED,
        SUCCEEDED.evolve(status=Status.FAILED, result=None, error=TaskError(code="x", message="y")),
        NO_LINKS,
        False,
    ),
    *((kind, example_task("acct_1", kind), LINKS, True) for kind in wh.EVENT_TYPES),
]


@pytest.mark.parametrize(("kind", "task", "links", "test"), EVENTS)
def test_the_events_posted_are_the_documented_webhooks(
    doc: dict[str, Any], kind: str, task: Task, links: ResultLinks, test: bool
) -> None:
    event = wh.Event(
        id="evt_1",
        account_id="acct_1",
        type=kind,
        task_id=None if test else task.id,
        data=task.to_json(),
        test=test,
        created_at=STAMP,
    )
    body = public_v1.event_json(event, task, links)
    media = doc["webhooks"][kind]["post"]["requestBody"]["content"]["application/json"]
    validator = jsonschema.Draft202012Validator(
        {**media["schema"], "components": doc["components"]}
    )
    assert validator.is_valid(body), list(validator.iter_errors(body))
    other = next(k for k in wh.EVENT_TYPES if k != kind)
    assert not validator.is_valid({**body, "type": other}), "each webhook has its own type"
    listed = {
        "id": event.id,
        "object": "event",
        "type": kind,
        "created_at": public_v1.iso_time(STAMP),
        "task_id": event.task_id,
        "test": test,
        "data": public_v1.task_json(task, links),
    }
    assert valid(doc, "WebhookEventObject", listed)


def key(**changes: Any) -> ApiKey:
    base = ApiKey(
        id="key_1",
        account_id="acct_1",
        name="ci",
        prefix="sdg_abcdefgh",
        created_at=STAMP,
        revoked_at=None,
    )
    return base if not changes else ApiKey(**{**vars(base), **changes})


def test_key_objects_are_the_documented_ones(doc: dict[str, Any]) -> None:
    used = key(scopes=frozenset({scopes.READ}), last_used_at=STAMP, expires_at=STAMP)
    for shown in (key(), key(revoked_at=STAMP), used):
        body = public_v1_keys.key_json(shown, "key_1")
        assert valid(doc, "ApiKeyObject", body), body
        assert valid(doc, "ApiKeyList", {"object": "list", "data": [body]})
    assert valid(doc, "NewApiKey", {**public_v1_keys.key_json(key(), "key_2"), "key": "sdg_x"})


@pytest.mark.parametrize("email", [None, "a@example.com"])
def test_account_objects_are_the_documented_ones(doc: dict[str, Any], email: str | None) -> None:
    account = Account(
        id="acct_1", name="A", email=email, role="admin", balance=10, created_at=STAMP
    )
    body = public_v1_accounts.account_json(account)
    assert valid(doc, "AccountObject", body), body
    listed = {"object": "list", "data": [body], "has_more": False, "next_cursor": None}
    assert valid(doc, "AccountList", listed)
    session = {"object": "session", "key": "sdg_x", "key_id": "key_1", "account": body}
    assert valid(doc, "Session", session)


BODIES = [
    ("CreateWebhookEndpoint", {"url": "https://example.com/h"}),
    ("CreateWebhookEndpoint", {"url": "https://e.com/h", "event_types": list(wh.EVENT_TYPES)}),
    ("UpdateWebhookEndpoint", {"enabled": True, "description": None}),
    ("RotateWebhookSecret", {"grace_period_seconds": 0}),
    ("SendWebhookTest", {"event_type": wh.CANCELLED}),
    ("CreateApiKey", {"name": "ci", "scopes": list(scopes.ALL), "expires_in_days": 3650}),
    ("SignIn", {"email": "a@example.com", "password": "correct horse"}),
    ("CreateAccount", {"name": "A", "email": "a@example.com", "password": "12345678"}),
    ("GrantCredits", {"credits": 1, "note": "n"}),
]


@pytest.mark.parametrize(("name", "body"), BODIES)
def test_the_documented_bodies_are_the_parsed_ones(
    doc: dict[str, Any], name: str, body: dict[str, Any]
) -> None:
    assert valid(doc, name, body)
    public_v1.parse_body(getattr(wire, name), body)
    assert not valid(doc, name, {**body, "unknown": 1})
    with pytest.raises(ValidationFailed):
        public_v1.parse_body(getattr(wire, name), {**body, "unknown": 1})


def test_a_callback_url_receives_the_documented_event(doc: dict[str, Any]) -> None:
    """The create documents what its ``callback_url`` receives: the webhooks' envelope and
    signature headers, at the URL the create body names."""
    callbacks = doc["paths"]["/api/v1/generations"]["post"]["callbacks"]
    operation = callbacks["generation_ended"]["{$request.body#/callback_url}"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body == ref("GenerationEvent")
    headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
    assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert "410" in operation["responses"]
