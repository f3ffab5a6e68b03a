"""Application and request contexts.

A context is a plain object the pipeline passes along; pushing it makes it
visible to user code through the proxies in :mod:`erlen.globals`.  Contexts
are stored in context variables, so every thread and every asyncio task sees
its own.
"""

from __future__ import annotations

import contextlib
import functools
import typing as t
from contextvars import Token

from . import signals
from .globals import _cv_app, _cv_request, _find_app_ctx
from .wrappers import Request

_close = Request.close

if t.TYPE_CHECKING:
    from .app import Erlen
    from .sessions import SessionMixin
    from .websockets import WebSocket
    from .wrappers import Response

__all__ = [
    "AppContext",
    "RequestContext",
    "after_this_request",
    "copy_current_request_context",
    "has_app_context",
    "has_request_context",
]

F = t.TypeVar("F", bound=t.Callable[..., t.Any])

_sentinel = object()
#: In RequestContext._tokens: the app context is provided, not pushed.
_PROVIDED = object()


class _AppCtxGlobals:
    """The ``g`` object: a namespace for data during one app context.

    It is a plain object with a few dict-like helpers: ``g.get(name)``,
    ``g.pop(name)``, ``g.setdefault(name, value)``, ``name in g`` and
    iteration over the names.
    """

    def __getattr__(self, name: str) -> t.Any:
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError(name) from None

    def __delattr__(self, name: str) -> None:
        try:
            del self.__dict__[name]
        except KeyError:
            raise AttributeError(name) from None

    def get(self, name: str, default: t.Any | None = None) -> t.Any:
        """The attribute ``name``, or ``default``."""
        return self.__dict__.get(name, default)

    def pop(self, name: str, default: t.Any = _sentinel) -> t.Any:
        """Remove and return ``name``; ``default`` if given and missing, else
        :exc:`KeyError`."""
        if default is _sentinel:
            return self.__dict__.pop(name)
        return self.__dict__.pop(name, default)

    def setdefault(self, name: str, default: t.Any = None) -> t.Any:
        """The attribute ``name``, set to ``default`` first if missing."""
        return self.__dict__.setdefault(name, default)

    def __contains__(self, item: str) -> bool:
        return item in self.__dict__

    def __iter__(self) -> t.Iterator[str]:
        return iter(self.__dict__)

    def __repr__(self) -> str:
        ctx = _find_app_ctx()
        if ctx is not None:
            return f"<erlen.g of '{ctx.app.name}'>"
        return object.__repr__(self)


class AppContext:
    """Makes ``current_app`` and ``g`` available.

    Pushed automatically for every request and CLI command; push one yourself
    with ``with app.app_context():`` for code that runs outside of those.
    """

    def __init__(self, app: Erlen) -> None:
        self.app: Erlen = app
        self._tokens: list[Token[AppContext]] = []

    _g: _AppCtxGlobals | None = None

    @property
    def g(self) -> _AppCtxGlobals:
        """This context's ``g``, made on first use (most requests never
        touch it)."""
        g = self._g
        if g is None:
            # setdefault is atomic: threads sharing this context (a view and
            # its asyncio.to_thread call) all get the same one.
            g = self.__dict__.setdefault("_g", self.app.app_ctx_globals_class())
        return g

    @g.setter
    def g(self, value: _AppCtxGlobals) -> None:
        self._g = value

    def push(self) -> None:
        """Make this context the current one."""
        self._tokens.append(_cv_app.set(self))
        if signals.appcontext_pushed.receivers:
            signals.send(signals.appcontext_pushed, self.app)

    def pop(self, exc: BaseException | None = _sentinel) -> None:  # type: ignore[assignment]
        """Remove this context; on the last pop, run the
        ``teardown_appcontext`` functions."""
        try:
            if len(self._tokens) == 1:
                if exc is _sentinel:
                    import sys

                    exc = sys.exc_info()[1]
                self.app.do_teardown_appcontext(exc)
        finally:
            self._pop_no_teardown()

    def _pop_no_teardown(self) -> None:
        ctx = _cv_app.get(None)
        _cv_app.reset(self._tokens.pop())
        if ctx is not self:
            raise RuntimeError(
                f"Popped the wrong app context ({ctx!r} instead of {self!r})."
                " Contexts must be popped in the reverse order of pushing."
            )
        if signals.appcontext_popped.receivers:
            signals.send(signals.appcontext_popped, self.app)

    def __enter__(self) -> AppContext:
        self.push()
        return self

    def __exit__(self, exc_type: t.Any, exc_value: t.Any, tb: t.Any) -> None:
        self.pop(exc_value)

    def __repr__(self) -> str:
        return f"<AppContext of {self.app.name!r}>"


class RequestContext:
    """Makes ``request`` and ``session`` available, and the app context too
    if no context of the same app is current.

    The pipeline makes one per request; tests make one with
    ``app.test_request_context(...)``.
    """

    # PERF: what most requests never set is a class-level default rather
    # than set for each request (fewer stores, a smaller instance dict).
    _session: SessionMixin | None = None
    #: The app context, once made (see push).
    _app_ctx: AppContext | None = None
    #: Flashed messages loaded from the session, for ``get_flashed_messages``.
    flashes: list[tuple[str, str]] | None = None
    _after_request_functions: t.Sequence[t.Callable[[Response], t.Any]] = ()
    #: ``add_background_task`` calls made during the request.
    _background: t.Sequence[
        tuple[t.Callable[..., t.Any], tuple[t.Any, ...], dict[str, t.Any]]
    ] = ()
    #: The connection, for a websocket request.
    websocket: WebSocket | None = None
    #: Streams (``stream_with_context``) still using this context, and
    #: the teardown they owe once the last one ends.
    _streams = 0
    _deferred_teardown: tuple[BaseException | None, t.Any] | None = None

    def __init__(self, app: Erlen, request: Request) -> None:
        self.app: Erlen = app
        self.request: Request = request
        #: Per push: the token, and the app context pushed for it, or
        #: _PROVIDED when it provides one without pushing it (see push).
        self._tokens: list[tuple[Token[RequestContext], t.Any]] = []

    @property
    def _app_context(self) -> AppContext:
        """The app context this request runs in, made on first use when the
        push only provided one."""
        app_ctx = self._app_ctx
        if app_ctx is None:
            # setdefault: atomic, should two threads of the request ask at once.
            app_ctx = self.__dict__.setdefault("_app_ctx", AppContext(self.app))
        return app_ctx

    @property
    def g(self) -> _AppCtxGlobals:
        """The ``g`` of :attr:`_app_context`, for the ``g`` proxy when this
        context provides the app context."""
        return self._app_context.g

    def _after_request(self, func: t.Callable[[Response], t.Any]) -> None:
        # setdefault: atomic, should two threads of the request add at once.
        self.__dict__.setdefault("_after_request_functions", []).append(func)

    def _add_background(
        self,
        func: t.Callable[..., t.Any],
        args: tuple[t.Any, ...],
        kwargs: dict[str, t.Any],
    ) -> None:
        self.__dict__.setdefault("_background", []).append((func, args, kwargs))

    @contextlib.contextmanager
    def _activated(self) -> t.Iterator[None]:
        """Make this context current for a block without pushing it (no
        teardown on exit), e.g. while a streamed response produces a chunk,
        in whatever thread or task that happens."""
        app_ctx = self._app_ctx
        app_token = _cv_app.set(app_ctx) if app_ctx is not None else None
        req_token = _cv_request.set(self)
        try:
            yield
        finally:
            _cv_request.reset(req_token)
            if app_token is not None:
                _cv_app.reset(app_token)

    @property
    def session(self) -> SessionMixin:
        """The session, opened from the cookie on first access."""
        session = self._session
        if session is None:
            session = self.app._open_session(self.request)
            self._session = session
        return session

    @session.setter
    def session(self, value: SessionMixin) -> None:
        self._session = value

    @property
    def session_loaded(self) -> bool:
        """Whether the session was opened during this request."""
        return self._session is not None

    def push(self) -> None:
        """Make this context current (and its app's context, if needed).

        With no context current at all (a request from a server), the app
        context is *provided*, not pushed: ``current_app`` and ``g`` find
        it through this context (see :mod:`erlen.globals`), and it is made
        only if something asks for it; it starts and ends with this context
        as a pushed one would, teardown and signals included.
        """
        app_ctx = _cv_app.get(None)
        if app_ctx is None:
            outer = _cv_request.get(None)
            if outer is not None:
                app_ctx = outer._app_context  # the one it provides
            elif not signals.appcontext_pushed.receivers:
                # PERF: one context variable set per request instead of two,
                # and no AppContext made for a request that never reads g
                # (push and pop: 1.30 -> 0.94 us in a tight loop).  With
                # receivers, the signal is sent as Flask sends it: with the
                # app context pushed and no request context yet.
                self._tokens.append((_cv_request.set(self), _PROVIDED))
                return
        pushed: AppContext | None = None
        if app_ctx is None or app_ctx.app is not self.app:
            # PERF: AppContext.push inlined (a call fewer per request; calls
            # are what a request pays most for under a real server, where
            # the code is not in the CPU's caches: see docs/performance.md).
            app_ctx = pushed = AppContext(self.app)
            pushed._tokens.append(_cv_app.set(pushed))
            if signals.appcontext_pushed.receivers:
                signals.send(signals.appcontext_pushed, self.app)
        self._app_ctx = app_ctx
        self._tokens.append((_cv_request.set(self), pushed))

    def pop(self, exc: BaseException | None = _sentinel) -> None:  # type: ignore[assignment]
        """Run the teardown functions (on the last pop) and remove the context."""
        if exc is _sentinel:
            import sys

            exc = sys.exc_info()[1]
        try:
            if len(self._tokens) == 1:
                self.app.do_teardown_request(exc)
        finally:
            self._pop_no_teardown(exc)

    def _pop_no_teardown(
        self,
        exc: BaseException | None,
        app_teardown: bool = True,
        close_request: bool = True,
    ) -> None:
        token, pushed = self._tokens.pop()
        try:
            if close_request and not self._tokens:
                request = self.request
                # PERF: Request.close only closes uploaded files: not called
                # when there are none (a subclass's own close() still is).
                if request._files or type(request).close is not _close:
                    request.close()
        finally:
            _cv_request.reset(token)
            if pushed is _PROVIDED:
                if app_teardown:
                    # As AppContext.pop: its teardown while it is current.
                    app_token = _cv_app.set(self._app_context)
                    try:
                        self.app.do_teardown_appcontext(exc)
                    finally:
                        _cv_app.reset(app_token)
                if signals.appcontext_popped.receivers:
                    signals.send(signals.appcontext_popped, self.app)
            elif pushed is not None:
                app_ctx: AppContext = pushed
                if app_teardown:
                    app_ctx.pop(exc)
                elif _cv_app.get(None) is app_ctx:
                    # PERF: AppContext._pop_no_teardown inlined for the
                    # pipeline's pop (see push).
                    _cv_app.reset(app_ctx._tokens.pop())
                    if signals.appcontext_popped.receivers:
                        signals.send(signals.appcontext_popped, self.app)
                else:
                    app_ctx._pop_no_teardown()  # raises: popped out of order

    def copy(self) -> RequestContext:
        """A new context for the same request and session, for handing the
        request to another thread or task."""
        ctx = type(self)(self.app, self.request)
        ctx._session = self._session
        return ctx

    def __enter__(self) -> RequestContext:
        self.push()
        return self

    def __exit__(self, exc_type: t.Any, exc_value: t.Any, tb: t.Any) -> None:
        self.pop(exc_value)

    def __repr__(self) -> str:
        request = self.request
        return (
            f"<RequestContext {request.url!r} [{request.method}] of {self.app.name!r}>"
        )


def has_app_context() -> bool:
    """Whether an app context is active (``current_app`` and ``g`` work)."""
    return _find_app_ctx() is not None


def has_request_context() -> bool:
    """Whether a request context is active (``request`` and ``session`` work)."""
    return _cv_request.get(None) is not None


def after_this_request(f: F) -> F:
    """Call ``f(response)`` after this request's view; it must return a
    response (the same or a new one).  Use it inside a view or hook::

        @after_this_request
        def add_header(response):
            response.headers["X-Foo"] = "bar"
            return response
    """
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "'after_this_request' can only be used when a request context is"
            " active, such as in a view function."
        )
    ctx._after_request(f)
    return f


def copy_current_request_context(f: F) -> F:
    """Decorate ``f`` so it runs in a copy of the current request context,
    e.g. in a thread started from a view.  ``async def`` functions work too.
    """
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "'copy_current_request_context' can only be used when a request"
            " context is active, such as in a view function."
        )
    copied = ctx.copy()

    from .concurrency import is_async_callable

    if is_async_callable(f):

        @functools.wraps(f)
        async def async_wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
            with copied:
                return await f(*args, **kwargs)

        return t.cast(F, async_wrapper)

    @functools.wraps(f)
    def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        with copied:
            return f(*args, **kwargs)

    return t.cast(F, wrapper)


def copy_current_app_context(f: F) -> F:
    """Decorate ``f`` so it runs in the current app context (a new ``g``
    is not made: the same app context is pushed again)."""
    ctx = _find_app_ctx()
    if ctx is None:
        raise RuntimeError(
            "'copy_current_app_context' can only be used when an app context is active."
        )
    app = ctx.app
    g = ctx.g

    def copy() -> AppContext:
        # A context of its own (its tokens belong to the thread or task
        # that pushes it), sharing this one's g.
        copied = app.app_context()
        copied.g = g
        return copied

    from .concurrency import is_async_callable

    if is_async_callable(f):

        @functools.wraps(f)
        async def async_wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
            with copy():
                return await f(*args, **kwargs)

        return t.cast(F, async_wrapper)

    @functools.wraps(f)
    def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        with copy():
            return f(*args, **kwargs)

    return t.cast(F, wrapper)
