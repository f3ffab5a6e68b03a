"""Where Erlen's time goes: cProfile of ``GET /`` through the WSGI driver
(``def`` view) and the ASGI driver (``async def`` view), the same in-process
drivers as the timing, top functions by own time (tottime).

Run with ``python -m bench.run --profile`` (or ``make bench ARGS=--profile``).
"""

from __future__ import annotations

import cProfile
import io
import pstats
import typing as t

from . import spec
from .apps import BY_LABEL
from .inprocess import ASGITarget, Lifespan, WSGITarget


def _profile(run: t.Callable[[], t.Any], top: int) -> tuple[str, float]:
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    text = out.getvalue()
    # Drop pstats' header lines up to the column titles.
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return "\n".join(lines[start:]), stats.total_tt  # type: ignore[attr-defined]


def profile(requests: int = 20_000, top: int = 15) -> str:
    """The report, as text."""
    import asyncio

    req = spec.Request("GET", "/")
    parts = []

    wsgi = WSGITarget(BY_LABEL["erlen"].make_app(), req)
    wsgi.call()
    wsgi.batch(1000)
    text, total = _profile(lambda: wsgi.batch(requests), top)
    parts.append(
        f"== Erlen WSGI, GET / (def view): {requests} requests,"
        f" {total / requests * 1e6:.1f} µs/request under cProfile\n{text}"
    )

    loop = asyncio.new_event_loop()
    try:
        app = BY_LABEL["erlen-asgi"].make_app()
        lifespan = Lifespan(app, loop)
        asgi = ASGITarget(app, req, loop)
        asgi.call()
        asgi.batch(1000)
        text, total = _profile(lambda: asgi.batch(requests), top)
        parts.append(
            f"== Erlen ASGI, GET / (async def view): {requests} requests,"
            f" {total / requests * 1e6:.1f} µs/request under cProfile"
            f" (includes the event loop and the harness's receive/send)\n{text}"
        )
        lifespan.close()
    finally:
        loop.close()
    return "\n\n".join(parts) + "\n"
