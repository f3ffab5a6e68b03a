"""The ASGI floor: a bare ASGI callable doing the same work as the framework
apps (see :mod:`.floor_wsgi`), with ``async`` views."""

from __future__ import annotations

import asyncio
import json
import typing as t
from urllib.parse import parse_qsl

from .. import spec
from .floor_wsgi import parse_multipart

NAME = "floor"
FEATURES = {"hooks"}

_template = spec.jinja_env().get_template(spec.TEMPLATE_NAME)

Scope = dict[str, t.Any]
Receive = t.Callable[[], t.Awaitable[dict[str, t.Any]]]
Send = t.Callable[[dict[str, t.Any]], t.Awaitable[None]]

TEXT = b"text/plain; charset=utf-8"
HTML = b"text/html; charset=utf-8"


async def send_body(send: Send, body: bytes, ctype: bytes, status: int = 200) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", ctype),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def read_body(receive: Receive) -> bytes:
    chunks = []
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _text(scope: Scope, receive: Receive, send: Send) -> None:
    await send_body(send, spec.TEXT.encode(), TEXT)


async def _json(scope: Scope, receive: Receive, send: Send) -> None:
    await send_body(send, json.dumps(spec.JSON).encode(), b"application/json")


async def _search(scope: Scope, receive: Receive, send: Send) -> None:
    args = dict(parse_qsl(scope["query_string"].decode("latin-1")))
    await send_body(send, f"q={args.get('q')} page={int(args['page'])}".encode(), TEXT)


async def _form(scope: Scope, receive: Receive, send: Send) -> None:
    f = dict(parse_qsl((await read_body(receive)).decode()))
    await send_body(send, f"{f['name']} {f['email']} {f['age']}".encode(), TEXT)


async def _count(scope: Scope, receive: Receive, send: Send) -> None:
    n = len(parse_qsl((await read_body(receive)).decode()))
    await send_body(send, str(n).encode(), TEXT)


async def _template_view(scope: Scope, receive: Receive, send: Send) -> None:
    page = _template.render(title=spec.TEMPLATE_TITLE, items=spec.ITEMS)
    await send_body(send, page.encode(), HTML)


async def _upload(scope: Scope, receive: Receive, send: Send) -> None:
    ctype = ""
    for name, value in scope["headers"]:
        if name == b"content-type":
            ctype = value.decode("latin-1")
    files = parse_multipart(await read_body(receive), ctype)
    await send_body(send, f"{len(files['a'])} {len(files['b'])}".encode(), TEXT)


async def _stream(scope: Scope, receive: Receive, send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/octet-stream")],
        }
    )
    for _ in range(spec.STREAM_CHUNKS):
        await send(
            {"type": "http.response.body", "body": spec.STREAM_CHUNK, "more_body": True}
        )
    await send({"type": "http.response.body", "body": b""})


async def _sleep(scope: Scope, receive: Receive, send: Send) -> None:
    await asyncio.sleep(spec.SLEEP_SECONDS)
    await send_body(send, spec.TEXT.encode(), TEXT)


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


async def _hook() -> None:
    return None


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def make_app(routes: int | None = None, hooks: int = 0) -> t.Callable[..., t.Any]:
    if routes is not None:
        names = {f"r{i}" for i in range(routes)}

        async def routes_app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "lifespan":
                return await _lifespan(receive, send)
            _, name, value = scope["path"].split("/", 2)
            if name in names and value.isdigit():
                await send_body(send, f"{name} {int(value)}".encode(), TEXT)
            else:
                await send_body(send, b"Not Found", TEXT, 404)

        return routes_app

    hook_list = [_hook] * hooks

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return await _lifespan(receive, send)
        for hook in hook_list:
            await hook()
        path = scope["path"]
        view = ROUTES.get(path)
        if view is not None:
            await view(scope, receive, send)
        elif path.startswith("/user/") and path[6:].isdigit():
            await send_body(send, f"User {int(path[6:])}".encode(), TEXT)
        else:
            await send_body(send, b"Not Found", TEXT, 404)

    return app
