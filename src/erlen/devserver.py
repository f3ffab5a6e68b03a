"""The development server behind ``erlen run`` and ``app.run()``.

It is uvicorn serving ``app.asgi`` (websockets through the ``websockets``
package), wrapped in the debug page (:class:`~erlen.debug.DebugMiddleware`)
when debug mode is on.  With reloading on, a supervisor process watches
files with ``watchfiles`` and restarts a fresh server process when a Python
file, a template or an ``--extra-files`` file changes.  The server process
finds the app again from scratch (:func:`load_app_for_reload`, uvicorn's
factory mode), so factory apps and the app's own module reload alike; an
app that fails to load (a syntax error after an edit) is shown as an error
page until the next save.

This server is for development only; see "Deploying" in the docs for
production servers.
"""

from __future__ import annotations

import errno
import functools
import importlib
import json
import os
import socket
import ssl
import sys
import traceback
import typing as t
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from fnmatch import fnmatch
from pathlib import Path

import click

from .debug import (
    DebugMiddleware,
    RequestInfo,
    _first,
    _page_headers,
    is_library_file,
    render_debug_page,
    render_error_page,
    wants_html,
)
from .helpers import get_debug_flag

if t.TYPE_CHECKING:
    from .app import Erlen

__all__ = [
    "AppSource",
    "ServerError",
    "load_app_for_reload",
    "run_app",
    "run_server",
]

#: The environment variable that tells a reloaded server process where the
#: app is (JSON of an :class:`AppSource`); private to the dev server.
SOURCE_ENV = "_ERLEN_DEVSERVER_SOURCE"

_WARNING = (
    "WARNING: This is a development server. Do not use it in production; serve"
    " the app with gunicorn, uvicorn or granian (see 'Deploying' in the docs)."
)


class ServerError(RuntimeError):
    """The development server could not start; the message says why and what
    to do."""


@dataclass(frozen=True)
class AppSource:
    """How a reloaded server process finds the app again.  Exactly one of
    the first three fields is set, or none for the default discovery
    (``wsgi.py`` or ``app.py`` in the working directory)."""

    #: An ``--app`` value: ``module``, ``module:name``, ``path.py``, ...
    import_path: str | None = None
    #: The app is this attribute of ``__main__`` (``python app.py``).
    main_attr: str | None = None
    #: ``module:function`` of a ``create_app`` callback to call.
    factory: str | None = None
    #: Set ``app.debug`` to this after loading (``app.run(debug=...)``).
    debug: bool | None = None
    #: Show the debug page for unhandled errors (when debug is on).
    debugger: bool = True
    #: Whether debug was on in the supervisor: shows load errors in detail.
    show_load_errors: bool = False

    def to_env(self) -> str:
        """The JSON stored in :data:`SOURCE_ENV`."""
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> AppSource:
        """The source stored in :data:`SOURCE_ENV` by the supervisor."""
        raw = os.environ.get(SOURCE_ENV)
        if not raw:
            raise ServerError(
                f"{SOURCE_ENV} is not set: load_app_for_reload() is meant to be"
                " called by the server process 'erlen run' starts."
            )
        return cls(**json.loads(raw))

    def load(self) -> Erlen:
        """Import (or create) the app."""
        from .app import Erlen
        from .cli import ScriptInfo, locate_app

        if self.main_attr is not None:
            main = sys.modules["__main__"]
            app = getattr(main, self.main_attr, None)
            if not isinstance(app, Erlen):
                raise ServerError(
                    f"The reloaded script has no Erlen app named {self.main_attr!r}."
                )
        elif self.factory is not None:
            module, _, name = self.factory.partition(":")
            found = locate_app(module, name)
            if found is None:  # pragma: no cover - locate_app raises instead
                raise ServerError(f"Could not import {self.factory!r}.")
            app = found
        else:
            app = ScriptInfo(self.import_path).load_app()
        if self.debug is not None:
            app.debug = self.debug
        return app


def _wrap(app: Erlen, debugger: bool) -> t.Any:
    """``app.asgi``, in the debug page when debug mode and the debugger are
    on."""
    if debugger and app.debug:
        return DebugMiddleware(app.asgi, app)
    return app.asgi


class _LoadErrorApp:
    """The ASGI app a reloaded server process serves when the user's app
    failed to load: every request gets a 500 that shows the error (in debug
    mode), until the next save restarts the process."""

    def __init__(self, error: BaseException, detailed: bool) -> None:
        self.error = error
        self.detailed = detailed

    async def __call__(
        self,
        scope: dict[str, t.Any],
        receive: t.Callable[[], t.Awaitable[dict[str, t.Any]]],
        send: t.Callable[[dict[str, t.Any]], t.Awaitable[None]],
    ) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                kind = message["type"].rpartition(".")[2]
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        if scope["type"] != "http":
            return
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False) and message["type"] != (
                "http.disconnect"
            )
        info = RequestInfo.from_scope(scope)
        as_html = wants_html(_first(info.headers, "accept"))
        if self.detailed:
            text = render_debug_page(
                self.error,
                info,
                None,
                as_html,
                title="The app failed to load. Fix the error and save: the"
                " server reloads.",
            )
        else:
            text = render_error_page(as_html)
        page = text.encode("utf-8")
        await send(
            {
                "type": "http.response.start",
                "status": 500,
                "headers": _page_headers(page, as_html),
            }
        )
        await send({"type": "http.response.body", "body": page})


def load_app_for_reload() -> t.Any:
    """uvicorn's app factory in each reloaded server process: load the app
    described by :data:`SOURCE_ENV` and return its ASGI application.

    If loading fails (an import error, a syntax error after an edit), the
    error is printed and served as a 500 page, so the reloader stays up and
    the next save tries again.
    """
    source = AppSource.from_env()
    try:
        app = source.load()
    except Exception as e:
        _print_load_error(e)
        detailed = source.show_load_errors or get_debug_flag()
        return _LoadErrorApp(_error_to_show(e), detailed)
    return _wrap(app, source.debugger)


def _error_to_show(error: Exception) -> BaseException:
    """The error the load error page shows: the user's own exception rather
    than the CLI's wrapper around it."""
    if isinstance(error, click.ClickException):
        if error.__cause__ is not None:
            return error.__cause__
        # Only the message matters; the frames are Erlen's loader.
        error.__traceback__ = None
    return error


def _print_load_error(error: Exception) -> None:
    if isinstance(error, click.ClickException):
        message = error.format_message()
    else:
        message = "".join(traceback.format_exception(error)).rstrip()
    click.secho(
        f" * Error loading the app; fix it and save to reload.\n\n{message}\n",
        err=True,
        fg="red",
    )


# -- watching -----------------------------------------------------------------


@dataclass
class _WatchSpec:
    """Which changed files restart the server."""

    roots: list[Path]
    template_dirs: list[Path]
    extra_files: set[Path]
    exclude_patterns: list[str]

    def __call__(self, path: Path) -> bool:
        from watchfiles import Change

        text = str(path)
        if any(fnmatch(text, pattern) for pattern in self.exclude_patterns):
            return False
        if path in self.extra_files:
            return True
        if not _default_filter()(Change.modified, text):
            return False
        if any(d == path or d in path.parents for d in self.template_dirs):
            return True
        return path.suffix == ".py"

    @classmethod
    def for_app(
        cls,
        app: Erlen,
        extra_files: Sequence[str],
        exclude_patterns: Sequence[str],
    ) -> _WatchSpec:
        templates = []
        for scaffold in (app, *getattr(app, "blueprints", {}).values()):
            folder = getattr(scaffold, "template_folder", None)
            root = getattr(scaffold, "root_path", None)
            if folder and root:
                templates.append(Path(root, folder).resolve())
        extra = {Path(f).resolve() for f in extra_files}
        candidates = [Path.cwd(), Path(app.root_path), *templates]
        candidates += [f.parent for f in extra]
        # The folders of the user's other imported modules (a sibling
        # package, an editable library), as Flask's reloader watches every
        # imported module.
        for module in list(sys.modules.values()):
            filename = getattr(module, "__file__", None)
            if filename and not is_library_file(filename):
                candidates.append(Path(filename).parent)
        roots: list[Path] = []
        for candidate in sorted({c.resolve() for c in candidates if c.is_dir()}):
            if not any(
                root == candidate or root in candidate.parents for root in roots
            ):
                roots.append(candidate)
        return cls(roots, templates, extra, list(exclude_patterns))


@functools.cache
def _default_filter() -> t.Any:
    """watchfiles' filter of hidden files, editor swap files, ``.git``,
    ``__pycache__``, virtual environments...; plus installed packages."""
    from watchfiles import DefaultFilter

    return DefaultFilter(
        ignore_dirs=(*DefaultFilter.ignore_dirs, "site-packages", "dist-packages")
    )


def _reloader_class() -> t.Any:
    """uvicorn's reload supervisor with Erlen's file filter (a class built
    on first use, so importing this module does not import uvicorn)."""
    import watchfiles
    from uvicorn.supervisors.basereload import BaseReload

    class Reloader(BaseReload):
        def __init__(
            self,
            config: t.Any,
            target: t.Callable[..., None],
            sockets: list[socket.socket],
            watch: _WatchSpec,
        ) -> None:
            super().__init__(config, target, sockets)
            self.reloader_name = "watchfiles"
            self._watch = watch
            self._changes = watchfiles.watch(
                *watch.roots,
                watch_filter=None,
                stop_event=self.should_exit,
                rust_timeout=100,
                yield_on_timeout=True,
                ignore_permission_denied=True,
            )
            # The generator starts watching on its first step: take it now,
            # before the server process starts, so a file saved as soon as
            # the server answers is not missed.
            next(self._changes)

        def should_restart(self) -> list[Path] | None:
            self.pause()
            changes = next(self._changes)
            paths = sorted({Path(path) for _, path in changes})
            return [path for path in paths if self._watch(path)] or None

    return Reloader


# -- serving ------------------------------------------------------------------


def _require(name: str) -> t.Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        raise ServerError(
            f"The development server needs {name}, which is not installed:"
            " pip install 'erlen[dev-server]'"
        ) from None


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise ServerError(
                f"Port {port} is in use by another program. Stop that program,"
                f" or use another port: 'erlen run --port {port + 1}'"
                f" (or app.run(port={port + 1}))."
            ) from None
        if e.errno == errno.EACCES:
            raise ServerError(
                f"Permission denied to listen on port {port}. Ports below 1024"
                " need privileges; use a port such as 5000 or 8080."
            ) from None
        if isinstance(e, socket.gaierror):
            raise ServerError(
                f"Cannot listen on {host!r}: it is not a known host name or"
                " address. Use an IP address such as 127.0.0.1 or 0.0.0.0."
            ) from None
        raise ServerError(f"Cannot listen on {host}:{port}: {e}") from None
    sock.set_inheritable(True)
    return sock


def _check_tls(cert: str | None, key: str | None) -> None:
    if cert is None and key is None:
        return
    if cert is None or key is None:
        raise ServerError(
            "TLS needs both a certificate and its private key: pass --cert"
            " and --key (or app.run(ssl_context=(cert_file, key_file)))."
        )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as e:
        raise ServerError(
            f"Could not load the TLS certificate {cert!r} with the key {key!r}:"
            f" {e}. Pass a PEM certificate and its matching PEM private key."
        ) from None


def _banner(
    label: str,
    app: Erlen,
    host: str,
    port: int,
    tls: bool,
    reload: bool,
    debugger: bool,
) -> None:
    scheme = "https" if tls else "http"
    shown = f"[{host}]" if ":" in host else host
    url = f"{scheme}://{shown}:{port}"
    echo = click.echo
    echo(f" * Serving Erlen app {label!r}", err=True)
    echo(f" * Debug mode: {'on' if app.debug else 'off'}", err=True)
    if host in ("0.0.0.0", "::"):
        echo(
            f" * Running on all addresses ({host}), locally"
            f" {scheme}://127.0.0.1:{port} (Press CTRL+C to quit)",
            err=True,
        )
    else:
        echo(f" * Running on {url} (Press CTRL+C to quit)", err=True)
    if reload:
        echo(" * Reloading when files change (watchfiles)", err=True)
    if app.debug and debugger:
        echo(" * Debug page is on for unhandled errors", err=True)
    click.secho(_WARNING, err=True, fg="yellow")


def run_server(
    app: Erlen,
    *,
    host: str = "127.0.0.1",
    port: int = 5000,
    reload: bool = False,
    debugger: bool | None = None,
    extra_files: Sequence[str] = (),
    exclude_patterns: Sequence[str] = (),
    cert: str | None = None,
    key: str | None = None,
    source: AppSource | None = None,
    label: str | None = None,
    **uvicorn_options: t.Any,
) -> None:
    """Serve ``app`` with uvicorn until interrupted.

    :param app: the loaded app; its ``debug`` decides the debug page.
    :param host: the interface to listen on.
    :param port: the port; ``0`` picks a free one.
    :param reload: restart on file changes; needs ``source``.
    :param debugger: show the debug page for unhandled errors (default: on
        in debug mode).
    :param extra_files: more files whose change restarts the server.
    :param exclude_patterns: ``fnmatch`` patterns of files to ignore.
    :param cert: a PEM certificate file, to serve HTTPS (with ``key``).
    :param key: the certificate's PEM private key file.
    :param source: how a reloaded process finds the app again.
    :param label: the app's name in the banner.
    :param uvicorn_options: more ``uvicorn.Config`` options.
    :raises ServerError: when the server cannot start.
    """
    uvicorn = _require("uvicorn")
    if debugger is None:
        debugger = app.debug
    _check_tls(cert, key)
    if reload:
        _require("watchfiles")
    if reload and source is None:
        click.secho(
            " * Reloading is off: the reloader needs to import the app again,"
            " so assign it to a module-level name (app = Erlen(__name__)) or"
            " start it with 'erlen --app module run'.",
            err=True,
            fg="yellow",
        )
        reload = False
    sock = _bind(host, port)
    port = sock.getsockname()[1]
    _banner(label or app.name, app, host, port, cert is not None, reload, debugger)
    options: dict[str, t.Any] = {
        "host": host,
        "port": port,
        "ws": "auto",  # the `websockets` implementation when it is installed
        "interface": "asgi3",
        "ssl_certfile": cert,
        "ssl_keyfile": key,
        **uvicorn_options,
    }
    try:
        if reload and source is not None:
            source = replace(source, debugger=debugger, show_load_errors=app.debug)
            os.environ[SOURCE_ENV] = source.to_env()
            try:
                config = uvicorn.Config(
                    "erlen.devserver:load_app_for_reload", factory=True, **options
                )
            except TypeError as e:
                raise _bad_option(e) from None
            server = uvicorn.Server(config)
            watch = _WatchSpec.for_app(app, extra_files, exclude_patterns)
            reloader = _reloader_class()(config, server.run, [sock], watch)
            reloader.run()
        else:
            try:
                config = uvicorn.Config(_wrap(app, debugger), **options)
            except TypeError as e:
                raise _bad_option(e) from None
            uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        os.environ.pop(SOURCE_ENV, None)
        sock.close()


def _bad_option(error: TypeError) -> TypeError:
    return TypeError(
        f"The development server does not understand an option: {error}."
        " Options other than host, port, debug, use_reloader, use_debugger,"
        " extra_files, exclude_patterns and ssl_context are passed to"
        " uvicorn.Config."
    )


def _source_for(app: Erlen, debug: bool | None) -> AppSource | None:
    """How a reloaded process can find ``app``: the name it has in its
    module, else in the script being run (an app made by a factory and bound
    in ``serve.py``), or ``None`` if it has no name in either."""
    module = sys.modules.get(app.import_name)
    if module is not None and app.import_name != "__main__":
        names = [name for name, value in vars(module).items() if value is app]
        if names:
            return AppSource(import_path=f"{app.import_name}:{names[0]}", debug=debug)
    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__file__", None) is None:
        return None  # an interactive session cannot be re-run
    names = [name for name, value in vars(main).items() if value is app]
    if not names:
        return None
    return AppSource(main_attr=names[0], debug=debug)


def run_app(
    app: Erlen,
    host: str | None = None,
    port: int | None = None,
    debug: bool | None = None,
    load_dotenv: bool = True,
    **options: t.Any,
) -> None:
    """What ``app.run()`` does: serve ``app`` with the development server,
    for ``python app.py``.

    Call it under ``if __name__ == "__main__":``.  Inside an ``erlen``
    command (which serves or inspects the app itself) the call is ignored.

    :param app: the app.
    :param host: the interface (default ``127.0.0.1``, or ``SERVER_NAME``'s).
    :param port: the port (default ``5000``, or ``SERVER_NAME``'s).
    :param debug: set debug mode; it turns the reloader and the debug page on.
    :param load_dotenv: load ``.env`` and ``.erlenenv`` first.
    :param options: ``use_reloader`` and ``use_debugger`` (default: debug
        mode), ``extra_files``, ``exclude_patterns``, ``ssl_context`` as a
        ``(cert_file, key_file)`` tuple; ``threaded`` and ``processes`` are
        accepted and ignored (the server is concurrent already); anything
        else goes to ``uvicorn.Config``.
    :raises ServerError: when the server cannot start.
    """
    if os.environ.get(SOURCE_ENV):
        # A reloaded server process re-running the main script: the server
        # is already in charge of this app.
        return
    if os.environ.get("ERLEN_RUN_FROM_CLI") == "true":
        click.secho(
            " * Ignoring a call to 'app.run()' that would block the current"
            " 'erlen' command. Only call 'app.run()' in an"
            " 'if __name__ == \"__main__\":' block.",
            err=True,
            fg="red",
        )
        return
    if load_dotenv:
        from .cli import load_dotenv as load_env_files

        load_env_files()
        if "ERLEN_DEBUG" in os.environ:
            app.debug = get_debug_flag()
    if debug is not None:
        app.debug = bool(debug)
    server_name = app.config.get("SERVER_NAME") or ""
    sn_host, _, sn_port = server_name.partition(":")
    host = host or sn_host or "127.0.0.1"
    if port is None:
        port = int(sn_port) if sn_port else 5000
    reload = options.pop("use_reloader", options.pop("reload", app.debug))
    debugger = options.pop("use_debugger", options.pop("debugger", app.debug))
    extra_files = options.pop("extra_files", None) or ()
    exclude_patterns = options.pop("exclude_patterns", None) or ()
    options.pop("threaded", None)
    options.pop("processes", None)
    cert = options.pop("cert", None) or options.pop("ssl_certfile", None)
    key = options.pop("key", None) or options.pop("ssl_keyfile", None)
    ssl_context = options.pop("ssl_context", None)
    if ssl_context is not None:
        if not (isinstance(ssl_context, tuple | list) and len(ssl_context) == 2):
            raise ServerError(
                "ssl_context must be a (cert_file, key_file) tuple for Erlen's"
                " development server; 'adhoc' and SSLContext objects are not"
                " supported. Create a local certificate with mkcert or openssl."
            )
        cert, key = (str(part) for part in ssl_context)
    run_server(
        app,
        host=host,
        port=int(port),
        reload=bool(reload),
        debugger=bool(debugger),
        extra_files=list(extra_files),
        exclude_patterns=list(exclude_patterns),
        cert=cert,
        key=key,
        source=_source_for(app, app.debug),
        **options,
    )
