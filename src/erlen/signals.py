"""Signals sent during a request's and an app context's life, with
`blinker <https://blinker.readthedocs.io/>`_.

Each is sent with the app as sender, at the same point and with the same
keyword arguments as Flask's.  Connect a receiver for one app::

    from erlen.signals import request_finished

    @request_finished.connect_via(app)
    def log_response(sender, response, **extra):
        sender.logger.info("%s", response.status)

Receivers are called in the thread or task that sends the signal and
finish before sending returns.  ``async def`` receivers work too (as with
Flask's ``ensure_sync``): see :func:`send`.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import typing as t
from collections.abc import Callable, Coroutine

from blinker import NamedSignal, Namespace

__all__ = [
    "appcontext_popped",
    "appcontext_pushed",
    "appcontext_tearing_down",
    "before_render_template",
    "got_request_exception",
    "message_flashed",
    "request_finished",
    "request_started",
    "request_tearing_down",
    "send",
    "template_rendered",
]

_signals = Namespace()

#: Sent when the app starts to handle a request, before the
#: ``before_request`` functions; ``request`` is available.
request_started = _signals.signal("request-started")
#: Sent with ``response=`` once the response is ready (after the
#: ``after_request`` functions and the session save), before it is sent.
request_finished = _signals.signal("request-finished")
#: Sent with ``exc=`` (the unhandled exception or ``None``) when the request
#: is torn down.
request_tearing_down = _signals.signal("request-tearing-down")
#: Sent with ``exception=`` when an exception reached no error handler,
#: before it is logged or propagated (also in testing and debug mode).
got_request_exception = _signals.signal("got-request-exception")
#: Sent with ``exc=`` when an app context is torn down, after the
#: ``teardown_appcontext`` functions.
appcontext_tearing_down = _signals.signal("appcontext-tearing-down")
#: Sent when an app context is pushed (``current_app`` is set).
appcontext_pushed = _signals.signal("appcontext-pushed")
#: Sent when an app context is popped, after its teardown.
appcontext_popped = _signals.signal("appcontext-popped")
#: Sent with ``template=`` and ``context=`` after a template was rendered.
template_rendered = _signals.signal("template-rendered")
#: Sent with ``template=`` and ``context=`` before a template is rendered;
#: a receiver may change ``context``.
before_render_template = _signals.signal("before-render-template")
#: Sent with ``message=`` and ``category=`` when a message is flashed.
message_flashed = _signals.signal("message-flashed")

T = t.TypeVar("T")


def send(
    signal: NamedSignal, sender: t.Any, /, **kwargs: t.Any
) -> list[tuple[Callable[..., t.Any], t.Any]]:
    """Send ``signal`` the way Erlen sends its own: like
    ``signal.send(sender, **kwargs)``, with ``async def`` receivers awaited
    to completion before it returns.

    An ``async def`` receiver runs on the current thread's own event loop
    (under WSGI, and for sync code under ASGI); when an event loop is already
    running in this thread (an ``async def`` view under ASGI), on a short-lived
    helper thread with its own loop, which blocks the caller meanwhile.  Keep
    receivers short, or use ``await signal.send_async(...)`` from your own
    ``async def`` code.

    :param signal: the signal.
    :param sender: the sender, usually the app.
    :param kwargs: the signal's arguments.
    :return: ``(receiver, return value)`` pairs, as blinker's ``send``.
    """
    # PERF: blinker's send costs a few microseconds even with no receiver.
    if not signal.receivers:
        return []
    return signal.send(sender, _async_wrapper=_sync_caller, **kwargs)


def _sync_caller(
    func: Callable[..., Coroutine[t.Any, t.Any, T]],
) -> Callable[..., T]:
    def call(*args: t.Any, **kwargs: t.Any) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            from .concurrency import run_sync_awaitable

            return run_sync_awaitable(func(*args, **kwargs))
        return _run_in_helper_thread(func, args, kwargs)

    return call


def _run_in_helper_thread(
    func: Callable[..., Coroutine[t.Any, t.Any, T]],
    args: tuple[t.Any, ...],
    kwargs: dict[str, t.Any],
) -> T:
    # The caller's context goes along, so ``request`` and ``current_app``
    # work in the receiver.
    context = contextvars.copy_context()
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(context.run(asyncio.run, func(*args, **kwargs)))
        except BaseException as e:  # re-raised in the caller's thread
            error.append(e)

    thread = threading.Thread(target=target, name="erlen-signal-receiver")
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]
