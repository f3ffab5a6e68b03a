"""Registration shared by the app and blueprints: routes, hooks and error
handlers.

Every registry is keyed by blueprint name (``None`` for the app), as in
Flask, so the pipeline finds the functions for a request's blueprints with
plain dict lookups.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import typing as t
from collections import defaultdict

from .exceptions import HTTPException, default_exceptions

if t.TYPE_CHECKING:
    from .wrappers import Response

__all__ = ["Scaffold", "setupmethod"]

F = t.TypeVar("F", bound=t.Callable[..., t.Any])
ExcKey = type[Exception] | int
ErrorHandler = t.Callable[[t.Any], t.Any]


def setupmethod(f: F) -> F:
    """Mark a method that registers something; it raises once the app has
    handled its first request, when a change would only half apply."""
    name = f.__name__

    def wrapper(self: Scaffold, *args: t.Any, **kwargs: t.Any) -> t.Any:
        self._check_setup_finished(name)
        return f(self, *args, **kwargs)

    wrapper.__name__ = name
    wrapper.__doc__ = f.__doc__
    wrapper.__qualname__ = f.__qualname__
    wrapper.__wrapped__ = f  # type: ignore[attr-defined]
    return t.cast(F, wrapper)


def get_root_path(import_name: str) -> str:
    """The folder of the module or package ``import_name`` (the current
    directory if it cannot be found, e.g. in an interactive shell)."""
    mod = sys.modules.get(import_name)
    filename: str | None = getattr(mod, "__file__", None)
    if filename is not None:
        return os.path.dirname(os.path.abspath(filename))
    try:
        spec = importlib.util.find_spec(import_name)
    except (ImportError, ValueError):
        spec = None
    if spec is None or spec.origin in (None, "namespace", "built-in", "frozen"):
        return os.getcwd()
    if spec.submodule_search_locations:
        return os.path.dirname(os.path.abspath(spec.origin))
    return os.path.dirname(os.path.abspath(spec.origin))


class Scaffold:
    """The registration API of :class:`~erlen.Erlen` and
    :class:`~erlen.Blueprint`.

    :param import_name: the module's ``__name__``; finds ``root_path``.
    :param static_folder: the folder of static files, relative to
        ``root_path``.
    :param static_url_path: the URL prefix of static files (default: the
        folder's name).
    :param template_folder: the folder of templates, relative to ``root_path``.
    :param root_path: the folder everything else is relative to.
    """

    _static_folder: str | None = None
    _static_url_path: str | None = None

    def __init__(
        self,
        import_name: str,
        static_folder: str | os.PathLike[str] | None = None,
        static_url_path: str | None = None,
        template_folder: str | os.PathLike[str] | None = None,
        root_path: str | None = None,
    ) -> None:
        #: The module name this object belongs to.
        self.import_name = import_name
        self.static_folder = static_folder
        self.static_url_path = static_url_path
        #: Templates folder, relative to :attr:`root_path`.
        self.template_folder = template_folder
        if root_path is None:
            root_path = get_root_path(self.import_name)
        #: The absolute folder this object's relative paths start from.
        self.root_path = root_path

        #: endpoint → view function.
        self.view_functions: dict[str, t.Callable[..., t.Any]] = {}
        #: blueprint name (``None`` = app) → status code or ``None`` →
        #: exception class → handler.
        self.error_handler_spec: dict[
            str | None, dict[int | None, dict[type[BaseException], ErrorHandler]]
        ] = defaultdict(lambda: defaultdict(dict))
        self.before_request_funcs: dict[str | None, list[t.Callable[[], t.Any]]] = (
            defaultdict(list)
        )
        self.after_request_funcs: dict[
            str | None, list[t.Callable[[Response], t.Any]]
        ] = defaultdict(list)
        self.teardown_request_funcs: dict[
            str | None, list[t.Callable[[BaseException | None], t.Any]]
        ] = defaultdict(list)
        self.template_context_processors: dict[
            str | None, list[t.Callable[[], dict[str, t.Any]]]
        ] = defaultdict(list)
        self.url_value_preprocessors: dict[
            str | None,
            list[t.Callable[[str | None, dict[str, t.Any] | None], None]],
        ] = defaultdict(list)
        self.url_default_functions: dict[
            str | None, list[t.Callable[[str, dict[str, t.Any]], None]]
        ] = defaultdict(list)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {getattr(self, 'name', '?')!r}>"

    def _check_setup_finished(self, f_name: str) -> None:
        raise NotImplementedError

    # -- static and template folders ---------------------------------------

    @property
    def static_folder(self) -> str | None:
        """The absolute path of the static folder, or ``None``."""
        if self._static_folder is not None:
            return os.path.join(self.root_path, self._static_folder)
        return None

    @static_folder.setter
    def static_folder(self, value: str | os.PathLike[str] | None) -> None:
        if value is not None:
            value = os.fspath(value).rstrip(r"\/")
        self._static_folder = value

    @property
    def has_static_folder(self) -> bool:
        """Whether a static folder is configured."""
        return self.static_folder is not None

    @property
    def static_url_path(self) -> str | None:
        """The URL prefix of static files."""
        if self._static_url_path is not None:
            return self._static_url_path
        if self.static_folder is not None:
            basename = os.path.basename(self.static_folder)
            return f"/{basename}".rstrip("/")
        return None

    @static_url_path.setter
    def static_url_path(self, value: str | None) -> None:
        if value is not None:
            value = value.rstrip("/")
        self._static_url_path = value

    def get_send_file_max_age(self, filename: str | None) -> int | None:
        """Seconds browsers may cache a file sent by :func:`~erlen.send_file`
        (the default of its ``max_age``): ``SEND_FILE_MAX_AGE_DEFAULT``.
        ``None``, the default, sends ``Cache-Control: no-cache``.  Override
        to choose by file name.

        :param filename: the file being sent, or ``None`` for a file object.
        """
        from .files import config_max_age

        return config_max_age(filename)

    def send_static_file(self, filename: str) -> Response:
        """The view of the ``static`` endpoint: a file from
        :attr:`static_folder` (a path leaving it is a 404)."""
        if self.static_folder is None:
            raise RuntimeError(
                f"{self!r} has no static_folder to serve static files from."
            )
        from .files import send_from_directory

        return send_from_directory(
            self.static_folder, filename, max_age=self.get_send_file_max_age(filename)
        )

    def open_resource(
        self, resource: str, mode: str = "rb", encoding: str | None = None
    ) -> t.IO[t.Any]:
        """Open a file relative to :attr:`root_path` for reading."""
        if mode not in {"r", "rt", "rb"}:
            raise ValueError("Resources can only be opened for reading.")
        path = os.path.join(self.root_path, resource)
        if mode == "rb":
            return open(path, mode)  # noqa: SIM115
        return open(path, mode, encoding=encoding)  # noqa: SIM115

    # -- routes ---------------------------------------------------------------

    def _method_route(
        self, method: str, rule: str, options: dict[str, t.Any]
    ) -> t.Callable[[F], F]:
        if "methods" in options:
            raise TypeError("Use the 'route' decorator to use the 'methods' argument.")
        return self.route(rule, methods=[method], **options)

    @setupmethod
    def get(self, rule: str, **options: t.Any) -> t.Callable[[F], F]:
        """``route(rule, methods=["GET"])``."""
        return self._method_route("GET", rule, options)

    @setupmethod
    def post(self, rule: str, **options: t.Any) -> t.Callable[[F], F]:
        """``route(rule, methods=["POST"])``."""
        return self._method_route("POST", rule, options)

    @setupmethod
    def put(self, rule: str, **options: t.Any) -> t.Callable[[F], F]:
        """``route(rule, methods=["PUT"])``."""
        return self._method_route("PUT", rule, options)

    @setupmethod
    def delete(self, rule: str, **options: t.Any) -> t.Callable[[F], F]:
        """``route(rule, methods=["DELETE"])``."""
        return self._method_route("DELETE", rule, options)

    @setupmethod
    def patch(self, rule: str, **options: t.Any) -> t.Callable[[F], F]:
        """``route(rule, methods=["PATCH"])``."""
        return self._method_route("PATCH", rule, options)

    @setupmethod
    def route(self, rule: str, **options: t.Any) -> t.Callable[[F], F]:
        """Register the decorated function for a URL rule::

            @app.route("/user/<int:user_id>", methods=["GET", "POST"])
            def user(user_id): ...

        :param rule: the URL rule, with ``<converter:name>`` variables.
        :param options: ``endpoint`` (default: the function's name),
            ``methods``, ``defaults``, ``strict_slashes``, ``redirect_to``,
            ``subdomain``, ``host``, ``provide_automatic_options``.
        """

        def decorator(f: F) -> F:
            endpoint = options.pop("endpoint", None)
            self.add_url_rule(rule, endpoint, f, **options)
            return f

        return decorator

    @setupmethod
    def websocket(self, rule: str, **options: t.Any) -> t.Callable[[F], F]:
        """Register the decorated ``async def`` function as the handler of
        websocket connections to ``rule`` (ASGI only)::

            @app.websocket("/ws/<int:room>")
            async def room(room):
                async for message in websocket:
                    await websocket.send_text(message)

        Converters, ``url_for`` and hooks work as for any route.
        """

        def decorator(f: F) -> F:
            from .concurrency import is_async_callable

            if not is_async_callable(f):
                raise TypeError(
                    f"Websocket handler {getattr(f, '__name__', f)!r} must be an"
                    " 'async def' function: a websocket is used with await."
                )
            endpoint = options.pop("endpoint", None)
            self.add_url_rule(
                rule,
                endpoint,
                f,
                websocket=True,
                provide_automatic_options=False,
                **options,
            )
            return f

        return decorator

    @setupmethod
    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: t.Callable[..., t.Any] | None = None,
        provide_automatic_options: bool | None = None,
        **options: t.Any,
    ) -> None:
        """Register a URL rule; the ``route`` decorator calls this.

        :param rule: the URL rule string.
        :param endpoint: the endpoint name (default: ``view_func.__name__``).
        :param view_func: the function to call (may be added later with
            :meth:`endpoint`).
        :param provide_automatic_options: answer ``OPTIONS`` automatically.
        """
        raise NotImplementedError

    @setupmethod
    def endpoint(self, endpoint: str) -> t.Callable[[F], F]:
        """Register the decorated function as the view for ``endpoint``."""

        def decorator(f: F) -> F:
            self.view_functions[endpoint] = f
            return f

        return decorator

    # -- hooks ----------------------------------------------------------------

    @setupmethod
    def before_request(self, f: F) -> F:
        """Run ``f()`` before each request's view.  A return value other than
        ``None`` is used as the response and the view is not called."""
        self.before_request_funcs.setdefault(None, []).append(f)
        return f

    @setupmethod
    def after_request(self, f: F) -> F:
        """Run ``f(response)`` after each request's view; it returns the
        response to send (the same or a new one).  Not run when an unhandled
        exception occurred."""
        self.after_request_funcs.setdefault(None, []).append(f)
        return f

    @setupmethod
    def teardown_request(self, f: F) -> F:
        """Run ``f(exc)`` when the request ends, always, with the unhandled
        exception or ``None``.  Its return value is ignored; an exception it
        raises is logged and does not stop the other teardown functions."""
        self.teardown_request_funcs.setdefault(None, []).append(f)
        return f

    @setupmethod
    def context_processor(self, f: F) -> F:
        """Register a function returning a dict of names for templates."""
        self.template_context_processors[None].append(f)
        return f

    @setupmethod
    def url_value_preprocessor(self, f: F) -> F:
        """Run ``f(endpoint, values)`` before the ``before_request`` hooks;
        it may pop values from the matched URL values."""
        self.url_value_preprocessors[None].append(f)
        return f

    @setupmethod
    def url_defaults(self, f: F) -> F:
        """Run ``f(endpoint, values)`` when building URLs; it may add values
        in place.  It must be a ``def``: ``url_for`` is synchronous."""
        _check_sync(f, "url_defaults")
        self.url_default_functions[None].append(f)
        return f

    # -- error handlers -------------------------------------------------------

    @setupmethod
    def errorhandler(self, code_or_exception: ExcKey) -> t.Callable[[F], F]:
        """Register the decorated function for a status code or an exception
        class::

            @app.errorhandler(404)
            def not_found(e):
                return "nothing here", 404

        Handlers are found through the exception's class hierarchy, so one
        for ``HTTPException`` handles every HTTP error without its own.
        """

        def decorator(f: F) -> F:
            self.register_error_handler(code_or_exception, f)
            return f

        return decorator

    @setupmethod
    def register_error_handler(
        self, code_or_exception: ExcKey, f: ErrorHandler
    ) -> None:
        """The non-decorator form of :meth:`errorhandler`."""
        exc_class, code = self._get_exc_class_and_code(code_or_exception)
        self.error_handler_spec[None][code][exc_class] = f

    @staticmethod
    def _get_exc_class_and_code(
        exc_class_or_code: ExcKey,
    ) -> tuple[type[BaseException], int | None]:
        exc_class: type[BaseException]
        if isinstance(exc_class_or_code, int):
            try:
                exc_class = default_exceptions[exc_class_or_code]
            except KeyError:
                raise ValueError(
                    f"'{exc_class_or_code}' is not a recognized HTTP error code."
                    " Use a subclass of HTTPException with that code instead."
                ) from None
        else:
            exc_class = exc_class_or_code
        if isinstance(exc_class, Exception):
            raise TypeError(
                f"{exc_class!r} is an instance, not a class. Handlers can only be"
                " registered for Exception classes or HTTP error codes."
            )
        if not isinstance(exc_class, type) or not issubclass(exc_class, Exception):
            raise ValueError(
                f"'{exc_class!r}' is not a subclass of Exception. Handlers can only"
                " be registered for Exception classes or HTTP error codes."
            )
        if issubclass(exc_class, HTTPException):
            return exc_class, exc_class.code
        return exc_class, None


def _check_sync(f: t.Callable[..., t.Any], kind: str) -> None:
    """Refuse an ``async def`` where Erlen calls the function synchronously."""
    from .concurrency import is_async_callable

    if is_async_callable(f):
        raise TypeError(
            f"{kind} functions are called by url_for(), which is synchronous,"
            f" so {getattr(f, '__name__', f)!r} cannot be 'async def'. Make it"
            " a plain 'def' (it only edits the values dict)."
        )


def _find_package_path(import_name: str) -> str:
    """The folder that contains the top-level package or module."""
    root_mod_name, _, _ = import_name.partition(".")
    try:
        spec = importlib.util.find_spec(root_mod_name)
    except (ImportError, ValueError):
        spec = None
    if spec is None or spec.origin in (None, "namespace", "built-in", "frozen"):
        return os.getcwd()
    if spec.submodule_search_locations:
        return os.path.dirname(os.path.dirname(os.path.abspath(spec.origin)))
    return os.path.dirname(os.path.abspath(spec.origin))


def find_instance_path(import_name: str) -> str:
    """Flask's default instance folder: ``instance`` beside the package, or
    ``<prefix>/var/<name>-instance`` for an installed package."""
    package_path = _find_package_path(import_name)
    site_parent, site_folder = os.path.split(package_path)
    if site_folder.lower() == "site-packages":
        parent, folder = os.path.split(site_parent)
        if folder.lower() == "lib":
            prefix = parent
        elif os.path.basename(parent).lower() == "lib":
            prefix = os.path.dirname(parent)
        else:
            prefix = site_parent
        return os.path.join(prefix, "var", f"{import_name}-instance")
    return os.path.join(package_path, "instance")
