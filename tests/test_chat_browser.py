"""The chat example (examples/chat) end to end.

- In process: two test-client websockets see each other's messages, and the
  ``/events`` stream, driven through ``app.asgi`` by hand, sends them as
  Server-Sent Events and lets go of its subscriber when the client leaves.
- Over the wire: the real ``erlen run`` command serves the app; the event
  stream is read with ``http.client``, and two headless Chromium pages
  (Playwright, with Debian's ``/usr/bin/chromium``) chat with each other.

Without Playwright or Chromium the browser test is skipped on a developer's
machine and fails under CI (``CI`` set), where .ci/run installs Chromium and
the ``dev`` extra installs Playwright.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import typing as t
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAT = ROOT / "examples" / "chat" / "chat.py"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# As root on a machine without internet, Chromium's own background traffic
# (component updates, sync, QUIC probes) gets in the way; turn it all off.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# -- in process ---------------------------------------------------------------


@pytest.fixture
def chat() -> t.Iterator[t.Any]:
    """A fresh copy of the example module (so its room starts empty)."""
    name = "erlen_chat_example"
    spec = importlib.util.spec_from_file_location(name, CHAT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        module.app.testing = True
        yield module
    finally:
        sys.modules.pop(name, None)


def wait_for(predicate: t.Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_index_page(chat: t.Any) -> None:
    response = chat.app.test_client().get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="messages"' in page and 'id="form"' in page
    # User text goes in with textContent only.
    assert "innerHTML" not in page


def test_websocket_broadcast(chat: t.Any) -> None:
    client = chat.app.test_client()
    with client.websocket("/ws") as alice, client.websocket("/ws") as bob:
        assert chat.room.stats()["connected"] == 2
        alice.send_json({"name": "alice", "text": "  hello <b>bob</b>  "})
        expected = {"name": "alice", "text": "hello <b>bob</b>"}
        assert bob.receive_json() == expected
        assert alice.receive_json() == expected  # the sender's own copy

        bob.send_json({"name": "bob", "text": "hi"})
        assert alice.receive_json() == {"name": "bob", "text": "hi"}
        assert bob.receive_json() == {"name": "bob", "text": "hi"}

        # A malformed message is answered to its sender only.
        bob.send_text("not json")
        assert "error" in bob.receive_json()
        bob.send_json({"name": "bob", "text": "   "})
        assert "error" in bob.receive_json()
        alice.send_json({"name": "", "text": "after"})
        assert bob.receive_json() == {"name": "anonymous", "text": "after"}
        assert alice.receive_json() == {"name": "anonymous", "text": "after"}

        bob.close()
        assert wait_for(lambda: chat.room.stats()["connected"] == 1)
        assert chat.room.stats()["disconnects"] == 1
    assert chat.room.stats() == {
        "connected": 0,
        "disconnects": 2,
        "streams": 0,
        "messages": 3,
    }
    assert client.get("/stats").get_json()["disconnects"] == 2


def test_post_message_validates(chat: t.Any) -> None:
    client = chat.app.test_client()
    response = client.post("/messages", json={"name": "x"})
    assert response.status_code == 400
    assert "error" in response.get_json()
    response = client.post("/messages", json={"name": "carol", "text": "hey"})
    assert response.status_code == 201
    assert chat.room.stats()["messages"] == 1


def _http_scope(path: str, method: str = "GET") -> dict[str, t.Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


def test_events_stream_through_asgi(chat: t.Any) -> None:
    """``/events`` over the ASGI driver: headers, ``data:`` lines, and the
    generator closed (subscriber gone) once the client disconnects."""
    client = chat.app.test_client()

    async def scenario() -> list[bytes]:
        sent: asyncio.Queue[dict[str, t.Any]] = asyncio.Queue()
        gone = asyncio.Event()
        requested = False

        async def receive() -> dict[str, t.Any]:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, t.Any]) -> None:
            await sent.put(message)

        async def next_message() -> dict[str, t.Any]:
            return await asyncio.wait_for(sent.get(), 5)

        app_task = asyncio.ensure_future(
            chat.app.asgi(_http_scope("/events"), receive, send)
        )
        try:
            start = await next_message()
            assert start["type"] == "http.response.start"
            assert start["status"] == 200
            headers = {k.decode(): v.decode() for k, v in start["headers"]}
            assert headers["content-type"].startswith("text/event-stream")
            assert headers["cache-control"] == "no-cache"

            chunks = [(await next_message())["body"]]
            assert chunks[0] == b": connected\n\n"
            assert chat.room.stats()["streams"] == 1

            # Published from other threads: a sync view, and a websocket on
            # the test client's own event loop.
            response = await asyncio.to_thread(
                client.post, "/messages", json={"name": "carol", "text": "one"}
            )
            assert response.status_code == 201

            def over_websocket() -> None:
                with client.websocket("/ws") as ws:
                    ws.send_json({"name": "dave", "text": "two\nlines"})
                    ws.receive_json()

            await asyncio.to_thread(over_websocket)
            for _ in range(2):
                message = await next_message()
                assert message["more_body"] is True
                chunks.append(message["body"])

            gone.set()
            await asyncio.wait_for(app_task, 5)
            return chunks
        finally:
            gone.set()
            if not app_task.done():
                app_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await app_task

    chunks = asyncio.run(scenario())
    events = []
    for chunk in chunks[1:]:
        text = chunk.decode()
        assert text.startswith("data: ") and text.endswith("\n\n")
        assert text.count("\n") == 2  # one line: newlines are JSON-escaped
        events.append(json.loads(text[len("data: ") :]))
    assert events == [
        {"name": "carol", "text": "one"},
        {"name": "dave", "text": "two\nlines"},
    ]
    # The driver closed the generator: its `finally` unsubscribed.
    assert chat.room.stats()["streams"] == 0


# -- over the wire: the real `erlen run` --------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, port: int, log: Path) -> None:
        self.port = port
        self.log = log
        self.url = f"http://127.0.0.1:{port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def get_json(self, path: str) -> t.Any:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            assert response.status == 200, response.status
            return json.loads(response.read())
        finally:
            conn.close()

    def stats(self) -> dict[str, int]:
        return t.cast(dict[str, int], self.get_json("/stats"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Server]:
    """``erlen --app examples/chat/chat.py run`` in its own process group."""
    port = _free_port()
    log = tmp_path_factory.mktemp("chat") / "server.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("ERLEN_APP", None)
    command = [sys.executable, "-m", "erlen", "--app", str(CHAT)]
    command += ["run", "--port", str(port), "--no-reload"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    srv = Server(port, log)
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"`erlen run` exited with {proc.returncode}:\n{srv.output()}",
                    pytrace=False,
                )
            try:
                srv.stats()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"`erlen run` did not answer on port {port} within 20 s:\n"
                        f"{srv.output()}",
                        pytrace=False,
                    )
                time.sleep(0.1)
        yield srv
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def test_events_stream_over_uvicorn(server: Server) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("GET", "/events", headers={"Accept": "text/event-stream"})
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type", "").startswith("text/event-stream")
        assert response.getheader("Cache-Control") == "no-cache"
        assert response.readline() == b": connected\n"
        assert response.readline() == b"\n"

        body = json.dumps({"name": "erin", "text": "over the wire"})
        poster = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        try:
            poster.request(
                "POST",
                "/messages",
                body=body,
                headers={"Content-Type": "application/json"},
            )
            assert poster.getresponse().status == 201
        finally:
            poster.close()

        line = response.readline()
        assert line.startswith(b"data: "), line
        assert json.loads(line[len(b"data: ") :]) == {
            "name": "erin",
            "text": "over the wire",
        }
        assert response.readline() == b"\n"
    finally:
        conn.close()
    # The server closes the generator when the client goes: unsubscribed.
    assert wait_for(lambda: server.stats()["streams"] == 0), server.stats()


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="module")
def browser_available() -> None:
    """Skip when Playwright or Chromium is missing, except under CI, which
    must run this test: there it fails.  (Module-scoped so that it runs
    before the server starts.)"""
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (it is in the 'dev' extra)")
    if not os.path.exists(CHROMIUM):
        missing.append(
            f"Chromium at {CHROMIUM} (Debian: apt-get install chromium; or set"
            " CHROMIUM to a Chromium binary)"
        )
    if not missing:
        return
    message = "The chat browser test needs " + " and ".join(missing) + "."
    if _in_ci():
        pytest.fail(
            message + " CI must run it: .ci/run installs Chromium and"
            " `make test` the dev extra.",
            pytrace=False,
        )
    pytest.skip(message)


def test_two_browsers_chat(browser_available: None, server: Server) -> None:
    from playwright.sync_api import expect, sync_playwright

    before = server.stats()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=20_000
        )
        try:
            context = browser.new_context()
            context.set_default_timeout(5_000)
            errors: list[str] = []
            alice, bob = context.new_page(), context.new_page()
            for page in (alice, bob):
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(server.url + "/")
                expect(page.locator("#status")).to_have_attribute("data-state", "open")
            assert server.stats()["connected"] == before["connected"] + 2

            # Alice sends with the button; markup must arrive as text.
            text = '<img src=x onerror="window.pwned=1"> hi bob & co'
            alice.fill("#name", "alice")
            alice.fill("#text", text)
            alice.click("#send")
            for page in (bob, alice):
                item = page.locator("#messages li").last
                expect(item.locator(".name")).to_have_text("alice")
                expect(item.locator(".text")).to_have_text(text)
                assert page.locator("#messages img").count() == 0
                assert page.evaluate("window.pwned") is None
            expect(alice.locator("#text")).to_have_value("")

            # Bob answers with the Enter key.
            bob.fill("#name", "bob")
            bob.fill("#text", "hello alice")
            bob.press("#text", "Enter")
            for page in (alice, bob):
                expect(page.locator("#messages li")).to_have_count(2)
                expect(page.locator("#messages li .text").last).to_have_text(
                    "hello alice"
                )
            assert errors == []

            # Bob leaves: the server notices.
            bob.close()

            def noticed() -> bool:
                now = server.stats()
                return (
                    now["disconnects"] == before["disconnects"] + 1
                    and now["connected"] == before["connected"] + 1
                )

            assert wait_for(noticed, 5), (server.stats(), server.output())
        finally:
            browser.close()
