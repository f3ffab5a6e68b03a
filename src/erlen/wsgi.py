"""The WSGI driver: environ in, one :class:`~erlen.Request`; one
:class:`~erlen.Response` out, to ``start_response``.

Everything else happens in :mod:`erlen.pipeline`.  The pipeline is driven
without an event loop (:func:`~erlen.concurrency.drive`): ``def`` views run
inline, and ``async def`` ones on an event loop owned by the worker thread.
"""

from __future__ import annotations

import typing as t

from .concurrency import run_inline, run_sync_awaitable, suspended
from .ctx import RequestContext
from .datastructures import ResponseHeaders
from .pipeline import handle_request
from .wrappers import Request, _encode

if t.TYPE_CHECKING:
    from .app import Erlen
    from .wrappers import Response

__all__ = ["request_from_environ", "wsgi_app"]


def _wsgi_str(value: str) -> str:
    # WSGI passes paths as latin-1 decoded bytes; browsers send UTF-8.
    return value.encode("latin-1").decode("utf-8", "replace")


def request_from_environ(app: Erlen, environ: dict[str, t.Any]) -> Request:
    """Translate a WSGI environ into a :class:`Request`."""
    path = environ.get("PATH_INFO") or "/"
    if not path.isascii():  # PERF: the usual path needs no round trip
        path = _wsgi_str(path)
    if path[:1] != "/":
        path = "/" + path
    # PEP 3333 says str; uvicorn's WSGI mode passes an int.
    port = str(environ.get("SERVER_PORT") or "")
    script_name = environ.get("SCRIPT_NAME")
    request = app._make_request(
        environ.get("REQUEST_METHOD", "GET").upper(),  # method
        environ.get("wsgi.url_scheme", "http"),  # scheme
        (  # server
            (environ["SERVER_NAME"], int(port) if port and port.isdigit() else None)
            if "SERVER_NAME" in environ
            else None
        ),
        (  # root_path
            (script_name if script_name.isascii() else _wsgi_str(script_name))
            if script_name
            else ""
        ).rstrip("/"),
        path,
        environ.get("QUERY_STRING", "").encode("latin-1"),  # query_string
        environ,  # headers
        environ.get("REMOTE_ADDR"),  # remote_addr
        environ.get("wsgi.input"),  # input_stream
        bool(environ.get("wsgi.input_terminated")),  # input_terminated
    )
    request.environ = environ
    request._preserve_context = environ.get("erlen.preserve_context")
    return request


def wsgi_app(
    app: Erlen, environ: dict[str, t.Any], start_response: t.Callable[..., t.Any]
) -> t.Iterable[bytes]:
    """The WSGI application, ``app.wsgi_app``: runs one request through the
    pipeline.  Wrap this, not the app, in WSGI middleware
    (``app.wsgi_app = Middleware(app.wsgi_app)``) to keep the app object."""
    if not app._serving and app.before_serving_funcs:
        app._ensure_started()
    request = request_from_environ(app, environ)
    ctx = RequestContext(app, request)
    pipeline = handle_request(app, ctx, run_inline)
    try:
        pipeline.send(None)  # PERF: drive(pipeline) inline, a call fewer
    except StopIteration as done:
        response: Response = done.value
    else:
        suspended(pipeline)
    send_body = response._prepare_for_send(request.method)
    headers = response.headers
    start_response(
        response.status,
        # PERF: the list itself (a copy), not Headers' own iteration.
        list(headers._list) if type(headers) is ResponseHeaders else list(headers),
    )
    if not send_body:
        response.close()
        if ctx._background:
            app._run_background_tasks(ctx)
        return []
    body = response.response
    if type(body) is list and (
        (len(body) == 1 and type(body[0]) is bytes)
        or all([type(chunk) is bytes for chunk in body])
    ):
        if response._on_close or ctx._background:
            return _ClosingIterator(iter(body), response, app, ctx)
        return body
    return _ClosingIterator(_iter_body(body), response, app, ctx)


def _iter_body(body: t.Any) -> t.Iterator[bytes]:
    if hasattr(body, "__aiter__"):
        iterator = body.__aiter__()
        while True:
            try:
                chunk = run_sync_awaitable(iterator.__anext__())
            except StopAsyncIteration:
                return
            yield _encode(chunk)
    for chunk in body:
        # PERF: no call for the usual bytes chunk (~0.2 us per chunk).
        yield chunk if type(chunk) is bytes else _encode(chunk)


class _ClosingIterator:
    """The WSGI body: iterates the response and closes it (its generator and
    ``call_on_close`` functions) when the server closes the iterable."""

    def __init__(
        self,
        iterator: t.Iterator[bytes],
        response: Response,
        app: Erlen,
        ctx: RequestContext,
    ) -> None:
        self._iterator = iterator
        self._response = response
        self._app = app
        self._ctx = ctx

    def __iter__(self) -> t.Iterator[bytes]:
        # PERF: the server iterates the body itself, not through a
        # __next__ of this class (~0.3 us per chunk); it calls close() on
        # this object, as PEP 3333 says.
        return self._iterator

    def close(self) -> None:
        try:
            body = self._response.response
            aclose = getattr(body, "aclose", None)
            if aclose is not None:
                run_sync_awaitable(aclose())
        finally:
            try:
                self._response.close()
            finally:
                if self._ctx._background:
                    # The body has been sent: now the background tasks.
                    self._app._run_background_tasks(self._ctx)
