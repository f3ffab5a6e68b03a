"""The test client, with Flask's API, running requests through the WSGI or
the ASGI driver.

``app.test_client()`` runs requests through WSGI; ``app.test_client(driver=
"asgi")`` sends the same requests through ``app.asgi``.  Everything else is
the same, so a test suite can run both ways.
"""

from __future__ import annotations

import asyncio
import io
import json
import mimetypes
import os
import secrets
import typing as t
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote, urlencode, urljoin, urlsplit

from werkzeug.http import dump_cookie, parse_cookie, parse_date

from .cli import ErlenCliRunner
from .concurrency import drive, run_async, run_inline
from .datastructures import Headers, MultiDict
from .globals import _cv_app, _cv_request
from .wrappers import Response

if t.TYPE_CHECKING:
    from .app import Erlen
    from .ctx import RequestContext
    from .wrappers import Request

__all__ = [
    "Cookie",
    "ErlenCliRunner",
    "ErlenClient",
    "TestResponse",
    "WebSocketRejected",
    "WebSocketTestSession",
    "build_request",
]

Driver = t.Literal["wsgi", "asgi"]


@dataclass
class _RequestSpec:
    """A request independent of the server interface."""

    method: str
    scheme: str
    host: str
    root_path: str
    path: str
    query_string: bytes
    headers: list[tuple[str, str]]
    body: bytes
    #: WSGI environ keys under the request's own (``REMOTE_ADDR``, default
    #: ``HTTP_*`` headers that ``headers`` replace).
    environ_base: dict[str, t.Any] = field(default_factory=dict)
    #: WSGI environ keys over everything else.
    environ_overrides: dict[str, t.Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        qs = f"?{self.query_string.decode()}" if self.query_string else ""
        return f"{self.scheme}://{self.host}{self.root_path}{self.path}{qs}"

    def to_environ(self) -> dict[str, t.Any]:
        host, _, port = self.host.partition(":")
        environ: dict[str, t.Any] = {"REMOTE_ADDR": "127.0.0.1"}
        environ.update(self.environ_base)
        header_keys: set[str] = set()
        environ |= {
            "REQUEST_METHOD": self.method,
            "SCRIPT_NAME": self.root_path.encode().decode("latin-1"),
            "PATH_INFO": self.path.encode().decode("latin-1"),
            "QUERY_STRING": self.query_string.decode("latin-1"),
            "SERVER_NAME": host,
            "SERVER_PORT": port or ("443" if self.scheme == "https" else "80"),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": self.scheme,
            "wsgi.input": io.BytesIO(self.body),
            "wsgi.errors": io.StringIO(),
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in self.headers:
            key = name.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = f"HTTP_{key}"
            if key in header_keys and key.startswith("HTTP_"):
                # Repeated headers are joined as RFC 9110 says (and as a
                # WSGI server does): the environ holds one value per name.
                sep = "; " if key == "HTTP_COOKIE" else ", "
                environ[key] = f"{environ[key]}{sep}{value}"
            else:
                environ[key] = value
                header_keys.add(key)
        environ.update(self.environ_overrides)
        return environ

    def to_scope(self) -> dict[str, t.Any]:
        host, _, port = self.host.partition(":")
        env = {**self.environ_base, **self.environ_overrides}
        headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in self.headers
        ]
        given = {name for name, _ in headers}
        # The environ's ``HTTP_*`` keys as headers: a base one only when the
        # request has no such header, an override always.
        for source, replace in (
            (self.environ_base, False),
            (self.environ_overrides, True),
        ):
            for key, value in source.items():
                if not key.startswith("HTTP_"):
                    continue
                name = key[5:].replace("_", "-").lower().encode("latin-1")
                if name in given and not replace:
                    continue
                headers = [h for h in headers if h[0] != name]
                headers.append((name, str(value).encode("latin-1")))
        root_path = env.get("SCRIPT_NAME", self.root_path)
        # ASGI's ``path`` is the whole path, ``root_path`` included (as
        # uvicorn sends it with ``--root-path``).
        path = root_path + env.get("PATH_INFO", self.path)
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": self.method,
            "scheme": env.get("wsgi.url_scheme", self.scheme),
            "path": path,
            "raw_path": quote(path).encode("ascii"),
            "root_path": root_path,
            "query_string": self.query_string,
            "headers": headers,
            "server": (
                host,
                int(port) if port else (443 if self.scheme == "https" else 80),
            ),
            "client": (env.get("REMOTE_ADDR", "127.0.0.1"), 0),
            "extensions": {},
        }


def _is_file(value: t.Any) -> bool:
    return hasattr(value, "read") or (
        isinstance(value, tuple) and bool(value) and hasattr(value[0], "read")
    )


def _items(
    data: Mapping[str, t.Any] | t.Iterable[tuple[str, t.Any]],
) -> Iterator[tuple[str, t.Any]]:
    if isinstance(data, MultiDict):
        yield from data.items(multi=True)
        return
    pairs = data.items() if isinstance(data, Mapping) else data
    for key, value in pairs:
        if isinstance(value, list):
            for v in value:
                yield key, v
        else:
            yield key, value


def encode_multipart(
    fields: Iterator[tuple[str, t.Any]], boundary: str | None = None
) -> tuple[bytes, str]:
    """Encode form fields and files as ``multipart/form-data``.

    A file is a file object or ``(fileobj, filename[, content_type])``.
    Returns the body and the boundary.
    """
    boundary = boundary or f"---------------ErlenFormBoundary{secrets.token_hex(8)}"
    out = io.BytesIO()
    for name, value in fields:
        out.write(f"--{boundary}\r\n".encode())
        if _is_file(value):
            content_type = None
            if isinstance(value, tuple):
                fileobj = value[0]
                filename = value[1] if len(value) > 1 else None
                if len(value) > 2:
                    content_type = value[2]
            else:
                fileobj = value
                filename = None
            if filename is None:
                filename = os.path.basename(getattr(fileobj, "name", "") or "") or name
            if content_type is None:
                content_type = (
                    getattr(fileobj, "content_type", None)
                    or mimetypes.guess_type(filename)[0]
                    or "application/octet-stream"
                )
            quoted = filename.replace("\\", "\\\\").replace('"', '\\"')
            out.write(
                f'Content-Disposition: form-data; name="{name}";'
                f' filename="{quoted}"\r\nContent-Type: {content_type}\r\n\r\n'.encode()
            )
            content = fileobj.read()
            out.write(content.encode() if isinstance(content, str) else content)
        else:
            out.write(f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
            out.write(value if isinstance(value, bytes) else str(value).encode())
        out.write(b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), boundary


def make_spec(
    app: Erlen,
    path: str = "/",
    base_url: str | None = None,
    query_string: Mapping[str, t.Any] | str | bytes | None = None,
    method: str = "GET",
    headers: t.Any = None,
    data: t.Any = None,
    json: t.Any = None,
    content_type: str | None = None,
    subdomain: str | None = None,
    url_scheme: str | None = None,
    environ_base: dict[str, t.Any] | None = None,
    environ_overrides: dict[str, t.Any] | None = None,
) -> _RequestSpec:
    """Describe a request from the test client's arguments."""
    method = method.upper()
    url = urlsplit(path)
    if base_url is None:
        server = app.config["SERVER_NAME"] or "localhost"
        if subdomain:
            server = f"{subdomain}.{server}"
        root = app.config["APPLICATION_ROOT"]
        scheme = url.scheme or url_scheme or app.config["PREFERRED_URL_SCHEME"]
        base_url = f"{scheme}://{url.netloc or server}{root}"
    base = urlsplit(base_url)
    root_path = unquote(base.path.rstrip("/"))
    req_path = unquote(url.path) or "/"

    if url.query and query_string is not None:
        raise ValueError("Query string is defined in the path and as an argument.")
    if query_string is None:
        qs = url.query.encode()
    elif isinstance(query_string, bytes):
        qs = query_string
    elif isinstance(query_string, str):
        qs = query_string.encode()
    else:
        qs = urlencode(list(_items(query_string))).encode()

    header_list: list[tuple[str, str]] = []
    if headers:
        header_list.extend(Headers(headers).items())
    names = {k.lower() for k, _ in header_list}
    if "host" not in names:
        header_list.insert(0, ("Host", base.netloc))

    body = b""
    if json is not None:
        if data is not None:
            raise TypeError("Can't pass both 'data' and 'json'.")
        with app.app_context():
            body = app.json.dumps(json).encode()
        content_type = content_type or "application/json"
    elif isinstance(data, str):
        body = data.encode()
    elif isinstance(data, bytes | bytearray):
        body = bytes(data)
    elif hasattr(data, "read"):
        body = data.read()
    elif data is not None:
        fields = list(_items(data))
        if any(_is_file(v) for _, v in fields) or (content_type or "").startswith(
            "multipart/form-data"
        ):
            body, boundary = encode_multipart(iter(fields))
            content_type = f"multipart/form-data; boundary={boundary}"
        else:
            body = urlencode(fields).encode()
            content_type = content_type or "application/x-www-form-urlencoded"
    if content_type is not None and "content-type" not in names:
        header_list.append(("Content-Type", content_type))
    if (body or method in ("POST", "PUT", "PATCH")) and "content-length" not in names:
        header_list.append(("Content-Length", str(len(body))))

    return _RequestSpec(
        method=method,
        scheme=base.scheme or "http",
        host=base.netloc,
        root_path=root_path,
        path=req_path,
        query_string=qs,
        headers=header_list,
        body=body,
        environ_base=dict(environ_base or {}),
        environ_overrides=dict(environ_overrides or {}),
    )


def build_request(app: Erlen, *args: t.Any, **kwargs: t.Any) -> Request:
    """A :class:`~erlen.Request` from the test client's arguments (used by
    ``app.test_request_context``)."""
    from .wsgi import request_from_environ

    request = request_from_environ(app, make_spec(app, *args, **kwargs).to_environ())
    return request


class TestResponse(Response):
    """A response received by the test client."""

    __test__ = False
    default_mimetype = None

    #: The request that produced this response.
    request: _RequestSpec
    #: Responses of the redirects followed to get here, oldest first.
    history: tuple[TestResponse, ...] = ()


@dataclass
class Cookie:
    """A cookie in the test client's jar.

    :attr:`value` is the value as sent on the wire (quoted and escaped when
    it holds characters such as ``;`` or ``,``); :attr:`decoded_value` is
    what the app reads from ``request.cookies``.
    """

    key: str
    value: str
    domain: str = "localhost"
    path: str = "/"
    origin_only: bool = True
    expires: datetime | None = None
    max_age: int | None = None
    secure: bool = False
    http_only: bool = False
    same_site: str | None = None
    partitioned: bool = False

    @property
    def decoded_key(self) -> str:
        return self.key

    @property
    def decoded_value(self) -> str:
        """The value as the app reads it: unquoted and unescaped."""
        if self.value[:1] != '"':
            return self.value
        return parse_cookie(f"{self.key}={self.value}").get(self.key, self.value)

    def _matches(self, host: str, path: str) -> bool:
        host = host.partition(":")[0].lower()
        domain = self.domain.lower()
        if self.origin_only:
            if host != domain:
                return False
        elif not (host == domain or host.endswith("." + domain)):
            return False
        return path == self.path or path.startswith(self.path.rstrip("/") + "/")

    def _expired(self) -> bool:
        return self.expires is not None and self.expires <= datetime.now(UTC)

    @classmethod
    def _from_header(cls, header: str, host: str, path: str) -> Cookie:
        first, *attrs = header.split(";")
        key, _, value = first.strip().partition("=")
        cookie = cls(key.strip(), value.strip(), domain=host.partition(":")[0])
        cookie.path = path.rpartition("/")[0] or "/"
        for attr in attrs:
            name, _, val = attr.strip().partition("=")
            name = name.lower()
            if name == "domain" and val:
                cookie.domain = val.lstrip(".")
                cookie.origin_only = False
            elif name == "path":
                cookie.path = val or "/"
            elif name == "max-age":
                try:
                    cookie.max_age = int(val)
                except ValueError:
                    continue
                # Max-Age wins over Expires, wherever each is (RFC 6265 5.3).
                if cookie.max_age <= 0:
                    cookie.expires = datetime.fromtimestamp(0, UTC)
                else:
                    cookie.expires = datetime.now(UTC) + timedelta(
                        seconds=cookie.max_age
                    )
            elif name == "expires" and cookie.max_age is None:
                cookie.expires = parse_date(val)
            elif name == "secure":
                cookie.secure = True
            elif name == "httponly":
                cookie.http_only = True
            elif name == "samesite":
                cookie.same_site = val
            elif name == "partitioned":
                cookie.partitioned = True
        return cookie


def _is_local(host: str) -> bool:
    """Whether browsers treat ``http://host`` as a secure context and send it
    ``Secure`` cookies: loopback names and addresses.  (So a Flask test that
    sets ``SESSION_COOKIE_SECURE`` still works against ``localhost``.)"""
    if host.startswith("["):
        name = host[1:].partition("]")[0]
    else:
        name = host.partition(":")[0]
    name = name.lower()
    return (
        name in ("localhost", "::1")
        or name.endswith(".localhost")
        or name.startswith("127.")
    )


class _Preserved:
    """Re-pushes a finished request's contexts (without running teardown
    again) so a test can inspect ``request``, ``g`` and ``session``."""

    def __init__(self, ctx: RequestContext) -> None:
        self.ctx = ctx

    def __enter__(self) -> None:
        app_ctx = self.ctx._app_ctx
        self._app_token = _cv_app.set(app_ctx) if app_ctx is not None else None
        self._req_token = _cv_request.set(self.ctx)

    def __exit__(self, *exc: object) -> None:
        _cv_request.reset(self._req_token)
        if self._app_token is not None:
            _cv_app.reset(self._app_token)


class ErlenClient:
    """Sends requests to an app without a server.

    :param app: the app.
    :param use_cookies: keep cookies between requests, like a browser.
    :param driver: ``"wsgi"`` or ``"asgi"``: the interface requests go
        through.

    Use ``with client:`` to keep the last request's context after it ended,
    to inspect ``request``, ``g`` or ``session`` in the test.
    """

    __test__ = False

    def __init__(
        self, app: Erlen, use_cookies: bool = True, driver: Driver = "wsgi"
    ) -> None:
        if driver not in ("wsgi", "asgi"):
            raise ValueError(f"driver must be 'wsgi' or 'asgi', not {driver!r}.")
        self.application = app
        self.driver: Driver = driver
        self.use_cookies = use_cookies
        self._cookies: dict[tuple[str, str, str], Cookie] = {}
        #: WSGI environ keys added to every request (``REMOTE_ADDR``,
        #: ``HTTP_*`` headers also apply under ASGI).
        self.environ_base: dict[str, t.Any] = {
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_USER_AGENT": "Erlen test client",
        }
        #: Follow redirects to a subdomain of the request's host (with
        #: ``follow_redirects=True``); other hosts are never followed.
        self.allow_subdomain_redirects = False
        self.preserve_context = False
        self._new_contexts: list[RequestContext] = []
        self._context_stack = ExitStack()
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.application!r} via {self.driver}>"

    # -- cookies --------------------------------------------------------------

    def _require_cookies(self) -> None:
        if not self.use_cookies:
            raise TypeError(
                "Cookies are disabled. Create a client with 'use_cookies=True'."
            )

    def get_cookie(
        self, key: str, domain: str = "localhost", path: str = "/"
    ) -> Cookie | None:
        """The cookie with this key, domain and path, or ``None``."""
        self._require_cookies()
        cookie = self._cookies.get((domain, path, key))
        if cookie is None or cookie._expired():
            return None
        return cookie

    def set_cookie(
        self,
        key: str,
        value: str = "",
        *,
        domain: str = "localhost",
        origin_only: bool = True,
        path: str = "/",
        **kwargs: t.Any,
    ) -> None:
        """Put a cookie in the jar, as if the server had set it.  ``value``
        is the value the app will read; it is quoted for the wire if needed."""
        self._require_cookies()
        wire_value = dump_cookie(key, value, path=None).partition("=")[2]
        self._cookies[(domain, path, key)] = Cookie(
            key, wire_value, domain=domain, path=path, origin_only=origin_only, **kwargs
        )

    def delete_cookie(
        self, key: str, *, domain: str = "localhost", path: str = "/"
    ) -> None:
        """Remove a cookie from the jar."""
        self._require_cookies()
        self._cookies.pop((domain, path, key), None)

    def _cookie_header(self, spec: _RequestSpec) -> str | None:
        secure = spec.scheme == "https" or _is_local(spec.host)
        pairs = [
            f"{c.key}={c.value}"
            for c in self._cookies.values()
            if not c._expired()
            and c._matches(spec.host, spec.root_path + spec.path)
            and (secure or not c.secure)
        ]
        return "; ".join(pairs) or None

    def _store_cookies(self, spec: _RequestSpec, headers: Headers) -> None:
        for header in headers.getlist("Set-Cookie"):
            cookie = Cookie._from_header(header, spec.host, spec.root_path + spec.path)
            key = (cookie.domain, cookie.path, cookie.key)
            if cookie._expired():
                self._cookies.pop(key, None)
            else:
                self._cookies[key] = cookie

    # -- requests -------------------------------------------------------------

    def open(
        self,
        *args: t.Any,
        buffered: bool = False,
        follow_redirects: bool = False,
        **kwargs: t.Any,
    ) -> TestResponse:
        """Send a request: ``open("/path", method="POST", data=...)``.

        Arguments: ``path``, ``method``, ``base_url``, ``query_string``,
        ``headers``, ``data`` (dict, str, bytes; files as
        ``(fileobj, filename[, content_type])``), ``json``, ``content_type``,
        ``environ_base``, ``environ_overrides``.  With
        ``follow_redirects=True`` the final response's ``history`` holds the
        redirects.
        """
        kwargs["environ_base"] = {
            **self.environ_base,
            **(kwargs.get("environ_base") or {}),
        }
        spec = make_spec(self.application, *args, **kwargs)
        self._context_stack.close()
        response = self._send(spec)
        if not follow_redirects:
            return response
        history: list[TestResponse] = []
        seen = 0
        while (
            response.status_code in (301, 302, 303, 305, 307, 308) and response.location
        ):
            seen += 1
            if seen > 30:
                raise RuntimeError("Too many redirects (a loop?).")
            history.append(response)
            spec = self._redirect_spec(spec, response)
            self._context_stack.close()
            response = self._send(spec)
        response.history = tuple(history)
        return response

    def _redirect_spec(
        self, spec: _RequestSpec, response: TestResponse
    ) -> _RequestSpec:
        target = urlsplit(urljoin(spec.url, response.location))
        to_host = target.hostname or ""
        from_host = spec.host.partition(":")[0].lower()
        if to_host != from_host:
            # The app under test only serves its own host: a redirect
            # elsewhere would be answered by the wrong server.
            if not to_host.endswith("." + from_host):
                raise RuntimeError(
                    f"Following external redirects is not supported: the app"
                    f" redirected to {response.location!r}. Check"
                    " 'response.location' without 'follow_redirects=True'."
                )
            if not self.allow_subdomain_redirects:
                raise RuntimeError(
                    "Following subdomain redirects is not enabled: set"
                    " 'client.allow_subdomain_redirects = True'."
                )
        keep_body = response.status_code in (307, 308)
        method = spec.method if keep_body or spec.method == "HEAD" else "GET"
        headers = [
            (k, v)
            for k, v in spec.headers
            if k.lower() not in ("host", "cookie")
            and (keep_body or k.lower() not in ("content-type", "content-length"))
        ]
        root = spec.root_path
        path = unquote(target.path) or "/"
        if root and (path == root or path.startswith(root + "/")):
            path = path[len(root) :] or "/"
        else:
            # Outside the app's root: the whole path, no root.
            root = ""
        headers.insert(0, ("Host", target.netloc or spec.host))
        return _RequestSpec(
            method=method,
            scheme=target.scheme or spec.scheme,
            host=target.netloc or spec.host,
            root_path=root,
            path=path,
            query_string=target.query.encode(),
            headers=headers,
            body=spec.body if keep_body else b"",
            environ_base=spec.environ_base,
            environ_overrides=spec.environ_overrides,
        )

    def _send(self, spec: _RequestSpec) -> TestResponse:
        if self.use_cookies:
            cookie = self._cookie_header(spec)
            if cookie is not None:
                spec.headers = [
                    (k, v) for k, v in spec.headers if k.lower() != "cookie"
                ]
                spec.headers.append(("Cookie", cookie))
        self._new_contexts.clear()
        preserve = self._new_contexts.append if self.preserve_context else None
        status: int | str
        try:
            if self.driver == "wsgi":
                status, headers, body = self._run_wsgi(spec, preserve)
            else:
                status, headers, body = self._run_asgi(spec, preserve)
        finally:
            # Also after an exception the view raised, so the test can look
            # at ``request`` and ``g`` inside ``with client:``.
            while self._new_contexts:
                self._context_stack.enter_context(_Preserved(self._new_contexts.pop(0)))
        response = TestResponse(None, status, headers)
        response.response = [body]
        response.request = spec
        if self.use_cookies:
            self._store_cookies(spec, response.headers)
        return response

    def _run_wsgi(
        self, spec: _RequestSpec, preserve: t.Callable[[t.Any], None] | None
    ) -> tuple[str, Headers, bytes]:
        environ = spec.to_environ()
        if preserve is not None:
            environ["erlen.preserve_context"] = preserve
        result: dict[str, t.Any] = {}

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
        ) -> t.Callable[[bytes], None]:
            result["status"], result["headers"] = status, headers
            return lambda data: None

        app_iter = self.application(environ, start_response)
        try:
            body = b"".join(app_iter)
        finally:
            close = getattr(app_iter, "close", None)
            if close is not None:
                close()
        return result["status"], Headers(result["headers"]), body

    def _run_asgi(
        self, spec: _RequestSpec, preserve: t.Callable[[t.Any], None] | None
    ) -> tuple[int, Headers, bytes]:
        scope = spec.to_scope()
        if preserve is not None:
            scope["extensions"]["erlen.preserve_context"] = preserve
        loop = self._get_loop()
        app = self.application
        if not app._serving and app.before_serving_funcs:
            # As the WSGI driver does (and a server at its lifespan
            # startup): before_serving runs before the first request, on
            # the loop the requests run on.
            loop.run_until_complete(app._startup(run_async(app._get_executor())))
        result = loop.run_until_complete(self._asgi_call(scope, spec.body))
        # Let the request's background tasks finish, so a test can check
        # what they did right after the request (as under WSGI).
        pending = [
            task
            for task in self.application._background_tasks
            if task.get_loop() is loop
        ]
        if pending:
            loop.run_until_complete(asyncio.wait(pending))
        return result

    async def _asgi_call(
        self, scope: dict[str, t.Any], body: bytes
    ) -> tuple[int, Headers, bytes]:
        done = asyncio.Event()
        received = False

        async def receive() -> dict[str, t.Any]:
            nonlocal received
            if not received:
                received = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        start: dict[str, t.Any] = {}
        chunks: list[bytes] = []

        async def send(message: dict[str, t.Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()

        await self.application.asgi(scope, receive, send)
        if not start:
            raise RuntimeError("The ASGI app finished without starting a response.")
        headers = Headers(
            [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]]
        )
        return start["status"], headers, b"".join(chunks)

    def get(self, *args: t.Any, **kw: t.Any) -> TestResponse:
        """``open(..., method="GET")``."""
        return self.open(*args, method="GET", **kw)

    def post(self, *args: t.Any, **kw: t.Any) -> TestResponse:
        """``open(..., method="POST")``."""
        return self.open(*args, method="POST", **kw)

    def put(self, *args: t.Any, **kw: t.Any) -> TestResponse:
        """``open(..., method="PUT")``."""
        return self.open(*args, method="PUT", **kw)

    def patch(self, *args: t.Any, **kw: t.Any) -> TestResponse:
        """``open(..., method="PATCH")``."""
        return self.open(*args, method="PATCH", **kw)

    def delete(self, *args: t.Any, **kw: t.Any) -> TestResponse:
        """``open(..., method="DELETE")``."""
        return self.open(*args, method="DELETE", **kw)

    def head(self, *args: t.Any, **kw: t.Any) -> TestResponse:
        """``open(..., method="HEAD")``."""
        return self.open(*args, method="HEAD", **kw)

    def options(self, *args: t.Any, **kw: t.Any) -> TestResponse:
        """``open(..., method="OPTIONS")``."""
        return self.open(*args, method="OPTIONS", **kw)

    def trace(self, *args: t.Any, **kw: t.Any) -> TestResponse:
        """``open(..., method="TRACE")``."""
        return self.open(*args, method="TRACE", **kw)

    # -- contexts and sessions ------------------------------------------------

    def __enter__(self) -> ErlenClient:
        if self.preserve_context:
            raise RuntimeError("Cannot nest client invocations")
        self.preserve_context = True
        return self

    def __exit__(self, *exc: object) -> None:
        self.preserve_context = False
        self._context_stack.close()

    def _get_loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the ASGI driver's requests run on."""
        if self._loop is None or self._loop.is_closed():
            self._loop = asyncio.new_event_loop()
        return self._loop

    @contextmanager
    def lifespan(self) -> Iterator[ErlenClient]:
        """Start the app as a server does, and stop it when the block
        ends: ``before_serving`` functions now, ``after_serving`` ones (after
        waiting for background tasks) on exit::

            with app.test_client().lifespan() as client:
                client.get("/")

        With ``driver="asgi"`` this is an ASGI lifespan on the client's
        event loop.  A startup function that raises makes this raise
        :class:`RuntimeError` with its traceback, as a server refuses to
        start.

        .. versionadded:: 0.1
        """
        app = self.application
        if self.driver == "wsgi":
            drive(app._startup(run_inline))
            try:
                yield self
            finally:
                drive(app._shutdown(run_inline))
            return
        loop = self._get_loop()
        inbox: asyncio.Queue[dict[str, t.Any]] = asyncio.Queue()
        outbox: asyncio.Queue[dict[str, t.Any]] = asyncio.Queue()
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
        task = loop.create_task(app.asgi(scope, inbox.get, outbox.put))

        def step(kind: str) -> None:
            inbox.put_nowait({"type": f"lifespan.{kind}"})
            answer = loop.run_until_complete(outbox.get())
            if answer["type"].endswith(".failed"):
                loop.run_until_complete(task)
                raise RuntimeError(
                    f"The app's lifespan {kind} failed:\n{answer.get('message', '')}"
                )

        step("startup")
        try:
            yield self
        finally:
            step("shutdown")
            loop.run_until_complete(task)

    def close(self) -> None:
        """Release the client's event loop (the ASGI driver's)."""
        self._context_stack.close()
        if self._loop is not None and not self._loop.is_closed():
            self._loop.close()

    def __del__(self) -> None:
        loop = getattr(self, "_loop", None)
        if loop is not None and not loop.is_closed():
            loop.close()

    def websocket(
        self,
        path: str,
        *,
        subprotocols: t.Sequence[str] = (),
        headers: t.Any = None,
        query_string: t.Any = None,
        timeout: float = 5.0,
    ) -> WebSocketTestSession:
        """Open a websocket to the app (through ASGI, whatever the client's
        driver: websockets are ASGI only)::

            with client.websocket("/ws/1") as ws:
                ws.send_text("hi")
                reply = ws.receive_text()

        A refused handshake raises :class:`WebSocketRejected` with the
        response's status, headers and body.
        """
        spec = make_spec(
            self.application, path, headers=headers, query_string=query_string
        )
        if self.use_cookies:
            cookie = self._cookie_header(spec)
            if cookie is not None:
                spec.headers.append(("Cookie", cookie))
        scope = spec.to_scope()
        scope.update(
            type="websocket",
            scheme="wss" if spec.scheme == "https" else "ws",
            subprotocols=list(subprotocols),
            extensions={"websocket.http.response": {}},
        )
        scope.pop("method", None)
        return WebSocketTestSession(self.application, scope, timeout=timeout)

    @contextmanager
    def session_transaction(self, *args: t.Any, **kwargs: t.Any) -> Iterator[t.Any]:
        """Open the session the next request would see, to read or change it;
        changes are saved to the client's cookies on exit::

            with client.session_transaction() as session:
                session["user_id"] = 1
        """
        self._require_cookies()
        app = self.application
        spec = make_spec(app, *args, **kwargs)
        cookie = self._cookie_header(spec)
        if cookie is not None:
            spec.headers.append(("Cookie", cookie))
        from .wsgi import request_from_environ

        request = request_from_environ(app, spec.to_environ())
        ctx = app.request_context(request)
        si = app.session_interface
        with ctx:
            session = si.open_session(app, request)
        if session is None:
            raise RuntimeError("Session backend did not open a session.")
        yield session
        if si.is_null_session(session):
            return
        response = app.response_class()
        with ctx:
            si.save_session(app, session, response)
        self._store_cookies(spec, response.headers)


class WebSocketRejected(Exception):
    """The app refused the websocket handshake with an HTTP response.

    :param status_code: the response's status.
    :param headers: its headers.
    :param body: its body.
    """

    def __init__(self, status_code: int, headers: Headers, body: bytes) -> None:
        super().__init__(f"websocket handshake rejected with status {status_code}")
        self.status_code = status_code
        self.headers = headers
        self.body = body


class WebSocketTestSession:
    """A websocket connection to the app, used synchronously from a test::

        with client.websocket("/ws/1") as ws:
            ws.send_text("hello")
            assert ws.receive_json() == {"echo": "hello"}

    The app runs on an event loop in a background thread.  A close from the
    server raises :class:`~erlen.websockets.WebSocketDisconnect` in
    ``receive``; an exception in the handler is re-raised when the block
    ends.
    """

    __test__ = False

    def __init__(
        self, app: Erlen, scope: dict[str, t.Any], timeout: float = 5.0
    ) -> None:
        import queue
        import threading

        self.app = app
        self.scope = scope
        self.timeout = timeout
        self._to_app: queue.Queue[dict[str, t.Any]] = queue.Queue()
        self._from_app: queue.Queue[dict[str, t.Any]] = queue.Queue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        #: The subprotocol the app selected, once accepted.
        self.accepted_subprotocol: str | None = None
        #: Headers the app sent with the accept.
        self.extra_headers: list[tuple[bytes, bytes]] = []
        #: The close code, once closed.
        self.close_code: int | None = None

    def _run(self) -> None:
        loop = asyncio.new_event_loop()

        async def receive() -> dict[str, t.Any]:
            return await loop.run_in_executor(None, self._to_app.get)

        async def send(message: dict[str, t.Any]) -> None:
            self._from_app.put(message)

        try:
            loop.run_until_complete(self.app.asgi(self.scope, receive, send))
        except BaseException as e:  # re-raised in the test's thread
            self._error = e
        finally:
            self._from_app.put({"type": "erlen.test.done"})
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    def _next(self) -> dict[str, t.Any]:
        import queue

        try:
            return self._from_app.get(timeout=self.timeout)
        except queue.Empty:
            raise TimeoutError(
                f"The websocket handler sent nothing within {self.timeout} s."
            ) from None

    def __enter__(self) -> WebSocketTestSession:
        self._thread.start()
        self._to_app.put({"type": "websocket.connect"})
        message = self._next()
        kind = message["type"]
        if kind == "websocket.accept":
            self.accepted_subprotocol = message.get("subprotocol")
            self.extra_headers = list(message.get("headers") or ())
            return self
        self._finish()
        if kind == "websocket.http.response.start":
            body = b""
            while True:
                part = self._next()
                if part["type"] != "websocket.http.response.body":
                    break
                body += part.get("body", b"")
                if not part.get("more_body"):
                    break
            headers = Headers(
                [
                    (k.decode("latin-1"), v.decode("latin-1"))
                    for k, v in message["headers"]
                ]
            )
            raise WebSocketRejected(message["status"], headers, body)
        if kind == "websocket.close":
            raise WebSocketRejected(403, Headers(), b"")
        raise RuntimeError(f"Unexpected first message from the app: {message!r}")

    def _finish(self) -> None:
        self._to_app.put({"type": "websocket.disconnect", "code": 1000})
        self._thread.join(self.timeout)
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def __exit__(self, *exc: object) -> None:
        if self.close_code is None:
            self.close_code = 1000
        self._finish()

    def send(self, message: dict[str, t.Any]) -> None:
        """Send a raw ASGI message to the app."""
        self._to_app.put(message)

    def send_text(self, data: str) -> None:
        """Send a text message."""
        self.send({"type": "websocket.receive", "text": data})

    def send_bytes(self, data: bytes) -> None:
        """Send a binary message."""
        self.send({"type": "websocket.receive", "bytes": data})

    def send_json(self, data: t.Any) -> None:
        """Send ``data`` as JSON text."""
        self.send_text(json.dumps(data))

    def close(self, code: int = 1000) -> None:
        """Close the connection from the client's side."""
        self.close_code = code
        self._to_app.put({"type": "websocket.disconnect", "code": code})

    def receive(self) -> str | bytes:
        """The app's next message.

        :raises erlen.websockets.WebSocketDisconnect: the app closed the
            connection (``.code`` is the close code).
        """
        from .websockets import WebSocketDisconnect

        message = self._next()
        kind = message["type"]
        if kind == "websocket.send":
            text: str | None = message.get("text")
            if text is not None:
                return text
            return bytes(message.get("bytes", b""))
        if kind == "websocket.close":
            self.close_code = message.get("code", 1000)
            raise WebSocketDisconnect(self.close_code, message.get("reason") or "")
        if kind == "erlen.test.done":
            self._from_app.put(message)
            if self._error is not None:
                error, self._error = self._error, None
                raise error
            raise WebSocketDisconnect(1006, "The handler ended without closing.")
        raise RuntimeError(f"Unexpected message from the app: {message!r}")

    def receive_text(self) -> str:
        """The next message as text."""
        data = self.receive()
        return data if isinstance(data, str) else data.decode()

    def receive_bytes(self) -> bytes:
        """The next message as bytes."""
        data = self.receive()
        return data if isinstance(data, bytes) else data.encode()

    def receive_json(self) -> t.Any:
        """The next message parsed as JSON."""
        return json.loads(self.receive())
