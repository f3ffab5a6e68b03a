"""Bottle (WSGI).  Bottle has no Jinja2 integration of its own worth the
name (``jinja2_template`` is a thin wrapper), so the page renders with Jinja2
directly, like Erlen's."""

from __future__ import annotations

import time
import typing as t

from bottle import Bottle, request, response

from .. import spec

NAME = "bottle"
FEATURES = {"hooks"}

_template = spec.jinja_env().get_template(spec.TEMPLATE_NAME)


def _hook() -> None:
    return None


def _route_view(i: int) -> t.Callable[..., t.Any]:
    def view(id: int) -> str:
        return f"r{i} {id}"

    return view


def make_app(routes: int | None = None, hooks: int = 0) -> Bottle:
    app = Bottle()
    if routes is not None:
        for i in range(routes):
            app.route(f"/r{i}/<id:int>", callback=_route_view(i))
        return app
    for _ in range(hooks):
        app.add_hook("before_request", _hook)

    @app.get("/")
    def text() -> str:
        return spec.TEXT

    @app.get("/json")
    def json() -> dict[str, str]:
        return spec.JSON

    @app.get("/user/<id:int>")
    def user(id: int) -> str:
        return f"User {id}"

    @app.get("/search")
    def search() -> str:
        query = request.query
        return f"q={query.get('q')} page={int(query.get('page'))}"

    @app.post("/form")
    def form() -> str:
        f = request.forms
        return f"{f.get('name')} {f.get('email')} {f.get('age')}"

    @app.post("/count")
    def count() -> str:
        return str(len(request.forms))

    @app.get("/template")
    def template() -> str:
        return _template.render(title=spec.TEMPLATE_TITLE, items=spec.ITEMS)

    @app.post("/upload")
    def upload() -> str:
        files = request.files
        return f"{len(files['a'].file.read())} {len(files['b'].file.read())}"

    @app.get("/stream")
    def stream() -> t.Iterator[bytes]:
        response.content_type = "application/octet-stream"
        for _ in range(spec.STREAM_CHUNKS):
            yield spec.STREAM_CHUNK

    @app.get("/sleep")
    def sleep() -> str:
        time.sleep(spec.SLEEP_SECONDS)
        return spec.TEXT

    return app
