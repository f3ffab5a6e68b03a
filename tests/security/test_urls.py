"""Hostile URLs and methods: NUL and newline bytes, encoded dot segments,
overlong and invalid UTF-8, open redirects through slash redirects, huge
numbers for ``int`` converters, unknown and over-long methods."""

from __future__ import annotations

import typing as t

import pytest

from erlen import Erlen, request
from erlen.testing import ErlenClient

from .helpers import assert_clean, assert_linear, call_asgi, call_wsgi, check


@pytest.fixture
def app(app: Erlen) -> Erlen:
    @app.route("/echo/<name>")
    def echo(name: str) -> dict[str, t.Any]:
        return {"name": name, "path": request.path}

    @app.route("/n/<int:n>")
    def number(n: int) -> str:
        return str(n)

    @app.route("/d/<name>/")
    def folder(name: str) -> str:
        return name

    @app.route("/args")
    def args() -> dict[str, t.Any]:
        return {"args": list(request.args.items(multi=True))}

    @app.route("/page/", methods=["GET", "POST"])
    def page() -> str:
        return "page"

    return app


def add_catch_all(app: Erlen) -> None:
    """A rule that ends in a slash and takes any path: every path without the
    slash redirects to it, the shape that turns ``//evil.com`` into an open
    redirect when the Location is not made relative."""

    @app.route("/<path:anything>/")
    def catch_all(anything: str) -> str:
        return anything


def missing(client: ErlenClient) -> t.Any:
    """The 404 of a plainly missing static file, to compare others with."""
    response = client.get("/static/no-such-file.txt")
    check(response, 404)
    return response


# -- NUL and newline -----------------------------------------------------------


def test_nul_byte_reaches_the_view_whole(client: ErlenClient) -> None:
    # Not truncated at the NUL (the C-string bug), not turned into a 500.
    response = client.get("/echo/a%00b")
    check(response, 200)
    assert response.json == {"name": "a\x00b", "path": "/echo/a\x00b"}


@pytest.mark.parametrize(
    "path", ["/%00", "/static/a.txt%00", "/static/a.txt%00.png", "/static/%00/a.txt"]
)
def test_nul_byte_in_static_path_is_the_plain_404(
    client: ErlenClient, path: str
) -> None:
    baseline = missing(client)
    response = client.get(path)
    check(response, 404)
    assert response.data == baseline.data


def test_crlf_in_redirected_path_cannot_inject_a_header(client: ErlenClient) -> None:
    # ``/d/<name>/`` redirects ``/d/<name>`` to add the slash: the Location is
    # built from the decoded path, which here holds CR LF.
    response = client.get("/d/a%0d%0aSet-Cookie:%20injected=1")
    check(response, 308)
    assert response.headers["Location"] == "/d/a%0D%0ASet-Cookie:%20injected=1/"
    assert "Set-Cookie" not in response.headers
    for name, value in response.headers.items():
        assert "\r" not in value and "\n" not in value, (name, value)


def test_newline_reaches_the_view_whole(client: ErlenClient) -> None:
    response = client.get("/echo/%0a")
    check(response, 200)
    assert response.json["name"] == "\n"


# -- encoded dot segments ------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/static/%2e%2e%2fsecret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/..%2fsecret.txt",
        "/static/.%2e/secret.txt",
        "/static/sub/%2e%2e/%2e%2e/secret.txt",
        "/static/%2e%2e%2fstatic2%2fsecret.txt",
    ],
)
def test_encoded_dot_segments_are_the_plain_404(client: ErlenClient, path: str) -> None:
    baseline = missing(client)
    response = client.get(path)
    check(response, 404)
    assert response.data == baseline.data
    assert b"SECRET" not in response.data


# -- invalid UTF-8 -------------------------------------------------------------


def _raw_path(app: Erlen, driver: str, raw: bytes) -> tuple[int, bytes]:
    """GET a path of raw bytes, as a server would pass it on: WSGI gets the
    bytes as latin-1 text, ASGI the UTF-8 decoding the server made (uvicorn:
    ``unquote``, invalid bytes as U+FFFD)."""
    from .helpers import environ_for, scope_for

    if driver == "wsgi":
        environ = environ_for(app, "/")
        environ["PATH_INFO"] = raw.decode("latin-1")
        result = call_wsgi(app, environ)
    else:
        scope = scope_for(app, "/")
        scope["path"] = raw.decode("utf-8", "replace")
        scope["raw_path"] = raw
        got, _ = call_asgi(app, scope, [{"type": "http.request", "body": b""}])
        assert got is not None
        result = got
    assert_clean(result.body)
    return result.status, result.body


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        # Overlong "." (C0 AE): two invalid bytes, never a dot.
        (b"/echo/\xc0\xae\xc0\xae", "\ufffd" * 4),
        (b"/echo/a\xffb", "a\ufffdb"),
        # A lone continuation byte and a truncated sequence.
        (b"/echo/\x80", "\ufffd"),
        (b"/echo/\xe2\x82", "\ufffd"),
    ],
)
def test_invalid_utf8_in_path_becomes_replacement_chars(
    app: Erlen, driver: str, raw: bytes, name: str
) -> None:
    import json

    status, body = _raw_path(app, driver, raw)
    assert status == 200
    assert json.loads(body)["name"] == name


@pytest.mark.parametrize(
    "raw", [b"/static/\xc0\xae\xc0\xae/secret.txt", b"/static/\xc0\xae./secret.txt"]
)
def test_overlong_dots_in_static_path_are_404(
    app: Erlen, driver: str, raw: bytes
) -> None:
    status, body = _raw_path(app, driver, raw)
    assert status == 404
    assert b"SECRET" not in body


def test_overlong_dots_client_encoded(client: ErlenClient) -> None:
    response = client.get("/static/%c0%ae%c0%ae/secret.txt")
    check(response, 404)
    assert b"SECRET" not in response.data


def test_invalid_utf8_in_query_becomes_replacement_chars(client: ErlenClient) -> None:
    response = client.get("/args", query_string=b"q=\xff\xfe&r=%ff&%c0%ae=1")
    check(response, 200)
    assert response.json["args"] == [
        ["q", "\ufffd\ufffd"],
        ["r", "\ufffd"],
        ["\ufffd\ufffd", "1"],
    ]


# -- open redirects through slash redirects ------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "//evil.com/x",
        "//evil.com",
        "///evil.com",
        "//evil.com/page",
        "/\\evil.com",
        "//\\evil.com",
        "/\\/evil.com",
        "/\t/evil.com",
        "//evil.com/x/",
    ],
)
def test_slash_redirect_is_never_an_open_redirect(
    app: Erlen, client: ErlenClient, path: str
) -> None:
    add_catch_all(app)
    # The test client reads "//host/x" as a host, so the path is set as the
    # server would pass it.
    response = client.get("/", environ_overrides={"PATH_INFO": path})
    check(response, 308)
    location = response.headers["Location"]
    assert location.startswith("/")
    assert not location.startswith(("//", "/\\"))
    # What a browser resolves after dropping tabs and newlines and reading
    # "\" as "/" must still be a path on this host (percent escapes stay).
    seen = location.replace("\t", "").replace("\n", "").replace("\\", "/")
    assert not seen.startswith("//"), location


def test_merge_slashes_redirect_keeps_the_host(app: Erlen, client: ErlenClient) -> None:
    add_catch_all(app)
    response = client.get("/", environ_overrides={"PATH_INFO": "//page/"})
    check(response, 308)
    assert response.headers["Location"] == "/page/"


# -- huge numbers for int converters -------------------------------------------


def test_ten_kilobyte_integer_is_404(client: ErlenClient) -> None:
    # int() of more than 4300 digits raises ValueError: it must not become a 500.
    response = client.get("/n/" + "9" * 10_000)
    check(response, 404)


def test_huge_integer_costs_linear_time(client: ErlenClient) -> None:
    def make(n: int) -> t.Callable[[], object]:
        path = "/n/" + "7" * n
        return lambda: client.get(path)

    assert_linear(make, 100_000)


def test_integer_at_a_normal_size_still_matches(client: ErlenClient) -> None:
    response = client.get("/n/" + "9" * 18)
    check(response, 200)
    assert response.data == b"9" * 18


# -- methods -------------------------------------------------------------------


def test_unknown_method_is_405_with_allow(client: ErlenClient) -> None:
    response = client.open("/page/", method="FOO")
    check(response, 405)
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS, POST"


def test_over_long_method_is_405_and_not_echoed(client: ErlenClient) -> None:
    method = "X" * 10_000
    response = client.open("/page/", method=method)
    check(response, 405)
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS, POST"
    assert method.encode() not in response.data
    assert len(response.data) < 1000


def test_unknown_method_on_missing_url_is_404(client: ErlenClient) -> None:
    response = client.open("/nowhere", method="FOO")
    check(response, 404)
