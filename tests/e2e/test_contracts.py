"""The published OpenAPI contracts against real server processes (issue 20).

- Every document is valid OpenAPI 3.1, and the index lists them.
- schemathesis fuzzes every operation of every document on a server without workers (tasks
  stay queued, so a fixed budget of examples costs no renders): no 5xx, every status, content
  type and body as documented, with the stateful links (create -> read -> cancel).
- A finished task read through each dialect matches that dialect's document.
- Each model's ``params`` schema, generated from the catalog, is what the server accepts and
  refuses (the price quote checks a create's body without creating anything).

A longer fuzzing run is ``scripts/fuzz`` (docs/api-contracts.md).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from openapi_spec_validator import validate
from tests.conftest import Server, make_server
from tests.e2e.support import PROMPT, create, finish, small

DOCUMENTS = ("public-v1", "ark-v3", "openai-videos", "seedanceapi", "acedata")
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance"
)
#: Examples per operation and phase in CI; ``scripts/fuzz`` runs more.
CI_EXAMPLES = "12"
SEED = "20261204"


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server without workers, an admin key (the admin operations too) and no rate limit in
    the fuzzer's way."""
    root = tmp_path_factory.mktemp("fuzz")
    server = make_server(
        root,
        f"sqlite+aiosqlite:///{root / 'fuzz.db'}",
        rate_limit="1000000/minute",
        max_in_flight="100000",
        sync_wait_seconds="0.2",
    )
    # Creates check callback URLs' hosts: fail a lookup the closed network never answers fast.
    server.env["RES_OPTIONS"] = "timeout:1 attempts:1"
    server.key, server.account_id = server.create_key(10**9, role="admin")
    server.start("--no-worker")
    try:
        yield server
    finally:
        server.stop()


def document(server: Server, name: str) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/openapi/{name}.json", timeout=30)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_each_dialect_publishes_a_valid_document(fuzz_server: Server) -> None:
    index = httpx.get(f"{fuzz_server.url}/openapi/index.json").json()
    assert [d["name"] for d in index["documents"]] == list(DOCUMENTS)
    operations = 0
    for entry in index["documents"]:
        doc = httpx.get(fuzz_server.url + entry["url"]).json()
        validate(doc)
        assert doc["info"]["title"] == entry["title"]
        operations += sum(len(item) for item in doc["paths"].values())
    whole = httpx.get(f"{fuzz_server.url}/openapi.json").json()
    validate(whole)
    assert sum(len(item) for item in whole["paths"].values()) == operations
    missing = httpx.get(f"{fuzz_server.url}/openapi/nope.json")
    assert missing.status_code == 404
    assert "public-v1" in missing.json()["error"]["message"]


def test_no_operation_promises_what_the_server_never_sends(fuzz_server: Server) -> None:
    """No FastAPI 422, every operation with its key requirement and errors in its envelope."""
    for name in DOCUMENTS:
        doc = document(fuzz_server, name)
        envelope = _envelope(doc)
        for path, method, op in _operations(doc):
            assert "422" not in op["responses"], (path, method)
            assert "400" in op["responses"], (path, method)
            if "security" in op:
                assert {"401", "403", "429"} <= set(op["responses"]), (path, method)
            for status, response in op["responses"].items():
                if status.startswith("4") and "content" in response:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": envelope}, (path, method, status)


@pytest.fixture(scope="module")
def fuzzing(fuzz_server: Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Fuzzing]:
    """One schemathesis process per document, all started at once: they mostly wait (on event
    streams and lookups), so they overlap. (Its ``--workers`` threads are not safe: Hypothesis
    parses lambdas' source, which CPython's parser cannot do from several threads.)"""
    root = tmp_path_factory.mktemp("schemathesis")
    return {name: Fuzzing.start(fuzz_server, name, root / name) for name in DOCUMENTS}


@dataclass
class Fuzzing:
    """A schemathesis run over one document."""

    process: subprocess.Popen[str]

    @classmethod
    def start(cls, server: Server, name: str, folder: Path) -> Fuzzing:
        folder.mkdir()
        command = [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            f"{server.url}/openapi/{name}.json",
            "--header",
            f"Authorization: Bearer {server.key}",
            "--checks",
            CHECKS,
            "--max-examples",
            CI_EXAMPLES,
            "--seed",
            SEED,
            # A queued task's event stream stays open (no workers): read it this long.
            "--request-timeout",
            "5",
            "--no-color",
        ]
        out = subprocess.PIPE
        process = subprocess.Popen(command, stdout=out, stderr=out, text=True, cwd=folder)
        return cls(process)

    def result(self) -> tuple[int, str]:
        stdout, stderr = self.process.communicate(timeout=600)
        return self.process.returncode, stdout + stderr


@pytest.mark.parametrize("name", DOCUMENTS)
def test_fuzzing_finds_nothing(
    fuzzing: dict[str, Fuzzing], name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """schemathesis over every operation of the document: 0 failures (its summary goes to the
    terminal, so CI's output shows what was covered)."""
    returncode, output = fuzzing[name].result()
    summary = output[output.rfind("SUMMARY") - 40 :]
    with capsys.disabled():
        print(f"\nschemathesis over {name}:\n{summary}")
    assert returncode == 0, output[-20000:]
    assert "Tested:" in summary


def test_a_finished_task_reads_as_each_document_says(shared_server: Server) -> None:
    """One succeeded task read through every dialect: each body matches its document."""
    with shared_server.client() as client:
        task = finish(client, create(client, small())["id"])
        reads = {
            "public-v1": (
                "/api/v1/generations/{task_id}",
                "get",
                f"/api/v1/generations/{task['id']}",
            ),
            "ark-v3": (
                "/api/v3/contents/generations/tasks/{task_id}",
                "get",
                f"/api/v3/contents/generations/tasks/{task['id']}",
            ),
            "openai-videos": ("/v1/videos/{video_id}", "get", f"/v1/videos/{task['id']}"),
            "seedanceapi": ("/v1/status", "get", f"/v1/status?task_id={task['id']}"),
        }
        for name, (template, method, url) in reads.items():
            doc = document(shared_server, name)
            response = client.get(url)
            assert response.status_code == 200, (name, response.text)
            _conforms(doc, template, method, "200", response.json())
        retrieved = client.post("/seedance/tasks", json={"id": task["id"], "action": "retrieve"})
        assert retrieved.status_code == 200, retrieved.text
        _conforms(
            document(shared_server, "acedata"), "/seedance/tasks", "post", "200", retrieved.json()
        )


def test_each_models_params_schema_is_what_the_server_takes(shared_server: Server) -> None:
    """Every value a model's ``params`` schema allows is quoted; every one just outside it is
    refused naming the parameter; and a parameter the schema does not name is refused."""
    doc = document(shared_server, "public-v1")
    schemas = doc["components"]["schemas"]
    variants = [ref["$ref"].rsplit("/", 1)[1] for ref in schemas["CreateGeneration"]["oneOf"]]
    assert len(variants) == len(
        httpx.get(
            f"{shared_server.url}/api/v1/models",
            headers={"Authorization": f"Bearer {shared_server.key}"},
        ).json()["data"]
    )
    with shared_server.client() as client:
        for variant in variants:
            model = schemas[variant]["properties"]["model"]["enum"][-1]  # the id
            params_ref = schemas[variant]["properties"]["params"]["$ref"].rsplit("/", 1)[1]
            params = schemas[params_ref]["properties"]
            base = _quotable(client, model)
            for key, schema in params.items():
                if key == "referenceMediaItems":
                    continue
                for value in _inside(schema):
                    body = {**base, "params": {**base["params"], key: value}}
                    answer = client.post("/api/v1/generations/quote", json=body)
                    assert answer.status_code == 200, (model, key, value, answer.text)
                for value in _outside(schema):
                    body = {**base, "params": {**base["params"], key: value}}
                    answer = client.post("/api/v1/generations/quote", json=body)
                    assert answer.status_code == 400, (model, key, value, answer.text)
                    assert answer.json()["error"]["message"].startswith(f"params.{key}")
            unknown = {**base, "params": {**base["params"], "not_a_param": 1}}
            answer = client.post("/api/v1/generations/quote", json=unknown)
            assert answer.status_code == 400, answer.text
            assert schemas[params_ref]["additionalProperties"] is False


def _quotable(client: httpx.Client, model: str) -> dict[str, Any]:
    """The smallest body ``model`` quotes: a prompt, and a first frame where it needs one."""
    body: dict[str, Any] = {"model": model, "prompt": PROMPT, "params": {}}
    if client.post("/api/v1/generations/quote", json=body).status_code == 200:
        return body
    frame = {"url": "https://example.com/first.png", "kind": "image", "role": "first_frame"}
    body["params"] = {"referenceMediaItems": [frame]}
    answer = client.post("/api/v1/generations/quote", json=body)
    assert answer.status_code == 200, (model, answer.text)
    return body


def _inside(schema: dict[str, Any]) -> list[Any]:
    """Every value of an option list (each spelling), or a range's ends."""
    if "anyOf" in schema:
        return [v for branch in schema["anyOf"] for v in _inside(branch)]
    if schema.get("type") == "boolean":
        return [True, False]
    if "enum" in schema:
        return list(schema["enum"])
    return [schema["minimum"], schema["maximum"]]


def _outside(schema: dict[str, Any]) -> list[Any]:
    if "minimum" in schema:
        return [schema["minimum"] - 1, schema["maximum"] + 1, "twelve"]
    return ["not-an-option", 7.5]


def _conforms(doc: dict[str, Any], path: str, method: str, status: str, body: Any) -> None:
    response = doc["paths"][path][method]["responses"][status]
    schema = response["content"]["application/json"]["schema"]
    root = {"allOf": [schema], "components": doc["components"]}
    jsonschema.Draft202012Validator(root).validate(body)


def _envelope(doc: dict[str, Any]) -> str:
    refs = {
        response["content"]["application/json"]["schema"]["$ref"]
        for _, _, op in _operations(doc)
        for response in [op["responses"]["400"]]
    }
    assert len(refs) == 1, refs
    return refs.pop()


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, op in item.items():
            yield path, method, op
