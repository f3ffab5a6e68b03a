"""The two drivers, without the test client: the WSGI callable checked by
the PEP 3333 validator and called with hand-built environs, ``app.asgi``
driven by hand with scope, receive and send, and both served by real
servers over sockets."""

from __future__ import annotations

import asyncio
import gc
import http.client
import io
import json
import socket
import subprocess
import sys
import textwrap
import threading
import time
import types
import typing as t
import warnings
from wsgiref.simple_server import WSGIRequestHandler, make_server
from wsgiref.util import setup_testing_defaults
from wsgiref.validate import validator

import pytest

from erlen import Erlen, request, url_for

# -- the app -------------------------------------------------------------------


@pytest.fixture
def app(app: Erlen) -> Erlen:
    @app.route("/text")
    def text() -> t.Any:
        return "héllo"

    @app.route("/json")
    def json_() -> t.Any:
        return {"ok": True}

    @app.route("/stream")
    def stream() -> t.Any:
        def generate() -> t.Iterator[str]:
            yield "a"
            yield "b"
            yield "c"

        return generate()

    @app.route("/async-stream")
    async def async_stream() -> t.Any:
        async def generate() -> t.AsyncIterator[bytes]:
            for chunk in (b"x", b"y", b"z"):
                await asyncio.sleep(0)
                yield chunk

        return generate()

    @app.route("/empty")
    def empty() -> t.Any:
        return "", 204

    @app.route("/not-modified")
    def not_modified() -> t.Any:
        return "", 304, {"ETag": '"v1"'}

    @app.route("/where/<name>")
    def where(name: str) -> t.Any:
        return {
            "name": name,
            "path": request.path,
            "root": request.root_path,
            "url": url_for("where", name=name),
        }

    @app.route("/body", methods=["GET", "POST"])
    def body() -> t.Any:
        return request.get_data()

    return app


# -- WSGI ----------------------------------------------------------------------


def environ_for(
    path: str = "/", method: str = "GET", **extra: t.Any
) -> dict[str, t.Any]:
    """A minimal valid WSGI environ (``wsgiref.util``'s defaults)."""
    environ: dict[str, t.Any] = {}
    setup_testing_defaults(environ)
    environ.update(
        REQUEST_METHOD=method, PATH_INFO=path, QUERY_STRING="", SCRIPT_NAME=""
    )
    environ.update(extra)
    return environ


def call_wsgi(
    wsgi_app: t.Callable[..., t.Any], environ: dict[str, t.Any]
) -> tuple[str, list[tuple[str, str]], list[bytes]]:
    """Call a WSGI app as a server would: start_response, iterate, close."""
    started: list[t.Any] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
    ) -> t.Callable[[bytes], None]:
        started[:] = [status, headers]
        return lambda data: None

    app_iter = wsgi_app(environ, start_response)
    try:
        chunks = list(app_iter)
    finally:
        close = getattr(app_iter, "close", None)
        if close is not None:
            close()
    return started[0], started[1], chunks


@pytest.mark.parametrize(
    ("method", "path", "status", "body"),
    [
        ("GET", "/text", "200 OK", "héllo".encode()),
        ("GET", "/json", "200 OK", b'{"ok":true}\n'),
        ("GET", "/stream", "200 OK", b"abc"),
        ("GET", "/async-stream", "200 OK", b"xyz"),
        ("HEAD", "/text", "200 OK", b""),
        ("GET", "/missing", "404 NOT FOUND", None),
        ("GET", "/empty", "204 NO CONTENT", b""),
        ("GET", "/not-modified", "304 NOT MODIFIED", b""),
    ],
)
def test_wsgi_validator(
    app: Erlen, method: str, path: str, status: str, body: bytes | None
) -> None:
    with warnings.catch_warnings():
        # The validator warns about environ keys it finds missing in
        # setup_testing_defaults; everything else still raises.
        warnings.simplefilter("ignore", Warning)
        got_status, headers, chunks = call_wsgi(
            validator(app), environ_for(path, method)
        )
    assert got_status == status
    data = b"".join(chunks)
    if body is not None:
        assert data == body
    names = {k.lower() for k, _ in headers}
    if status[:3] in ("204", "304"):
        # RFC 9110: no Content-Length in a 204, and neither response has
        # content of its own to describe.
        assert "content-length" not in names
        assert "content-type" not in names
    if method == "HEAD":
        assert dict(headers)["Content-Length"] == str(len("héllo".encode()))
    if path == "/stream":
        assert len(chunks) == 3  # streamed as produced, not joined


def test_wsgi_pipeline_that_suspends_is_closed_with_a_clear_error(
    app: Erlen, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Under WSGI the pipeline runs without an event loop; should it ever
    # await something that suspends, it is closed (its finally blocks run)
    # and the error says why, through the driver and through drive().
    import erlen.wsgi
    from erlen.concurrency import drive

    closed: list[bool] = []

    @types.coroutine
    def pause() -> t.Generator[None, None, None]:
        yield

    async def suspending(*args: t.Any) -> t.Any:
        try:
            await pause()
        finally:
            closed.append(True)

    with pytest.raises(RuntimeError, match="outside an event loop"):
        drive(suspending())
    monkeypatch.setattr(erlen.wsgi, "handle_request", suspending)
    with pytest.raises(RuntimeError, match="outside an event loop"):
        call_wsgi(app, environ_for("/text"))
    assert closed == [True, True]


def test_wsgi_script_name_and_non_ascii_path(app: Erlen) -> None:
    # WSGI carries the path's UTF-8 bytes as a latin-1 str (PEP 3333).
    path_info = "/where/café".encode().decode("latin-1")
    status, _, chunks = call_wsgi(app, environ_for(path_info, SCRIPT_NAME="/mount"))
    assert status == "200 OK"
    assert json.loads(b"".join(chunks)) == {
        "name": "café",
        "path": "/where/café",
        "root": "/mount",
        "url": "/mount/where/caf%C3%A9",
    }


def test_wsgi_chunked_input_terminated(app: Erlen) -> None:
    environ = environ_for(
        "/body",
        "POST",
        **{"wsgi.input": io.BytesIO(b"chunked body"), "wsgi.input_terminated": True},
    )
    environ.pop("CONTENT_LENGTH", None)
    status, _, chunks = call_wsgi(app, environ)
    assert (status, b"".join(chunks)) == ("200 OK", b"chunked body")


def test_wsgi_no_length_and_not_terminated_reads_nothing(app: Erlen) -> None:
    # PEP 3333: without CONTENT_LENGTH the app must not read to EOF (the
    # server may block); the body is empty.
    environ = environ_for("/body", "POST", **{"wsgi.input": io.BytesIO(b"unseen")})
    environ.pop("CONTENT_LENGTH", None)
    status, _, chunks = call_wsgi(app, environ)
    assert (status, b"".join(chunks)) == ("200 OK", b"")


def test_wsgi_chunked_input_over_the_limit(app: Erlen) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 5
    environ = environ_for(
        "/body",
        "POST",
        **{"wsgi.input": io.BytesIO(b"123456"), "wsgi.input_terminated": True},
    )
    environ.pop("CONTENT_LENGTH", None)
    status, _, _ = call_wsgi(app, environ)
    assert status.startswith("413")
    environ["wsgi.input"] = io.BytesIO(b"12345")  # exactly at the limit
    status, _, chunks = call_wsgi(app, environ)
    assert (status, b"".join(chunks)) == ("200 OK", b"12345")


class _Trickle(io.RawIOBase):
    """A body stream that gives one byte per read, then EOF."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: t.Any) -> int:
        if not self._data or not len(buffer):
            return 0
        buffer[0] = self._data[0]
        self._data = self._data[1:]
        return 1


@pytest.mark.parametrize("stream", [io.BytesIO, _Trickle], ids=["whole", "trickle"])
def test_wsgi_body_shorter_than_its_length_is_a_400(
    app: Erlen, stream: t.Callable[[bytes], t.Any]
) -> None:
    # The client stopped before Content-Length: never a truncated body (or
    # form), whether the server gives the bytes at once or one at a time.
    @app.post("/form")
    def form() -> t.Any:
        return dict(request.form)

    for path, content_type in (
        ("/body", "application/octet-stream"),
        ("/form", "application/x-www-form-urlencoded"),
    ):
        environ = environ_for(
            path,
            "POST",
            CONTENT_LENGTH="10",
            CONTENT_TYPE=content_type,
            **{"wsgi.input": stream(b"a=1&b")},
        )
        status, _, _ = call_wsgi(app, environ)
        assert status.startswith("400"), (path, status)
        environ["wsgi.input"] = stream(b"a=1&b=2345")
        status, _, chunks = call_wsgi(app, environ)
        assert status == "200 OK", (path, status)


def test_wsgi_stream_is_read_after_get_data(app: Erlen) -> None:
    # Reading the body whole leaves request.stream at its end, as reading
    # the stream itself would (never a second read of the server's input).
    @app.post("/twice")
    def twice() -> t.Any:
        data = request.get_data()
        return {"data": data.decode(), "rest": request.stream.read().decode()}

    environ = environ_for(
        "/twice", "POST", CONTENT_LENGTH="5", **{"wsgi.input": _Trickle(b"hello!!")}
    )
    status, _, chunks = call_wsgi(app, environ)
    assert status == "200 OK"
    assert json.loads(b"".join(chunks)) == {"data": "hello", "rest": ""}


def test_wsgi_close_runs_call_on_close(app: Erlen) -> None:
    closed: list[bool] = []

    @app.route("/closing")
    def closing() -> t.Any:
        def generate() -> t.Iterator[str]:
            try:
                yield "part"
                yield "never"
            finally:
                closed.append(True)

        return generate()

    started: list[t.Any] = []
    app_iter = app(environ_for("/closing"), lambda s, h, e=None: started.append(s))
    assert next(iter(app_iter)) == b"part"
    app_iter.close()  # type: ignore[attr-defined]  # the client went away
    assert closed == [True]


def test_wsgi_async_view_in_a_short_lived_thread_does_not_leak_its_loop(
    app: Erlen,
) -> None:
    # Thread-per-request WSGI servers: the loop an async view ran on is
    # closed when its thread ends (not left to warn and leak sockets).
    loops: list[asyncio.AbstractEventLoop] = []

    @app.route("/loop")
    async def loop_view() -> t.Any:
        loops.append(asyncio.get_running_loop())
        return "ran"

    results: list[t.Any] = []
    thread = threading.Thread(
        target=lambda: results.append(call_wsgi(app, environ_for("/loop")))
    )
    thread.start()
    thread.join(timeout=5)
    assert results[0][0] == "200 OK"
    assert b"".join(results[0][2]) == b"ran"
    del thread
    gc.collect()
    assert loops[0].is_closed()


# -- ASGI ----------------------------------------------------------------------


def http_scope(
    path: str, method: str = "GET", headers: list[tuple[bytes, bytes]] | None = None
) -> dict[str, t.Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
    }


def run_asgi(
    app: Erlen, scope: dict[str, t.Any], incoming: list[dict[str, t.Any]]
) -> tuple[list[dict[str, t.Any]], int]:
    """Run ``app.asgi`` for one scope; ``incoming`` are the messages receive
    returns (then it waits forever, like a client that stays connected).
    Returns the messages sent and how many were received."""
    sent: list[dict[str, t.Any]] = []
    queue = list(incoming)
    received = 0

    async def receive() -> dict[str, t.Any]:
        nonlocal received
        if not queue:
            await asyncio.Event().wait()
        received += 1
        return queue.pop(0)

    async def send(message: dict[str, t.Any]) -> None:
        sent.append(message)

    async def main() -> None:
        await asyncio.wait_for(app.asgi(scope, receive, send), timeout=5)

    asyncio.run(main())
    return sent, received


def test_asgi_lifespan(app: Erlen) -> None:
    sent, received = run_asgi(
        app,
        {"type": "lifespan", "asgi": {"version": "3.0"}},
        [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}],
    )
    assert [m["type"] for m in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    assert received == 2


def test_asgi_body_in_several_chunks(app: Erlen) -> None:
    sent, received = run_asgi(
        app,
        http_scope("/body", "POST", [(b"content-length", b"9")]),
        [
            {"type": "http.request", "body": b"abc", "more_body": True},
            {"type": "http.request", "body": b"", "more_body": True},
            {"type": "http.request", "body": b"def", "more_body": True},
            {"type": "http.request", "body": b"ghi", "more_body": False},
        ],
    )
    assert received == 4
    assert sent[0]["status"] == 200
    assert b"".join(m.get("body", b"") for m in sent[1:]) == b"abcdefghi"
    assert sent[-1].get("more_body", False) is False


def test_asgi_chunked_body_without_content_length(app: Erlen) -> None:
    sent, _ = run_asgi(
        app,
        http_scope("/body", "POST"),
        [
            {"type": "http.request", "body": b"no ", "more_body": True},
            {"type": "http.request", "body": b"length"},
        ],
    )
    assert b"".join(m.get("body", b"") for m in sent[1:]) == b"no length"


def test_asgi_get_without_a_body_is_not_received(app: Erlen) -> None:
    # An HTTP/1.1 GET with no Content-Length or Transfer-Encoding has no
    # body: the driver does not wait for the server's body message.
    sent, received = run_asgi(
        app, http_scope("/body"), [{"type": "http.request", "body": b""}]
    )
    assert received == 0
    assert sent[0]["status"] == 200
    assert b"".join(m.get("body", b"") for m in sent[1:]) == b""


def test_asgi_zero_content_length_is_not_received(app: Erlen) -> None:
    sent, received = run_asgi(
        app,
        http_scope("/body", "POST", [(b"content-length", b"0")]),
        [{"type": "http.request", "body": b""}],
    )
    assert received == 0
    assert sent[0]["status"] == 200


@pytest.mark.parametrize(
    ("version", "headers"),
    [
        ("1.1", [(b"transfer-encoding", b"chunked")]),
        ("1.1", [(b"content-length", b"8")]),
        ("2", []),  # HTTP/2 may send a body without Content-Length
    ],
    ids=["chunked", "length", "http2"],
)
def test_asgi_get_with_a_body_is_received(
    app: Erlen, version: str, headers: list[tuple[bytes, bytes]]
) -> None:
    scope = http_scope("/body", "GET", headers)
    scope["http_version"] = version
    sent, received = run_asgi(
        app,
        scope,
        [
            {"type": "http.request", "body": b"get ", "more_body": True},
            {"type": "http.request", "body": b"body"},
        ],
    )
    assert received == 2
    assert b"".join(m.get("body", b"") for m in sent[1:]) == b"get body"


@pytest.mark.parametrize(
    ("path", "chunks"),
    [("/stream", [b"a", b"b", b"c"]), ("/async-stream", [b"x", b"y", b"z"])],
    ids=["sync-generator", "async-generator"],
)
def test_asgi_streamed_response(app: Erlen, path: str, chunks: list[bytes]) -> None:
    sent, _ = run_asgi(app, http_scope(path), [{"type": "http.request"}])
    start, *bodies = sent
    assert start["type"] == "http.response.start"
    assert start["status"] == 200
    assert (b"content-length", b"3") not in start["headers"]
    assert [m["type"] for m in bodies] == ["http.response.body"] * 4
    assert [m["body"] for m in bodies[:3]] == chunks
    assert all(m["more_body"] is True for m in bodies[:3])
    assert bodies[3].get("more_body", False) is False
    assert bodies[3]["body"] == b""


def test_asgi_streamed_response_all_sync_app() -> None:
    # Without any async def function the whole request runs in one worker
    # thread; the generator still streams chunk by chunk.
    app = Erlen("all_sync")

    @app.route("/")
    def index() -> t.Any:
        return (f"{i}" for i in range(3))

    sent, _ = run_asgi(app, http_scope("/"), [{"type": "http.request"}])
    assert [m.get("body") for m in sent[1:]] == [b"0", b"1", b"2", b""]
    assert [m.get("more_body", False) for m in sent[1:]] == [True, True, True, False]


def test_asgi_head_sends_no_body(app: Erlen) -> None:
    sent, _ = run_asgi(app, http_scope("/text", "HEAD"), [{"type": "http.request"}])
    start, *bodies = sent
    assert start["status"] == 200
    assert (b"content-length", str(len("héllo".encode())).encode()) in start["headers"]
    assert b"".join(m.get("body", b"") for m in bodies) == b""
    assert bodies[-1].get("more_body", False) is False


def test_asgi_no_content(app: Erlen) -> None:
    sent, _ = run_asgi(app, http_scope("/empty"), [{"type": "http.request"}])
    start, *bodies = sent
    assert start["status"] == 204
    names = {k for k, _ in start["headers"]}
    assert b"content-length" not in names and b"content-type" not in names
    assert b"".join(m.get("body", b"") for m in bodies) == b""


@pytest.mark.parametrize(
    ("declared", "status", "receives"), [(10, 200, 1), (11, 413, 0)]
)
def test_asgi_declared_length_over_the_limit(
    app: Erlen, declared: int, status: int, receives: int
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 10
    sent, received = run_asgi(
        app,
        http_scope("/body", "POST", [(b"content-length", str(declared).encode())]),
        [{"type": "http.request", "body": b"x" * declared}],
    )
    assert sent[0]["status"] == status
    # Over the limit the body is never received from the server.
    assert received == receives


def test_asgi_streamed_body_over_the_limit(app: Erlen) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 5
    sent, received = run_asgi(
        app,
        http_scope("/body", "POST"),
        [
            {"type": "http.request", "body": b"1234", "more_body": True},
            {"type": "http.request", "body": b"5678", "more_body": True},
            {"type": "http.request", "body": b"never read", "more_body": True},
        ],
    )
    assert sent[0]["status"] == 413
    assert received == 2  # stopped receiving once over the limit


def test_asgi_root_path(app: Erlen) -> None:
    # ASGI's path includes root_path (uvicorn --root-path sends both).
    scope = http_scope("/api/where/x")
    scope["root_path"] = "/api"
    sent, _ = run_asgi(app, scope, [{"type": "http.request"}])
    body = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert body == {
        "name": "x",
        "path": "/where/x",
        "root": "/api",
        "url": "/api/where/x",
    }


def test_asgi_websocket_is_closed(app: Erlen) -> None:
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "path": "/text",
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "scheme": "ws",
    }
    sent, received = run_asgi(app, scope, [{"type": "websocket.connect"}])
    assert received == 1
    assert [m["type"] for m in sent] == ["websocket.close"]


# -- real servers --------------------------------------------------------------

APP_MODULE = """
from erlen import Erlen, request, url_for

app = Erlen(__name__)


@app.route("/")
def index():
    return {"hello": "world", "root": request.root_path,
            "url": url_for("index"), "ua": request.headers.get("User-Agent")}


@app.route("/echo", methods=["POST"])
def echo():
    return {"json": request.json, "length": request.content_length}


@app.route("/stream")
def stream():
    def generate():
        for i in range(3):
            yield f"chunk {i};"
    return generate()


@app.route("/async")
async def async_view():
    return {"async": True}


def make_app():
    return app
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(
    port: int, deadline: float, proc: subprocess.Popen[bytes] | None = None
) -> None:
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"The server exited: {proc.communicate()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"Nothing listens on port {port}.")


def fetch(
    port: int, method: str, path: str, body: bytes | None = None, **headers: str
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request on a new connection: status, headers (case-insensitive),
    body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.msg, response.read()
    finally:
        conn.close()


def check_served_app(port: int, root: str = "") -> None:
    status, headers, body = fetch(port, "GET", "/", **{"User-Agent": "probe/1"})
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {
        "hello": "world",
        "root": root,
        "url": f"{root}/",
        "ua": "probe/1",
    }

    payload = json.dumps({"n": [1, 2]}).encode()
    status, _, body = fetch(
        port, "POST", "/echo", payload, **{"Content-Type": "application/json"}
    )
    assert (status, json.loads(body)) == (200, {"json": {"n": [1, 2]}, "length": 13})

    status, headers, body = fetch(port, "GET", "/stream")
    assert status == 200
    assert body == b"chunk 0;chunk 1;chunk 2;"
    assert "Content-Length" not in headers  # streamed (chunked)

    status, _, body = fetch(port, "GET", "/async")
    assert (status, json.loads(body)) == (200, {"async": True})

    status, _, _ = fetch(port, "GET", "/missing")
    assert status == 404


@pytest.mark.parametrize(
    "target",
    [
        ["served_app:app.asgi", "--lifespan=on"],
        # One object, any server: the app itself tells an ASGI call from a
        # WSGI one, so the plain name and a factory work too.
        ["served_app:app", "--lifespan=on"],
        ["--factory", "served_app:make_app", "--lifespan=on"],
    ],
    ids=["app.asgi", "app", "factory"],
)
def test_uvicorn(tmp_path: t.Any, target: list[str]) -> None:
    (tmp_path / "served_app.py").write_text(textwrap.dedent(APP_MODULE))
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            *target,
            "--host=127.0.0.1",
            f"--port={port}",
            "--root-path=/api",
            "--log-level=info",
            "--no-access-log",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, time.monotonic() + 5, proc)
        check_served_app(port, root="/api")
    finally:
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
    # Lifespan answered at both ends, and a clean shutdown.
    assert b"Application startup complete" in err, err.decode()
    assert b"Application shutdown complete" in err, err.decode()
    assert b"Traceback" not in err, err.decode()


def test_uvicorn_wsgi_interface(tmp_path: t.Any) -> None:
    """uvicorn's WSGI mode passes SERVER_PORT as an int (PEP 3333 says str);
    the WSGI driver takes it."""
    (tmp_path / "served_app.py").write_text(textwrap.dedent(APP_MODULE))
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "served_app:app",
            "--interface=wsgi",
            "--host=127.0.0.1",
            f"--port={port}",
            "--log-level=warning",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, time.monotonic() + 5, proc)
        status, _, body = fetch(port, "GET", "/", **{"User-Agent": "probe/1"})
        assert status == 200, body
        assert json.loads(body)["hello"] == "world"
    finally:
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
    assert b"Traceback" not in err, err.decode()


def test_app_is_also_an_asgi_callable() -> None:
    """``app(scope, receive, send)`` (ASGI 3) and ``app(scope)(receive,
    send)`` (ASGI 2) both reach the ASGI driver."""
    import asyncio

    from erlen import Erlen

    app = Erlen("one_object")

    @app.get("/")
    def index() -> str:
        return "one app"

    async def call(style: int) -> list[dict[str, t.Any]]:
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/",
            "query_string": b"",
            "headers": [(b"host", b"x")],
        }
        sent: list[dict[str, t.Any]] = []

        async def receive() -> dict[str, t.Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, t.Any]) -> None:
            sent.append(message)

        if style == 3:
            await app(scope, receive, send)
        else:
            await app(scope)(receive, send)
        return sent

    for style in (3, 2):
        sent = asyncio.run(call(style))
        assert sent[0]["status"] == 200
        assert sent[-1]["body"] == b"one app"


def test_wsgiref_server(tmp_path: t.Any, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "served_wsgi_app.py").write_text(textwrap.dedent(APP_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    from served_wsgi_app import app  # type: ignore[import-not-found]

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: t.Any) -> None:
            pass

    server = make_server("127.0.0.1", 0, app, handler_class=QuietHandler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}
    )
    thread.start()
    try:
        check_served_app(server.server_port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    monkeypatch.delitem(sys.modules, "served_wsgi_app")


def test_asgi_response_headers_are_sent_as_set(app: Erlen) -> None:
    # The ASGI driver keeps encoded header pairs for reuse: every response
    # still carries its own values, and no cookie or long value is kept.
    from erlen.asgi import _encoded_headers

    @app.route("/h")
    def h() -> t.Any:
        value = request.args["v"]
        response = app.make_response("ok")
        response.headers["X-Value"] = value
        response.set_cookie("c", value)
        return response

    client = app.test_client(driver="asgi")
    for value in ["a", "b", "a", "x" * 2000]:
        rv = client.get("/h", query_string={"v": value})
        assert rv.headers["X-Value"] == value
        assert rv.headers["Set-Cookie"].startswith(f"c={value};")
        assert rv.headers["X-Content-Type-Options"] == "nosniff"
    assert all(name != b"set-cookie" for name, _ in _encoded_headers.values())
    assert all(len(value) <= 1024 for _, value in _encoded_headers)
