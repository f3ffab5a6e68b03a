"""Falcon (ASGI): the same resources as :mod:`.falcon_wsgi` with ``async``
responders and middleware."""

from __future__ import annotations

import asyncio
import typing as t

import falcon
import falcon.asgi

from .. import spec

NAME = "falcon"
FEATURES = {"hooks"}

_template = spec.jinja_env().get_template(spec.TEMPLATE_NAME)

Req = falcon.asgi.Request
Resp = falcon.asgi.Response


class Hook:
    async def process_request(self, req: Req, resp: Resp) -> None:
        return None


class Text:
    async def on_get(self, req: Req, resp: Resp) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = spec.TEXT


class Json:
    async def on_get(self, req: Req, resp: Resp) -> None:
        resp.media = spec.JSON


class User:
    async def on_get(self, req: Req, resp: Resp, id: int) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = f"User {id}"


class Search:
    async def on_get(self, req: Req, resp: Resp) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        q = req.get_param("q")
        page = req.get_param_as_int("page")
        resp.text = f"q={q} page={page}"


class Form:
    async def on_post(self, req: Req, resp: Resp) -> None:
        f = await req.get_media()
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = f"{f['name']} {f['email']} {f['age']}"


class Count:
    async def on_post(self, req: Req, resp: Resp) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = str(len(await req.get_media()))


class Template:
    async def on_get(self, req: Req, resp: Resp) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.text = _template.render(title=spec.TEMPLATE_TITLE, items=spec.ITEMS)


class Upload:
    async def on_post(self, req: Req, resp: Resp) -> None:
        sizes = {}
        async for part in await req.get_media():
            sizes[part.name] = len(await part.stream.read())
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = f"{sizes['a']} {sizes['b']}"


class Stream:
    async def on_get(self, req: Req, resp: Resp) -> None:
        async def chunks() -> t.AsyncIterator[bytes]:
            for _ in range(spec.STREAM_CHUNKS):
                yield spec.STREAM_CHUNK

        resp.content_type = "application/octet-stream"
        resp.stream = chunks()


class Sleep:
    async def on_get(self, req: Req, resp: Resp) -> None:
        await asyncio.sleep(spec.SLEEP_SECONDS)
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = spec.TEXT


class RouteN:
    def __init__(self, i: int) -> None:
        self.i = i

    async def on_get(self, req: Req, resp: Resp, id: int) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = f"r{self.i} {id}"


def make_app(routes: int | None = None, hooks: int = 0) -> falcon.asgi.App:
    app = falcon.asgi.App(middleware=[Hook() for _ in range(hooks)])
    if routes is not None:
        for i in range(routes):
            app.add_route(f"/r{i}/{{id:int}}", RouteN(i))
        return app
    app.add_route("/", Text())
    app.add_route("/json", Json())
    app.add_route("/user/{id:int}", User())
    app.add_route("/search", Search())
    app.add_route("/form", Form())
    app.add_route("/count", Count())
    app.add_route("/template", Template())
    app.add_route("/upload", Upload())
    app.add_route("/stream", Stream())
    app.add_route("/sleep", Sleep())
    return app
