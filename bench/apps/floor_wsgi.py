"""The WSGI floor: a bare WSGI callable that does the same work as the
framework apps (dispatch on the path, parse the query or the body, render
the page) with nothing else.  What a framework costs is its time above this.
"""

from __future__ import annotations

import json
import time
import typing as t
from urllib.parse import parse_qsl

from .. import spec

NAME = "floor"
FEATURES = {"hooks"}

_template = spec.jinja_env().get_template(spec.TEMPLATE_NAME)

TEXT_HEADERS = [("Content-Type", "text/plain; charset=utf-8")]
HTML_HEADERS = [("Content-Type", "text/html; charset=utf-8")]
JSON_HEADERS = [("Content-Type", "application/json")]
BINARY_HEADERS = [("Content-Type", "application/octet-stream")]

Result = tuple[str, list[tuple[str, str]], t.Iterable[bytes]]


def text(body: str, status: str = "200 OK") -> Result:
    data = body.encode()
    return status, [*TEXT_HEADERS, ("Content-Length", str(len(data)))], [data]


def parse_multipart(body: bytes, content_type: str) -> dict[str, bytes]:
    """The least work that finds each part's name and data."""
    boundary = content_type.partition("boundary=")[2].encode()
    files = {}
    for part in body.split(b"--" + boundary)[1:-1]:
        head, _, data = part.partition(b"\r\n\r\n")
        name = head.partition(b'name="')[2].partition(b'"')[0].decode()
        files[name] = data[:-2]  # the CRLF before the next boundary
    return files


def chunks() -> t.Iterator[bytes]:
    for _ in range(spec.STREAM_CHUNKS):
        yield spec.STREAM_CHUNK


def _body(environ: dict[str, t.Any]) -> bytes:
    length = environ.get("CONTENT_LENGTH")
    return environ["wsgi.input"].read(int(length)) if length else b""


def _text(environ: dict[str, t.Any]) -> Result:
    return text(spec.TEXT)


def _json(environ: dict[str, t.Any]) -> Result:
    data = json.dumps(spec.JSON).encode()
    return "200 OK", [*JSON_HEADERS, ("Content-Length", str(len(data)))], [data]


def _search(environ: dict[str, t.Any]) -> Result:
    args = dict(parse_qsl(environ.get("QUERY_STRING", "")))
    return text(f"q={args.get('q')} page={int(args['page'])}")


def _form(environ: dict[str, t.Any]) -> Result:
    f = dict(parse_qsl(_body(environ).decode()))
    return text(f"{f['name']} {f['email']} {f['age']}")


def _count(environ: dict[str, t.Any]) -> Result:
    return text(str(len(parse_qsl(_body(environ).decode()))))


def _template_view(environ: dict[str, t.Any]) -> Result:
    data = _template.render(title=spec.TEMPLATE_TITLE, items=spec.ITEMS).encode()
    return "200 OK", [*HTML_HEADERS, ("Content-Length", str(len(data)))], [data]


def _upload(environ: dict[str, t.Any]) -> Result:
    files = parse_multipart(_body(environ), environ["CONTENT_TYPE"])
    return text(f"{len(files['a'])} {len(files['b'])}")


def _stream(environ: dict[str, t.Any]) -> Result:
    return "200 OK", BINARY_HEADERS, chunks()


def _sleep(environ: dict[str, t.Any]) -> Result:
    time.sleep(spec.SLEEP_SECONDS)
    return text(spec.TEXT)


ROUTES = {
    "/": _text,
    "/json": _json,
    "/search": _search,
    "/form": _form,
    "/count": _count,
    "/template": _template_view,
    "/upload": _upload,
    "/stream": _stream,
    "/sleep": _sleep,
}


def _hook() -> None:
    return None


def make_app(routes: int | None = None, hooks: int = 0) -> t.Callable[..., t.Any]:
    if routes is not None:
        names = {f"r{i}" for i in range(routes)}

        def routes_app(
            environ: dict[str, t.Any], start_response: t.Callable[..., t.Any]
        ) -> t.Iterable[bytes]:
            _, name, value = environ["PATH_INFO"].split("/", 2)
            if name in names and value.isdigit():
                status, headers, body = text(f"{name} {int(value)}")
            else:
                status, headers, body = text("Not Found", "404 Not Found")
            start_response(status, headers)
            return body

        return routes_app

    hook_list = [_hook] * hooks

    def app(
        environ: dict[str, t.Any], start_response: t.Callable[..., t.Any]
    ) -> t.Iterable[bytes]:
        for hook in hook_list:
            hook()
        path = environ["PATH_INFO"]
        view = ROUTES.get(path)
        if view is not None:
            status, headers, body = view(environ)
        elif path.startswith("/user/") and path[6:].isdigit():
            status, headers, body = text(f"User {int(path[6:])}")
        else:
            status, headers, body = text("Not Found", "404 Not Found")
        start_response(status, headers)
        return body

    return app
