"""The application object and route registration, against Flask, through both
drivers.

Where Flask has the behaviour, the test builds the same app with
``flask.Flask`` and ``erlen.Erlen``, sends the same requests and asserts the
same status, body and headers.  Flask is imported here only.
"""

from __future__ import annotations

import os
import sys
import types
import typing as t
from collections.abc import Callable, Iterator
from pathlib import Path

import flask
import pytest
from flask_compare import FlaskPair, pair_builder

import erlen
from erlen import Erlen
from erlen.testing import ErlenClient

HERE = os.path.dirname(os.path.abspath(__file__))

Setup = Callable[[t.Any], None]


@pytest.fixture
def pair(driver: str) -> Iterator[Callable[..., FlaskPair]]:
    """``pair(setup, **config)``: the same app built with both frameworks."""

    def make(setup: Setup, **config: t.Any) -> FlaskPair:
        return FlaskPair(setup, driver, config=config)

    yield from pair_builder(make)


def both(*args: t.Any, **kwargs: t.Any) -> tuple[flask.Flask, Erlen]:
    """A Flask and an Erlen app made with the same arguments."""
    return flask.Flask(*args, **kwargs), Erlen(*args, **kwargs)


# -- the app object -----------------------------------------------------------


def test_root_path_from_import_name() -> None:
    theirs, ours = both(__name__)
    assert ours.root_path == theirs.root_path == HERE
    theirs, ours = both("erlen")
    assert ours.root_path == theirs.root_path == os.path.dirname(erlen.__file__)


def test_explicit_root_path(tmp_path: Path) -> None:
    ours = Erlen("whatever", root_path=str(tmp_path))
    assert ours.root_path == str(tmp_path)
    assert ours.static_folder == str(tmp_path / "static")
    assert ours.config.root_path == str(tmp_path)


@pytest.mark.parametrize("import_name", [__name__, "erlen", "erlen.app", "not_a_mod"])
def test_instance_path_default(import_name: str) -> None:
    theirs, ours = both(import_name)
    assert ours.instance_path == theirs.instance_path


def test_instance_path_in_site_packages() -> None:
    """An installed package's instance folder is ``<prefix>/var/<name>-instance``."""
    theirs, ours = both("flask")
    assert ours.instance_path == theirs.instance_path
    assert ours.instance_path.endswith(os.path.join("var", "flask-instance"))


def test_relative_instance_path_raises() -> None:
    with pytest.raises(ValueError, match="must be absolute"):
        flask.Flask("x", instance_path="relative")
    with pytest.raises(ValueError, match="must be absolute"):
        Erlen("x", instance_path="relative")


def test_instance_relative_config(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "settings.py").write_text("FROM_INSTANCE = 42\n")
    theirs, ours = both("x", instance_path=str(instance), instance_relative_config=True)
    assert ours.instance_path == theirs.instance_path == str(instance)
    assert ours.config.root_path == theirs.config.root_path == str(instance)
    assert ours.config.from_pyfile("settings.py")
    assert ours.config["FROM_INSTANCE"] == 42
    ours = Erlen("x", instance_path=str(instance), root_path=str(tmp_path))
    assert ours.config.root_path == str(tmp_path)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"static_folder": "assets"},
        {"static_folder": "assets/", "static_url_path": "/s/"},
        {"static_url_path": ""},
        {"static_folder": None},
        {"template_folder": "views"},
        {"template_folder": None},
    ],
)
def test_folders_like_flask(kwargs: dict[str, t.Any]) -> None:
    theirs, ours = both("x", root_path=HERE, **kwargs)
    assert ours.static_folder == theirs.static_folder
    assert ours.static_url_path == theirs.static_url_path
    assert ours.template_folder == theirs.template_folder
    assert ours.has_static_folder == theirs.has_static_folder
    assert [(r.rule, r.endpoint) for r in ours.url_map.iter_rules()] == [
        (r.rule, r.endpoint) for r in theirs.url_map.iter_rules()
    ]


def test_static_files_served(tmp_path: Path, driver: str) -> None:
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "hello.txt").write_text("hello static")
    app = Erlen("x", root_path=str(tmp_path))
    client = app.test_client(driver=driver)  # type: ignore[call-arg]
    try:
        rv = client.get("/static/hello.txt")
        assert (rv.status_code, rv.data) == (200, b"hello static")
        assert rv.mimetype == "text/plain"
        assert client.get("/static/missing.txt").status_code == 404
        assert client.get("/static/../secret").status_code == 404
    finally:
        client.close()


def test_static_host_requires_host_matching() -> None:
    for cls in (flask.Flask, Erlen):
        with pytest.raises(AssertionError if cls is flask.Flask else ValueError):
            cls("x", static_host="example.com")
        with pytest.raises(AssertionError if cls is flask.Flask else ValueError):
            cls("x", host_matching=True)
        cls("x", host_matching=True, static_folder=None)


#: Flask keys whose Erlen default is deliberately safer (docs/security.md).
SAFER_DEFAULTS = {
    "SESSION_COOKIE_SECURE": (False, None),  # None: Secure on HTTPS requests
    "SESSION_COOKIE_SAMESITE": (None, "Lax"),
    "MAX_CONTENT_LENGTH": (None, 16 * 1024 * 1024),
}


def test_default_config_has_every_flask_key() -> None:
    theirs = flask.Flask.default_config
    ours = Erlen.default_config
    missing = sorted(set(theirs) - set(ours))
    assert not missing
    # Flask's values, except the safer defaults, which are exactly these.
    for key, (flask_value, erlen_value) in SAFER_DEFAULTS.items():
        assert (theirs[key], ours[key]) == (flask_value, erlen_value), key
    same = [k for k in theirs if k not in SAFER_DEFAULTS]
    assert {k: ours[k] for k in same} == {k: theirs[k] for k in same}
    app = Erlen("x")
    assert {k: app.config[k] for k in same if k != "DEBUG"} == {
        k: theirs[k] for k in same if k != "DEBUG"
    }


def test_config_attributes_mirror_config() -> None:
    theirs, ours = both("x")
    for app in (theirs, ours):
        assert app.debug is False
        assert app.testing is False
        assert app.secret_key is None
        app.debug = True
        app.testing = True
        app.secret_key = "s3cr3t"
        assert app.config["DEBUG"] is True
        assert app.config["TESTING"] is True
        assert app.config["SECRET_KEY"] == "s3cr3t"
        app.config.update(DEBUG=False, TESTING=False, SECRET_KEY=b"bytes")
        assert (app.debug, app.testing, app.secret_key) == (False, False, b"bytes")
    erlen_only = set(ours.config) - set(theirs.config)
    assert erlen_only <= {
        "SYNC_THREAD_POOL_SIZE",
        "WEBSOCKET_MAX_MESSAGE_SIZE",
        "BACKGROUND_TASK_SHUTDOWN_TIMEOUT",
        "MAX_FORM_FIELDS",
        "MAX_HEADER_COUNT",
        "MAX_HEADER_SIZE",
        "CROSS_ORIGIN_PROTECTION",
        "TRUSTED_ORIGINS",
        "PROXY_FIX",
        "SECURITY_HEADERS",
        "HSTS_MAX_AGE",
        "HSTS_INCLUDE_SUBDOMAINS",
        "HSTS_PRELOAD",
    }
    shared = {
        k: v
        for k, v in ours.config.items()
        if k not in erlen_only and k not in SAFER_DEFAULTS
    }
    assert shared == {k: v for k, v in theirs.config.items() if k not in SAFER_DEFAULTS}


@pytest.mark.parametrize(
    ("value", "expected"), [("1", True), ("0", False), ("", False)]
)
def test_debug_from_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    monkeypatch.setenv("FLASK_DEBUG", value)
    monkeypatch.setenv("ERLEN_DEBUG", value)
    theirs, ours = both("x")
    assert ours.debug is theirs.debug is expected
    assert ours.config["DEBUG"] is theirs.config["DEBUG"] is expected


def test_name(monkeypatch: pytest.MonkeyPatch) -> None:
    theirs, ours = both("pkg.module")
    assert ours.name == theirs.name == "pkg.module"
    main = types.ModuleType("__main__")
    main.__file__ = "/srv/app/myscript.py"
    monkeypatch.setitem(sys.modules, "__main__", main)
    theirs, ours = both("__main__", root_path=HERE)
    assert ours.name == theirs.name == "myscript"
    del main.__file__
    assert Erlen("__main__", root_path=HERE).name == "__main__"


def test_logger_named_after_app() -> None:
    app = Erlen("my.app")
    assert app.logger.name == "my.app"
    assert app.logger is app.logger


def test_wsgi_and_asgi_entry_points(app: Erlen) -> None:
    @app.route("/")
    def index() -> str:
        return "hi"

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
    }
    started: list[t.Any] = []
    body = b"".join(app(environ, lambda s, h, e=None: started.append((s, h))))
    assert body == b"hi"
    assert started[0][0] == "200 OK"
    assert callable(app.asgi)


def test_wsgi_middleware_wraps_wsgi_app(app: Erlen) -> None:
    @app.route("/")
    def index() -> str:
        return "hi"

    inner = app.wsgi_app

    def middleware(environ: dict[str, t.Any], start_response: t.Any) -> t.Any:
        environ["PATH_INFO"] = "/"
        return inner(environ, start_response)

    app.wsgi_app = middleware  # type: ignore[method-assign]
    client = app.test_client(driver="wsgi")  # type: ignore[call-arg]
    assert client.get("/rewritten").data == b"hi"


# -- route registration -------------------------------------------------------


def _method_routes(app: t.Any) -> None:
    @app.get("/get")
    def get() -> str:
        return "get"

    @app.post("/post")
    def post() -> str:
        return "post"

    @app.put("/put")
    def put() -> str:
        return "put"

    @app.patch("/patch")
    def patch() -> str:
        return "patch"

    @app.delete("/delete")
    def delete() -> str:
        return "delete"

    @app.route("/multi", methods=["GET", "post"])
    def multi() -> str:
        return "multi"


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"])
def test_method_decorators_like_flask(
    pair: Callable[..., FlaskPair], method: str
) -> None:
    p = pair(_method_routes)
    for path in ("/get", "/post", "/put", "/patch", "/delete", "/multi"):
        p.check(path, method=method)


def test_method_shortcut_rejects_methods(app: Erlen) -> None:
    with pytest.raises(TypeError, match="route"):
        flask.Flask("x").get("/", methods=["POST"])
    with pytest.raises(TypeError, match="route"):
        app.get("/", methods=["POST"])


def test_add_url_rule_and_endpoint_decorator(pair: Callable[..., FlaskPair]) -> None:
    def setup(app: t.Any) -> None:
        app.add_url_rule("/direct", view_func=lambda: "direct", endpoint="direct")
        app.add_url_rule("/later", endpoint="later")

        @app.endpoint("later")
        def later() -> str:
            return "later"

        def named() -> str:
            return "named"

        app.add_url_rule("/named", view_func=named)
        app.add_url_rule("/named-too", view_func=named)  # same function: fine

    p = pair(setup)
    for path in ("/direct", "/later", "/named", "/named-too"):
        p.check(path)
    assert p.erlen_app.view_functions["named"]() == "named"
    assert {r.endpoint for r in p.erlen_app.url_map.iter_rules()} == {
        r.endpoint for r in p.flask_app.url_map.iter_rules()
    }


def test_add_url_rule_needs_endpoint_or_view() -> None:
    app = Erlen("x")
    with pytest.raises(TypeError, match="endpoint or a view_func"):
        app.add_url_rule("/")


def test_view_func_attributes(pair: Callable[..., FlaskPair]) -> None:
    def setup(app: t.Any) -> None:
        def view() -> str:
            return "view"

        view.methods = ["POST"]  # type: ignore[attr-defined]
        view.required_methods = ["PUT"]  # type: ignore[attr-defined]
        view.provide_automatic_options = False  # type: ignore[attr-defined]
        app.add_url_rule("/", view_func=view)

    p = pair(setup)
    for method in ("GET", "POST", "PUT", "OPTIONS"):
        p.check("/", method=method)


def test_automatic_head_has_no_body(pair: Callable[..., FlaskPair]) -> None:
    def setup(app: t.Any) -> None:
        @app.route("/")
        def index() -> str:
            return "a body that HEAD must not send"

        @app.route("/stream")
        def stream() -> t.Iterator[str]:
            yield "streamed"

    p = pair(setup)
    rv = p.check("/", method="HEAD")
    assert rv.data == b""
    assert rv.headers["Content-Length"] == str(len("a body that HEAD must not send"))
    assert p.check("/stream", method="HEAD").data == b""


def test_automatic_options(pair: Callable[..., FlaskPair]) -> None:
    p = pair(_method_routes)
    for path in ("/get", "/post", "/delete", "/multi"):
        rv = p.check(path, method="OPTIONS")
        assert rv.status_code == 200
        assert "OPTIONS" in rv.headers["Allow"]
    # The Allow header lists the methods of every rule for the URL.
    assert p.check("/multi", method="OPTIONS").headers["Allow"] == (
        "GET, HEAD, OPTIONS, POST"
    )


def test_options_lists_methods_of_all_rules_for_url(
    pair: Callable[..., FlaskPair],
) -> None:
    def setup(app: t.Any) -> None:
        app.add_url_rule("/x", "read", lambda: "r", methods=["GET"])
        app.add_url_rule("/x", "write", lambda: "w", methods=["PUT", "DELETE"])

    p = pair(setup)
    assert p.check("/x", method="OPTIONS").headers["Allow"] == (
        "DELETE, GET, HEAD, OPTIONS, PUT"
    )
    p.check("/x", method="PUT")
    p.check("/x", method="POST")


def test_405_allow_header(pair: Callable[..., FlaskPair]) -> None:
    p = pair(_method_routes)
    rv = p.check("/post")
    assert rv.status_code == 405
    assert rv.headers["Allow"] == "OPTIONS, POST"
    p.check("/get", method="POST")
    p.check("/multi", method="DELETE")
    p.check("/missing", method="DELETE")


def test_provide_automatic_options_false(pair: Callable[..., FlaskPair]) -> None:
    def setup(app: t.Any) -> None:
        @app.route("/", provide_automatic_options=False)
        def index() -> str:
            return "index"

    p = pair(setup)
    rv = p.check("/", method="OPTIONS")
    assert rv.status_code == 405
    assert rv.headers["Allow"] == "GET, HEAD"


def test_provide_automatic_options_config(pair: Callable[..., FlaskPair]) -> None:
    def setup(app: t.Any) -> None:
        app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False

        @app.route("/")
        def index() -> str:
            return "index"

        @app.route("/opt", provide_automatic_options=True)
        def opt() -> str:
            return "opt"

    p = pair(setup)
    assert p.check("/", method="OPTIONS").status_code == 405
    # Flask ignores an explicit provide_automatic_options=True when the
    # config turns the feature off (405); Erlen honours the explicit option.
    rv = p.erlen.options("/opt")
    assert (rv.status_code, rv.headers["Allow"]) == (200, "GET, HEAD, OPTIONS")


def test_explicit_options_method_calls_view(pair: Callable[..., FlaskPair]) -> None:
    def setup(app: t.Any) -> None:
        @app.route("/", methods=["GET", "OPTIONS"])
        def index() -> t.Any:
            return "my own options", 200, {"Allow": "GET"}

    p = pair(setup)
    assert p.check("/", method="OPTIONS").data == b"my own options"


def test_overwriting_endpoint_raises() -> None:
    for cls in (flask.Flask, Erlen):
        app = cls("x")
        app.add_url_rule("/a", "same", lambda: "a")
        with pytest.raises(AssertionError, match="overwriting an existing endpoint"):
            app.add_url_rule("/b", "same", lambda: "b")


def test_methods_as_string_raises() -> None:
    for cls in (flask.Flask, Erlen):
        app = cls("x")
        with pytest.raises(TypeError, match="list of strings"):
            app.add_url_rule("/", "i", lambda: "", methods="POST")
        with pytest.raises(TypeError, match="list of strings"):
            app.route("/", methods="GET")(lambda: "")


def test_route_after_first_request_raises(client: ErlenClient, app: Erlen) -> None:
    @app.route("/")
    def index() -> str:
        return "index"

    client.get("/")
    with pytest.raises(AssertionError) as info:

        @app.route("/late")
        def late() -> str:
            return "late"

    message = str(info.value)
    assert "'route'" in message
    assert "already handled its first request" in message
    assert "Register every route, hook, blueprint" in message  # what to do
    for register in (
        lambda: app.add_url_rule("/x", "x", lambda: ""),
        lambda: app.before_request(lambda: None),
        lambda: app.errorhandler(404)(lambda e: ""),
        lambda: app.teardown_appcontext(lambda e: None),
    ):
        with pytest.raises(AssertionError, match="already handled its first request"):
            register()
    # The app keeps serving what it had.
    assert client.get("/").data == b"index"
    assert client.get("/late").status_code == 404


def test_route_after_first_request_like_flask(pair: Callable[..., FlaskPair]) -> None:
    def setup(app: t.Any) -> None:
        app.add_url_rule("/", "index", lambda: "index")

    p = pair(setup)
    p.check("/")
    with pytest.raises(AssertionError) as theirs:
        p.flask_app.add_url_rule("/late", "late", lambda: "")
    with pytest.raises(AssertionError) as ours:
        p.erlen_app.add_url_rule("/late", "late", lambda: "")
    # Same exception type; both name the method (the wording is Erlen's own).
    assert "add_url_rule" in str(theirs.value)
    assert "'add_url_rule'" in str(ours.value)


# -- return values ------------------------------------------------------------

_RETURNS: dict[str, Callable[[t.Any], t.Any]] = {
    "str": lambda app: "body",
    "bytes": lambda app: b"raw",
    "body-status": lambda app: ("body", 201),
    "body-status-str": lambda app: ("body", "299 CUSTOM"),
    "body-headers": lambda app: ("body", {"X-A": "1"}),
    "body-header-list": lambda app: ("body", [("X-A", "1"), ("X-A", "2")]),
    "body-status-headers": lambda app: ("body", 202, [("X-B", "2")]),
    "dict": lambda app: {"a": [1, 2], "b": None},
    "dict-status": lambda app: ({"a": 1}, 400),
    "list": lambda app: [1, "x"],
    "response": lambda app: app.response_class("r", 203),
    "response-status-headers": lambda app: (
        app.response_class("r"),
        404,
        {"X-C": "3"},
    ),
    "generator": lambda app: (x for x in ["a", "b"]),
    "html-mimetype": lambda app: app.response_class("x", mimetype="text/plain"),
}


def test_view_return_values_like_flask(
    pair: Callable[..., FlaskPair], driver: str
) -> None:
    def setup(app: t.Any) -> None:
        app.add_url_rule("/<kind>", "index", lambda kind: _RETURNS[kind](app))

    p = pair(setup)
    for kind in _RETURNS:
        if kind == "body-status-str" and driver == "asgi":
            # ASGI sends the status code only; a custom reason phrase is lost.
            rv = p.erlen.get(f"/{kind}")
            assert (rv.status_code, rv.data) == (299, b"body")
            continue
        p.check(f"/{kind}")


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (None, "did not return a valid response"),
        (42, "did not return a valid response"),
        (("a", 200, {}, "extra"), "did not return a valid response tuple"),
    ],
)
def test_invalid_return_values_raise(
    client: ErlenClient, app: Erlen, value: t.Any, match: str
) -> None:
    app.add_url_rule("/", "index", lambda: value)
    flask_app = flask.Flask("x")
    flask_app.testing = True
    flask_app.add_url_rule("/", "index", lambda: value)
    with pytest.raises(TypeError, match=match):
        flask_app.test_client().get("/")
    with pytest.raises(TypeError, match=match):
        client.get("/")


def test_make_response_helper(client: ErlenClient, app: Erlen) -> None:
    @app.route("/")
    def index() -> erlen.Response:
        response = erlen.make_response("made", 201)
        response.headers["X-Made"] = "1"
        return response

    @app.route("/empty")
    def empty() -> erlen.Response:
        return erlen.make_response()

    rv = client.get("/")
    assert (rv.status_code, rv.data, rv.headers["X-Made"]) == (201, b"made", "1")
    assert client.get("/empty").data == b""
