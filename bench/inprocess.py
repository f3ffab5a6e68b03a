"""In-process timing: each app called directly through its interface, no
server, no socket.

For every (framework, case) the request is built once (a WSGI environ, or
an ASGI scope with its body), the response is checked once (status and
body), and then batches of calls are timed with ``time.perf_counter_ns``.
Frameworks take turns batch by batch (round-robin, the order rotated each
round) so a slow minute on the machine lands on all of them, and each
(framework, case) gets several batches: the result is the median
µs/request with the min–max and quartiles of the batches.  The sizes of a
growth series (10 … 10 000 routes) take their turns together in the same
way, so a series' growth is not the machine's load changing between sizes.

The process is pinned to one CPU (the last it may use) first: on this
2-core VM, a process the scheduler moves between the cores ran at
anything from 0.6 to 1.6 times the speed of an identical one, for
minutes; pinned, two identical interpreters agree within 3%.

WSGI: ``app(environ, start_response)``, the body iterated and closed.
ASGI: ``await app(scope, receive, send)`` on one asyncio event loop; the
body is sent in one ``http.request`` message and, as a server does,
``receive`` then waits until the response is complete before it reports
``http.disconnect``.  ASGI apps get a lifespan startup first.
"""

from __future__ import annotations

import asyncio
import gc
import io
import os
import statistics
import sys
import time
import traceback
import typing as t

from . import spec
from .apps import FRAMEWORKS, Framework

perf_counter_ns = time.perf_counter_ns

#: Batch length and number of rounds.
QUICK = {"batch_ms": 5.0, "repeats": 9}
FULL = {"batch_ms": 10.0, "repeats": 25}

JINJA2 = "jinja2-render"


def pin_to_one_cpu() -> set[int] | None:
    """Keep this process on one CPU (the last it may use); the CPUs it could
    use before, or ``None`` where the platform cannot pin."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {max(before)})
    return before


class BenchError(Exception):
    """A framework answered something else than the case expects."""


# -- building requests ---------------------------------------------------------


def make_environ(req: spec.Request) -> dict[str, t.Any]:
    environ: dict[str, t.Any] = {
        "REQUEST_METHOD": req.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": req.path,
        "QUERY_STRING": req.query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "54321",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": None,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in req.all_headers():
        if name == "content-type":
            environ["CONTENT_TYPE"] = value
        elif name == "content-length":
            environ["CONTENT_LENGTH"] = value
        else:
            environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def make_scope(req: spec.Request) -> dict[str, t.Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},  # as uvicorn says
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 54321),
        "scheme": "http",
        "method": req.method,
        "root_path": "",
        "path": req.path,
        "raw_path": req.path.encode(),
        "query_string": req.query.encode(),
        "headers": [(k.encode(), v.encode()) for k, v in req.all_headers()],
        "state": {},
    }


def _cookie_from(headers: t.Iterable[tuple[str, str]]) -> str | None:
    for name, value in headers:
        if name.lower() == "set-cookie":
            return value.partition(";")[0]
    return None


# -- the two drivers -----------------------------------------------------------


class WSGITarget:
    """A WSGI app and one prepared request."""

    def __init__(self, app: t.Any, req: spec.Request) -> None:
        self.app = app
        self.environ = make_environ(req)
        self.body = req.body

    def call(self) -> tuple[int, list[tuple[str, str]], bytes]:
        """One request, everything captured (for the checks)."""
        captured: dict[str, t.Any] = {}

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
        ) -> t.Callable[[bytes], None]:
            captured["status"] = int(status.split(" ", 1)[0])
            captured["headers"] = headers
            return lambda data: None

        environ = self.environ.copy()
        environ["wsgi.input"] = io.BytesIO(self.body)
        result = self.app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return captured["status"], captured["headers"], body

    def batch(self, n: int) -> tuple[int, str, int]:
        """Time ``n`` requests: (ns, last status line, total body bytes)."""
        app = self.app
        template = self.environ
        body = self.body
        BytesIO = io.BytesIO
        status = [""]

        def start_response(
            s: str, headers: list[tuple[str, str]], exc_info: t.Any = None
        ) -> None:
            status[0] = s

        total = 0
        t0 = perf_counter_ns()
        for _ in range(n):
            environ = template.copy()
            environ["wsgi.input"] = BytesIO(body)
            result = app(environ, start_response)
            for chunk in result:
                total += len(chunk)
            close = getattr(result, "close", None)
            if close is not None:
                close()
        elapsed = perf_counter_ns() - t0
        return elapsed, status[0], total

    def status_of(self, line: str) -> int:
        return int(line.split(" ", 1)[0]) if line else 0


class Exchange:
    """``receive`` and ``send`` of one ASGI request, as a server gives them."""

    __slots__ = ("body", "sent", "done", "waiter", "status", "total", "headers")

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.sent = False
        self.done = False
        self.waiter: asyncio.Future[None] | None = None
        self.status = 0
        self.total = 0
        self.headers: list[tuple[bytes, bytes]] | None = None

    async def receive(self) -> dict[str, t.Any]:
        if not self.sent:
            self.sent = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        if not self.done:
            # Like a server: the client is still there until the response is
            # sent (Starlette and Quart watch for the disconnect meanwhile).
            self.waiter = asyncio.get_running_loop().create_future()
            await self.waiter
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, t.Any]) -> None:
        kind = message["type"]
        if kind == "http.response.body":
            self.total += len(message.get("body", b""))
            if not message.get("more_body", False):
                self.done = True
                if self.waiter is not None and not self.waiter.done():
                    self.waiter.set_result(None)
        elif kind == "http.response.start":
            self.status = message["status"]
            self.headers = message.get("headers", [])


class ASGITarget:
    """An ASGI app and one prepared request, driven on ``loop``."""

    def __init__(
        self, app: t.Any, req: spec.Request, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.app = app
        self.scope = make_scope(req)
        self.body = req.body
        self.loop = loop

    async def _call(self) -> tuple[int, list[tuple[str, str]], bytes]:
        chunks: list[bytes] = []
        ex = Exchange(self.body)
        original_send = ex.send

        async def send(message: dict[str, t.Any]) -> None:
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await original_send(message)

        scope = self.scope.copy()
        scope["state"] = {}
        await self.app(scope, ex.receive, send)
        await asyncio.sleep(0)
        headers = [
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in ex.headers or []
        ]
        return ex.status, headers, b"".join(chunks)

    def call(self) -> tuple[int, list[tuple[str, str]], bytes]:
        return self.loop.run_until_complete(self._call())

    async def _batch(self, n: int) -> tuple[int, int, int]:
        app = self.app
        template = self.scope
        body = self.body
        status = 0
        total = 0
        t0 = perf_counter_ns()
        for _ in range(n):
            scope = template.copy()
            scope["state"] = {}
            ex = Exchange(body)
            await app(scope, ex.receive, ex.send)
            status = ex.status
            total += ex.total
        elapsed = perf_counter_ns() - t0
        # Let tasks the app left behind finish outside the timing.
        await asyncio.sleep(0)
        return elapsed, status, total

    def batch(self, n: int) -> tuple[int, int, int]:
        return self.loop.run_until_complete(self._batch(n))

    def status_of(self, status: int) -> int:
        return status


class CallTarget:
    """A plain function call (Jinja2's render alone, for the template case)."""

    def __init__(self, func: t.Callable[[], bytes]) -> None:
        self.func = func

    def call(self) -> tuple[int, list[tuple[str, str]], bytes]:
        return 200, [], self.func()

    def batch(self, n: int) -> tuple[int, int, int]:
        func = self.func
        total = 0
        t0 = perf_counter_ns()
        for _ in range(n):
            total += len(func())
        return perf_counter_ns() - t0, 200, total

    def status_of(self, status: int) -> int:
        return status


# -- lifespan ------------------------------------------------------------------


class Lifespan:
    """Runs an ASGI app's lifespan startup, and its shutdown on close."""

    def __init__(self, app: t.Any, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.inbox: asyncio.Queue[dict[str, t.Any]] = asyncio.Queue()
        self.outbox: asyncio.Queue[dict[str, t.Any]] = asyncio.Queue()
        self.task: asyncio.Task[t.Any] | None = None
        loop.run_until_complete(self._start(app))

    async def _start(self, app: t.Any) -> None:
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": {},
        }
        self.task = asyncio.ensure_future(app(scope, self.inbox.get, self.outbox.put))
        await self.inbox.put({"type": "lifespan.startup"})
        reply = asyncio.ensure_future(self.outbox.get())
        done, _ = await asyncio.wait(
            {self.task, reply}, timeout=30, return_when=asyncio.FIRST_COMPLETED
        )
        if reply in done:
            message = reply.result()
            if message["type"] != "lifespan.startup.complete":
                lines = str(message.get("message", "")).strip().splitlines()
                raise BenchError(
                    f"lifespan startup failed: {lines[-1] if lines else message}"
                )
        else:
            reply.cancel()  # the app does not do lifespan; fine
            if self.task.done() and not self.task.cancelled():
                self.task.exception()  # consumed: no "never retrieved" warning
            self.task = None

    def close(self) -> None:
        if self.task is None:
            return

        async def stop() -> None:
            assert self.task is not None
            await self.inbox.put({"type": "lifespan.shutdown"})
            try:
                await asyncio.wait_for(self.task, 10)
            except Exception:
                pass

        self.loop.run_until_complete(stop())
        self.task = None


# -- the run -------------------------------------------------------------------


def _stats(samples_ns: list[float]) -> dict[str, t.Any]:
    us = sorted(s / 1000 for s in samples_ns)
    if len(us) >= 4:
        q1, _, q3 = statistics.quantiles(us, n=4, method="inclusive")
    else:
        q1, q3 = us[0], us[-1]
    return {
        "median_us": statistics.median(us),
        "min_us": us[0],
        "max_us": us[-1],
        "q1_us": q1,
        "q3_us": q3,
        "samples_us": [round(x, 4) for x in us],
    }


class Slot:
    """One (framework, case) being measured."""

    def __init__(self, label: str, case: spec.Case, target: t.Any) -> None:
        self.label = label
        self.case = case
        self.target = target
        self.n = 1
        self.expected_len = 0
        self.samples: list[float] = []
        self.cpu_samples: list[float] = []
        self.error: str | None = None

    def check(self) -> None:
        """One request, status and body checked; then the session cookie (if
        any) is part of the prepared request."""
        status, headers, body = self.target.call()
        case = self.case
        if status != case.status:
            raise BenchError(
                f"status {status}, expected {case.status}; body {body[:200]!r}"
            )
        if not case.check(body):
            raise BenchError(
                f"wrong body {body[:200]!r}; expected {case.check.__doc__}"
            )
        if case.prime_cookie and _cookie_from(headers) is None:
            raise BenchError("no Set-Cookie: the session was not written")
        self.expected_len = len(body)

    def calibrate(self, batch_ns: float) -> None:
        n = 1
        while True:
            elapsed, _, _ = self.target.batch(n)
            if elapsed >= batch_ns / 5 or n >= 1 << 20:
                break
            n *= 2
        self.n = max(1, round(batch_ns * n / max(elapsed, 1)))

    def run_batch(self) -> None:
        cpu0 = time.process_time_ns()
        elapsed, status, total = self.target.batch(self.n)
        # CPU time of the whole process (all its threads) around the batch:
        # unlike the wall clock, it does not count the time other processes
        # on the machine held the CPU (nor the time spent waiting for a
        # thread to wake up).  Recorded beside the wall-clock result.
        self.cpu_samples.append((time.process_time_ns() - cpu0) / self.n)
        if self.target.status_of(status) != self.case.status:
            raise BenchError(f"status {status} during timing")
        if total != self.n * self.expected_len:
            raise BenchError(
                f"{total} body bytes for {self.n} requests, expected"
                f" {self.n * self.expected_len}"
            )
        self.samples.append(elapsed / self.n)

    def result(self) -> dict[str, t.Any]:
        if self.error is not None:
            return {"error": self.error}
        cpu = sorted(self.cpu_samples)
        return {
            **_stats(self.samples),
            "batch": self.n,
            "cpu_median_us": statistics.median(cpu) / 1000 if cpu else None,
        }


class Runner:
    """Builds the apps and targets of each case and times them."""

    def __init__(
        self,
        frameworks: list[Framework],
        batch_ms: float,
        repeats: int,
        log: t.Callable[[str], None] = print,
    ) -> None:
        self.frameworks = frameworks
        self.batch_ns = batch_ms * 1e6
        self.repeats = repeats
        self.log = log
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        #: Standard apps, built once and shared by the cases that use them.
        self._apps: dict[tuple[str, tuple[tuple[str, t.Any], ...]], t.Any] = {}
        self._lifespans: dict[int, Lifespan] = {}

    def close(self) -> None:
        for key in list(self._apps):
            self._drop(key)
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    def _app(self, fw: Framework, kwargs: dict[str, t.Any]) -> t.Any:
        key = (fw.label, tuple(sorted(kwargs.items())))
        if key not in self._apps:
            app = fw.make_app(**kwargs)
            if fw.interface == "asgi":
                self._lifespans[id(app)] = Lifespan(app, self.loop)
            self._apps[key] = app
        return self._apps[key]

    def _drop(self, key: tuple[str, tuple[tuple[str, t.Any], ...]]) -> None:
        app = self._apps.pop(key)
        lifespan = self._lifespans.pop(id(app), None)
        if lifespan is not None:
            lifespan.close()

    def _target(self, fw: Framework, case: spec.Case) -> t.Any:
        app = self._app(fw, case.app)
        req = case.request
        target = self._make_target(fw, app, req)
        if case.prime_cookie:
            _, headers, _ = target.call()
            cookie = _cookie_from(headers)
            if cookie is None:
                raise BenchError("the first request set no session cookie")
            req = spec.Request(
                req.method,
                req.path,
                req.query,
                req.body,
                req.content_type,
                [*req.headers, ("cookie", cookie)],
            )
            target = self._make_target(fw, app, req)
        return target

    def _make_target(self, fw: Framework, app: t.Any, req: spec.Request) -> t.Any:
        if fw.interface == "wsgi":
            return WSGITarget(app, req)
        return ASGITarget(app, req, self.loop)

    def _slots(self, case: spec.Case, only: set[str] | None) -> list[Slot]:
        """The checked and calibrated slots of one case."""
        slots: list[Slot] = []
        for fw in self.frameworks:
            if case.needs is not None and case.needs not in fw.features:
                continue
            if only is not None and fw.label not in only:
                continue
            slot = Slot(fw.label, case, None)
            try:
                slot.target = self._target(fw, case)
                slot.check()
                slot.check()  # a second time: warm caches, and still right
                slot.calibrate(self.batch_ns)
            except Exception as e:
                slot.error = _describe(e)
                self.log(f"    {case.name} / {fw.label}: ERROR {slot.error}")
            slots.append(slot)
        if case.name == "template":
            template = spec.jinja_env().get_template(spec.TEMPLATE_NAME)
            slot = Slot(
                JINJA2,
                case,
                CallTarget(
                    lambda: template.render(
                        title=spec.TEMPLATE_TITLE, items=spec.ITEMS
                    ).encode()
                ),
            )
            slot.check()
            slot.calibrate(self.batch_ns)
            slots.append(slot)
        return slots

    def run_group(
        self, cases: list[spec.Case], restrict: dict[str, set[str]]
    ) -> dict[str, dict[str, t.Any]]:
        """Time the cases of one group together: every (framework, case) slot
        takes its turn in each round, so the ratios within the group (Erlen
        against a peer, 10 000 routes against 10) come from the same minutes
        of the machine."""
        slots = [
            s for case in cases for s in self._slots(case, restrict.get(case.name))
        ]
        live = [s for s in slots if s.error is None]
        gc.collect()
        for r in range(self.repeats):
            k = r * len(live) // self.repeats if live else 0
            for slot in live[k:] + live[:k]:
                if slot.error is not None:
                    continue
                try:
                    slot.run_batch()
                except Exception as e:
                    slot.error = _describe(e)
                    self.log(f"    {slot.case.name} / {slot.label}: ERROR {slot.error}")
        # Apps built only for these cases (routes, hooks) are let go now.
        for case in cases:
            if case.app:
                params = tuple(sorted(case.app.items()))
                for key in [k for k in self._apps if k[1] == params]:
                    self._drop(key)
        return {
            case.name: {s.label: s.result() for s in slots if s.case is case}
            for case in cases
        }

    def run(
        self, cases: list[spec.Case], restrict: dict[str, set[str]] | None = None
    ) -> dict[str, t.Any]:
        """Each case of the main table is a group of its own; each growth
        series (all its sizes) is one group."""
        groups: list[list[spec.Case]] = []
        by_series: dict[str, list[spec.Case]] = {}
        for case in cases:
            if case.series is None:
                groups.append([case])
            elif case.series in by_series:
                by_series[case.series].append(case)
            else:
                by_series[case.series] = [case]
                groups.append(by_series[case.series])
        out: dict[str, t.Any] = {}
        for i, group in enumerate(groups, 1):
            started = time.perf_counter()
            names = ", ".join(c.name for c in group)
            self.log(f"  [{i}/{len(groups)}] {names}")
            results = self.run_group(group, restrict or {})
            for case in group:
                out[case.name] = {
                    "title": case.title,
                    "series": case.series,
                    "x": case.x,
                    "results": results[case.name],
                }
                line = "  ".join(
                    f"{label} {r['median_us']:.1f}"
                    for label, r in results[case.name].items()
                    if "median_us" in r
                )
                self.log(f"      {case.name}: {line}")
            self.log(f"      ({time.perf_counter() - started:.1f}s)")
        # In the order of spec.all_cases(), whatever the grouping.
        order = {c.name: i for i, c in enumerate(spec.all_cases())}
        return dict(sorted(out.items(), key=lambda kv: order.get(kv[0], 0)))


def _describe(e: BaseException) -> str:
    if isinstance(e, BenchError):
        return str(e)
    frame = traceback.extract_tb(e.__traceback__)[-1] if e.__traceback__ else None
    where = f" at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" if frame else ""
    return f"{type(e).__name__}: {e}{where}"


def run(
    frameworks: list[Framework] | None = None,
    cases: list[spec.Case] | None = None,
    quick: bool = False,
    restrict: dict[str, set[str]] | None = None,
    log: t.Callable[[str], None] = print,
) -> dict[str, t.Any]:
    """Time every case for every framework; the JSON-ready results.

    :param restrict: case name -> the only framework labels to run it for.
    """
    settings = QUICK if quick else FULL
    before = pin_to_one_cpu()
    if before is not None:
        log(f"  (pinned to CPU {max(before)})")
    runner = Runner(
        frameworks or FRAMEWORKS,
        settings["batch_ms"],
        settings["repeats"],
        log,
    )
    try:
        return {
            "settings": settings,
            "cases": runner.run(cases or spec.all_cases(), restrict),
        }
    finally:
        runner.close()
        if before is not None:  # the over-the-wire part pins its own way
            os.sched_setaffinity(0, before)
