"""The context-bound names user code imports: ``current_app``, ``g``,
``request`` and ``session``.

Inside, Erlen passes contexts explicitly; these proxies exist for user code.
Each looks the current context up in a :class:`contextvars.ContextVar`, so
it is correct in threads and in asyncio tasks alike.
"""

from __future__ import annotations

import typing as t
from contextvars import ContextVar

if t.TYPE_CHECKING:
    from .app import Erlen
    from .ctx import AppContext, RequestContext, _AppCtxGlobals
    from .sessions import SessionMixin
    from .websockets import WebSocket
    from .wrappers import Request

__all__ = ["current_app", "g", "request", "session", "websocket"]

_cv_app: ContextVar[AppContext] = ContextVar("erlen.app_ctx")
_cv_request: ContextVar[RequestContext] = ContextVar("erlen.request_ctx")

_no_app_msg = """\
Working outside of application context.

This typically means that you attempted to use functionality that needed
the current application. To solve this, set up an application context
with app.app_context(). See the documentation for more information.\
"""
_no_req_msg = """\
Working outside of request context.

This typically means that you attempted to use functionality that needed
an active HTTP request. Consult the documentation on testing for
information about how to avoid this problem.\
"""


_no_ws_msg = """\
Working outside of websocket context.

'websocket' is only available in a view registered with @app.websocket(),
served through the app's ASGI interface ('app.asgi').\
"""


def _websocket() -> WebSocket:
    ws = _req_ctx().websocket
    if ws is None:
        raise RuntimeError(_no_ws_msg)
    return ws


def _find_app_ctx() -> AppContext | RequestContext | None:
    """The current app context: the one pushed last, else the request
    context that provides one without pushing it (see
    :meth:`~erlen.ctx.RequestContext.push`); both have ``app`` and ``g``."""
    ctx = _cv_app.get(None)
    if ctx is None:
        return _cv_request.get(None)
    return ctx


def _req_ctx() -> RequestContext:
    try:
        return _cv_request.get()
    except LookupError:
        raise RuntimeError(_no_req_msg) from None


class _Proxy:
    """Forwards every operation to the object ``getter()`` returns now.

    ``_get_current_object()`` returns that object itself, e.g. to hand it to
    another thread.
    """

    __slots__ = ("_getter", "__wrapped_name")

    def __init__(self, getter: t.Callable[[], t.Any], name: str) -> None:
        object.__setattr__(self, "_getter", getter)
        object.__setattr__(self, "_Proxy__wrapped_name", name)

    def _get_current_object(self) -> t.Any:
        return self._getter()

    # As Flask's proxies: ``isinstance(request, Request)`` is about the
    # object behind the proxy (the proxy's own class when there is none).
    @property  # type: ignore[misc]
    def __class__(self) -> type:
        try:
            return type(self._getter())
        except RuntimeError:
            return type(self)

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self._getter(), name)

    def __setattr__(self, name: str, value: t.Any) -> None:
        setattr(self._getter(), name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self._getter(), name)

    def __repr__(self) -> str:
        try:
            obj = self._getter()
        except RuntimeError:
            return f"<unbound {self.__wrapped_name}>"
        return repr(obj)

    def __str__(self) -> str:
        return str(self._getter())

    def __bool__(self) -> bool:
        try:
            return bool(self._getter())
        except RuntimeError:
            return False

    def __dir__(self) -> list[str]:
        try:
            return dir(self._getter())
        except RuntimeError:
            return []

    def __eq__(self, other: object) -> bool:
        return bool(self._getter() == other)

    def __ne__(self, other: object) -> bool:
        return bool(self._getter() != other)

    def __hash__(self) -> int:
        return hash(self._getter())

    def __len__(self) -> int:
        return len(self._getter())

    def __iter__(self) -> t.Iterator[t.Any]:
        return iter(self._getter())

    def __aiter__(self) -> t.Any:
        return self._getter().__aiter__()

    def __contains__(self, item: object) -> bool:
        return item in self._getter()

    def __getitem__(self, key: t.Any) -> t.Any:
        return self._getter()[key]

    def __setitem__(self, key: t.Any, value: t.Any) -> None:
        self._getter()[key] = value

    def __delitem__(self, key: t.Any) -> None:
        del self._getter()[key]

    def __call__(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        return self._getter()(*args, **kwargs)


class _ContextProxy(_Proxy):
    """A :class:`_Proxy` for an attribute of the current context: reading an
    attribute through it is one call, not two (the proxy's and its
    getter's).  ``request.args`` in a view is one of these; everything else
    (items, iteration, ...) goes through the getter.

    With ``fallback``, a context in that variable is used when ``var`` has
    none: ``current_app`` and ``g`` read the request context that provides
    the app context (see :func:`_find_app_ctx`).
    """

    __slots__ = ("__var", "__fallback", "__attr", "__message")

    def __init__(
        self,
        var: ContextVar[t.Any],
        attr: str,
        message: str,
        name: str,
        fallback: ContextVar[t.Any] | None = None,
    ) -> None:
        def getter() -> t.Any:
            ctx = var.get(None)
            if ctx is None and fallback is not None:
                ctx = fallback.get(None)
            if ctx is None:
                raise RuntimeError(message)
            return getattr(ctx, attr)

        super().__init__(getter, name)
        object.__setattr__(self, "_ContextProxy__var", var)
        object.__setattr__(self, "_ContextProxy__fallback", fallback)
        object.__setattr__(self, "_ContextProxy__attr", attr)
        object.__setattr__(self, "_ContextProxy__message", message)

    def __getattr__(self, name: str) -> t.Any:
        # PERF: the getter's work inline (see the class docstring).
        ctx = self.__var.get(None)
        if ctx is None:
            fallback = self.__fallback
            if fallback is not None:
                ctx = fallback.get(None)
            if ctx is None:
                raise RuntimeError(self.__message)
        return getattr(getattr(ctx, self.__attr), name)


current_app: Erlen = t.cast(
    "Erlen", _ContextProxy(_cv_app, "app", _no_app_msg, "current_app", _cv_request)
)
g: _AppCtxGlobals = t.cast(
    "_AppCtxGlobals", _ContextProxy(_cv_app, "g", _no_app_msg, "g", _cv_request)
)
request: Request = t.cast(
    "Request", _ContextProxy(_cv_request, "request", _no_req_msg, "request")
)
websocket: WebSocket = t.cast("WebSocket", _Proxy(_websocket, "websocket"))
session: SessionMixin = t.cast(
    "SessionMixin", _ContextProxy(_cv_request, "session", _no_req_msg, "session")
)
