"""Websockets: routes and ``url_for``, the ``websocket`` proxy, the
handshake (accepted, or rejected with an HTTP response), disconnects,
limits and errors; through the test client, through ``app.asgi`` driven by
hand, and through a real uvicorn server."""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import sys
import textwrap
import time
import typing as t
from contextlib import closing

import pytest

from erlen import Blueprint, Erlen, abort, g, request, session, url_for, websocket
from erlen.testing import ErlenClient, WebSocketRejected
from erlen.websockets import WebSocketDisconnect, WebSocketError

Message = dict[str, t.Any]


@pytest.fixture
def client(app: Erlen) -> t.Iterator[ErlenClient]:
    """Websockets always go through ASGI, whatever the client's driver."""
    client = app.test_client()
    yield client
    client.close()


def ws_scope(path: str, *, extensions: dict[str, t.Any] | None = None) -> Message:
    """An ASGI websocket scope as uvicorn sends it."""
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "scheme": "ws",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"test")],
        "server": ("test", 80),
        "client": ("127.0.0.1", 50000),
        "subprotocols": [],
        "extensions": extensions if extensions is not None else {},
    }


def run_ws(
    app: Erlen,
    scope: Message,
    incoming: list[Message],
    send_error: type[BaseException] | None = None,
) -> list[Message]:
    """Drive ``app.asgi`` for one websocket: ``receive`` returns ``incoming``
    one by one (then waits forever); what the app sends is returned.  With
    ``send_error``, sending a message after the accept raises it, as a
    server does once the connection is gone."""
    sent: list[Message] = []
    queue = list(incoming)

    async def receive() -> Message:
        if queue:
            return queue.pop(0)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        if send_error is not None and message["type"] != "websocket.accept":
            raise send_error("connection lost")
        sent.append(message)

    async def main() -> None:
        await asyncio.wait_for(app.asgi(scope, receive, send), timeout=5)

    asyncio.run(main())
    return sent


# -- routes and url_for --------------------------------------------------------


def test_route_with_converter_and_url_for(client: ErlenClient, app: Erlen) -> None:
    @app.websocket("/ws/<int:room>")
    async def chat(room: int) -> None:
        await websocket.send_json(
            {
                "room": room,
                "is_int": isinstance(room, int),
                "url": url_for("chat", room=room),
            }
        )

    @app.get("/link")
    def link() -> str:
        return url_for("chat", room=7)

    with client.websocket("/ws/42") as ws:
        assert ws.receive_json() == {"room": 42, "is_int": True, "url": "/ws/42"}
    assert client.get("/link").text == "/ws/7"
    with pytest.raises(WebSocketRejected) as info:
        with client.websocket("/ws/not-a-number"):
            pass
    assert info.value.status_code == 404


def test_blueprint_websocket(client: ErlenClient, app: Erlen) -> None:
    bp = Blueprint("live", __name__, url_prefix="/live")
    log: list[str] = []

    @bp.before_request
    def bp_hook() -> None:
        g.section = "live"
        log.append("blueprint before_request")

    @bp.websocket("/feed/<name>")
    async def feed(name: str) -> None:
        await websocket.send_text(
            f"{g.section} {name} {url_for('live.feed', name=name)}"
        )

    @bp.teardown_request
    def bp_teardown(error: BaseException | None) -> None:
        log.append("blueprint teardown")

    app.register_blueprint(bp)
    with client.websocket("/live/feed/news") as ws:
        assert ws.receive_text() == "live news /live/feed/news"
    assert log == ["blueprint before_request", "blueprint teardown"]


def test_external_url_of_a_websocket_route(client: ErlenClient, app: Erlen) -> None:
    @app.websocket("/ws")
    async def ws() -> None:
        pass

    @app.get("/link")
    def link() -> str:
        return url_for("ws", _external=True)

    assert client.get("/link").text == "ws://localhost/ws"
    assert client.get("/link", base_url="https://localhost").text == (
        "wss://localhost/ws"
    )


def test_sync_handler_is_refused_at_registration(app: Erlen) -> None:
    with pytest.raises(TypeError, match="must be an 'async def' function"):

        @app.websocket("/ws")
        def handler() -> None:
            pass

    bp = Blueprint("bp", __name__)
    with pytest.raises(TypeError, match="must be an 'async def' function"):

        @bp.websocket("/ws")
        def bp_handler() -> None:
            pass


@pytest.mark.parametrize("driver", ["wsgi", "asgi"])
def test_plain_http_request_to_a_websocket_route_is_a_400(
    app: Erlen, driver: str
) -> None:
    @app.websocket("/ws")
    async def handler() -> None:
        pass

    with closing(app.test_client(driver=driver)) as client:  # type: ignore[call-arg]
        response = client.get("/ws")
    assert response.status_code == 400
    assert "websocket endpoint" in response.text
    assert "ws://" in response.text


def test_websocket_to_an_http_route_is_refused(client: ErlenClient, app: Erlen) -> None:
    @app.get("/page")
    def page() -> str:
        return "a page"

    with pytest.raises(WebSocketRejected) as info:
        with client.websocket("/page"):
            pass
    assert info.value.status_code == 400
    assert b"serves plain HTTP requests, not websockets" in info.value.body


# -- the websocket proxy -------------------------------------------------------


def test_handshake_request_data(client: ErlenClient, app: Erlen) -> None:
    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.send_json(
            {
                "header": websocket.headers.get("X-Token"),
                "arg": websocket.args.get("q"),
                "cookie": websocket.cookies.get("theme"),
                "user": websocket.session.get("user"),
                "global_session": session.get("user"),
                "path": websocket.path,
                "url": websocket.url,
                "request_path": request.path,
                "is_websocket": request.is_websocket,
            }
        )

    with client.session_transaction() as sess:
        sess["user"] = "ann"
    client.set_cookie("theme", "dark")
    with client.websocket(
        "/ws", query_string={"q": "x"}, headers={"X-Token": "t"}
    ) as ws:
        assert ws.receive_json() == {
            "header": "t",
            "arg": "x",
            "cookie": "dark",
            "user": "ann",
            "global_session": "ann",
            "path": "/ws",
            "url": "ws://localhost/ws?q=x",
            "request_path": "/ws",
            "is_websocket": True,
        }


def test_session_changes_are_not_saved(client: ErlenClient, app: Erlen) -> None:
    @app.websocket("/ws")
    async def handler() -> None:
        websocket.session["user"] = "mallory"
        await websocket.send_text("changed")

    @app.get("/who")
    def who() -> str:
        return str(session.get("user"))

    with client.session_transaction() as sess:
        sess["user"] = "ann"
    with client.websocket("/ws") as ws:
        assert ws.receive_text() == "changed"
    assert client.get("/who").text == "ann"


def test_accept_with_subprotocol_and_headers(client: ErlenClient, app: Erlen) -> None:
    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.accept(subprotocol="v2", headers={"X-Server": "erlen"})
        await websocket.send_text(",".join(websocket.subprotocols))

    with client.websocket("/ws", subprotocols=["v1", "v2"]) as ws:
        assert ws.accepted_subprotocol == "v2"
        assert (b"x-server", b"erlen") in ws.extra_headers
        assert ws.receive_text() == "v1,v2"


def test_accept_errors(client: ErlenClient, app: Erlen) -> None:
    @app.websocket("/ws")
    async def handler() -> None:
        errors = []
        try:
            await websocket.accept(subprotocol="v9")
        except WebSocketError as e:
            errors.append(str(e))
        await websocket.accept()
        try:
            await websocket.accept()
        except WebSocketError as e:
            errors.append(str(e))
        await websocket.send_json(errors)

    with client.websocket("/ws", subprotocols=["v1"]) as ws:
        assert ws.receive_json() == [
            "Subprotocol 'v9' was not offered by the client (it offered ['v1']).",
            "The websocket was already accepted or closed.",
        ]


def test_receive_and_send_every_kind(client: ErlenClient, app: Erlen) -> None:
    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.send(await websocket.receive())  # text stays text
        await websocket.send(await websocket.receive())  # bytes stay bytes
        await websocket.send_text(await websocket.receive_text())  # bytes → text
        await websocket.send_bytes(await websocket.receive_bytes())  # text → bytes
        data = await websocket.receive_json()
        await websocket.send({"got": data})  # anything else is sent as JSON
        await websocket.send_json([1, "two"])

    with client.websocket("/ws") as ws:
        ws.send_text("héllo")
        assert ws.receive() == "héllo"
        ws.send_bytes(b"\x00\xff")
        assert ws.receive() == b"\x00\xff"
        ws.send_bytes("dé".encode())
        assert ws.receive() == "dé"
        ws.send_text("é")
        assert ws.receive() == "é".encode()
        ws.send_json({"n": 1})
        assert ws.receive_json() == {"got": {"n": 1}}
        assert ws.receive_text() == '[1, "two"]'


def test_async_for_ends_when_the_client_closes(client: ErlenClient, app: Erlen) -> None:
    log: list[str] = []

    @app.websocket("/echo")
    async def echo() -> None:
        async for message in websocket:
            await websocket.send(f"echo {message}")
        log.append(f"loop ended, close code {websocket.close_code}")

    @app.teardown_request
    def teardown(error: BaseException | None) -> None:
        log.append(f"teardown {error!r}")

    with client.websocket("/echo") as ws:
        for word in ("a", "b", "c"):
            ws.send_text(word)
            assert ws.receive_text() == f"echo {word}"
        ws.close(1000)
    assert log == ["loop ended, close code 1000", "teardown None"]


@pytest.mark.parametrize("first", ["send", "receive"])
def test_first_send_or_receive_accepts(
    client: ErlenClient, app: Erlen, first: str
) -> None:
    got: list[str] = []

    @app.websocket("/ws")
    async def handler() -> None:
        if first == "send":
            await websocket.send_text("hello")
        else:
            got.append(await websocket.receive_text())

    with client.websocket("/ws") as ws:  # entering waits for the accept
        if first == "send":
            assert ws.receive_text() == "hello"
        else:
            ws.send_text("hi")
            with pytest.raises(WebSocketDisconnect) as info:
                ws.receive()  # the handler returned: the app closes
            assert info.value.code == 1000
    assert got == ([] if first == "send" else ["hi"])


def test_close_with_code_and_reason(client: ErlenClient, app: Erlen) -> None:
    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.accept()
        await websocket.close(4000, "see you")

    with client.websocket("/ws") as ws:
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive()
    assert (info.value.code, info.value.reason) == (4000, "see you")


def test_hooks_and_g(client: ErlenClient, app: Erlen) -> None:
    log: list[str] = []

    @app.before_request
    async def before() -> None:
        g.user = websocket.args.get("user")
        log.append("before_request")

    @app.after_request
    def after(response: t.Any) -> t.Any:
        log.append("after_request")  # a websocket has no response
        return response

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.send_text(f"hello {g.user}")

    @app.teardown_request
    async def teardown(error: BaseException | None) -> None:
        log.append("teardown_request")

    with client.websocket("/ws?user=ann") as ws:
        assert ws.receive_text() == "hello ann"
    assert log == ["before_request", "teardown_request"]


# -- rejecting the handshake ---------------------------------------------------


def rejecting_app(app: Erlen) -> None:
    @app.before_request
    def gate() -> t.Any:
        if request.args.get("hook") == "abort":
            abort(429)
        if request.args.get("hook") == "return":
            return "slow down", 503
        return None

    @app.websocket("/ws")
    async def handler() -> t.Any:
        how = websocket.args.get("how")
        if how == "abort":
            abort(401)
        if how == "return":
            return "no entry", 418, {"X-Reason": "teapot"}
        if how == "nothing":
            return None
        await websocket.send_text("welcome")
        return None


@pytest.mark.parametrize(
    ("query", "status", "body"),
    [
        ("how=abort", 401, b"Unauthorized"),
        ("how=return", 418, b"no entry"),
        ("hook=abort", 429, b"Too Many Requests"),
        ("hook=return", 503, b"slow down"),
        # A handler that returns without using the socket refuses it.
        ("how=nothing", 403, b""),
    ],
)
def test_rejected_handshake(
    client: ErlenClient, app: Erlen, query: str, status: int, body: bytes
) -> None:
    rejecting_app(app)
    with pytest.raises(WebSocketRejected) as info:
        with client.websocket(f"/ws?{query}"):
            pass
    assert info.value.status_code == status
    assert body in info.value.body
    if query == "how=return":
        assert info.value.headers["X-Reason"] == "teapot"
    with client.websocket("/ws") as ws:  # the same route accepts otherwise
        assert ws.receive_text() == "welcome"


@pytest.mark.parametrize("query", [b"how=abort", b"how=return", b"hook=abort"])
def test_rejection_without_the_denial_extension_is_a_close(
    app: Erlen, query: bytes
) -> None:
    """A server without ASGI's ``websocket.http.response`` extension gets a
    close before the accept, which it answers with a 403."""
    rejecting_app(app)
    scope = ws_scope("/ws")
    scope["query_string"] = query
    sent = run_ws(app, scope, [{"type": "websocket.connect"}])
    assert [m["type"] for m in sent] == ["websocket.close"]


def test_rejection_with_the_denial_extension_sends_the_response(app: Erlen) -> None:
    rejecting_app(app)
    scope = ws_scope("/ws", extensions={"websocket.http.response": {}})
    scope["query_string"] = b"how=return"
    sent = run_ws(app, scope, [{"type": "websocket.connect"}])
    assert [m["type"] for m in sent] == [
        "websocket.http.response.start",
        "websocket.http.response.body",
    ]
    assert sent[0]["status"] == 418
    assert (b"x-reason", b"teapot") in sent[0]["headers"]
    assert sent[1]["body"] == b"no entry"


# -- disconnects, closed sockets, limits and errors ----------------------------


def test_client_going_away_raises_in_the_handler(
    client: ErlenClient, app: Erlen
) -> None:
    log: list[str] = []

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.send_text("ready")
        try:
            await websocket.receive()
        except WebSocketDisconnect as e:
            log.append(f"disconnected {e.code}")
            try:
                await websocket.send_text("anyone?")
            except WebSocketError as error:
                log.append(f"send refused: {error}")
            raise

    @app.teardown_request
    def teardown(error: BaseException | None) -> None:
        log.append(f"teardown {error!r}")

    with client.websocket("/ws") as ws:
        assert ws.receive_text() == "ready"
        ws.close(1001)
    assert log == [
        "disconnected 1001",
        "send refused: The websocket is closed (code 1001); it cannot be used any"
        " more.",
        "teardown None",
    ]


def test_sending_after_the_handler_closed_raises(
    client: ErlenClient, app: Erlen
) -> None:
    errors: list[str] = []

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.accept()
        await websocket.close()
        await websocket.close()  # closing twice is harmless
        for action in (websocket.send_text("x"), websocket.receive()):
            try:
                await action
            except WebSocketError as e:
                errors.append(type(e).__name__)

    with client.websocket("/ws") as ws:
        with pytest.raises(WebSocketDisconnect):
            ws.receive()
    assert errors == ["WebSocketError", "WebSocketError"]


@pytest.mark.parametrize("error", [OSError, ConnectionResetError])
def test_send_to_a_vanished_client_raises_disconnect(
    app: Erlen, error: type[BaseException], caplog: pytest.LogCaptureFixture
) -> None:
    """A server's ``send`` raises an OSError once the connection is gone
    (uvicorn: ``ClientDisconnected``): a handler that only sends gets a
    ``WebSocketDisconnect`` instead of an error or a loop sending forever."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    log: list[str] = []

    @app.websocket("/ticker")
    async def ticker() -> None:
        try:
            for n in range(1000):
                await websocket.send_text(f"tick {n}")
        except WebSocketDisconnect as e:
            log.append(f"gone {e.code}")
            raise

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        log.append(f"teardown {exc!r}")

    with caplog.at_level(logging.ERROR):
        sent = run_ws(
            app, ws_scope("/ticker"), [{"type": "websocket.connect"}], send_error=error
        )
    assert [m["type"] for m in sent] == ["websocket.accept"]
    assert log == ["gone 1006", "teardown None"]
    assert caplog.records == []


def test_handler_returning_after_the_client_vanished(
    app: Erlen, caplog: pytest.LogCaptureFixture
) -> None:
    """The closing frame sent when the handler returns cannot reach a
    client that is gone; that is not an error."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    log: list[str] = []

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.accept()

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        log.append(f"teardown {exc!r}")

    with caplog.at_level(logging.ERROR):
        sent = run_ws(
            app, ws_scope("/ws"), [{"type": "websocket.connect"}], send_error=OSError
        )
    assert [m["type"] for m in sent] == ["websocket.accept"]
    assert log == ["teardown None"]
    assert caplog.records == []


@pytest.mark.parametrize("kind", ["text", "bytes"])
def test_message_size_limit(client: ErlenClient, app: Erlen, kind: str) -> None:
    app.config["WEBSOCKET_MAX_MESSAGE_SIZE"] = 8
    log: list[str] = []

    @app.websocket("/ws")
    async def handler() -> None:
        try:
            while True:
                message = await websocket.receive()
                await websocket.send(f"{len(message)}")
        except WebSocketDisconnect as e:
            log.append(f"closed {e.code}")
            raise

    def send(ws: t.Any, data: str) -> None:
        if kind == "text":
            ws.send_text(data)
        else:
            ws.send_bytes(data.encode())

    with client.websocket("/ws") as ws:
        send(ws, "x" * 8)  # exactly at the limit
        assert ws.receive_text() == "8"
        send(ws, "é" * 4)  # 4 characters, 8 bytes
        assert ws.receive_text() == ("4" if kind == "text" else "8")
        send(ws, "é" * 4 + "x")  # 9 bytes: one over
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive()
    assert (info.value.code, info.value.reason) == (1009, "Message too big")
    assert log == ["closed 1009"]


def test_message_size_limit_disabled(client: ErlenClient, app: Erlen) -> None:
    app.config["WEBSOCKET_MAX_MESSAGE_SIZE"] = None

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.send(str(len(await websocket.receive_bytes())))

    with client.websocket("/ws") as ws:
        ws.send_bytes(b"x" * (4 * 1024 * 1024))
        assert ws.receive_text() == str(4 * 1024 * 1024)


def test_error_after_accept_closes_with_1011(client: ErlenClient, app: Erlen) -> None:
    log: list[str] = []

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.send_text("working")
        raise ValueError("handler broke")

    @app.teardown_request
    def teardown(error: BaseException | None) -> None:
        log.append(f"teardown {error!r}")

    # In testing the error reaches the test when the block ends.
    with pytest.raises(ValueError, match="handler broke"):
        with client.websocket("/ws") as ws:
            assert ws.receive_text() == "working"
            with pytest.raises(WebSocketDisconnect) as info:
                ws.receive()
            assert info.value.code == 1011
    assert log == ["teardown ValueError('handler broke')"]


def test_error_after_accept_is_logged_in_production(
    client: ErlenClient, app: Erlen, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.accept()
        raise ValueError("handler broke")

    with client.websocket("/ws") as ws:
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive()
    assert info.value.code == 1011
    assert "handler broke" in caplog.text


def test_error_before_accept_rejects_with_500(client: ErlenClient, app: Erlen) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.websocket("/ws")
    async def handler() -> None:
        raise ValueError("too early")

    with pytest.raises(WebSocketRejected) as info:
        with client.websocket("/ws"):
            pass
    assert info.value.status_code == 500


def test_websocket_proxy_outside_a_websocket(client: ErlenClient, app: Erlen) -> None:
    @app.get("/")
    def index() -> str:
        try:
            websocket.args  # noqa: B018
        except RuntimeError as e:
            return str(e)
        return "no error"

    assert "only available in a view registered with @app.websocket()" in (
        client.get("/").text
    )


# -- a real server -------------------------------------------------------------

SERVED_APP = """
import asyncio
from erlen import Erlen, abort, websocket
from erlen.websockets import WebSocketDisconnect

app = Erlen(__name__)

@app.websocket("/echo/<int:times>")
async def echo(times):
    async for message in websocket:
        await websocket.send(message * times)

@app.websocket("/private")
async def private():
    abort(401)

@app.websocket("/closed")
async def closed():
    await websocket.close()

@app.websocket("/ticker")
async def ticker():
    try:
        n = 0
        while True:
            await websocket.send_text(f"tick {n}")
            n += 1
            await asyncio.sleep(0.01)
    except WebSocketDisconnect as e:
        print(f"ticker stopped: {e.code}", flush=True)
        raise

@app.teardown_request
def teardown(error):
    print(f"teardown {error!r}", flush=True)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(proc.communicate()[1].decode())
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"uvicorn did not listen on {port}")


def test_uvicorn(tmp_path: t.Any) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    (tmp_path / "ws_app.py").write_text(textwrap.dedent(SERVED_APP))
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "ws_app:app",
            "--host=127.0.0.1",
            f"--port={port}",
            "--log-level=info",
            "--lifespan=on",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"ws://127.0.0.1:{port}"
    try:
        wait_for_port(port, proc)
        with connect(f"{base}/echo/2", open_timeout=5) as conn:
            conn.send("ab")
            assert conn.recv(timeout=5) == "abab"
            conn.send(b"\x01")
            assert conn.recv(timeout=5) == b"\x01\x01"
        # The handshake refused with the handler's status (the denial
        # response extension), or 403 for a close before the accept.
        with pytest.raises(InvalidStatus) as info:
            connect(f"{base}/private", open_timeout=5)
        assert info.value.response.status_code == 401
        with pytest.raises(InvalidStatus) as info:
            connect(f"{base}/closed", open_timeout=5)
        assert info.value.response.status_code == 403
        # A handler that only sends learns that its client left.
        with connect(f"{base}/ticker", open_timeout=5) as conn:
            assert conn.recv(timeout=5) == "tick 0"
        time.sleep(0.5)
    finally:
        proc.terminate()
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
    output = out.decode()
    assert "ticker stopped: 1006" in output, (output, err.decode())
    assert output.count("teardown None") == 4, output
    assert "Traceback" not in err.decode(), err.decode()
