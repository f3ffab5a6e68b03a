"""Helpers for views: ``url_for``, ``redirect``, ``make_response``,
``flash`` and sending files."""

from __future__ import annotations

import functools
import os
import re
import typing as t
from urllib.parse import quote, urlsplit, urlunsplit

from .files import send_file as send_file
from .files import send_from_directory as send_from_directory
from .globals import _cv_request, _find_app_ctx, current_app
from .wrappers import Response

if t.TYPE_CHECKING:
    from .ctx import RequestContext

__all__ = [
    "flash",
    "get_debug_flag",
    "get_flashed_messages",
    "make_response",
    "redirect",
    "send_from_directory",
    "stream_with_context",
    "url_for",
]


def get_debug_flag() -> bool:
    """Whether the ``ERLEN_DEBUG`` environment variable asks for debug mode:
    set and not ``0``, ``false`` or ``no``.  The app's ``DEBUG`` default."""
    value = os.environ.get("ERLEN_DEBUG", "")
    return bool(value) and value.lower() not in ("0", "false", "no")


def url_for(
    endpoint: str,
    *,
    _anchor: str | None = None,
    _method: str | None = None,
    _scheme: str | None = None,
    _external: bool | None = None,
    **values: t.Any,
) -> str:
    """The URL of an endpoint.

    ``url_for("user", id=3)`` → ``/user/3``.  Values the rule does not use
    go to the query string.  ``".view"`` is relative to the current
    blueprint.  Inside a request, URLs are relative unless ``_external=True``
    (or ``_scheme`` is given); in an app context without a request they are
    absolute and need ``SERVER_NAME``.

    :param _anchor: appended as ``#anchor``.
    :param _method: pick the rule that allows this method.
    :param _scheme: the scheme of an external URL.
    :param _external: an absolute URL with scheme and host.
    :raises erlen.routing.BuildError: no rule fits; the message names the
        closest endpoint.
    """
    return current_app.url_for(
        endpoint,
        _anchor=_anchor,
        _method=_method,
        _scheme=_scheme,
        _external=_external,
        **values,
    )


def redirect(
    location: str, code: int = 302, Response: type[Response] | None = None
) -> Response:  # noqa: N803
    """A redirect response to ``location`` (sent as given: a relative URL
    stays relative).  Check a target that comes from the request (a
    ``?next=`` parameter) with :func:`erlen.security.url_is_safe` first.

    :param code: 301, 302 (default), 303, 307 or 308.
    :raises ValueError: ``location`` contains CR, LF or NUL (header
        injection), as Flask's does for CR and LF.
    """
    from html import escape

    from .datastructures import check_header_value

    check_header_value("Location", location)

    if Response is None:
        ctx = _find_app_ctx()
        Response = ctx.app.response_class if ctx is not None else globals()["_Response"]  # noqa: N806
    display = escape(location)
    body = (
        "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n"
        "<h1>Redirecting...</h1>\n<p>You should be redirected automatically to"
        f' the target URL: <a href="{escape(location)}">{display}</a>. If not,'
        " click the link.\n"
    )
    response = Response(body, code, mimetype="text/html")
    response.headers["Location"] = _iri_to_uri(location)
    return response


_Response = Response


_URI_CHARS = re.compile(r"[A-Za-z0-9\-._~%!$&'()*+,/:;=?@#]*")


def _iri_to_uri(location: str) -> str:
    """Percent-encode what may not appear in a ``Location`` header (spaces,
    ``<``, ``"``, non-ASCII...) per URL part, as Werkzeug does; a non-ASCII
    host is IDNA-encoded."""
    # PERF: most locations are plain URIs already.
    if _URI_CHARS.fullmatch(location):
        return location
    parts = urlsplit(location)
    netloc = parts.netloc
    if not netloc.isascii():
        userinfo, at, hostport = netloc.rpartition("@")
        host, colon, port = hostport.partition(":")
        host = host.encode("idna").decode("ascii")
        userinfo = quote(userinfo, safe="%!$&'()*+,:;=")
        netloc = f"{userinfo}{at}{host}{colon}{port}"
    return urlunsplit(
        (
            parts.scheme,
            netloc,
            quote(parts.path, safe="%!$&'()*+,/:;=@"),
            quote(parts.query, safe="%!$&'()*+,/:;=?@"),
            quote(parts.fragment, safe="%!#$&'()*+,/:;=?@"),
        )
    )


def make_response(*args: t.Any) -> Response:
    """Turn view-style return values into a response to modify before
    returning it::

        response = make_response(render_template("index.html"), 200)
        response.headers["X-Parachutes"] = "parachutes are cool"

    No arguments gives an empty response; one argument is converted like a
    view's return value; several are treated as a tuple.
    """
    if not args:
        return current_app.response_class()
    if len(args) == 1:
        args = args[0]
    return current_app.make_response(args)


def flash(message: str, category: str = "message") -> None:
    """Store a message in the session to show on the next page that calls
    :func:`get_flashed_messages` (usually the one a redirect leads to).

    Sends :data:`~erlen.signals.message_flashed`.  Needs a request and a
    working session (a secret key): without one this raises an error rather
    than losing the message.

    :param message: the message, usually text (it must survive the session's
        JSON serialization).
    :param category: any label, such as ``"error"``, ``"info"`` or
        ``"warning"``; ``"message"`` by default.
    """
    from .globals import session
    from .signals import message_flashed, send

    flashes = session.get("_flashes", [])
    flashes.append((category, message))
    session["_flashes"] = flashes
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    send(message_flashed, app, message=message, category=category)


def get_flashed_messages(
    with_categories: bool = False, category_filter: t.Iterable[str] = ()
) -> list[t.Any]:
    """The messages flashed so far, in order.  The first call in a request
    removes them from the session; later calls in the same request return the
    same messages.  Outside a request there are none.

    :param with_categories: return ``(category, message)`` tuples instead of
        the messages alone.
    :param category_filter: keep only messages of these categories (a
        single string is one category).
    """
    ctx = _cv_request.get(None)
    if ctx is None:
        return []
    flashes = ctx.flashes
    if flashes is None:
        session = ctx.session
        flashes = session.pop("_flashes") if "_flashes" in session else []
        ctx.flashes = flashes
    if category_filter:
        wanted = (
            {category_filter}
            if isinstance(category_filter, str)
            else set(category_filter)
        )
        flashes = [f for f in flashes if f[0] in wanted]
    if with_categories:
        return [tuple(f) for f in flashes]
    return [f[1] for f in flashes]


def stream_with_context(
    generator_or_function: t.Any,
) -> t.Any:
    """Keep the request context available while a streamed response is
    produced, so the generator can use ``request``, ``session`` and ``g``::

        @app.get("/stream")
        def streamed():
            def generate():
                yield "Hello "
                yield request.args["name"]
            return stream_with_context(generate())

    Also usable as a decorator on a generator function.  Works for sync and
    async generators, under both drivers; the request's teardown functions
    run when the stream ends (or is closed) instead of when the view returns.
    """
    if not hasattr(generator_or_function, "__next__") and not hasattr(
        generator_or_function, "__anext__"
    ):
        if callable(generator_or_function) and not hasattr(
            generator_or_function, "__iter__"
        ):
            func = generator_or_function

            @functools.wraps(func)
            def decorator(*args: t.Any, **kwargs: t.Any) -> t.Any:
                return stream_with_context(func(*args, **kwargs))

            return decorator
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "'stream_with_context' can only be used when a request context is"
            " active, such as in a view function."
        )
    ctx._streams += 1
    if hasattr(generator_or_function, "__aiter__"):
        return _AsyncContextStream(ctx, generator_or_function)
    return _ContextStream(ctx, iter(generator_or_function))


class _ContextStream:
    """A sync body that makes its request context current while producing
    each chunk, and ends the request when it is exhausted or closed."""

    def __init__(self, ctx: RequestContext, iterator: t.Iterator[t.Any]) -> None:
        self._ctx = ctx
        self._iterator = iterator
        self._done = False

    def __iter__(self) -> _ContextStream:
        return self

    def __next__(self) -> t.Any:
        if self._done:
            raise StopIteration
        with self._ctx._activated():
            try:
                return next(self._iterator)
            except BaseException:
                self.close()
                raise

    def close(self) -> None:
        if self._done:
            return
        self._done = True
        from .concurrency import drive, run_inline
        from .pipeline import finish_stream

        try:
            close = getattr(self._iterator, "close", None)
            if close is not None:
                with self._ctx._activated():
                    close()
        finally:
            drive(finish_stream(self._ctx, run_inline))


class _AsyncContextStream:
    """The async-iterable twin of :class:`_ContextStream`."""

    def __init__(self, ctx: RequestContext, iterable: t.Any) -> None:
        self._ctx = ctx
        self._iterator = iterable.__aiter__()
        self._done = False

    def __aiter__(self) -> _AsyncContextStream:
        return self

    async def __anext__(self) -> t.Any:
        if self._done:
            raise StopAsyncIteration
        with self._ctx._activated():
            try:
                return await self._iterator.__anext__()
            except BaseException:
                await self.aclose()
                raise

    async def aclose(self) -> None:
        if self._done:
            return
        self._done = True
        from .concurrency import run_async
        from .pipeline import finish_stream

        try:
            aclose = getattr(self._iterator, "aclose", None)
            if aclose is not None:
                with self._ctx._activated():
                    await aclose()
        finally:
            app = self._ctx.app
            await finish_stream(self._ctx, run_async(app._get_executor()))
