"""What the contract unit tests share: the documents as the server builds them, and schema
checks against a document's components."""

from __future__ import annotations

from typing import Any

import jsonschema

from seedance_gateway import catalog as catalogs
from seedance_gateway.contracts import documents
from seedance_gateway.contracts.build import document

CATALOG = catalogs.load(None)


def built(*names: str) -> dict[str, dict[str, Any]]:
    """The named dialects' documents, built from the default catalog."""
    return {n: document(documents.BY_NAME[n], CATALOG, version="0") for n in names}


def ref(name: str) -> dict[str, Any]:
    """A reference to the component schema ``name``."""
    return {"$ref": f"#/components/schemas/{name}"}


def valid(doc: dict[str, Any], schema: dict[str, Any], value: Any) -> bool:
    """``value`` matches ``schema``, whose references point into ``doc``'s components."""
    root = {**schema, "components": doc["components"]}
    return jsonschema.Draft202012Validator(root).is_valid(value)


def responds(doc: dict[str, Any], path: str, method: str, status: int, value: Any) -> bool:
    """``value`` is what the document says ``method path`` answers with ``status``."""
    media = doc["paths"][path][method]["responses"][str(status)]["content"]["application/json"]
    return valid(doc, media["schema"], value)
