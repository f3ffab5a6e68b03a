"""Signals and the app's logger, through both drivers, compared with Flask.

The signal tests record every signal and every hook of one request into a
single list, for a Flask app and an Erlen app built the same way, and
compare the lists: same signals, same order, same arguments.
"""

from __future__ import annotations

import asyncio
import io
import logging
import types
import typing as t
import uuid

import flask
import pytest

import erlen
from erlen import Erlen, signals
from erlen.logging import create_logger, default_handler, has_level_handler
from erlen.testing import ErlenClient

REQUEST_SIGNALS = [
    "request_started",
    "request_finished",
    "request_tearing_down",
    "got_request_exception",
    "appcontext_pushed",
    "appcontext_popped",
    "appcontext_tearing_down",
]


MakeClient = t.Callable[[Erlen], ErlenClient]


@pytest.fixture
def make_client(driver: str) -> t.Iterator[t.Callable[[Erlen], ErlenClient]]:
    """``make_client(app)``: a client through the test's driver, closed (with
    its event loop) when the test ends."""
    clients: list[ErlenClient] = []

    def make(app: Erlen) -> ErlenClient:
        client = app.test_client(driver=driver)  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def _describe(value: t.Any) -> t.Any:
    if value is None or isinstance(value, str | int):
        return value
    if isinstance(value, BaseException):
        return type(value).__name__
    if hasattr(value, "status_code"):
        return value.status_code
    return type(value).__name__


def _build(app: t.Any, fw: types.ModuleType, events: list[t.Any]) -> t.Any:
    """Routes and hooks that record themselves in ``events``."""

    @app.before_request
    def before() -> None:
        events.append("before_request")

    @app.after_request
    def after(response: t.Any) -> t.Any:
        events.append("after_request")
        return response

    @app.teardown_request
    def teardown_request(exc: BaseException | None) -> None:
        events.append(("teardown_request", _describe(exc)))

    @app.teardown_appcontext
    def teardown_appcontext(exc: BaseException | None) -> None:
        events.append(("teardown_appcontext", _describe(exc)))

    @app.route("/ok")
    def ok() -> t.Any:
        events.append("view")
        return "ok"

    @app.route("/boom")
    def boom() -> t.Any:
        events.append("view")
        raise ZeroDivisionError("boom")

    @app.route("/handled")
    def handled() -> t.Any:
        events.append("view")
        raise KeyError("handled")

    @app.errorhandler(KeyError)
    def on_key_error(e: KeyError) -> t.Any:
        events.append("error_handler")
        return "handled", 409

    @app.route("/abort")
    def abort_() -> t.Any:
        events.append("view")
        fw.abort(418)

    @app.route("/flash")
    def flash_() -> t.Any:
        fw.flash("hi", "info")
        return "flashed"

    return app


def _record(
    app: t.Any, module: types.ModuleType, events: list[t.Any]
) -> list[tuple[t.Any, t.Callable[..., None]]]:
    """Receivers for every request signal of ``module`` (``erlen.signals``
    or ``flask.signals``), connected to ``app``."""
    connected = []
    for name in REQUEST_SIGNALS:
        signal = getattr(module, name)

        def receiver(sender: t.Any, _name: str = name, **kwargs: t.Any) -> None:
            assert sender is app
            described = {key: _describe(value) for key, value in kwargs.items()}
            events.append((_name, described) if described else _name)

        signal.connect(receiver, app)
        connected.append((signal, receiver))
    return connected


@pytest.fixture
def recorded(
    make_client: MakeClient,
) -> t.Iterator[t.Callable[[str], tuple[t.Any, t.Any]]]:
    """``recorded(path)`` → (Erlen's events, Flask's events) for one GET."""
    connections: list[tuple[t.Any, t.Callable[..., None]]] = []

    def run(path: str, testing: bool = False) -> tuple[t.Any, t.Any]:
        got = []
        for fw, module in ((erlen, signals), (flask, flask.signals)):
            events: list[t.Any] = []
            cls = erlen.Erlen if fw is erlen else flask.Flask
            app = _build(cls("signals_app"), fw, events)
            app.config.update(SECRET_KEY="k", TESTING=testing)
            connections.extend(_record(app, module, events))
            if fw is erlen:
                client = make_client(app)
            else:
                client = app.test_client()
            try:
                rv = client.get(path)
                events.append(("status", rv.status_code))
            except Exception as e:
                events.append(("raised", type(e).__name__))
            got.append(events)
        return got[0], got[1]

    yield run
    for signal, receiver in connections:
        signal.disconnect(receiver)


def _without(events: list[t.Any], name: str) -> list[t.Any]:
    return [e for e in events if e != name and not (type(e) is tuple and e[0] == name)]


PATHS = ["/ok", "/boom", "/handled", "/abort", "/missing"]


@pytest.mark.parametrize("path", PATHS)
def test_request_signals_same_as_flask(
    recorded: t.Callable[[str], tuple[t.Any, t.Any]], path: str
) -> None:
    ours, theirs = recorded(path)
    # request_tearing_down's place is checked by the test below.
    assert _without(ours, "request_tearing_down") == _without(
        theirs, "request_tearing_down"
    )
    assert ours.count(("request_tearing_down", {"exc": None})) == theirs.count(
        ("request_tearing_down", {"exc": None})
    )


def test_request_signals_ok_sequence(
    recorded: t.Callable[[str], tuple[t.Any, t.Any]],
) -> None:
    ours, _ = recorded("/ok")
    assert _without(ours, "request_tearing_down") == [
        "appcontext_pushed",
        "request_started",
        "before_request",
        "view",
        "after_request",
        ("request_finished", {"response": 200}),
        ("teardown_request", None),
        ("teardown_appcontext", None),
        ("appcontext_tearing_down", {"exc": None}),
        "appcontext_popped",
        ("status", 200),
    ]


def test_got_request_exception_when_unhandled(
    recorded: t.Callable[..., tuple[t.Any, t.Any]],
) -> None:
    ours, theirs = recorded("/boom")
    assert ("got_request_exception", {"exception": "ZeroDivisionError"}) in ours
    # The 500 page is sent, and teardown still sees the error (as Flask).
    assert ("teardown_request", "ZeroDivisionError") in ours
    assert ("status", 500) in ours
    # Also sent when the exception propagates (testing mode).
    ours, theirs = recorded("/boom", testing=True)
    assert _without(ours, "request_tearing_down") == _without(
        theirs, "request_tearing_down"
    )
    assert ("got_request_exception", {"exception": "ZeroDivisionError"}) in ours
    assert ("teardown_request", "ZeroDivisionError") in ours
    assert ours[-1] == ("raised", "ZeroDivisionError")


@pytest.mark.parametrize("path", ["/ok", "/boom"])
def test_request_tearing_down_after_teardown_functions(
    recorded: t.Callable[[str], tuple[t.Any, t.Any]], path: str
) -> None:
    ours, theirs = recorded(path)
    assert ours == theirs


def test_request_started_sees_the_matched_endpoint(client: ErlenClient) -> None:
    app = client.application
    seen: list[t.Any] = []

    @app.route("/where")
    def where() -> t.Any:
        return "here"

    def receiver(sender: t.Any, **kwargs: t.Any) -> None:
        seen.append(erlen.request.endpoint)

    with signals.request_started.connected_to(receiver, app):
        client.get("/where")
    assert seen == ["where"]


def test_request_finished_response_can_be_changed(
    app: Erlen, client: ErlenClient
) -> None:
    @app.route("/")
    def index() -> t.Any:
        return "index"

    def receiver(sender: t.Any, response: t.Any, **kwargs: t.Any) -> None:
        response.headers["X-Finished"] = "yes"

    with signals.request_finished.connected_to(receiver, app):
        assert client.get("/").headers["X-Finished"] == "yes"


def test_receivers_for_another_app_are_not_called(client: ErlenClient) -> None:
    other = Erlen("other")
    called: list[str] = []

    def receiver(sender: t.Any, **kwargs: t.Any) -> None:
        called.append("x")

    with signals.request_started.connected_to(receiver, other):
        client.get("/")
    assert called == []


def test_appcontext_signals_outside_requests(app: Erlen) -> None:
    events: list[t.Any] = []
    connected = _record(app, signals, events)
    try:
        with app.app_context():
            events.append("inside")
    finally:
        for signal, receiver in connected:
            signal.disconnect(receiver)
    assert events == [
        "appcontext_pushed",
        "inside",
        ("appcontext_tearing_down", {"exc": None}),
        "appcontext_popped",
    ]


def test_signals_are_exported_with_flasks_names() -> None:
    for name in (*REQUEST_SIGNALS, "template_rendered", "before_render_template"):
        ours = getattr(signals, name)
        assert getattr(erlen, name) is ours
        assert ours.name == getattr(flask.signals, name).name
    assert signals.message_flashed.name == flask.signals.message_flashed.name


# -- template signals --------------------------------------------------------


def test_template_signals(app: Erlen, client: ErlenClient) -> None:
    @app.route("/page")
    def page() -> t.Any:
        return erlen.render_template_string("{{ word }}!", word="hi")

    events: list[tuple[str, t.Any, dict[str, t.Any]]] = []

    def before(sender: t.Any, template: t.Any, context: dict[str, t.Any]) -> None:
        events.append(("before", template, dict(context)))
        context["word"] = "changed"

    def after(sender: t.Any, template: t.Any, context: dict[str, t.Any]) -> None:
        events.append(("after", template, dict(context)))

    with (
        signals.before_render_template.connected_to(before, app),
        signals.template_rendered.connected_to(after, app),
    ):
        assert client.get("/page").text == "changed!"
    assert [e[0] for e in events] == ["before", "after"]
    assert events[0][1] is events[1][1]
    assert events[0][2]["word"] == "hi"
    assert events[1][2]["word"] == "changed"
    assert "request" in events[0][2]


# -- async receivers -----------------------------------------------------------


def test_async_receiver_for_message_flashed(
    app: Erlen, client: ErlenClient, driver: str
) -> None:
    seen: list[tuple[str, str, str]] = []

    async def receiver(sender: t.Any, message: str, category: str) -> None:
        await asyncio.sleep(0)
        seen.append((message, category, erlen.request.path))

    @app.route("/flash-sync")
    def flash_sync() -> t.Any:
        erlen.flash("from def", "a")
        return "ok"

    @app.route("/flash-async")
    async def flash_async() -> t.Any:
        erlen.flash("from async def", "b")
        return "ok"

    with signals.message_flashed.connected_to(receiver, app):
        client.get("/flash-sync")
        client.get("/flash-async")
    assert seen == [
        ("from def", "a", "/flash-sync"),
        ("from async def", "b", "/flash-async"),
    ]


def test_send_helper() -> None:
    signal = erlen.signals._signals.signal(f"test-{uuid.uuid4()}")
    assert signals.send(signal, "sender") == []

    def sync_receiver(sender: t.Any, **kwargs: t.Any) -> str:
        return f"sync {sender} {kwargs}"

    async def async_receiver(sender: t.Any, **kwargs: t.Any) -> str:
        await asyncio.sleep(0)
        return f"async {sender}"

    async def failing(sender: t.Any, **kwargs: t.Any) -> None:
        raise ValueError("from the receiver")

    signal.connect(sync_receiver)
    signal.connect(async_receiver)
    results = [rv for _, rv in signals.send(signal, "s", x=1)]
    assert results == ["sync s {'x': 1}", "async s"]

    # From code running on an event loop: the coroutine cannot run on that
    # loop synchronously, so it runs to completion on a helper thread.
    async def on_loop() -> list[t.Any]:
        return [rv for _, rv in signals.send(signal, "l")]

    assert asyncio.run(on_loop()) == ["sync l {}", "async l"]

    signal.connect(failing)
    with pytest.raises(ValueError, match="from the receiver"):
        signals.send(signal, "s")
    with pytest.raises(ValueError, match="from the receiver"):
        asyncio.run(on_loop())


def test_async_receiver_for_request_signals(app: Erlen, client: ErlenClient) -> None:
    seen: list[int] = []

    async def receiver(sender: t.Any, response: t.Any, **kwargs: t.Any) -> None:
        seen.append(response.status_code)

    @app.route("/")
    def index() -> t.Any:
        return "index"

    with signals.request_finished.connected_to(receiver, app):
        client.get("/")
    assert seen == [200]


# -- logging -----------------------------------------------------------------


@pytest.fixture
def fresh_name() -> t.Iterator[str]:
    """A logger name no other test used, under a parent logger that does not
    propagate to the root (where pytest installs its capture handlers), so
    the tests control every handler its records could reach.  Both loggers
    are reset afterwards.

    A test isolates the logger by calling :func:`_parent` first: pytest
    attaches its capture handlers to the non-propagating loggers that exist
    when the test's call phase starts, so this cannot be done here."""
    parent = f"erlen_test_{uuid.uuid4().hex}"
    yield f"{parent}.app"
    for name in (parent, f"{parent}.app"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.setLevel(logging.NOTSET)
        logger.propagate = True


def _parent(name: str) -> logging.Logger:
    """The parent of ``name``'s logger, made to not propagate to the root."""
    logger = logging.getLogger(name.rpartition(".")[0])
    logger.propagate = False
    return logger


def test_logger_is_named_after_the_app(fresh_name: str) -> None:
    app = Erlen(fresh_name)
    assert app.logger is logging.getLogger(fresh_name)
    assert app.logger.name == flask.Flask(fresh_name).logger.name == fresh_name


@pytest.mark.parametrize("debug", [True, False])
def test_logger_level_in_debug_mode(fresh_name: str, debug: bool) -> None:
    _parent(fresh_name)
    app = Erlen(fresh_name)
    app.debug = debug
    assert app.logger.level == (logging.DEBUG if debug else logging.NOTSET)
    logger = app.logger
    logger.handlers.clear()
    logger.setLevel(logging.NOTSET)
    flask_app = flask.Flask(fresh_name)
    flask_app.debug = debug
    assert flask_app.logger.level == (logging.DEBUG if debug else logging.NOTSET)
    assert flask_app.logger.handlers == [flask.logging.default_handler]


def test_logger_level_set_by_user_is_kept(fresh_name: str) -> None:
    logging.getLogger(fresh_name).setLevel(logging.WARNING)
    app = Erlen(fresh_name)
    app.debug = True
    assert app.logger.level == logging.WARNING


def test_default_handler_when_nothing_is_configured(fresh_name: str) -> None:
    _parent(fresh_name)
    assert create_logger(Erlen(fresh_name)).handlers == [default_handler]


def test_no_default_handler_when_a_parent_has_one(fresh_name: str) -> None:
    _parent(fresh_name).addHandler(logging.NullHandler())
    assert Erlen(fresh_name).logger.handlers == []


def test_no_default_handler_when_root_has_one() -> None:
    # pytest's capture handler on the root logger counts as configured.
    name = f"erlen_test_{uuid.uuid4().hex}"
    assert logging.root.handlers
    try:
        assert Erlen(name).logger.handlers == []
    finally:
        logging.getLogger(name).handlers.clear()


def test_no_default_handler_when_the_logger_has_one(fresh_name: str) -> None:
    own = logging.StreamHandler(io.StringIO())
    logging.getLogger(fresh_name).addHandler(own)
    assert Erlen(fresh_name).logger.handlers == [own]


def test_a_handler_above_the_level_does_not_count(fresh_name: str) -> None:
    _parent(fresh_name)
    # The logger emits WARNING and up; a handler that only takes ERROR
    # would hide warnings, so the default handler is added.
    _parent(fresh_name).addHandler(logging.NullHandler(logging.ERROR))
    logger = logging.getLogger(fresh_name)
    logger.setLevel(logging.WARNING)
    assert not has_level_handler(logger)
    assert Erlen(fresh_name).logger.handlers == [default_handler]


def test_handlers_of_non_propagating_parents_do_not_count(fresh_name: str) -> None:
    logger = logging.getLogger(fresh_name)
    _parent(fresh_name).addHandler(logging.NullHandler())
    assert has_level_handler(logger)
    logger.propagate = False
    assert not has_level_handler(logger)


def test_default_handler_can_be_removed(fresh_name: str) -> None:
    _parent(fresh_name)
    app = Erlen(fresh_name)
    app.logger.removeHandler(default_handler)
    assert app.logger.handlers == []


def test_default_handler_follows_stderr(
    fresh_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _parent(fresh_name)
    app = Erlen(fresh_name)
    app.logger.error("to stderr")
    err = capsys.readouterr().err
    assert err.endswith("ERROR in test_signals_logging: to stderr\n")
    assert err.startswith("[")


def test_default_handler_writes_to_wsgi_errors(
    fresh_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _parent(fresh_name)
    app = Erlen(fresh_name)
    errors = io.StringIO()

    @app.route("/")
    def index() -> t.Any:
        app.logger.warning("in a request")
        return "ok"

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": errors,
    }
    body = b"".join(app(environ, lambda *args: None))
    assert body == b"ok"
    assert "WARNING in test_signals_logging: in a request" in errors.getvalue()
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/boom", "/boom"),
        ("/boom%0AERROR:forged", "/boom\\nERROR:forged"),
        ("/boom%0D%0Aforged", "/boom\\r\\nforged"),
        ("/boom%1B[31mred", "/boom\\x1b[31mred"),
    ],
)
def test_unhandled_exception_is_logged_on_one_line(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture, path: str, logged: str
) -> None:
    app = Erlen("log_app")

    @app.before_request
    def boom() -> None:
        raise ZeroDivisionError("boom")

    client = make_client(app)
    with caplog.at_level(logging.ERROR, logger="log_app"):
        assert client.get(path).status_code == 500
    (record,) = [r for r in caplog.records if r.name == "log_app"]
    message = record.getMessage()
    assert message == f"Exception on {logged} [GET]"
    assert "\n" not in message and "\r" not in message and "\x1b" not in message
    assert record.exc_info is not None and record.exc_info[0] is ZeroDivisionError


def test_log_message_matches_flask(caplog: pytest.LogCaptureFixture) -> None:
    messages = []
    for cls in (Erlen, flask.Flask):
        app = cls("log_app_cmp")

        @app.route("/x")
        def boom() -> t.Any:
            raise ZeroDivisionError("boom")

        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="log_app_cmp"):
            app.test_client().get("/x")
        messages.append([r.getMessage() for r in caplog.records])
    assert messages[0] == messages[1] == ["Exception on /x [GET]"]
