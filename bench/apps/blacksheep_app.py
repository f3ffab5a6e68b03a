"""BlackSheep (ASGI), async handlers with its parameter binding (route and
query values from the signature).  Each app gets its own Router (the default
one is global).  No Jinja2 integration without a templates folder: the page
renders with Jinja2 directly."""

from __future__ import annotations

import asyncio
import typing as t

from blacksheep import Application, Request, Response, html, json, text
from blacksheep.contents import StreamedContent
from blacksheep.server.routing import Router

from .. import spec

NAME = "blacksheep"
FEATURES: set[str] = set()

_template = spec.jinja_env().get_template(spec.TEMPLATE_NAME)


def _route_view(i: int) -> t.Callable[..., t.Any]:
    async def view(id: int) -> Response:
        return text(f"r{i} {id}")

    return view


async def _chunks() -> t.AsyncIterator[bytes]:
    for _ in range(spec.STREAM_CHUNKS):
        yield spec.STREAM_CHUNK


def make_app(routes: int | None = None, hooks: int = 0) -> Application:
    app = Application(router=Router())
    router = app.router
    if routes is not None:
        for i in range(routes):
            router.add_get(f"/r{i}/{{int:id}}", _route_view(i))
        return app

    async def text_view() -> Response:
        return text(spec.TEXT)

    async def json_view() -> Response:
        return json(spec.JSON)

    async def user(id: int) -> Response:
        return text(f"User {id}")

    async def search(q: str, page: int) -> Response:
        return text(f"q={q} page={page}")

    async def form(request: Request) -> Response:
        f = await request.form()
        return text(f"{f['name']} {f['email']} {f['age']}")

    async def count(request: Request) -> Response:
        return text(str(len(await request.form())))

    async def template() -> Response:
        return html(_template.render(title=spec.TEMPLATE_TITLE, items=spec.ITEMS))

    async def upload(request: Request) -> Response:
        sizes = {part.name: len(part.data) for part in await request.files()}
        return text(f"{sizes[b'a']} {sizes[b'b']}")

    async def stream() -> Response:
        return Response(
            200, None, StreamedContent(b"application/octet-stream", _chunks)
        )

    async def sleep() -> Response:
        await asyncio.sleep(spec.SLEEP_SECONDS)
        return text(spec.TEXT)

    router.add_get("/", text_view)
    router.add_get("/json", json_view)
    router.add_get("/user/{int:id}", user)
    router.add_get("/search", search)
    router.add_post("/form", form)
    router.add_post("/count", count)
    router.add_get("/template", template)
    router.add_post("/upload", upload)
    router.add_get("/stream", stream)
    router.add_get("/sleep", sleep)
    return app
