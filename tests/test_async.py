"""``async def`` views, hooks and error handlers under both drivers; the
context proxies in concurrent requests, tasks and threads; and concurrency
that is real (sync code in the bounded pool under ASGI, async code on one
loop per thread under WSGI)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import typing as t

import pytest

from erlen import (
    Erlen,
    abort,
    copy_current_app_context,
    copy_current_request_context,
    current_app,
    g,
    request,
    session,
)
from erlen.testing import ErlenClient

Message = dict[str, t.Any]
Header = tuple[bytes, bytes]


def http_scope(
    path: str, query: bytes = b"", headers: t.Sequence[tuple[bytes, bytes]] = ()
) -> Message:
    """An ASGI HTTP scope as uvicorn sends it."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": [(b"host", b"test"), *headers],
        "server": ("test", 80),
        "client": ("127.0.0.1", 50000),
    }


async def asgi_get(app: Erlen, scope: Message) -> tuple[int, list[Header], bytes]:
    """One request through ``app.asgi``: status, headers and body."""
    sent: list[Message] = []
    done = asyncio.Event()
    requested = False

    async def receive() -> Message:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    await app.asgi(scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return sent[0]["status"], sent[0]["headers"], body


# -- async views, hooks and handlers -------------------------------------------


@pytest.mark.parametrize("hooks", ["def", "async def"])
@pytest.mark.parametrize("view", ["def", "async def"])
def test_views_and_hooks_of_either_kind(
    client: ErlenClient, app: Erlen, view: str, hooks: str
) -> None:
    log: list[str] = []

    def before() -> None:
        g.who = request.args["who"]
        log.append("before_request")

    def after(response: t.Any) -> t.Any:
        response.headers["X-Who"] = g.who
        log.append("after_request")
        return response

    def teardown(error: BaseException | None) -> None:
        log.append(f"teardown {error!r}")

    def teardown_app(error: BaseException | None) -> None:
        log.append(f"teardown_appcontext {error!r}")

    def sync_view() -> str:
        log.append("view")
        return f"hello {g.who}"

    async def async_view() -> str:
        await asyncio.sleep(0)
        log.append("view")
        return f"hello {g.who}"

    if hooks == "async def":
        before, after, teardown, teardown_app = (
            _as_async(f) for f in (before, after, teardown, teardown_app)
        )
    app.before_request(before)
    app.after_request(after)
    app.teardown_request(teardown)
    app.teardown_appcontext(teardown_app)
    app.add_url_rule("/", view_func=sync_view if view == "def" else async_view)

    response = client.get("/?who=ann")
    assert response.status_code == 200
    assert response.text == "hello ann"
    assert response.headers["X-Who"] == "ann"
    assert log == [
        "before_request",
        "view",
        "after_request",
        "teardown None",
        "teardown_appcontext None",
    ]


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _as_async(func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    """``func`` as an ``async def`` function that yields to the loop first."""

    async def wrapper(*args: t.Any) -> t.Any:
        await asyncio.sleep(0)
        return func(*args)

    wrapper.__name__ = func.__name__
    return wrapper


def test_async_before_request_can_answer(client: ErlenClient, app: Erlen) -> None:
    @app.before_request
    async def gate() -> t.Any:
        await asyncio.sleep(0)
        if request.args.get("token") != "ok":
            return {"error": "no token"}, 401
        return None

    @app.get("/")
    async def index() -> str:
        return "inside"

    assert client.get("/").status_code == 401
    assert client.get("/").json == {"error": "no token"}
    assert client.get("/?token=ok").text == "inside"


class Conflict(Exception):
    pass


def test_async_error_handlers(client: ErlenClient, app: Erlen) -> None:
    @app.errorhandler(Conflict)
    async def conflict(error: Conflict) -> t.Any:
        await asyncio.sleep(0)
        return {"conflict": str(error)}, 409

    @app.errorhandler(404)
    async def not_found(error: t.Any) -> t.Any:
        await asyncio.sleep(0)
        return f"no such page: {request.path}", 404

    @app.get("/conflict")
    async def raises() -> str:
        await asyncio.sleep(0)
        raise Conflict("taken")

    @app.get("/gone")
    async def gone() -> str:
        abort(404)

    assert client.get("/conflict").status_code == 409
    assert client.get("/conflict").json == {"conflict": "taken"}
    assert client.get("/gone").text == "no such page: /gone"
    assert client.get("/unrouted").text == "no such page: /unrouted"


def test_async_view_error_is_a_500_and_reaches_teardown(
    client: ErlenClient, app: Erlen
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    errors: list[BaseException | None] = []

    @app.teardown_request
    async def teardown(error: BaseException | None) -> None:
        errors.append(error)

    @app.get("/")
    async def index() -> str:
        await asyncio.sleep(0)
        raise KeyError("broken")

    assert client.get("/").status_code == 500
    assert len(errors) == 1 and isinstance(errors[0], KeyError)


def test_async_view_error_propagates_in_testing(
    client: ErlenClient, app: Erlen
) -> None:
    @app.get("/")
    async def index() -> str:
        await asyncio.sleep(0)
        raise LookupError("visible to the test")

    with pytest.raises(LookupError, match="visible to the test"):
        client.get("/")


# -- the proxies in concurrent requests ----------------------------------------


def test_200_concurrent_asgi_requests_each_see_their_own_context(app: Erlen) -> None:
    """All 200 requests are inside the view at once, interleaved on one
    loop; each sees only its own args, g, session and ``current_app``, and
    gets only its own session cookie back."""
    total = 200
    in_view = 0
    everyone_in = asyncio.Event()

    @app.before_request
    async def load() -> None:
        g.n = request.args["n"]

    @app.get("/item/<int:n>")
    async def item(n: int) -> t.Any:
        nonlocal in_view
        in_view += 1
        if in_view == total:
            everyone_in.set()
        await asyncio.wait_for(everyone_in.wait(), timeout=5)
        await asyncio.sleep(0)
        session["visited"] = n
        return {
            "path_n": n,
            "arg_n": request.args["n"],
            "g_n": g.n,
            "user": session["user"],
            "header": request.headers["X-N"],
            "app": current_app.name,
        }

    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    cookie_name = app.config["SESSION_COOKIE_NAME"]

    def scope(n: int) -> Message:
        cookie = f"{cookie_name}={serializer.dumps({'user': f'user{n}'})}"
        return http_scope(
            f"/item/{n}",
            f"n={n}".encode(),
            [(b"x-n", str(n).encode()), (b"cookie", cookie.encode())],
        )

    async def main() -> list[tuple[int, list[Header], bytes]]:
        return await asyncio.gather(*(asgi_get(app, scope(n)) for n in range(total)))

    results = asyncio.run(main())
    for n, (status, headers, body) in enumerate(results):
        assert status == 200
        assert json.loads(body) == {
            "path_n": n,
            "arg_n": str(n),
            "g_n": str(n),
            "user": f"user{n}",
            "header": str(n),
            "app": "test_app",
        }
        set_cookie = dict(headers)[b"set-cookie"].decode()
        value = set_cookie.partition("=")[2].partition(";")[0]
        assert serializer.loads(value) == {"user": f"user{n}", "visited": n}


def test_async_views_really_run_concurrently(app: Erlen) -> None:
    """100 requests each awaiting 0.2 s take about 0.2 s together, not 20 s
    (this is a check of concurrency, not a benchmark: the bound is 10x)."""
    in_flight = 0
    most = 0

    @app.get("/slow")
    async def slow() -> str:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.2)
        in_flight -= 1
        return "done"

    async def main() -> list[tuple[int, list[Header], bytes]]:
        return await asyncio.gather(
            *(asgi_get(app, http_scope("/slow")) for _ in range(100))
        )

    started = time.monotonic()
    results = asyncio.run(main())
    elapsed = time.monotonic() - started
    assert [r[2] for r in results] == [b"done"] * 100
    assert most == 100
    assert elapsed < 2.0


@pytest.mark.parametrize("all_sync", [True, False], ids=["all-sync-app", "mixed-app"])
def test_sync_views_under_asgi_run_in_the_bounded_pool(all_sync: bool) -> None:
    app = Erlen("pool")
    app.config["SYNC_THREAD_POOL_SIZE"] = 3
    lock = threading.Lock()
    in_flight = 0
    most = 0
    threads: set[str] = set()
    # Views meet in threes: all three threads are busy at once, and a
    # bigger pool would show as more views in flight.
    three_at_once = threading.Barrier(3)

    @app.get("/work")
    def work() -> str:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
            threads.add(threading.current_thread().name)
        # A sync view never runs on the event loop's thread.
        running = _loop_running()
        three_at_once.wait(timeout=5)
        time.sleep(0.01)
        with lock:
            in_flight -= 1
        return "on a loop" if running else "no loop"

    if not all_sync:

        @app.get("/async")
        async def other() -> str:
            return ""

    async def main() -> list[tuple[int, list[Header], bytes]]:
        return await asyncio.gather(
            *(asgi_get(app, http_scope("/work")) for _ in range(12))
        )

    results = asyncio.run(main())
    assert [r[2] for r in results] == [b"no loop"] * 12
    assert most == 3  # never more than the pool's size at once
    assert len(threads) == 3
    assert all(name.startswith("erlen-pool") for name in threads)


def test_async_views_under_wsgi_reuse_one_loop_per_thread() -> None:
    app = Erlen("loops")
    loops: list[tuple[str, asyncio.AbstractEventLoop]] = []

    @app.get("/async")
    async def async_view() -> str:
        await asyncio.sleep(0)
        loops.append((threading.current_thread().name, asyncio.get_running_loop()))
        return "ok"

    @app.get("/sync")
    def sync_view() -> str:
        # PERF and design: a sync view under WSGI runs with no loop at all.
        return "loop" if _loop_running() else "no loop"

    ready = threading.Barrier(2)

    def worker() -> None:
        client = app.test_client()
        for _ in range(3):
            assert client.get("/async").text == "ok"
        assert client.get("/sync").text == "no loop"
        ready.wait(timeout=5)  # both threads (and their loops) alive at once

    workers = [threading.Thread(target=worker, name=f"w{i}") for i in range(2)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    by_thread: dict[str, set[int]] = {}
    for name, loop in loops:
        by_thread.setdefault(name, set()).add(id(loop))
    assert sorted(by_thread) == ["w0", "w1"]
    assert all(len(ids) == 1 for ids in by_thread.values())  # reused
    assert by_thread["w0"] != by_thread["w1"]  # one per thread


# -- handing the context to threads and tasks ----------------------------------


def test_copy_current_request_context_in_a_thread(
    client: ErlenClient, app: Erlen
) -> None:
    @app.get("/")
    async def index() -> str:
        session["user"] = "ann"
        result: list[str] = []

        @copy_current_request_context
        def work() -> None:
            result.append(f"{request.args['q']} {session['user']} {current_app.name}")

        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        return result[0]

    assert client.get("/?q=thread").text == "thread ann test_app"


def test_copy_current_request_context_with_to_thread(
    client: ErlenClient, app: Erlen
) -> None:
    @app.get("/")
    async def index() -> str:
        @copy_current_request_context
        def work(suffix: str) -> str:
            return f"{request.args['q']}{suffix}"

        def plain() -> str:
            return t.cast(str, request.args["q"])

        # to_thread copies the context variables by itself, too.
        return await asyncio.to_thread(work, "!") + await asyncio.to_thread(plain)

    assert client.get("/?q=to_thread").text == "to_thread!to_thread"


def test_copy_current_request_context_in_a_task_that_outlives_the_view(
    app: Erlen,
) -> None:
    """Under ASGI a task started by the view may still run after the
    response: the copied context keeps ``request`` and ``g`` for it."""
    seen: list[str] = []
    finished = asyncio.Event()

    @app.get("/")
    async def index() -> str:
        g.marker = "from the view"

        @copy_current_request_context
        async def later() -> None:
            await asyncio.sleep(0.01)
            seen.append(f"{request.args['q']} / {g.marker} / {current_app.name}")
            finished.set()

        asyncio.create_task(later())
        return "started"

    async def main() -> bytes:
        _, _, body = await asgi_get(app, http_scope("/", b"q=task"))
        await asyncio.wait_for(finished.wait(), timeout=5)
        return body

    assert asyncio.run(main()) == b"started"
    assert seen == ["task / from the view / test_app"]


def test_create_task_inherits_the_context(client: ErlenClient, app: Erlen) -> None:
    @app.get("/")
    async def index() -> str:
        g.marker = "g"

        async def child() -> str:
            await asyncio.sleep(0)
            return f"{request.args['q']} {g.marker}"

        return await asyncio.create_task(child())

    assert client.get("/?q=child").text == "child g"


@pytest.mark.parametrize("how", ["thread", "to_thread", "task"])
def test_copy_current_app_context(client: ErlenClient, app: Erlen, how: str) -> None:
    @app.get("/")
    async def index() -> str:
        @copy_current_app_context
        def work() -> str:
            return t.cast(str, current_app.name)

        @copy_current_app_context
        async def async_work() -> str:
            await asyncio.sleep(0)
            return t.cast(str, current_app.name)

        if how == "task":
            return await asyncio.create_task(async_work())
        if how == "to_thread":
            return await asyncio.to_thread(work)
        result: list[str] = []
        thread = threading.Thread(target=lambda: result.append(work()))
        thread.start()
        thread.join()
        return result[0]

    assert client.get("/").text == "test_app"


def test_copy_current_app_context_shares_g(client: ErlenClient, app: Erlen) -> None:
    @app.get("/")
    def index() -> str:
        g.user = "ann"

        @copy_current_app_context
        def work() -> str:
            return t.cast(str, g.get("user", "no user"))

        result: list[str] = []
        thread = threading.Thread(target=lambda: result.append(work()))
        thread.start()
        thread.join()
        return result[0]

    assert client.get("/").text == "ann"


# -- request.is_disconnected() -------------------------------------------------


def test_is_disconnected_during_a_normal_request(
    client: ErlenClient, app: Erlen
) -> None:
    @app.get("/")
    async def index() -> str:
        return str(await request.is_disconnected())

    assert client.get("/").text == "False"


def test_is_disconnected_after_the_client_left_asgi(app: Erlen) -> None:
    seen: list[bool] = []
    client_left = asyncio.Event()

    @app.get("/poll")
    async def poll() -> str:
        seen.append(await request.is_disconnected())
        client_left.set()
        for _ in range(500):
            if await request.is_disconnected():
                seen.append(True)
                break
            await asyncio.sleep(0.01)
        return "stopped"

    async def main() -> None:
        requested = False

        async def receive() -> Message:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b""}
            await client_left.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            pass

        await asyncio.wait_for(app.asgi(http_scope("/poll"), receive, send), 5)

    asyncio.run(main())
    assert seen == [False, True]
