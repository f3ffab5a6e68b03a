"""Falcon (WSGI): resources with responders; ``before_request`` hooks are
middleware objects with ``process_request``, Falcon's equivalent.  No Jinja2
integration: the page renders with Jinja2 directly."""

from __future__ import annotations

import time
import typing as t

import falcon

from .. import spec

NAME = "falcon"
FEATURES = {"hooks"}

_template = spec.jinja_env().get_template(spec.TEMPLATE_NAME)


class Hook:
    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        return None


class Text:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = spec.TEXT


class Json:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = spec.JSON


class User:
    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = f"User {id}"


class Search:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        q = req.get_param("q")
        page = req.get_param_as_int("page")
        resp.text = f"q={q} page={page}"


class Form:
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        f = req.get_media()
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = f"{f['name']} {f['email']} {f['age']}"


class Count:
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = str(len(req.get_media()))


class Template:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.text = _template.render(title=spec.TEMPLATE_TITLE, items=spec.ITEMS)


class Upload:
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        sizes = {}
        for part in req.get_media():
            sizes[part.name] = len(part.stream.read())
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = f"{sizes['a']} {sizes['b']}"


class Stream:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        def chunks() -> t.Iterator[bytes]:
            for _ in range(spec.STREAM_CHUNKS):
                yield spec.STREAM_CHUNK

        resp.content_type = "application/octet-stream"
        resp.stream = chunks()


class Sleep:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        time.sleep(spec.SLEEP_SECONDS)
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = spec.TEXT


class RouteN:
    def __init__(self, i: int) -> None:
        self.i = i

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = f"r{self.i} {id}"


def make_app(routes: int | None = None, hooks: int = 0) -> falcon.App:
    app = falcon.App(middleware=[Hook() for _ in range(hooks)])
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
