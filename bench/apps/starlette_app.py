"""Starlette (ASGI), async endpoints.  Sessions use Starlette's
SessionMiddleware on the session route only, so the other routes do not pay
for it; the page renders through ``Jinja2Templates`` with the shared
environment."""

from __future__ import annotations

import asyncio
import typing as t

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from .. import spec

NAME = "starlette"
FEATURES = {"session"}

templates = Jinja2Templates(env=spec.jinja_env())


async def text(request: Request) -> Response:
    return PlainTextResponse(spec.TEXT)


async def json(request: Request) -> Response:
    return JSONResponse(spec.JSON)


async def user(request: Request) -> Response:
    return PlainTextResponse(f"User {request.path_params['id']}")


async def search(request: Request) -> Response:
    q = request.query_params
    return PlainTextResponse(f"q={q.get('q')} page={int(q['page'])}")


async def form(request: Request) -> Response:
    f = await request.form()
    return PlainTextResponse(f"{f['name']} {f['email']} {f['age']}")


async def count(request: Request) -> Response:
    return PlainTextResponse(str(len(await request.form())))


async def template(request: Request) -> Response:
    return templates.TemplateResponse(
        request,
        spec.TEMPLATE_NAME,
        {"title": spec.TEMPLATE_TITLE, "items": spec.ITEMS},
    )


async def session_view(request: Request) -> Response:
    n = request.session.get("n", 0)
    request.session["n"] = n + 1
    return PlainTextResponse(str(n))


async def upload(request: Request) -> Response:
    f = await request.form()
    a, b = f["a"], f["b"]
    return PlainTextResponse(f"{len(await a.read())} {len(await b.read())}")  # type: ignore[union-attr]


async def stream(request: Request) -> Response:
    async def chunks() -> t.AsyncIterator[bytes]:
        for _ in range(spec.STREAM_CHUNKS):
            yield spec.STREAM_CHUNK

    return StreamingResponse(chunks(), media_type="application/octet-stream")


async def sleep(request: Request) -> Response:
    await asyncio.sleep(spec.SLEEP_SECONDS)
    return PlainTextResponse(spec.TEXT)


def _route_view(i: int) -> t.Callable[..., t.Any]:
    async def view(request: Request) -> Response:
        return PlainTextResponse(f"r{i} {request.path_params['id']}")

    return view


def make_app(routes: int | None = None, hooks: int = 0) -> Starlette:
    if routes is not None:
        return Starlette(
            routes=[Route(f"/r{i}/{{id:int}}", _route_view(i)) for i in range(routes)]
        )
    return Starlette(
        routes=[
            Route("/", text),
            Route("/json", json),
            Route("/user/{id:int}", user),
            Route("/search", search),
            Route("/form", form, methods=["POST"]),
            Route("/count", count, methods=["POST"]),
            Route("/template", template),
            Route(
                "/session",
                session_view,
                middleware=[Middleware(SessionMiddleware, secret_key=spec.SECRET_KEY)],
            ),
            Route("/upload", upload, methods=["POST"]),
            Route("/stream", stream),
            Route("/sleep", sleep),
        ]
    )
