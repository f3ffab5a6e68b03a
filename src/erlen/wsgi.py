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
from .proxy import apply_proxy_fix
from .wrappers import Request, _encode, _wsgi_str

if t.TYPE_CHECKING:
    from .app import Erlen
    from .wrappers import Response

__all__ = ["request_from_environ", "wsgi_app"]


def request_from_environ(app: Erlen, environ: dict[str, t.Any]) -> Request:
    """Translate a WSGI environ into a :class:`Request` of ``app``'s
    ``request_class``."""
    path = environ.get("PATH_INFO") or "/"
    if not path.isascii():  # PERF: the usual path needs no round trip
        path = _wsgi_str(path)
    if path[:1] != "/":
        path = "/" + path
    request = app.request_class._from_server(
        app,
        environ.get("REQUEST_METHOD", "GET").upper(),
        environ.get("wsgi.url_scheme", "http"),
        path,
        environ,  # headers
        environ.get("HTTP_HOST"),
        environ,
        None,
    )
    if "erlen.preserve_context" in environ:  # the test client's
        request._preserve_context = environ["erlen.preserve_context"]
    proxy_fix = app.config["PROXY_FIX"]
    if proxy_fix is not None:
        apply_proxy_fix(request, proxy_fix)
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
        response._status,  # PERF: not the property's call
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
