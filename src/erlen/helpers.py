"""Helpers for views: ``url_for``, ``redirect``, ``make_response``,
``flash`` and sending files."""

from __future__ import annotations

import mimetypes
import os
import re
import typing as t
from urllib.parse import quote, urlsplit, urlunsplit

from .exceptions import NotFound
from .globals import _cv_app, _cv_request, current_app
from .wrappers import Response

__all__ = [
    "flash",
    "get_debug_flag",
    "get_flashed_messages",
    "make_response",
    "redirect",
    "send_from_directory",
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
    stays relative).

    :param code: 301, 302 (default), 303, 307 or 308.
    """
    from html import escape

    if Response is None:
        ctx = _cv_app.get(None)
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
    """Store a message in the session to show on the next page
    (``get_flashed_messages()``)."""
    from .globals import session
    from .signals import message_flashed

    flashes = session.get("_flashes", [])
    flashes.append((category, message))
    session["_flashes"] = flashes
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if message_flashed.receivers:
        message_flashed.send(
            app, _async_wrapper=None, message=message, category=category
        )


def get_flashed_messages(
    with_categories: bool = False, category_filter: t.Iterable[str] = ()
) -> list[t.Any]:
    """The flashed messages, removed from the session on first call and kept
    for the rest of the request.

    :param with_categories: return ``(category, message)`` pairs.
    :param category_filter: only messages of these categories.
    """
    ctx = _cv_request.get(None)
    if ctx is None:
        return []
    flashes = ctx.flashes
    if flashes is None:
        flashes = ctx.session.pop("_flashes") if "_flashes" in ctx.session else []
        ctx.flashes = flashes
    if category_filter:
        wanted = set(category_filter)
        flashes = [f for f in flashes if f[0] in wanted]
    if not with_categories:
        return [message for _, message in flashes]
    return [tuple(f) for f in flashes]


def send_from_directory(
    directory: str | os.PathLike[str], path: str, **kwargs: t.Any
) -> Response:
    """Send a file from inside ``directory``.  A ``path`` that would leave the
    directory, or that is not a file, is a 404 (never a read)."""
    from .security import safe_join

    full = safe_join(os.fspath(directory), path)
    if full is None or not os.path.isfile(full):
        raise NotFound()
    return send_file(full, **kwargs)


def send_file(
    path_or_file: str | os.PathLike[str] | t.BinaryIO,
    mimetype: str | None = None,
    as_attachment: bool = False,
    download_name: str | None = None,
) -> Response:
    """Send a file's contents, streamed in blocks."""
    if isinstance(path_or_file, str | os.PathLike):
        path = os.fspath(path_or_file)
        file: t.BinaryIO = open(path, "rb")  # noqa: SIM115 - closed by the response
        name = download_name or os.path.basename(path)
        size: int | None = os.path.getsize(path)
    else:
        file = path_or_file
        name = download_name or os.path.basename(getattr(file, "name", "") or "")
        size = None
    if mimetype is None:
        mimetype = mimetypes.guess_type(name)[0] if name else None
        mimetype = mimetype or "application/octet-stream"
    response = current_app.response_class(
        _file_chunks(file), mimetype=mimetype, direct_passthrough=True
    )
    response.call_on_close(file.close)
    if size is not None:
        response.content_length = size
    if as_attachment:
        response.headers.set("Content-Disposition", "attachment", filename=name)
    return response


def _file_chunks(file: t.BinaryIO, size: int = 64 * 1024) -> t.Iterator[bytes]:
    while chunk := file.read(size):
        yield chunk
