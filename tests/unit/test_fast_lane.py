"""The fast lane (web/fast_lane.py): an endpoint served as a plain route answers exactly as FastAPI
would; an endpoint it cannot serve is refused at start-up, by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from seedance_gateway.web import fast_lane


async def caller_of(request: Request) -> str:
    key = request.headers.get("authorization")
    if key != "Bearer good":
        raise HTTPException(401, "bad key")
    return "acct_1"


Caller = Annotated[str, Depends(caller_of)]
router = APIRouter(prefix="/api")


@router.get("/things/{thing_id}")
async def get_thing(request: Request, thing_id: str, caller: Caller) -> dict[str, Any]:
    if thing_id == "missing":
        raise HTTPException(404, "no such thing")
    return {"id": thing_id, "owner": caller, "path": request.url.path, "n": 1.5, "none": None}


@router.get("/lookup")
async def lookup(caller: Caller, name: str | None = None) -> dict[str, Any]:
    return {"name": name, "owner": caller}


@router.post("/things")
async def create_thing(
    request: Request, caller: Caller, idempotency_key: Annotated[str | None, Header()] = None
) -> JSONResponse:
    body = await request.json()
    if "name" not in body:
        raise HTTPException(400, "name is required")
    thing = {"name": body["name"], "owner": caller, "key": idempotency_key}
    return JSONResponse(thing, 201, headers={"Location": "/api/things/1"})


@router.post("/things/{thing_id}/touch", status_code=202)
async def touch_thing(
    thing_id: str, caller: Caller, x_trace: Annotated[str | None, Header(alias="Trace")] = None
) -> dict[str, Any]:
    return {"id": thing_id, "owner": caller, "trace": x_trace}


def app_with(fast: bool) -> FastAPI:
    app = fast_lane.FastLaneApp()
    if fast:
        fast_lane.install(app, [router], [get_thing, lookup, create_thing, touch_thing])
    app.include_router(router)
    return app


REQUESTS = [
    ("/api/things/t1", "Bearer good"),
    ("/api/things/caf%C3%A9%20x", "Bearer good"),
    ("/api/things/missing", "Bearer good"),
    ("/api/things/t1", "Bearer bad"),
    ("/api/things/t1", None),
    ("/api/lookup?name=a&name=b", "Bearer good"),
    ("/api/lookup", "Bearer good"),
    ("/api/lookup?name=", "Bearer good"),
]


@pytest.mark.parametrize(("path", "key"), REQUESTS)
def test_a_fast_route_answers_as_fastapi_does(path: str, key: str | None) -> None:
    headers = {"authorization": key} if key else {}
    fast, slow = TestClient(app_with(True)), TestClient(app_with(False))
    got, expected = fast.get(path, headers=headers), slow.get(path, headers=headers)
    assert (got.status_code, got.json()) == (expected.status_code, expected.json())
    assert got.headers["content-type"] == expected.headers["content-type"]


POSTS = [
    ("/api/things", {"name": "a"}, {"authorization": "Bearer good"}),
    ("/api/things", {"name": "a"}, {"authorization": "Bearer good", "Idempotency-Key": "k1"}),
    ("/api/things", {"name": "a"}, {"authorization": "Bearer good", "idempotency_key": "k1"}),
    ("/api/things", {}, {"authorization": "Bearer good"}),
    ("/api/things", {"name": "a"}, {"authorization": "Bearer bad"}),
    ("/api/things/t1/touch", {}, {"authorization": "Bearer good", "Trace": "t-1"}),
    ("/api/things/t1/touch", {}, {"authorization": "Bearer good", "x-trace": "t-1"}),
]


@pytest.mark.parametrize(("path", "body", "headers"), POSTS)
def test_a_fast_post_answers_as_fastapi_does(
    path: str, body: dict[str, Any], headers: dict[str, str]
) -> None:
    fast, slow = TestClient(app_with(True)), TestClient(app_with(False))
    got = fast.post(path, json=body, headers=headers)
    expected = slow.post(path, json=body, headers=headers)
    assert (got.status_code, got.json()) == (expected.status_code, expected.json())
    assert got.headers.get("location") == expected.headers.get("location")
    assert got.headers["content-type"] == expected.headers["content-type"]


def test_a_fast_post_route_refuses_get_as_fastapi_does() -> None:
    fast, slow = TestClient(app_with(True)), TestClient(app_with(False))
    headers = {"authorization": "Bearer good"}
    assert fast.get("/api/things", headers=headers).status_code == 405
    assert slow.get("/api/things", headers=headers).status_code == 405


def test_head_is_refused_as_fastapi_refuses_it() -> None:
    fast, slow = TestClient(app_with(True)), TestClient(app_with(False))
    headers = {"authorization": "Bearer good"}
    got, expected = (
        fast.head("/api/things/t1", headers=headers),
        slow.head("/api/things/t1", headers=headers),
    )
    assert got.status_code == expected.status_code == 405


def test_fast_requests_skip_the_stack_inside_around_and_the_routes_stay_documented() -> None:
    """A fast request is wrapped by ``around`` only; the rest pass FastAPI's middleware."""
    seen: list[str] = []

    def tagged(tag: str) -> Callable[[ASGIApp], ASGIApp]:
        def wrap(app: ASGIApp) -> ASGIApp:
            async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
                seen.append(f"{tag} {scope['path']}")
                await app(scope, receive, send)

            return middleware

        return wrap

    app = fast_lane.FastLaneApp(around=tagged("around"))
    fast_lane.install(app, [router], [get_thing])
    app.include_router(router)
    app.add_middleware(tagged("stack"))  # type: ignore[arg-type]
    client = TestClient(app)
    headers = {"authorization": "Bearer good"}
    assert client.get("/api/things/t1", headers=headers).json()["id"] == "t1"
    assert client.get("/api/lookup?name=a", headers=headers).json()["name"] == "a"
    assert seen == ["around /api/things/t1", "stack /api/lookup"]
    assert not any(isinstance(r, Route) and r.path.startswith("/api") for r in app.router.routes)
    paths = app.openapi()["paths"]
    assert "thing_id" in str(paths["/api/things/{thing_id}"]["get"]["parameters"])


def test_an_error_a_fast_route_raises_goes_to_the_apps_handler_for_its_class() -> None:
    app = app_with(True)

    async def teapot(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"handled": str(getattr(exc, "detail", exc))}, 418)

    app.add_exception_handler(HTTPException, teapot)
    got = TestClient(app).get("/api/things/missing", headers={"authorization": "Bearer good"})
    assert (got.status_code, got.json()) == (418, {"handled": "no such thing"})


def test_an_endpoint_the_fast_lane_cannot_serve_is_refused_by_name() -> None:
    odd = APIRouter()

    @odd.get("/n/{number}")
    async def by_number(number: int) -> dict[str, int]:
        return {"n": number}

    @odd.get("/q")
    async def bounded(limit: Annotated[int, Query(le=10)] = 5) -> dict[str, int]:
        return {"limit": limit}

    @odd.put("/p")
    async def put() -> dict[str, int]:
        return {}

    @odd.post("/h")
    async def with_header(limit: Annotated[str | None, Header(max_length=3)] = None) -> None:
        return None

    with pytest.raises(TypeError, match=r"parameter 'number' of .*by_number"):
        fast_lane.install(fast_lane.FastLaneApp(), [odd], [by_number])
    with pytest.raises(TypeError, match=r"parameter 'limit' of .*bounded"):
        fast_lane.install(fast_lane.FastLaneApp(), [odd], [bounded])
    with pytest.raises(TypeError, match="/p: the fast lane serves GET or POST routes only"):
        fast_lane.install(fast_lane.FastLaneApp(), [odd], [put])
    with pytest.raises(TypeError, match=r"parameter 'limit' of .*with_header"):
        fast_lane.install(fast_lane.FastLaneApp(), [odd], [with_header])
    with pytest.raises(TypeError, match=r"no route for .*get_thing"):
        fast_lane.install(fast_lane.FastLaneApp(), [odd], [get_thing])
