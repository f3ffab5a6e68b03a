"""Flask (WSGI), with its own render_template (the page comes from a
DictLoader set as the app's Jinja loader)."""

from __future__ import annotations

import time
import typing as t

import jinja2
from flask import Flask, Response, render_template, request, session

from .. import spec

NAME = "flask"
FEATURES = {"session", "hooks"}


def _hook() -> None:
    return None


def _route_view(i: int) -> t.Callable[..., t.Any]:
    def view(id: int) -> str:
        return f"r{i} {id}"

    return view


def make_app(routes: int | None = None, hooks: int = 0) -> Flask:
    app = Flask(__name__)
    app.secret_key = spec.SECRET_KEY
    app.jinja_loader = jinja2.DictLoader({spec.TEMPLATE_NAME: spec.TEMPLATE_SOURCE})
    if routes is not None:
        for i in range(routes):
            app.add_url_rule(f"/r{i}/<int:id>", f"r{i}", _route_view(i))
        return app
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

    return app
