"""The debug page: content, escaping, masking, and both middlewares."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import typing as t

import pytest

from erlen import Erlen
from erlen.debug import (
    MASK,
    DebugMiddleware,
    DebugWSGIMiddleware,
    RequestInfo,
    extract_frames,
    is_library_file,
    render_debug_page,
    wants_html,
)

SECRET = "s3cr3t-signing-key"


def _raise(message: str) -> BaseException:
    def inner_view(user_id: int) -> None:
        note = "x" * 5000
        token_like = SECRET  # shows up in a local: must be masked anyway
        raise ValueError(message + f" ({len(note)}, {token_like[:0]})")

    try:
        inner_view(42)
    except ValueError as e:
        return e
    raise AssertionError("not raised")


def _request_info() -> RequestInfo:
    scope = {
        "type": "http",
        "method": "POST",
        "scheme": "http",
        "path": "/items/42",
        "query_string": b"page=2&sort=name&page=3",
        "headers": [
            (b"host", b"example.test"),
            (b"accept", b"text/html"),
            (b"cookie", b"session=abcdef123456; theme=dark"),
            (b"authorization", b"Bearer tok-987654321"),
            (b"content-type", b"application/x-www-form-urlencoded"),
        ],
    }
    return RequestInfo.from_scope(scope, b"title=Hi&body=%3Cb%3E&title=again")


CONFIG = {
    "DEBUG": True,
    "SECRET_KEY": SECRET,
    "API_TOKEN": "tok-abcdef",
    "DB_PASSWORD": "hunter2hunter2",
    "SESSION_COOKIE_NAME": "session",
    "OAUTH_URL": "https://auth.example.test",
    "UNSET_SECRET": None,
    "GREETING": "<hello>",
}


def test_page_shows_exception_frames_request_and_config() -> None:
    exc = _raise("bad <script>alert('x')</script> & more")
    page = render_debug_page(exc, _request_info(), CONFIG, as_html=True)
    # The exception, escaped: shown as text, never as markup.
    assert "ValueError" in page
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in page
    # Every frame: file, line, function, the source line and the locals.
    assert __file__ in page
    assert "_raise.&lt;locals&gt;.inner_view" in page
    assert "raise ValueError(message" in page
    assert "user_id" in page and ">42<" in page
    # A long repr is truncated.
    assert "x" * 5000 not in page
    assert "x" * 200 in page and "…" in page
    # The request.
    assert "POST" in page
    assert "http://example.test/items/42?page=2&amp;sort=name&amp;page=3" in page
    assert "page, sort" in page  # query keys, each once
    assert "title, body" in page  # form keys, each once
    assert "session=***; theme=***" in page  # cookie names, not values
    assert "abcdef123456" not in page
    assert "tok-987654321" not in page
    # The config, secrets masked wherever they would appear.
    assert "&lt;hello&gt;" in page
    assert "https://auth.example.test" not in page
    for secret in (SECRET, "tok-abcdef", "hunter2hunter2"):
        assert secret not in page
    assert f"<tr><th>SECRET_KEY</th><td>{MASK}</td></tr>" in page
    assert "<tr><th>UNSET_SECRET</th><td>None</td></tr>" in page
    assert "<tr><th>DEBUG</th><td>True</td></tr>" in page
    # No code can run on the page.
    assert "<script" not in page and "onclick" not in page


def test_plain_text_page() -> None:
    exc = _raise("<b>plain</b>")
    text = render_debug_page(exc, _request_info(), CONFIG, as_html=False)
    assert "<html" not in text and "&lt;" not in text
    assert "ValueError: <b>plain</b>" in text
    assert "Traceback (most recent call last):" in text
    assert f'File "{__file__}"' in text
    assert "user_id = 42" in text
    assert "Form keys: title, body" in text
    assert "SECRET_KEY = ***" in text
    assert SECRET not in text


def test_user_and_library_frames_are_told_apart() -> None:
    try:
        json.loads("{broken")
    except ValueError as e:
        exc = e
    frames = extract_frames(exc)
    assert frames[0].filename == __file__ and frames[0].is_user
    assert any(not f.is_user and "json" in f.filename for f in frames)
    page = render_debug_page(exc, None, None)
    assert 'class="frame user" open' in page
    assert 'class="frame library"' in page
    assert is_library_file(json.__file__)
    assert is_library_file(logging.__file__)
    assert is_library_file(pytest.__file__)  # site-packages
    import erlen

    assert is_library_file(erlen.__file__)
    assert not is_library_file(__file__)


def test_failing_repr_and_chained_exceptions() -> None:
    class Nasty:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    def fails() -> None:
        obj = Nasty()
        try:
            {}["missing"]
        except KeyError as e:
            raise LookupError(f"could not find it in {obj.__class__.__name__}") from e

    try:
        fails()
    except LookupError as e:
        exc = e
    text = render_debug_page(exc, None, None, as_html=False)
    assert "obj = <repr of Nasty object failed: RuntimeError>" in text
    assert text.index("KeyError: 'missing'") < text.index(
        "The above exception was the direct cause"
    )
    assert text.index("The above exception was the direct cause") < text.rindex(
        "LookupError: could not find it"
    )


def test_syntax_error_points_at_the_line(tmp_path: t.Any) -> None:
    source = tmp_path / "broken_mod.py"
    source.write_text("x = 1\ndef oops(:\n    pass\n")
    try:
        compile(source.read_text(), str(source), "exec")
    except SyntaxError as e:
        exc = e
    frames = extract_frames(exc)
    assert frames[-1].filename == str(source) and frames[-1].lineno == 2
    assert (2, "def oops(:") in frames[-1].context


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("text/html,application/xhtml+xml,*/*;q=0.8", True),
        ("application/xhtml+xml", True),
        ("TEXT/HTML; q=0.5", True),
        ("text/html;q=0", False),
        ("*/*", False),
        ("application/json", False),
        ("", False),
        (None, False),
    ],
)
def test_wants_html(accept: str | None, expected: bool) -> None:
    assert wants_html(accept) is expected


def test_multipart_form_keys() -> None:
    boundary = "XyZ"
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="name"\r\n\r\nAda\r\n'
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="avatar"; filename="a.png"\r\n'
        "Content-Type: image/png\r\n\r\nPNG\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/up",
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "CONTENT_TYPE": f"multipart/form-data; boundary={boundary}",
        "CONTENT_LENGTH": str(len(body)),
    }
    info = RequestInfo.from_environ(environ, body)
    assert info.form_keys == ["name", "avatar (file)"]
    assert info.url == "http://localhost:80/up"
    assert info.note is None
    truncated = RequestInfo.from_environ(environ, body[:10], truncated=True)
    assert truncated.form_keys == [] and "larger than" in (truncated.note or "")


# -- the middlewares ------------------------------------------------------------


def _make_app(debug: bool = True) -> Erlen:
    app = Erlen("debug_test_app", static_folder=None)
    app.config.update(SECRET_KEY=SECRET, PROPAGATE_EXCEPTIONS=True)
    app.debug = debug

    @app.route("/boom", methods=["GET", "POST", "HEAD"])
    def boom() -> str:
        raise ValueError("<script>alert(1)</script>")

    @app.route("/ok")
    def ok() -> str:
        return "fine"

    return app


def _asgi_request(
    asgi: t.Any,
    path: str,
    method: str = "GET",
    headers: list[tuple[bytes, bytes]] | None = None,
    body: bytes = b"",
) -> tuple[int, dict[bytes, bytes], bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"q=1",
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1234),
    }
    sent: list[dict[str, t.Any]] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, t.Any]:
        if messages:
            return messages.pop(0)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, t.Any]) -> None:
        sent.append(message)

    asyncio.run(asgi(scope, receive, send))
    start = sent[0]
    assert start["type"] == "http.response.start"
    out = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], dict(start["headers"]), out


def test_asgi_middleware_shows_the_page(caplog: pytest.LogCaptureFixture) -> None:
    app = _make_app()
    middleware = DebugMiddleware(app.asgi, app)
    status, headers, body = _asgi_request(
        middleware,
        "/boom",
        "POST",
        [
            (b"accept", b"text/html"),
            (b"content-type", b"application/x-www-form-urlencoded"),
        ],
        b"field=1",
    )
    page = body.decode()
    assert status == 500
    assert headers[b"content-type"] == b"text/html; charset=utf-8"
    assert b"script-src" not in headers[b"content-security-policy"]
    assert headers[b"content-security-policy"].startswith(b"default-src 'none'")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>" not in page
    assert "in <code>_make_app.&lt;locals&gt;.boom</code>" in page
    assert "field" in page and SECRET not in page
    # The middleware's own frame is not shown.
    assert "in <code>DebugMiddleware.__call__</code>" not in page
    # The terminal gets the traceback.
    assert "Exception on http://testserver/boom?q=1 [POST]" in caplog.text
    assert "<script>alert(1)</script>" in caplog.text


def test_asgi_middleware_plain_text_and_head() -> None:
    app = _make_app()
    middleware = DebugMiddleware(app.asgi, app)
    status, headers, body = _asgi_request(
        middleware, "/boom", headers=[(b"accept", b"*/*")]
    )
    assert status == 500
    assert headers[b"content-type"] == b"text/plain; charset=utf-8"
    assert body.decode().startswith("ValueError: <script>alert(1)</script>")
    status, headers, body = _asgi_request(middleware, "/boom", "HEAD")
    assert status == 500 and body == b"" and int(headers[b"content-length"]) > 0


def test_asgi_middleware_passes_good_responses_and_other_scopes() -> None:
    app = _make_app()
    middleware = DebugMiddleware(app.asgi, app)
    status, _, body = _asgi_request(middleware, "/ok")
    assert (status, body) == (200, b"fine")

    seen: list[str] = []

    async def inner(scope: t.Any, receive: t.Any, send: t.Any) -> None:
        seen.append(scope["type"])

    async def nothing() -> dict[str, t.Any]:
        return {}

    async def ignore(message: t.Any) -> None:
        return None

    asyncio.run(DebugMiddleware(inner, app)({"type": "lifespan"}, nothing, ignore))
    assert seen == ["lifespan"]


def test_asgi_middleware_reraises_once_the_response_started() -> None:
    app = _make_app()

    async def half(scope: t.Any, receive: t.Any, send: t.Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("mid-stream")

    with pytest.raises(RuntimeError, match="mid-stream"):
        _asgi_request(DebugMiddleware(half, app), "/")


def test_debug_off_page_says_nothing(caplog: pytest.LogCaptureFixture) -> None:
    app = _make_app(debug=False)
    middleware = DebugMiddleware(app.asgi, app)
    status, _, body = _asgi_request(
        middleware, "/boom", headers=[(b"accept", b"text/html")]
    )
    assert status == 500
    assert b"Internal Server Error" in body
    assert b"script" not in body and b"ValueError" not in body and b"boom" not in body
    assert "ValueError" in caplog.text  # the terminal still has it


@pytest.mark.parametrize("driver", ["wsgi", "asgi"])
def test_app_500_without_debug_says_nothing(driver: str) -> None:
    app = Erlen("quiet_app", static_folder=None)
    app.config["SECRET_KEY"] = SECRET

    @app.route("/boom")
    def boom() -> str:
        raise ValueError("internal detail <script>")

    response = app.test_client(driver=driver).get("/boom")  # type: ignore[arg-type]
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "internal detail" not in text and "ValueError" not in text


def test_wsgi_middleware_shows_the_page(caplog: pytest.LogCaptureFixture) -> None:
    app = _make_app()
    app.wsgi_app = DebugWSGIMiddleware(app.wsgi_app, app)  # type: ignore[method-assign]
    body = b"a=1&b=2"
    environ = {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/boom",
        "QUERY_STRING": "x=1",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "localhost",
        "HTTP_ACCEPT": "text/html",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
    }
    started: list[t.Any] = []

    def start_response(status: str, headers: t.Any, exc_info: t.Any = None) -> None:
        started.append((status, dict(headers)))

    page = b"".join(app(environ, start_response)).decode()
    status, headers = started[0]
    assert status.startswith("500")
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page
    # The view never read the body; its keys are listed all the same.
    assert "a, b" in page
    assert "http://localhost/boom?x=1" in page
    assert "in <code>DebugWSGIMiddleware.__call__</code>" not in page
    assert "Exception on http://localhost/boom?x=1 [POST]" in caplog.text

    ok = dict(environ, PATH_INFO="/ok", REQUEST_METHOD="GET", HTTP_ACCEPT="*/*")
    ok["wsgi.input"] = io.BytesIO(b"")
    started.clear()
    assert b"".join(app(ok, start_response)) == b"fine"
    assert started[0][0].startswith("200")
