"""Class-based views (``erlen.views``), through both drivers, compared with
``flask.views`` where Flask has the behaviour."""

from __future__ import annotations

import asyncio
import threading
import types
import typing as t

import flask
import flask.views
import pytest
from flask_compare import both

import erlen
import erlen.views
from erlen import Erlen
from erlen.concurrency import is_async_callable
from erlen.testing import ErlenClient
from erlen.views import MethodView, View


def _build(app: t.Any, fw: types.ModuleType, views: types.ModuleType) -> t.Any:
    """The same class-based views on a Flask or an Erlen app."""
    request = fw.request

    class Hello(views.View):  # type: ignore[name-defined,misc]
        """Says hello."""

        def __init__(self, greeting: str, punctuation: str = ".") -> None:
            self.greeting = greeting
            self.punctuation = punctuation

        def dispatch_request(self, name: str) -> t.Any:
            return f"{self.greeting} {name}{self.punctuation}"

    app.add_url_rule(
        "/hello/<name>", view_func=Hello.as_view("hello", "Hi", punctuation="!")
    )

    class Posting(views.View):  # type: ignore[name-defined,misc]
        methods = ["GET", "POST"]

        def dispatch_request(self) -> t.Any:
            return request.method

    app.add_url_rule("/posting", view_func=Posting.as_view("posting"))

    class Item(views.MethodView):  # type: ignore[name-defined,misc]
        def get(self, id: int) -> t.Any:
            return f"get {id}"

        def post(self, id: int) -> t.Any:
            return f"post {id} {request.get_data(as_text=True)}"

        def delete(self, id: int) -> t.Any:
            return "", 204

    app.add_url_rule("/items/<int:id>", view_func=Item.as_view("item"))

    class WithHead(views.MethodView):  # type: ignore[name-defined,misc]
        def get(self) -> t.Any:
            return "get body", {"X-Handler": "get"}

        def head(self) -> t.Any:
            return "", {"X-Handler": "head"}

    app.add_url_rule("/with-head", view_func=WithHead.as_view("with_head"))

    class WithOptions(views.MethodView):  # type: ignore[name-defined,misc]
        def get(self) -> t.Any:
            return "get"

        def options(self) -> t.Any:
            return "custom options", {"Allow": "GET, OPTIONS, CUSTOM"}

    app.add_url_rule("/with-options", view_func=WithOptions.as_view("with_options"))

    class Base(views.MethodView):  # type: ignore[name-defined,misc]
        def get(self) -> t.Any:
            return "base get"

    class Child(Base):
        def put(self) -> t.Any:
            return "child put"

    app.add_url_rule("/child", view_func=Child.as_view("child"))

    class Explicit(views.MethodView):  # type: ignore[name-defined,misc]
        methods = ["GET"]

        def get(self) -> t.Any:
            return "get"

        def post(self) -> t.Any:
            return "post"

    app.add_url_rule("/explicit", view_func=Explicit.as_view("explicit"))

    def add_header(name: str) -> t.Callable[..., t.Any]:
        def decorator(f: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
            def wrapper(**kwargs: t.Any) -> t.Any:
                rv = fw.make_response(f(**kwargs))
                rv.headers.add("X-Order", name)
                return rv

            return wrapper

        return decorator

    class Decorated(views.View):  # type: ignore[name-defined,misc]
        decorators = [add_header("first"), add_header("second")]

        def dispatch_request(self) -> t.Any:
            return "decorated"

    app.add_url_rule("/decorated", view_func=Decorated.as_view("decorated"))

    class NoOptions(views.MethodView):  # type: ignore[name-defined,misc]
        provide_automatic_options = False

        def get(self) -> t.Any:
            return "get"

    app.add_url_rule("/no-options", view_func=NoOptions.as_view("no_options"))

    return app


@pytest.fixture
def app(app: Erlen) -> Erlen:
    return t.cast(Erlen, _build(app, erlen, erlen.views))


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


@pytest.fixture
def flask_client() -> t.Any:
    app = flask.Flask("flask_app")
    app.config.update(TESTING=True, SECRET_KEY="test key")
    return _build(app, flask, flask.views).test_client()


CASES = [
    ("GET", "/hello/ann"),
    ("POST", "/hello/ann"),
    ("GET", "/posting"),
    ("POST", "/posting"),
    ("PUT", "/posting"),
    ("GET", "/items/3"),
    ("POST", "/items/3"),
    ("DELETE", "/items/3"),
    ("PUT", "/items/3"),
    ("PATCH", "/items/3"),
    ("HEAD", "/items/3"),
    ("OPTIONS", "/items/3"),
    ("GET", "/with-head"),
    ("HEAD", "/with-head"),
    ("OPTIONS", "/with-options"),
    ("GET", "/child"),
    ("PUT", "/child"),
    ("HEAD", "/child"),
    ("OPTIONS", "/child"),
    ("DELETE", "/child"),
    ("GET", "/explicit"),
    ("POST", "/explicit"),
    ("GET", "/decorated"),
    ("OPTIONS", "/no-options"),
    ("HEAD", "/no-options"),
]


@pytest.mark.parametrize(("method", "path"), CASES)
def test_same_as_flask(
    client: ErlenClient, flask_client: t.Any, method: str, path: str
) -> None:
    theirs, ours = both(client, flask_client, path, method=method, data="body")
    assert ours.status_code == theirs.status_code
    assert ours.data == theirs.data
    assert ours.headers.get("X-Handler") == theirs.headers.get("X-Handler")
    # Erlen sorts Allow (see "Coming from Flask").
    allowed = [set(rv.headers.get("Allow", "").split(", ")) for rv in (ours, theirs)]
    assert allowed[0] == allowed[1]
    if ours.status_code != 204:  # Erlen sends no Content-Type without a body
        assert ours.headers.get("Content-Type") == theirs.headers.get("Content-Type")
    assert ours.headers.getlist("X-Order") == theirs.headers.getlist("X-Order")


def test_expected_answers(client: ErlenClient) -> None:
    assert client.get("/hello/ann").text == "Hi ann!"
    assert client.post("/items/7", data="x").text == "post 7 x"
    assert client.open("/items/7", method="HEAD").headers["Content-Length"] == "5"
    assert client.head("/with-head").headers["X-Handler"] == "head"
    assert client.options("/items/1").headers["Allow"] == (
        "DELETE, GET, HEAD, OPTIONS, POST"
    )
    assert client.put("/items/1").status_code == 405
    assert client.options("/with-options").text == "custom options"
    assert client.options("/no-options").status_code == 405
    # Decorators apply in order: the first is innermost.
    assert client.get("/decorated").headers.getlist("X-Order") == [
        "first",
        "second",
    ]


def test_view_function_attributes() -> None:
    class Documented(View):
        """The docs."""

        methods = ["GET", "POST"]
        provide_automatic_options = False

        def dispatch_request(self) -> t.Any:
            return "x"

    view = Documented.as_view("named")
    assert view.__name__ == "named"
    assert view.__doc__ == "The docs."
    assert view.__module__ == __name__
    assert view.view_class is Documented  # type: ignore[attr-defined]
    assert view.methods == ["GET", "POST"]  # type: ignore[attr-defined]
    assert view.provide_automatic_options is False  # type: ignore[attr-defined]
    assert not is_async_callable(view)


def test_method_view_methods_are_detected() -> None:
    class A(MethodView):
        def get(self) -> t.Any: ...

        def post(self) -> t.Any: ...

    class B(A):
        def patch(self) -> t.Any: ...

    class C(MethodView):
        methods = ["GET"]

        def get(self) -> t.Any: ...

        def put(self) -> t.Any: ...

    class D(C):
        def delete(self) -> t.Any: ...

    assert A.methods == {"GET", "POST"}
    assert B.methods == {"GET", "POST", "PATCH"}
    assert C.methods == ["GET"]
    assert D.methods == {"GET", "PUT", "DELETE"}
    assert MethodView.methods is None

    class FA(flask.views.MethodView):
        def get(self) -> t.Any: ...

        def post(self) -> t.Any: ...

    class FB(FA):
        def patch(self) -> t.Any: ...

    class FC(flask.views.MethodView):
        methods = ["GET"]

        def get(self) -> t.Any: ...

        def put(self) -> t.Any: ...

    class FD(FC):
        def delete(self) -> t.Any: ...

    assert (FA.methods, FB.methods, FC.methods, FD.methods) == (
        A.methods,
        B.methods,
        C.methods,
        D.methods,
    )


@pytest.mark.parametrize("every", [True, False])
def test_init_every_request(app: Erlen, make_client: MakeClient, every: bool) -> None:
    made: list[object] = []

    class Counter(View):
        init_every_request = every

        def __init__(self) -> None:
            made.append(self)

        def dispatch_request(self) -> t.Any:
            return str(id(self))

    app.add_url_rule("/counter", view_func=Counter.as_view("counter"))
    client = make_client(app)
    ids = {client.get("/counter").text for _ in range(3)}
    if every:
        assert len(made) == 3 and len(ids) == 3
    else:
        assert len(made) == 1 and len(ids) == 1


def test_unimplemented_dispatch_request(app: Erlen, make_client: MakeClient) -> None:
    class Nothing(View):
        pass

    app.add_url_rule("/nothing", view_func=Nothing.as_view("nothing"))
    client = make_client(app)
    with pytest.raises(NotImplementedError, match="dispatch_request"):
        client.get("/nothing")


def test_route_method_without_handler_is_405(
    app: Erlen, make_client: MakeClient
) -> None:
    # The route allows POST but the class has no post(): Flask fails an
    # assert (a 500); Erlen answers 405 with the methods the class has.
    class OnlyGet(MethodView):
        def get(self) -> t.Any:
            return "get"

    app.add_url_rule(
        "/only-get", view_func=OnlyGet.as_view("only_get"), methods=["GET", "POST"]
    )
    client = make_client(app)
    rv = client.post("/only-get")
    assert rv.status_code == 405
    assert rv.headers["Allow"] == "GET, HEAD"


def test_blueprint_registration(app: Erlen, client: ErlenClient) -> None:
    bp = erlen.Blueprint("api", __name__, url_prefix="/api")

    class Thing(MethodView):
        def get(self) -> t.Any:
            return erlen.url_for(".thing")

    bp.add_url_rule("/thing", view_func=Thing.as_view("thing"))
    app.register_blueprint(bp)
    assert client.get("/api/thing").text == "/api/thing"


# -- async -------------------------------------------------------------------


def test_async_dispatch_request(app: Erlen, client: ErlenClient) -> None:
    class Slow(View):
        async def dispatch_request(self, name: str) -> t.Any:
            await asyncio.sleep(0)
            return f"async {name} {erlen.request.path}"

    view = Slow.as_view("slow")
    assert is_async_callable(view)
    app.add_url_rule("/slow/<name>", view_func=view)
    assert client.get("/slow/ann").text == "async ann /slow/ann"


def test_async_method_view(app: Erlen, client: ErlenClient) -> None:
    class Api(MethodView):
        async def get(self, id: int) -> t.Any:
            await asyncio.sleep(0)
            return {"id": id}

        async def post(self, id: int) -> t.Any:
            return {"posted": erlen.request.get_json()}

    view = Api.as_view("api")
    assert is_async_callable(view)
    app.add_url_rule("/api/<int:id>", view_func=view)
    assert client.get("/api/4").get_json() == {"id": 4}
    assert client.post("/api/4", json=[1]).get_json() == {"posted": [1]}
    head = client.head("/api/4")
    assert head.status_code == 200 and head.data == b""


def test_mixed_sync_and_async_methods(
    app: Erlen, client: ErlenClient, driver: str
) -> None:
    loop_threads: list[threading.Thread] = []

    class Mixed(MethodView):
        async def get(self) -> t.Any:
            await asyncio.sleep(0)
            loop_threads.append(threading.current_thread())
            return "async get"

        def post(self) -> t.Any:
            # A def method must not run on an event loop shared by other
            # requests (ASGI): it runs in the pool.  Under WSGI it runs in
            # the request's own thread.
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                on_loop = False
            else:
                on_loop = True
            return {
                "thread": threading.current_thread().name,
                "on_loop": on_loop,
                "path": erlen.request.path,
            }

    view = Mixed.as_view("mixed")
    assert is_async_callable(view)
    app.add_url_rule("/mixed", view_func=view)
    assert client.get("/mixed").text == "async get"
    got = client.post("/mixed").get_json()
    assert got["path"] == "/mixed"
    if driver == "asgi":
        assert got["on_loop"] is False
        assert got["thread"].startswith("erlen-")
    else:
        assert got["thread"] == threading.current_thread().name


def test_async_views_run_concurrently_under_asgi(app: Erlen) -> None:
    started = 0
    both_started = asyncio.Event()

    class Waiter(MethodView):
        async def get(self) -> t.Any:
            nonlocal started
            started += 1
            if started == 2:
                both_started.set()
            await asyncio.wait_for(both_started.wait(), 5)
            return "done"

    app.add_url_rule("/wait", view_func=Waiter.as_view("wait"))

    async def main() -> list[int]:
        async def one() -> int:
            sent: list[dict[str, t.Any]] = []

            async def receive() -> dict[str, t.Any]:
                return {"type": "http.request", "body": b"", "more_body": False}

            async def send(message: dict[str, t.Any]) -> None:
                sent.append(message)

            scope = {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": "1.1",
                "method": "GET",
                "scheme": "http",
                "path": "/wait",
                "raw_path": b"/wait",
                "query_string": b"",
                "root_path": "",
                "headers": [(b"host", b"localhost")],
                "client": ("127.0.0.1", 1),
                "server": ("localhost", 80),
            }
            await app.asgi(scope, receive, send)
            return t.cast(int, sent[0]["status"])

        return list(await asyncio.gather(one(), one()))

    assert asyncio.run(main()) == [200, 200]


def test_sync_dispatch_override_with_async_handlers(
    app: Erlen, client: ErlenClient
) -> None:
    # A custom def dispatch_request decides: the view is a def, and the
    # coroutine an async handler returns is still awaited.
    class Custom(MethodView):
        def dispatch_request(self, **kwargs: t.Any) -> t.Any:
            return super().dispatch_request(**kwargs)

        async def get(self) -> t.Any:
            return "custom"

    view = Custom.as_view("custom")
    assert not is_async_callable(view)
    app.add_url_rule("/custom", view_func=view)
    assert client.get("/custom").text == "custom"


def test_async_dispatch_override(app: Erlen, client: ErlenClient) -> None:
    class Custom(MethodView):
        async def dispatch_request(self, **kwargs: t.Any) -> t.Any:
            rv = super().dispatch_request(**kwargs)
            return f"wrapped {rv}"

        def get(self) -> t.Any:
            return "get"

    view = Custom.as_view("custom")
    assert is_async_callable(view)
    app.add_url_rule("/custom", view_func=view)
    assert client.get("/custom").text == "wrapped get"


def test_async_view_with_decorators_and_shared_instance(
    app: Erlen, client: ErlenClient
) -> None:
    def tag(f: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        async def wrapper(**kwargs: t.Any) -> t.Any:
            return "tagged " + await f(**kwargs)

        return wrapper

    class Shared(MethodView):
        init_every_request = False
        decorators = [tag]

        def __init__(self, word: str) -> None:
            self.word = word

        async def get(self) -> t.Any:
            return self.word

    view = Shared.as_view("shared", "hi")
    assert view.__name__ == "shared"
    assert view.view_class is Shared  # type: ignore[attr-defined]
    app.add_url_rule("/shared", view_func=view)
    assert client.get("/shared").text == "tagged hi"
    assert client.options("/shared").headers["Allow"] == "GET, HEAD, OPTIONS"
