"""A client generated from the Public API v1 document by a mainstream generator
(``openapi-python-client``) creates a generation, polls it and downloads its video (issue 20).

Nothing here is written for our API by hand: the package comes out of the server's own
``/openapi/public-v1.json`` in this test, so a document that drifts from the server breaks it.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from tests.conftest import Server
from tests.e2e.support import PROMPT, probe

PACKAGE = "seedance_v1_generated"


@pytest.fixture(scope="module")
def generated(
    shared_server: Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ModuleType]:
    """The generated package, imported from a temporary directory."""
    root = tmp_path_factory.mktemp("generated")
    document = root / "public-v1.json"
    document.write_bytes(httpx.get(f"{shared_server.url}/openapi/public-v1.json").content)
    config = root / "config.yaml"
    config.write_text(f"package_name_override: {PACKAGE}\npost_hooks: []\n")
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "openapi-python-client"),
            "generate",
            "--path",
            str(document),
            "--config",
            str(config),
            "--meta",
            "none",
            "--output-path",
            str(root / PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def _module(package: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


def test_a_generated_client_creates_polls_and_downloads(
    generated: ModuleType, shared_server: Server
) -> None:
    models = _module(generated, "models")
    create = _module(generated, "api.generations.create_generation")
    get = _module(generated, "api.generations.get_generation")
    with generated.AuthenticatedClient(
        base_url=shared_server.url, token=shared_server.key
    ) as client:
        _create_poll_download(models, create, get, client)


def _create_poll_download(models: Any, create: Any, get: Any, client: Any) -> None:
    body = models.CreateGenerationWithSeedance10Pro(
        model=models.CreateGenerationWithSeedance10ProModel("seedance-1-0-pro"),
        prompt=PROMPT,
        params=models.ParametersOfSeedance10Pro.from_dict({"resolution": "480p", "duration": 5}),
    )
    created = create.sync_detailed(client=client, body=body)
    assert created.status_code == 201, created.content
    task = created.parsed
    assert isinstance(task, models.Generation), created.content
    assert task.status == models.GenerationStatus.QUEUED
    deadline = time.monotonic() + 120
    while (read := get.sync(task.id, client=client)).status.value not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, read
        time.sleep(0.3)
    assert isinstance(read, models.GenerationWithRequest)
    assert read.status == models.GenerationWithRequestStatus.SUCCEEDED, read
    assert read.request.to_dict()["params"]["resolution"] == "480p"
    video = client.get_httpx_client().get(read.result.primary_url)
    assert video.status_code == 200
    info = probe(video.content)
    assert (info.width, info.height) == (864, 480)
    assert info.frames == 5 * 24


def test_a_generated_client_reads_errors_in_the_envelope(
    generated: ModuleType, shared_server: Server
) -> None:
    """The documented error responses parse as the envelope's model."""
    models = _module(generated, "models")
    get = _module(generated, "api.generations.get_generation")
    with generated.AuthenticatedClient(base_url=shared_server.url, token=shared_server.key) as ok:
        missing = get.sync_detailed("task_nothing_here", client=ok)
    assert missing.status_code == 404
    assert isinstance(missing.parsed, models.PublicError)
    assert missing.parsed.error.code == "not_found"
    with generated.AuthenticatedClient(base_url=shared_server.url, token="sdg_wrong") as wrong:
        refused = get.sync_detailed("task_nothing_here", client=wrong)
    assert refused.status_code == 401
    assert refused.parsed.error.code == "api_key_invalid"
