"""Class-based views: :class:`View` and :class:`MethodView`.

A class-based view is turned into a view function with :meth:`View.as_view`
and registered like any other::

    class UserAPI(MethodView):
        def get(self, id):
            return {"id": id}

        async def delete(self, id):
            await db.delete_user(id)
            return "", 204

    app.add_url_rule("/users/<int:id>", view_func=UserAPI.as_view("user"))

``async def`` methods work under both servers.  When a class has any, the
view function :meth:`~View.as_view` returns is itself an ``async def``, so
under ASGI it runs on the event loop, and a ``def`` method of the same class
still runs in the thread pool, never blocking the loop.
"""

from __future__ import annotations

import asyncio
import typing as t
from collections.abc import Callable, Collection

from . import concurrency
from .concurrency import is_async_callable
from .exceptions import MethodNotAllowed
from .globals import current_app, request

__all__ = ["MethodView", "View", "http_method_funcs"]

#: The method names a :class:`MethodView` maps to HTTP methods.
http_method_funcs = frozenset(
    {"get", "post", "head", "options", "delete", "put", "trace", "patch"}
)


class View:
    """A view as a class: subclass it, implement :meth:`dispatch_request`,
    and register :meth:`as_view`'s function.

    By default a new instance serves each request, so ``self`` can hold
    per-request state (see :attr:`init_every_request`).
    """

    #: The methods the route accepts when ``add_url_rule`` is given none
    #: (``None``: ``GET``, plus the automatic ``HEAD`` and ``OPTIONS``).
    methods: t.ClassVar[Collection[str] | None] = None
    #: Overrides the automatic ``OPTIONS`` response for the route (``None``:
    #: the app's ``PROVIDE_AUTOMATIC_OPTIONS`` decides).
    provide_automatic_options: t.ClassVar[bool | None] = None
    #: Decorators applied, in order, to the function :meth:`as_view`
    #: returns (decorating the class or its methods would not affect it).
    decorators: t.ClassVar[list[Callable[..., t.Any]]] = []
    #: Make an instance for each request.  Set to ``False`` to make one when
    #: :meth:`as_view` is called and share it, which is faster; it must then
    #: keep no per-request state on ``self`` (use ``g``).
    init_every_request: t.ClassVar[bool] = True

    def dispatch_request(self, **kwargs: t.Any) -> t.Any:
        """Handle the request; gets the URL's values as keyword arguments
        and returns what a view function returns.  May be ``async def``.

        :param kwargs: the values of the rule's variables.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement dispatch_request(), the"
            " method that handles the request."
        )

    @classmethod
    def _dispatches_async(cls) -> bool:
        """Whether the view function must be ``async def``."""
        return is_async_callable(cls.dispatch_request)

    async def _dispatch_async(self, kwargs: dict[str, t.Any]) -> t.Any:
        """The request's dispatch when :meth:`_dispatches_async`."""
        return await self.dispatch_request(**kwargs)

    @classmethod
    def as_view(
        cls, name: str, *class_args: t.Any, **class_kwargs: t.Any
    ) -> Callable[..., t.Any]:
        """A view function for ``add_url_rule`` that dispatches to an
        instance of this class.

        The function carries ``view_class``, ``methods`` and
        ``provide_automatic_options`` for ``add_url_rule``; it is an
        ``async def`` when the class handles requests asynchronously.

        :param name: the endpoint name (and the function's ``__name__``).
        :param class_args: passed to the class's constructor.
        :param class_kwargs: passed to the class's constructor.
        """
        make: Callable[[], View]
        if cls.init_every_request:

            def make() -> View:
                return cls(*class_args, **class_kwargs)

        else:
            shared = cls(*class_args, **class_kwargs)

            def make() -> View:
                return shared

        view: t.Any
        if cls._dispatches_async():

            async def view(**kwargs: t.Any) -> t.Any:
                return await make()._dispatch_async(kwargs)

        else:

            def view(**kwargs: t.Any) -> t.Any:
                return make().dispatch_request(**kwargs)

        view.__name__ = view.__qualname__ = name
        view.__module__ = cls.__module__
        view.__doc__ = cls.__doc__
        for decorator in cls.decorators:
            view = decorator(view)
        # Set again: a decorator may return a function that does not copy
        # them, and add_url_rule reads methods from the outermost one.
        view.view_class = cls
        view.__name__ = name
        view.__module__ = cls.__module__
        view.__doc__ = cls.__doc__
        view.methods = cls.methods
        view.provide_automatic_options = cls.provide_automatic_options
        return t.cast(Callable[..., t.Any], view)


class MethodView(View):
    """A view that calls the method named after the request's HTTP method
    (``get``, ``post``, ``put``...), with the URL's values as keyword
    arguments.

    :attr:`methods` is filled in from the methods a subclass defines (and
    those of its bases); a ``HEAD`` request uses ``get`` when there is no
    ``head``.  Any of the methods may be ``async def``, and one class may mix
    both kinds.
    """

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        if "methods" in cls.__dict__:
            return
        found: set[str] = set()
        for base in cls.__bases__:
            found.update(getattr(base, "methods", None) or ())
        found.update(name.upper() for name in http_method_funcs if hasattr(cls, name))
        if found:
            cls.methods = found

    def _handler(self) -> Callable[..., t.Any]:
        """The method for the current request's HTTP method."""
        method = request.method
        handler = getattr(self, method.lower(), None)
        if handler is None and method == "HEAD":
            handler = getattr(self, "get", None)
        if handler is None:
            # The route allows a method the class does not implement (it
            # was given methods=... explicitly).
            allowed = {
                name.upper() for name in http_method_funcs if hasattr(self, name)
            }
            if "GET" in allowed:
                allowed.add("HEAD")
            raise MethodNotAllowed(valid_methods=allowed)
        return t.cast(Callable[..., t.Any], handler)

    def dispatch_request(self, **kwargs: t.Any) -> t.Any:
        """Call the method for the request's HTTP method.

        :param kwargs: the values of the rule's variables.
        :raises erlen.exceptions.MethodNotAllowed: the class does not
            implement the request's method.
        """
        return self._handler()(**kwargs)

    @classmethod
    def _dispatches_async(cls) -> bool:
        if cls.dispatch_request is not MethodView.dispatch_request:
            # A custom dispatch_request decides.
            return super()._dispatches_async()
        handlers = (getattr(cls, name, None) for name in http_method_funcs)
        return any(h is not None and is_async_callable(h) for h in handlers)

    async def _dispatch_async(self, kwargs: dict[str, t.Any]) -> t.Any:
        if type(self).dispatch_request is not MethodView.dispatch_request:
            return await super()._dispatch_async(kwargs)
        handler = self._handler()
        if is_async_callable(handler):
            return await handler(**kwargs)
        return await _call_sync(handler, kwargs)


async def _call_sync(func: Callable[..., t.Any], kwargs: dict[str, t.Any]) -> t.Any:
    """Call a ``def`` handler from an ``async def`` view without blocking an
    event loop other requests share."""
    loop = asyncio.get_running_loop()
    holder = getattr(concurrency._local, "holder", None)
    if holder is not None and holder.loop is loop:
        # This thread's private loop (the WSGI path): it runs only this
        # request, so calling inline blocks nothing and skips a thread hop.
        return func(**kwargs)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    runner = concurrency.run_async(app._get_executor())
    return await runner.in_thread(func, **kwargs)
