"""Application and request contexts and the ``current_app``/``g``/``request``
proxies: Flask's behaviour, and correct isolation between concurrent
requests in threads (WSGI) and asyncio tasks (ASGI).

Flask is imported here only, to compare behaviour.
"""

from __future__ import annotations

import asyncio
import threading
import typing as t

import flask
import pytest

import erlen
from erlen import Erlen, current_app, g, request, session
from erlen.testing import ErlenClient

# -- outside any context ------------------------------------------------------


def test_proxies_outside_context_raise() -> None:
    for proxy, theirs in ((current_app, flask.current_app), (g, flask.g)):
        with pytest.raises(RuntimeError, match="outside of application context"):
            getattr(theirs, "name")  # noqa: B009
        with pytest.raises(RuntimeError, match="outside of application context"):
            getattr(proxy, "name")  # noqa: B009
    with pytest.raises(RuntimeError, match="outside of request context"):
        getattr(flask.request, "path")  # noqa: B009
    for proxy in (request, session):
        with pytest.raises(RuntimeError, match="outside of request context"):
            getattr(proxy, "path")  # noqa: B009
        with pytest.raises(RuntimeError, match="outside of request context"):
            proxy["key"]  # type: ignore[index]
        with pytest.raises(RuntimeError, match="outside of request context"):
            proxy._get_current_object()  # type: ignore[union-attr]
    with pytest.raises(RuntimeError, match="outside of application context"):
        g._get_current_object()  # type: ignore[attr-defined]


def test_proxies_read_the_current_context(app: Erlen) -> None:
    with app.test_request_context("/page?q=1"):
        session["key"] = "value"
        g.value = 1
        assert request.args["q"] == "1"
        assert session["key"] == "value"
        assert g.value == 1
        with app.test_request_context("/other"):
            # The inner context is current; then the outer one again.
            assert request.path == "/other"
            assert "key" not in session
        assert request.path == "/page"
        assert session["key"] == "value"


def test_has_context_functions(app: Erlen) -> None:
    assert not erlen.has_app_context()
    assert not erlen.has_request_context()
    with app.app_context():
        assert erlen.has_app_context()
        assert not erlen.has_request_context()
    with app.test_request_context():
        assert erlen.has_app_context()
        assert erlen.has_request_context()
    assert not erlen.has_app_context()
    assert not erlen.has_request_context()


def test_unbound_proxies_are_falsy_and_have_a_repr() -> None:
    assert not current_app
    assert not g
    assert not request
    assert not session
    for name, proxy in (
        ("current_app", current_app),
        ("g", g),
        ("request", request),
        ("session", session),
    ):
        assert repr(proxy) == f"<unbound {name}>"


# -- the app context and g ----------------------------------------------------


def test_app_context(app: Erlen) -> None:
    with app.app_context() as ctx:
        assert current_app == app
        assert current_app._get_current_object() is app  # type: ignore[attr-defined]
        assert current_app.name == "test_app"
        assert ctx.app is app
        assert g._get_current_object() is ctx.g  # type: ignore[attr-defined]
        assert repr(g) == "<erlen.g of 'test_app'>"


def test_nested_app_contexts_have_their_own_g(app: Erlen) -> None:
    other = Erlen("other")
    with app.app_context():
        g.value = "outer"
        with other.app_context():
            assert current_app.name == "other"
            assert "value" not in g
            g.value = "inner"
        assert current_app.name == "test_app"
        assert g.value == "outer"


def test_request_context_reuses_the_current_app_context() -> None:
    """As in Flask: a request context pushed inside an app context of the
    same app shares its ``g``; of another app, gets its own."""
    for mod, cls in ((flask, flask.Flask), (erlen, Erlen)):
        app = cls("x")
        with app.app_context():
            mod.g.value = 1
            with app.test_request_context():
                assert mod.g.value == 1
            with cls("y").test_request_context():
                assert "value" not in mod.g
            assert mod.g.value == 1


def test_g_is_dict_like_like_flask() -> None:
    results = []
    for mod, cls in ((flask, flask.Flask), (erlen, Erlen)):
        app = cls("x")
        with app.app_context():
            gg = mod.g
            out: list[t.Any] = [gg.get("a"), gg.get("a", 1), "a" in gg]
            gg.a = 1
            out += [gg.get("a"), "a" in gg, gg.a]
            out.append(gg.setdefault("b", 2))
            out.append(gg.setdefault("b", 3))
            out.append(sorted(gg))
            out.append(gg.pop("a"))
            out.append(gg.pop("a", "default"))
            with pytest.raises(KeyError):
                gg.pop("a")
            with pytest.raises(AttributeError):
                gg.missing  # noqa: B018
            del gg.b
            with pytest.raises(AttributeError):
                del gg.b
            out.append(list(gg))
            out.append(hasattr(gg, "b"))
            results.append(out)
    assert results[1] == results[0]


def test_request_inside_app_context_like_flask(driver: str) -> None:
    """A request made while the app's context is pushed shares its ``g`` and
    does not run the ``teardown_appcontext`` functions: the app context does,
    when it ends."""
    logs = []
    for mod, cls in ((flask, flask.Flask), (erlen, Erlen)):
        app = cls("x")
        log: list[str] = []
        app.teardown_appcontext(lambda e, log=log: log.append("teardown_app"))
        app.teardown_request(lambda e, log=log: log.append("teardown_request"))
        app.add_url_rule("/", "i", lambda mod=mod: str(mod.g.get("outer")))
        client = app.test_client(driver=driver) if cls is Erlen else app.test_client()
        with app.app_context():
            mod.g.outer = "shared"
            log.append(client.get("/").data.decode())
        log.append(client.get("/").data.decode())
        with app.app_context(), app.test_request_context():
            pass
        log.append("end")
        logs.append(log)
        if cls is Erlen:
            client.close()  # type: ignore[attr-defined]
    assert (
        logs[1]
        == logs[0]
        == [
            "teardown_request",
            "shared",
            "teardown_app",
            "teardown_request",
            "teardown_app",
            "None",
            "teardown_request",
            "teardown_app",
            "end",
        ]
    )


def _app_context_story(mod: t.Any, app: t.Any, log: list[t.Any]) -> None:
    """Routes and hooks that note what current_app, g and the context
    functions give at each step of a request, for Flask and Erlen alike."""
    name = lambda: mod.current_app.name if mod.has_app_context() else None  # noqa: E731

    def note(step: str) -> None:
        log.append((step, name(), mod.has_request_context(), sorted(mod.g)))

    # Where Erlen differs from Flask on purpose: teardown_appcontext runs
    # while the request context is still there (Flask's has gone), and
    # stream_with_context defers the teardown to the end of the stream
    # (Flask runs it twice: when the view returns, and after the stream).

    @app.before_request
    def before() -> None:
        note("before")
        mod.g.a = 1

    @app.route("/")
    def index() -> str:
        note("view")
        with app.app_context():
            note("own app context")  # a new g
            mod.g.b = 2
        with app.test_request_context("/other"):
            note("inner request")  # the request's g, shared
        results: list[t.Any] = []

        def in_thread() -> None:
            results.append(sorted(mod.g))

        thread = threading.Thread(target=mod.copy_current_request_context(in_thread))
        thread.start()
        thread.join()
        log.append(("thread", results))  # its own app context: a new g
        log.append(("repr", repr(mod.g).replace(mod.__name__, "<module>")))
        note("view again")
        return "ok"

    @app.teardown_request
    def teardown_request(error: BaseException | None) -> None:
        note("teardown_request")

    @app.teardown_appcontext
    def teardown_app(error: BaseException | None) -> None:
        log.append(("teardown_appcontext", name(), sorted(mod.g)))


def test_a_servers_request_has_an_app_context_like_flasks(driver: str) -> None:
    # With no context around a request (a server's), the request context
    # provides the app context without pushing it: current_app, g, the
    # nested contexts, the copied ones and the teardown must see what
    # Flask's pushed one gives.
    logs = []
    for mod, cls in ((flask, flask.Flask), (erlen, Erlen)):
        app = cls("story")
        log: list[t.Any] = []
        _app_context_story(mod, app, log)
        client = app.test_client(driver=driver) if cls is Erlen else app.test_client()
        assert client.get("/").data == b"ok"
        assert not mod.has_app_context()
        logs.append(log)
        if cls is Erlen:
            client.close()  # type: ignore[attr-defined]
    assert logs[1] == logs[0]
    assert logs[0][-1] == ("teardown_appcontext", "story", ["a"])


def test_a_streamed_responses_app_context_lasts_to_its_end(
    client: ErlenClient, app: Erlen
) -> None:
    log: list[t.Any] = []

    @app.route("/stream")
    def stream() -> t.Any:
        g.a = 1

        def chunks() -> t.Iterator[str]:
            log.append(("streaming", current_app.name, g.a))
            yield "a"

        return erlen.Response(erlen.stream_with_context(chunks()))

    app.teardown_appcontext(lambda e: log.append(("teardown", g.a)))
    assert client.get("/stream").text == "a"
    assert log == [("streaming", app.name, 1), ("teardown", 1)]


def test_copy_current_app_context_in_a_servers_request(
    client: ErlenClient, app: Erlen
) -> None:
    # The app context a request provides is the one the copy shares.
    @app.route("/copied")
    def copied() -> str:
        g.a = "set in the view"
        results: list[t.Any] = []
        thread = threading.Thread(
            target=erlen.copy_current_app_context(lambda: results.append(g.a))
        )
        thread.start()
        thread.join()
        return str(results)

    assert client.get("/copied").text == "['set in the view']"


def test_app_context_signals_of_a_servers_request_like_flask(driver: str) -> None:
    # With receivers, the app context is pushed as Flask pushes it: the
    # signal comes before the request context, and g set by a receiver
    # (Flask's documented way to inject one in tests) reaches the view.
    logs = []
    for mod, cls in ((flask, flask.Flask), (erlen, Erlen)):
        app = cls("signals")
        log: list[t.Any] = []

        def pushed(sender: t.Any, mod: t.Any = mod, log: list[t.Any] = log) -> None:
            log.append(("pushed", sender.name, mod.has_request_context()))
            mod.g.user = "ada"

        def popped(sender: t.Any, mod: t.Any = mod, log: list[t.Any] = log) -> None:
            log.append(("popped", sender.name, mod.has_app_context()))

        app.add_url_rule("/", "i", lambda mod=mod: mod.g.user)
        client = app.test_client(driver=driver) if cls is Erlen else app.test_client()
        with (
            mod.appcontext_pushed.connected_to(pushed, app),
            mod.appcontext_popped.connected_to(popped, app),
        ):
            log.append(client.get("/").data)
        logs.append(log)
        if cls is Erlen:
            client.close()  # type: ignore[attr-defined]
    assert logs[1] == logs[0]
    assert logs[0][-1] == b"ada"


def test_app_context_pop_order_is_checked(app: Erlen) -> None:
    first = app.app_context()
    second = Erlen("other").app_context()
    first.push()
    second.push()
    try:
        with pytest.raises(RuntimeError, match="wrong app context"):
            first.pop()
    finally:
        # The failed pop removed ``first``'s token; restore a clean state.
        while erlen.has_app_context():
            erlen.globals._cv_app.get()._pop_no_teardown()


# -- request proxies in views -------------------------------------------------


def test_proxies_in_view(client: ErlenClient, app: Erlen) -> None:
    @app.route("/item/<int:n>", methods=["POST"])
    def item(n: int) -> dict[str, t.Any]:
        g.seen = n
        return {
            "app": current_app.name,
            "same_app": current_app._get_current_object() is app,  # type: ignore[attr-defined]
            "path": request.path,
            "method": request.method,
            "args": request.args.to_dict(),
            "form": request.form.to_dict(),
            "endpoint": request.endpoint,
            "view_args": request.view_args,
            "g": g.seen,
            "has_ctx": [erlen.has_app_context(), erlen.has_request_context()],
        }

    rv = client.post("/item/7?x=1", data={"f": "v"})
    assert rv.json == {
        "app": "test_app",
        "same_app": True,
        "path": "/item/7",
        "method": "POST",
        "args": {"x": "1"},
        "form": {"f": "v"},
        "endpoint": "item",
        "view_args": {"n": 7},
        "g": 7,
        "has_ctx": [True, True],
    }


def test_isinstance_sees_through_the_proxies_like_flask(
    client: ErlenClient, app: Erlen
) -> None:
    def checks(fw: t.Any, app_class: type, request_class: type) -> list[bool]:
        return [
            isinstance(fw.request, request_class),
            isinstance(fw.current_app, app_class),
            isinstance(fw.session, dict),
            isinstance(fw.request, dict),
        ]

    flask_app = flask.Flask(__name__)
    flask_app.secret_key = "k"
    with flask_app.test_request_context():
        expected = checks(flask, flask.Flask, flask.Request)
    assert expected == [True, True, True, False]

    @app.route("/")
    def view() -> list[bool]:
        return checks(erlen, Erlen, erlen.Request)

    assert client.get("/").json == expected
    # With nothing behind them, as in Flask: the proxy's own class.
    assert not isinstance(flask.request, flask.Request)
    assert not isinstance(request, erlen.Request)
    assert isinstance(request, type(request))


def test_g_is_fresh_each_request(client: ErlenClient, app: Erlen) -> None:
    @app.route("/")
    def index() -> str:
        before = g.get("counter", 0)
        g.counter = before + 1
        return str(before)

    assert [client.get("/").data for _ in range(3)] == [b"0", b"0", b"0"]


def test_g_shared_between_hooks_and_view(client: ErlenClient, app: Erlen) -> None:
    @app.before_request
    def load() -> None:
        g.user = request.args.get("user", "anonymous")

    @app.route("/")
    def index() -> str:
        return t.cast(str, g.user)

    @app.teardown_appcontext
    def close(exc: BaseException | None) -> None:
        g.pop("user")

    assert client.get("/?user=ann").data == b"ann"
    assert client.get("/").data == b"anonymous"


def test_nothing_leaks_after_request(client: ErlenClient, app: Erlen) -> None:
    @app.route("/")
    def index() -> str:
        g.secret = request.args["s"]
        return "ok"

    client.get("/?s=first")
    assert not erlen.has_app_context()
    assert not erlen.has_request_context()
    with app.app_context():
        assert "secret" not in g


def test_preserved_context_with_client(client: ErlenClient, app: Erlen) -> None:
    @app.route("/")
    def index() -> str:
        g.value = request.args["v"]
        return "ok"

    with client:
        client.get("/?v=one")
        assert request.args["v"] == "one"
        assert g.value == "one"
        client.get("/?v=two")
        assert g.value == "two"
    assert not erlen.has_request_context()


# -- copying contexts ---------------------------------------------------------


def test_copy_current_request_context_in_thread(
    client: ErlenClient, app: Erlen
) -> None:
    seen: dict[str, t.Any] = {}

    @app.route("/")
    def index() -> str:
        erlen.session["user"] = "ann"

        @erlen.copy_current_request_context
        def work() -> None:
            seen["args"] = request.args["q"]
            seen["session"] = session["user"]
            seen["app"] = current_app.name
            seen["has_request"] = erlen.has_request_context()

        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        return "ok"

    assert client.get("/?q=search").data == b"ok"
    assert seen == {
        "args": "search",
        "session": "ann",
        "app": "test_app",
        "has_request": True,
    }


def test_copy_current_request_context_like_flask() -> None:
    results = []
    for mod, cls in ((flask, flask.Flask), (erlen, Erlen)):
        app = cls("x")
        app.secret_key = "k"
        seen: list[t.Any] = []

        @app.route("/")
        def index(mod: t.Any = mod, seen: list[t.Any] = seen) -> str:
            mod.g.outer = 1

            @mod.copy_current_request_context
            def work() -> None:
                seen.append(mod.request.path)
                seen.append(mod.request.args.get("q"))
                seen.append(mod.current_app.name)

            thread = threading.Thread(target=work)
            thread.start()
            thread.join()
            return "ok"

        app.test_client().get("/?q=1")
        results.append(seen)
    assert results[1] == results[0] == ["/", "1", "x"]


def test_copy_current_request_context_outside_request() -> None:
    with pytest.raises(RuntimeError, match="request context"):
        erlen.copy_current_request_context(lambda: None)


def test_copy_current_request_context_async(client: ErlenClient, app: Erlen) -> None:
    @app.route("/")
    async def index() -> str:
        @erlen.copy_current_request_context
        async def work() -> str:
            await asyncio.sleep(0)
            return t.cast(str, request.args["q"])

        return await work()

    assert client.get("/?q=async").data == b"async"


def test_copy_current_app_context_in_thread(app: Erlen) -> None:
    seen: list[str] = []
    with app.app_context():

        @erlen.copy_current_app_context
        def work() -> None:
            seen.append(current_app.name)

        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
    assert seen == ["test_app"]


# -- test_request_context -----------------------------------------------------

_REQUEST_CASES: list[dict[str, t.Any]] = [
    {},
    {"path": "/a/b?x=1&x=2"},
    {"path": "/p", "method": "POST", "data": {"f": "v", "g": ["1", "2"]}},
    {"path": "/p", "method": "POST", "data": "raw body", "content_type": "text/plain"},
    {"path": "/j", "method": "PUT", "json": {"k": [1, 2]}},
    {"path": "/h", "headers": {"X-Custom": "yes", "Accept": "text/plain"}},
    {"path": "/q", "query_string": {"a": "1", "b": ["2", "3"]}},
    {"path": "/q", "query_string": "a=1&b=%20"},
    {"path": "/sub/page", "base_url": "https://example.com:8443/root/"},
    {"path": "http://other.test/x"},
    {"path": "/ü/é?q=ä"},
]


def _describe(r: t.Any) -> dict[str, t.Any]:
    return {
        "method": r.method,
        "path": r.path,
        "full_path": r.full_path,
        "script_root": r.script_root,
        "url": r.url,
        "base_url": r.base_url,
        "url_root": r.url_root,
        "host_url": r.host_url,
        "host": r.host,
        "scheme": r.scheme,
        "is_secure": r.is_secure,
        "args": r.args.to_dict(flat=False),
        "form": r.form.to_dict(flat=False),
        "json": r.get_json(silent=True),
        "data": r.get_data(),
        "custom": r.headers.get("X-Custom"),
        "accept": r.headers.get("Accept"),
        "mimetype": r.mimetype,
        "content_length": r.content_length,
        "query_string": r.query_string,
    }


@pytest.mark.parametrize("kwargs", _REQUEST_CASES)
def test_test_request_context_like_flask(kwargs: dict[str, t.Any]) -> None:
    with flask.Flask("x").test_request_context(**kwargs):
        theirs = _describe(flask.request)
    with Erlen("x").test_request_context(**kwargs):
        ours = _describe(request)
    assert ours == theirs


def test_test_request_context_matches_route(app: Erlen) -> None:
    @app.route("/user/<name>")
    def user(name: str) -> str:
        return name

    with app.test_request_context("/user/ann"):
        assert request.endpoint == "user"
        assert request.view_args == {"name": "ann"}
        assert request.url_rule is not None
    with app.test_request_context("/nowhere"):
        assert request.endpoint is None
        assert request.routing_exception is not None
        assert request.routing_exception.code == 404


def test_test_request_context_runs_teardown(app: Erlen) -> None:
    log: list[t.Any] = []
    app.teardown_request(lambda exc: log.append(("request", exc)))
    app.teardown_appcontext(lambda exc: log.append(("app", exc)))
    with app.test_request_context():
        pass
    assert log == [("request", None), ("app", None)]


def test_test_request_context_session(app: Erlen) -> None:
    with app.test_request_context():
        session["k"] = "v"
        assert session["k"] == "v"
        assert session.modified


# -- isolation: threads and tasks ---------------------------------------------

N_CONCURRENT = 50


def _asgi_scope(n: int) -> dict[str, t.Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": f"/item/{n}",
        "raw_path": f"/item/{n}".encode(),
        "root_path": "",
        "query_string": f"n={n}".encode(),
        "headers": [(b"host", b"localhost"), (b"x-n", str(n).encode())],
        "server": ("localhost", 80),
        "client": ("127.0.0.1", 40000 + n),
    }


async def _asgi_get(app: Erlen, n: int) -> tuple[int, dict[bytes, bytes], bytes]:
    sent: list[dict[str, t.Any]] = []
    received = False

    async def receive() -> dict[str, t.Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)  # a client that stays connected
        raise AssertionError("unreachable")

    async def send(message: dict[str, t.Any]) -> None:
        sent.append(message)

    await app.asgi(_asgi_scope(n), receive, send)
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], dict(start["headers"]), body


def _isolation_app(app: Erlen, view: str, together: int) -> dict[str, int]:
    """Every request records its own number in ``g`` and reads it back from
    ``request`` and ``g`` while ``together`` requests are in the view at once.

    :param view: ``"async"`` (waits on an asyncio event: one loop, ASGI),
        ``"sync"`` or ``"async-blocking"`` (wait on a thread barrier: sync
        views in threads, or async views each on its own thread's loop).
    """
    state = {"in_flight": 0, "max_in_flight": 0}
    lock = threading.Lock()
    barrier = threading.Barrier(together)

    @app.before_request
    def before() -> None:
        g.n = int(request.args["n"])
        g.header = request.headers["X-N"]

    @app.after_request
    def after(response: erlen.Response) -> erlen.Response:
        response.headers["X-G"] = str(g.n)
        return response

    def describe(n: int) -> str:
        return (
            f"{n} {request.args['n']} {request.headers['X-N']} {g.n} {g.header}"
            f" {request.view_args['n'] if request.view_args else None}"
            f" {request.path}"
        )

    def arrive() -> None:
        with lock:
            state["in_flight"] += 1
            state["max_in_flight"] = max(state["max_in_flight"], state["in_flight"])

    def leave() -> None:
        with lock:
            state["in_flight"] -= 1

    if view == "async":
        all_in: list[asyncio.Event] = []

        @app.route("/item/<int:n>")
        async def item(n: int) -> str:
            if not all_in:
                all_in.append(asyncio.Event())
            arrive()
            if state["in_flight"] == together:
                all_in[0].set()
            await asyncio.wait_for(all_in[0].wait(), timeout=10)
            # Interleave: later requests finish first.
            await asyncio.sleep((together - n) * 0.0002)
            leave()
            return describe(n)

    elif view == "async-blocking":

        @app.route("/item/<int:n>")
        async def item(n: int) -> str:
            arrive()
            await asyncio.sleep(0)
            barrier.wait(timeout=10)  # blocks only this thread's own loop
            await asyncio.sleep(0)
            leave()
            return describe(n)

    else:

        @app.route("/item/<int:n>")
        def item(n: int) -> str:
            arrive()
            barrier.wait(timeout=10)
            leave()
            return describe(n)

    return state


def _expected(n: int) -> bytes:
    return f"{n} {n} {n} {n} {n} {n} /item/{n}".encode()


def test_concurrent_asgi_requests_are_isolated(app: Erlen) -> None:
    state = _isolation_app(app, "async", together=N_CONCURRENT)

    async def main() -> list[tuple[int, dict[bytes, bytes], bytes]]:
        return await asyncio.gather(*(_asgi_get(app, n) for n in range(N_CONCURRENT)))

    results = asyncio.run(main())
    assert state["max_in_flight"] == N_CONCURRENT  # all in the view at once
    for n, (status, headers, body) in enumerate(results):
        assert status == 200
        assert body == _expected(n)
        assert headers[b"x-g"] == str(n).encode()


def test_concurrent_sync_views_under_asgi_are_isolated(app: Erlen) -> None:
    """``def`` views run in the thread pool, each with its own request."""
    state = _isolation_app(app, "sync", together=10)

    async def main() -> list[tuple[int, dict[bytes, bytes], bytes]]:
        return await asyncio.gather(*(_asgi_get(app, n) for n in range(30)))

    results = asyncio.run(main())
    assert state["max_in_flight"] >= 10
    for n, (status, headers, body) in enumerate(results):
        assert (status, body) == (200, _expected(n))
        assert headers[b"x-g"] == str(n).encode()


def test_concurrent_wsgi_threads_are_isolated(app: Erlen) -> None:
    state = _isolation_app(app, "sync", together=10)
    results: dict[int, tuple[int, bytes, str]] = {}
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        client = app.test_client(driver="wsgi")  # type: ignore[call-arg]
        try:
            rv = client.get(f"/item/{n}?n={n}", headers={"X-N": str(n)})
            results[n] = (rv.status_code, rv.data, rv.headers["X-G"])
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert state["max_in_flight"] >= 10
    assert results == {n: (200, _expected(n), str(n)) for n in range(30)}


def test_async_views_under_wsgi_threads_are_isolated(app: Erlen) -> None:
    """Each thread drives ``async def`` views on its own loop."""
    state = _isolation_app(app, "async-blocking", together=10)
    results: dict[int, bytes] = {}

    def worker(n: int) -> None:
        client = app.test_client(driver="wsgi")  # type: ignore[call-arg]
        results[n] = client.get(f"/item/{n}?n={n}", headers={"X-N": str(n)}).data

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert state["max_in_flight"] == 10
    assert results == {n: _expected(n) for n in range(10)}


def test_task_started_in_view_sees_request(client: ErlenClient, app: Erlen) -> None:
    @app.route("/")
    async def index() -> str:
        async def child() -> str:
            await asyncio.sleep(0)
            return f"{request.args['q']} {g.marker}"

        g.marker = "m"
        return await asyncio.create_task(child())

    assert client.get("/?q=task").data == b"task m"
