"""How user functions are called: the one place that knows about sync, async,
threads and event loops.

The pipeline is an ``async def`` and calls every user function (view, hook,
error handler) through a *runner*: ``await run(func, *args)``.

* :func:`run_inline` calls a ``def`` directly and runs an ``async def`` on an
  event loop owned by the current thread (created once, reused).  It never
  suspends, so a pipeline using it is driven to the end by :func:`drive`
  without any event loop: this is the WSGI path, and the path of an ASGI
  request whose functions are all ``def`` (run as a whole in a worker thread).
* :func:`run_async` awaits an ``async def`` on the server's loop and sends a
  ``def`` to the app's bounded thread pool, so it cannot block the loop.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import threading
import typing as t
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from inspect import CO_COROUTINE
from types import FunctionType, GeneratorType

__all__ = [
    "Runner",
    "call_inline",
    "drive",
    "run_inline",
    "run_async",
    "is_async_callable",
]

T = t.TypeVar("T")

#: ``await run(func, *args, **kwargs)`` calls a user function.
Runner = Callable[..., Coroutine[t.Any, t.Any, t.Any]]

# Weak keys: per-request closures (``after_this_request`` functions,
# ``copy_current_request_context`` wrappers) must not be kept alive, with
# whatever they captured, by this cache.
# PERF: a weak lookup costs ~0.1 us, half of ``inspect.iscoroutinefunction``.
_async_cache: weakref.WeakKeyDictionary[t.Any, bool] = weakref.WeakKeyDictionary()


def is_async_callable(func: t.Any) -> bool:
    """Whether calling ``func`` returns a coroutine (``async def`` functions,
    methods, partials and objects with an ``async def __call__``)."""
    if type(func) is FunctionType:
        # PERF: a plain function (nearly every view and hook) answers from
        # its code flags, as inspect.iscoroutinefunction does, without the
        # weak cache's Python-level lookup (~0.3 us).
        return bool(func.__code__.co_flags & CO_COROUTINE)
    try:
        return _async_cache[func]
    except (KeyError, TypeError):
        pass
    target = func
    while isinstance(target, partial):
        target = target.func
    result = inspect.iscoroutinefunction(target) or (
        not inspect.isfunction(target)
        and not inspect.ismethod(target)
        and inspect.iscoroutinefunction(type(target).__call__)
    )
    try:
        _async_cache[func] = result
    except TypeError:  # not weakly referenceable, or unhashable
        pass
    return result


def drive(coro: Coroutine[t.Any, t.Any, T]) -> T:
    """Run a coroutine that never suspends (one using :func:`run_inline`) to
    its result, with no event loop."""
    try:
        coro.send(None)
    except StopIteration as stop:
        value: T = stop.value  # not t.cast: a call per request
        return value
    suspended(coro)


def suspended(coro: Coroutine[t.Any, t.Any, t.Any]) -> t.NoReturn:
    """Close a coroutine :func:`drive` found suspended, and say why."""
    coro.close()
    raise RuntimeError(
        "The request pipeline awaited something outside an event loop. This"
        " happens when a view awaits a future directly instead of being an"
        " 'async def' function."
    )


class _ThreadLoop:
    """Holds a thread's event loop and closes it when the thread ends (its
    ``threading.local`` data is released then), so servers that start a
    thread per request do not leak a loop, and its sockets, per thread."""

    __slots__ = ("loop",)

    def __init__(self) -> None:
        # In an empty context: the loop keeps the context it was made in (for
        # its self-pipe reader), which would keep the first request alive.
        self.loop = contextvars.Context().run(asyncio.new_event_loop)

    def __del__(self) -> None:
        loop = self.loop
        if not loop.is_closed() and not loop.is_running():
            loop.close()


_local = threading.local()


def thread_loop() -> asyncio.AbstractEventLoop:
    """The event loop owned by the current thread, for ``async def`` code
    called from sync code (WSGI).  Created on first use, reused, and closed
    when the thread ends."""
    holder: _ThreadLoop | None = getattr(_local, "holder", None)
    if holder is None or holder.loop.is_closed():
        holder = _ThreadLoop()
        _local.holder = holder
    return holder.loop


def run_sync_awaitable(awaitable: Awaitable[T]) -> T:
    """Run an awaitable to completion from sync code on :func:`thread_loop`."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        if inspect.iscoroutine(awaitable):
            awaitable.close()
        raise RuntimeError(
            "An 'async def' function was called through the WSGI interface from"
            " a thread that is already running an event loop. Serve the app"
            " through its ASGI interface ('app.asgi') instead."
        )

    async def _wrap() -> T:
        return await awaitable

    return thread_loop().run_until_complete(_wrap())


#: Types of what views and hooks usually return, which are never awaitable:
#: :func:`call_inline` returns them without looking further.
NEVER_AWAITABLE = frozenset({type(None), str, bytes, dict, list, tuple})


def call_inline(func: Callable[..., t.Any], /, *args: t.Any, **kwargs: t.Any) -> t.Any:
    """Call ``func`` now; an ``async def`` runs on the thread's own loop.
    :func:`run_inline` without the coroutine, for the pipeline's calls of
    views, hooks and teardown functions under it."""
    rv = func(*args, **kwargs)
    return rv if type(rv) in NEVER_AWAITABLE else resolve_inline(rv)


def resolve_inline(rv: t.Any) -> t.Any:
    """``rv`` itself, or its result if it is awaitable (run on the thread's
    own loop)."""
    # PERF: inspect.isawaitable ends in an ABC isinstance (~0.3 us): a
    # value of a type without __await__ that is not a generator cannot be.
    kind = type(rv)
    if not (hasattr(kind, "__await__") or kind is GeneratorType):
        return rv
    if inspect.isawaitable(rv):
        return run_sync_awaitable(rv)
    return rv


async def run_inline(
    func: Callable[..., t.Any], /, *args: t.Any, **kwargs: t.Any
) -> t.Any:
    """Call ``func`` now; an ``async def`` runs on the thread's own loop."""
    return call_inline(func, *args, **kwargs)


class AsyncRunner:
    """The runner for code on an event loop: awaits ``async def`` functions
    and runs ``def`` functions in ``executor``.

    :param executor: the bounded thread pool for sync functions.
    """

    __slots__ = ("executor",)

    def __init__(self, executor: ThreadPoolExecutor) -> None:
        self.executor = executor

    async def __call__(
        self, func: Callable[..., t.Any], /, *args: t.Any, **kwargs: t.Any
    ) -> t.Any:
        if is_async_callable(func):
            return await func(*args, **kwargs)
        return await self.in_thread(func, *args, **kwargs)

    async def in_thread(
        self, func: Callable[..., T], /, *args: t.Any, **kwargs: t.Any
    ) -> T:
        """Run a sync ``func`` in the pool with the current context vars."""
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        if kwargs:
            func = partial(func, **kwargs)
        rv = await loop.run_in_executor(self.executor, ctx.run, func, *args)
        if inspect.isawaitable(rv):
            return t.cast(T, await rv)
        return rv


def run_async(executor: ThreadPoolExecutor) -> AsyncRunner:
    """A runner for code on an event loop (the ASGI path)."""
    return AsyncRunner(executor)
