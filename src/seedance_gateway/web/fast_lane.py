"""The fast lane: the hot endpoints served ahead of FastAPI's whole stack.

A client polling a task asks the same cheap question again and again. FastAPI's handling of it
(its middleware layers, matching the included routers, solving the endpoint's parameters and
dependencies, serializing the returned dict) cost about half of what the app spent on a status
read (issue 19). ``FastLaneApp`` is a FastAPI app that answers the endpoints named to
``install`` in front of all that: a request whose path and method match one goes straight to
that same endpoint, wrapped only in the app's ``around`` middleware (the gateway's request ids,
logs and metrics), with FastAPI's exception handlers applied to what it raises. Its parameters
are read straight off the request, and a dict it returns becomes a ``JSONResponse`` as FastAPI
would make it (written by orjson, ``web.fast_json``). Any other request, a wrong method on a
fast path included, goes through FastAPI as before; the endpoint stays declared on its router,
which keeps it in the OpenAPI document. Middleware added with ``add_middleware`` does not see
fast requests: wrap them with ``around``.

An endpoint qualifies when it has one method (GET, or POST for the creates, which read their
own bodies) and each of its parameters is the ``Request``, a ``str`` path parameter, an
optional query parameter (``str | None = None``), an optional header (``Annotated[str | None,
Header()] = None``) or a dependency that takes only the request (such as ``Caller``);
``install`` refuses any other at start-up, naming it.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import FastAPI, Request
from fastapi.params import Depends, Header
from fastapi.routing import APIRoute, APIRouter
from pydantic_core import PydanticUndefined
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from seedance_gateway.web.fast_json import FastJSONResponse

Endpoint = Callable[..., Awaitable[Any]]
ErrorHandler = Callable[[Request, Exception], Any]


@dataclass(frozen=True)
class _Parameter:
    """Where one argument of the endpoint comes from."""

    name: str
    source: str  #: request | path | query | header | dependency
    dependency: Callable[[Request], Awaitable[Any]] | None = None
    header: str = ""  #: the header's name, for a header


class FastLaneApp(FastAPI):
    """A FastAPI app with a fast lane in front of its middleware stack; ``around`` wraps each
    fast request as middleware would (it takes the app to wrap)."""

    def __init__(self, *, around: Callable[[ASGIApp], ASGIApp] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.fast_routes: list[Route] = []
        self.around = around

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        return FastLane(stack, self.fast_routes, self.exception_handlers, around=self.around)


def install(app: FastLaneApp, routers: Iterable[APIRouter], endpoints: Sequence[Endpoint]) -> None:
    """Serves each of ``endpoints`` (GET or POST routes of ``routers``) through the fast lane."""
    wanted = set(endpoints)
    found: set[Endpoint] = set()
    for router in routers:
        for route in router.routes:
            if isinstance(route, APIRoute) and route.endpoint in wanted:
                if route.methods not in ({"GET"}, {"POST"}):
                    raise TypeError(f"{route.path}: the fast lane serves GET or POST routes only")
                methods = list(route.methods)
                plain = Route(route.path, _handler(route), methods=methods, include_in_schema=False)
                plain.methods = set(methods)  # not Starlette's added HEAD: as on FastAPI's, 405
                app.fast_routes.append(plain)
                found.add(route.endpoint)
    missing = [e.__qualname__ for e in endpoints if e not in found]
    if missing:
        raise TypeError(f"no route for {', '.join(missing)} in the routers given")


class FastLane:
    """ASGI: a request matching one of ``routes`` (path and method) is answered by it, inside
    ``around``; any other goes on to ``app``. What the route raises goes to the first of
    ``handlers`` registered for its class or a base of it (as FastAPI's ``ExceptionMiddleware``
    does); anything else is raised, for ``around`` or the server to answer."""

    def __init__(
        self,
        app: ASGIApp,
        routes: Sequence[Route],
        handlers: Mapping[Any, ErrorHandler],
        *,
        around: Callable[[ASGIApp], ASGIApp] | None = None,
    ) -> None:
        self.app = app
        self.routes = [(r.path.partition("{")[0], r) for r in routes]
        self.handlers = {
            kind: handler
            for kind, handler in handlers.items()
            if isinstance(kind, type) and kind is not Exception  # 500s: see the docstring
        }
        self.served = around(self._serve) if around is not None else self._serve

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            for prefix, route in self.routes:
                if path.startswith(prefix):
                    match, child = route.matches(scope)
                    if match is Match.FULL:
                        scope.update(child)
                        scope["route"] = route
                        await self.served(scope, receive, send)
                        return
        await self.app(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        route: Route = scope["route"]
        try:
            response: Response = await route.endpoint(request)
        except Exception as exc:
            handler = next(
                (self.handlers[k] for k in type(exc).__mro__ if k in self.handlers), None
            )
            if handler is None:
                raise
            answer = handler(request, exc)
            response = await answer if inspect.isawaitable(answer) else answer
        await response(scope, receive, send)


def _handler(route: APIRoute) -> Callable[[Request], Awaitable[Response]]:
    """A plain Starlette endpoint that calls ``route``'s endpoint."""
    endpoint = route.endpoint
    parameters = _parameters(route)
    status_code = route.status_code or 200

    async def plain(request: Request) -> Response:
        arguments: dict[str, Any] = {}
        for p in parameters:
            if p.source == "request":
                arguments[p.name] = request
            elif p.source == "path":
                arguments[p.name] = request.path_params[p.name]
            elif p.source == "query":
                arguments[p.name] = request.query_params.get(p.name)
            elif p.source == "header":
                arguments[p.name] = request.headers.get(p.header)
            else:
                assert p.dependency is not None
                arguments[p.name] = await p.dependency(request)
        result = await endpoint(**arguments)
        return result if isinstance(result, Response) else FastJSONResponse(result, status_code)

    plain.__name__ = plain.__qualname__ = endpoint.__name__
    return plain


def _parameters(route: APIRoute) -> tuple[_Parameter, ...]:
    hints = typing.get_type_hints(route.endpoint, include_extras=True)
    path_names = set(route.param_convertors)
    found = []
    for name, parameter in inspect.signature(route.endpoint).parameters.items():
        found.append(_parameter(route, name, hints.get(name), parameter.default, path_names))
    return tuple(found)


def _parameter(
    route: APIRoute, name: str, hint: Any, default: Any, path_names: set[str]
) -> _Parameter:
    if hint is Request:
        return _Parameter(name, "request")
    if name in path_names and hint is str:
        return _Parameter(name, "path")
    if hint == (str | None) and default is None:
        return _Parameter(name, "query")
    if typing.get_origin(hint) is Annotated:
        for marker in hint.__metadata__:
            if isinstance(marker, Depends) and _takes_only_the_request(marker.dependency):
                return _Parameter(name, "dependency", marker.dependency)
            if _is_plain_header(marker, hint.__origin__, default):
                header = marker.alias or (
                    name.replace("_", "-") if marker.convert_underscores else name
                )
                return _Parameter(name, "header", header=header.lower())
    raise TypeError(
        f"{route.path}: parameter {name!r} of {route.endpoint.__qualname__} cannot be served "
        "by the fast lane (it takes the request, str path parameters, optional str query "
        "parameters and headers, and dependencies on the request alone)"
    )


def _is_plain_header(marker: Any, hint: Any, default: Any) -> bool:
    """An optional ``str`` header with nothing FastAPI would check."""
    return (
        isinstance(marker, Header)
        and hint == (str | None)
        and default is None
        and marker.default in (None, PydanticUndefined)
        and not marker.metadata
    )


def _takes_only_the_request(dependency: Any) -> bool:
    if dependency is None:
        return False
    hints = typing.get_type_hints(dependency)
    names = list(inspect.signature(dependency).parameters)
    return len(names) == 1 and hints.get(names[0]) is Request
