"""FastAPI (ASGI), async endpoints with typed parameters (its native way:
path, query and form values are validated by the signature).  The OpenAPI
and docs routes are turned off so they do not sit in front of ours."""

from __future__ import annotations

import asyncio
import typing as t

from fastapi import FastAPI, Form, Request, UploadFile
from fastapi.responses import PlainTextResponse, StreamingResponse
from fastapi.templating import Jinja2Templates

from .. import spec

NAME = "fastapi"
FEATURES: set[str] = set()

templates = Jinja2Templates(env=spec.jinja_env())


def _route_view(i: int) -> t.Callable[..., t.Any]:
    async def view(id: int) -> str:
        return f"r{i} {id}"

    return view


def make_app(routes: int | None = None, hooks: int = 0) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    if routes is not None:
        for i in range(routes):
            app.add_api_route(
                f"/r{i}/{{id}}", _route_view(i), response_class=PlainTextResponse
            )
        return app

    @app.get("/", response_class=PlainTextResponse)
    async def text() -> str:
        return spec.TEXT

    @app.get("/json")
    async def json() -> dict[str, str]:
        return spec.JSON

    @app.get("/user/{id}", response_class=PlainTextResponse)
    async def user(id: int) -> str:
        return f"User {id}"

    @app.get("/search", response_class=PlainTextResponse)
    async def search(q: str, page: int) -> str:
        return f"q={q} page={page}"

    @app.post("/form", response_class=PlainTextResponse)
    async def form(
        name: t.Annotated[str, Form()],
        email: t.Annotated[str, Form()],
        age: t.Annotated[str, Form()],
    ) -> str:
        return f"{name} {email} {age}"

    @app.post("/count", response_class=PlainTextResponse)
    async def count(request: Request) -> str:
        return str(len(await request.form()))

    @app.get("/template")
    async def template(request: Request) -> t.Any:
        return templates.TemplateResponse(
            request,
            spec.TEMPLATE_NAME,
            {"title": spec.TEMPLATE_TITLE, "items": spec.ITEMS},
        )

    @app.post("/upload", response_class=PlainTextResponse)
    async def upload(a: UploadFile, b: UploadFile) -> str:
        return f"{len(await a.read())} {len(await b.read())}"

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> t.AsyncIterator[bytes]:
            for _ in range(spec.STREAM_CHUNKS):
                yield spec.STREAM_CHUNK

        return StreamingResponse(chunks(), media_type="application/octet-stream")

    @app.get("/sleep", response_class=PlainTextResponse)
    async def sleep() -> str:
        await asyncio.sleep(spec.SLEEP_SECONDS)
        return spec.TEXT

    return app
