"""The application object."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import sys
import typing as t
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import cached_property
from threading import Lock
from urllib.parse import quote

from . import exceptions as exc
from . import signals
from .concurrency import (
    AsyncRunner,
    Runner,
    drive,
    run_async,
    run_inline,
)
from .config import Config, ConfigAttribute
from .ctx import AppContext, RequestContext, _AppCtxGlobals
from .globals import _cv_request, _find_app_ctx
from .json import DefaultJSONProvider, JSONProvider
from .pipeline import (
    call_teardown_funcs,
    finalize,
    handle_user_exception,
    teardown,
)
from .routing import BuildError, Map, Rule
from .scaffold import Scaffold, find_instance_path, setupmethod
from .security import _escape, add_security_headers, check_cross_origin, csrf_token
from .wrappers import Request, Response
from .wsgi import wsgi_app as _wsgi_app

if t.TYPE_CHECKING:
    from jinja2 import BaseLoader

    from .blueprints import Blueprint
    from .cli import ErlenCliRunner
    from .sessions import SessionInterface, SessionMixin
    from .templating import Environment
    from .testing import ErlenClient

__all__ = ["Erlen"]

F = t.TypeVar("F", bound=t.Callable[..., t.Any])

#: Every configuration key with its default; Flask's keys and values, plus
#: Erlen's own at the end.  Where a value differs from Flask's, it is a
#: safer default (see the "Security" page of the docs).
DEFAULT_CONFIG: dict[str, t.Any] = {
    "DEBUG": None,
    "TESTING": False,
    "PROPAGATE_EXCEPTIONS": None,
    "SECRET_KEY": None,
    "SECRET_KEY_FALLBACKS": None,
    "PERMANENT_SESSION_LIFETIME": timedelta(days=31),
    "USE_X_SENDFILE": False,
    "TRUSTED_HOSTS": None,
    "SERVER_NAME": None,
    "APPLICATION_ROOT": "/",
    "SESSION_COOKIE_NAME": "session",
    "SESSION_COOKIE_DOMAIN": None,
    "SESSION_COOKIE_PATH": None,
    "SESSION_COOKIE_HTTPONLY": True,
    # Erlen: None (Flask: False) sets Secure when the request is HTTPS.
    "SESSION_COOKIE_SECURE": None,
    "SESSION_COOKIE_PARTITIONED": False,
    # Erlen: "Lax" (Flask: None, no SameSite attribute).
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_REFRESH_EACH_REQUEST": True,
    # Erlen: 16 MiB (Flask: None, no limit).
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    "MAX_FORM_MEMORY_SIZE": 500_000,
    "MAX_FORM_PARTS": 1_000,
    "SEND_FILE_MAX_AGE_DEFAULT": None,
    "TRAP_BAD_REQUEST_ERRORS": None,
    "TRAP_HTTP_EXCEPTIONS": False,
    "EXPLAIN_TEMPLATE_LOADING": False,
    "PREFERRED_URL_SCHEME": "http",
    "TEMPLATES_AUTO_RELOAD": None,
    "MAX_COOKIE_SIZE": 4093,
    "PROVIDE_AUTOMATIC_OPTIONS": True,
    # Erlen: threads that run ``def`` views and hooks under ASGI.
    "SYNC_THREAD_POOL_SIZE": 40,
    # Erlen: the largest incoming websocket message (bytes); bigger closes
    # the connection with 1009.  None for no limit.
    "WEBSOCKET_MAX_MESSAGE_SIZE": 1024 * 1024,
    # Erlen: seconds to wait at shutdown for background tasks to finish.
    "BACKGROUND_TASK_SHUTDOWN_TIMEOUT": 5.0,
    # Erlen: the most fields in the query string or a urlencoded body
    # (multipart: MAX_FORM_PARTS); more is a 413.  None for no limit.
    "MAX_FORM_FIELDS": 1_000,
    # Erlen: the most request header fields, and their total size in bytes
    # (names and values); more is a 431.  None for no limit.
    "MAX_HEADER_COUNT": 100,
    "MAX_HEADER_SIZE": 64 * 1024,
    # Erlen: refuse unsafe requests (POST, PUT, PATCH, DELETE...) and
    # websocket handshakes coming from other sites, with a 403.
    "CROSS_ORIGIN_PROTECTION": True,
    # Erlen: origins ("https://app.example.com", "https://*.example.com")
    # whose requests cross-origin protection lets through.
    "TRUSTED_ORIGINS": [],
    # Erlen: hop counts of the proxies that set X-Forwarded-* headers, e.g.
    # {"x_for": 1, "x_proto": 1}; None ignores those headers.
    "PROXY_FIX": None,
    # Erlen: headers added to every response; merged over
    # erlen.security.DEFAULT_SECURITY_HEADERS, a None value removes one.
    "SECURITY_HEADERS": {},
    # Erlen: Strict-Transport-Security on HTTPS responses: max-age in
    # seconds (None: no header), includeSubDomains, preload.
    "HSTS_MAX_AGE": None,
    "HSTS_INCLUDE_SUBDOMAINS": False,
    "HSTS_PRELOAD": False,
}

#: Added to ``TRUSTED_HOSTS`` in debug mode, for the development server.
_DEBUG_HOSTS = ("localhost", "127.0.0.1", "[::1]")


class Erlen(Scaffold):
    """The application: routes, hooks, config, and the WSGI and ASGI entry
    points.

    ``app`` itself is the WSGI callable (``gunicorn mod:app``) and
    :attr:`asgi` the ASGI one (``uvicorn mod:app.asgi``); both run the same
    pipeline.

    :param import_name: the app module's ``__name__``; it locates
        :attr:`root_path`, templates and static files.
    :param static_url_path: URL prefix of static files (default
        ``/<static_folder>``).
    :param static_folder: folder of static files, relative to ``root_path``;
        ``None`` for no static route.
    :param static_host: the host of the static route when ``host_matching``.
    :param host_matching: match rules on ``host`` instead of ``subdomain``.
    :param subdomain_matching: match rules' ``subdomain`` against the host
        under ``SERVER_NAME``.
    :param template_folder: folder of templates, relative to ``root_path``.
    :param instance_path: absolute path of the instance folder (default:
        ``instance`` beside the package).
    :param instance_relative_config: config files are relative to the instance
        folder instead of ``root_path``.
    :param root_path: the app's folder, when ``import_name`` cannot find it.
    """

    request_class: type[Request] = Request
    response_class: type[Response] = Response
    app_ctx_globals_class = _AppCtxGlobals
    config_class = Config
    url_rule_class = Rule
    url_map_class = Map
    json_provider_class: type[JSONProvider] = DefaultJSONProvider
    #: The client class of :meth:`test_client`; ``None`` for
    #: :class:`erlen.testing.ErlenClient`.
    test_client_class: type[ErlenClient] | None = None
    aborter_class = exc.Aborter
    default_config = DEFAULT_CONFIG

    #: ``TESTING`` from the config: exceptions propagate to the test client
    #: instead of becoming 500 responses.
    testing = ConfigAttribute[bool]("TESTING")
    #: ``SECRET_KEY`` from the config; signs the session cookie.
    secret_key = ConfigAttribute[str | bytes | None]("SECRET_KEY")
    #: ``PERMANENT_SESSION_LIFETIME`` from the config.
    permanent_session_lifetime = ConfigAttribute[timedelta](
        "PERMANENT_SESSION_LIFETIME",
        get_converter=lambda v: timedelta(seconds=v) if isinstance(v, int) else v,
    )

    def __init__(
        self,
        import_name: str,
        static_url_path: str | None = None,
        static_folder: str | os.PathLike[str] | None = "static",
        static_host: str | None = None,
        host_matching: bool = False,
        subdomain_matching: bool = False,
        template_folder: str | os.PathLike[str] | None = "templates",
        instance_path: str | None = None,
        instance_relative_config: bool = False,
        root_path: str | None = None,
    ) -> None:
        super().__init__(
            import_name,
            static_folder=static_folder,
            static_url_path=static_url_path,
            template_folder=template_folder,
            root_path=root_path,
        )
        if instance_path is None:
            instance_path = find_instance_path(import_name)
        elif not os.path.isabs(instance_path):
            raise ValueError(
                "If an instance path is provided it must be absolute."
                " A relative path was given instead."
            )
        #: The instance folder: for files that are not under version control
        #: (config, databases).  Not created automatically.
        self.instance_path = instance_path
        #: The configuration dict; see :class:`~erlen.config.Config`.
        self.config = self.make_config(instance_relative_config)
        #: Raises the HTTP exception for a status code; used by ``abort``.
        self.aborter = self.aborter_class()
        #: The JSON provider used by ``jsonify`` and ``request.json``.
        self.json: JSONProvider = self.json_provider_class(self)
        #: Functions called with ``(error, endpoint, values)`` when
        #: ``url_for`` fails; one returning a non-``None`` URL wins.
        self.url_build_error_handlers: list[
            t.Callable[[Exception, str, dict[str, t.Any]], str]
        ] = []
        self.teardown_appcontext_funcs: list[
            t.Callable[[BaseException | None], t.Any]
        ] = []
        self.shell_context_processors: list[t.Callable[[], dict[str, t.Any]]] = []
        #: Registered blueprints by (dotted) name.
        self.blueprints: dict[str, Blueprint] = {}
        #: A place for extensions to keep their state.
        self.extensions: dict[str, t.Any] = {}
        #: The URL rules; register custom converters in
        #: ``url_map.converters`` before adding rules that use them.
        self.url_map = self.url_map_class(host_matching=host_matching)
        self.subdomain_matching = subdomain_matching
        self._got_first_request = False
        self._executor: ThreadPoolExecutor | None = None
        self._runner: AsyncRunner | None = None
        self._executor_lock = Lock()
        self._all_sync: bool | None = None
        self._logger: logging.Logger | None = None
        #: Functions run once per process before serving / after serving.
        self.before_serving_funcs: list[t.Callable[[], t.Any]] = []
        self.after_serving_funcs: list[t.Callable[[], t.Any]] = []
        self._serving = False
        self._serving_lock = Lock()
        self._wsgi_startup_lock = Lock()
        self._starting = False
        self._background_tasks: set[asyncio.Task[t.Any]] = set()
        # Settings derived from the config on first use, each kept with the
        # config values it was derived from (see erlen.security).
        self._trusted_hosts_cache: tuple[t.Any, t.Any] | None = None
        self._trusted_origins_cache: tuple[t.Any, t.Any] | None = None
        self._security_headers_cache: t.Any = None
        self._csrf_serializer_cache: tuple[t.Any, t.Any] | None = None

        if self.has_static_folder:
            if bool(static_host) != host_matching:
                raise ValueError(
                    "Invalid static_host/host_matching combination: with"
                    " host_matching=True pass static_host, and only then."
                )
            self.add_url_rule(
                f"{self.static_url_path}/<path:filename>",
                endpoint="static",
                host=static_host,
                view_func=self.send_static_file,
            )

        from .asgi import ASGIApp
        from .cli import AppGroup

        #: The ASGI 3 application: ``uvicorn mod:app.asgi``.
        self.asgi = ASGIApp(self)
        #: The app's commands for the ``erlen`` command line; add one with
        #: ``@app.cli.command()``.
        self.cli = AppGroup(self.name)

    def make_config(self, instance_relative: bool = False) -> Config:
        """The app's :class:`~erlen.config.Config`: :attr:`default_config`,
        with ``DEBUG`` from the ``ERLEN_DEBUG`` environment variable.

        :param instance_relative: relative file names in the config are
            relative to :attr:`instance_path` instead of :attr:`root_path`.
        """
        from .helpers import get_debug_flag

        root_path = self.instance_path if instance_relative else self.root_path
        # Copies of the list and dict values, so changing one app's
        # TRUSTED_ORIGINS or SECURITY_HEADERS in place changes no other's.
        defaults = {
            k: v.copy() if isinstance(v, (list, dict)) else v
            for k, v in self.default_config.items()
        }
        defaults["DEBUG"] = get_debug_flag()
        return self.config_class(root_path, defaults)

    # -- properties -----------------------------------------------------------

    @property
    def name(self) -> str:
        """The app's name: the import name, or the script's name when run as
        ``__main__``."""
        if self.import_name == "__main__":
            fn: str | None = getattr(sys.modules["__main__"], "__file__", None)
            if fn is None:
                return "__main__"
            return os.path.splitext(os.path.basename(fn))[0]
        return self.import_name

    @property
    def debug(self) -> bool:
        """Debug mode (``DEBUG`` in the config): unhandled errors propagate
        to the server's debugger and more detail is shown."""
        return bool(self.config["DEBUG"])

    @debug.setter
    def debug(self, value: bool) -> None:
        self.config["DEBUG"] = value
        if (
            self.config["TEMPLATES_AUTO_RELOAD"] is None
            and "jinja_env" in self.__dict__
        ):
            self.jinja_env.auto_reload = value

    @property
    def logger(self) -> logging.Logger:
        """The ``logging`` logger named after the app.  Erlen adds a handler
        only when none is configured for it or its parents."""
        if self._logger is None:
            from .logging import create_logger

            self._logger = create_logger(self)
        return self._logger

    @property
    def session_interface(self) -> SessionInterface:
        """The session implementation; a signed cookie by default."""
        si = self.__dict__.get("_session_interface")
        if si is None:
            from .sessions import SecureCookieSessionInterface

            si = SecureCookieSessionInterface()
            self.__dict__["_session_interface"] = si
        return si

    @session_interface.setter
    def session_interface(self, value: SessionInterface) -> None:
        self.__dict__["_session_interface"] = value

    def _check_setup_finished(self, f_name: str) -> None:
        if self._got_first_request:
            raise AssertionError(
                f"'{f_name}' was called after the app already handled its"
                " first request: requests in flight would see the app half"
                " changed, so registration is closed.\n"
                "Register every route, hook, blueprint and handler while"
                " setting the app up (at import time or in the app factory),"
                " before it serves requests."
            )

    # -- registration ---------------------------------------------------------

    @setupmethod
    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: t.Callable[..., t.Any] | None = None,
        provide_automatic_options: bool | None = None,
        **options: t.Any,
    ) -> None:
        if endpoint is None:
            if view_func is None:
                raise TypeError(
                    "add_url_rule() needs an endpoint or a view_func to name it."
                )
            endpoint = view_func.__name__
        options["endpoint"] = endpoint
        stream_body = bool(options.pop("stream_body", False))
        methods = options.pop("methods", None)
        if methods is None:
            methods = getattr(view_func, "methods", None) or ("GET",)
        if isinstance(methods, str):
            raise TypeError(
                "Allowed methods must be a list of strings, for example:"
                ' @app.route(..., methods=["POST"])'
            )
        methods = {item.upper() for item in methods}
        required = set(getattr(view_func, "required_methods", ()))
        if provide_automatic_options is None:
            provide_automatic_options = getattr(
                view_func, "provide_automatic_options", None
            )
        if provide_automatic_options is None:
            if "OPTIONS" not in methods and self.config["PROVIDE_AUTOMATIC_OPTIONS"]:
                provide_automatic_options = True
                required.add("OPTIONS")
            else:
                provide_automatic_options = False
        methods |= required
        rule_obj = self.url_rule_class(
            rule,
            methods=methods,
            provide_automatic_options=provide_automatic_options,
            **options,
        )
        rule_obj.stream_body = stream_body
        self.url_map.add(rule_obj)
        if view_func is not None:
            old = self.view_functions.get(endpoint)
            if old is not None and old != view_func:
                raise AssertionError(
                    "View function mapping is overwriting an existing endpoint"
                    f" function: {endpoint}. Give the new route another"
                    " endpoint name with endpoint='...'."
                )
            self.view_functions[endpoint] = view_func

    def open_instance_resource(
        self, resource: str, mode: str = "rb", encoding: str | None = "utf-8"
    ) -> t.IO[t.Any]:
        """Open a file relative to :attr:`instance_path`.

        Unlike :meth:`open_resource`, the instance folder holds files of one
        deployment (a database, local config), so any mode is allowed,
        writing included.

        :param resource: the file's path below the instance folder.
        :param mode: as for :func:`open`.
        :param encoding: the text encoding in a text mode; ignored in a
            binary one.
        """
        path = os.path.join(self.instance_path, resource)
        if "b" in mode:
            return open(path, mode)  # noqa: SIM115
        return open(path, mode, encoding=encoding)  # noqa: SIM115

    @setupmethod
    def teardown_appcontext(self, f: F) -> F:
        """Run ``f(exc)`` when each app context ends (after every request and
        CLI command); typical for closing a database connection in ``g``."""
        self.teardown_appcontext_funcs.append(f)
        return f

    @setupmethod
    def before_serving(self, f: F) -> F:
        """Run ``f()`` once per process before the first request: at ASGI
        lifespan startup, or before the first WSGI request.  ``def`` or
        ``async def``.  If it raises, an ASGI server refuses to start."""
        self.before_serving_funcs.append(f)
        return f

    @setupmethod
    def after_serving(self, f: F) -> F:
        """Run ``f()`` once at ASGI lifespan shutdown, after background tasks
        have finished (WSGI servers send no shutdown event)."""
        self.after_serving_funcs.append(f)
        return f

    async def _startup(self, run: Runner) -> None:
        with self._serving_lock:
            if self._serving or self._starting:
                return
            self._starting = True
        try:
            with self.app_context():
                for func in self.before_serving_funcs:
                    await run(func)
            # Only now: a WSGI request that sees it may be served.
            self._serving = True
        finally:
            self._starting = False

    def _ensure_started(self) -> None:
        """Under WSGI: run the ``before_serving`` functions before the first
        request."""
        if self._serving or not self.before_serving_funcs:
            return
        # Held while the functions run: concurrent first requests wait for
        # them instead of being served before startup has finished.
        with self._wsgi_startup_lock:
            if not self._serving:
                drive(self._startup(run_inline))

    async def _shutdown(self, run: Runner) -> None:
        tasks = set(self._background_tasks)
        if tasks:
            _, pending = await asyncio.wait(
                tasks, timeout=self.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"]
            )
            for task in pending:
                task.cancel()
            if pending:
                # Let the cancelled tasks run their cleanup before the
                # after_serving functions close what they use.
                await asyncio.wait(pending)
        with self.app_context():
            for func in self.after_serving_funcs:
                await run(func)
        executor = self._executor
        if executor is not None:
            executor.shutdown(wait=False)
            self._executor = None
        self._serving = False

    def add_background_task(
        self, func: t.Callable[..., t.Any], *args: t.Any, **kwargs: t.Any
    ) -> None:
        """Run ``func(*args, **kwargs)`` (``def`` or ``async def``) after
        the current response has been sent, in an app context.

        Under ASGI it runs as a task on the server's loop, and shutdown waits
        for it up to ``BACKGROUND_TASK_SHUTDOWN_TIMEOUT`` seconds; under WSGI
        it runs in the worker once the body was sent.  Outside a request it
        starts right away (ASGI) or runs now (WSGI).
        """
        ctx = _cv_request.get(None)
        if ctx is not None and ctx.app is self:
            ctx._add_background(func, args, kwargs)
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            with self.app_context():
                drive(run_inline(func, *args, **kwargs))
            return
        self._spawn(self._async_runner(), func, args, kwargs)

    def _spawn(
        self,
        run: Runner,
        func: t.Callable[..., t.Any],
        args: tuple[t.Any, ...],
        kwargs: dict[str, t.Any],
    ) -> None:
        async def task() -> None:
            try:
                with self.app_context():
                    await run(func, *args, **kwargs)
            except Exception:
                self.logger.exception("Error in background task %r", func)

        future = asyncio.ensure_future(task())
        self._background_tasks.add(future)
        future.add_done_callback(self._background_tasks.discard)

    def _start_background_tasks(self, ctx: RequestContext, run: Runner) -> None:
        """Start (ASGI) the request's background tasks, after its response."""
        for func, args, kwargs in ctx._background:
            self._spawn(run, func, args, kwargs)
        ctx._background = ()

    def _run_background_tasks(self, ctx: RequestContext) -> None:
        """Run (WSGI) the request's background tasks, after its response."""
        tasks, ctx._background = ctx._background, ()
        for func, args, kwargs in tasks:
            try:
                with self.app_context():
                    drive(run_inline(func, *args, **kwargs))
            except Exception:
                self.logger.exception("Error in background task %r", func)

    @setupmethod
    def shell_context_processor(self, f: F) -> F:
        """Register a function returning names for ``erlen shell``."""
        self.shell_context_processors.append(f)
        return f

    # -- templates ------------------------------------------------------------

    #: Options for the Jinja2 environment, set before it is first used.
    jinja_options: dict[str, t.Any] = {}

    @cached_property
    def jinja_env(self) -> Environment:
        """The Jinja2 environment, created on first use."""
        return self.create_jinja_environment()

    @cached_property
    def jinja_loader(self) -> BaseLoader | None:
        """The loader of the app's template folder."""
        from .templating import template_loader

        return template_loader(self)

    @property
    def templates_auto_reload(self) -> bool:
        """Whether a template file edited on disk is loaded again on its next
        render (``TEMPLATES_AUTO_RELOAD``; when unset, in debug mode).  Read
        at each template lookup, so changing the config takes effect at
        once."""
        value = self.config["TEMPLATES_AUTO_RELOAD"]
        return bool(self.debug if value is None else value)

    @templates_auto_reload.setter
    def templates_auto_reload(self, value: bool | None) -> None:
        self.config["TEMPLATES_AUTO_RELOAD"] = value

    def create_jinja_environment(self) -> Environment:
        """Make the Jinja2 environment from :attr:`jinja_options`:
        autoescape for ``.html``, ``.htm``, ``.xml``, ``.xhtml``, ``.svg``
        and string templates, reloading per :attr:`templates_auto_reload`,
        the globals every template sees (``url_for``,
        ``get_flashed_messages``, ``config``, ``request``, ``session``,
        ``g``, ``csrf_token``) and the HTML-safe ``|tojson`` filter."""
        from .globals import g, request, session
        from .helpers import get_flashed_messages
        from .templating import Environment, select_autoescape, tojson_filter

        options = dict(self.jinja_options)
        options.setdefault("autoescape", select_autoescape)
        env = Environment(self, **options)
        env.globals.update(
            url_for=self.url_for,
            get_flashed_messages=get_flashed_messages,
            config=self.config,
            request=request,
            session=session,
            g=g,
            csrf_token=csrf_token,
        )
        env.filters["tojson"] = tojson_filter
        env.policies["json.dumps_function"] = self.json.dumps
        return env

    def update_template_context(self, context: dict[str, t.Any]) -> None:
        """Add ``g``, ``request``, ``session`` and the context processors'
        names (app first, then the request's blueprints) to ``context``.
        Names passed to ``render_template`` win."""
        # The current g and request objects: faster to look up than the
        # proxies in the environment's globals.  session stays the proxy:
        # the object here would read the cookie on every render, even for
        # a template that never uses it.
        names: dict[str, t.Any] = {}
        app_ctx = _find_app_ctx()
        if app_ctx is not None:
            names["g"] = app_ctx.g
        req_ctx = _cv_request.get(None)
        if req_ctx is not None:
            names["request"] = req_ctx.request
        processors = self.template_context_processors
        if any(processors.values()):
            from .templating import _context_from

            scopes: tuple[str | None, ...] = (None,)
            if req_ctx is not None:
                scopes = (None, *reversed(req_ctx.request.blueprints))
            for scope in scopes:
                for func in processors.get(scope, ()):
                    names.update(_context_from(func))
        context.update({**names, **context})

    def _template_registration(
        self, registry: str, name_or_func: t.Any, name: str | None = None
    ) -> t.Any:
        """Add to ``jinja_env.<registry>`` directly (``add_*`` forms and
        decorators used without parentheses) or return a decorator that
        does (``@app.template_filter("name")``)."""
        if name is not None or callable(name_or_func):
            func = name_or_func
            getattr(self.jinja_env, registry)[name or func.__name__] = func
            return func

        def decorator(f: F) -> F:
            getattr(self.jinja_env, registry)[name_or_func or f.__name__] = f
            return f

        return decorator

    @t.overload
    def template_filter(self, name: F) -> F: ...
    @t.overload
    def template_filter(self, name: str | None = None) -> t.Callable[[F], F]: ...
    @setupmethod
    def template_filter(self, name: t.Any = None) -> t.Any:
        """Register a Jinja filter, with or without parentheses::

            @app.template_filter
            def reverse(s):
                return s[::-1]

            @app.template_filter("rev")
            def reverse_text(s):
                return s[::-1]

        :param name: the filter's name in templates (default: the function's
            name), or the function itself when used without parentheses.
        """
        return self._template_registration("filters", name)

    @setupmethod
    def add_template_filter(
        self, f: t.Callable[..., t.Any], name: str | None = None
    ) -> None:
        """The non-decorator form of :meth:`template_filter`."""
        self._template_registration("filters", f, name)

    @t.overload
    def template_test(self, name: F) -> F: ...
    @t.overload
    def template_test(self, name: str | None = None) -> t.Callable[[F], F]: ...
    @setupmethod
    def template_test(self, name: t.Any = None) -> t.Any:
        """Register a Jinja test (``{% if n is prime %}``), with or without
        parentheses.

        :param name: the test's name in templates (default: the function's
            name), or the function itself when used without parentheses.
        """
        return self._template_registration("tests", name)

    @setupmethod
    def add_template_test(
        self, f: t.Callable[..., bool], name: str | None = None
    ) -> None:
        """The non-decorator form of :meth:`template_test`."""
        self._template_registration("tests", f, name)

    @t.overload
    def template_global(self, name: F) -> F: ...
    @t.overload
    def template_global(self, name: str | None = None) -> t.Callable[[F], F]: ...
    @setupmethod
    def template_global(self, name: t.Any = None) -> t.Any:
        """Register a function available in every template, with or without
        parentheses.

        :param name: its name in templates (default: the function's name),
            or the function itself when used without parentheses.
        """
        return self._template_registration("globals", name)

    @setupmethod
    def add_template_global(
        self, f: t.Callable[..., t.Any], name: str | None = None
    ) -> None:
        """The non-decorator form of :meth:`template_global`; with a
        ``name``, ``f`` may be any value, not only a function."""
        self._template_registration("globals", f, name)

    # -- blueprints -----------------------------------------------------------

    def register_blueprint(self, blueprint: Blueprint, **options: t.Any) -> None:
        """Register a blueprint's routes, hooks, templates and static files.

        Every blueprint must be registered before the app handles its first
        request.

        :param options: override the blueprint's ``url_prefix``,
            ``subdomain``, ``url_defaults`` or ``cli_group``, or register it
            again under another ``name``.  Other options are kept in
            :attr:`BlueprintSetupState.options
            <erlen.blueprints.BlueprintSetupState.options>` for the
            blueprint's :meth:`~erlen.Blueprint.record` functions.
        """
        if self._got_first_request:
            # AssertionError, like every setup method called too late.
            raise AssertionError(
                f"The blueprint {blueprint.name!r} cannot be registered: the"
                f" app {self.name!r} has already handled a request, and routes"
                " added now would apply to some requests and not others."
                " Register every blueprint while setting the app up, before it"
                " serves (for example in the app factory)."
            )
        blueprint.register(self, options)

    def iter_blueprints(self) -> t.ValuesView[Blueprint]:
        """The registered blueprints, in registration order."""
        return self.blueprints.values()

    # -- contexts -------------------------------------------------------------

    def app_context(self) -> AppContext:
        """An app context to use with ``with``: ``current_app`` and ``g``
        work inside."""
        return AppContext(self)

    def request_context(self, request: Request) -> RequestContext:
        """A request context for ``request``."""
        return RequestContext(self, request)

    def test_request_context(self, *args: t.Any, **kwargs: t.Any) -> RequestContext:
        """A request context for a request built from the test client's
        arguments (``path``, ``method``, ``data``, ``json``, ``headers``,
        ``query_string``, ``base_url``...), for testing code that uses
        ``request`` without running a view::

            with app.test_request_context("/?name=x"):
                assert request.args["name"] == "x"
        """
        from .testing import build_request

        request = build_request(self, *args, **kwargs)
        self.match_request(request)
        return RequestContext(self, request)

    def test_cli_runner(self, **kwargs: t.Any) -> ErlenCliRunner:
        """A runner for testing the app's commands:
        ``app.test_cli_runner().invoke(args=["init-db"])``."""
        from .cli import ErlenCliRunner

        return ErlenCliRunner(self, **kwargs)

    def test_client(self, use_cookies: bool = True, **kwargs: t.Any) -> ErlenClient:
        """A test client: ``app.test_client().get("/")``.

        :param use_cookies: keep cookies between requests.
        :param driver: ``"wsgi"`` (default) or ``"asgi"``: which interface the
            requests go through.
        """
        from .testing import ErlenClient

        cls = self.test_client_class or ErlenClient
        return cls(self, use_cookies=use_cookies, **kwargs)

    # -- routing and URLs -----------------------------------------------------

    def _subdomain_for(self, request: Request) -> str | None:
        if self.url_map.host_matching:
            return None
        if not self.subdomain_matching:
            return self.url_map.default_subdomain
        server_name = self.config["SERVER_NAME"]
        if not server_name:
            return self.url_map.default_subdomain
        host = request.host.lower()
        server_name = server_name.lower()
        if host == server_name:
            return ""
        if host.endswith("." + server_name):
            return host[: -len(server_name) - 1]
        return "<invalid>"

    def match_request(self, request: Request) -> None:
        """Match ``request`` to a rule, setting ``url_rule`` and ``view_args``,
        or ``routing_exception`` (raised when the view would be called).

        Before matching, and refused before any hook or view runs (the
        error handlers still run):

        - more header fields than ``MAX_HEADER_COUNT``, or more bytes than
          ``MAX_HEADER_SIZE``: 431;
        - a host not in ``TRUSTED_HOSTS`` (when set; in debug mode
          ``localhost``, ``127.0.0.1`` and ``[::1]`` too): 400
          ``SecurityError``;
        - after matching, an unsafe request or websocket handshake from
          another site (``CROSS_ORIGIN_PROTECTION``): 403.
        """
        config = self.config
        max_count = config["MAX_HEADER_COUNT"]
        max_size = config["MAX_HEADER_SIZE"]
        if max_count is not None or max_size is not None:
            exceeded = request._header_limits_exceeded(max_count, max_size)
            if exceeded is not None:
                count, size = exceeded
                _reject(
                    request,
                    exc.RequestHeaderFieldsTooLarge(
                        f"The request has {count} header fields of {size} bytes"
                        f" in all; the limits are {max_count} fields and"
                        f" {max_size} bytes."
                    ),
                )
                return
        host = request.host
        # PERF: a host seen before is one set lookup; a name with no port or
        # a 4-digit one passes the regex; only others need the call.
        if host not in _valid_hosts:
            if _PLAIN_HOST(host) is None and not _host_port_is_valid(host):
                _reject(
                    request,
                    exc.BadHost(f"Host {_escape(host)!r} has an invalid port."),
                )
                return
            if len(_valid_hosts) < 256 and len(host) <= 260:  # a DNS name and port
                _valid_hosts.add(host)
        trusted = config["TRUSTED_HOSTS"]
        if trusted and not self._host_is_trusted(host, trusted):
            _reject(
                request,
                exc.SecurityError(f"Host {_escape(host)!r} is not trusted."),
            )
            return
        websocket = request.scheme in _WEBSOCKET_SCHEMES  # is_websocket
        url_map = self.url_map
        try:
            # PERF: a 404 or 405 comes back as the error (url_map.match would
            # raise it), kept to be raised where the view would be called.
            if url_map.host_matching:
                found = url_map._match(
                    request.path, request.method, None, host.lower(), websocket
                )
            else:
                found = url_map._match(
                    request.path,
                    request.method,
                    (
                        self._subdomain_for(request)
                        if self.subdomain_matching
                        else url_map.default_subdomain
                    ),
                    None,
                    websocket,
                )
        except exc.RequestRedirect as e:
            request.routing_exception = _relative_redirect(request, e)
        except exc.HTTPException as e:
            request.routing_exception = e
        else:
            if not isinstance(found, tuple):
                request.routing_exception = found
                return
            rule, args = found
            request.url_rule = rule
            request.view_args = args
            if (request.method not in _SAFE_METHODS or websocket) and config[
                "CROSS_ORIGIN_PROTECTION"
            ]:
                if check_cross_origin(self, request) is not None:
                    _reject(
                        request,
                        exc.Forbidden(
                            "Cross-origin request refused: it came from a page"
                            " on another site."
                        ),
                    )

    def _host_is_trusted(self, host: str, trusted: t.Any) -> bool:
        """Whether ``host`` is one of ``trusted`` (``TRUSTED_HOSTS``), plus
        the loopback names in debug mode."""
        key = ((trusted,) if isinstance(trusted, str) else tuple(trusted), self.debug)
        cached = self._trusted_hosts_cache
        if cached is None or cached[0] != key:
            # PERF: the names are normalized once, not per request.
            refs = list(key[0]) + (list(_DEBUG_HOSTS) if key[1] else [])
            cached = self._trusted_hosts_cache = (key, _normalize_hosts(refs))
        return _host_matches(host, cached[1])

    def make_default_options_response(self, request: Request) -> Response:
        """The automatic ``OPTIONS`` response: an ``Allow`` header listing the
        URL's methods."""
        methods: t.Iterable[str] = ()
        try:
            self.url_map.match(
                request.path,
                "\x00",  # no rule allows it, so the error lists the methods
                subdomain=self._subdomain_for(request),
                host=request.host.lower() if self.url_map.host_matching else None,
            )
        except exc.MethodNotAllowed as e:
            methods = e.valid_methods or ()
        except exc.HTTPException:
            pass
        # An empty body, not none: ``Content-Length: 0`` as Flask sends.
        rv = self.response_class("")
        rv.headers["Allow"] = ", ".join(sorted(methods))
        return rv

    def inject_url_defaults(self, endpoint: str, values: dict[str, t.Any]) -> None:
        """Run the ``url_defaults`` functions for ``endpoint`` (app, then its
        blueprints from the outermost) on ``values`` in place."""
        if not self.url_default_functions:
            return  # PERF: most apps register none; url_for calls this
        names: list[str | None] = [None]
        if "." in endpoint:
            parts = endpoint.split(".")[:-1]
            names.extend(".".join(parts[: i + 1]) for i in range(len(parts)))
        for name in names:
            for func in self.url_default_functions.get(name, ()):
                func(endpoint, values)

    def url_for(
        self,
        endpoint: str,
        /,
        *,
        _anchor: str | None = None,
        _method: str | None = None,
        _scheme: str | None = None,
        _external: bool | None = None,
        **values: t.Any,
    ) -> str:
        """The URL of ``endpoint`` with ``values``; see :func:`erlen.url_for`."""
        req_ctx = _cv_request.get(None)
        request: Request | None = None
        if req_ctx is not None and req_ctx.app is self:
            request = req_ctx.request
            if endpoint[:1] == ".":
                blueprint = request.blueprint
                endpoint = f"{blueprint}{endpoint}" if blueprint else endpoint[1:]
            if _external is None:
                _external = _scheme is not None
        else:
            if not self.config["SERVER_NAME"]:
                raise RuntimeError(
                    "Unable to build URLs outside an active request without"
                    " 'SERVER_NAME' configured. Also configure 'APPLICATION_ROOT'"
                    " and 'PREFERRED_URL_SCHEME' as needed."
                )
            if endpoint[:1] == ".":
                endpoint = endpoint[1:]
            if _external is None:
                _external = True
        if _scheme is not None and not _external:
            raise ValueError("When specifying '_scheme', '_external' must be True.")

        self.inject_url_defaults(endpoint, values)
        try:
            where, path = self.url_map.build(endpoint, values, _method)
        except BuildError as error:
            values.update(
                _anchor=_anchor, _method=_method, _scheme=_scheme, _external=_external
            )
            return self.handle_url_build_error(error, endpoint, values)

        # Like Werkzeug's URL adapter: URLs are relative when they stay on
        # the current host (host matching) or subdomain, else absolute.
        # With SERVER_NAME set, it is the host of absolute URLs.
        server_name = self.config["SERVER_NAME"]
        if request is not None:
            root = request.root_path
            scheme = _scheme or request.scheme
            current_host = request.host.lower()
            if self.url_map.host_matching:
                current = current_host
            else:
                current_host = (server_name or current_host).lower()
                current = self._subdomain_for(request) or ""
        else:
            root = self.config["APPLICATION_ROOT"].rstrip("/")
            scheme = _scheme or self.config["PREFERRED_URL_SCHEME"]
            current_host = server_name.lower()
            current = (
                current_host
                if self.url_map.host_matching
                else self.url_map.default_subdomain
            )
        if self.url_map.host_matching:
            host = where or current_host
            external = host != current
        else:
            host = f"{where}.{current_host}" if where else current_host
            external = where != current
        rv = f"{quote(root, safe='/%')}{path}"
        if _scheme is None:
            # A websocket's URL is ws:// or wss://, a page's http(s)://,
            # whichever kind of request builds it (as Werkzeug does).
            if self.url_map.is_websocket_endpoint(endpoint):
                scheme = _TO_WEBSOCKET_SCHEME.get(scheme, scheme)
            else:
                scheme = _FROM_WEBSOCKET_SCHEME.get(scheme, scheme)
        if _external or external:
            rv = f"{scheme}://{host}{rv}"
        if _anchor is not None:
            rv = f"{rv}#{quote(_anchor, safe=_ANCHOR_SAFE)}"
        return rv

    def handle_url_build_error(
        self, error: BuildError, endpoint: str, values: dict[str, t.Any]
    ) -> str:
        """Give each ``url_build_error_handlers`` function a chance to return a
        URL; re-raise ``error`` if none does."""
        for handler in self.url_build_error_handlers:
            try:
                rv = handler(error, endpoint, values)
            except BuildError as e:
                error = e
            else:
                if rv is not None:
                    return rv
        raise error

    # -- responses ------------------------------------------------------------

    def make_response(self, rv: t.Any) -> Response:
        """Turn a view's return value into a :class:`Response`.

        Accepted: a ``Response``; ``str`` or ``bytes``; a ``dict`` or ``list``
        (JSON); a generator or other iterator (streamed); an HTTP exception;
        and the tuples ``(body, status)``, ``(body, headers)`` and
        ``(body, status, headers)``.
        """
        kind = type(rv)
        if kind is str:
            # PERF: the most common return value, without the tests below.
            return self.response_class(rv)
        if kind is dict:
            # PERF: the next most common (an API's), without them either.
            return self.json.response(rv)
        status = headers = None
        if isinstance(rv, tuple):
            n = len(rv)
            if n == 3:
                rv, status, headers = rv
            elif n == 2:
                if isinstance(rv[1], (dict, tuple, list)) or hasattr(
                    rv[1], "to_wsgi_list"
                ):
                    rv, headers = rv
                else:
                    rv, status = rv
            else:
                raise TypeError(
                    "The view function did not return a valid response tuple."
                    " The tuple must have the form (body, status, headers),"
                    " (body, status), or (body, headers)."
                )
        if rv is None:
            endpoint = _current_endpoint()
            raise TypeError(
                f"The view function for {endpoint!r} did not return a valid"
                " response. The function either returned None or ended"
                " without a return statement."
            )
        cls = self.response_class
        if not isinstance(rv, cls):
            if isinstance(rv, (str, bytes, bytearray)):
                rv = cls(rv, status=status, headers=headers)
                status = headers = None
            elif isinstance(rv, (dict, list)):
                rv = self.json.response(rv)
            elif isinstance(rv, exc.HTTPException):
                rv = rv.get_response(_current_request())
            elif isinstance(rv, Response):
                pass  # another Response class; send it as it is
            elif hasattr(rv, "__next__") or hasattr(rv, "__anext__"):
                rv = cls(rv, status=status, headers=headers)
                status = headers = None
            else:
                endpoint = _current_endpoint()
                raise TypeError(
                    f"The view function for {endpoint!r} did not return a valid"
                    " response. The return type must be a string, dict, list,"
                    " tuple with headers or status, Response instance, or"
                    f" generator, but it was a {type(rv).__name__}."
                )
        if status is not None:
            if isinstance(status, (str, bytes)):
                rv.status = status if isinstance(status, str) else status.decode()
            else:
                rv.status_code = int(status)
        if headers:
            rv.headers.update(headers)
        response: Response = rv  # not t.cast: a call per request
        return response

    # -- errors ---------------------------------------------------------------

    def trap_http_exception(self, e: Exception) -> bool:
        """Whether an HTTP exception should propagate like any other error
        instead of becoming its response (``TRAP_HTTP_EXCEPTIONS``,
        ``TRAP_BAD_REQUEST_ERRORS``)."""
        if self.config["TRAP_HTTP_EXCEPTIONS"]:
            return True
        trap_bad_request = self.config["TRAP_BAD_REQUEST_ERRORS"]
        if (
            trap_bad_request is None
            and self.debug
            and isinstance(e, exc.BadRequestKeyError)
        ):
            return True
        if trap_bad_request:
            return isinstance(e, exc.BadRequest)
        return False

    def _find_error_handler(
        self, e: Exception, blueprints: list[str]
    ) -> t.Callable[[t.Any], t.Any] | None:
        if not self.error_handler_spec:
            return None  # PERF: most apps register none (~0.4 us of a 404)
        exc_class, code = self._get_exc_class_and_code(type(e))
        names = (*blueprints, None)
        for c in (code, None) if code is not None else (None,):
            for name in names:
                by_code = self.error_handler_spec.get(name)
                if not by_code:
                    continue
                handler_map = by_code.get(c)
                if not handler_map:
                    continue
                for cls in exc_class.__mro__:
                    handler = handler_map.get(cls)
                    if handler is not None:
                        return handler
        return None

    # PERF: the pipeline's function itself, as a method (a coroutine fewer
    # per handled error, as wsgi_app).
    _handle_user_exception = handle_user_exception

    async def _handle_exception(
        self, ctx: RequestContext, e: Exception, run: Runner
    ) -> Response:
        """An exception no handler took: propagate it (testing/debug) or log
        it and send a 500 (through a 500 handler if there is one)."""
        if signals.got_request_exception.receivers:
            signals.send(signals.got_request_exception, self, exception=e)
        propagate = self.config["PROPAGATE_EXCEPTIONS"]
        if propagate is None:
            propagate = self.testing or self.debug
        if propagate:
            raise e
        self.log_exception(ctx.request, e)
        server_error: t.Any = exc.InternalServerError(original_exception=e)
        handler = self._find_error_handler(server_error, ctx.request.blueprints)
        try:
            if handler is not None:
                server_error = await run(handler, server_error)
            return await finalize(self, ctx, server_error, run, from_error_handler=True)
        except Exception:
            # The 500 handler itself failed: log it and send the plain 500.
            self.logger.exception("Exception in the 500 error handler")
            response = exc.InternalServerError().get_response(ctx.request)
            # Invalid security header settings fail here too; the plain 500
            # must still go out.
            with contextlib.suppress(Exception):
                add_security_headers(self, ctx.request, response)
            return response

    def log_exception(self, request: Request, e: BaseException) -> None:
        """Log an unhandled exception (with the request's path and method,
        their control characters escaped so a request cannot forge log
        lines)."""
        self.logger.error(
            "Exception on %s [%s]",
            _escape(request.path),
            _escape(request.method),
            exc_info=(type(e), e, e.__traceback__),
        )

    # -- teardown -------------------------------------------------------------

    def do_teardown_request(self, exc: BaseException | None = None) -> None:
        """Run the ``teardown_request`` functions (for a manually pushed
        request context)."""
        # Only the request part: the app context runs its own on pop.
        drive(teardown(self, _cv_request.get(), exc, run_inline, app_context=False))

    def do_teardown_appcontext(self, exc: BaseException | None = None) -> None:
        """Run the ``teardown_appcontext`` functions."""
        drive(self._teardown_appcontext(exc, run_inline))

    async def _teardown_appcontext(
        self, error: BaseException | None, run: Runner
    ) -> None:
        await call_teardown_funcs(
            self,
            reversed(self.teardown_appcontext_funcs),
            error,
            run,
            "teardown_appcontext",
        )
        if signals.appcontext_tearing_down.receivers:
            signals.send(signals.appcontext_tearing_down, self, exc=error)

    # -- sessions -------------------------------------------------------------

    def _open_session(self, request: Request) -> SessionMixin:
        si = self.session_interface
        session = si.open_session(self, request)
        if session is None:
            session = si.make_null_session(self)
        return session

    async def _save_session(
        self, ctx: RequestContext, response: Response, run: Runner
    ) -> None:
        si = self.session_interface
        session = ctx.session
        if not si.is_null_session(session):
            si.save_session(self, session, response)

    # -- signals --------------------------------------------------------------

    # -- serving --------------------------------------------------------------

    def _get_executor(self) -> ThreadPoolExecutor:
        """The bounded pool that runs ``def`` functions under ASGI."""
        executor = self._executor
        if executor is None:
            with self._executor_lock:
                executor = self._executor
                if executor is None:
                    executor = ThreadPoolExecutor(
                        max_workers=int(self.config["SYNC_THREAD_POOL_SIZE"]),
                        thread_name_prefix=f"erlen-{self.name}",
                    )
                    self._executor = executor
        return executor

    def _async_runner(self) -> AsyncRunner:
        """The runner of ASGI requests: ``async def`` functions on the loop,
        ``def`` ones in :meth:`_get_executor`'s pool (made once per pool)."""
        runner = self._runner
        if runner is None or runner.executor is not self._executor:
            runner = self._runner = run_async(self._get_executor())
        return runner

    def _is_all_sync(self) -> bool:
        """Whether no view, hook or error handler is ``async def``: then an
        ASGI request runs as a whole in one worker thread instead of hopping
        to the pool for each function."""
        if self._all_sync is None:
            from .concurrency import is_async_callable

            funcs: list[t.Any] = list(self.view_functions.values())
            for registry in (
                self.before_request_funcs,
                self.after_request_funcs,
                self.teardown_request_funcs,
                self.url_value_preprocessors,
            ):
                for fs in registry.values():
                    funcs.extend(fs)
            funcs.extend(self.teardown_appcontext_funcs)
            for by_code in self.error_handler_spec.values():
                for handlers in by_code.values():
                    funcs.extend(handlers.values())
            self._all_sync = not any(is_async_callable(f) for f in funcs)
        return self._all_sync

    # PERF: the WSGI driver itself, as a method (a call fewer per request
    # than a method calling it).
    wsgi_app = _wsgi_app

    def __call__(
        self,
        environ: dict[str, t.Any],
        start_response: t.Callable[..., t.Any] | None = None,
        send: t.Any = None,
    ) -> t.Any:
        """The WSGI entry point (``gunicorn mod:app``), and the ASGI one too:
        a call with three arguments is ASGI 3, one with only a scope is the
        ASGI 2 style uvicorn uses for a plain callable, so ``uvicorn mod:app``
        and ``uvicorn --factory mod:create_app`` work as well.
        ``app.asgi`` is the ASGI app without the check."""
        # PERF: one comparison on the WSGI path (not measurable against the
        # ~20 us of a request; see bench/).
        if send is None and start_response is not None:
            return self.wsgi_app(environ, start_response)
        if send is not None:
            return self.asgi(environ, start_response, send)  # type: ignore[arg-type]
        scope = environ
        return lambda receive, send: self.asgi(scope, receive, send)

    def run(
        self,
        host: str | None = None,
        port: int | None = None,
        debug: bool | None = None,
        load_dotenv: bool = True,
        **options: t.Any,
    ) -> None:
        """Serve the app with the development server (uvicorn on :attr:`asgi`,
        reloading and the debug page in debug mode), for ``python app.py``.
        Call it under ``if __name__ == "__main__":``; inside an ``erlen``
        command it does nothing.  Options: see
        :func:`erlen.devserver.run_app`.  For development only."""
        from .devserver import run_app

        run_app(self, host, port, debug, load_dotenv=load_dotenv, **options)


#: Hosts :func:`_host_port_is_valid` would pass, found without a call: no
#: brackets or colon, or a port of 1 to 4 digits, the first not 0.
_PLAIN_HOST = re.compile(r"[^:\[\]]*(?::[1-9][0-9]{0,3})?").fullmatch
#: Hosts whose port was checked (a client sends the same Host each time);
#: bounded in number and in length, so a client sending many or long ones
#: cannot make it hold much.
_valid_hosts: set[str] = set()
_WEBSOCKET_SCHEMES = frozenset({"ws", "wss"})
#: url_for's scheme for a websocket endpoint, and for any other.
_TO_WEBSOCKET_SCHEME = {"http": "ws", "https": "wss"}
_FROM_WEBSOCKET_SCHEME = {"ws": "http", "wss": "https"}


def _host_port_is_valid(host: str) -> bool:
    """Whether a ``Host`` value's port, if it has one, is a number from 1 to
    65535 (``example.com:99999`` would otherwise fail deep in URL code)."""
    if host.startswith("["):
        _, bracket, rest = host.partition("]")
        if not bracket:
            return False
        if not rest:
            return True
        if rest[0] != ":":
            return False
        port = rest[1:]
    else:
        name, colon, port = host.rpartition(":")
        if not colon:
            return True
    return port.isdigit() and port.isascii() and 0 < int(port) <= 65535


_ANCHOR_SAFE = "%!#$&'()*+,/:;=?@"


def _relative_redirect(request: Request, e: exc.RequestRedirect) -> exc.RequestRedirect:
    """Keep routing redirects relative and on this host: prefix the app's
    root path and keep the query string."""
    url = e.new_url
    if url.startswith("/") and not url.startswith("//"):
        url = quote(request.root_path + url, safe="/%:@&=+$,;~!*'()")
        if request.query_string:
            url = f"{url}?{request.query_string.decode('latin-1')}"
    return exc.RequestRedirect(url, e.code or 308)


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def _reject(request: Request, e: exc.HTTPException) -> None:
    """Refuse ``request`` with ``e`` before any hook or view runs."""
    request.routing_exception = e
    request._rejected = e


def _host_name(host: str) -> str:
    """``host`` (``name[:port]``) without the port, lowercase."""
    if host.startswith("["):  # an IPv6 literal, "[::1]:8000"
        return host[: host.find("]") + 1].lower()
    name, _, port = host.rpartition(":")
    if not name or not port.isdigit():
        name = host
    return name.lower()


_Hosts = tuple[frozenset[str], tuple[str, ...]]


def _normalize_hosts(trusted: t.Iterable[str]) -> _Hosts:
    """Exact names, and ``.suffix`` names (a leading ``.`` also trusts the
    subdomains), IDNA-encoded and lowercase, ports dropped."""
    exact: set[str] = set()
    suffixes: list[str] = []
    for ref in trusted:
        suffix = ref.startswith(".")
        name = _host_name(ref.removeprefix("."))
        try:
            name = name.encode("idna").decode("ascii").lower()
        except UnicodeError:
            continue
        if suffix:
            exact.add(name)
            suffixes.append(f".{name}")
        else:
            exact.add(name)
    return frozenset(exact), tuple(suffixes)


def _host_matches(host: str, refs: _Hosts) -> bool:
    name = _host_name(host)
    exact, suffixes = refs
    return name in exact or (bool(suffixes) and name.endswith(suffixes))


def _current_endpoint() -> str | None:
    ctx = _cv_request.get(None)
    return ctx.request.endpoint if ctx is not None else None


def _current_request() -> Request | None:
    ctx = _cv_request.get(None)
    return ctx.request if ctx is not None else None
