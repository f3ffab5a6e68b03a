"""``before_serving`` and ``after_serving``: the ASGI lifespan driven by
hand, the first request under WSGI, the test client, and a real uvicorn
server that must refuse to start when startup fails."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import textwrap
import threading
import time
import typing as t
from contextlib import closing

import pytest

from erlen import Erlen, current_app, g

Message = dict[str, t.Any]


class Lifespan:
    """The server's side of an ASGI lifespan, one message at a time."""

    def __init__(self, app: Erlen) -> None:
        self.app = app
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.outbox: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Future[None] | None = None

    def start(self) -> None:
        self.task = asyncio.ensure_future(
            self.app.asgi(
                {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}},
                self.inbox.get,
                self.outbox.put,
            )
        )

    async def send(self, kind: str) -> Message:
        """Send ``lifespan.<kind>`` and return the app's answer."""
        await self.inbox.put({"type": f"lifespan.{kind}"})
        return await asyncio.wait_for(self.outbox.get(), timeout=5)

    async def finished(self) -> None:
        assert self.task is not None
        await asyncio.wait_for(self.task, timeout=5)


def hooks_app(kind: str) -> tuple[Erlen, list[str]]:
    """An app with two ``before_serving`` and two ``after_serving``
    functions of ``kind`` (``def`` or ``async def``)."""
    app = Erlen("lifespan")
    log: list[str] = []

    def make(name: str) -> t.Callable[[], t.Any]:
        def sync_hook() -> None:
            log.append(f"{name} {current_app.name}")

        async def async_hook() -> None:
            await asyncio.sleep(0)
            log.append(f"{name} {current_app.name}")

        return sync_hook if kind == "def" else async_hook

    app.before_serving(make("start 1"))
    app.before_serving(make("start 2"))
    app.after_serving(make("stop 1"))
    app.after_serving(make("stop 2"))

    @app.get("/")
    def index() -> str:
        return ",".join(log)

    return app, log


# -- ASGI lifespan -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["def", "async def"])
def test_asgi_lifespan_runs_the_hooks_once(kind: str) -> None:
    app, log = hooks_app(kind)

    async def main() -> None:
        lifespan = Lifespan(app)
        lifespan.start()
        assert await lifespan.send("startup") == {"type": "lifespan.startup.complete"}
        # In registration order, in an app context, before the answer.
        assert log == ["start 1 lifespan", "start 2 lifespan"]
        assert await lifespan.send("shutdown") == {"type": "lifespan.shutdown.complete"}
        await lifespan.finished()
        assert log[2:] == ["stop 1 lifespan", "stop 2 lifespan"]

    asyncio.run(main())


def test_requests_after_an_asgi_startup_do_not_run_it_again() -> None:
    app, log = hooks_app("def")

    async def main() -> None:
        lifespan = Lifespan(app)
        lifespan.start()
        await lifespan.send("startup")
        # A second startup (a server bug, or a second lifespan) is a no-op.
        second = Lifespan(app)
        second.start()
        assert (await second.send("startup"))["type"] == "lifespan.startup.complete"
        await lifespan.send("shutdown")
        await lifespan.finished()

    asyncio.run(main())
    assert log == [
        "start 1 lifespan",
        "start 2 lifespan",
        "stop 1 lifespan",
        "stop 2 lifespan",
    ]


def test_before_serving_can_prepare_state_for_requests() -> None:
    app = Erlen("state")

    @app.before_serving
    async def connect() -> None:
        await asyncio.sleep(0)
        current_app.extensions["pool"] = ["connection"]
        g.temporary = "gone after startup"

    @app.get("/")
    def index() -> t.Any:
        return {"pool": current_app.extensions["pool"], "g": g.get("temporary")}

    async def main() -> None:
        lifespan = Lifespan(app)
        lifespan.start()
        await lifespan.send("startup")

    asyncio.run(main())
    with closing(app.test_client(driver="asgi")) as client:  # type: ignore[call-arg]
        # Startup ran in an app context of its own: its g is not a request's.
        assert client.get("/").json == {"pool": ["connection"], "g": None}


@pytest.mark.parametrize("kind", ["def", "async def"])
def test_failing_startup_reports_the_error(kind: str) -> None:
    app = Erlen("broken")
    log: list[str] = []

    if kind == "def":

        @app.before_serving
        def connect() -> None:
            raise ConnectionRefusedError("database is down")

    else:

        @app.before_serving
        async def connect() -> None:  # type: ignore[misc]
            raise ConnectionRefusedError("database is down")

    @app.before_serving
    def never() -> None:
        log.append("second startup function")

    @app.after_serving
    def stop() -> None:
        log.append("after_serving")

    async def main() -> Message:
        lifespan = Lifespan(app)
        lifespan.start()
        answer = await lifespan.send("startup")
        await lifespan.finished()  # the app's lifespan ends with the failure
        return answer

    answer = asyncio.run(main())
    assert answer["type"] == "lifespan.startup.failed"
    assert "ConnectionRefusedError: database is down" in answer["message"]
    assert log == []


def test_failing_startup_can_be_retried() -> None:
    app = Erlen("flaky")
    attempts: list[int] = []

    @app.before_serving
    def connect() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionRefusedError("not yet")

    async def main() -> list[str]:
        answers = []
        for _ in range(2):
            lifespan = Lifespan(app)
            lifespan.start()
            answers.append((await lifespan.send("startup"))["type"])
        return answers

    answers = asyncio.run(main())
    assert answers == ["lifespan.startup.failed", "lifespan.startup.complete"]
    assert len(attempts) == 2


def test_failing_shutdown_reports_the_error() -> None:
    app = Erlen("broken")

    @app.after_serving
    async def close() -> None:
        raise OSError("could not flush")

    async def main() -> Message:
        lifespan = Lifespan(app)
        lifespan.start()
        await lifespan.send("startup")
        answer = await lifespan.send("shutdown")
        await lifespan.finished()
        return answer

    answer = asyncio.run(main())
    assert answer["type"] == "lifespan.shutdown.failed"
    assert "OSError: could not flush" in answer["message"]


# -- WSGI: before the first request --------------------------------------------


@pytest.mark.parametrize("kind", ["def", "async def"])
def test_wsgi_runs_before_serving_before_the_first_request(kind: str) -> None:
    app, log = hooks_app(kind)
    client = app.test_client()
    assert log == []  # nothing at import or when the client is made
    assert client.get("/").text == "start 1 lifespan,start 2 lifespan"
    client.get("/")
    client.get("/")
    # Once; and WSGI servers send no shutdown, so after_serving never runs.
    assert log == ["start 1 lifespan", "start 2 lifespan"]


def test_wsgi_concurrent_first_requests_wait_for_before_serving() -> None:
    app = Erlen("threads")
    calls: list[str] = []
    ready = threading.Event()

    @app.before_serving
    def slow_start() -> None:
        calls.append("start")
        time.sleep(0.2)
        ready.set()

    @app.get("/")
    def index() -> str:
        return "ready" if ready.is_set() else "served before startup finished"

    results: list[str] = []
    barrier = threading.Barrier(8)

    def first_request() -> None:
        client = app.test_client()
        barrier.wait(timeout=5)
        results.append(client.get("/").text)

    threads = [threading.Thread(target=first_request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == ["start"]
    assert results == ["ready"] * 8


def test_wsgi_concurrent_first_requests_run_before_serving_once() -> None:
    app = Erlen("threads")
    calls: list[str] = []

    @app.before_serving
    def slow_start() -> None:
        calls.append("start")
        time.sleep(0.1)

    @app.get("/")
    def index() -> str:
        return "ok"

    barrier = threading.Barrier(8)

    def first_request() -> None:
        client = app.test_client()
        barrier.wait(timeout=5)
        client.get("/")

    threads = [threading.Thread(target=first_request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == ["start"]


# -- the test client -----------------------------------------------------------


@pytest.mark.parametrize("driver", ["wsgi", "asgi"])
def test_with_client_does_not_run_after_serving(driver: str) -> None:
    """``with client:`` keeps the last request's context (Flask's meaning);
    it is not a server's lifespan."""
    app, log = hooks_app("def")
    with app.test_client(driver=driver):  # type: ignore[call-arg]
        pass
    assert log == []


@pytest.mark.parametrize(
    "driver",
    [
        "wsgi",
        "asgi",
    ],
)
def test_client_requests_see_before_serving_under_both_drivers(
    driver: str,
) -> None:
    app, log = hooks_app("async def")
    with closing(app.test_client(driver=driver)) as client:  # type: ignore[call-arg]
        assert client.get("/").text == "start 1 lifespan,start 2 lifespan"


@pytest.mark.parametrize("driver", ["wsgi", "asgi"])
def test_client_lifespan(driver: str) -> None:
    app, log = hooks_app("async def")
    with closing(app.test_client(driver=driver)) as client:  # type: ignore[call-arg]
        with t.cast(t.Any, client).lifespan() as same:
            assert same is client
            assert log == ["start 1 lifespan", "start 2 lifespan"]
            assert client.get("/").status_code == 200
        assert log[2:] == ["stop 1 lifespan", "stop 2 lifespan"]


def test_def_views_and_async_views_after_a_restart() -> None:
    # Shutdown closes the thread pool; the next startup's requests get a new
    # one (the app keeps its runner only as long as its pool).
    app = Erlen(__name__)

    @app.get("/sync")
    def sync() -> str:
        return threading.current_thread().name

    @app.get("/async")
    async def async_() -> str:
        return "ok"

    with closing(app.test_client(driver="asgi")) as client:  # type: ignore[call-arg]
        pools = []
        for _ in range(2):
            with t.cast(t.Any, client).lifespan():
                assert client.get("/async").text == "ok"
                pools.append(app._executor)
                assert client.get("/sync").text.startswith("erlen-")
        assert pools[0] is not None and pools[1] is not None
        assert pools[0] is not pools[1]


# -- a real server -------------------------------------------------------------

FAILING_APP = """
from erlen import Erlen

app = Erlen(__name__)

@app.before_serving
async def connect():
    raise ConnectionRefusedError("the database at db:5432 refused the connection")

@app.get("/")
def index():
    return "never served"
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_uvicorn_refuses_to_start_when_before_serving_fails(tmp_path: t.Any) -> None:
    (tmp_path / "failing_app.py").write_text(textwrap.dedent(FAILING_APP))
    port = free_port()
    try:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "failing_app:app",
                "--host=127.0.0.1",
                f"--port={port}",
                "--lifespan=on",
            ],
            cwd=tmp_path,
            capture_output=True,
            timeout=20,
        )
    except subprocess.TimeoutExpired as e:  # pragma: no cover - the failure
        raise AssertionError(f"uvicorn started anyway:\n{e.stderr!r}") from None
    output = proc.stdout.decode() + proc.stderr.decode()
    assert proc.returncode != 0, output
    assert "Application startup failed" in output, output
    assert "the database at db:5432 refused the connection" in output, output
    with pytest.raises(OSError):  # it never listened
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
