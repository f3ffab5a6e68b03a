"""The ASGI driver: a scope and the body in, one :class:`~erlen.Request`;
one :class:`~erlen.Response` out, through ``send``.

The body is received before the pipeline runs (bounded by
``MAX_CONTENT_LENGTH``), so ``request.form`` and ``request.json`` are plain
attributes in ``def`` and ``async def`` views alike.  An HTTP/1 ``GET`` or
``HEAD`` with neither ``Content-Length`` nor ``Transfer-Encoding`` has no
body, and none is waited for.  When no view, hook or
error handler of the app is ``async def``, the whole pipeline runs in one
worker thread; otherwise ``async def`` functions run on the loop and ``def``
functions each in the app's thread pool.
"""

from __future__ import annotations

import asyncio
import io
import typing as t

from . import exceptions as exc
from .concurrency import drive, run_async, run_inline
from .ctx import RequestContext
from .datastructures import ResponseHeaders
from .pipeline import handle_request, handle_websocket
from .proxy import apply_proxy_fix
from .wrappers import _encode, _index_headers

if t.TYPE_CHECKING:
    from .app import Erlen
    from .concurrency import AsyncRunner
    from .wrappers import Request

__all__ = ["ASGIApp"]

Scope = dict[str, t.Any]
Receive = t.Callable[[], t.Awaitable[dict[str, t.Any]]]
Send = t.Callable[[dict[str, t.Any]], t.Awaitable[None]]

_sentinel = object()
_HTTP1 = frozenset({"1.0", "1.1"})
_NO_BODY_METHODS = frozenset({"GET", "HEAD"})
_BODY_HEADERS = frozenset({b"content-length", b"transfer-encoding"})


#: Response header pairs as sent, by their str pair (see ASGIApp.__call__):
#: the first 512 short ones, never a cookie (no session value stays here).
_encoded_headers: dict[tuple[str, str], tuple[bytes, bytes]] = {}
_ENCODED_HEADERS_SIZE = 512


def _encode_header(pair: tuple[str, str]) -> tuple[bytes, bytes]:
    name, value = pair
    encoded = (name.lower().encode("latin-1"), value.encode("latin-1"))
    if (
        len(_encoded_headers) < _ENCODED_HEADERS_SIZE
        and len(value) <= 1024
        and encoded[0] != b"set-cookie"
    ):
        _encoded_headers[pair] = encoded
    return encoded


class _TooLarge(io.RawIOBase):
    """The body stream of a request whose body was over the limit and was
    not received."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: t.Any) -> int:
        raise exc.RequestEntityTooLarge()


class RequestBodyStream(io.RawIOBase):
    """``request.stream`` of a ``stream_body=True`` route under ASGI: the
    body as it arrives, never held whole::

        @app.post("/upload", stream_body=True)
        async def upload():
            async for chunk in request.stream:
                ...

    ``request.max_content_length`` is checked as chunks arrive (a declared
    ``Content-Length`` over it is refused before reading), so a view may
    raise the limit for this request.  From a ``def`` view (in a pool
    thread) ``request.stream.read()`` works too.
    """

    def __init__(
        self, request: Request, receive: Receive, loop: asyncio.AbstractEventLoop
    ) -> None:
        self._request = request
        self._receive = receive
        self._loop = loop
        self._size = 0
        self._done = False
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def __aiter__(self) -> RequestBodyStream:
        return self

    async def __anext__(self) -> bytes:
        chunk = await self._next_chunk()
        if chunk is None:
            raise StopAsyncIteration
        return chunk

    async def _next_chunk(self) -> bytes | None:
        request = self._request
        limit = request.max_content_length
        if self._size == 0 and limit is not None:
            declared = request.content_length
            if declared is not None and declared > limit:
                raise exc.RequestEntityTooLarge()
        while not self._done:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self._done = True
                raise exc.BadRequest(
                    "The client disconnected before sending the whole body."
                )
            self._done = not message.get("more_body", False)
            chunk: bytes = message.get("body", b"")
            if chunk:
                self._size += len(chunk)
                if limit is not None and self._size > limit:
                    raise exc.RequestEntityTooLarge()
                return chunk
        return None

    def readinto(self, buffer: t.Any) -> int:
        if not self._buffer:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                pass
            else:
                raise RuntimeError(
                    "request.stream of a stream_body route cannot be read with"
                    " read() on the event loop; use 'async for chunk in"
                    " request.stream' in an async def view."
                )
            future = asyncio.run_coroutine_threadsafe(self._next_chunk(), self._loop)
            chunk = future.result()
            if chunk is None:
                return 0
            self._buffer = chunk
        n = min(len(buffer), len(self._buffer))
        buffer[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


class _DisconnectWatcher:
    """Notices the client going away once the body was received, by reading
    ``receive()`` in a task started on first need (a streamed response, or
    ``await request.is_disconnected()``)."""

    __slots__ = ("_receive", "_task", "_soon", "gone", "_target", "cancelled")

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._task: asyncio.Task[None] | None = None
        self._soon: asyncio.Handle | None = None
        #: Whether the client has gone (known once the task runs).
        self.gone = False
        # The task to cancel when the client leaves, and whether it was.
        self._target: asyncio.Task[t.Any] | None = None
        self.cancelled = False

    async def _watch(self) -> None:
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self.gone = True
                target = self._target
                if target is not None:
                    self.cancelled = True
                    target.cancel()
                return

    def _start(self) -> None:
        if self._task is None:
            # PERF: the loop's create_task, not ensure_future's checks, and
            # a flag rather than an asyncio.Event (~3 us of a stream).
            self._task = asyncio.get_running_loop().create_task(self._watch())

    def cancel_on_disconnect(self, task: asyncio.Task[t.Any] | None) -> bool:
        """Cancel ``task`` if the client leaves (``None``: stop doing so);
        return whether it has left already.

        The watching starts once the loop runs something else, that is once
        ``task`` waits for something: the client can only be noticed
        leaving then, and a stream that never waits ends first.
        """
        self._target = task
        if task is not None and self._task is None and self._soon is None:
            # PERF: a callback (~0.5 us) rather than a task (~2 us, and its
            # cancellation) for the stream that never waits; a 1 MiB stream
            # of 16 chunks: 22.3 -> 19.9 us.
            self._soon = asyncio.get_running_loop().call_soon(self._start)
        return self.gone

    async def is_disconnected(self) -> bool:
        self._start()
        await asyncio.sleep(0)  # let the watcher read a pending message
        return self.gone

    def stop(self) -> None:
        if self._soon is not None:
            self._soon.cancel()
        if self._task is not None and not self._task.done():
            self._task.cancel()


class _Disconnected(io.RawIOBase):
    """The body stream of a request whose client left before sending all of
    its body: reading it is a 400, never a truncated body."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: t.Any) -> int:
        raise exc.BadRequest("The client disconnected before sending the whole body.")


class ASGIApp:
    """``app.asgi``: the ASGI 3 application for :class:`~erlen.Erlen`.

    Serve it with ``uvicorn mod:app.asgi`` or ``granian --interface asgi
    mod:app.asgi``.
    """

    def __init__(self, app: Erlen) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run one HTTP request through the pipeline (:meth:`lifespan` and
        :meth:`websocket` take the other scopes)."""
        kind = scope["type"]
        if kind != "http":
            if kind == "lifespan":
                await self.lifespan(scope, receive, send)
            elif kind == "websocket":
                await self.websocket(scope, receive, send)
            else:
                raise RuntimeError(f"Unsupported ASGI scope type {kind!r}.")
            return
        # PERF: the HTTP request here, not in a coroutine of its own (with
        # the encoded-header cache below, ~0.3 us of GET /).
        app = self.app
        request = self._request(scope, scope["method"])
        # Matching first tells whether the route streams its body.
        app.match_request(request)
        rule = request.url_rule
        if request._rejected is not None:
            # Refused before any user code runs: the body is never needed.
            request._input, request._input_terminated = io.BytesIO(), True
        elif rule is not None and rule.stream_body:
            stream = RequestBodyStream(request, receive, asyncio.get_running_loop())
            request.__dict__["stream"] = stream
            request._input = t.cast(t.BinaryIO, stream)
            request._input_terminated = True
        elif (
            request.method in _NO_BODY_METHODS
            and scope.get("http_version", "1.1") in _HTTP1
            and _BODY_HEADERS.isdisjoint(request._header_index or ())
        ) or request.content_length == 0:
            # PERF: nothing to receive (a coroutine and the server's
            # receive(), ~1-2 us): an HTTP/1 request with neither header
            # has no body (RFC 9112 6.3).  Only GET and HEAD are trusted
            # to it, in case a server or test harness drops the
            # Transfer-Encoding header of a chunked body.
            request._input = None
        else:
            request._input, request._input_terminated = await self._receive_body(
                request.max_content_length, request.content_length, receive
            )
        watcher = _DisconnectWatcher(receive)
        request._disconnect_probe = watcher.is_disconnected
        ctx = RequestContext(app, request)
        runner = app._async_runner()
        all_sync = app._all_sync
        if all_sync is None:
            all_sync = app._is_all_sync()
        if all_sync:
            # PERF: one thread hop for the whole request instead of one per
            # hook and view.
            response = await runner.in_thread(
                drive, handle_request(app, ctx, run_inline)
            )
        else:
            response = await handle_request(app, ctx, runner)

        send_body = response._prepare_for_send(request.method)
        headers = response.headers
        if type(headers) is ResponseHeaders:
            # PERF: each pair encoded once (the security headers and content
            # types recur in every response): a lookup instead of three calls.
            # (Every way of setting one stores a tuple.)
            get = _encoded_headers.get
            encoded = [get(pair) or _encode_header(pair) for pair in headers._list]
        else:
            encoded = [_encode_header(pair) for pair in headers.items()]
        await send(
            {
                "type": "http.response.start",
                "status": response._status_code,  # PERF: not the property's call
                "headers": encoded,
            }
        )
        try:
            if not send_body:
                await send({"type": "http.response.body", "body": b""})
                return
            body = response.response
            if isinstance(body, (list, tuple)):
                if len(body) == 1 and type(body[0]) is bytes:
                    data = body[0]  # PERF: the usual in-memory body
                else:
                    data = b"".join([_encode(c) for c in body])
                await send({"type": "http.response.body", "body": data})
                return
            await self._send_stream(body, send, runner, watcher)
        finally:
            # PERF: stop() only when watching, or about to
            if watcher._task is not None or watcher._soon is not None:
                watcher.stop()
            try:
                body = response.response
                aclose = getattr(body, "aclose", None)
                if aclose is not None:
                    await aclose()
                # PERF: closing an in-memory body with no call_on_close
                # functions does nothing, so skip the thread hop it would
                # cost (~70-170 us per request, see bench/results).
                if response._on_close or hasattr(body, "close"):
                    await runner.in_thread(response.close)
            finally:
                if ctx._background:
                    app._start_background_tasks(ctx, runner)

    #: One HTTP request (``__call__`` with an ``http`` scope).
    http = __call__

    async def lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run ``before_serving`` functions at startup and ``after_serving``
        ones at shutdown (after waiting for background tasks).  A startup
        function that raises makes the server refuse to start, with the
        error in its message."""
        app = self.app
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await app._startup(run_async(app._get_executor()))
                except Exception as e:
                    import traceback

                    text = "".join(traceback.format_exception(e))
                    app.logger.error("Startup failed:\n%s", text)
                    await send({"type": "lifespan.startup.failed", "message": text})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await app._shutdown(run_async(app._get_executor()))
                except Exception as e:
                    import traceback

                    text = "".join(traceback.format_exception(e))
                    await send({"type": "lifespan.shutdown.failed", "message": text})
                    return
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _request(self, scope: Scope, method: str) -> Request:
        """Translate an ASGI scope into a :class:`Request` of the app's
        ``request_class``."""
        app = self.app
        path = scope["path"] or "/"
        root_path = scope.get("root_path")
        if root_path:
            # ASGI servers disagree on whether `path` includes `root_path`
            # (the spec now says it does); accept both.
            root_path = root_path.rstrip("/")
            if root_path and (path == root_path or path.startswith(root_path + "/")):
                path = path[len(root_path) :] or "/"
        headers = scope["headers"]
        # PERF: the header list indexed once: the host, the body headers
        # and any other header are each a dict lookup.
        index = _index_headers(headers)
        host = index.get(b"host")
        request = app.request_class._from_server(
            app,
            method,
            scope.get("scheme") or "http",
            path,
            headers,
            None if host is None else host.decode("latin-1"),
            None,
            scope,
        )
        request._header_index = index
        extensions = scope.get("extensions")
        if extensions and "erlen.preserve_context" in extensions:  # test client
            request._preserve_context = extensions["erlen.preserve_context"]
        proxy_fix = app.config["PROXY_FIX"]
        if proxy_fix is not None:
            apply_proxy_fix(request, proxy_fix)
        return request

    async def websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run one websocket connection through the websocket pipeline."""
        from .websockets import WebSocket

        app = self.app
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        if not scope.get("scheme"):
            scope = {**scope, "scheme": "ws"}
        request = self._request(scope, "GET")
        ctx = RequestContext(app, request)
        ctx.websocket = WebSocket(
            request,
            scope,
            receive,
            send,
            max_message_size=app.config["WEBSOCKET_MAX_MESSAGE_SIZE"],
        )
        await handle_websocket(app, ctx, app._async_runner())

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
                # Gone before the end of the body: what arrived is not the
                # body, and a view must not act on it as if it were.
                return t.cast(t.BinaryIO, _Disconnected()), True
            chunk = message.get("body", b"")
            if chunk:
                chunks.append(chunk)
                size += len(chunk)
                if request_limit is not None and size > request_limit:
                    # Enough to know it is too large; the stream raises 413.
                    break
            more = message.get("more_body", False)
        return io.BytesIO(b"".join(chunks)), True

    async def _send_stream(
        self,
        body: t.Any,
        send: Send,
        runner: AsyncRunner,
        watcher: _DisconnectWatcher,
    ) -> None:
        """Send a streamed body chunk by chunk; stop as soon as the client
        disconnects (the caller then closes the generator, so its
        ``finally`` runs)."""
        # PERF: the chunks are sent from this task, which the watcher
        # cancels if the client leaves; a task per stream and a wait on two
        # cost ~25 us of a 1 MiB stream (16 chunks).
        task = asyncio.current_task()
        assert task is not None  # an ASGI app runs in a task
        if watcher.cancel_on_disconnect(task):
            return
        try:
            await self._stream_chunks(body, send, runner)
        except asyncio.CancelledError:
            # Ours (the client left) unless someone else cancelled too.
            if not watcher.cancelled or task.uncancel() > 0:
                raise
        finally:
            watcher.cancel_on_disconnect(None)

    async def _stream_chunks(
        self, body: t.Any, send: Send, runner: AsyncRunner
    ) -> None:
        if hasattr(body, "__aiter__"):
            async for chunk in body:
                await send(
                    {
                        "type": "http.response.body",
                        # PERF: bytes as they are (bytes() of one: ~0.15 us)
                        "body": chunk if type(chunk) is bytes else _encode(chunk),
                        "more_body": True,
                    }
                )
        else:
            iterator = iter(body)
            while True:
                # A sync generator may block: produce each chunk in a thread.
                # That thread cannot be interrupted: when the client leaves
                # (this task is cancelled), wait for the chunk in progress,
                # so the generator is not running when the caller closes it.
                produce = asyncio.ensure_future(
                    runner.in_thread(next, iterator, _sentinel)
                )
                try:
                    chunk = await asyncio.shield(produce)
                except asyncio.CancelledError:
                    await asyncio.wait({produce})
                    raise
                if chunk is _sentinel:
                    break
                await send(
                    {
                        "type": "http.response.body",
                        # PERF: bytes as they are (bytes() of one: ~0.15 us)
                        "body": chunk if type(chunk) is bytes else _encode(chunk),
                        "more_body": True,
                    }
                )
        await send({"type": "http.response.body", "body": b""})
