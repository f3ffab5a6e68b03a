"""Streamed responses, ``stream_with_context``, background tasks and
server-sent events (``erlen.sse``), through both drivers.

Where the test client would hide what matters (when each chunk is sent, a
client going away), the drivers are called by hand: ``app.asgi`` with
scope, receive and send, the WSGI callable with an environ.
"""

from __future__ import annotations

import asyncio
import datetime
import threading
import time
import typing as t
import uuid
from contextlib import closing
from wsgiref.util import setup_testing_defaults

import pytest

from erlen import (
    Erlen,
    current_app,
    g,
    has_request_context,
    request,
    session,
    stream_with_context,
)
from erlen.sse import KEEP_ALIVE, EventStream, ServerSentEvent, event_stream
from erlen.testing import ErlenClient

Message = dict[str, t.Any]

# -- driving the servers by hand -----------------------------------------------


def http_scope(path: str, query: bytes = b"", method: str = "GET") -> Message:
    """An ASGI HTTP scope as uvicorn sends it."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": [(b"host", b"test")],
        "server": ("test", 80),
        "client": ("127.0.0.1", 50000),
    }


async def asgi_request(
    app: Erlen,
    scope: Message,
    *,
    disconnect_after: int | None = None,
    disconnect_when: threading.Event | None = None,
    on_send: t.Callable[[Message], None] | None = None,
) -> list[Message]:
    """Send one request to ``app.asgi`` and return what it sent.

    :param disconnect_after: the client goes away (``receive`` returns
        ``http.disconnect``) once it got this many body messages.
    :param disconnect_when: the client goes away once this event is set
        (by the app's code, in whatever thread).
    :param on_send: called with each message as it is sent.
    """
    sent: list[Message] = []
    gone = asyncio.Event()
    requested = False

    async def receive() -> Message:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        if disconnect_when is not None:
            await asyncio.to_thread(disconnect_when.wait, 5)
        else:
            await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)
        if on_send is not None:
            on_send(message)
        bodies = sum(m["type"] == "http.response.body" for m in sent)
        if disconnect_after is not None and bodies >= disconnect_after:
            gone.set()
        if not message.get("more_body", True):
            gone.set()  # the response is complete: the client hangs up

    await asyncio.wait_for(app.asgi(scope, receive, send), timeout=5)
    return sent


def bodies(sent: list[Message]) -> list[bytes]:
    return [m["body"] for m in sent if m["type"] == "http.response.body"]


def wsgi_environ(path: str, query: str = "") -> dict[str, t.Any]:
    environ: dict[str, t.Any] = {}
    setup_testing_defaults(environ)
    environ.update(PATH_INFO=path, QUERY_STRING=query, REQUEST_METHOD="GET")
    return environ


class WSGICall:
    """A WSGI call as a server makes it: the status and headers, then the
    body iterated by hand, then ``close()``."""

    def __init__(self, app: Erlen, path: str, query: str = "") -> None:
        self.started: list[t.Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
        ) -> t.Callable[[bytes], None]:
            self.started[:] = [status, headers]
            return lambda data: None

        self.body = app(wsgi_environ(path, query), start_response)
        self.iterator = iter(self.body)

    def close(self) -> None:
        close = getattr(self.body, "close", None)
        if close is not None:
            close()


# -- streamed responses --------------------------------------------------------


def counting_app(kind: str, all_sync: bool) -> tuple[Erlen, list[int]]:
    """An app whose ``/`` streams ``chunk 0`` .. ``chunk 4`` from a ``kind``
    ("sync" or "async") generator; the list counts the chunks produced."""
    app = Erlen("streaming")
    produced: list[int] = []

    if kind == "sync":

        @app.get("/")
        def sync_view() -> t.Any:
            def generate() -> t.Iterator[str]:
                for i in range(5):
                    produced.append(i)
                    yield f"chunk {i}"

            return generate()

    else:

        @app.get("/")
        def async_view() -> t.Any:
            async def generate() -> t.AsyncIterator[str]:
                for i in range(5):
                    await asyncio.sleep(0)
                    produced.append(i)
                    yield f"chunk {i}"

            return generate()

    if not all_sync:
        # One async def function takes the request off the all-sync fast
        # path (the whole request in one worker thread).
        @app.get("/other")
        async def other() -> str:
            return ""

    return app, produced


@pytest.mark.parametrize("all_sync", [True, False], ids=["all-sync-app", "mixed-app"])
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_asgi_sends_each_chunk_as_it_is_produced(kind: str, all_sync: bool) -> None:
    app, produced = counting_app(kind, all_sync)
    produced_when_sent: list[int] = []

    def on_send(message: Message) -> None:
        if message["type"] == "http.response.body":
            produced_when_sent.append(len(produced))

    sent = asyncio.run(asgi_request(app, http_scope("/"), on_send=on_send))
    assert sent[0]["type"] == "http.response.start"
    assert b"content-length" not in dict(sent[0]["headers"])
    # One body message per chunk, in order, then the empty last one.
    assert bodies(sent) == [f"chunk {i}".encode() for i in range(5)] + [b""]
    assert [m.get("more_body", False) for m in sent[1:]] == [True] * 5 + [False]
    # Lazily: when chunk i went out, the generator had produced i + 1
    # chunks, never more.
    assert produced_when_sent == [1, 2, 3, 4, 5, 5]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_wsgi_body_yields_chunk_by_chunk(kind: str) -> None:
    app, produced = counting_app(kind, all_sync=False)
    call = WSGICall(app, "/")
    assert call.started[0] == "200 OK"
    assert produced == []  # nothing produced before the server asks
    for i in range(5):
        assert next(call.iterator) == f"chunk {i}".encode()
        assert len(produced) == i + 1
    with pytest.raises(StopIteration):
        next(call.iterator)
    call.close()


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_streamed_body_through_the_client(driver: str, kind: str) -> None:
    app, _ = counting_app(kind, all_sync=False)
    with closing(app.test_client(driver=driver)) as client:  # type: ignore[call-arg]
        response = client.get("/")
    assert response.status_code == 200
    assert response.data == b"chunk 0chunk 1chunk 2chunk 3chunk 4"
    assert "Content-Length" not in response.headers


# -- stream_with_context -------------------------------------------------------


@pytest.fixture
def context_app(app: Erlen) -> tuple[Erlen, list[str]]:
    """``/sync`` and ``/async`` stream with ``stream_with_context``; the log
    records the view, each chunk, the generator's end and the teardown."""
    log: list[str] = []

    @app.before_request
    def load() -> None:
        g.user = request.args.get("user", "nobody")

    @app.teardown_request
    def teardown(error: BaseException | None) -> None:
        log.append(f"teardown {error!r}")

    @app.get("/sync")
    def sync_view() -> t.Any:
        session["seen"] = True

        @stream_with_context
        def generate() -> t.Iterator[str]:
            try:
                for key in ("a", "b"):
                    log.append(f"chunk {key}")
                    yield f"{key}={request.args[key]} "
                yield f"user={g.user} session={session.get('seen')}"
            finally:
                log.append("generator closed")

        log.append("view returned")
        return generate()

    @app.get("/async")
    async def async_view() -> t.Any:
        async def generate() -> t.AsyncIterator[str]:
            try:
                for key in ("a", "b"):
                    log.append(f"chunk {key}")
                    await asyncio.sleep(0)
                    yield f"{key}={request.args[key]} "
                yield f"user={g.user} session={session.get('seen')}"
            finally:
                log.append("generator closed")

        session["seen"] = True
        log.append("view returned")
        return stream_with_context(generate())

    return app, log


@pytest.mark.parametrize("path", ["/sync", "/async"])
def test_stream_with_context_keeps_the_request_until_the_stream_ends(
    client: ErlenClient, context_app: tuple[Erlen, list[str]], path: str
) -> None:
    _, log = context_app
    response = client.get(path, query_string={"a": "1", "b": "2", "user": "ann"})
    assert response.status_code == 200
    assert response.text == "a=1 b=2 user=ann session=True"
    # The teardown waited for the stream, not for the view.
    assert log == [
        "view returned",
        "chunk a",
        "chunk b",
        "generator closed",
        "teardown None",
    ]


@pytest.mark.parametrize("path", ["/sync", "/async"])
def test_wsgi_server_closing_the_body_early_ends_a_context_stream(
    context_app: tuple[Erlen, list[str]], path: str
) -> None:
    app, log = context_app
    call = WSGICall(app, path, "a=1&b=2")
    assert next(call.iterator) == b"a=1 "
    assert log == ["view returned", "chunk a"]
    call.close()  # what a WSGI server does when the client went away
    assert log == ["view returned", "chunk a", "generator closed", "teardown None"]


# -- the client going away (ASGI) ----------------------------------------------


def endless_app(app: Erlen, producing: threading.Event | None = None) -> list[str]:
    """``/plain`` and ``/context`` stream forever from async generators;
    ``/sync`` from a sync one whose second chunk takes a while to produce
    (``producing`` is set when it starts)."""
    log: list[str] = []

    @app.teardown_request
    def teardown(error: BaseException | None) -> None:
        log.append("teardown")

    async def forever() -> t.AsyncIterator[str]:
        try:
            i = 0
            while True:
                await asyncio.sleep(0.001)
                yield f"{i};"
                i += 1
        finally:
            log.append("generator closed")

    @app.get("/plain")
    async def plain() -> t.Any:
        return forever()

    @app.get("/context")
    async def context() -> t.Any:
        return stream_with_context(forever())

    @app.get("/sync")
    def sync() -> t.Any:
        def slow() -> t.Iterator[str]:
            try:
                yield "first;"
                while True:
                    if producing is not None:
                        producing.set()  # the client leaves now
                    time.sleep(0.3)
                    yield "tick;"
            finally:
                log.append("generator closed")

        return slow()

    return log


@pytest.mark.parametrize(
    ("path", "order"),
    [
        # Without stream_with_context the teardown ran when the view
        # returned; with it, once the stream was closed.
        ("/plain", ["teardown", "generator closed"]),
        ("/context", ["generator closed", "teardown"]),
    ],
)
def test_asgi_client_disconnect_closes_the_generator_promptly(
    app: Erlen, path: str, order: list[str]
) -> None:
    log = endless_app(app)
    started = time.monotonic()
    sent = asyncio.run(asgi_request(app, http_scope(path), disconnect_after=3))
    assert time.monotonic() - started < 1.0
    # Streaming stopped at the disconnect: no final message was sent.
    assert 3 <= len(bodies(sent)) <= 4
    assert all(m.get("more_body") for m in sent[1:])
    assert log == order


def test_asgi_client_disconnect_closes_a_blocking_sync_generator(app: Erlen) -> None:
    producing = threading.Event()
    log = endless_app(app, producing)
    started = time.monotonic()
    sent = asyncio.run(
        asgi_request(app, http_scope("/sync"), disconnect_when=producing)
    )
    # The chunk in progress when the client left is awaited, not more.
    assert time.monotonic() - started < 1.5
    assert bodies(sent) == [b"first;"]
    assert log == ["teardown", "generator closed"]


# -- background tasks ----------------------------------------------------------


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_background_task_runs_after_the_response(
    client: ErlenClient, app: Erlen, kind: str
) -> None:
    log: list[t.Any] = []

    if kind == "sync":

        def task(value: int, *, extra: str) -> None:
            log.append(("task", value, extra, current_app.name, has_request_context()))

    else:

        async def task(value: int, *, extra: str) -> None:  # type: ignore[misc]
            await asyncio.sleep(0)
            log.append(("task", value, extra, current_app.name, has_request_context()))

    @app.get("/")
    def index() -> str:
        app.add_background_task(task, 42, extra="x")
        log.append("view")
        return "ok"

    @app.after_request
    def after(response: t.Any) -> t.Any:
        log.append("after_request")
        return response

    @app.teardown_request
    def teardown(error: BaseException | None) -> None:
        log.append("teardown")

    assert client.get("/").data == b"ok"
    # In an app context of its own, with no request any more.
    assert log == [
        "view",
        "after_request",
        "teardown",
        ("task", 42, "x", "test_app", False),
    ]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_asgi_background_task_starts_after_the_last_body_message(kind: str) -> None:
    app = Erlen("tasks")
    log: list[str] = []
    done = threading.Event()

    def sync_task() -> None:
        log.append("task")
        done.set()

    async def async_task() -> None:
        log.append("task")
        done.set()

    @app.get("/")
    async def index() -> t.Any:
        app.add_background_task(sync_task if kind == "sync" else async_task)

        async def body() -> t.AsyncIterator[str]:
            yield "a"
            yield "b"

        return body()

    def on_send(message: Message) -> None:
        if message["type"] == "http.response.body":
            log.append(f"sent more_body={message.get('more_body', False)}")

    async def main() -> None:
        await asgi_request(app, http_scope("/"), on_send=on_send)
        for _ in range(200):
            if done.is_set():
                break
            await asyncio.sleep(0.01)

    asyncio.run(main())
    assert log == [
        "sent more_body=True",
        "sent more_body=True",
        "sent more_body=False",
        "task",
    ]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_wsgi_background_task_runs_when_the_server_closes_the_body(kind: str) -> None:
    app = Erlen("tasks")
    log: list[str] = []

    def sync_task() -> None:
        log.append("task")

    async def async_task() -> None:
        log.append("task")

    @app.get("/")
    def index() -> t.Any:
        app.add_background_task(sync_task if kind == "sync" else async_task)
        return iter(["a", "b"])

    call = WSGICall(app, "/")
    assert list(call.iterator) == [b"a", b"b"]
    assert log == []  # the body was sent; the server has not closed it yet
    call.close()
    assert log == ["task"]


def test_background_task_error_is_logged_not_sent(
    client: ErlenClient, app: Erlen, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise RuntimeError("task failed")

    @app.get("/")
    def index() -> str:
        app.add_background_task(broken)
        return "ok"

    response = client.get("/")
    assert (response.status_code, response.data) == (200, b"ok")
    assert "Error in background task" in caplog.text
    assert "task failed" in caplog.text


def run_lifespan_around(app: Erlen, during: t.Callable[[], t.Awaitable[None]]) -> float:
    """Start the app's lifespan, await ``during()``, then shut down; return
    how long the shutdown took."""

    async def main() -> float:
        inbox: asyncio.Queue[Message] = asyncio.Queue()
        outbox: asyncio.Queue[Message] = asyncio.Queue()
        lifespan = asyncio.ensure_future(
            app.asgi(
                {"type": "lifespan", "asgi": {"version": "3.0"}},
                inbox.get,
                outbox.put,
            )
        )
        await inbox.put({"type": "lifespan.startup"})
        assert (await outbox.get())["type"] == "lifespan.startup.complete"
        await during()
        started = time.monotonic()
        await inbox.put({"type": "lifespan.shutdown"})
        assert (await outbox.get())["type"] == "lifespan.shutdown.complete"
        took = time.monotonic() - started
        await lifespan
        return took

    return asyncio.run(main())


def shutdown_app() -> tuple[Erlen, list[str]]:
    """``/`` starts a task that takes 50 ms and one that takes a minute;
    shutdown waits for tasks for 300 ms."""
    app = Erlen("tasks")
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = 0.3
    log: list[str] = []

    async def sleeper(seconds: float) -> None:
        try:
            await asyncio.sleep(seconds)
            log.append(f"{seconds} finished")
        except asyncio.CancelledError:
            await asyncio.sleep(0.01)  # cleaning up takes a moment
            log.append(f"{seconds} cancelled")
            raise

    @app.after_serving
    async def after_serving() -> None:
        log.append("after_serving")

    @app.get("/")
    async def index() -> str:
        app.add_background_task(sleeper, 0.05)
        app.add_background_task(sleeper, 60)
        return "ok"

    return app, log


async def request_root(app: Erlen) -> None:
    sent = await asgi_request(app, http_scope("/"))
    assert bodies(sent) == [b"ok"]


def test_asgi_shutdown_waits_for_background_tasks_up_to_the_timeout() -> None:
    app, log = shutdown_app()
    took = run_lifespan_around(app, lambda: request_root(app))
    assert 0.3 <= took < 2.0
    # The short task finished while shutdown waited; the long one did not.
    assert log[0] == "0.05 finished"
    assert "after_serving" in log
    assert "60 finished" not in log


def test_asgi_shutdown_lets_cancelled_tasks_clean_up_before_after_serving() -> None:
    app, log = shutdown_app()
    run_lifespan_around(app, lambda: request_root(app))
    assert log == ["0.05 finished", "60 cancelled", "after_serving"]


# -- server-sent events: the wire format ---------------------------------------


@pytest.mark.parametrize(
    ("event", "wire"),
    [
        (ServerSentEvent("hello"), b"data: hello\n\n"),
        (ServerSentEvent(""), b"data: \n\n"),
        (ServerSentEvent("a\nb"), b"data: a\ndata: b\n\n"),
        (ServerSentEvent("a\r\nb\rc"), b"data: a\ndata: b\ndata: c\n\n"),
        # A trailing line break survives: the browser joins lines with "\n".
        (ServerSentEvent("a\n"), b"data: a\ndata: \n\n"),
        # Only CR and LF end a line in an event stream.
        (ServerSentEvent("a\u2028b\x0bc"), "data: a\u2028b\x0bc\n\n".encode()),
        (ServerSentEvent("héllo ☃"), "data: héllo ☃\n\n".encode()),
        (ServerSentEvent(b"raw"), b"data: raw\n\n"),
        (ServerSentEvent({"b": 1, "a": [1, 2]}), b'data: {"b": 1, "a": [1, 2]}\n\n'),
        (ServerSentEvent([1, "x"]), b'data: [1, "x"]\n\n'),
        (ServerSentEvent(0), b"data: 0\n\n"),
        (
            ServerSentEvent("x", event="update", id="7", retry=2500),
            b"event: update\nid: 7\nretry: 2500\ndata: x\n\n",
        ),
        (ServerSentEvent("x", id=42), b"id: 42\ndata: x\n\n"),
        (ServerSentEvent(id=""), b"id: \n\n"),  # resets the last event id
        (ServerSentEvent(retry=0), b"retry: 0\n\n"),
        (ServerSentEvent(comment="ping"), b": ping\n\n"),
        (ServerSentEvent("x", comment="a\nb"), b": a\n: b\ndata: x\n\n"),
    ],
)
def test_event_wire_format(event: ServerSentEvent, wire: bytes) -> None:
    assert event.encode() == wire


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"data": "x", "event": "a\nb"}, "event type cannot contain a line break"),
        ({"data": "x", "event": "a\rb"}, "event type cannot contain a line break"),
        ({"data": "x", "id": "1\n2"}, "id cannot contain a line break or NUL"),
        ({"data": "x", "id": "1\x002"}, "id cannot contain a line break or NUL"),
        ({"data": "x", "retry": -1}, "milliseconds"),
        ({"data": "x", "retry": 1.5}, "milliseconds"),
        ({"data": "x", "retry": True}, "milliseconds"),
        ({}, "needs data, an id, a retry time or a comment"),
    ],
)
def test_invalid_event_is_refused(kwargs: dict[str, t.Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ServerSentEvent(**kwargs)


def test_event_equality_and_repr() -> None:
    assert ServerSentEvent("x", event="e") == ServerSentEvent("x", event="e")
    assert ServerSentEvent("x") != ServerSentEvent("y")
    assert repr(ServerSentEvent("x", id=1)) == "ServerSentEvent(data='x', id='1')"


@pytest.mark.parametrize("events", ["text", b"bytes", {"a": 1}, ServerSentEvent("x")])
def test_event_stream_needs_an_iterable(events: t.Any) -> None:
    with pytest.raises(TypeError, match="iterable of events"):
        event_stream(events)


def test_event_stream_refuses_a_negative_keep_alive() -> None:
    with pytest.raises(ValueError, match="keep_alive"):
        event_stream([], keep_alive=-1)


# -- server-sent events: responses through both drivers ------------------------


MIXED_EVENTS: list[t.Any] = [
    "plain",
    {"n": 1},
    ServerSentEvent("two\nlines", event="multi", id=2),
]
MIXED_WIRE = (
    b"retry: 3000\n\n"
    b"data: plain\n\n"
    b'data: {"n": 1}\n\n'
    b"event: multi\nid: 2\ndata: two\ndata: lines\n\n"
)


@pytest.mark.parametrize("kind", ["list", "sync", "async"])
def test_event_stream_response(client: ErlenClient, app: Erlen, kind: str) -> None:
    @app.get("/events")
    async def events() -> t.Any:
        def sync_events() -> t.Iterator[t.Any]:
            yield from MIXED_EVENTS

        async def async_events() -> t.AsyncIterator[t.Any]:
            for item in MIXED_EVENTS:
                yield item

        source: t.Any = {
            "list": MIXED_EVENTS,
            "sync": sync_events(),
            "async": async_events(),
        }[kind]
        return event_stream(source, retry=3000)

    response = client.get("/events")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/event-stream"
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Accel-Buffering"] == "no"
    assert "Content-Length" not in response.headers
    assert response.data == MIXED_WIRE


def test_event_stream_is_a_response_subclass(app: Erlen) -> None:
    with app.app_context():
        response = EventStream([], status=201, headers={"Cache-Control": "no-store"})
    assert response.status_code == 201
    # Headers the view gives win over the defaults.
    assert response.headers["Cache-Control"] == "no-store"
    assert response.is_streamed


def test_event_data_uses_the_apps_json_encoder(client: ErlenClient, app: Erlen) -> None:
    key = uuid.UUID("12345678-1234-5678-1234-567812345678")
    when = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)

    @app.get("/events")
    def events() -> t.Any:
        return event_stream([{"id": key, "at": when}])

    assert client.get("/events").data == (
        b'data: {"at": "Tue, 02 Jan 2024 03:04:05 GMT",'
        b' "id": "12345678-1234-5678-1234-567812345678"}\n\n'
    )


def test_event_stream_with_context_reads_the_request(
    client: ErlenClient, app: Erlen
) -> None:
    @app.get("/events")
    async def events() -> t.Any:
        async def generate() -> t.AsyncIterator[ServerSentEvent]:
            since = int(request.headers.get("Last-Event-ID", "0"))
            for n in range(since + 1, since + 3):
                yield ServerSentEvent(f"item {n}", id=n)

        return event_stream(stream_with_context(generate()))

    response = client.get("/events", headers={"Last-Event-ID": "5"})
    assert response.data == b"id: 6\ndata: item 6\n\nid: 7\ndata: item 7\n\n"


@pytest.mark.parametrize("keep_alive", [0.02, None])
def test_keep_alive_between_slow_async_events(
    client: ErlenClient, app: Erlen, keep_alive: float | None
) -> None:
    @app.get("/events")
    async def events() -> t.Any:
        async def slow() -> t.AsyncIterator[str]:
            yield "first"
            await asyncio.sleep(0.2)
            yield "second"

        return event_stream(slow(), keep_alive=keep_alive)

    data = client.get("/events").data
    first, _, rest = data.partition(b"data: first\n\n")
    assert first == b""
    pings, _, last = rest.partition(b"data: second\n\n")
    assert last == b""
    if keep_alive is None:
        assert pings == b""
    else:
        # About one per 20 ms of the 200 ms wait, nothing else in between.
        count = pings.count(KEEP_ALIVE)
        assert count >= 3
        assert pings == KEEP_ALIVE * count


def test_no_keep_alive_for_sync_events(client: ErlenClient, app: Erlen) -> None:
    @app.get("/events")
    def events() -> t.Any:
        def slow() -> t.Iterator[str]:
            yield "first"
            time.sleep(0.15)
            yield "second"

        return event_stream(slow(), keep_alive=0.02)

    assert client.get("/events").data == b"data: first\n\ndata: second\n\n"


def test_keep_alive_on_the_wire_asgi(app: Erlen) -> None:
    """Each keep-alive is its own body message, sent while the generator
    waits; the generator itself is not disturbed by the timeouts."""
    release = asyncio.Event()

    @app.get("/events")
    async def events() -> t.Any:
        async def waiting() -> t.AsyncIterator[str]:
            yield "ready"
            await release.wait()
            yield "released"

        return event_stream(waiting(), keep_alive=0.01)

    def on_send(message: Message) -> None:
        if message.get("body") == KEEP_ALIVE and bodies_seen.count(KEEP_ALIVE) >= 2:
            release.set()
        bodies_seen.append(message.get("body", b""))

    bodies_seen: list[bytes] = []
    sent = asyncio.run(asgi_request(app, http_scope("/events"), on_send=on_send))
    assert bodies(sent) == [
        b"data: ready\n\n",
        KEEP_ALIVE,
        KEEP_ALIVE,
        KEEP_ALIVE,
        b"data: released\n\n",
        b"",
    ]


@pytest.mark.parametrize("waiting", [False, True], ids=["producing", "waiting"])
def test_event_stream_client_disconnect_closes_the_generator(
    app: Erlen, waiting: bool
) -> None:
    """The client leaves while events flow, or while only keep-alives do
    (the generator then waits in a task of its own): either way its
    ``finally`` runs before the ASGI call returns, and so does teardown."""
    log: list[str] = []

    @app.teardown_request
    def teardown(error: BaseException | None) -> None:
        log.append("teardown")

    @app.get("/events")
    async def events() -> t.Any:
        async def generate() -> t.AsyncIterator[dict[str, int]]:
            try:
                n = 0
                while True:
                    if waiting and n:
                        await asyncio.Event().wait()  # never set
                    yield {"n": n}
                    n += 1
                    await asyncio.sleep(0.001)
            finally:
                log.append("generator closed")

        return event_stream(stream_with_context(generate()), keep_alive=0.005)

    started = time.monotonic()
    sent = asyncio.run(asgi_request(app, http_scope("/events"), disconnect_after=4))
    assert time.monotonic() - started < 1.0
    assert bodies(sent)[0] == b'data: {"n": 0}\n\n'
    if waiting:
        assert set(bodies(sent)[1:4]) == {KEEP_ALIVE}
    assert log == ["generator closed", "teardown"]


def test_event_stream_wsgi_close_closes_the_generator(app: Erlen) -> None:
    log: list[str] = []

    @app.get("/events")
    def events() -> t.Any:
        def generate() -> t.Iterator[str]:
            try:
                while True:
                    yield "tick"
            finally:
                log.append("generator closed")

        return event_stream(generate())

    call = WSGICall(app, "/events")
    assert next(call.iterator) == b"data: tick\n\n"
    call.close()
    assert log == ["generator closed"]
