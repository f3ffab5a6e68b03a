"""The ASGI driver: a scope and the body in, one :class:`~erlen.Request`;
one :class:`~erlen.Response` out, through ``send``.

The body is received before the pipeline runs (bounded by
``MAX_CONTENT_LENGTH``), so ``request.form`` and ``request.json`` are plain
attributes in ``def`` and ``async def`` views alike.  When no view, hook or
error handler of the app is ``async def``, the whole pipeline runs in one
worker thread; otherwise ``async def`` functions run on the loop and ``def``
functions each in the app's thread pool.
"""

from __future__ import annotations

import io
import typing as t

from . import exceptions as exc
from .concurrency import drive, run_async, run_inline
from .pipeline import handle_request
from .wrappers import _encode

if t.TYPE_CHECKING:
    from .app import Erlen
    from .concurrency import AsyncRunner

__all__ = ["ASGIApp"]

Scope = dict[str, t.Any]
Receive = t.Callable[[], t.Awaitable[dict[str, t.Any]]]
Send = t.Callable[[dict[str, t.Any]], t.Awaitable[None]]

_sentinel = object()


class _TooLarge(io.RawIOBase):
    """The body stream of a request whose body was over the limit and was
    not received."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: t.Any) -> int:
        raise exc.RequestEntityTooLarge()


class ASGIApp:
    """``app.asgi``: the ASGI 3 application for :class:`~erlen.Erlen`.

    Serve it with ``uvicorn mod:app.asgi`` or ``granian --interface asgi
    mod:app.asgi``.
    """

    def __init__(self, app: Erlen) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self.http(scope, receive, send)
        elif kind == "lifespan":
            await self.lifespan(scope, receive, send)
        elif kind == "websocket":
            # Websocket routes arrive with the async issue; refuse cleanly.
            await receive()
            await send({"type": "websocket.close", "code": 1000})
        else:
            raise RuntimeError(f"Unsupported ASGI scope type {kind!r}.")

    async def lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer lifespan startup and shutdown."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                executor = self.app._executor
                if executor is not None:
                    executor.shutdown(wait=False)
                    self.app._executor = None
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _receive_body(
        self, request_limit: int | None, declared: int | None, receive: Receive
    ) -> tuple[t.BinaryIO, bool]:
        if (
            declared is not None
            and request_limit is not None
            and declared > request_limit
        ):
            return t.cast(t.BinaryIO, _TooLarge()), True
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            if chunk:
                chunks.append(chunk)
                size += len(chunk)
                if request_limit is not None and size > request_limit:
                    # Enough to know it is too large; the stream raises 413.
                    break
            more = message.get("more_body", False)
        return io.BytesIO(b"".join(chunks)), True

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run one HTTP request through the pipeline."""
        app = self.app
        config = app.config
        server = scope.get("server")
        client = scope.get("client")
        root_path = scope.get("root_path", "").rstrip("/")
        path = scope["path"] or "/"
        # ASGI servers disagree on whether `path` includes `root_path`
        # (the spec now says it does); accept both.
        if root_path and (path == root_path or path.startswith(root_path + "/")):
            path = path[len(root_path) :] or "/"
        request = app.request_class(
            method=scope["method"],
            scheme=scope.get("scheme", "http"),
            server=(server[0], server[1]) if server else None,
            root_path=root_path,
            path=path,
            query_string=scope.get("query_string", b""),
            headers=scope["headers"],
            remote_addr=client[0] if client else None,
            max_content_length=config["MAX_CONTENT_LENGTH"],
            max_form_memory_size=config["MAX_FORM_MEMORY_SIZE"],
            max_form_parts=config["MAX_FORM_PARTS"],
        )
        request.scope = scope
        extensions = scope.get("extensions") or {}
        request._preserve_context = extensions.get("erlen.preserve_context")
        request._input, request._input_terminated = await self._receive_body(
            request.max_content_length, request.content_length, receive
        )
        ctx = app.make_request_context(request)
        runner = run_async(app._get_executor())
        if app._is_all_sync():
            # PERF: one thread hop for the whole request instead of one per
            # hook and view.
            response = await runner.in_thread(
                drive, handle_request(app, ctx, run_inline)
            )
        else:
            response = await handle_request(app, ctx, runner)

        send_body = response._prepare_for_send(request.method)
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": [
                    (k.lower().encode("latin-1"), v.encode("latin-1"))
                    for k, v in response.headers.items()
                ],
            }
        )
        try:
            if not send_body:
                await send({"type": "http.response.body", "body": b""})
                return
            body = response.response
            if isinstance(body, list | tuple):
                await send(
                    {
                        "type": "http.response.body",
                        "body": b"".join(_encode(c) for c in body),
                    }
                )
                return
            await self._send_stream(body, send, runner)
        finally:
            aclose = getattr(response.response, "aclose", None)
            if aclose is not None:
                await aclose()
            await runner.in_thread(response.close)

    async def _send_stream(self, body: t.Any, send: Send, runner: AsyncRunner) -> None:
        if hasattr(body, "__aiter__"):
            async for chunk in body:
                await send(
                    {
                        "type": "http.response.body",
                        "body": _encode(chunk),
                        "more_body": True,
                    }
                )
        else:
            iterator = iter(body)
            while True:
                # A sync generator may block: produce each chunk in a thread.
                chunk = await runner.in_thread(next, iterator, _sentinel)
                if chunk is _sentinel:
                    break
                await send(
                    {
                        "type": "http.response.body",
                        "body": _encode(chunk),
                        "more_body": True,
                    }
                )
        await send({"type": "http.response.body", "body": b""})
