"""The request and response objects, one of each for both server interfaces.

The drivers (:mod:`erlen.wsgi`, :mod:`erlen.asgi`) build a :class:`Request`
from what the server gives them and send the :class:`Response` the pipeline
returns.  Everything a request offers is computed on first use and cached:
a view that never touches ``request.args`` never parses the query string.
"""

from __future__ import annotations

import codecs
import io
import re
import typing as t
from http import HTTPStatus
from itertools import chain
from urllib.parse import quote, unquote

from werkzeug.http import (
    dump_cookie,
    parse_accept_header,
    parse_cookie,
    parse_options_header,
)
from werkzeug.urls import uri_to_iri
from werkzeug.user_agent import UserAgent

from . import exceptions as exc
from .datastructures import (
    Authorization,
    CombinedMultiDict,
    FileStorage,
    Headers,
    ImmutableMultiDict,
    LanguageAccept,
    MIMEAccept,
    ResponseHeaders,
    _headers_from,
    check_header_value,
)
from .multipart import CHUNK_SIZE as MULTIPART_CHUNK
from .multipart import parse_multipart

if t.TYPE_CHECKING:
    from datetime import datetime, timedelta

    # Typed as the stdlib's; at run time, the lock-free one (see its doc).
    from functools import cached_property

    from .app import Erlen
    from .routing import Rule
else:
    from .utils import cached_property

__all__ = ["Request", "Response"]

_EMPTY: ImmutableMultiDict[str, t.Any] = ImmutableMultiDict()

# PERF: the environ keys of the headers Erlen itself reads, instead of
# building each name on every lookup.
_ENVIRON_KEYS = {
    "content-type": "CONTENT_TYPE",
    "content-length": "CONTENT_LENGTH",
    **{
        name: "HTTP_" + name.upper().replace("-", "_")
        for name in (
            "host",
            "cookie",
            "origin",
            "sec-fetch-site",
            "accept",
            "authorization",
            "x-forwarded-for",
            "x-forwarded-proto",
            "x-forwarded-host",
            "x-forwarded-port",
            "x-forwarded-prefix",
        )
    },
}

#: Statuses that carry no body.
_NO_BODY_STATUSES = frozenset({204, 304})
_escape_decode = codecs.escape_decode
#: ``isinstance(value, str)`` as a C callable, for ``filter``.
_is_str = str.__instancecheck__


class _BodyStream(io.RawIOBase):
    """Reads at most ``length`` bytes (all, when ``None``) from ``raw``.

    Reading past ``max_length`` raises a 413, and a client that stops before
    the declared length gets a 400; so neither can make a view hang or read
    another request's bytes.
    """

    def __init__(
        self, raw: t.BinaryIO, length: int | None, max_length: int | None
    ) -> None:
        self._raw = raw
        self._length = length
        self._max = max_length
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: t.Any) -> int:
        size = len(buffer)
        if self._length is not None:
            size = min(size, self._length - self._pos)
            if size <= 0:
                return 0
        elif self._max is not None:
            # Read one byte past the limit so "too large" can be detected.
            size = min(size, self._max + 1 - self._pos)
            if size <= 0:
                raise exc.RequestEntityTooLarge()
        data = self._raw.read(size)
        if not data:
            if self._length is not None:
                raise exc.BadRequest(
                    "The client disconnected before sending the whole body."
                )
            return 0
        n = len(data)
        self._pos += n
        if self._max is not None and self._pos > self._max:
            raise exc.RequestEntityTooLarge()
        buffer[:n] = data
        return n


class Request:
    """The incoming request, as ``request`` in views.

    Drivers build it; apps and tests normally never construct one.  Values
    that need parsing (``args``, ``form``, ``files``, ``cookies``, ``json``,
    ``headers``, ``accept_*``) are parsed on first access and cached.

    :param method: the HTTP method, uppercase.
    :param scheme: ``"http"`` or ``"https"`` (``"ws"``/``"wss"`` for websockets).
    :param server: the server's ``(host, port)`` when known.
    :param root_path: the prefix the app is mounted under (WSGI's
        ``SCRIPT_NAME``), without a trailing slash.
    :param path: the decoded path below ``root_path``, starting with ``/``.
    :param query_string: the raw query string, without ``?``.
    :param headers: the raw headers: the WSGI environ or the ASGI header list.
    :param remote_addr: the client's address.
    :param input_stream: the raw body stream.
    :param input_terminated: the body ends at EOF even without a
        ``Content-Length`` (chunked requests, or an ASGI body already received).
    :param max_content_length: see :attr:`max_content_length`.
    :param max_form_memory_size: see :attr:`max_form_memory_size`.
    :param max_form_parts: see :attr:`max_form_parts`.
    :param max_form_fields: see :attr:`max_form_fields`.
    """

    #: The class of :attr:`args`, :attr:`form` and :attr:`files`.
    parameter_storage_class = ImmutableMultiDict
    #: Set by the app while matching: the rule, its converted values, or the
    #: routing error to raise when the view would be called.
    url_rule: Rule | None = None
    view_args: dict[str, t.Any] | None = None
    routing_exception: exc.HTTPException | None = None
    #: The WSGI environ, when the request came through the WSGI driver.
    environ: dict[str, t.Any] | None = None
    #: The ASGI scope, when the request came through the ASGI driver.
    scope: dict[str, t.Any] | None = None
    #: Set by the test client to keep the context after the request.
    _preserve_context: t.Callable[[t.Any], None] | None = None
    #: Set by the ASGI driver: tells whether the client went away.
    _disconnect_probe: t.Callable[[], t.Awaitable[bool]] | None = None
    #: Set while matching when the request must be refused before any hook
    #: or view runs (header limits, untrusted host, cross-origin).
    _rejected: exc.HTTPException | None = None
    #: The form token of this request, once :func:`erlen.security.csrf_token`
    #: made one.
    _csrf_token: str | None = None

    async def is_disconnected(self) -> bool:
        """Whether the client has gone away, for a long poll or stream to stop
        early.  Only the ASGI driver can tell; under WSGI it is always
        ``False``."""
        probe = self._disconnect_probe
        if probe is None:
            return False
        return await probe()

    def __init__(
        self,
        method: str,
        scheme: str,
        server: tuple[str, int | None] | None,
        root_path: str,
        path: str,
        query_string: bytes,
        headers: t.Any,
        remote_addr: str | None = None,
        input_stream: t.BinaryIO | None = None,
        input_terminated: bool = False,
        max_content_length: int | None = None,
        max_form_memory_size: int | None = None,
        max_form_parts: int | None = None,
        max_form_fields: int | None = None,
    ) -> None:
        self.method = method
        self.scheme = scheme
        self.server = server
        self.root_path = root_path
        self.path = path
        self.query_string = query_string
        self._raw_headers = headers
        self.remote_addr = remote_addr
        self._input = input_stream
        self._input_terminated = input_terminated
        self.max_content_length = max_content_length
        self.max_form_memory_size = max_form_memory_size
        self.max_form_parts = max_form_parts
        self.max_form_fields = max_form_fields

    @classmethod
    def _from_server(
        cls,
        app: Erlen,
        method: str,
        scheme: str,
        path: str,
        headers: t.Any,
        host: str | None,
        environ: dict[str, t.Any] | None,
        scope: dict[str, t.Any] | None,
    ) -> Request:
        """The request a driver builds from a WSGI ``environ`` or an ASGI
        ``scope``: the values every request needs now; the others are read
        from the environ or the scope, and the limits from the app's config,
        on first use.  ``host`` is the ``Host`` header, if any.  A
        subclass's own ``__init__`` still runs, with every value."""
        # PERF: no __init__ call and no argument list; what most requests
        # never read is not computed at all (~0.7 us of ~11 for GET /).
        request = _new(cls)
        request.method = method
        request.scheme = scheme
        request.path = path
        request._raw_headers = headers
        request._app = app
        if environ is not None:
            request.environ = environ
        else:
            request.scope = scope
        if host and not host.endswith((":80", ":443")):
            # PERF: the usual Host is the host, without the property's three
            # calls (the matcher reads it for every request; with the
            # matcher's set of checked hosts, ~1 us of GET /).
            request.host = host
        if cls.__init__ is not _request_init:
            cls.__init__(
                request,
                method,
                scheme,
                request.server,
                request.root_path,
                path,
                request.query_string,
                headers,
                request.remote_addr,
                request._input,
                request._input_terminated,
                request.max_content_length,
                request.max_form_memory_size,
                request.max_form_parts,
                request.max_form_fields,
            )
        return request

    #: The app whose driver built this request: the limits and the JSON
    #: decoder come from it unless set on the request.
    _app: Erlen | None = None

    # -- what a driver leaves to first use ----------------------------------
    #
    # The constructor sets each of these; a request built by a driver
    # computes each when it is first read, from the WSGI environ or the ASGI
    # scope.  Setting one (as a view may set a limit) replaces it.

    @cached_property
    def server(self) -> tuple[str, int | None] | None:
        """The server's ``(host, port)``, when known."""
        environ = self.environ
        if environ is None:
            server = self.scope.get("server") if self.scope is not None else None
            return (server[0], server[1]) if server else None
        if "SERVER_NAME" not in environ:
            return None
        # PEP 3333 says str; uvicorn's WSGI mode passes an int.
        port = str(environ.get("SERVER_PORT") or "")
        return environ["SERVER_NAME"], int(port) if port.isdigit() else None

    @cached_property
    def root_path(self) -> str:
        """The prefix the app is mounted under (WSGI's ``SCRIPT_NAME``),
        without a trailing slash."""
        environ = self.environ
        if environ is None:
            scope = self.scope
            return scope.get("root_path", "").rstrip("/") if scope is not None else ""
        script_name = environ.get("SCRIPT_NAME")
        if not script_name:
            return ""
        if not script_name.isascii():
            script_name = _wsgi_str(script_name)
        return t.cast(str, script_name).rstrip("/")

    @cached_property
    def query_string(self) -> bytes:
        """The raw query string, without ``?``."""
        environ = self.environ
        if environ is None:
            scope = self.scope
            return scope.get("query_string", b"") if scope is not None else b""
        return t.cast(str, environ.get("QUERY_STRING", "")).encode("latin-1")

    @cached_property
    def remote_addr(self) -> str | None:
        """The client's address."""
        environ = self.environ
        if environ is None:
            client = self.scope.get("client") if self.scope is not None else None
            return client[0] if client else None
        return environ.get("REMOTE_ADDR")

    @cached_property
    def _input(self) -> t.BinaryIO | None:
        # The ASGI driver sets it (and _input_terminated) for every request.
        environ = self.environ
        return environ.get("wsgi.input") if environ is not None else None

    @cached_property
    def _input_terminated(self) -> bool:
        environ = self.environ
        return environ is not None and bool(environ.get("wsgi.input_terminated"))

    # (Each reads the app's config itself: a helper would be a call more
    # for every limit a request reads.)

    @cached_property
    def max_content_length(self) -> int | None:
        """The largest body accepted, in bytes (``MAX_CONTENT_LENGTH``).  Set
        it in a view or ``before_request`` hook to change it for this
        request only."""
        app = self._app
        return None if app is None else app.config["MAX_CONTENT_LENGTH"]

    @cached_property
    def max_form_memory_size(self) -> int | None:
        """The largest non-file form field, in bytes (``MAX_FORM_MEMORY_SIZE``)."""
        app = self._app
        return None if app is None else app.config["MAX_FORM_MEMORY_SIZE"]

    @cached_property
    def max_form_parts(self) -> int | None:
        """The most multipart parts accepted (``MAX_FORM_PARTS``)."""
        app = self._app
        return None if app is None else app.config["MAX_FORM_PARTS"]

    @cached_property
    def max_form_fields(self) -> int | None:
        """The most fields accepted in the query string and in a urlencoded
        body (``MAX_FORM_FIELDS``); more is a 413 when :attr:`args` or
        :attr:`form` is read.  ``None`` for no limit."""
        app = self._app
        return None if app is None else app.config["MAX_FORM_FIELDS"]

    @cached_property
    def _json_loads(self) -> t.Callable[[str | bytes], t.Any] | None:
        # The app's JSON provider (the stdlib's without an app).
        app = self._app
        return None if app is None else app.json.loads

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url!r} [{self.method}]>"

    # -- headers ------------------------------------------------------------

    def _header(self, name: str) -> str | None:
        """One header's raw value without building :attr:`headers`.

        ``name`` is lowercase.
        """
        raw = self._raw_headers
        if isinstance(raw, dict):  # WSGI environ
            environ_key = _ENVIRON_KEYS.get(name)
            if environ_key is None:
                environ_key = "HTTP_" + name.upper().replace("-", "_")
            if environ_key[0] == "C":  # CONTENT_TYPE, CONTENT_LENGTH
                return raw.get(environ_key) or None
            value = raw.get(environ_key)
            return None if value is None else str(value)
        index = self._header_index
        if index is None:  # the ASGI driver sets it; a Request(...) does not
            index = self._header_index = _index_headers(raw)
        value = index.get(name.encode("latin-1"))
        return None if value is None else value.decode("latin-1")

    _header_index: dict[bytes, bytes] | None = None

    @cached_property
    def headers(self) -> Headers:
        """The request headers: case-insensitive, multi-valued
        (``headers.getlist("X-Forwarded-For")``)."""
        raw = self._raw_headers
        if isinstance(raw, dict):
            items: list[tuple[str, str]] = []
            for key, value in raw.items():
                if key.startswith("HTTP_") and key not in (
                    "HTTP_CONTENT_TYPE",
                    "HTTP_CONTENT_LENGTH",
                ):
                    items.append((key[5:].replace("_", "-").title(), value))
                elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
                    items.append((key.replace("_", "-").title(), value))
            return _headers_from(items)
        # Join repeated lines as WSGI servers do, so `headers.get` is the same
        # under both drivers (cookies with "; ", as RFC 6265 says).
        joined: dict[str, tuple[str, str]] = {}
        for k, v in raw:
            name = k.decode("latin-1")
            key = name.lower()
            value = v.decode("latin-1")
            if key in joined:
                sep = "; " if key == "cookie" else ", "
                value = f"{joined[key][1]}{sep}{value}"
            joined[key] = (name.title(), value)
        return _headers_from(list(joined.values()))

    def _header_limits_exceeded(
        self, max_count: int | None, max_size: int | None
    ) -> tuple[int, int] | None:
        """``None`` when the header fields the server passed are within
        ``max_count`` fields and ``max_size`` bytes (names and values; ``None``
        for no limit), else their count and size, for the 431's message."""
        raw = self._raw_headers
        if isinstance(raw, dict):
            # PERF: a bound first, in C: every key of the environ and every
            # str value (the CGI and wsgi.* ones too) is at least what a
            # header field adds, so a request within it is within the limits
            # (~0.9 us in a tight loop against ~1.4 for the count below,
            # which a request near a limit still gets).  It is still ~1.8 us
            # of GET / (bench.ab, pinned: 8.3 us with the limits, 6.5
            # without): every entry must be measured, and nothing cheaper
            # gives a true bound.
            if (max_count is None or len(raw) <= max_count) and (
                max_size is None
                or len("".join(raw)) + len("".join(filter(_is_str, raw.values())))
                <= max_size
            ):
                return None
            count = size = 0
            for key, value in raw.items():
                if key[:1] == "H" and key[:5] == "HTTP_":
                    count += 1
                    size += len(key) - 5 + len(value)
            for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                value = raw.get(key)
                if value:
                    count += 1
                    size += len(key) + len(value)
        else:
            # PERF: the names and values flattened and measured in C.
            count, size = len(raw), sum(map(len, chain.from_iterable(raw)))
        if (max_count is not None and count > max_count) or (
            max_size is not None and size > max_size
        ):
            return count, size
        return None

    # -- URL parts ----------------------------------------------------------

    @cached_property
    def host(self) -> str:
        """The host the client asked for, with the port when it is not the
        scheme's default (``Host: example.com:443`` over HTTPS is
        ``example.com``)."""
        host = self._header("host")
        if not host:
            if self.server is None:
                return ""
            name, port = self.server
            host = name if port is None else f"{name}:{port}"
        if host.endswith((":80", ":443")):  # PERF: the call only if needed
            return _strip_default_port(host, self.scheme)
        return host

    @property
    def is_websocket(self) -> bool:
        """Whether this is a websocket handshake served through ASGI."""
        return self.scheme in ("ws", "wss")

    @property
    def is_secure(self) -> bool:
        """Whether the request came over HTTPS (or WSS)."""
        return self.scheme in ("https", "wss")

    @property
    def script_root(self) -> str:
        """Alias for :attr:`root_path`."""
        return self.root_path

    @property
    def full_path(self) -> str:
        """The path and the query string: ``/page?x=1`` (``?`` always there).
        Invalid UTF-8 in the query string becomes U+FFFD."""
        return f"{self.path}?{self.query_string.decode('utf-8', 'replace')}"

    # Like Flask, the URLs below are IRIs: percent-encoded UTF-8 is shown
    # decoded (``/café``), reserved and invalid bytes stay quoted.

    @property
    def host_url(self) -> str:
        """``scheme://host/``."""
        return uri_to_iri(f"{self.scheme}://{self.host}/")

    @property
    def root_url(self) -> str:
        """``scheme://host/root_path/``; also :attr:`url_root`."""
        return uri_to_iri(f"{self.scheme}://{self.host}{quote(self.root_path, _SAFE)}/")

    url_root = root_url

    @property
    def base_url(self) -> str:
        """The URL without the query string."""
        return _to_iri(self._base_uri())

    @property
    def url(self) -> str:
        """The full URL the client asked for."""
        uri = self._base_uri()
        if self.query_string:
            qs = quote(self.query_string, _SAFE_QUERY)
            uri = f"{uri}?{qs}"
        return _to_iri(uri)

    def _base_uri(self) -> str:
        return (
            f"{self.scheme}://{self.host}"
            f"{quote(self.root_path, _SAFE)}{quote(self.path, _SAFE)}"
        )

    # -- routing results ----------------------------------------------------

    @property
    def endpoint(self) -> str | None:
        """The endpoint of the matched rule."""
        return self.url_rule.endpoint if self.url_rule is not None else None

    @property
    def blueprint(self) -> str | None:
        """The (dotted) name of the matched endpoint's blueprint."""
        endpoint = self.endpoint
        if endpoint is not None and "." in endpoint:
            return endpoint.rpartition(".")[0]
        return None

    @property
    def blueprints(self) -> list[str]:
        """The matched blueprint and its parents, innermost first."""
        rule = self.url_rule
        cached = self._blueprints
        # PERF: the pipeline asks three times per request (hooks, after
        # request, teardown); computed once per matched rule.
        if cached is not None and cached[0] is rule:
            return cached[1]
        name = self.blueprint
        if name is None:
            names: list[str] = []
        else:
            parts = name.split(".")
            names = [".".join(parts[: i + 1]) for i in range(len(parts) - 1, -1, -1)]
        self._blueprints = (rule, names)
        return names

    _blueprints: tuple[Rule | None, list[str]] | None = None

    # -- query string, cookies ---------------------------------------------

    @cached_property
    def args(self) -> ImmutableMultiDict[str, str]:
        """The query string's fields.  ``;`` is not a separator (``a=1;b=2``
        is one field).  Invalid UTF-8 becomes U+FFFD."""
        if not self.query_string:
            return _EMPTY
        _check_field_count(self.query_string, self.max_form_fields)
        return self.parameter_storage_class(_parse_qs(self.query_string))

    @cached_property
    def cookies(self) -> ImmutableMultiDict[str, str]:
        """The cookies the client sent."""
        header = self._header("cookie")
        if not header:
            return _EMPTY
        if header.isascii() and header.isprintable() and '"' not in header:
            # PERF: no quoted value, tab or other whitespace than spaces:
            # the pairs Werkzeug's parse_cookie finds in a loop, found by
            # one findall (~2.0 us against ~2.5, the dict made; a test
            # holds the two to the same result).
            return self.parameter_storage_class(
                [pair for pair in _PLAIN_COOKIE_PAIR.findall(header) if pair[0]]
            )
        # Headers arrive as latin-1 text of the raw bytes, and Werkzeug's
        # parser decodes those bytes as strict UTF-8: replace what is not
        # UTF-8 first (as U+FFFD), so a stray byte is never a 500.
        raw = header.encode("latin-1", "replace")
        try:
            raw.decode()
        except UnicodeDecodeError:
            header = raw.decode("utf-8", "replace").encode().decode("latin-1")
        return parse_cookie(header, cls=self.parameter_storage_class)  # type: ignore[arg-type,return-value]

    # -- content metadata ---------------------------------------------------

    @property
    def content_type(self) -> str | None:
        """The ``Content-Type`` header."""
        return self._header("content-type")

    @cached_property
    def _parsed_content_type(self) -> tuple[str, dict[str, str]]:
        value = self._header("content-type")
        if value is not None and ";" not in value:
            # PERF: what parse_options_header gives a value without
            # parameters (most forms, JSON), without its call.
            return value.strip(" \t"), {}
        return parse_options_header(value)

    @property
    def mimetype(self) -> str:
        """The content type without parameters, lowercase."""
        return self._parsed_content_type[0].lower()

    @property
    def mimetype_params(self) -> dict[str, str]:
        """The content type's parameters, e.g. ``{"charset": "utf-8"}``."""
        return self._parsed_content_type[1]

    @cached_property
    def content_length(self) -> int | None:
        """The declared body length, or ``None`` (also for a malformed value)."""
        value = self._header("content-length")
        if value is None:
            return None
        value = value.strip()
        if not value.isdigit() or not value.isascii():
            return None
        return int(value)

    @property
    def is_json(self) -> bool:
        """Whether the content type is JSON (``application/json`` or
        ``application/*+json``)."""
        mt = self.mimetype
        return mt == "application/json" or (
            mt.startswith("application/") and mt.endswith("+json")
        )

    @cached_property
    def accept_mimetypes(self) -> MIMEAccept:
        """The ``Accept`` header; ``best_match(["text/html", ...])`` picks."""
        return parse_accept_header(self._header("accept"), MIMEAccept)

    @cached_property
    def accept_languages(self) -> LanguageAccept:
        """The ``Accept-Language`` header."""
        return parse_accept_header(self._header("accept-language"), LanguageAccept)

    @cached_property
    def accept_charsets(self) -> t.Any:
        """The ``Accept-Charset`` header."""
        from werkzeug.datastructures import CharsetAccept

        return parse_accept_header(self._header("accept-charset"), CharsetAccept)

    @cached_property
    def accept_encodings(self) -> t.Any:
        """The ``Accept-Encoding`` header."""
        from werkzeug.datastructures import Accept

        return parse_accept_header(self._header("accept-encoding"), Accept)

    @cached_property
    def authorization(self) -> Authorization | None:
        """The parsed ``Authorization`` header (``.type``, ``.username``,
        ``.password``, ``.token``), or ``None``."""
        return Authorization.from_header(self._header("authorization"))

    @cached_property
    def user_agent(self) -> UserAgent:
        """The ``User-Agent``; ``str(request.user_agent)`` or ``.string``."""
        return UserAgent(self._header("user-agent") or "")

    @property
    def referrer(self) -> str | None:
        """The ``Referer`` header."""
        return self._header("referer")

    @property
    def origin(self) -> str | None:
        """The ``Origin`` header."""
        return self._header("origin")

    # -- the body -----------------------------------------------------------

    def _check_length(self) -> None:
        length = self.content_length
        limit = self.max_content_length
        if length is not None and limit is not None and length > limit:
            raise exc.RequestEntityTooLarge()

    @cached_property
    def stream(self) -> t.BinaryIO:
        """The body as a binary file, limited to ``Content-Length`` and
        :attr:`max_content_length`.  Reading it directly means :attr:`form`
        and :meth:`get_data` see what is left."""
        self._check_length()
        length = self.content_length
        raw = self._input
        if raw is None or (length is None and not self._input_terminated):
            return io.BytesIO()
        return t.cast(
            t.BinaryIO,
            io.BufferedReader(_BodyStream(raw, length, self.max_content_length)),
        )

    def _read_body(self) -> bytes:
        """All of the body, as reading :attr:`stream` to the end gives it."""
        length = self.content_length
        raw = self._input
        limit = self.max_content_length
        if (
            "stream" not in self.__dict__
            and raw is not None
            and length is not None
            and (limit is None or length <= limit)
        ):
            # PERF: a declared length is read in one call, without the
            # stream's two wrappers (~2 us of a small form); a short read is
            # completed, and a client that stops early is a 400 as through
            # the stream.
            data = raw.read(length)
            while len(data) < length:
                more = raw.read(length - len(data))
                if not more:
                    raise exc.BadRequest(
                        "The client disconnected before sending the whole body."
                    )
                data += more
            self.__dict__["stream"] = io.BytesIO()  # read to the end
            return data
        return self.stream.read()

    _cached_data: bytes | None = None

    def get_data(
        self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False
    ) -> t.Any:
        """The body as bytes (or text with ``as_text=True``, invalid UTF-8 as
        U+FFFD).  With ``parse_form_data=True``, form data is parsed into
        :attr:`form` first, and the body read here is what is left."""
        if parse_form_data:
            self._load_form()
        data = self._cached_data
        if data is None:
            data = self._read_body()
            if cache:
                self._cached_data = data
        if as_text:
            return data.decode("utf-8", "replace")
        return data

    @property
    def data(self) -> bytes:
        """The raw body; empty for form content types (use :attr:`form`)."""
        return t.cast(bytes, self.get_data(parse_form_data=True))

    _form: ImmutableMultiDict[str, str] | None = None
    _files: ImmutableMultiDict[str, FileStorage] | None = None

    def _load_form(self) -> None:
        if self._form is not None:
            return
        mimetype = self.mimetype
        if mimetype == "application/x-www-form-urlencoded":
            # Parsed here rather than by Werkzeug's parser, which drops the
            # whole form when the body is not valid UTF-8: like the query
            # string, invalid bytes become U+FFFD.
            # MAX_FORM_MEMORY_SIZE is for multipart fields only, as in
            # Werkzeug 3.1.9: this body is bounded by MAX_CONTENT_LENGTH and
            # its field count by MAX_FORM_FIELDS.
            data = self._cached_data
            if data is None:
                data = self._read_body()
            _check_field_count(data, self.max_form_fields)
            self._form = self.parameter_storage_class(_parse_qs(data))
            self._files = _EMPTY
            return
        if mimetype != "multipart/form-data":
            self._form, self._files = _EMPTY, _EMPTY
            return
        boundary = self.mimetype_params.get("boundary", "")
        if not boundary or len(boundary) > 70:
            raise exc.BadRequest(
                "The multipart body has no boundary, or one longer than the 70"
                " characters RFC 2046 allows."
            )
        data = self._cached_data
        length = self.content_length
        if data is None and length is not None and length <= MULTIPART_CHUNK:
            # PERF: a body that fits one read is read in one call, without
            # the stream's wrappers (upload bench: -3 us).
            data = self._read_body()
        if data is not None:
            read: t.Callable[[int], bytes] = io.BytesIO(data).read
        else:
            read = self.stream.read
        try:
            raw = boundary.encode("latin-1")
        except UnicodeEncodeError:  # an RFC 2231 `boundary*=UTF-8''...`
            raise exc.BadRequest(
                "The multipart boundary has characters no body can carry."
            ) from None
        fields, uploads = parse_multipart(
            read,
            raw,
            max_form_memory_size=self.max_form_memory_size,
            max_form_parts=self.max_form_parts,
        )
        self._form = self.parameter_storage_class(fields)
        self._files = self.parameter_storage_class(uploads)

    @property
    def form(self) -> ImmutableMultiDict[str, str]:
        """Fields of a urlencoded or multipart body.  ``form["x"]`` for a
        missing field is a 400 for the client; use ``form.get("x")``."""
        self._load_form()
        assert self._form is not None  # set by _load_form; not user input
        return self._form

    @property
    def files(self) -> ImmutableMultiDict[str, FileStorage]:
        """Uploaded files of a multipart body: ``filename``, ``mimetype``,
        ``stream``, ``read()``, ``save(path)``."""
        self._load_form()
        assert self._files is not None  # set by _load_form; not user input
        return self._files

    @cached_property
    def values(self) -> CombinedMultiDict[str, str]:
        """:attr:`args` and :attr:`form` together (form only for non-GET)."""
        if self.method == "GET":
            return CombinedMultiDict([self.args])
        return CombinedMultiDict([self.args, self.form])

    def close(self) -> None:
        """Close uploaded files' temporary storage."""
        if self._files is not None:
            # Every file of every field, not only the first of each.
            for _, f in self._files.items(multi=True):
                f.close()

    # -- JSON ---------------------------------------------------------------

    _json_cache: tuple[t.Any, t.Any] = (Ellipsis, Ellipsis)

    @property
    def json(self) -> t.Any:
        """The parsed JSON body; see :meth:`get_json`.  A body that is not JSON
        is a 415; invalid JSON is a 400."""
        return self.get_json()

    def get_json(
        self, force: bool = False, silent: bool = False, cache: bool = True
    ) -> t.Any:
        """Parse the body as JSON.

        :param force: parse whatever the content type.
        :param silent: return ``None`` instead of raising for a wrong content
            type or invalid JSON.
        :param cache: keep the result for later calls.
        """
        cached = self._json_cache[silent]
        if cache and cached is not Ellipsis:
            return cached
        if not (force or self.is_json):
            if silent:
                return None
            raise exc.UnsupportedMediaType(
                "Did not attempt to load JSON data because the request"
                " Content-Type was not 'application/json'."
            )
        data = self.get_data(cache=cache)
        try:
            loads = self._json_loads
            if loads is None:
                import json

                loads = json.loads
            rv = loads(data)
        except (ValueError, RecursionError) as e:
            if silent:
                rv = None
            else:
                rv = self.on_json_loading_failed(e)
        if cache:
            other = self._json_cache[not silent]
            self._json_cache = (other, rv) if silent else (rv, other)
        return rv

    def on_json_loading_failed(self, e: Exception | None) -> t.Any:
        """Called when the body is not valid JSON; raises a 400.  Override to
        change that."""
        raise exc.BadRequest(f"Failed to decode JSON object: {e}")


_request_init = Request.__init__
_new = object.__new__


def _wsgi_str(value: str) -> str:
    """A WSGI path value (latin-1 decoded bytes, as PEP 3333 says) decoded as
    the UTF-8 browsers send."""
    return value.encode("latin-1").decode("utf-8", "replace")


def _index_headers(raw: t.Sequence[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """ASGI headers by name, for :meth:`Request._header`: one dict made in C,
    each lookup a dict's (a POST reads four or five headers); repeated
    headers joined as :func:`_join_repeated` does."""
    index = dict(raw)
    if len(index) != len(raw):
        index = _join_repeated(raw)
    return index


def _join_repeated(raw: t.Iterable[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """ASGI headers by name, a repeated header's values joined as RFC 9110
    says (cookies with ``; ``, as RFC 6265 says)."""
    values: dict[bytes, list[bytes]] = {}
    for k, v in raw:
        values.setdefault(k, []).append(v)
    return {
        k: (b"; " if k == b"cookie" else b", ").join(vs) for k, vs in values.items()
    }


def _check_field_count(data: bytes, limit: int | None) -> None:
    """413 if the query string or urlencoded body ``data`` has more than
    ``limit`` fields (empty ones, which are skipped, do not count)."""
    # PERF: counting separators is one C pass; the exact count runs only
    # when that upper bound is over the limit.
    if (
        limit is not None
        and data.count(b"&") >= limit
        and sum(1 for part in data.split(b"&") if part) > limit
    ):
        raise exc.RequestEntityTooLarge(
            f"The request has more than {limit} fields in its query string or form."
        )


def _strip_default_port(host: str, scheme: str) -> str:
    """``host`` without the port when it is the scheme's default."""
    if scheme in ("http", "ws") and host.endswith(":80"):
        return host[:-3]
    if scheme in ("https", "wss") and host.endswith(":443"):
        return host[:-4]
    return host


def _parse_qs(data: bytes) -> list[tuple[str, str]]:
    """Fields of a query string or urlencoded body, as ``parse_qsl`` with
    blank values kept gives them.  Only ``&`` separates fields; invalid
    UTF-8, raw or percent-encoded, becomes U+FFFD."""
    text = data.decode("utf-8", "replace")
    if "%" not in text and "+" not in text:
        # PERF: nothing to unquote (most query strings): split in one
        # comprehension (~1 us of a 3-field query).
        return [
            (name, value)
            for name, _, value in (
                part.partition("=") for part in text.split("&") if part
            )
        ]
    # PERF: only the fields that need it are unquoted; parse_qsl unquotes
    # every name and value (form bench, one "%40" in 3 fields: 3.0 -> 1.8 us).
    fields = []
    for part in text.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if "+" in part:
            name = name.replace("+", " ")
            value = value.replace("+", " ")
        if "%" in part:
            name = _unquote(name)
            value = _unquote(value)
        fields.append((name, value))
    return fields


def _unquote(text: str) -> str:
    """``urllib.parse.unquote(text, errors="replace")``, in C when every
    ``%`` starts an escape: each ``%XX`` becomes the C escape ``\\xXX``
    (backslashes escaped first) that ``codecs.escape_decode`` turns into
    its byte.  Anything else is left to ``unquote``."""
    if "%" not in text:
        return text
    # PERF: ~0.3 us for a field with an escape, against ~1.6 for unquote,
    # in a tight loop (a differential test holds the two to the same
    # results).
    try:
        raw = _escape_decode(
            text.encode().replace(b"\\", b"\\\\").replace(b"%", b"\\x")
        )[0]
    except ValueError:  # a % that starts no escape
        return unquote(text, errors="replace")
    return raw.decode("utf-8", "replace")


_SAFE = "!$&'()*+,/:;=@%~"
_SAFE_QUERY = "!$&'()*+,/:;=?@%~"


def _status_line(code: int) -> str:
    # Werkzeug's reason phrases, not http.HTTPStatus's: those change between
    # Python versions ("413 CONTENT TOO LARGE" on 3.13) and differ from
    # Flask's ("203 NON-AUTHORITATIVE INFORMATION").
    phrase = exc.HTTP_STATUS_CODES.get(code)
    if not phrase:
        return f"{code} UNKNOWN"
    # PERF: each line made once (~0.2 us), and made again if the table's
    # phrase for the code was changed.
    cached = _STATUS_LINES.get(code)
    if cached is not None and cached[0] is phrase:
        return cached[1]
    line = f"{code} {phrase.upper()}"
    _STATUS_LINES[code] = (phrase, line)  # at most one per code of the table
    return line


#: The status line of each code of the table used, with its phrase.
_STATUS_LINES: dict[int, tuple[str, str]] = {}


#: Non-``text/`` types that are text, and get ``charset=utf-8`` as Flask's do.
_TEXT_MIMETYPES = frozenset(
    {
        "application/ecmascript",
        "application/javascript",
        "application/sql",
        "application/xml",
        "application/xml-dtd",
        "application/xml-external-parsed-entity",
    }
)


def _to_iri(uri: str) -> str:
    """The URI as an IRI (Flask's form); as it is if it cannot be converted
    (a ``Host`` with an out-of-range port, say), never an error."""
    try:
        return uri_to_iri(uri)
    except ValueError:
        return uri


def _content_type(mimetype: str) -> str:
    if (
        mimetype.startswith("text/")
        or mimetype in _TEXT_MIMETYPES
        or mimetype.endswith("+xml")
    ) and "charset" not in mimetype:
        return f"{mimetype}; charset=utf-8"
    return mimetype


#: Per response class: the ``Content-Type`` of its default mimetype (None
#: for none), or False when the fast path does not apply to the class.
_fast_defaults: dict[type[t.Any], str | None | t.Literal[False]] = {}
_UNKNOWN: t.Any = object()


#: Checked ``Content-Type`` values of the mimetypes and content types given
#: to ``Response`` (a bounded cache: the values come from code, nearly always).
_fast_mimetypes: dict[str, str] = {}
_fast_content_types: dict[str, str] = {}
_FAST_CACHE_SIZE = 256


def _fast_content_type(
    cls: type[Response], mimetype: str | None, content_type: str | None
) -> str | None | t.Literal[False]:
    """The ``Content-Type`` value a fast-path response of ``cls`` gets (None
    for none), or False when the fast path does not apply to ``cls``.  A
    value with CR, LF or NUL raises ``ValueError`` like any header value."""
    default = _fast_default_content_type(cls)
    if default is False or (mimetype is None and content_type is None):
        return default
    if content_type is not None:
        cache, value = _fast_content_types, content_type
    else:
        cache, value = _fast_mimetypes, t.cast(str, mimetype)
    try:
        return cache[value]
    except (KeyError, TypeError):
        pass
    checked = check_header_value(
        "Content-Type", value if cache is _fast_content_types else _content_type(value)
    )
    if type(value) is str and len(cache) < _FAST_CACHE_SIZE:
        cache[value] = checked
    return checked


def _fast_default_content_type(cls: type[Response]) -> str | None | t.Literal[False]:
    """``Content-Type`` for ``cls.default_mimetype``, checked once per class
    (a subclass may set its own default); False if the class's default status
    is not 200, which the fast path assumes."""
    try:
        return _fast_defaults[cls]
    except KeyError:
        pass
    value: str | None | t.Literal[False] = None
    if cls.default_status != 200:
        value = False
    elif cls.default_mimetype is not None:
        value = check_header_value("Content-Type", _content_type(cls.default_mimetype))
    _fast_defaults[cls] = value
    return value


class Response:
    """The response a view returns (or that the app makes from what it returns).

    :param response: the body: ``str`` (sent as UTF-8), ``bytes``, or an
        iterable or async iterable of them, sent chunk by chunk as produced.
    :param status: an ``int`` (``404``) or a status line (``"404 NOT FOUND"``).
    :param headers: a dict, a list of pairs, or :class:`Headers`.
    :param mimetype: the content type without parameters; ``charset=utf-8``
        is added for text types.
    :param content_type: the whole ``Content-Type`` value (wins over
        ``mimetype``).
    """

    #: The status when none is given.
    default_status = 200
    #: The mimetype when neither ``mimetype`` nor ``content_type`` is given.
    default_mimetype: str | None = "text/html"
    #: Test client responses are bound to the request that made them.
    autocorrect_location_header = False

    #: The headers; setting a value with CR, LF or NUL raises.
    headers: ResponseHeaders
    #: The body: a list of ``bytes`` when in memory, else the iterable.
    response: t.Any
    _on_close: list[t.Callable[[], t.Any]]

    def __init__(
        self,
        response: t.Any = None,
        status: int | str | HTTPStatus | None = None,
        headers: t.Any = None,
        mimetype: str | None = None,
        content_type: str | None = None,
        direct_passthrough: bool = False,
    ) -> None:
        if headers is None and (
            (kind := type(response)) is str
            or kind is bytes
            or (
                response is not None
                and not isinstance(response, (str, bytes, bytearray))
            )
        ):
            # PERF: the common cases (no headers, and a str or bytes body,
            # as for a view returning a str or jsonify, or an iterable one,
            # as for a stream) build their headers directly: the
            # Content-Type value is checked once per mimetype (see
            # _fast_content_type) and the length is a number, so the
            # per-value injection checks are skipped (~2 us of ~20 us).
            # The Content-Type, found without a call once known: the
            # class's default, or a mimetype seen before (jsonify's).
            if mimetype is None and content_type is None:
                ct = _fast_defaults.get(type(self), _UNKNOWN)
                if ct is _UNKNOWN:
                    ct = _fast_default_content_type(type(self))
            elif (
                content_type is None
                and type(mimetype) is str
                and mimetype in _fast_mimetypes
                and _fast_defaults.get(type(self), False) is not False
            ):
                ct = _fast_mimetypes[mimetype]
            else:
                ct = _fast_content_type(type(self), mimetype, content_type)
        else:
            ct = False
        if ct is not False:
            headers = ResponseHeaders.__new__(ResponseHeaders)
            if kind is str or kind is bytes:
                data = response.encode() if kind is str else response
                headers._list = (
                    [("Content-Type", ct), ("Content-Length", str(len(data)))]
                    if ct is not None
                    else [("Content-Length", str(len(data)))]
                )
                response = [data]
            else:  # streamed: no length
                headers._list = [("Content-Type", ct)] if ct is not None else []
            self.headers = headers
            if status is None:
                self._status_code = 200
                self._status = "200 OK"
            elif type(status) is int:
                # PERF: the two setters' work without their calls (~0.3 us).
                self._status_code = status
                self._status = _status_line(status)
            else:
                self.status = status
            self.direct_passthrough = direct_passthrough
            self._on_close = []
            self.response = response
            return
        # Response headers refuse CR, LF and NUL (header injection); plain
        # Headers passed in are copied into that class.
        if type(headers) is ResponseHeaders:
            self.headers = headers
        else:
            self.headers = ResponseHeaders(headers)
        if content_type is None:
            if mimetype is None and "content-type" not in self.headers:
                mimetype = self.default_mimetype
            if mimetype is not None:
                content_type = _content_type(mimetype)
        if content_type is not None:
            self.headers["Content-Type"] = content_type
        self.status = status if status is not None else self.default_status
        self.direct_passthrough = direct_passthrough
        self._on_close = []
        if response is None:
            self.response = []
        elif isinstance(response, (str, bytes, bytearray)):
            self.set_data(response)
        else:
            self.response = response

    def __repr__(self) -> str:
        if self.is_streamed:
            size = "streamed"
        else:
            size = f"{sum(map(len, self.response))} bytes"
        return f"<{type(self).__name__} {size} [{self.status}]>"

    # -- status -------------------------------------------------------------

    @property
    def status_code(self) -> int:
        """The status code as an ``int``."""
        return self._status_code

    @status_code.setter
    def status_code(self, code: int) -> None:
        self._status_code = code
        self._status = _status_line(code)

    @property
    def status(self) -> str:
        """The status line, e.g. ``"200 OK"``; set it with an int or a str."""
        return self._status

    @status.setter
    def status(self, value: int | str | HTTPStatus) -> None:
        if isinstance(value, int):  # includes HTTPStatus
            self.status_code = int(value)
            return
        if not isinstance(value, str):
            raise TypeError(
                f"Invalid status {value!r}: use an int such as 404 or a status"
                " line such as '404 NOT FOUND'."
            )
        check_header_value("status", value)
        value = value.strip()
        if not value:
            raise ValueError("Empty status argument")
        code_str, sep, _ = value.partition(" ")
        try:
            code = int(code_str)
        except ValueError:
            # Werkzeug's rule: a status without a code is sent as "0 reason".
            self._status_code = 0
            self._status = f"0 {value}"
            return
        self._status_code = code
        # A given reason phrase is kept as written, as in Flask.
        self._status = value if sep else _status_line(code)

    # -- headers ------------------------------------------------------------

    @property
    def content_type(self) -> str | None:
        """The ``Content-Type`` header."""
        return self.headers.get("Content-Type")

    @content_type.setter
    def content_type(self, value: str | None) -> None:
        if value is None:
            self.headers.pop("Content-Type", None)
        else:
            self.headers["Content-Type"] = value

    @property
    def mimetype(self) -> str | None:
        """The content type without parameters; setting it adds
        ``charset=utf-8`` for text types."""
        ct = self.headers.get("Content-Type")
        if ct is None:
            return None
        return ct.split(";", 1)[0].strip().lower()

    @mimetype.setter
    def mimetype(self, value: str) -> None:
        self.headers["Content-Type"] = _content_type(value)

    @property
    def mimetype_params(self) -> dict[str, str]:
        """The content type's parameters."""
        return parse_options_header(self.headers.get("Content-Type"))[1]

    @property
    def content_length(self) -> int | None:
        """The ``Content-Length`` header as an int."""
        value = self.headers.get("Content-Length")
        if value is None or not value.isdigit():
            return None
        return int(value)

    @content_length.setter
    def content_length(self, value: int | None) -> None:
        if value is None:
            self.headers.pop("Content-Length", None)
        else:
            self.headers["Content-Length"] = str(value)

    @property
    def location(self) -> str | None:
        """The ``Location`` header."""
        return self.headers.get("Location")

    @location.setter
    def location(self, value: str | None) -> None:
        if value is None:
            self.headers.pop("Location", None)
        else:
            self.headers["Location"] = value

    @property
    def is_json(self) -> bool:
        """Whether the content type is JSON."""
        mt = self.mimetype or ""
        return mt == "application/json" or (
            mt.startswith("application/") and mt.endswith("+json")
        )

    # -- cookies ------------------------------------------------------------

    def set_cookie(
        self,
        key: str,
        value: str = "",
        max_age: timedelta | int | None = None,
        expires: str | datetime | int | float | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: str | None = None,
        partitioned: bool = False,
    ) -> None:
        """Add a ``Set-Cookie`` header.

        :param max_age: seconds (or a ``timedelta``) until it expires;
            ``None`` makes a browser-session cookie.
        :param expires: an absolute expiry (``datetime`` or timestamp).
        :param samesite: ``"Strict"``, ``"Lax"`` or ``"None"``.
        :param partitioned: send the CHIPS ``Partitioned`` attribute
            (implies ``secure``).
        :raises ValueError: ``key``, ``value``, ``path`` or ``domain``
            contains CR, LF or NUL, or ``key`` or ``domain`` a ``;`` or
            ``=`` (each could add attributes or headers of its own).
        """
        header = _dump_plain_cookie(
            key,
            value,
            max_age,
            expires,
            path,
            domain,
            secure,
            httponly,
            samesite,
            partitioned,
        )
        if header is not None and type(self.headers) is ResponseHeaders:
            # PERF: the plain header has nothing to check (~0.4 us).
            self.headers._list.append(("Set-Cookie", header))
            return
        if header is None:
            _check_cookie(key, value, path, domain)
            header = dump_cookie(
                key,
                value,
                max_age=max_age,
                expires=expires,
                path=path,
                domain=domain,
                secure=secure,
                httponly=httponly,
                samesite=samesite,
                partitioned=partitioned,
            )
        self.headers.add("Set-Cookie", header)

    def delete_cookie(
        self,
        key: str,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: str | None = None,
        partitioned: bool = False,
    ) -> None:
        """Tell the client to drop a cookie (same ``path`` and ``domain`` as
        when it was set)."""
        self.set_cookie(
            key,
            expires=0,
            max_age=0,
            path=path,
            domain=domain,
            secure=secure,
            httponly=httponly,
            samesite=samesite,
            partitioned=partitioned,
        )

    # -- the body -----------------------------------------------------------

    @property
    def is_streamed(self) -> bool:
        """Whether the body is an iterable produced while sending."""
        return not isinstance(self.response, (list, tuple))

    def set_data(self, value: str | bytes | bytearray) -> None:
        """Replace the body and set ``Content-Length``."""
        if isinstance(value, str):
            value = value.encode()
        else:
            value = bytes(value)
        self.response = [value]
        self.headers["Content-Length"] = str(len(value))

    def get_data(self, as_text: bool = False) -> t.Any:
        """The body as bytes (or text).  A streamed body is read and kept."""
        if self.is_streamed:
            if hasattr(self.response, "__aiter__"):
                raise RuntimeError(
                    "The body is an async iterable; it can only be read by"
                    " sending the response."
                )
            self.response = [_encode(chunk) for chunk in self.response]
        data = b"".join(_encode(chunk) for chunk in self.response)
        return data.decode() if as_text else data

    @property
    def data(self) -> bytes:
        """The body as bytes; assign to replace it."""
        return t.cast(bytes, self.get_data())

    @data.setter
    def data(self, value: str | bytes) -> None:
        self.set_data(value)

    @property
    def text(self) -> str:
        """The body as text."""
        return t.cast(str, self.get_data(as_text=True))

    @property
    def json(self) -> t.Any:
        """The body parsed as JSON (``None`` if it is not a JSON response)."""
        return self.get_json()

    def get_json(self, force: bool = False, silent: bool = False) -> t.Any:
        """Parse the body as JSON; ``None`` for a non-JSON content type
        unless ``force``."""
        if not (force or self.is_json):
            return None
        import json

        try:
            return json.loads(self.get_data())
        except ValueError:
            if silent:
                return None
            raise

    def _prepare_for_send(self, method: str) -> bool:
        """Settle the headers the drivers send; ``True`` if a body goes out.

        A 204 or 304 loses ``Content-Length`` and ``Content-Type`` (RFC 9110
        forbids the length on a 204; a 304 describes no content of its own),
        and an in-memory body without ``Content-Length`` gets one, as
        Werkzeug does.  ``HEAD`` keeps the headers a ``GET`` would have.
        """
        headers = self.headers
        if self._status_code in _NO_BODY_STATUSES:
            headers.pop("Content-Length", None)
            headers.pop("Content-Type", None)
            return False
        body = self.response
        # PERF: isinstance with a tuple of types; `list | tuple` would build
        # a union at every call (~0.13 us).
        if isinstance(body, (list, tuple)):
            if type(headers) is ResponseHeaders:
                # PERF: `"Content-Length" in headers` without its two calls.
                for name, _ in headers._list:
                    if name == "Content-Length" or name.lower() == "content-length":
                        return method != "HEAD"
            elif "Content-Length" in headers:
                return method != "HEAD"
            body = self.response = [_encode(chunk) for chunk in body]
            headers["Content-Length"] = str(sum(map(len, body)))
        return method != "HEAD"

    def iter_encoded(self) -> t.Iterator[bytes]:
        """Iterate the body as bytes (sync iterables only)."""
        for chunk in self.response:
            yield _encode(chunk)

    def call_on_close(self, func: t.Callable[[], t.Any]) -> t.Callable[[], t.Any]:
        """Call ``func`` when the response has been sent (or closed)."""
        self._on_close.append(func)
        return func

    def close(self) -> None:
        """Close the body iterable and run :meth:`call_on_close` functions."""
        close = getattr(self.response, "close", None)
        if close is not None:
            close()
        for func in self._on_close:
            func()

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


#: In a cookie header of printable ASCII without quotes or tabs, as
#: Werkzeug's parse_cookie reads it: a ``name[=value]`` pair, or (with an
#: empty name) what it skips up to the next semicolon, where no pair starts.
_PLAIN_COOKIE_PAIR = re.compile(
    r" *([^ =;]+)(?: *= *([^ ;]*))? *(?:;|\Z)|[^;]*(?:;|\Z)"
)
#: An HTTP token: a cookie name sent as it is.
_PLAIN_COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: What Werkzeug's dump_cookie sends unquoted, and what quote() leaves
#: alone in a path.
_PLAIN_COOKIE_VALUE = re.compile(r"[\w!#$%&'()*+\-./:<=>?@\[\]^`{|}~]*", re.ASCII)
_PLAIN_COOKIE_PATH = re.compile(r"[\w.\-~%!$&'()*+,/:=@]*", re.ASCII)
_SAMESITE = (None, "Strict", "Lax", "None")
_MAX_COOKIE = 4093  # dump_cookie's max_size: over it, it warns


def _dump_plain_cookie(
    key: str,
    value: str,
    max_age: t.Any,
    expires: t.Any,
    path: str | None,
    domain: str | None,
    secure: bool,
    httponly: bool,
    samesite: str | None,
    partitioned: bool,
) -> str | None:
    """The ``Set-Cookie`` value Werkzeug's ``dump_cookie`` makes, for a cookie
    with no expiry or domain and only characters neither it nor
    :func:`_check_cookie` changes or refuses; ``None`` for any other (a
    test holds the two to the same output)."""
    # PERF: a session cookie in ~1.1 us where the check and dump_cookie
    # take ~3.6.
    if (
        partitioned is False
        and max_age is None
        and expires is None
        and domain is None
        and samesite in _SAMESITE
        and type(secure) is bool
        and type(httponly) is bool
        and type(key) is str
        and type(value) is str
        and _PLAIN_COOKIE_NAME.fullmatch(key)
        and _PLAIN_COOKIE_VALUE.fullmatch(value)
        and (path is None or (type(path) is str and _PLAIN_COOKIE_PATH.fullmatch(path)))
    ):
        header = f"{key}={value}"
        if secure:
            header += "; Secure"
        if httponly:
            header += "; HttpOnly"
        if path is not None:
            header += f"; Path={path}"
        if samesite is not None:
            header += f"; SameSite={samesite}"
        if len(header) <= _MAX_COOKIE:
            return header
    return None


def _check_cookie(key: str, value: str, path: str | None, domain: str | None) -> None:
    for what, text, bad in (
        ("name", key, "\r\n\x00;= \t,"),
        ("value", value, "\r\n\x00"),
        ("path", path, "\r\n\x00"),
        ("domain", domain, "\r\n\x00;= \t,"),
    ):
        if isinstance(text, (str, bytes)):
            if isinstance(text, bytes):
                text = text.decode("latin-1")
            for char in bad:
                if char in text:
                    raise ValueError(
                        f"The cookie {what} {text!r} contains {char!r}, which"
                        " could add cookie attributes or headers of its own."
                        " Newline characters (CR, LF) and NUL are never"
                        " allowed; names and domains"
                        " also cannot contain ';', '=', ',' or whitespace."
                    )


def _encode(chunk: str | bytes) -> bytes:
    if isinstance(chunk, str):
        return chunk.encode()
    return bytes(chunk)
