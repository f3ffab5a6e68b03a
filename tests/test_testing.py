"""The test client: Flask's API, through the WSGI and the ASGI driver.

Where Flask's client has the feature, the same app is built with Flask and
with Erlen (``_build``) and both clients' results are compared; every test
runs through both Erlen drivers (the ``client`` fixture).
"""

from __future__ import annotations

import io
import types
import typing as t

import flask
import pytest

import erlen
from erlen import Erlen
from erlen.testing import ErlenClient, TestResponse

# -- one app, built with either framework ------------------------------------


def _build(app: t.Any, fw: types.ModuleType) -> t.Any:
    """Register the same routes on a Flask or an Erlen app; ``fw`` is the
    ``flask`` or ``erlen`` module."""
    request, session, g = fw.request, fw.session, fw.g
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    @app.route("/echo", methods=methods)
    @app.route("/echo/<path:rest>", methods=methods)
    def echo(rest: str | None = None) -> t.Any:
        files = {
            name: [f.filename, f.mimetype, f.read().decode()]
            for name, f in request.files.items(multi=True)
        }
        return {
            "method": request.method,
            "path": request.path,
            "root": request.root_path,
            "args": request.args.to_dict(flat=False),
            "form": request.form.to_dict(flat=False),
            "files": files,
            "data": request.get_data(as_text=True),
            "mimetype": request.mimetype,
            "json": request.get_json(silent=True),
            "x_a": request.headers.get("X-A"),
            "x_b": request.headers.get("X-B"),
            "cookies": request.cookies.to_dict(),
            "host": request.host,
            "scheme": request.scheme,
        }

    @app.route("/redirect/<int:code>", methods=methods)
    def redirect_(code: int) -> t.Any:
        return fw.redirect(request.args.get("to", "/echo"), code=code)

    @app.route("/text")
    def text() -> t.Any:
        return "héllo", 201, {"X-Thing": "yes"}

    @app.route("/json")
    def json_() -> t.Any:
        return fw.jsonify(answer=42, items=[1, 2])

    @app.route("/set-cookie")
    def set_cookie() -> t.Any:
        response = fw.make_response("set")
        for key, value in request.args.items():
            response.set_cookie(key, value)
        return response

    @app.route("/set-cookie-attrs")
    def set_cookie_attrs() -> t.Any:
        response = fw.make_response("set")
        response.set_cookie(
            "attrs", "v", max_age=3600, httponly=True, secure=True, samesite="Lax"
        )
        response.set_cookie("scoped", "s", path="/echo")
        response.set_cookie("wide", "w", domain="localhost")
        response.set_cookie("odd", 'a b,c;"d')
        return response

    @app.route("/delete-cookie/<key>")
    def delete_cookie(key: str) -> t.Any:
        response = fw.make_response("deleted")
        response.delete_cookie(key)
        return response

    @app.route("/session/set", methods=["GET", "POST"])
    def session_set() -> t.Any:
        session.update(request.args.to_dict())
        return "stored"

    @app.route("/session/get")
    def session_get() -> t.Any:
        return dict(session)

    @app.route("/g")
    def set_g() -> t.Any:
        g.value = request.args.get("v", "none")
        return "g set"

    @app.route("/stream")
    def stream() -> t.Any:
        def generate() -> t.Iterator[str]:
            yield "one "
            yield "two"

        return fw.Response(generate(), mimetype="text/plain")

    @app.route("/empty")
    def empty() -> t.Any:
        return "", 204

    @app.route("/boom")
    def boom() -> t.Any:
        g.before_boom = True
        raise ZeroDivisionError("boom")

    return app


@pytest.fixture
def app(app: Erlen) -> Erlen:
    return t.cast(Erlen, _build(app, erlen))


@pytest.fixture
def flask_client() -> t.Any:
    app = flask.Flask("flask_app")
    app.config.update(TESTING=True, SECRET_KEY="test key")
    return _build(app, flask).test_client()


def both(
    client: ErlenClient, flask_client: t.Any, call: str, /, *args: t.Any, **kw: t.Any
) -> tuple[t.Any, TestResponse]:
    """The same call (``"get"``, ``"post"``...) on Flask's client and on
    Erlen's."""
    theirs = getattr(flask_client, call)(*args, **kw)
    return theirs, getattr(client, call)(*args, **kw)


def same_json(pair: tuple[t.Any, TestResponse], *keys: str) -> dict[str, t.Any]:
    """Both responses are 200 with the same JSON (or the same ``keys``)."""
    theirs, ours = pair
    assert theirs.status_code == ours.status_code == 200, ours.text
    a, b = theirs.get_json(), ours.get_json()
    if keys:
        a = {k: a[k] for k in keys}
        b = {k: b[k] for k in keys}
    assert b == a
    return t.cast(dict[str, t.Any], b)


# -- methods -------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_method_shortcuts(
    client: ErlenClient, flask_client: t.Any, method: str
) -> None:
    got = same_json(both(client, flask_client, method, "/echo"))
    assert got["method"] == method.upper()


def test_open_with_method(client: ErlenClient, flask_client: t.Any) -> None:
    got = same_json(both(client, flask_client, "open", "/echo", method="PATCH"))
    assert got["method"] == "PATCH"
    assert client.open("/echo").get_json()["method"] == "GET"


def test_options_is_automatic(client: ErlenClient, flask_client: t.Any) -> None:
    theirs, ours = both(client, flask_client, "options", "/text")
    assert ours.status_code == theirs.status_code == 200
    allow = {m.strip() for m in ours.headers["Allow"].split(",")}
    assert allow == {m.strip() for m in theirs.headers["Allow"].split(",")}
    assert allow == {"GET", "HEAD", "OPTIONS"}
    assert ours.data == theirs.data == b""


def test_head_has_headers_and_no_body(client: ErlenClient, flask_client: t.Any) -> None:
    theirs, ours = both(client, flask_client, "head", "/text")
    assert ours.status_code == theirs.status_code == 201
    assert ours.data == theirs.data == b""
    # The headers of the GET, including the length of the body not sent.
    assert ours.headers["Content-Length"] == theirs.headers["Content-Length"] == "6"
    assert ours.headers["X-Thing"] == "yes"


# -- request bodies ------------------------------------------------------------


def test_data_dict_is_urlencoded_with_list_values(
    client: ErlenClient, flask_client: t.Any
) -> None:
    data = {"name": "Zoë", "tag": ["a", "b"]}
    got = same_json(both(client, flask_client, "post", "/echo", data=data))
    assert got["mimetype"] == "application/x-www-form-urlencoded"
    assert got["form"] == {"name": ["Zoë"], "tag": ["a", "b"]}


@pytest.mark.parametrize("data", ["plain ✓ text", "plain ✓ text".encode()])
def test_data_str_and_bytes_are_the_raw_body(
    client: ErlenClient, flask_client: t.Any, data: str | bytes
) -> None:
    got = same_json(both(client, flask_client, "post", "/echo", data=data))
    assert got["data"] == "plain ✓ text"
    assert got["mimetype"] == ""  # no content type guessed
    assert got["form"] == {}


def test_data_with_content_type(client: ErlenClient, flask_client: t.Any) -> None:
    got = same_json(
        both(client, flask_client, "put", "/echo", data="<a/>", content_type="text/xml")
    )
    assert got["mimetype"] == "text/xml"
    assert got["data"] == "<a/>"


def test_files(client: ErlenClient, flask_client: t.Any) -> None:
    def data() -> dict[str, t.Any]:
        # Fresh file objects for each client: they are read when encoding.
        return {
            "field": "value",
            "doc": (io.BytesIO(b"text file"), "notes.txt"),
            "img": (io.BytesIO(b"PNG..."), "pic.bin", "image/png"),
            "many": [(io.BytesIO(b"1"), "one.txt"), (io.BytesIO(b"2"), "two.txt")],
        }

    theirs = flask_client.post("/echo", data=data())
    got = same_json((theirs, client.post("/echo", data=data())))
    assert got["mimetype"] == "multipart/form-data"
    assert got["form"] == {"field": ["value"]}
    # The echo view keeps the last file of "many" (see the next test).
    assert got["files"] == {
        "doc": ["notes.txt", "text/plain", "text file"],
        "img": ["pic.bin", "image/png", "PNG..."],
        "many": ["two.txt", "text/plain", "2"],
    }


def test_files_list_values_all_arrive(client: ErlenClient, app: Erlen) -> None:
    data = {"many": [(io.BytesIO(b"1"), "one.txt"), (io.BytesIO(b"2"), "two.txt")]}
    with client:
        client.post("/echo", data=data)
        files = erlen.request.files.getlist("many")
        assert [f.filename for f in files] == ["one.txt", "two.txt"]


def test_json(client: ErlenClient, flask_client: t.Any) -> None:
    body = {"a": [1, 2.5, None, True], "é": "ü"}
    got = same_json(both(client, flask_client, "post", "/echo", json=body))
    assert got["json"] == body
    assert got["mimetype"] == "application/json"


def test_json_and_data_together_is_an_error(client: ErlenClient) -> None:
    with pytest.raises(TypeError, match="both 'data' and 'json'"):
        client.post("/echo", data="x", json={"a": 1})


# -- query strings and headers -----------------------------------------------


@pytest.mark.parametrize(
    "query_string",
    [{"q": "a b", "n": ["1", "2"], "é": "ü"}, "q=a+b&n=1&n=2&%C3%A9=%C3%BC"],
    ids=["dict", "str"],
)
def test_query_string(
    client: ErlenClient, flask_client: t.Any, query_string: t.Any
) -> None:
    got = same_json(
        both(client, flask_client, "get", "/echo", query_string=query_string)
    )
    assert got["args"] == {"q": ["a b"], "n": ["1", "2"], "é": ["ü"]}


def test_query_string_in_path(client: ErlenClient, flask_client: t.Any) -> None:
    got = same_json(both(client, flask_client, "get", "/echo?x=1&x=2"))
    assert got["args"] == {"x": ["1", "2"]}


def test_query_string_in_path_and_argument_is_an_error(
    client: ErlenClient, flask_client: t.Any
) -> None:
    for c in (flask_client, client):
        with pytest.raises(ValueError, match="Query string is defined in the path"):
            c.get("/echo?a=1", query_string={"b": "2"})


@pytest.mark.parametrize(
    "headers",
    [{"X-A": "1", "X-B": "two"}, [("X-A", "1"), ("X-B", "two")]],
    ids=["dict", "list"],
)
def test_headers(client: ErlenClient, flask_client: t.Any, headers: t.Any) -> None:
    got = same_json(both(client, flask_client, "get", "/echo", headers=headers))
    assert (got["x_a"], got["x_b"]) == ("1", "two")


def test_repeated_header(client: ErlenClient, flask_client: t.Any) -> None:
    headers = [("X-A", "1"), ("X-A", "2")]
    got = same_json(both(client, flask_client, "get", "/echo", headers=headers))
    assert got["x_a"] == "1, 2"


def test_explicit_header_wins_over_client_default(client: ErlenClient) -> None:
    with client:
        client.get("/echo", headers={"User-Agent": "custom/1.0"})
        assert erlen.request.headers["User-Agent"] == "custom/1.0"
        client.get("/echo")
        assert erlen.request.headers["User-Agent"] == "Erlen test client"


@pytest.mark.parametrize("path", ["/echo/café", "/echo/caf%C3%A9"])
def test_non_ascii_path(client: ErlenClient, flask_client: t.Any, path: str) -> None:
    got = same_json(both(client, flask_client, "get", path), "path")
    assert got["path"] == "/echo/café"


def test_base_url(client: ErlenClient, flask_client: t.Any) -> None:
    got = same_json(
        both(client, flask_client, "get", "/echo", base_url="https://example.org/app")
    )
    assert (got["host"], got["scheme"], got["root"], got["path"]) == (
        "example.org",
        "https",
        "/app",
        "/echo",
    )


# -- redirects -----------------------------------------------------------------


@pytest.mark.parametrize("code", [301, 302, 303])
def test_redirect_becomes_get_without_body(
    client: ErlenClient, flask_client: t.Any, code: int
) -> None:
    theirs, ours = both(
        client,
        flask_client,
        "post",
        f"/redirect/{code}",
        data={"a": "1"},
        follow_redirects=True,
    )
    got = same_json((theirs, ours), "method", "form", "data", "mimetype", "path")
    assert got == {
        "method": "GET",
        "form": {},
        "data": "",
        "mimetype": "",
        "path": "/echo",
    }
    assert [r.status_code for r in ours.history] == [code]
    assert ours.history[0].location == "/echo"
    assert ours.request.path == "/echo"


@pytest.mark.parametrize("code", [307, 308])
def test_redirect_keeps_method_and_body(
    client: ErlenClient, flask_client: t.Any, code: int
) -> None:
    theirs, ours = both(
        client,
        flask_client,
        "put",
        f"/redirect/{code}",
        data={"a": "1"},
        follow_redirects=True,
    )
    got = same_json((theirs, ours), "method", "form", "mimetype")
    assert got == {
        "method": "PUT",
        "form": {"a": ["1"]},
        "mimetype": "application/x-www-form-urlencoded",
    }
    assert [r.status_code for r in ours.history] == [code]


def test_redirect_chain_and_absolute_location(
    client: ErlenClient, flask_client: t.Any
) -> None:
    # /redirect/302 -> http://localhost/redirect/301?to=/echo/end -> /echo/end
    inner = "http://localhost/redirect/301?to=/echo/end"
    theirs, ours = both(
        client,
        flask_client,
        "get",
        "/redirect/302",
        query_string={"to": inner},
        follow_redirects=True,
    )
    same_json((theirs, ours), "path", "method")
    assert ours.get_json()["path"] == "/echo/end"
    assert [r.status_code for r in ours.history] == [302, 301]
    assert [r.location for r in ours.history] == [inner, "/echo/end"]
    assert [r.status_code for r in theirs.history] == [302, 301]


def test_relative_location_is_resolved_against_the_request_url(
    client: ErlenClient,
) -> None:
    # RFC 3986, as a browser does: "echo" from /redirect/302 is
    # /redirect/echo.  (Werkzeug's client requests /echo instead.)
    response = client.get(
        "/redirect/302", query_string={"to": "../echo/x"}, follow_redirects=True
    )
    assert response.get_json()["path"] == "/echo/x"
    response = client.get(
        "/redirect/302", query_string={"to": "echo"}, follow_redirects=True
    )
    assert response.status_code == 404
    assert response.request.path == "/redirect/echo"


def test_redirect_not_followed_by_default(
    client: ErlenClient, flask_client: t.Any
) -> None:
    theirs, ours = both(client, flask_client, "get", "/redirect/302")
    assert ours.status_code == theirs.status_code == 302
    assert ours.location == theirs.location == "/echo"
    assert ours.history == ()


def test_redirect_under_a_root_path(client: ErlenClient) -> None:
    response = client.get(
        "/redirect/302",
        base_url="http://localhost/app",
        query_string={"to": "/app/echo/in"},
        follow_redirects=True,
    )
    assert response.get_json()["root"] == "/app"
    assert response.get_json()["path"] == "/echo/in"
    # Out of the root: the whole path, no root.
    response = client.get(
        "/redirect/302",
        base_url="http://localhost/app",
        query_string={"to": "/echo/out"},
        follow_redirects=True,
    )
    assert (response.get_json()["root"], response.get_json()["path"]) == (
        "",
        "/echo/out",
    )


def test_external_redirect_is_not_followed(
    client: ErlenClient, flask_client: t.Any
) -> None:
    for c in (flask_client, client):
        with pytest.raises(RuntimeError, match="external redirects"):
            c.get(
                "/redirect/302",
                query_string={"to": "https://elsewhere.example/"},
                follow_redirects=True,
            )


def test_subdomain_redirect_needs_opt_in(client: ErlenClient) -> None:
    kw: dict[str, t.Any] = {
        "query_string": {"to": "http://api.localhost/echo"},
        "follow_redirects": True,
    }
    with pytest.raises(RuntimeError, match="subdomain redirects"):
        client.get("/redirect/302", **kw)
    client.allow_subdomain_redirects = True
    assert client.get("/redirect/302", **kw).get_json()["host"] == "api.localhost"


# -- cookies -------------------------------------------------------------------


def test_server_cookies_are_kept(client: ErlenClient, flask_client: t.Any) -> None:
    both(client, flask_client, "get", "/set-cookie", query_string={"a": "1", "b": "2"})
    got = same_json(both(client, flask_client, "get", "/echo"), "cookies")
    assert got["cookies"] == {"a": "1", "b": "2"}


def test_max_age_zero_deletes(client: ErlenClient, flask_client: t.Any) -> None:
    both(client, flask_client, "get", "/set-cookie", query_string={"a": "1", "b": "2"})
    both(client, flask_client, "get", "/delete-cookie/a")
    got = same_json(both(client, flask_client, "get", "/echo"), "cookies")
    assert got["cookies"] == {"b": "2"}
    assert client.get_cookie("a") is None
    assert client.get_cookie("b") is not None


def test_cookie_path_scoping(client: ErlenClient, flask_client: t.Any) -> None:
    both(client, flask_client, "get", "/set-cookie-attrs")
    inside = same_json(both(client, flask_client, "get", "/echo/deeper"), "cookies")
    assert "scoped" in inside["cookies"]
    outside = same_json(both(client, flask_client, "get", "/session/get"))
    assert outside == {}  # the route exists; the cookie is just not sent
    with client:
        client.get("/session/get")
        assert "scoped" not in erlen.request.cookies
        assert erlen.request.cookies["wide"] == "w"


def test_get_cookie_attributes(client: ErlenClient, flask_client: t.Any) -> None:
    both(client, flask_client, "get", "/set-cookie-attrs")
    for c in (flask_client, client):
        attrs = c.get_cookie("attrs")
        assert (attrs.value, attrs.domain, attrs.path) == ("v", "localhost", "/")
        assert attrs.max_age == 3600
        assert attrs.http_only and attrs.secure and attrs.same_site == "Lax"
        assert attrs.expires is not None
        scoped = c.get_cookie("scoped", path="/echo")
        assert (scoped.value, scoped.path) == ("s", "/echo")
        assert c.get_cookie("scoped") is None  # other path
        assert c.get_cookie("wide").origin_only is False
        assert c.get_cookie("attrs").origin_only is True


def test_secure_cookie_is_sent_over_https_and_to_localhost(
    client: ErlenClient,
) -> None:
    # Like browsers: a Secure cookie goes over HTTPS, and to loopback hosts
    # (a secure context), but not to another host over plain HTTP.
    client.get("/set-cookie-attrs")
    assert client.get("/echo").get_json()["cookies"]["attrs"] == "v"
    cookies = client.get("/echo", base_url="https://localhost").get_json()["cookies"]
    assert cookies["attrs"] == "v"
    client.set_cookie("s", "1", domain="example.org", secure=True)
    example = client.get("/echo", base_url="http://example.org").get_json()
    assert "s" not in example["cookies"]
    example = client.get("/echo", base_url="https://example.org").get_json()
    assert example["cookies"]["s"] == "1"


def test_cookie_value_with_special_characters(
    client: ErlenClient, flask_client: t.Any
) -> None:
    both(client, flask_client, "get", "/set-cookie-attrs")
    got = same_json(both(client, flask_client, "get", "/echo"), "cookies")
    assert got["cookies"]["odd"] == 'a b,c;"d'
    assert client.get_cookie("odd").decoded_value == 'a b,c;"d'
    assert client.get_cookie("odd").value == flask_client.get_cookie("odd").value


def test_client_set_cookie(client: ErlenClient, flask_client: t.Any) -> None:
    for c in (flask_client, client):
        c.set_cookie("mine", "x; y")
        c.set_cookie("elsewhere", "no", domain="other.example")
        c.set_cookie("deep", "d", path="/echo")
    got = same_json(both(client, flask_client, "get", "/echo"), "cookies")
    assert got["cookies"] == {"mine": "x; y", "deep": "d"}
    assert client.get_cookie("mine").decoded_value == "x; y"


def test_client_delete_cookie(client: ErlenClient, flask_client: t.Any) -> None:
    for c in (flask_client, client):
        c.set_cookie("a", "1")
        c.set_cookie("b", "2")
        c.delete_cookie("a")
    got = same_json(both(client, flask_client, "get", "/echo"), "cookies")
    assert got["cookies"] == {"b": "2"}


def test_use_cookies_false(app: Erlen, driver: str) -> None:
    client = app.test_client(use_cookies=False, driver=driver)  # type: ignore[arg-type]
    try:
        response = client.get("/set-cookie", query_string={"a": "1"})
        assert response.headers["Set-Cookie"].startswith("a=1;")
        assert client.get("/echo").get_json()["cookies"] == {}
        # A Cookie header given explicitly is still sent.
        response = client.get("/echo", headers={"Cookie": "c=3"})
        assert response.get_json()["cookies"] == {"c": "3"}
        for call in (
            lambda: client.set_cookie("a", "1"),
            lambda: client.get_cookie("a"),
            lambda: client.delete_cookie("a"),
            lambda: client.session_transaction().__enter__(),
        ):
            with pytest.raises(TypeError, match="Cookies are disabled"):
                call()
    finally:
        client.close()


# -- contexts ------------------------------------------------------------------


def test_with_client_keeps_the_last_request_context(client: ErlenClient) -> None:
    with client:
        client.get("/g", query_string={"v": "first"})
        assert erlen.request.path == "/g"
        assert erlen.request.args["v"] == "first"
        assert erlen.g.value == "first"
        assert erlen.current_app._get_current_object() is client.application  # type: ignore[attr-defined]
        client.get("/session/set", query_string={"user": "ann"})
        # The second request replaced the first.
        assert erlen.request.path == "/session/set"
        assert "value" not in erlen.g
        assert erlen.session["user"] == "ann"
    assert not erlen.has_request_context()
    assert not erlen.has_app_context()


def test_with_client_flask_parity(flask_client: t.Any) -> None:
    # The behaviour the Erlen test above mirrors, checked on Flask itself.
    with flask_client:
        flask_client.get("/g", query_string={"v": "first"})
        assert flask.g.value == "first"
        flask_client.get("/session/set", query_string={"user": "ann"})
        assert flask.request.path == "/session/set"
        assert "value" not in flask.g
    assert not flask.has_request_context()


def test_with_client_async_view(app: Erlen, driver: str) -> None:
    @app.route("/g-async")
    async def g_async() -> t.Any:
        erlen.g.where = "async"
        erlen.session["seen"] = True
        return "ok"

    client = app.test_client(driver=driver)  # type: ignore[arg-type]
    try:
        with client:
            assert client.get("/g-async").text == "ok"
            assert erlen.g.where == "async"
            assert erlen.session["seen"] is True
            assert erlen.request.endpoint == "g_async"
        assert not erlen.has_request_context()
    finally:
        client.close()


def test_without_with_the_context_is_gone(client: ErlenClient) -> None:
    client.get("/g")
    assert not erlen.has_request_context()
    with pytest.raises(RuntimeError, match="outside of"):
        erlen.request.path  # noqa: B018


def test_with_client_after_an_exception(client: ErlenClient) -> None:
    with client:
        with pytest.raises(ZeroDivisionError):
            client.get("/boom")
        assert erlen.request.path == "/boom"
        assert erlen.g.before_boom is True
    assert not erlen.has_request_context()


def test_with_client_cannot_nest(client: ErlenClient) -> None:
    with client:
        with pytest.raises(RuntimeError, match="Cannot nest"):
            with client:
                pass


def test_teardown_runs_once_with_preserved_context(app: Erlen, driver: str) -> None:
    calls: list[str] = []
    app.teardown_request(lambda e: calls.append("teardown"))
    client = app.test_client(driver=driver)  # type: ignore[arg-type]
    try:
        with client:
            client.get("/text")
            assert calls == ["teardown"]  # ran at the end of the request
        assert calls == ["teardown"]  # not again on leaving the block
    finally:
        client.close()


# -- sessions ------------------------------------------------------------------


def test_session_transaction_sets_what_the_next_request_sees(
    client: ErlenClient, flask_client: t.Any
) -> None:
    for c in (flask_client, client):
        with c.session_transaction() as sess:
            sess["user"] = "ann"
            sess["n"] = 3
    got = same_json(both(client, flask_client, "get", "/session/get"))
    assert got == {"user": "ann", "n": 3}


def test_session_transaction_reads_what_a_request_stored(
    client: ErlenClient,
) -> None:
    client.get("/session/set", query_string={"cart": "apples"})
    with client.session_transaction() as sess:
        assert sess["cart"] == "apples"
        sess["cart"] = "pears"
    assert client.get("/session/get").get_json() == {"cart": "pears"}


def test_session_transaction_without_secret_key(client: ErlenClient) -> None:
    client.application.config["SECRET_KEY"] = None
    with pytest.raises(RuntimeError, match="Session backend did not open"):
        with client.session_transaction():
            pass


# -- responses -----------------------------------------------------------------


def test_response_attributes(client: ErlenClient, flask_client: t.Any) -> None:
    theirs, ours = both(client, flask_client, "get", "/text")
    assert ours.status_code == theirs.status_code == 201
    assert ours.status == theirs.status == "201 CREATED"
    assert ours.headers["X-Thing"] == "yes"
    assert ours.data == theirs.data == "héllo".encode()
    assert ours.text == ours.get_data(as_text=True) == "héllo"
    assert ours.mimetype == theirs.mimetype == "text/html"
    assert ours.headers["Content-Type"] == "text/html; charset=utf-8"
    assert ours.json is None and theirs.json is None
    assert ours.get_json(silent=True) is None
    assert ours.location is None


def test_response_json(client: ErlenClient, flask_client: t.Any) -> None:
    theirs, ours = both(client, flask_client, "get", "/json")
    assert (
        ours.json == ours.get_json() == theirs.json == {"answer": 42, "items": [1, 2]}
    )
    assert ours.mimetype == "application/json"


def test_streamed_response_is_collected(
    client: ErlenClient, flask_client: t.Any
) -> None:
    theirs, ours = both(client, flask_client, "get", "/stream")
    assert ours.data == theirs.data == b"one two"
    assert ours.mimetype == "text/plain"


def test_no_content(client: ErlenClient, flask_client: t.Any) -> None:
    theirs, ours = both(client, flask_client, "get", "/empty")
    assert ours.status_code == theirs.status_code == 204
    assert ours.data == b""


def test_exceptions_propagate_in_testing(client: ErlenClient) -> None:
    with pytest.raises(ZeroDivisionError, match="boom"):
        client.get("/boom")


def test_404(client: ErlenClient, flask_client: t.Any) -> None:
    theirs, ours = both(client, flask_client, "get", "/missing")
    assert ours.status_code == theirs.status_code == 404
    assert ours.status == "404 NOT FOUND"


# -- drivers -------------------------------------------------------------------


def test_request_goes_through_the_chosen_driver(client: ErlenClient) -> None:
    with client:
        client.get("/text")
        if client.driver == "asgi":
            assert erlen.request.scope is not None
            assert erlen.request.environ is None
        else:
            assert erlen.request.environ is not None
            assert erlen.request.scope is None


def test_asgi_driver_argument(app: Erlen) -> None:
    client = app.test_client(driver="asgi")
    try:
        assert client.driver == "asgi"
        assert client.get("/text").text == "héllo"
    finally:
        client.close()
    assert app.test_client().driver == "wsgi"


def test_bad_driver(app: Erlen) -> None:
    with pytest.raises(ValueError, match="driver must be 'wsgi' or 'asgi'"):
        app.test_client(driver="uwsgi")  # type: ignore[arg-type]


def test_close(app: Erlen, driver: str) -> None:
    client = app.test_client(driver=driver)  # type: ignore[arg-type]
    assert client.get("/text").status_code == 201
    with client:
        client.get("/g")
        client.close()  # also drops a preserved context
        assert not erlen.has_request_context()
    if driver == "asgi":
        assert client._loop is not None and client._loop.is_closed()
    # A closed client can still be used; it opens a new loop if needed.
    assert client.get("/text").status_code == 201
    client.close()
