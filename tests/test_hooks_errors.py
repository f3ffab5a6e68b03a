"""Hooks, HTTP errors and error handlers, against Flask, through both drivers.

Where Flask has the behaviour, the test builds the same app with
``flask.Flask`` and ``erlen.Erlen``, sends the same requests and asserts the
same status, body and headers.  Flask is imported here only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import typing as t
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import flask
import pytest
import werkzeug.exceptions
from flask_compare import FlaskPair, pair_builder

import erlen
import erlen.exceptions
from erlen import Erlen
from erlen.testing import ErlenClient

_NAMES = ("abort", "request", "g", "after_this_request", "current_app", "jsonify")
FLASK = SimpleNamespace(
    App=flask.Flask,
    exc=werkzeug.exceptions,
    **{name: getattr(flask, name) for name in _NAMES},
)
ERLEN = SimpleNamespace(
    App=Erlen,
    exc=erlen.exceptions,
    **{name: getattr(erlen, name) for name in _NAMES},
)

Setup = Callable[[t.Any, SimpleNamespace], None]


@pytest.fixture
def pair(driver: str) -> Iterator[Callable[..., FlaskPair]]:
    """``pair(setup, **config)``: the same app built with both frameworks;
    ``setup(app, ns)`` gets ``FLASK`` or ``ERLEN``."""

    def make(setup: Setup, **config: t.Any) -> FlaskPair:
        return FlaskPair(setup, driver, config=config, names=(FLASK, ERLEN))

    yield from pair_builder(make)


# -- HTTP exceptions ----------------------------------------------------------


def test_exception_codes_cover_werkzeug() -> None:
    """Every status code Flask users get from ``werkzeug.exceptions`` has an
    Erlen class of the same name, description and rendered page."""
    theirs = werkzeug.exceptions.default_exceptions
    ours = erlen.exceptions.default_exceptions
    assert set(theirs) <= set(ours)
    for code, their_cls in theirs.items():
        our_cls = ours[code]
        assert our_cls.__name__ == their_cls.__name__
        assert our_cls is getattr(erlen.exceptions, their_cls.__name__)
        assert our_cls().name == their_cls().name
        assert our_cls.description == their_cls.description
        assert our_cls().get_body() == their_cls().get_body(), code


def test_exception_class_tree_matches_werkzeug() -> None:
    exc = erlen.exceptions
    for name in ("BadRequestKeyError", "SecurityError", "BadHost"):
        assert issubclass(getattr(exc, name), exc.BadRequest)
    assert issubclass(exc.BadRequestKeyError, KeyError)
    assert issubclass(exc.NotFound, exc.HTTPException)
    assert issubclass(exc.HTTPException, Exception)


def test_abort_every_code_renders_like_flask(pair: Callable[..., FlaskPair]) -> None:
    codes = sorted(werkzeug.exceptions.default_exceptions)

    def setup(app: t.Any, m: SimpleNamespace) -> None:
        @app.route("/<int:code>")
        def index(code: int) -> str:
            m.abort(code)

    p = pair(setup)
    for code in codes:
        assert p.check(f"/{code}").status_code == code


@pytest.mark.parametrize("code", [400, 404, 409, 500])
def test_http_error_as_json(client: ErlenClient, app: Erlen, code: int) -> None:
    """A client that prefers JSON gets ``{code, name, description}``."""

    @app.route("/")
    def index() -> str:
        erlen.abort(code, "custom <description>")

    rv = client.get("/", headers={"Accept": "application/json"})
    assert rv.status_code == code
    assert rv.mimetype == "application/json"
    assert json.loads(rv.data) == {
        "code": code,
        "name": erlen.exceptions.default_exceptions[code]().name,
        "description": "custom <description>",
    }
    # A browser's Accept header prefers HTML.
    browser = "text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8"
    rv = client.get("/", headers={"Accept": browser})
    assert rv.mimetype == "text/html"
    assert b"custom &lt;description&gt;" in rv.data


def test_not_found_as_json(client: ErlenClient) -> None:
    rv = client.get("/missing", headers={"Accept": "application/json"})
    assert rv.status_code == 404
    assert rv.json == {
        "code": 404,
        "name": "Not Found",
        "description": erlen.exceptions.NotFound.description,
    }


def test_abort_forms(pair: Callable[..., FlaskPair]) -> None:
    def setup(app: t.Any, m: SimpleNamespace) -> None:
        @app.route("/desc")
        def desc() -> str:
            m.abort(403, "You <b>shall</b> not pass")

        @app.route("/response")
        def response() -> str:
            m.abort(app.response_class("teapot body", 418, {"X-A": "1"}))

        @app.route("/kw")
        def kw() -> str:
            m.abort(401, description="who?", www_authenticate='Basic realm="x"')

        @app.route("/class")
        def cls() -> str:
            raise m.exc.Gone()

        @app.route("/retry")
        def retry() -> str:
            raise m.exc.TooManyRequests(retry_after=30)

        @app.route("/allow")
        def allow() -> str:
            raise m.exc.MethodNotAllowed(["GET", "POST"])

    p = pair(setup)
    for path in ("/desc", "/response", "/class", "/retry", "/allow"):
        p.check(path)
    ours = p.erlen.get("/kw")
    assert ours.status_code == 401
    assert ours.headers["WWW-Authenticate"] == 'Basic realm="x"'


def test_abort_unknown_code_raises_lookup_error(app: Erlen) -> None:
    with pytest.raises(LookupError):
        flask.abort(299)
    with pytest.raises(LookupError, match="299"):
        erlen.abort(299)
    with app.app_context(), pytest.raises(LookupError):
        erlen.abort(299)


def test_app_aborter_mapping(client: ErlenClient, app: Erlen) -> None:
    class Custom(erlen.exceptions.HTTPException):
        code = 499
        description = "custom"

    app.aborter.mapping[499] = Custom

    @app.route("/")
    def index() -> str:
        erlen.abort(499)

    rv = client.get("/")
    assert rv.status_code == 499
    assert b"custom" in rv.data


# -- error handlers -----------------------------------------------------------


class AppError(Exception):
    pass


class SubAppError(AppError):
    pass


def _handler_app(app: t.Any, m: SimpleNamespace) -> None:
    @app.route("/abort/<int:code>")
    def abort_code(code: int) -> str:
        m.abort(code)

    @app.route("/app-error")
    def app_error() -> str:
        raise AppError()

    @app.route("/sub-error")
    def sub_error() -> str:
        raise SubAppError()

    @app.route("/post-only", methods=["POST"])
    def post_only() -> str:
        return "x"

    class MyNotFound(m.exc.NotFound):
        description = "mine"

    @app.route("/my-not-found")
    def my_not_found() -> str:
        raise MyNotFound()


def test_errorhandler_by_code(pair: Callable[..., FlaskPair]) -> None:
    def setup(app: t.Any, m: SimpleNamespace) -> None:
        _handler_app(app, m)

        @app.errorhandler(404)
        def not_found(e: t.Any) -> t.Any:
            return f"404 handler: {type(e).__name__}", 404

    p = pair(setup)
    p.check("/missing")
    p.check("/abort/404")
    p.check("/my-not-found")
    p.check("/abort/410")


def test_errorhandler_http_exception_catches_all_codes(
    pair: Callable[..., FlaskPair],
) -> None:
    def setup(app: t.Any, m: SimpleNamespace) -> None:
        _handler_app(app, m)

        @app.errorhandler(m.exc.HTTPException)
        def http_error(e: t.Any) -> t.Any:
            return f"generic {e.code} {e.name}", e.code

    p = pair(setup)
    p.check("/missing")
    p.check("/abort/418")
    p.check("/post-only")
    p.check("/abort/500")


def test_errorhandler_returning_the_exception(pair: Callable[..., FlaskPair]) -> None:
    def setup(app: t.Any, m: SimpleNamespace) -> None:
        _handler_app(app, m)

        @app.errorhandler(m.exc.HTTPException)
        def http_error(e: t.Any) -> t.Any:
            return e

    p = pair(setup)
    p.check("/missing")
    p.check("/post-only")


def test_code_handler_beats_class_handler(pair: Callable[..., FlaskPair]) -> None:
    def setup(app: t.Any, m: SimpleNamespace) -> None:
        _handler_app(app, m)

        @app.errorhandler(m.exc.HTTPException)
        def http_error(e: t.Any) -> t.Any:
            return "by class", e.code

        @app.errorhandler(404)
        def not_found(e: t.Any) -> t.Any:
            return "by code", 404

    p = pair(setup)
    assert p.check("/missing").data == b"by code"
    assert p.check("/my-not-found").data == b"by code"
    assert p.check("/abort/403").data == b"by class"


def test_most_specific_class_handler_wins(pair: Callable[..., FlaskPair]) -> None:
    def setup(app: t.Any, m: SimpleNamespace) -> None:
        _handler_app(app, m)

        @app.errorhandler(AppError)
        def app_error(e: t.Any) -> t.Any:
            return f"base handler {type(e).__name__}", 409

        @app.errorhandler(Exception)
        def anything(e: t.Any) -> t.Any:
            return "anything", 500

    p = pair(setup)
    assert p.check("/app-error").data == b"base handler AppError"
    assert p.check("/sub-error").data == b"base handler SubAppError"
    # An Exception handler also sees HTTP errors (they are Exceptions).
    assert p.check("/missing").data == b"anything"


def test_subclass_handler_beats_base_handler(pair: Callable[..., FlaskPair]) -> None:
    def setup(app: t.Any, m: SimpleNamespace) -> None:
        _handler_app(app, m)
        app.register_error_handler(AppError, lambda e: ("base", 400))
        app.register_error_handler(SubAppError, lambda e: ("sub", 400))

    p = pair(setup)
    assert p.check("/app-error").data == b"base"
    assert p.check("/sub-error").data == b"sub"


def test_errorhandler_registration_errors() -> None:
    for cls in (flask.Flask, Erlen):
        app = cls("x")
        with pytest.raises(ValueError, match="999"):
            app.errorhandler(999)(str)
        with pytest.raises(TypeError, match="instance"):
            app.errorhandler(ValueError())(str)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="not a subclass of Exception"):
            app.errorhandler(int)(str)  # type: ignore[arg-type]


# -- unhandled exceptions -----------------------------------------------------


def _boom_app(app: t.Any, m: SimpleNamespace) -> None:
    @app.route("/boom")
    def boom() -> str:
        raise ZeroDivisionError("boom")


def test_unhandled_exception_is_500_and_logged(
    client: ErlenClient, app: Erlen, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    _boom_app(app, ERLEN)
    with caplog.at_level(logging.ERROR, logger=app.logger.name):
        rv = client.get("/boom?x=1")
    assert rv.status_code == 500
    assert b"Internal Server Error" in rv.data
    assert b"boom" not in rv.data  # the error's text never reaches the client
    (record,) = [r for r in caplog.records if r.name == app.logger.name]
    assert record.getMessage() == "Exception on /boom [GET]"
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ZeroDivisionError)


def test_unhandled_exception_matches_flask(pair: Callable[..., FlaskPair]) -> None:
    p = pair(_boom_app, PROPAGATE_EXCEPTIONS=False)
    p.check("/boom")


def test_500_handler_gets_original_exception(pair: Callable[..., FlaskPair]) -> None:
    def setup(app: t.Any, m: SimpleNamespace) -> None:
        _boom_app(app, m)

        @app.route("/abort500")
        def abort500() -> str:
            m.abort(500)

        @app.errorhandler(500)
        def server_error(e: t.Any) -> t.Any:
            original = e.original_exception
            return f"{type(e).__name__}: {original!r}", 500

    p = pair(setup, PROPAGATE_EXCEPTIONS=False)
    assert p.check("/boom").data == b"InternalServerError: ZeroDivisionError('boom')"
    assert p.check("/abort500").data == b"InternalServerError: None"


def test_500_handler_registered_by_class(pair: Callable[..., FlaskPair]) -> None:
    def setup(app: t.Any, m: SimpleNamespace) -> None:
        _boom_app(app, m)
        app.register_error_handler(
            m.exc.InternalServerError,
            lambda e: (f"class handler {type(e.original_exception).__name__}", 500),
        )

    p = pair(setup, PROPAGATE_EXCEPTIONS=False)
    assert p.check("/boom").data == b"class handler ZeroDivisionError"


def test_testing_propagates_exception(client: ErlenClient, app: Erlen) -> None:
    assert app.config["PROPAGATE_EXCEPTIONS"] is None
    _boom_app(app, ERLEN)
    with pytest.raises(ZeroDivisionError, match="boom"):
        client.get("/boom")
    # The client still works afterwards.
    assert client.get("/boom-not").status_code == 404


def test_testing_propagates_like_flask(pair: Callable[..., FlaskPair]) -> None:
    p = pair(_boom_app, TESTING=True)
    p.both_raise(ZeroDivisionError, "/boom")


def test_debug_propagates(pair: Callable[..., FlaskPair]) -> None:
    p = pair(_boom_app, DEBUG=True)
    p.both_raise(ZeroDivisionError, "/boom")


def test_propagate_false_with_testing_gives_500(pair: Callable[..., FlaskPair]) -> None:
    p = pair(_boom_app, TESTING=True, PROPAGATE_EXCEPTIONS=False)
    assert p.check("/boom").status_code == 500


def test_propagate_true_without_testing(pair: Callable[..., FlaskPair]) -> None:
    p = pair(_boom_app, PROPAGATE_EXCEPTIONS=True)
    p.both_raise(ZeroDivisionError, "/boom")


def test_exception_in_error_handler_is_500(
    pair: Callable[..., FlaskPair], caplog: pytest.LogCaptureFixture
) -> None:
    def setup(app: t.Any, m: SimpleNamespace) -> None:
        @app.errorhandler(404)
        def broken(e: t.Any) -> str:
            raise KeyError("in handler")

    p = pair(setup, PROPAGATE_EXCEPTIONS=False)
    with caplog.at_level(logging.ERROR):
        p.check("/missing")
    logged = [r for r in caplog.records if r.name == p.erlen_app.logger.name]
    assert logged and isinstance(logged[-1].exc_info[1], KeyError)  # type: ignore[index]


def test_exception_in_error_handler_reaches_500_handler(
    pair: Callable[..., FlaskPair],
) -> None:
    def setup(app: t.Any, m: SimpleNamespace) -> None:
        @app.errorhandler(404)
        def broken(e: t.Any) -> str:
            raise KeyError("in handler")

        @app.errorhandler(500)
        def server_error(e: t.Any) -> t.Any:
            return f"500 after {type(e.original_exception).__name__}", 500

    p = pair(setup, PROPAGATE_EXCEPTIONS=False)
    assert p.check("/missing").data == b"500 after KeyError"


@pytest.mark.parametrize("path", ["/missing", "/only-post"])
def test_error_in_a_routing_error_handler_has_it_as_context(
    pair: Callable[..., FlaskPair], path: str
) -> None:
    # A 404 or 405 is handled as if the view had raised it: what its
    # handler raises carries it as __context__, in both frameworks.
    def setup(app: t.Any, m: SimpleNamespace) -> None:
        @app.post("/only-post")
        def only_post() -> str:
            return "posted"

        @app.errorhandler(404)
        @app.errorhandler(405)
        def broken(e: t.Any) -> str:
            raise KeyError(type(e).__name__)

    p = pair(setup, PROPAGATE_EXCEPTIONS=True)
    with pytest.raises(KeyError) as theirs:
        p.flask.get(path)
    with pytest.raises(KeyError) as ours:
        p.erlen.get(path)
    assert ours.value.args == theirs.value.args
    assert (
        type(ours.value.__context__).__name__ == type(theirs.value.__context__).__name__
    )


def test_exception_in_500_handler_is_plain_500(
    client: ErlenClient, app: Erlen, caplog: pytest.LogCaptureFixture
) -> None:
    """Flask lets this reach the server (which answers 500); Erlen answers
    the plain 500 page itself and logs both errors."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    _boom_app(app, ERLEN)

    @app.errorhandler(500)
    def broken(e: t.Any) -> str:
        raise RuntimeError("500 handler broke")

    with caplog.at_level(logging.ERROR):
        rv = client.get("/boom")
    assert rv.status_code == 500
    assert rv.data == erlen.exceptions.InternalServerError().get_body().encode()
    errors = [r.exc_info[1] for r in caplog.records if r.exc_info]
    assert [type(e) for e in errors] == [ZeroDivisionError, RuntimeError]


def test_exception_in_after_request_while_handling_error(
    pair: Callable[..., FlaskPair], caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []

    def setup(app: t.Any, m: SimpleNamespace) -> None:
        _boom_app(app, m)

        @app.after_request
        def broken(response: t.Any) -> t.Any:
            calls.append(response.status_code)
            raise RuntimeError("after_request broke")

    p = pair(setup, PROPAGATE_EXCEPTIONS=False)
    with caplog.at_level(logging.ERROR):
        p.check("/boom")
    # Run once per app, on the 500 being sent; its failure is only logged.
    assert calls == [500, 500]
    messages = [r.getMessage() for r in caplog.records if r.name == "cmp_app"]
    assert messages[-1] == (
        "Request finalizing failed with an error while handling an error"
    )


def test_view_returning_none_is_a_type_error(client: ErlenClient, app: Erlen) -> None:
    @app.route("/none")
    def none() -> None:
        return None

    with pytest.raises(TypeError, match="'none' did not return a valid response"):
        client.get("/none")


# -- BadRequestKeyError and trapping ------------------------------------------


def _key_app(app: t.Any, m: SimpleNamespace) -> None:
    @app.route("/key")
    def key() -> str:
        return t.cast(str, m.request.args["missing_key"])

    @app.route("/bad")
    def bad() -> str:
        m.abort(400)

    @app.route("/nf")
    def nf() -> str:
        m.abort(404)


def test_bad_request_key_error_hides_key(pair: Callable[..., FlaskPair]) -> None:
    p = pair(_key_app)
    rv = p.check("/key")
    assert rv.status_code == 400
    assert b"missing_key" not in rv.data


def test_bad_request_key_error_shows_key_in_debug(
    pair: Callable[..., FlaskPair],
) -> None:
    p = pair(_key_app, DEBUG=True, TRAP_BAD_REQUEST_ERRORS=False)
    rv = p.check("/key")
    assert rv.status_code == 400
    assert b"missing_key" in rv.data


def test_debug_traps_bad_request_key_error(pair: Callable[..., FlaskPair]) -> None:
    p = pair(_key_app, DEBUG=True)
    p.both_raise(KeyError, "/key")
    # A plain BadRequest is not trapped in debug mode.
    p.check("/bad")


def test_trap_bad_request_errors(pair: Callable[..., FlaskPair]) -> None:
    p = pair(_key_app, TESTING=True, TRAP_BAD_REQUEST_ERRORS=True)
    p.both_raise(
        werkzeug.exceptions.BadRequest, "/bad", ours=erlen.exceptions.BadRequest
    )
    with pytest.raises(erlen.exceptions.BadRequestKeyError) as info:
        p.erlen.get("/key")
    assert "missing_key" in info.value.get_description()
    # Other HTTP errors are not trapped.
    p.check("/nf")


def test_trap_http_exceptions(pair: Callable[..., FlaskPair]) -> None:
    p = pair(_key_app, TESTING=True, TRAP_HTTP_EXCEPTIONS=True)
    p.both_raise(werkzeug.exceptions.NotFound, "/nf", ours=erlen.exceptions.NotFound)


def test_trapped_http_exception_still_reaches_its_handler(
    pair: Callable[..., FlaskPair],
) -> None:
    def setup(app: t.Any, m: SimpleNamespace) -> None:
        _key_app(app, m)
        app.register_error_handler(404, lambda e: ("handled 404", 404))

    p = pair(setup, TRAP_HTTP_EXCEPTIONS=True, PROPAGATE_EXCEPTIONS=False)
    p.check("/nf")
    p.check("/bad")  # trapped, no handler: an unhandled exception, so a 500


# -- hooks --------------------------------------------------------------------


def _hooks_app(app: t.Any, m: SimpleNamespace) -> None:
    """Every hook records its call in ``g.log``; the response shows the log."""

    @app.before_request
    def before1() -> t.Any:
        m.g.log = ["before1"]
        if m.request.args.get("stop") == "1":
            return "stopped by before1", 403
        return None

    @app.before_request
    def before2() -> None:
        m.g.log.append("before2")

    @app.after_request
    def after1(response: t.Any) -> t.Any:
        m.g.log.append("after1")
        response.headers["X-Log"] = ",".join(m.g.log)
        return response

    @app.after_request
    def after2(response: t.Any) -> t.Any:
        m.g.log.append("after2")
        return response

    @app.route("/")
    def index() -> str:
        m.g.log.append("view")

        @m.after_this_request
        def once(response: t.Any) -> t.Any:
            m.g.log.append("after_this_request")
            return response

        return "index"


def test_hook_order_like_flask(pair: Callable[..., FlaskPair]) -> None:
    p = pair(_hooks_app)
    rv = p.check("/")
    assert rv.headers["X-Log"] == (
        "before1,before2,view,after_this_request,after2,after1"
    )


def test_before_request_short_circuits(pair: Callable[..., FlaskPair]) -> None:
    p = pair(_hooks_app)
    rv = p.check("/?stop=1")
    assert rv.status_code == 403
    assert rv.headers["X-Log"] == "before1,after2,after1"


def test_after_request_can_replace_response(client: ErlenClient, app: Erlen) -> None:
    @app.route("/")
    def index() -> str:
        return "original"

    @app.after_request
    def replace(response: erlen.Response) -> erlen.Response:
        return erlen.Response("replaced", 202)

    rv = client.get("/")
    assert (rv.status_code, rv.data) == (202, b"replaced")


def test_after_request_runs_for_http_errors(pair: Callable[..., FlaskPair]) -> None:
    def setup(app: t.Any, m: SimpleNamespace) -> None:
        _hooks_app(app, m)

        @app.route("/nf")
        def nf() -> str:
            m.g.log.append("view")
            m.abort(404)

    p = pair(setup)
    assert p.check("/nf").headers["X-Log"] == "before1,before2,view,after2,after1"
    assert p.check("/missing").headers["X-Log"] == "before1,before2,after2,after1"


def _teardown_app(app: t.Any, m: SimpleNamespace, log: list[t.Any]) -> None:
    @app.teardown_request
    def teardown1(exc: BaseException | None) -> None:
        log.append(("request1", type(exc).__name__ if exc else None))

    @app.teardown_request
    def teardown2(exc: BaseException | None) -> None:
        log.append(("request2", type(exc).__name__ if exc else None))

    @app.teardown_appcontext
    def teardown_app(exc: BaseException | None) -> None:
        log.append(("app", type(exc).__name__ if exc else None))

    @app.route("/")
    def index() -> str:
        return "ok"

    @app.route("/boom")
    def boom() -> str:
        raise ZeroDivisionError()

    @app.route("/handled")
    def handled() -> str:
        raise AppError()

    @app.route("/nf")
    def nf() -> str:
        m.abort(404)

    app.register_error_handler(AppError, lambda e: ("handled", 400))


@pytest.mark.parametrize(
    ("path", "config"),
    [
        ("/", {}),
        ("/nf", {}),
        ("/handled", {}),
        ("/boom", {"PROPAGATE_EXCEPTIONS": False}),
    ],
)
def test_teardown_like_flask(driver: str, path: str, config: dict[str, t.Any]) -> None:
    logs: list[list[t.Any]] = [[], []]
    p = FlaskPair(
        lambda app, m: _teardown_app(app, m, logs[m is ERLEN]),
        driver,
        config=config,
        names=(FLASK, ERLEN),
    )
    try:
        p.check(path)
    finally:
        p.close()
    assert logs[1] == logs[0]
    assert logs[1][:2] == [
        ("request2", logs[1][0][1]),
        ("request1", logs[1][0][1]),
    ]


def test_teardown_sees_propagated_exception(client: ErlenClient, app: Erlen) -> None:
    log: list[t.Any] = []
    _teardown_app(app, ERLEN, log)
    with pytest.raises(ZeroDivisionError):
        client.get("/boom")
    assert log == [
        ("request2", "ZeroDivisionError"),
        ("request1", "ZeroDivisionError"),
        ("app", "ZeroDivisionError"),
    ]


def test_failing_teardown_does_not_stop_others(
    client: ErlenClient, app: Erlen, caplog: pytest.LogCaptureFixture
) -> None:
    """Flask lets the first failing teardown function end teardown; Erlen
    runs them all and logs each failure."""
    log: list[str] = []

    @app.teardown_request
    def last(exc: BaseException | None) -> None:
        log.append("last")

    @app.teardown_request
    def broken(exc: BaseException | None) -> None:
        log.append("broken")
        raise RuntimeError("teardown broke")

    @app.teardown_appcontext
    def broken_app(exc: BaseException | None) -> None:
        log.append("broken_app")
        raise RuntimeError("app teardown broke")

    @app.route("/")
    def index() -> str:
        return "ok"

    with caplog.at_level(logging.ERROR):
        rv = client.get("/")
    assert rv.data == b"ok"
    assert log == ["broken", "last", "broken_app"]
    failures = [str(r.exc_info[1]) for r in caplog.records if r.exc_info]
    assert failures == ["teardown broke", "app teardown broke"]


def test_teardown_appcontext_for_app_context(app: Erlen) -> None:
    log: list[t.Any] = []
    app.teardown_appcontext(lambda exc: log.append(exc))
    with app.app_context():
        pass
    assert log == [None]
    with pytest.raises(ZeroDivisionError), app.app_context():
        raise ZeroDivisionError()
    assert isinstance(log[1], ZeroDivisionError)


def test_after_this_request_outside_request() -> None:
    with pytest.raises(RuntimeError, match="request context"):
        erlen.after_this_request(lambda r: r)


def test_after_this_request_is_per_request(client: ErlenClient, app: Erlen) -> None:
    @app.route("/")
    def index() -> str:
        if erlen.request.args.get("add"):

            @erlen.after_this_request
            def add(response: erlen.Response) -> erlen.Response:
                response.headers["X-Once"] = "yes"
                return response

        return "x"

    assert client.get("/?add=1").headers.get("X-Once") == "yes"
    assert "X-Once" not in client.get("/").headers


# -- async hooks, handlers and views ------------------------------------------


def _async_app(app: Erlen) -> list[str]:
    log: list[str] = []

    @app.url_value_preprocessor
    async def pre(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
        await asyncio.sleep(0)
        if values and "lang" in values:
            erlen.g.lang = values.pop("lang")

    @app.before_request
    async def before() -> t.Any:
        await asyncio.sleep(0)
        log.append("before")
        if erlen.request.args.get("stop"):
            return "stopped"
        return None

    @app.after_request
    async def after(response: erlen.Response) -> erlen.Response:
        await asyncio.sleep(0)
        response.headers["X-After"] = "async"
        return response

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        await asyncio.sleep(0)
        log.append(f"teardown {type(exc).__name__ if exc else None}")

    @app.teardown_appcontext
    async def teardown_app(exc: BaseException | None) -> None:
        await asyncio.sleep(0)
        log.append("teardown_app")

    @app.errorhandler(AppError)
    async def app_error(e: AppError) -> t.Any:
        await asyncio.sleep(0)
        return "async handler", 409

    @app.errorhandler(404)
    async def not_found(e: t.Any) -> t.Any:
        await asyncio.sleep(0)
        return "async 404", 404

    @app.route("/<lang>/view")
    async def view() -> str:
        await asyncio.sleep(0)

        @erlen.after_this_request
        async def once(response: erlen.Response) -> erlen.Response:
            response.headers["X-Once"] = erlen.g.lang
            return response

        return f"async view {erlen.g.lang} {erlen.request.method}"

    @app.route("/error")
    async def error() -> str:
        await asyncio.sleep(0)
        raise AppError()

    return log


def test_async_hooks_and_view(client: ErlenClient, app: Erlen) -> None:
    log = _async_app(app)
    rv = client.get("/de/view")
    assert rv.data == b"async view de GET"
    assert rv.headers["X-After"] == "async"
    assert rv.headers["X-Once"] == "de"
    assert log == ["before", "teardown None", "teardown_app"]


def test_async_before_request_short_circuits(client: ErlenClient, app: Erlen) -> None:
    log = _async_app(app)
    rv = client.get("/de/view?stop=1")
    assert rv.data == b"stopped"
    assert rv.headers["X-After"] == "async"
    assert "X-Once" not in rv.headers
    assert log[0] == "before"


def test_async_error_handlers(client: ErlenClient, app: Erlen) -> None:
    _async_app(app)
    rv = client.get("/error")
    assert (rv.status_code, rv.data) == (409, b"async handler")
    rv = client.get("/nowhere")
    assert (rv.status_code, rv.data) == (404, b"async 404")
    assert rv.headers["X-After"] == "async"


def test_async_view_exception_propagates(client: ErlenClient, app: Erlen) -> None:
    log = _async_app(app)

    @app.route("/boom")
    async def boom() -> str:
        await asyncio.sleep(0)
        raise ZeroDivisionError()

    with pytest.raises(ZeroDivisionError):
        client.get("/boom")
    assert log[-2:] == ["teardown ZeroDivisionError", "teardown_app"]


def test_async_under_wsgi_reuses_the_threads_loop(app: Erlen) -> None:
    loops: list[int] = []

    @app.route("/")
    async def index() -> str:
        loops.append(id(asyncio.get_running_loop()))
        return "x"

    client = app.test_client(driver="wsgi")  # type: ignore[call-arg]
    client.get("/")
    client.get("/")
    assert len(loops) == 2 and loops[0] == loops[1]


def test_sync_under_asgi_runs_in_thread_pool(app: Erlen) -> None:
    threads: list[str] = []

    @app.before_request
    async def before() -> None:
        threads.append(threading.current_thread().name)

    @app.route("/")
    def index() -> str:
        threads.append(threading.current_thread().name)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return "no loop in the view's thread"
        return "loop"

    client = app.test_client(driver="asgi")  # type: ignore[call-arg]
    try:
        assert client.get("/").data == b"no loop in the view's thread"
    finally:
        client.close()
    assert threads[0] == threading.current_thread().name
    assert threads[1] != threads[0]
    assert threads[1].startswith(f"erlen-{app.name}")


def test_sync_under_wsgi_runs_inline(client: ErlenClient, app: Erlen) -> None:
    @app.route("/")
    def index() -> str:
        return threading.current_thread().name

    rv = client.get("/")
    if client.driver == "wsgi":
        assert rv.data.decode() == threading.current_thread().name
    else:
        assert rv.data.decode().startswith(f"erlen-{app.name}")


def test_async_after_this_request_in_sync_app(client: ErlenClient, app: Erlen) -> None:
    """An app whose registered functions are all ``def`` runs a request in one
    worker thread under ASGI; an ``async def`` added per request still runs."""

    @app.route("/")
    def index() -> str:
        @erlen.after_this_request
        async def once(response: erlen.Response) -> erlen.Response:
            await asyncio.sleep(0)
            response.headers["X-Once"] = "async"
            return response

        return "sync view"

    rv = client.get("/")
    assert (rv.data, rv.headers["X-Once"]) == (b"sync view", "async")


def test_async_url_defaults_is_refused(app: Erlen) -> None:
    """``url_for`` is synchronous (in Flask too), so an ``async def``
    ``url_defaults`` could never run; registering one says so."""

    async def add_lang(endpoint: str, values: dict[str, t.Any]) -> None:
        values.setdefault("lang", "en")

    with pytest.raises(TypeError, match="'add_lang' cannot be 'async def'"):
        app.url_defaults(add_lang)
    assert not app.url_default_functions[None]


def test_per_request_functions_are_not_kept_alive(
    client: ErlenClient, app: Erlen
) -> None:
    """Functions made during a request (and what they captured) are freed
    once it ends; nothing caches them."""
    import gc
    import weakref

    refs: list[weakref.ref[t.Any]] = []

    class Big:
        pass

    @app.route("/")
    async def index() -> str:
        captured = Big()

        @erlen.after_this_request
        def once(response: erlen.Response) -> erlen.Response:
            response.headers["X-Captured"] = type(captured).__name__
            return response

        refs.append(weakref.ref(once))
        refs.append(weakref.ref(captured))
        return "x"

    assert client.get("/").headers["X-Captured"] == "Big"
    gc.collect()
    assert [ref() for ref in refs] == [None, None]


def test_werkzeug_http_exception_from_ported_code(
    app: Erlen, client: ErlenClient
) -> None:
    """Ported code that raises Werkzeug's exceptions gets their status and
    Erlen's error handlers, not a 500."""
    import werkzeug.exceptions as wz

    @app.get("/nf")
    def nf() -> str:
        raise wz.NotFound("gone fishing")

    @app.get("/teapot")
    def teapot() -> str:
        raise wz.ImATeapot()

    @app.errorhandler(418)
    def on_teapot(e: Exception) -> tuple[str, int]:
        return f"handled {type(e).__module__}", 418

    rv = client.get("/nf")
    assert rv.status_code == 404
    assert b"gone fishing" in rv.data
    rv = client.get("/teapot")
    assert (rv.status_code, rv.data) == (418, b"handled erlen.exceptions")
