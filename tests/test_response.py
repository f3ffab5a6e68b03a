"""``Response`` and view return values against Flask's.

Flask is imported here only, to compare behaviour; ``src/erlen`` never imports
it.  App-level tests register the same views on a Flask app and on the Erlen
app of the ``client`` fixture (so they run through the WSGI and the ASGI
driver), send the same requests to both and compare status, body and headers.
Tests of the object alone build a ``flask.Response`` and an
``erlen.Response`` the same way and compare them.
"""

from __future__ import annotations

import json
import threading
import typing as t
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from types import SimpleNamespace

import flask
import pytest
from markupsafe import Markup
from werkzeug.http import parse_date

import erlen
from erlen.testing import ErlenClient

#: What a view uses, from one framework or the other.
FLASK = SimpleNamespace(request=flask.request, Response=flask.Response)
ERLEN = SimpleNamespace(request=erlen.request, Response=erlen.Response)

View = t.Callable[[SimpleNamespace], t.Any]

#: Headers compared by default.
HEADERS = ("Content-Type", "Content-Length", "X-A", "Location")


class Pair:
    """``views`` (``view(fw)`` each) at ``/0``, ``/1``... of a Flask app and
    of ``client``'s Erlen app."""

    def __init__(self, client: ErlenClient, views: t.Sequence[View]) -> None:
        self.client = client
        fapp = flask.Flask("flask_app")
        fapp.config.update(TESTING=True, SECRET_KEY="test key")
        self.flask_client = fapp.test_client()
        for app, fw in ((fapp, FLASK), (client.application, ERLEN)):
            for i, view in enumerate(views):

                def endpoint(fw: SimpleNamespace = fw, view: View = view) -> t.Any:
                    return view(fw)

                app.add_url_rule(
                    f"/{i}", f"view{i}", endpoint, methods=["GET", "POST", "HEAD"]
                )

    def open(self, path: str, **kwargs: t.Any) -> tuple[t.Any, t.Any]:
        """``(flask_response, erlen_response)`` to the same request."""
        return self.flask_client.open(path, **kwargs), self.client.open(path, **kwargs)


def same(
    responses: tuple[t.Any, t.Any],
    *headers: str,
    status_line: bool = True,
    case: t.Any = "",
) -> tuple[t.Any, t.Any]:
    """Assert both responses have the same status, body and ``headers``.

    ASGI has no reason phrase: a custom one can only arrive under WSGI
    (``status_line``); the status code always does.
    """
    theirs, ours = responses
    assert ours.status_code == theirs.status_code, case
    if status_line:
        assert ours.status == theirs.status, case
    assert ours.get_data() == theirs.get_data(), case
    for name in headers:
        assert ours.headers.getlist(name) == theirs.headers.getlist(name), (case, name)
    return theirs, ours


def same_for_each(client: ErlenClient, views: t.Sequence[View], *headers: str) -> None:
    """Each view's response is the same in Flask and in Erlen."""
    pair = Pair(client, views)
    for i in range(len(views)):
        same(pair.open(f"/{i}"), *headers, case=i)


def gen_body() -> t.Iterator[str | bytes]:
    yield "chunk 1, "
    yield b"chunk 2"


# -- the constructor, through both drivers ------------------------------------


def test_response_arguments(client: ErlenClient) -> None:
    views: list[View] = [
        lambda fw: fw.Response("héllo"),
        lambda fw: fw.Response(b"\x00\xffbytes", 201),
        lambda fw: fw.Response(gen_body(), mimetype="text/csv"),
        lambda fw: fw.Response(["a", b"b", "c"], mimetype="text/plain"),
        lambda fw: fw.Response("tea", "418 I'M A TEAPOT"),
        lambda fw: fw.Response("x", HTTPStatus.CREATED, {"X-A": "1"}),
        lambda fw: fw.Response("x", content_type="text/x; charset=ascii"),
        lambda fw: fw.Response(
            "<a/>", headers=[("X-A", "1"), ("X-A", "2")], mimetype="application/xml"
        ),
        lambda fw: fw.Response("svg", mimetype="image/svg+xml"),
        lambda fw: fw.Response("{}", mimetype="application/json"),
        lambda fw: fw.Response("x", headers={"Content-Type": "text/plain"}),
        lambda fw: fw.Response(),
    ]
    same_for_each(client, views, "Content-Type", "X-A", "Location")


def test_no_content(client: ErlenClient) -> None:
    """A 204 has no body and no ``Content-Length``.  Erlen also drops the
    ``Content-Type`` Flask sends with it (RFC 9110: it describes no
    content)."""
    theirs, ours = same(
        Pair(client, [lambda fw: fw.Response("ignored", 204)]).open("/0"),
        "Content-Length",
    )
    assert ours.data == b""
    assert "Content-Length" not in ours.headers
    assert "Content-Type" not in ours.headers


def test_content_length(client: ErlenClient) -> None:
    """``Content-Length`` for bodies known up front, also on ``HEAD``; none
    for a stream."""
    pair = Pair(
        client,
        [
            lambda fw: fw.Response("héllo"),
            lambda fw: fw.Response(b""),
            lambda fw: fw.Response(gen_body()),
        ],
    )
    for path, length in [("/0", ["6"]), ("/1", ["0"]), ("/2", [])]:
        for method in ("GET", "HEAD"):
            _, ours = same(pair.open(path, method=method), *HEADERS, case=path)
            assert ours.headers.getlist("Content-Length") == length, path
            if method == "HEAD":
                assert ours.data == b""


def test_list_body_content_length(client: ErlenClient) -> None:
    same_for_each(client, [lambda fw: fw.Response(["a", b"b", "c"])], "Content-Length")


def test_custom_reason_phrase(client: ErlenClient) -> None:
    """A reason phrase is sent as written under WSGI; ASGI has no reason
    phrase, so only the code arrives."""
    statuses = ["299 Custom Reason", "404 not found"]
    pair = Pair(client, [lambda fw, s=s: fw.Response("x", s) for s in statuses])
    for i, status in enumerate(statuses):
        theirs, _ = same(pair.open(f"/{i}"), status_line=client.driver == "wsgi")
        assert theirs.status == status


# -- the object, compared directly ------------------------------------------


def test_status_setters() -> None:
    cases: list[tuple[str, t.Any]] = [
        ("status_code", code) for code in (200, 203, 413, 414, 418, 299, 0)
    ]
    cases += [
        ("status", value)
        for value in (
            HTTPStatus.NOT_FOUND,
            422,
            "418 I'M A TEAPOT",
            "404",
            "404 not found",
            " 201 ",
            "teapot",
        )
    ]
    for attr, value in cases:
        theirs, ours = flask.Response(), erlen.Response()
        setattr(theirs, attr, value)
        setattr(ours, attr, value)
        assert (ours.status, ours.status_code) == (
            theirs.status,
            theirs.status_code,
        ), (attr, value)
    for cls in (flask.Response, erlen.Response):
        with pytest.raises(ValueError):
            cls(status="  ")


def test_status_lines_through_every_way_of_setting_them() -> None:
    # Twice each: the second time comes from the status lines already made.
    for _ in range(2):
        for code in (200, 201, 302, 404, 418, 299, 599, HTTPStatus.NOT_FOUND):
            theirs = flask.Response("x", code)
            for ours in (
                erlen.Response("x", code),
                erlen.Response(["x"], status=code),
                erlen.Response(headers={"X-A": "1"}, status=code),
            ):
                assert (ours.status, ours.status_code) == (
                    theirs.status,
                    theirs.status_code,
                ), code
            ours = erlen.Response("x")
            ours.status_code = code
            assert ours.status == theirs.status, code


def test_status_line_of_a_code_added_to_the_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert erlen.Response("x", 599).status == "599 UNKNOWN"
    monkeypatch.setitem(erlen.exceptions.HTTP_STATUS_CODES, 599, "Custom")
    for _ in range(2):
        assert erlen.Response("x", 599).status == "599 CUSTOM"


def test_body_accessors() -> None:
    theirs, ours = flask.Response("héllo"), erlen.Response("héllo")
    for r in (theirs, ours):
        assert r.get_data() == "héllo".encode()
        assert r.get_data(as_text=True) == "héllo"
        assert r.content_length == 6
        assert r.mimetype == "text/html"
        assert r.json is None  # not a JSON response
        r.data = b"new body"
        assert r.data == b"new body"
        assert r.content_length == 8
        r.set_data("ünï")
        assert r.headers["Content-Length"] == "5"
    # (Werkzeug's setter stores the text "None" here.)
    ours.content_length = None
    assert "Content-Length" not in ours.headers
    # A streamed body is read once, and kept.
    theirs, ours = flask.Response(gen_body()), erlen.Response(gen_body())
    assert ours.is_streamed and theirs.is_streamed
    assert ours.content_length is None and theirs.content_length is None
    assert ours.get_data() == theirs.get_data() == b"chunk 1, chunk 2"
    assert ours.get_data(as_text=True) == theirs.get_data(as_text=True)


def test_mimetype_and_content_type_setters() -> None:
    theirs, ours = flask.Response("x"), erlen.Response("x")
    for mimetype in ("application/sql", "text/csv", "image/png", "a/b+xml"):
        for r in (theirs, ours):
            r.mimetype = mimetype
        assert ours.content_type == theirs.content_type, mimetype
    for r in (theirs, ours):
        r.content_type = "text/plain; charset=latin-1; format=flowed"
    assert ours.mimetype == theirs.mimetype == "text/plain"
    assert ours.mimetype_params == theirs.mimetype_params
    for r in (theirs, ours):
        r.mimetype = "application/problem+json"
        r.data = b'{"a": [1]}'
    assert ours.is_json and theirs.is_json
    assert ours.json == theirs.json == {"a": [1]}
    for r in (theirs, ours):
        r.mimetype = "text/plain"
    assert ours.json is theirs.json is None
    assert ours.get_json(force=True) == theirs.get_json(force=True) == {"a": [1]}


def _chunks() -> t.Iterator[bytes]:
    yield b"streamed "
    yield b"body"


@pytest.mark.parametrize(
    "body",
    [
        "plain",
        "héllo ☃",
        b"raw \xff bytes",
        "",
        bytearray(b"a bytearray"),
        Markup("<b>markup</b>"),
        [b"a list ", b"of chunks"],
        _chunks,  # a generator, made for each response
        None,
    ],
)
@pytest.mark.parametrize(
    ("mimetype", "content_type"),
    [
        (None, None),
        ("text/plain", None),
        ("application/json", None),
        ("image/svg+xml", None),
        ("application/sql", None),
        ("text/csv; charset=latin-1", None),
        (None, "application/octet-stream"),
        (None, "text/plain"),
        ("text/html", "application/xml"),
    ],
)
@pytest.mark.parametrize("status", [None, 201, "404 NOT FOUND", HTTPStatus.ACCEPTED])
def test_constructor_headers_are_flasks(
    body: t.Any, mimetype: str | None, content_type: str | None, status: t.Any
) -> None:
    # A str, bytes or iterable body without headers takes a shortcut in
    # Erlen's constructor; whatever the arguments, the result is Flask's.
    kwargs = {"mimetype": mimetype, "content_type": content_type, "status": status}
    for _ in range(2):  # the second time, from the cache of checked values
        theirs = flask.Response(body() if callable(body) else body, **kwargs)
        ours = erlen.Response(body() if callable(body) else body, **kwargs)
        expected = list(theirs.headers.items())
        if mimetype and "charset" in mimetype and content_type is None:
            # Werkzeug appends "; charset=utf-8" even so (docs/flask.md).
            expected[0] = ("Content-Type", mimetype)
        assert list(ours.headers.items()) == expected
        assert (ours.status, ours.get_data()) == (theirs.status, theirs.get_data())


def test_constructor_refuses_a_content_type_that_splits_headers() -> None:
    for _ in range(2):  # a refused value is never cached as checked
        with pytest.raises(ValueError, match="Content-Type"):
            erlen.Response("x", content_type="text/plain\r\nSet-Cookie: a=b")
        with pytest.raises(ValueError, match="Content-Type"):
            erlen.Response(b"x", mimetype="text/plain\nX-Evil: 1")


def test_constructor_uses_a_subclass_defaults() -> None:
    class Plain(erlen.Response):
        default_mimetype = "text/plain"

    class Created(erlen.Response):
        default_status = 201

    assert Plain("x").headers["Content-Type"] == "text/plain; charset=utf-8"
    assert Plain("x", mimetype="application/json").mimetype == "application/json"
    assert Created("x").status_code == 201
    assert Created(b"x", mimetype="text/plain").status_code == 201


def test_json_invalid_body() -> None:
    theirs = flask.Response("{bad", mimetype="application/json")
    ours = erlen.Response("{bad", mimetype="application/json")
    assert ours.get_json(silent=True) is theirs.get_json(silent=True) is None
    with pytest.raises(ValueError):
        theirs.get_json()
    with pytest.raises(ValueError):
        ours.get_json()


# -- cookies -----------------------------------------------------------------

COOKIES: list[dict[str, t.Any]] = [
    {"key": "plain", "value": "1"},
    {"key": "age", "value": "x", "max_age": 3600},
    {"key": "delta", "value": "x", "max_age": timedelta(days=2, seconds=5)},
    {
        "key": "dated",
        "value": 'a b;c"d',
        "expires": datetime(2031, 5, 4, 3, 2, 1, tzinfo=UTC),
        "path": "/sub",
        "domain": "example.com",
    },
    {"key": "flags", "value": "y", "secure": True, "httponly": True, "samesite": "Lax"},
    {"key": "strict", "value": "é", "samesite": "Strict", "path": None},
    {
        "key": "chips",
        "value": "z",
        "secure": True,
        "samesite": "None",
        "partitioned": True,
    },
]


def _split_expires(header: str) -> tuple[str, datetime | None]:
    """A ``Set-Cookie`` header without its ``Expires`` date, and the date.
    With ``max_age`` the date is computed from the clock, which may tick
    between the Flask and the Erlen request."""
    parts, expires = [], None
    for part in header.split("; "):
        if part.startswith("Expires="):
            expires = parse_date(part.partition("=")[2])
            part = "Expires=<date>"
        parts.append(part)
    return "; ".join(parts), expires


def test_set_cookie(client: ErlenClient) -> None:
    def view(fw: SimpleNamespace) -> t.Any:
        response = fw.Response("cookies")
        for kwargs in COOKIES:
            response.set_cookie(**kwargs)
        return response

    theirs, ours = same(Pair(client, [view]).open("/0"))
    their_headers = theirs.headers.getlist("Set-Cookie")
    our_headers = ours.headers.getlist("Set-Cookie")
    assert len(our_headers) == len(their_headers) == len(COOKIES)
    for kwargs, mine, flasks in zip(COOKIES, our_headers, their_headers, strict=True):
        my_text, my_date = _split_expires(mine)
        flask_text, flask_date = _split_expires(flasks)
        assert my_text == flask_text, kwargs
        if flask_date is None or my_date is None:
            assert my_date is flask_date, kwargs
        else:
            assert abs((my_date - flask_date).total_seconds()) <= 2, kwargs
    # Without a clock, byte for byte.
    assert our_headers[3] == their_headers[3]
    assert our_headers[-1] == their_headers[-1]
    cookie = client.get_cookie("flags")
    assert cookie is not None and cookie.value == "y" and cookie.http_only


def test_delete_cookie(client: ErlenClient) -> None:
    def view(fw: SimpleNamespace) -> t.Any:
        response = fw.Response("bye")
        response.delete_cookie("gone")
        response.delete_cookie("scoped", path="/sub", secure=True, samesite="Lax")
        return response

    pair = Pair(client, [view])
    for c in (pair.flask_client, client):
        c.set_cookie("gone", "1")
        c.set_cookie("scoped", "2", path="/sub")
        c.set_cookie("kept", "3")
    same(pair.open("/0"), "Set-Cookie")
    for c in (pair.flask_client, client):
        assert c.get_cookie("gone") is None
        assert c.get_cookie("scoped", path="/sub") is None
        assert c.get_cookie("kept") is not None


# -- location, call_on_close -------------------------------------------------


def test_location(client: ErlenClient) -> None:
    def view(fw: SimpleNamespace) -> t.Any:
        response = fw.Response("moved", 302)
        response.location = "/elsewhere?x=1"
        assert response.location == "/elsewhere?x=1"
        return response

    _, ours = same(Pair(client, [view]).open("/0"), *HEADERS)
    assert ours.location == "/elsewhere?x=1"


def test_call_on_close_runs_after_sending(client: ErlenClient) -> None:
    events: dict[str, list[str]] = {"flask": [], "erlen": []}

    def view(fw: SimpleNamespace) -> t.Any:
        log = events["flask" if fw is FLASK else "erlen"]

        def body() -> t.Iterator[str]:
            log.append("body")
            yield "streamed"

        response = fw.Response(body())
        response.call_on_close(lambda: log.append("closed"))
        log.append("view")
        return response

    theirs, _ = same(Pair(client, [view]).open("/0"), "Content-Length")
    # Flask's test client closes the body when the test closes the
    # response; Erlen's buffers it and closes it right away.
    assert events["erlen"] == ["view", "body", "closed"]
    theirs.close()
    assert events["flask"] == events["erlen"]


# -- view return values ------------------------------------------------------


def test_view_return_values(client: ErlenClient) -> None:
    views: list[View] = [
        lambda fw: "text",
        lambda fw: b"\x00bytes",
        lambda fw: {"b": 1, "a": [1, "é"]},
        lambda fw: [1, {"x": None}],
        lambda fw: fw.Response("r", 202, mimetype="text/plain"),
        lambda fw: gen_body(),
        lambda fw: ("created", 201),
        lambda fw: ("tea", "418 I'M A TEAPOT"),
        lambda fw: ("h", {"X-A": "1"}),
        lambda fw: ("h", [("X-A", "1"), ("X-A", "2")]),
        lambda fw: ({"ok": True}, 201, {"X-A": "1", "Location": "/new"}),
        lambda fw: ([1, 2], 400),
        lambda fw: (fw.Response("r", 200), 404, [("X-A", "1")]),
        lambda fw: (fw.Response("r", headers={"X-A": "0"}), {"X-A": "1"}),
        lambda fw: ("ct", {"Content-Type": "text/plain; charset=ascii"}),
        lambda fw: (gen_body(), 203, {"X-A": "1"}),
    ]
    same_for_each(client, views, *HEADERS)


def test_invalid_return_value(client: ErlenClient) -> None:
    """``None`` and other non-responses are a ``TypeError`` that names the
    view's endpoint, as in Flask (and it propagates in testing)."""
    views: list[View] = [
        lambda fw: None,
        lambda fw: ("a", 200, {}, 1),
        lambda fw: 42,
        lambda fw: (None, 200),
    ]
    pair = Pair(client, views)
    for i, expected in enumerate(
        [
            "The view function for 'view0' did not return a valid response."
            " The function either returned None",
            "did not return a valid response tuple",
            "did not return a valid response. The return type must be a string,"
            " dict, list, tuple with headers or status, Response instance, or ",
            "The view function for 'view3' did not return a valid response.",
        ]
    ):
        with pytest.raises(TypeError) as theirs:
            pair.flask_client.get(f"/{i}")
        with pytest.raises(TypeError) as ours:
            client.get(f"/{i}")
        assert expected in str(theirs.value), i
        assert expected in str(ours.value), i
        # Flask names the endpoint only for None; Erlen for any bad value.
        if i in (0, 2, 3):
            assert f"for 'view{i}'" in str(ours.value), i


# -- the JSON provider ---------------------------------------------------------


def test_json_provider_settings_apply_between_requests(
    app: erlen.Erlen, client: ErlenClient
) -> None:
    @app.get("/data")
    def data() -> t.Any:
        return {"b": 1, "a": "é"}

    assert client.get("/data").data == b'{"a":"\\u00e9","b":1}\n'
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    assert client.get("/data").data == '{"b":1,"a":"é"}\n'.encode()
    app.json.compact = False  # type: ignore[attr-defined]
    assert client.get("/data").data == b'{\n  "b": 1,\n  "a": "\xc3\xa9"\n}\n'


def test_json_provider_default_and_debug_output(
    app: erlen.Erlen, client: ErlenClient
) -> None:
    @app.get("/when")
    def when() -> t.Any:
        return erlen.jsonify(at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))

    flask_app = flask.Flask(__name__)
    with flask_app.app_context():
        expected = flask.jsonify(at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)).data
    assert client.get("/when").data == expected
    app.json.default = lambda o: "custom"  # type: ignore[attr-defined]
    assert client.get("/when").data == b'{"at":"custom"}\n'
    app.debug = True
    assert client.get("/when").data == b'{\n  "at": "custom"\n}\n'


def test_json_provider_subclass_dumps_is_used(
    app: erlen.Erlen, client: ErlenClient
) -> None:
    class Upper(erlen.json.DefaultJSONProvider):
        def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
            return super().dumps(obj, **kwargs).upper()

    app.json = Upper(app)

    @app.get("/data")
    def data() -> t.Any:
        return {"key": "value"}

    response = client.get("/data")
    assert response.data == b'{"KEY":"VALUE"}\n'
    assert response.mimetype == "application/json"


@pytest.mark.parametrize(
    "value",
    [
        {"b": [1, 2.5, None, True], "a": {"z": "é", "y": ["\u2028", ""]}},
        "text",
        [float("inf"), -0.0, 10**30],
        {2: "int keys", 1: datetime(2026, 1, 2, tzinfo=UTC)},
    ],
)
def test_jsonify_output_is_json_dumps_with_flasks_settings(value: t.Any) -> None:
    app = erlen.Erlen(__name__)
    with app.app_context():
        for _ in range(2):  # the encoder made, then reused
            ours = erlen.json._dumps_compact(value)
            assert ours == json.dumps(
                value, default=app.json.default, sort_keys=True, separators=(",", ":")
            )
    with flask.Flask(__name__).app_context():
        assert flask.json.dumps(value, separators=(",", ":")) == ours


def test_json_encoder_after_errors_encodes_the_same_containers() -> None:
    app = erlen.Erlen(__name__)
    with app.app_context():
        box: list[t.Any] = [{"bad": object()}]
        with pytest.raises(TypeError, match="not JSON serializable"):
            erlen.json._dumps_compact({"a": box})
        box[0]["bad"] = 1  # what failed is fixed: it encodes
        assert erlen.json._dumps_compact({"a": box}) == '{"a":[{"bad":1}]}'
        loop: list[t.Any] = []
        loop.append({"again": loop})
        with pytest.raises(ValueError, match="Circular reference"):
            erlen.json._dumps_compact({"a": loop})
        loop[0]["again"] = []
        assert erlen.json._dumps_compact({"a": loop}) == '{"a":[{"again":[]}]}'


def test_json_encoder_threads_encode_one_object_at_once() -> None:
    # Both threads are inside the same list when they meet at the barrier:
    # an encoder shared between them would take the second for a circular
    # reference.
    barrier = threading.Barrier(2, timeout=10)

    class Meet:
        pass

    class Provider(erlen.json.DefaultJSONProvider):
        @staticmethod
        def default(o: t.Any) -> t.Any:
            barrier.wait()
            return "met"

    app = erlen.Erlen(__name__)
    app.json = Provider(app)
    shared = [Meet()]
    results: list[str] = []

    def encode() -> None:
        with app.app_context():
            results.append(erlen.json._dumps_compact({"x": shared}))

    threads = [threading.Thread(target=encode) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ['{"x":["met"]}', '{"x":["met"]}']


def test_jsonify_without_the_c_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    # An interpreter without json's C accelerator gets the Python encoder.
    monkeypatch.setattr(erlen.json, "_c_make_encoder", None)
    app = erlen.Erlen(__name__)
    with app.app_context():
        assert erlen.jsonify({"b": 1, "a": [True]}).data == b'{"a":[true],"b":1}\n'
