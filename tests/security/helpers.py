"""Helpers for the security battery: exact-outcome checks, drivers run by
hand (for what the test client cannot send), and a linear-time check."""

from __future__ import annotations

import asyncio
import io
import time
import typing as t

import pytest

from erlen import Erlen
from erlen.datastructures import Headers
from erlen.testing import make_spec

#: Text that must never reach a client: a traceback or a path on this machine.
LEAKS = (b"Traceback", b'File "', b"/work/", b"site-packages", b"/usr/lib/python")


def pending(reason: str, raises: t.Any = AssertionError) -> pytest.MarkDecorator:
    """An expected failure for a security default not implemented yet.

    Strict, so the test fails as soon as the feature lands and the mark can be
    removed; ``raises`` keeps an unrelated crash from passing as "expected".
    """
    return pytest.mark.xfail(
        reason=f"{reason} - pending security defaults", strict=True, raises=raises
    )


def bug(reason: str, raises: t.Any = AssertionError) -> pytest.MarkDecorator:
    """An expected failure for a real bug found by the battery (reported)."""
    return pytest.mark.xfail(reason=f"bug: {reason}", strict=True, raises=raises)


class Result(t.NamedTuple):
    """What a driver run by hand sent back."""

    status: int
    headers: Headers
    body: bytes


def assert_clean(body: bytes | str) -> None:
    """No traceback and no file path of this machine in a response body."""
    data = body.encode() if isinstance(body, str) else body
    for leak in LEAKS:
        assert leak not in data, f"{leak!r} leaked in the body: {data[:500]!r}"


def check(response: t.Any, status: int) -> None:
    """The response has exactly ``status`` and leaks nothing."""
    body = response.data if hasattr(response, "data") else response.body
    code = response.status_code if hasattr(response, "status_code") else response.status
    assert code == status, f"expected {status}, got {code}: {body[:300]!r}"
    assert_clean(body)


# -- drivers run by hand -------------------------------------------------------


def environ_for(app: Erlen, *args: t.Any, **kwargs: t.Any) -> dict[str, t.Any]:
    """A WSGI environ from the test client's arguments."""
    return make_spec(app, *args, **kwargs).to_environ()


def scope_for(app: Erlen, *args: t.Any, **kwargs: t.Any) -> dict[str, t.Any]:
    """An ASGI HTTP scope from the test client's arguments."""
    return make_spec(app, *args, **kwargs).to_scope()


def call_wsgi(app: Erlen, environ: dict[str, t.Any]) -> Result:
    """Run one WSGI request to the end, closing the body as a server does."""
    started: dict[str, t.Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], *_: t.Any) -> t.Any:
        started["status"], started["headers"] = status, headers
        return lambda data: None

    app_iter = app(environ, start_response)
    try:
        body = b"".join(app_iter)
    finally:
        close = getattr(app_iter, "close", None)
        if close is not None:
            close()
    return Result(int(started["status"].split()[0]), Headers(started["headers"]), body)


class Trickle(io.RawIOBase):
    """A ``wsgi.input`` that returns at most ``size`` bytes per read, as a slow
    client on a real server does."""

    def __init__(self, data: bytes, size: int = 1) -> None:
        self._data = data
        self._pos = 0
        self._size = size
        #: How many reads returned data.
        self.reads = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: t.Any) -> int:
        n = min(len(buffer), self._size, len(self._data) - self._pos)
        buffer[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        if n:
            self.reads += 1
        return n

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        # Never more than ``size`` bytes per call, even for read() / read(-1).
        n = self._size if size is None or size < 0 else min(size, self._size)
        chunk = self._data[self._pos : self._pos + n]
        self._pos += len(chunk)
        if chunk:
            self.reads += 1
        return chunk


def call_asgi(
    app: Erlen,
    scope: dict[str, t.Any],
    messages: t.Sequence[dict[str, t.Any]],
    *,
    disconnect_after: int | None = None,
) -> tuple[Result | None, list[dict[str, t.Any]]]:
    """Run one ASGI request by hand on a fresh event loop.

    ``receive`` returns ``messages`` in order, then ``http.disconnect`` once
    the response is complete (or, with ``disconnect_after``, as soon as that
    many ``http.response.body`` messages were sent).  Returns the response
    (``None`` if none was started) and every message sent.
    """
    sent: list[dict[str, t.Any]] = []
    queue = list(messages)

    async def run() -> None:
        done = asyncio.Event()

        async def receive() -> dict[str, t.Any]:
            if queue:
                return queue.pop(0)
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, t.Any]) -> None:
            sent.append(message)
            if message["type"] == "http.response.body":
                bodies = sum(m["type"] == "http.response.body" for m in sent)
                if not message.get("more_body") or (
                    disconnect_after is not None and bodies >= disconnect_after
                ):
                    done.set()

        await app.asgi(scope, receive, send)

    asyncio.run(run())
    starts = [m for m in sent if m["type"] == "http.response.start"]
    if not starts:
        return None, sent
    headers = Headers(
        [(k.decode("latin-1"), v.decode("latin-1")) for k, v in starts[0]["headers"]]
    )
    body = b"".join(
        m.get("body", b"") for m in sent if m["type"] == "http.response.body"
    )
    return Result(starts[0]["status"], headers, body), sent


def body_messages(body: bytes, chunk: int) -> list[dict[str, t.Any]]:
    """``body`` as ``http.request`` messages of ``chunk`` bytes each."""
    pieces = [body[i : i + chunk] for i in range(0, len(body), chunk)] or [b""]
    return [
        {"type": "http.request", "body": p, "more_body": i < len(pieces) - 1}
        for i, p in enumerate(pieces)
    ]


# -- time ----------------------------------------------------------------------


def best_time(func: t.Callable[[], object], runs: int = 3) -> float:
    """The fastest of ``runs`` calls, in seconds."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def assert_linear(
    make: t.Callable[[int], t.Callable[[], object]],
    n: int,
    *,
    ratio: float = 3.0,
    floor: float = 0.002,
) -> None:
    """Doubling the input size ``n`` at most about doubles the time.

    ``make(n)`` builds the input and returns the work to time.  The best of
    three runs of each size is compared; a quadratic cost would show a ratio
    near 4, a linear one near 2.  ``floor`` (seconds) keeps timer noise on
    very fast work from looking like growth.  A failed comparison is measured
    once more before failing, so one burst of load on the machine (other test
    runs) does not fail the case; a real quadratic fails both times.
    """
    small_work, large_work = make(n), make(2 * n)
    message = ""
    for _ in range(2):
        small = best_time(small_work)
        large = best_time(large_work)
        if large <= ratio * max(small, floor):
            return
        message = (
            f"time grew {large / max(small, 1e-9):.1f}x when the input doubled"
            f" ({small * 1000:.1f} ms for n={n}, {large * 1000:.1f} ms for"
            f" n={2 * n})"
        )
    raise AssertionError(message)
