"""The secure defaults themselves: header caps (at the limit, one over,
disabled), security headers on every kind of response, the session
cookie's attributes, cross-origin protection, refused header injection,
forwarded headers ignored unless configured, and password rehashing."""

from __future__ import annotations

import typing as t

import pytest

from erlen import Erlen, abort, make_response, redirect, request, session
from erlen.security import generate_password_hash, needs_rehash
from erlen.testing import ErlenClient

from .helpers import check

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "SAMEORIGIN",
    "Content-Security-Policy": "frame-ancestors 'self'",
}


@pytest.fixture
def app(app: Erlen) -> Erlen:
    app.extensions["hooks"] = hooks = []

    @app.before_request
    def hook() -> None:
        hooks.append(request.path)

    @app.route("/headers")
    def headers() -> dict[str, t.Any]:
        return {
            "count": len(request.headers),
            "size": sum(len(k) + len(v) for k, v in request.headers.items()),
            "remote": request.remote_addr,
            "host": request.host,
            "scheme": request.scheme,
        }

    @app.route("/login", methods=["GET", "POST", "PUT", "DELETE"])
    def login() -> str:
        session["user"] = "alice"
        return "ok"

    @app.route("/fail")
    def fail() -> str:
        raise RuntimeError("boom at /work/secret")

    @app.route("/abort")
    def aborted() -> str:
        abort(413)

    @app.route("/inject-header")
    def inject_header() -> t.Any:
        response = make_response("x")
        response.headers["X-Value"] = request.args["v"]
        return response

    @app.route("/inject-cookie")
    def inject_cookie() -> t.Any:
        response = make_response("x")
        response.set_cookie("pref", request.args["v"])
        return response

    @app.route("/go")
    def go() -> t.Any:
        return redirect(request.args["to"])

    return app


# -- header caps ---------------------------------------------------------------


def _baseline(client: ErlenClient) -> dict[str, int]:
    """How many header fields, of how many bytes, a plain GET sends."""
    config = client.application.config
    saved = config["MAX_HEADER_COUNT"], config["MAX_HEADER_SIZE"]
    config["MAX_HEADER_COUNT"] = config["MAX_HEADER_SIZE"] = None
    response = client.get("/headers")
    config["MAX_HEADER_COUNT"], config["MAX_HEADER_SIZE"] = saved
    check(response, 200)
    return t.cast(dict[str, int], response.json)


def _extra(count: int) -> dict[str, str]:
    return {f"X-H{i:03d}": "v" for i in range(count)}


@pytest.mark.parametrize(("extra", "status"), [(5, 200), (6, 431)])
def test_max_header_count_at_and_over(
    app: Erlen, client: ErlenClient, extra: int, status: int
) -> None:
    base = _baseline(client)["count"]
    app.config["MAX_HEADER_COUNT"] = base + 5
    app.extensions["hooks"].clear()
    response = client.get("/headers", headers=_extra(extra))
    check(response, status)
    if status == 431:
        # Refused before any hook or view ran.
        assert app.extensions["hooks"] == []


def test_max_header_count_disabled(app: Erlen, client: ErlenClient) -> None:
    app.config["MAX_HEADER_COUNT"] = None
    response = client.get("/headers", headers=_extra(500))
    check(response, 200)
    assert response.json["count"] >= 500


@pytest.mark.parametrize(("pad", "status"), [(0, 200), (1, 431)])
def test_max_header_size_at_and_over(
    app: Erlen, client: ErlenClient, pad: int, status: int
) -> None:
    base = _baseline(client)["size"]
    value = "y" * 1000
    app.config["MAX_HEADER_SIZE"] = base + len("X-Big") + len(value)
    response = client.get("/headers", headers={"X-Big": value + "y" * pad})
    check(response, status)


def test_max_header_size_disabled(app: Erlen, client: ErlenClient) -> None:
    app.config["MAX_HEADER_SIZE"] = None
    response = client.get("/headers", headers={"X-Big": "y" * 200_000})
    check(response, 200)


def test_header_caps_have_defaults(app: Erlen, client: ErlenClient) -> None:
    assert app.config["MAX_HEADER_COUNT"] == 100
    assert app.config["MAX_HEADER_SIZE"] == 64 * 1024
    check(client.get("/headers", headers=_extra(200)), 431)
    check(client.get("/headers", headers={"X-Big": "y" * 70_000}), 431)


# -- security headers ----------------------------------------------------------


@pytest.mark.logs_errors
@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/headers", 200),
        ("/nowhere", 404),
        ("/fail", 500),
        ("/abort", 413),
        ("/static/a.txt", 200),
        ("/static/../secret.txt", 404),
    ],
)
def test_security_headers_on_every_response(
    client: ErlenClient, path: str, status: int
) -> None:
    response = client.get(path)
    check(response, status)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name
    assert "Strict-Transport-Security" not in response.headers


def test_security_headers_on_a_refused_request(client: ErlenClient) -> None:
    response = client.get("/headers", headers=_extra(200))
    check(response, 431)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name


# -- the session cookie --------------------------------------------------------


def test_session_cookie_is_lax_and_httponly(client: ErlenClient) -> None:
    response = client.get("/login")
    check(response, 200)
    (cookie,) = response.headers.getlist("Set-Cookie")
    attributes = [a.strip() for a in cookie.split(";")[1:]]
    assert sorted(attributes) == ["HttpOnly", "Path=/", "SameSite=Lax"]


def test_session_cookie_is_secure_over_https(client: ErlenClient) -> None:
    response = client.get("/login", base_url="https://localhost")
    check(response, 200)
    (cookie,) = response.headers.getlist("Set-Cookie")
    attributes = [a.strip() for a in cookie.split(";")[1:]]
    assert sorted(attributes) == ["HttpOnly", "Path=/", "SameSite=Lax", "Secure"]


# -- cross-origin protection ---------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://evil.com"},
        {"Origin": "http://localhost.evil.com"},
        {"Origin": "https://localhost"},  # another scheme is another origin
        {"Origin": "null"},
    ],
)
def test_cross_origin_unsafe_request_is_403(
    app: Erlen, client: ErlenClient, method: str, headers: dict[str, str]
) -> None:
    app.extensions["hooks"].clear()
    response = client.open("/login", method=method, headers=headers)
    check(response, 403)
    assert "Set-Cookie" not in response.headers
    assert app.extensions["hooks"] == []


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},
        {"Origin": "http://localhost"},
    ],
)
def test_same_origin_unsafe_request_passes(
    client: ErlenClient, headers: dict[str, str]
) -> None:
    check(client.post("/login", headers=headers), 200)


def test_cross_origin_safe_request_passes(client: ErlenClient) -> None:
    check(client.get("/login", headers={"Sec-Fetch-Site": "cross-site"}), 200)


# -- header injection ----------------------------------------------------------


@pytest.mark.logs_errors
@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("/inject-header", "a\r\nInjected: 1"),
        ("/inject-header", "a\nInjected: 1"),
        ("/inject-header", "a\x00b"),
        ("/inject-cookie", "a\r\nInjected: 1"),
        ("/go", "/a\r\nInjected: 1"),
    ],
)
def test_header_injection_is_never_sent(
    client: ErlenClient, path: str, value: str
) -> None:
    arg = "to" if path == "/go" else "v"
    response = client.get(path, query_string={arg: value})
    # The app's bug becomes a plain 500; no header of the client's making.
    check(response, 500)
    assert "Injected" not in response.headers
    assert "Location" not in response.headers
    for name, sent in response.headers.items():
        assert "\r" not in sent and "\n" not in sent and "\x00" not in sent, name


def test_cookie_value_cannot_add_attributes(client: ErlenClient) -> None:
    response = client.get("/inject-cookie", query_string={"v": "x; Domain=evil.com"})
    check(response, 200)
    (cookie,) = response.headers.getlist("Set-Cookie")
    assert [a.strip().split("=")[0] for a in cookie.split(";")[1:]] == ["Path"]


# -- forwarded headers ---------------------------------------------------------


def test_forwarded_headers_are_ignored_by_default(client: ErlenClient) -> None:
    response = client.get(
        "/headers",
        headers={
            "X-Forwarded-For": "1.2.3.4",
            "X-Forwarded-Host": "evil.com",
            "X-Forwarded-Proto": "https",
            "Forwarded": "for=1.2.3.4;host=evil.com;proto=https",
        },
    )
    check(response, 200)
    got = response.json
    assert (got["remote"], got["host"], got["scheme"]) == (
        "127.0.0.1",
        "localhost",
        "http",
    )


# -- password hashes -----------------------------------------------------------


def test_needs_rehash() -> None:
    assert needs_rehash(generate_password_hash("pw", "pbkdf2:sha256:1000")) is True
    assert needs_rehash(generate_password_hash("pw", "pbkdf2")) is True
    assert needs_rehash(generate_password_hash("pw")) is False
