"""Clients that go away and code that fails late: a disconnect in the middle
of an upload (ASGI) or of a streamed response (both drivers), teardown
functions that raise, and a websocket closed without a close frame."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import typing as t
from types import SimpleNamespace

import pytest

from erlen import Erlen, g, request, websocket
from erlen.testing import ErlenClient
from erlen.websockets import WebSocketDisconnect

from .helpers import call_asgi, check, environ_for, scope_for

BOUNDARY = "erlen-async-boundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def upload_body(size: int) -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f";'
            f' filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        + b"x" * size
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


@pytest.fixture
def record(app: Erlen) -> dict[str, t.Any]:
    """What the request's view and teardown saw."""
    seen: dict[str, t.Any] = {}

    @app.teardown_request
    def teardown(error: BaseException | None) -> None:
        seen["teardown"] = True
        seen["teardown_error"] = error

    return seen


# -- disconnect mid-upload (ASGI) ----------------------------------------------


def _upload_cut_by_disconnect(
    app: Erlen, record: dict[str, t.Any], declared: bool
) -> t.Any:
    """POST half of a 2 MB upload, then ``http.disconnect``."""

    @app.post("/upload")
    def upload() -> str:
        record["view"] = True
        record["files"] = {k: f.filename for k, f in request.files.items()}
        return "stored"

    body = upload_body(2_000_000)
    headers = [("Content-Type", MULTIPART)]
    if declared:
        headers.append(("Content-Length", str(len(body))))
    scope = scope_for(app, "/upload", method="POST", headers=headers)
    if not declared:
        scope["headers"] = [h for h in scope["headers"] if h[0] != b"content-length"]
    chunk = 64 * 1024
    sent_part = body[:1_000_000]
    messages: list[dict[str, t.Any]] = [
        {"type": "http.request", "body": sent_part[i : i + chunk], "more_body": True}
        for i in range(0, len(sent_part), chunk)
    ]
    messages.append({"type": "http.disconnect"})
    result, _ = call_asgi(app, scope, messages)
    return result


@pytest.mark.parametrize(
    "declared",
    [True, False],
    ids=["content-length", "chunked"],
)
def test_disconnect_mid_upload_is_not_taken_for_a_whole_one(
    app: Erlen, record: dict[str, t.Any], declared: bool
) -> None:
    result = _upload_cut_by_disconnect(app, record, declared)
    assert "files" not in record, record
    assert record["teardown"] is True
    # Nobody reads it, but what is sent is a clean 400, never a 500.
    assert result is not None
    check(result, 400)


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_disconnect_mid_upload_leaves_no_files(
    app: Erlen, record: dict[str, t.Any], uploads: SimpleNamespace, declared: bool
) -> None:
    """A body cut by a disconnect is never parsed, so no upload file is made;
    any that were are closed and deleted."""
    _upload_cut_by_disconnect(app, record, declared)
    assert all(f.closed for f in uploads.created)
    assert os.listdir(uploads.folder) == []


def test_disconnect_mid_urlencoded_body_is_not_taken_for_a_whole_one(
    app: Erlen, record: dict[str, t.Any]
) -> None:
    @app.post("/transfer")
    def transfer() -> str:
        record["amount"] = request.form["amount"]
        return "done"

    scope = scope_for(
        app,
        "/transfer",
        method="POST",
        headers=[("Content-Type", "application/x-www-form-urlencoded")],
    )
    scope["headers"] = [h for h in scope["headers"] if h[0] != b"content-length"]
    # The client meant "amount=1000" and went away after four bytes of it.
    result, _ = call_asgi(
        app,
        scope,
        [
            {"type": "http.request", "body": b"amount=1", "more_body": True},
            {"type": "http.disconnect"},
        ],
    )
    assert "amount" not in record, record
    assert result is not None
    check(result, 400)


def test_disconnect_before_the_body_skips_a_body_view(
    app: Erlen, record: dict[str, t.Any]
) -> None:
    @app.post("/json")
    def json_view() -> str:
        record["json"] = request.get_json()
        return "stored"

    scope = scope_for(
        app,
        "/json",
        method="POST",
        headers=[("Content-Type", "application/json"), ("Content-Length", "100")],
    )
    result, _ = call_asgi(app, scope, [{"type": "http.disconnect"}])
    assert "json" not in record
    assert record["teardown"] is True
    assert result is None or result.status == 400


# -- disconnect mid-stream -----------------------------------------------------


@pytest.fixture
def streaming(app: Erlen, record: dict[str, t.Any]) -> dict[str, t.Any]:
    record["chunks"] = 0

    @app.route("/sync-stream")
    def sync_stream() -> t.Any:
        def generate() -> t.Iterator[bytes]:
            try:
                while True:
                    record["chunks"] += 1
                    yield b"chunk\n"
                    if record["chunks"] == 3:
                        # The client leaves while the next chunk is being
                        # produced (in a worker thread under ASGI).
                        record["slow"] = True
                        time.sleep(0.3)
            finally:
                record["finally"] = threading.current_thread().name

        return generate()

    @app.route("/async-stream")
    async def async_stream() -> t.Any:
        async def generate() -> t.AsyncIterator[bytes]:
            try:
                while True:
                    record["chunks"] += 1
                    yield b"chunk\n"
                    if record["chunks"] == 3:
                        record["slow"] = True
                        await asyncio.sleep(0.3)
            finally:
                record["finally"] = "async"

        return generate()

    return record


@pytest.mark.parametrize("path", ["/sync-stream", "/async-stream"])
def test_asgi_disconnect_mid_stream_closes_the_generator(
    app: Erlen, streaming: dict[str, t.Any], path: str
) -> None:
    sent: list[dict[str, t.Any]] = []

    async def run() -> None:
        first = True

        async def receive() -> dict[str, t.Any]:
            nonlocal first
            if first:
                first = False
                return {"type": "http.request", "body": b""}
            # Go away exactly while the generator produces its fourth chunk.
            while not streaming.get("slow"):
                await asyncio.sleep(0.001)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, t.Any]) -> None:
            sent.append(message)

        await asyncio.wait_for(app.asgi(scope_for(app, path), receive, send), 5)

    try:
        asyncio.run(run())
    except Exception as e:  # what the server would get and log
        raise AssertionError(f"app.asgi raised {e!r}") from e
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 200
    assert "finally" in streaming, "the generator's finally did not run"
    assert streaming["teardown"] is True
    # It stopped when the client left, not after running on.
    assert streaming["chunks"] <= 4


@pytest.mark.parametrize("path", ["/sync-stream", "/async-stream"])
def test_wsgi_close_mid_stream_closes_the_generator(
    app: Erlen, streaming: dict[str, t.Any], path: str
) -> None:
    environ = environ_for(app, path)
    app_iter = app(environ, lambda status, headers, *_: None)
    assert next(iter(app_iter)) == b"chunk\n"
    assert next(iter(app_iter)) == b"chunk\n"
    # The server closes the body when the client goes away.
    app_iter.close()  # type: ignore[attr-defined]
    assert "finally" in streaming, "the generator's finally did not run"
    assert streaming["teardown"] is True


# -- teardown functions that raise ---------------------------------------------


@pytest.mark.logs_errors
def test_a_raising_teardown_does_not_stop_the_others(
    app: Erlen, client: ErlenClient, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []

    @app.teardown_request
    def first(error: BaseException | None) -> None:
        ran.append("first")

    @app.teardown_request
    def broken(error: BaseException | None) -> None:
        ran.append("broken")
        raise RuntimeError("teardown failed at /work/secret/path")

    @app.teardown_request
    def last(error: BaseException | None) -> None:
        ran.append("last")

    @app.teardown_appcontext
    def app_broken(error: BaseException | None) -> None:
        ran.append("app_broken")
        raise RuntimeError("appcontext teardown failed")

    @app.teardown_appcontext
    def app_last(error: BaseException | None) -> None:
        ran.append("app_last")

    @app.route("/")
    def index() -> str:
        g.user = "alice"
        return "ok"

    @app.route("/g")
    def show_g() -> dict[str, t.Any]:
        return {"user": g.get("user")}

    response = client.get("/")
    check(response, 200)
    assert response.data == b"ok"
    # Reverse registration order, every one of them.
    assert ran == ["last", "broken", "first", "app_last", "app_broken"]
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(messages) == 2, messages
    # The next request starts clean: nothing of the failed one is left.
    ran.clear()
    response = client.get("/g")
    check(response, 200)
    assert response.json == {"user": None}


@pytest.mark.logs_errors
def test_a_raising_teardown_after_an_error_keeps_the_error_page(
    app: Erlen, client: ErlenClient
) -> None:
    ran: list[t.Any] = []

    @app.teardown_request
    def broken(error: BaseException | None) -> None:
        ran.append(type(error).__name__)
        raise RuntimeError("teardown failed")

    @app.route("/")
    def index() -> str:
        raise ValueError("view failed at /work/secret/path")

    response = client.get("/")
    check(response, 500)
    assert b"view failed" not in response.data
    assert ran == ["ValueError"]


# -- websocket closed without a close frame ------------------------------------


def test_websocket_abnormal_close_reaches_the_handler(
    app: Erlen, record: dict[str, t.Any]
) -> None:
    @app.websocket("/ws")
    async def ws() -> None:
        try:
            await websocket.receive()
        except WebSocketDisconnect as e:
            record["code"] = e.code
            raise

    sent: list[dict[str, t.Any]] = []
    incoming = [
        {"type": "websocket.connect"},
        {"type": "websocket.disconnect", "code": 1006},
    ]

    async def run() -> None:
        async def receive() -> dict[str, t.Any]:
            if incoming:
                return incoming.pop(0)
            await asyncio.sleep(3600)  # never: the handler must not read again
            raise AssertionError

        async def send(message: dict[str, t.Any]) -> None:
            sent.append(message)

        scope = scope_for(app, "/ws")
        scope.update(type="websocket", scheme="ws", subprotocols=[])
        scope.pop("method")
        await asyncio.wait_for(app.asgi(scope, receive, send), 5)

    asyncio.run(run())
    assert record["code"] == 1006
    assert record["teardown"] is True
    # Accepted, then nothing: no close frame to a connection that is gone.
    assert [m["type"] for m in sent] == ["websocket.accept"]


def test_websocket_abnormal_close_while_iterating(
    app: Erlen, record: dict[str, t.Any]
) -> None:
    @app.websocket("/ws")
    async def ws() -> None:
        record["messages"] = [m async for m in websocket]
        record["close_code"] = websocket.close_code

    incoming = [
        {"type": "websocket.connect"},
        {"type": "websocket.receive", "text": "hi"},
        {"type": "websocket.disconnect", "code": 1006},
    ]
    sent: list[dict[str, t.Any]] = []

    async def run() -> None:
        async def receive() -> dict[str, t.Any]:
            return incoming.pop(0)

        async def send(message: dict[str, t.Any]) -> None:
            sent.append(message)

        scope = scope_for(app, "/ws")
        scope.update(type="websocket", scheme="ws", subprotocols=[])
        scope.pop("method")
        await asyncio.wait_for(app.asgi(scope, receive, send), 5)

    asyncio.run(run())
    assert record["messages"] == ["hi"]
    assert record["close_code"] == 1006
    assert record["teardown"] is True
    assert [m["type"] for m in sent] == ["websocket.accept"]
