"""Erlen: the same app with ``def`` views (WSGI, and ASGI through the thread
pool) or ``async def`` views (ASGI on the event loop).

The template route uses Erlen's own ``render_template`` (in async views
too: a small page renders on the loop, see docs/async.md), with the page
from a DictLoader like Flask's.
"""

from __future__ import annotations

import asyncio
import time
import typing as t

import jinja2

from erlen import (
    Erlen,
    Response,
    render_template,
    request,
    session,
)

from .. import spec

NAME = "erlen"
FEATURES = {"session", "hooks"}


def _hook() -> None:
    return None


async def _async_hook() -> None:
    return None


def _route_view(i: int, async_views: bool) -> t.Callable[..., t.Any]:
    if async_views:

        async def aview(id: int) -> str:
            return f"r{i} {id}"

        return aview

    def view(id: int) -> str:
        return f"r{i} {id}"

    return view


def make_app(
    routes: int | None = None,
    hooks: int = 0,
    interface: str = "wsgi",
    async_views: bool = False,
) -> t.Any:
    app = Erlen(__name__)
    app.config["SECRET_KEY"] = spec.SECRET_KEY
    app.jinja_loader = jinja2.DictLoader({spec.TEMPLATE_NAME: spec.TEMPLATE_SOURCE})
    if routes is not None:
        for i in range(routes):
            app.add_url_rule(f"/r{i}/<int:id>", f"r{i}", _route_view(i, async_views))
    elif async_views:
        _async_routes(app, hooks)
    else:
        _sync_routes(app, hooks)
    return app.asgi if interface == "asgi" else app


def _sync_routes(app: Erlen, hooks: int) -> None:
    for _ in range(hooks):
        app.before_request(_hook)

    @app.get("/")
    def text() -> str:
        return spec.TEXT

    @app.get("/json")
    def json() -> dict[str, str]:
        return spec.JSON

    @app.get("/user/<int:id>")
    def user(id: int) -> str:
        return f"User {id}"

    @app.get("/search")
    def search() -> str:
        args = request.args
        return f"q={args.get('q')} page={args.get('page', type=int)}"

    @app.post("/form")
    def form() -> str:
        f = request.form
        return f"{f['name']} {f['email']} {f['age']}"

    @app.post("/count")
    def count() -> str:
        return str(len(request.form))

    @app.get("/template")
    def template() -> str:
        return render_template(
            spec.TEMPLATE_NAME, title=spec.TEMPLATE_TITLE, items=spec.ITEMS
        )

    @app.get("/session")
    def session_view() -> str:
        n = session.get("n", 0)
        session["n"] = n + 1
        return str(n)

    @app.post("/upload")
    def upload() -> str:
        files = request.files
        return f"{len(files['a'].read())} {len(files['b'].read())}"

    @app.get("/stream")
    def stream() -> Response:
        def chunks() -> t.Iterator[bytes]:
            for _ in range(spec.STREAM_CHUNKS):
                yield spec.STREAM_CHUNK

        return Response(chunks(), mimetype="application/octet-stream")

    @app.get("/sleep")
    def sleep() -> str:
        time.sleep(spec.SLEEP_SECONDS)
        return spec.TEXT


def _async_routes(app: Erlen, hooks: int) -> None:
    for _ in range(hooks):
        app.before_request(_async_hook)

    @app.get("/")
    async def text() -> str:
        return spec.TEXT

    @app.get("/json")
    async def json() -> dict[str, str]:
        return spec.JSON

    @app.get("/user/<int:id>")
    async def user(id: int) -> str:
        return f"User {id}"

    @app.get("/search")
    async def search() -> str:
        args = request.args
        return f"q={args.get('q')} page={args.get('page', type=int)}"

    @app.post("/form")
    async def form() -> str:
        f = request.form
        return f"{f['name']} {f['email']} {f['age']}"

    @app.post("/count")
    async def count() -> str:
        return str(len(request.form))

    @app.get("/template")
    async def template() -> str:
        # A small page renders on the loop, as docs/async.md advises (and as
        # Starlette's and Quart's do); render_template_async is for a page
        # large enough to be worth a thread hop (~100-200 us here).
        return render_template(
            spec.TEMPLATE_NAME, title=spec.TEMPLATE_TITLE, items=spec.ITEMS
        )

    @app.get("/session")
    async def session_view() -> str:
        n = session.get("n", 0)
        session["n"] = n + 1
        return str(n)

    @app.post("/upload")
    async def upload() -> str:
        files = request.files
        return f"{len(files['a'].read())} {len(files['b'].read())}"

    @app.get("/stream")
    async def stream() -> Response:
        async def chunks() -> t.AsyncIterator[bytes]:
            for _ in range(spec.STREAM_CHUNKS):
                yield spec.STREAM_CHUNK

        return Response(chunks(), mimetype="application/octet-stream")

    @app.get("/sleep")
    async def sleep() -> str:
        await asyncio.sleep(spec.SLEEP_SECONDS)
        return spec.TEXT
