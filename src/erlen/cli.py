"""The ``erlen`` command: app discovery, ``erlen run``, ``erlen routes``,
``erlen shell``, and the app's own commands.

``erlen --app hello run`` loads ``.erlenenv`` and ``.env``, finds the app
(:class:`ScriptInfo`), and runs the command.  Apps add commands with
``@app.cli.command()``; installed packages add them through the
``erlen.commands`` entry point group.  Every option can also be set with an
``ERLEN_`` environment variable: ``ERLEN_APP``, ``ERLEN_RUN_PORT``...
"""

from __future__ import annotations

import ast
import code
import copy
import importlib
import importlib.metadata
import inspect
import os
import platform
import re
import sys
import traceback
import typing as t
from functools import wraps

import click
from click.core import ParameterSource
from click.testing import CliRunner, Result

from .ctx import has_app_context
from .globals import current_app

if t.TYPE_CHECKING:
    from .app import Erlen

__all__ = [
    "AppGroup",
    "ErlenCliRunner",
    "ErlenGroup",
    "NoAppException",
    "ScriptInfo",
    "add_blueprint_commands",
    "cli",
    "find_app_by_string",
    "find_best_app",
    "load_dotenv",
    "locate_app",
    "main",
    "pass_script_info",
    "prepare_import",
    "routes_command",
    "run_command",
    "shell_command",
    "with_appcontext",
]

F = t.TypeVar("F", bound=t.Callable[..., t.Any])

_ERLEN_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


class NoAppException(click.ClickException):
    """The app could not be found or loaded.  The message says what was
    tried, why it failed and how to fix it."""


# -- discovery ----------------------------------------------------------------


def _is_loader_frame(filename: str) -> bool:
    """Frames of the machinery that imports the user's code (Erlen's CLI,
    click, importlib): hidden from the tracebacks shown to the user."""
    return (
        filename.startswith(_ERLEN_DIR)
        or filename.startswith("<frozen importlib")
        or os.sep + "click" + os.sep in filename
        or filename.endswith(os.path.join("importlib", "__init__.py"))
    )


def _trim(te: traceback.TracebackException) -> None:
    stack = list(te.stack)
    while stack and _is_loader_frame(stack[0].filename):
        stack.pop(0)
    stack = [f for f in stack if not f.filename.startswith("<frozen importlib")]
    te.stack = traceback.StackSummary.from_list(stack)
    for linked in (te.__cause__, te.__context__):
        if linked is not None:
            _trim(linked)


def user_traceback(error: BaseException) -> str:
    """``error``'s traceback as text, without the leading frames of Erlen's
    loader, click and importlib: it starts in the user's code."""
    te = traceback.TracebackException.from_exception(error)
    _trim(te)
    return "".join(te.format()).rstrip()


def prepare_import(path: str) -> str:
    """The module name to import for an ``--app`` module or path, with the
    folder it is importable from put first on ``sys.path``.

    ``hello``, ``pkg.mod`` stay as they are (importable from the working
    directory); ``src/hello.py`` becomes ``hello`` with ``src`` on the path;
    a file or folder inside packages (folders with ``__init__.py``) becomes
    the dotted name from the outermost package.

    :raises NoAppException: for a ``.py`` path that does not exist.
    """
    looks_like_path = (
        path.endswith(".py")
        or os.sep in path
        or "/" in path
        or (os.altsep is not None and os.altsep in path)
    )
    if not looks_like_path:
        _ensure_on_path(os.getcwd())
        return path
    full = os.path.realpath(path)
    if full.endswith(".py"):
        if not os.path.isfile(full):
            raise NoAppException(
                f"The file {path!r} does not exist (looked for {full!r}). Check"
                " the path given to '--app' or ERLEN_APP."
            )
        full = full[:-3]
    elif not os.path.isdir(full):
        raise NoAppException(
            f"{path!r} is neither a .py file nor a folder (looked for {full!r})."
            " Give '--app' a module name, a .py file or a package folder."
        )
    if os.path.basename(full) == "__init__":
        full = os.path.dirname(full)
    parts = [os.path.basename(full)]
    folder = os.path.dirname(full)
    while os.path.isfile(os.path.join(folder, "__init__.py")):
        parts.append(os.path.basename(folder))
        folder = os.path.dirname(folder)
    _ensure_on_path(folder)
    return ".".join(reversed(parts))


def _ensure_on_path(folder: str) -> None:
    folder = os.path.realpath(folder)
    if not sys.path or os.path.realpath(sys.path[0] or os.curdir) != folder:
        sys.path.insert(0, folder)


def _erlen_class() -> type[Erlen]:
    from .app import Erlen

    return Erlen


def _wrong_kind_hint(value: object) -> str:
    kind = type(value)
    if kind.__module__.split(".")[0] == "flask":
        return (
            f" It is a Flask {kind.__name__}: port it with"
            " 'from erlen import Erlen' and 'app = Erlen(__name__)'."
        )
    return f" It is a {kind.__module__}.{kind.__qualname__}."


def _call_factory(
    factory: t.Callable[..., t.Any],
    args: tuple[t.Any, ...],
    kwargs: dict[str, t.Any],
    label: str,
    no_args_hint: str | None = None,
) -> t.Any:
    try:
        inspect.signature(factory).bind(*args, **kwargs)
    except TypeError as e:
        if no_args_hint is not None:
            raise NoAppException(no_args_hint) from None
        raise NoAppException(
            f"The factory {label!r} could not be called with the given arguments: {e}."
        ) from None
    except ValueError:
        pass  # no signature to check (a builtin); just call it
    try:
        return factory(*args, **kwargs)
    except Exception as e:
        raise NoAppException(
            f"While creating the app with {label!r}, an exception was"
            f" raised:\n\n{user_traceback(e)}"
        ) from e


def find_best_app(module: t.Any) -> Erlen:
    """The app in ``module``: an Erlen instance named ``app`` or
    ``application``, else the only Erlen instance, else what a ``create_app``
    or ``make_app`` factory returns when called without arguments.

    :raises NoAppException: when there is none, several, or the factory
        needs arguments.
    """
    erlen_cls = _erlen_class()
    name = module.__name__
    for attr in ("app", "application"):
        value = getattr(module, attr, None)
        if isinstance(value, erlen_cls):
            return value
    found: dict[int, tuple[str, Erlen]] = {}
    for attr, value in vars(module).items():
        if isinstance(value, erlen_cls):
            found.setdefault(id(value), (attr, value))
    if len(found) == 1:
        return next(iter(found.values()))[1]
    if len(found) > 1:
        names = ", ".join(repr(attr) for attr, _ in found.values())
        raise NoAppException(
            f"Detected multiple Erlen applications in module {name!r} ({names})."
            f" Use '{name}:name' to say which one to use."
        )
    for attr in ("create_app", "make_app"):
        factory = getattr(module, attr, None)
        if inspect.isfunction(factory):
            app = _call_factory(
                factory,
                (),
                {},
                f"{name}:{attr}",
                no_args_hint=(
                    f"Detected factory {attr!r} in module {name!r}, but could not"
                    f" call it without arguments. Use '{name}:{attr}(args)' to"
                    " pass arguments, for example"
                    f" --app '{name}:{attr}(\"dev\", testing=True)'."
                ),
            )
            if isinstance(app, erlen_cls):
                return app
            raise NoAppException(
                f"The factory {attr!r} in module {name!r} returned"
                f" {type(app).__name__!r}, not an Erlen application."
                + _wrong_kind_hint(app)
            )
    hint = ""
    for attr in ("app", "application"):
        if hasattr(module, attr):
            hint = f" {attr!r} is not an Erlen application." + _wrong_kind_hint(
                getattr(module, attr)
            )
            break
    raise NoAppException(
        f"Failed to find an Erlen application or factory in module {name!r}."
        f" Use '{name}:name' to give the name of the app, or of a function"
        f" that creates it.{hint}"
    )


def _parse_app_name(app_name: str) -> tuple[str, tuple[t.Any, ...], dict[str, t.Any]]:
    """``name`` or ``name(literal args)``, parsed without running code."""
    try:
        expr = ast.parse(app_name.strip(), mode="eval").body
    except SyntaxError:
        raise NoAppException(
            f"Failed to parse {app_name!r} as an attribute name or function call."
        ) from None
    if isinstance(expr, ast.Name):
        return expr.id, (), {}
    if isinstance(expr, ast.Attribute):
        raise NoAppException(
            f"{app_name!r} is an attribute of an attribute; give the app object"
            " itself (for example 'module:app', not 'module:app.asgi'): erlen"
            " serves both its WSGI and ASGI sides."
        )
    if not isinstance(expr, ast.Call):
        raise NoAppException(
            f"Failed to parse {app_name!r} as an attribute name or function call."
        )
    if not isinstance(expr.func, ast.Name):
        raise NoAppException(f"Function reference must be a simple name: {app_name!r}.")
    try:
        args = tuple(ast.literal_eval(arg) for arg in expr.args)
        kwargs = {}
        for keyword in expr.keywords:
            if keyword.arg is None:
                raise ValueError("**kwargs")
            kwargs[keyword.arg] = ast.literal_eval(keyword.value)
    except ValueError:
        raise NoAppException(
            f"Failed to parse arguments as literal values: {app_name!r}. Only"
            " strings, numbers, booleans, None, and lists, tuples, dicts and"
            " sets of those can be passed."
        ) from None
    return expr.func.id, args, kwargs


def find_app_by_string(module: t.Any, app_name: str) -> Erlen:
    """The app named by ``app_name`` in ``module``: an attribute (``app``), a
    factory function called without arguments (``create_app``), or a factory
    called with literal arguments (``create_app("dev", debug=True)``).

    :raises NoAppException: when the name cannot be parsed or found, the
        factory does not accept the arguments, or the result is not an app.
    """
    erlen_cls = _erlen_class()
    name, args, kwargs = _parse_app_name(app_name)
    label = f"{module.__name__}:{app_name}"
    try:
        attr = getattr(module, name)
    except AttributeError:
        known = [
            key
            for key, value in vars(module).items()
            if isinstance(value, erlen_cls)
            or (inspect.isfunction(value) and key in ("create_app", "make_app"))
        ]
        hint = f" It has: {', '.join(map(repr, known))}." if known else ""
        raise NoAppException(
            f"Failed to find attribute {name!r} in module {module.__name__!r}." + hint
        ) from None
    called = "(" in app_name
    if isinstance(attr, erlen_cls) and called:
        raise NoAppException(
            f"{name!r} in module {module.__name__!r} is an Erlen application, not"
            f" a factory: leave out the parentheses, '{module.__name__}:{name}'."
        )
    if inspect.isfunction(attr) or (called and callable(attr)):
        app = _call_factory(attr, args, kwargs, label)
    elif called:
        raise NoAppException(
            f"{name!r} in module {module.__name__!r} is not a function, so it"
            f" cannot be called with arguments. Use '{module.__name__}:{name}'."
        )
    else:
        app = attr
    if isinstance(app, erlen_cls):
        return app
    raise NoAppException(
        f"A valid Erlen application was not obtained from {label!r}."
        + _wrong_kind_hint(app)
    )


def locate_app(
    module_name: str, app_name: str | None, raise_if_not_found: bool = True
) -> Erlen | None:
    """Import ``module_name`` and find the app in it (by ``app_name`` if
    given, see :func:`find_app_by_string`, else :func:`find_best_app`).

    :param raise_if_not_found: when the module does not exist, raise (the
        default) or return ``None``.
    :raises NoAppException: when the module is missing, raises an exception
        while it is imported (the message has its traceback), or has no app.
    """
    try:
        importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        missing = e.name or ""
        if missing == module_name or module_name.startswith(missing + "."):
            if not raise_if_not_found:
                return None
            raise NoAppException(
                f"Could not import {module_name!r}: no module of that name was"
                f" found (current directory: {os.getcwd()!r}). Check the"
                " spelling, run erlen from the folder that contains the module,"
                " or give a path such as '--app path/to/app.py'."
            ) from None
        raise NoAppException(
            f"While importing {module_name!r}, an ImportError was"
            f" raised:\n\n{user_traceback(e)}"
        ) from e
    except Exception as e:
        kind = "an ImportError" if isinstance(e, ImportError) else "an exception"
        raise NoAppException(
            f"While importing {module_name!r}, {kind} was"
            f" raised:\n\n{user_traceback(e)}"
        ) from e
    module = sys.modules[module_name]
    if app_name is None:
        return find_best_app(module)
    return find_app_by_string(module, app_name)


def get_load_dotenv(default: bool = True) -> bool:
    """Whether to load ``.env`` files: ``default``, unless the
    ``ERLEN_SKIP_DOTENV`` environment variable says to skip them."""
    value = os.environ.get("ERLEN_SKIP_DOTENV")
    if not value:
        return default
    return value.lower() in ("0", "false", "no")


def load_dotenv(
    path: str | os.PathLike[str] | None = None, load_defaults: bool = True
) -> bool:
    """Load environment variables from ``.erlenenv`` and ``.env`` (the
    nearest ones, searching up from the working directory) and ``path``.

    Precedence: variables already in the environment win, then ``path``,
    then ``.env``, then ``.erlenenv``.  Needs python-dotenv; without it a
    hint is printed when such files exist.

    :param path: one more file to load, over the default ones.
    :param load_defaults: load ``.erlenenv`` and ``.env``.
    :return: whether any variable was read from a file.
    """
    try:
        import dotenv
    except ImportError:
        if path or os.path.isfile(".env") or os.path.isfile(".erlenenv"):
            click.secho(
                " * Tip: there are .env or .erlenenv files present, but"
                " python-dotenv is not installed, so they were not loaded."
                " Install it: pip install python-dotenv",
                fg="yellow",
                err=True,
            )
        return False
    data: dict[str, str | None] = {}
    if load_defaults:
        for name in (".erlenenv", ".env"):
            found = dotenv.find_dotenv(name, usecwd=True)
            if found:
                data.update(dotenv.dotenv_values(found, encoding="utf-8"))
    if path is not None and os.path.isfile(path):
        data.update(dotenv.dotenv_values(path, encoding="utf-8"))
    for key, value in data.items():
        if key not in os.environ and value is not None:
            os.environ[key] = value
    return bool(data)


class ScriptInfo:
    """What a command needs to find the app; the click context's ``obj``.

    :param app_import_path: the ``--app`` value; ``None`` looks for
        ``wsgi.py`` then ``app.py`` in the working directory.
    :param create_app: a function returning the app, used instead.
    :param set_debug_flag: set ``app.debug`` from ``ERLEN_DEBUG`` (what
        ``--debug``/``--no-debug`` set) after loading, when it is set.
    :param load_dotenv_defaults: load ``.erlenenv`` and ``.env``.
    """

    def __init__(
        self,
        app_import_path: str | None = None,
        create_app: t.Callable[..., Erlen] | None = None,
        set_debug_flag: bool = True,
        load_dotenv_defaults: bool = True,
    ) -> None:
        self.app_import_path = app_import_path
        self.create_app = create_app
        self.set_debug_flag = set_debug_flag
        self.load_dotenv_defaults = get_load_dotenv(load_dotenv_defaults)
        #: Arbitrary data for commands to share.
        self.data: dict[t.Any, t.Any] = {}
        self._loaded_app: Erlen | None = None

    def load_app(self) -> Erlen:
        """Find and load the app (once; later calls return the same app).

        :raises NoAppException: with the reason and the fix.
        """
        if self._loaded_app is not None:
            return self._loaded_app
        app: Erlen | None = None
        if self.create_app is not None:
            app = _call_factory(self.create_app, (), {}, "create_app")
            if not isinstance(app, _erlen_class()):
                raise NoAppException(
                    "The create_app callback did not return an Erlen"
                    " application." + _wrong_kind_hint(app)
                )
        elif self.app_import_path:
            # Split on the first colon not followed by a slash, so Windows
            # paths (C:\app.py) and URLs in factory arguments survive.
            parts = re.split(r":(?![\\/])", self.app_import_path, maxsplit=1)
            path, name = parts[0], (parts[1] if len(parts) > 1 else None)
            app = locate_app(prepare_import(path), name)
        else:
            for filename in ("wsgi.py", "app.py"):
                if os.path.isfile(filename):
                    app = locate_app(prepare_import(filename), None)
                    break
        if app is None:
            raise NoAppException(
                "Could not locate an Erlen application. Use the 'erlen --app'"
                " option, the 'ERLEN_APP' environment variable, or a 'wsgi.py'"
                f" or 'app.py' file in the current directory ({os.getcwd()!r})."
            )
        if self.set_debug_flag and "ERLEN_DEBUG" in os.environ:
            from .helpers import get_debug_flag

            app.debug = get_debug_flag()
        self._loaded_app = app
        return app


def _current_app() -> Erlen:
    """The app of the active app context (the object, not the proxy)."""
    return t.cast("Erlen", t.cast(t.Any, current_app)._get_current_object())


#: A decorator passing the :class:`ScriptInfo` to a command.
pass_script_info = click.make_pass_decorator(ScriptInfo, ensure=True)


def with_appcontext(f: F) -> F:
    """Run a click command in the app's context, loading the app if no
    context is active.  Commands made with ``app.cli.command()`` (and
    :class:`AppGroup`) have it already."""

    @click.pass_context
    @wraps(f)
    def decorator(ctx: click.Context, /, *args: t.Any, **kwargs: t.Any) -> t.Any:
        if not has_app_context():
            app = ctx.ensure_object(ScriptInfo).load_app()
            ctx.with_resource(app.app_context())
        return ctx.invoke(f, *args, **kwargs)

    return t.cast(F, decorator)


class AppGroup(click.Group):
    """A click group whose commands run in an app context: ``app.cli`` is
    one.  ``command()`` wraps callbacks in :func:`with_appcontext` unless
    ``with_appcontext=False`` is passed; ``group()`` makes sub-groups that
    do the same."""

    def command(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        """Like :meth:`click.Group.command`, with ``with_appcontext`` (default
        true) to run the command in an app context.  Works with and without
        parentheses."""
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return self.command()(args[0])
        wrap = kwargs.pop("with_appcontext", True)

        def decorator(f: t.Callable[..., t.Any]) -> click.Command:
            if wrap:
                f = with_appcontext(f)
            command = click.Group.command(self, *args, **kwargs)(f)
            return t.cast(click.Command, command)

        return decorator

    def group(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        """Like :meth:`click.Group.group`, making an :class:`AppGroup`."""
        kwargs.setdefault("cls", AppGroup)
        return click.Group.group(self, *args, **kwargs)


def add_blueprint_commands(
    app_cli: click.Group, blueprint_cli: click.Group, group_name: str | None
) -> None:
    """Add a blueprint's commands to the app's; blueprint registration calls
    this.  Nothing happens when the blueprint has no commands.

    :param app_cli: the app's ``app.cli``.
    :param blueprint_cli: the blueprint's ``blueprint.cli``.
    :param group_name: the group the commands go under (``erlen <group>
        <command>``; the blueprint's ``cli_group``, by default its name), or
        ``None`` to add them to the app's commands directly.
    """
    if not blueprint_cli.commands:
        return
    if group_name is None:
        app_cli.commands.update(blueprint_cli.commands)
        return
    # A copy, so a blueprint registered twice under two names keeps both.
    group = copy.copy(blueprint_cli)
    group.name = group_name
    app_cli.add_command(group)


# -- the erlen group ----------------------------------------------------------


def _env_file_callback(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> str | None:
    info = ctx.ensure_object(ScriptInfo)
    if value is not None:
        try:
            import dotenv  # noqa: F401
        except ImportError:
            raise click.BadParameter(
                "python-dotenv must be installed to load an env file:"
                " pip install python-dotenv",
                ctx=ctx,
                param=param,
            ) from None
    if value is not None or info.load_dotenv_defaults:
        load_dotenv(value, load_defaults=info.load_dotenv_defaults)
    return value


# Eager, and declared before --app: env files are loaded before ERLEN_APP
# and the other options read the environment.
_env_file_option = click.Option(
    ["-e", "--env-file"],
    type=click.Path(exists=True, dir_okay=False),
    help=(
        "Load environment variables from this file, over those of '.env' and"
        " '.erlenenv'. Variables set in the environment win over all files."
        " Needs python-dotenv."
    ),
    is_eager=True,
    expose_value=False,
    callback=_env_file_callback,
)


def _set_app(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> str | None:
    if value is not None:
        ctx.ensure_object(ScriptInfo).app_import_path = value
    return value


_app_option = click.Option(
    ["-A", "--app"],
    metavar="IMPORT",
    envvar="ERLEN_APP",
    show_envvar=True,
    help=(
        "The app or factory to load: 'module', 'module:name',"
        " 'module:factory(\"arg\", key=1)', a .py file or a package folder."
        " The name can be left out if it is 'app', 'application', 'create_app'"
        " or 'make_app'."
    ),
    is_eager=True,
    expose_value=False,
    callback=_set_app,
)


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> bool | None:
    source = ctx.get_parameter_source(param.name or "debug")
    if source is None or source in (
        ParameterSource.DEFAULT,
        ParameterSource.DEFAULT_MAP,
    ):
        return None
    # Through the environment, so the app sees it when it is created (its
    # DEBUG config default), even inside a factory.
    os.environ["ERLEN_DEBUG"] = "1" if value else "0"
    return value


_debug_option = click.Option(
    ["--debug/--no-debug"],
    help="Set debug mode (sets ERLEN_DEBUG before the app is created).",
    expose_value=False,
    # ERLEN_DEBUG is read by the app itself; click must not parse it.
    allow_from_autoenv=False,
    callback=_set_debug,
)


def _show_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from . import __version__

    click.echo(
        f"Python {platform.python_version()}\nErlen {__version__}", color=ctx.color
    )
    ctx.exit()


_version_option = click.Option(
    ["--version"],
    help="Show the Python and Erlen versions.",
    expose_value=False,
    callback=_show_version,
    is_flag=True,
    is_eager=True,
)


class ErlenGroup(AppGroup):
    """The ``erlen`` command: an :class:`AppGroup` that finds the app, loads
    env files, and adds the app's and installed packages' commands.

    :param add_default_commands: add ``run``, ``shell`` and ``routes``.
    :param create_app: a function returning the app, instead of discovery.
    :param add_version_option: add ``--version``.
    :param load_dotenv: load ``.env`` and ``.erlenenv``.
    :param set_debug_flag: set ``app.debug`` from ``--debug``/``ERLEN_DEBUG``.
    """

    def __init__(
        self,
        add_default_commands: bool = True,
        create_app: t.Callable[..., Erlen] | None = None,
        add_version_option: bool = True,
        load_dotenv: bool = True,
        set_debug_flag: bool = True,
        **extra: t.Any,
    ) -> None:
        params = list(extra.pop("params", None) or ())
        params += [_env_file_option, _app_option, _debug_option]
        if add_version_option:
            params.append(_version_option)
        settings = dict(extra.pop("context_settings", None) or {})
        settings.setdefault("auto_envvar_prefix", "ERLEN")
        super().__init__(params=params, context_settings=settings, **extra)
        self.create_app = create_app
        self.load_dotenv = load_dotenv
        self.set_debug_flag = set_debug_flag
        if add_default_commands:
            self.add_command(run_command)
            self.add_command(shell_command)
            self.add_command(routes_command)
        self._loaded_plugin_commands = False

    def _load_plugin_commands(self) -> None:
        if self._loaded_plugin_commands:
            return
        self._loaded_plugin_commands = True
        for entry_point in importlib.metadata.entry_points(group="erlen.commands"):
            try:
                command = entry_point.load()
            except Exception as e:
                click.secho(
                    f"Error: the 'erlen.commands' entry point {entry_point.name!r}"
                    f" ({entry_point.value}) failed to load: {type(e).__name__}:"
                    f" {e}",
                    err=True,
                    fg="red",
                )
                continue
            self.add_command(command, entry_point.name)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """A built-in or plugin command, else one of the app's (run in the
        app's context)."""
        self._load_plugin_commands()
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        info = ctx.ensure_object(ScriptInfo)
        try:
            app = info.load_app()
        except NoAppException as e:
            click.secho(f"Error: {e.format_message()}\n", err=True, fg="red")
            return None
        app_cli = getattr(app, "cli", None)
        if app_cli is None:
            return None
        return t.cast(click.Command | None, app_cli.get_command(ctx, cmd_name))

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """Find the command to run; one of the app's runs in the app's
        context (pushed here rather than in :meth:`get_command`, which help
        output also calls, so no context outlives the command)."""
        name, command, rest = super().resolve_command(ctx, args)
        if (
            name is not None
            and command is not None
            and super().get_command(ctx, name) is None
        ):
            app = ctx.ensure_object(ScriptInfo).load_app()
            if not has_app_context() or _current_app() is not app:
                ctx.with_resource(app.app_context())
        return name, command, rest

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The built-in, plugin and app commands; an app that fails to load
        is reported, and its commands are missing from the list."""
        self._load_plugin_commands()
        names = set(super().list_commands(ctx))
        info = ctx.ensure_object(ScriptInfo)
        try:
            app_cli = getattr(info.load_app(), "cli", None)
        except NoAppException as e:
            click.secho(f"Error: {e.format_message()}\n", err=True, fg="red")
        except Exception:
            click.secho(f"{traceback.format_exc()}\n", err=True, fg="red")
        else:
            if app_cli is not None:
                names.update(app_cli.list_commands(ctx))
        return sorted(names)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: t.Any,
    ) -> click.Context:
        """The group's context, with a :class:`ScriptInfo` as ``obj``."""
        # Tells app.run() not to start a server inside an erlen command.
        os.environ["ERLEN_RUN_FROM_CLI"] = "true"
        if "obj" not in extra and "obj" not in self.context_settings:
            extra["obj"] = ScriptInfo(
                create_app=self.create_app,
                set_debug_flag=self.set_debug_flag,
                load_dotenv_defaults=self.load_dotenv,
            )
        return super().make_context(info_name, args, parent=parent, **extra)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args and self.no_args_is_help:
            # Help for a bare `erlen` skips option processing; load the env
            # files and ERLEN_APP first so it lists the app's commands.
            info = ctx.ensure_object(ScriptInfo)
            if info.load_dotenv_defaults:
                load_dotenv()
            info.app_import_path = info.app_import_path or os.environ.get("ERLEN_APP")
        return super().parse_args(ctx, args)


# -- built-in commands --------------------------------------------------------


if t.TYPE_CHECKING:
    _ListParamType = click.ParamType[list[str]]
else:  # click < 8.2's ParamType is not generic
    _ListParamType = click.ParamType


class _PathList(_ListParamType):
    """Paths separated by ``os.pathsep`` (``a.toml:b.yaml``)."""

    name = "paths"

    def convert(
        self, value: t.Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> list[str]:
        if isinstance(value, list | tuple):
            return [str(v) for v in value]
        items = [item for item in str(value).split(os.pathsep) if item]
        checker = click.Path(exists=True)
        return [str(checker.convert(item, param, ctx)) for item in items]


class _PatternList(_ListParamType):
    """``fnmatch`` patterns separated by ``os.pathsep``."""

    name = "patterns"

    def convert(
        self, value: t.Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> list[str]:
        if isinstance(value, list | tuple):
            return [str(v) for v in value]
        return [item for item in str(value).split(os.pathsep) if item]


class _CertFile(click.Path):
    def __init__(self) -> None:
        super().__init__(exists=True, dir_okay=False, resolve_path=True)

    def convert(
        self, value: t.Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> t.Any:
        if value == "adhoc":
            self.fail(
                "Erlen does not make ad-hoc certificates. Create a local one"
                " (with mkcert, or openssl req -x509 -newkey rsa:2048 -nodes"
                " -keyout key.pem -out cert.pem) and pass --cert cert.pem"
                " --key key.pem.",
                param,
                ctx,
            )
        return super().convert(value, param, ctx)


def _factory_import_string(func: t.Callable[..., t.Any]) -> str | None:
    module = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", "")
    if not module or module == "__main__" or "<" in qualname or "." in qualname:
        return None
    return f"{module}:{qualname}"


@click.command("run", short_help="Run a development server.")
@click.option(
    "--host",
    "-h",
    default="127.0.0.1",
    show_default=True,
    help="The interface to listen on.",
)
@click.option(
    "--port",
    "-p",
    default=5000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="The port to listen on (0 picks a free one).",
)
@click.option("--cert", type=_CertFile(), help="A PEM certificate file: serve HTTPS.")
@click.option(
    "--key",
    type=click.Path(exists=True, dir_okay=False, resolve_path=True),
    help="The certificate's PEM private key file.",
)
@click.option(
    "--reload/--no-reload",
    default=None,
    help="Restart the server when a .py file, a template or an extra file"
    " changes. On by default in debug mode.",
)
@click.option(
    "--debugger/--no-debugger",
    default=None,
    help="Show the debug page for unhandled errors. On by default in debug mode.",
)
@click.option(
    "--extra-files",
    type=_PathList(),
    default=None,
    help=f"More files that restart the server when they change, separated by"
    f" {os.pathsep!r}.",
)
@click.option(
    "--exclude-patterns",
    type=_PatternList(),
    default=None,
    help=f"fnmatch patterns of files that do not restart the server, separated"
    f" by {os.pathsep!r}.",
)
@pass_script_info
def run_command(
    info: ScriptInfo,
    host: str,
    port: int,
    cert: str | None,
    key: str | None,
    reload: bool | None,
    debugger: bool | None,
    extra_files: list[str] | None,
    exclude_patterns: list[str] | None,
) -> None:
    """Serve the app with the development server (uvicorn, on app.asgi).

    It reloads on changes and shows a debug page for unhandled errors in
    debug mode (--debug). It is for development only: deploy with gunicorn,
    uvicorn or granian.
    """
    if key is not None and cert is None:
        raise click.BadParameter('"--cert" must also be given.', param_hint="'--key'")
    if cert is not None and key is None:
        raise click.BadParameter('Required when using "--cert".', param_hint="'--key'")
    from .devserver import AppSource, ServerError, run_server

    app = info.load_app()
    if reload is None:
        reload = app.debug
    source: AppSource | None
    if info.create_app is not None:
        factory = _factory_import_string(info.create_app)
        source = AppSource(factory=factory) if factory else None
    else:
        source = AppSource(import_path=info.app_import_path)
    try:
        run_server(
            app,
            host=host,
            port=port,
            reload=reload,
            debugger=debugger,
            extra_files=extra_files or (),
            exclude_patterns=exclude_patterns or (),
            cert=cert,
            key=key,
            source=source,
            label=info.app_import_path or app.name,
        )
    except ServerError as e:
        raise click.ClickException(str(e)) from None


# `erlen run --debug` as well as `erlen --debug run`, as in Flask.
run_command.params.insert(0, _debug_option)


def make_shell_context(app: Erlen) -> dict[str, t.Any]:
    """The names ``erlen shell`` starts with: ``app``, ``g``, and those of
    the app's ``shell_context_processor`` functions."""
    make = getattr(app, "make_shell_context", None)
    if make is not None:
        return t.cast(dict[str, t.Any], make())
    from .globals import g

    names: dict[str, t.Any] = {"app": app, "g": g}
    for processor in app.shell_context_processors:
        names.update(processor())
    return names


@click.command("shell", short_help="Run a shell in the app context.")
@click.option(
    "--ipython/--no-ipython",
    default=None,
    help="Use IPython. The default when it is installed.",
)
@with_appcontext
def shell_command(ipython: bool | None) -> None:
    """Run an interactive Python shell in the app's context, with 'app', 'g'
    and the names of the app's shell context processors.
    """
    app: Erlen = _current_app()
    banner = (
        f"Python {sys.version} on {sys.platform}\n"
        f"App: {app.import_name}\nInstance: {app.instance_path}"
    )
    namespace: dict[str, t.Any] = {}
    startup = os.environ.get("PYTHONSTARTUP")
    if startup and os.path.isfile(startup):
        with open(startup, encoding="utf-8") as f:
            exec(compile(f.read(), startup, "exec"), namespace)
    namespace.update(make_shell_context(app))
    if ipython is not False:
        try:
            ipython_module = importlib.import_module("IPython")
        except ImportError:
            if ipython:
                raise click.ClickException(
                    "IPython is not installed: pip install ipython, or leave out"
                    " --ipython to use the standard shell."
                ) from None
        else:
            click.echo(banner)
            ipython_module.start_ipython(argv=["--no-banner"], user_ns=namespace)
            return
    if sys.stdin.isatty():
        hook = getattr(sys, "__interactivehook__", None)
        if hook is not None:
            try:
                import readline
                from rlcompleter import Completer
            except ImportError:
                pass
            else:
                readline.set_completer(Completer(namespace).complete)
            hook()
    code.interact(banner=banner, local=namespace, exitmsg="")


_SORTS = ("endpoint", "methods", "domain", "rule", "match")


@click.command("routes", short_help="Show the routes for the app.")
@click.option(
    "--sort",
    "-s",
    type=click.Choice(_SORTS),
    default="endpoint",
    help="How to sort the routes; 'match' keeps the order they were added in.",
)
@click.option("--all-methods", is_flag=True, help="Show HEAD and OPTIONS methods.")
@with_appcontext
def routes_command(sort: str, all_methods: bool) -> None:
    """Show all the app's routes: endpoint, methods and rule."""
    app: Erlen = _current_app()
    rules = list(app.url_map.iter_rules())
    if not rules:
        click.echo("No routes were registered.")
        return
    hidden = set() if all_methods else {"HEAD", "OPTIONS"}
    host_matching = app.url_map.host_matching
    domains = [(rule.host if host_matching else rule.subdomain) or "" for rule in rules]
    has_domain = any(domains)
    header = ["Endpoint", "Methods"]
    if has_domain:
        header.append("Host" if host_matching else "Subdomain")
    header.append("Rule")
    rows = []
    for rule, domain in zip(rules, domains, strict=True):
        if getattr(rule, "websocket", False):
            methods = "WEBSOCKET"
        else:
            methods = ", ".join(sorted((rule.methods or set()) - hidden))
        row = [rule.endpoint or "", methods]
        if has_domain:
            row.append(domain)
        row.append(rule.rule)
        rows.append(row)
    column = {"endpoint": 0, "methods": 1, "domain": 2 if has_domain else None}
    column["rule"] = len(header) - 1
    index = column.get(sort)
    if index is not None:
        rows.sort(key=lambda row: row[index])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *rows]:
        click.echo(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
        )


#: The ``erlen`` command.
cli = ErlenGroup(
    name="erlen",
    help="""\
A general utility script for Erlen applications.

The app to load is given with the '--app' option, the 'ERLEN_APP'
environment variable, or a 'wsgi.py' or 'app.py' file in the current
directory.
""",
)


def main() -> None:
    """The ``erlen`` console script and ``python -m erlen``."""
    cli.main()


# -- testing ------------------------------------------------------------------


class ErlenCliRunner(CliRunner):
    """A :class:`click.testing.CliRunner` that runs commands against ``app``;
    ``app.test_cli_runner()`` makes one.

    :param app: the app the commands run against.
    :param kwargs: passed to :class:`~click.testing.CliRunner`.
    """

    def __init__(self, app: Erlen, **kwargs: t.Any) -> None:
        self.app = app
        super().__init__(**kwargs)

    def invoke(  # type: ignore[override]
        self,
        cli: click.Command | None = None,
        args: str | t.Sequence[str] | None = None,
        **kwargs: t.Any,
    ) -> Result:
        """Run ``cli`` (default: ``app.cli``) with ``args`` in an isolated
        environment; the app is the one every command loads.  Other keyword
        arguments are :meth:`click.testing.CliRunner.invoke`'s (``input``,
        ``env``, ``catch_exceptions``...).

        :return: the :class:`click.testing.Result` (``output``,
            ``exit_code``, ``exception``).
        """
        if cli is None:
            cli = t.cast(t.Any, self.app).cli
        if "obj" not in kwargs:
            kwargs["obj"] = ScriptInfo(
                create_app=lambda: self.app, set_debug_flag=False
            )
        return super().invoke(t.cast(click.Command, cli), args, **kwargs)
