"""The ``erlen`` command: discovery, its errors, env files, options, and the
built-in and custom commands."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import types
import typing as t
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import erlen
from erlen import Erlen, current_app
from erlen.cli import (
    AppGroup,
    ErlenCliRunner,
    ErlenGroup,
    NoAppException,
    ScriptInfo,
    add_blueprint_commands,
    cli,
    load_dotenv,
    with_appcontext,
)


def _ensure_cli(app: Erlen) -> AppGroup:
    """``app.cli``, attached here until ``Erlen.__init__`` creates it."""
    if not hasattr(app, "cli"):
        app.cli = AppGroup(app.name)  # type: ignore[attr-defined]
    return t.cast(AppGroup, app.cli)  # type: ignore[attr-defined]


# What generated app modules put after creating their app, for the same
# reason as _ensure_cli.
ENSURE_CLI = """
if not hasattr(app, "cli"):
    from erlen.cli import AppGroup
    app.cli = AppGroup(app.name)
"""

APP = """
from erlen import Erlen
app = Erlen(__name__)
app.config["WHO"] = {who!r}
"""


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> t.Iterator[Path]:
    """Each test in its own folder, with sys.path, sys.modules and the
    environment restored afterwards."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    modules = set(sys.modules)
    environ = dict(os.environ)
    for key in list(os.environ):
        if key.startswith("ERLEN_"):
            del os.environ[key]
    yield tmp_path
    for name in set(sys.modules) - modules:
        del sys.modules[name]
    os.environ.clear()
    os.environ.update(environ)


def write(path: str, text: str) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(textwrap.dedent(text).lstrip())
    return target


def load(import_path: str | None) -> Erlen:
    return ScriptInfo(import_path).load_app()


def error_of(import_path: str | None) -> str:
    with pytest.raises(NoAppException) as info:
        load(import_path)
    return info.value.format_message()


# -- discovery --------------------------------------------------------------------


@pytest.mark.parametrize("attr", ["app", "application"])
def test_module_with_app_or_application(attr: str) -> None:
    write("hello.py", f"from erlen import Erlen\n{attr} = Erlen(__name__)\n")
    assert load("hello").import_name == "hello"


def test_module_with_a_single_app_of_another_name() -> None:
    write("hello.py", "from erlen import Erlen\nweb = Erlen(__name__)\nsame = web\n")
    assert load("hello").import_name == "hello"


def test_module_with_several_apps() -> None:
    write("hello.py", "from erlen import Erlen\na = Erlen('a')\nb = Erlen('b')\n")
    message = error_of("hello")
    assert "multiple Erlen applications in module 'hello' ('a', 'b')" in message
    assert "'hello:name'" in message
    assert load("hello:b").import_name == "b"


@pytest.mark.parametrize("factory", ["create_app", "make_app"])
def test_module_with_a_factory(factory: str) -> None:
    write(
        "hello.py",
        f"""
        from erlen import Erlen
        def {factory}():
            return Erlen("made")
        """,
    )
    assert load("hello").import_name == "made"


def test_module_colon_name() -> None:
    write("hello.py", APP.format(who="app") + "other = Erlen('other')\n")
    assert load("hello:other").import_name == "other"
    assert load("hello:app").config["WHO"] == "app"


FACTORY = """
from erlen import Erlen
def create_app(name="default", *, debug=False, extra=None):
    app = Erlen("factory")
    app.config.update(NAME=name, DEBUG_ARG=debug, EXTRA=extra)
    return app
"""


@pytest.mark.parametrize(
    ("spec", "name", "debug", "extra"),
    [
        ("hello:create_app", "default", False, None),
        ("hello:create_app()", "default", False, None),
        ('hello:create_app("dev")', "dev", False, None),
        ("hello:create_app('dev', debug=True)", "dev", True, None),
        (
            'hello:create_app(extra={"n": [1, 2.5, None]})',
            "default",
            False,
            {"n": [1, 2.5, None]},
        ),
        ('hello:create_app("sqlite:///x.db")', "sqlite:///x.db", False, None),
    ],
)
def test_factory_with_literal_arguments(
    spec: str, name: str, debug: bool, extra: t.Any
) -> None:
    write("hello.py", FACTORY)
    app = load(spec)
    assert (app.config["NAME"], app.config["DEBUG_ARG"], app.config["EXTRA"]) == (
        name,
        debug,
        extra,
    )


def test_factory_arguments_are_never_evaluated() -> None:
    write("hello.py", FACTORY)
    marker = Path("pwned")
    message = error_of(f"hello:create_app(open({str(marker)!r}, 'w'))")
    assert "Failed to parse arguments as literal values" in message
    assert not marker.exists()
    assert "Failed to parse arguments as literal values" in error_of(
        "hello:create_app(x)"
    )
    assert "Failed to parse arguments" in error_of("hello:create_app(**{'a': 1})")
    assert "Function reference must be a simple name" in error_of("hello:a.b()")
    assert "as an attribute name or function call" in error_of("hello:create_app(")
    assert "as an attribute name or function call" in error_of("hello:1 + 2")
    assert "give the app object itself" in error_of("hello:app.asgi")


def test_factory_that_needs_arguments() -> None:
    write(
        "hello.py",
        """
        from erlen import Erlen
        def create_app(config_name):
            return Erlen("x")
        """,
    )
    message = error_of("hello")
    assert message.startswith(
        "Detected factory 'create_app' in module 'hello', but could not call it"
        " without arguments. Use 'hello:create_app(args)' to pass arguments"
    )
    message = error_of("hello:create_app(1, 2)")
    assert message.startswith(
        "The factory 'hello:create_app(1, 2)' could not be called with the given"
        " arguments: too many positional arguments."
    )
    assert load("hello:create_app('prod')").import_name == "x"


def test_factory_that_raises_shows_the_users_traceback() -> None:
    write(
        "hello.py",
        """
        from erlen import Erlen
        def create_app():
            settings = {}
            return Erlen(settings["NAME"])
        """,
    )
    message = error_of("hello")
    assert message.startswith(
        "While creating the app with 'hello:create_app', an exception was raised:"
    )
    assert 'hello.py", line 4, in create_app' in message
    assert "KeyError: 'NAME'" in message
    assert "erlen/cli.py" not in message


def test_factory_returning_something_else() -> None:
    write("hello.py", "def create_app():\n    return 'nope'\n")
    assert "returned 'str', not an Erlen application" in error_of("hello")


def test_attribute_errors() -> None:
    write("hello.py", APP.format(who="x") + "thing = 'text'\n")
    assert error_of("hello:nope") == (
        "Failed to find attribute 'nope' in module 'hello'. It has: 'app'."
    )
    assert error_of("hello:thing") == (
        "A valid Erlen application was not obtained from 'hello:thing'."
        " It is a builtins.str."
    )
    assert "is an Erlen application, not a factory" in error_of("hello:app()")
    assert "is not a function" in error_of("hello:thing()")


def test_flask_app_gets_a_porting_hint() -> None:
    write("hello.py", "from flask import Flask\napp = Flask(__name__)\n")
    message = error_of("hello")
    assert "Failed to find an Erlen application or factory in module 'hello'" in message
    assert "It is a Flask Flask: port it with 'from erlen import Erlen'" in message


def test_module_without_an_app() -> None:
    write("hello.py", "x = 1\n")
    assert error_of("hello") == (
        "Failed to find an Erlen application or factory in module 'hello'. Use"
        " 'hello:name' to give the name of the app, or of a function that"
        " creates it."
    )


def test_no_such_module(isolated: Path) -> None:
    message = error_of("nope_not_here")
    assert message.startswith(
        "Could not import 'nope_not_here': no module of that name was found"
        f" (current directory: {str(isolated)!r})."
    )
    write("pkg/__init__.py", "")
    assert error_of("pkg.missing").startswith("Could not import 'pkg.missing'")
    assert error_of("missing.py").startswith("The file 'missing.py' does not exist")
    assert "is neither a .py file nor a folder" in error_of("no/such/folder")


def test_import_error_inside_the_module_shows_its_traceback() -> None:
    write("hello.py", "import os\nimport nonexistent_dependency_xyz\n")
    message = error_of("hello")
    assert message.startswith("While importing 'hello', an ImportError was raised:")
    assert 'hello.py", line 2, in <module>' in message
    assert (
        "ModuleNotFoundError: No module named 'nonexistent_dependency_xyz'" in message
    )
    # The user's traceback, not Erlen's loader or importlib.
    assert "erlen" + os.sep + "cli.py" not in message
    assert "importlib" not in message
    assert message.count("File ") == 1


def test_other_errors_while_importing() -> None:
    write("hello.py", "from erlen import Erlen\napp = Erlen(__name__)\n1 / 0\n")
    message = error_of("hello")
    assert message.startswith("While importing 'hello', an exception was raised:")
    assert "ZeroDivisionError: division by zero" in message
    write("broken.py", "def oops(:\n    pass\n")
    message = error_of("broken")
    assert 'broken.py", line 1' in message and "SyntaxError" in message


def test_paths_and_packages() -> None:
    write("src/hello.py", APP.format(who="file"))
    assert load("src/hello.py").config["WHO"] == "file"
    write("proj/pkg/__init__.py", APP.format(who="package"))
    write("proj/pkg/web.py", APP.format(who="web") + "other = Erlen('other')\n")
    assert load("proj/pkg").config["WHO"] == "package"
    assert load("proj/pkg/__init__.py").config["WHO"] == "package"
    assert load("proj/pkg/web.py:app").config["WHO"] == "web"
    assert load("proj/pkg/web.py:other").import_name == "other"
    assert sys.modules["pkg.web"].__name__ == "pkg.web"
    assert load(os.path.abspath("src/hello.py")).config["WHO"] == "file"


def test_default_files() -> None:
    assert error_of(None).startswith(
        "Could not locate an Erlen application. Use the 'erlen --app' option,"
        " the 'ERLEN_APP' environment variable, or a 'wsgi.py' or 'app.py' file"
        " in the current directory"
    )
    write("app.py", APP.format(who="app.py"))
    assert load(None).config["WHO"] == "app.py"
    write("wsgi.py", APP.format(who="wsgi.py"))
    assert load(None).config["WHO"] == "wsgi.py"


def test_create_app_callback_and_load_once() -> None:
    calls: list[int] = []

    def create() -> Erlen:
        calls.append(1)
        return Erlen("from_callback")

    info = ScriptInfo(create_app=create)
    assert info.load_app() is info.load_app()
    assert calls == [1]
    bad = ScriptInfo(create_app=lambda: "nope")  # type: ignore[arg-type,return-value]
    with pytest.raises(NoAppException, match="did not return an Erlen"):
        bad.load_app()


# -- the command line -------------------------------------------------------------


def invoke(args: list[str], **kwargs: t.Any) -> t.Any:
    """Run ``erlen args`` as a fresh process would: the modules it imports
    are forgotten afterwards."""
    modules = set(sys.modules)
    try:
        return CliRunner().invoke(cli, args, **kwargs)
    finally:
        for name in set(sys.modules) - modules:
            del sys.modules[name]


def test_error_is_one_paragraph_not_a_stack_dump() -> None:
    result = invoke(["--app", "nope_missing", "routes"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: Could not import 'nope_missing'")
    assert "Traceback" not in result.output
    assert result.output.count("\n") == 1


def test_unknown_command_reports_why_the_app_did_not_load() -> None:
    result = invoke(["--app", "nope_missing", "hello"])
    assert result.exit_code == 2
    assert "Error: Could not import 'nope_missing'" in result.output
    assert "No such command 'hello'" in result.output


def test_version() -> None:
    result = invoke(["--version"])
    assert result.output == (
        f"Python {sys.version.split()[0]}\nErlen {erlen.__version__}\n"
    )


def test_console_script_and_python_m() -> None:
    expected = f"Erlen {erlen.__version__}"
    out = subprocess.run(
        [sys.executable, "-m", "erlen", "--version"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    assert expected in out
    script = Path(sys.executable).parent / "erlen"
    if script.exists():
        out = subprocess.run(
            [str(script), "--version"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
        assert expected in out


COMMANDS = """
import os
import click
from erlen import Erlen, current_app
app = Erlen(__name__)
app.config["CREATED_WITH_DEBUG"] = os.environ.get("ERLEN_DEBUG")
{ensure}

@app.cli.command("show")
@click.argument("names", nargs=-1)
def show(names):
    created = app.config["CREATED_WITH_DEBUG"]
    click.echo(f"debug={{current_app.debug}} at_create={{created}}")
    for name in names:
        click.echo(f"{{name}}={{os.environ.get(name)}}")
"""


def test_debug_flag_is_set_before_the_app_is_created() -> None:
    write("app.py", COMMANDS.format(ensure=ENSURE_CLI))
    assert invoke(["show"]).output == "debug=False at_create=None\n"
    assert invoke(["--debug", "show"]).output == "debug=True at_create=1\n"
    assert invoke(["--no-debug", "show"]).output == "debug=False at_create=0\n"
    os.environ["ERLEN_DEBUG"] = "1"
    assert invoke(["show"]).output == "debug=True at_create=1\n"


def test_debug_set_in_code_counts_unless_a_flag_is_given() -> None:
    code = COMMANDS.format(ensure=ENSURE_CLI) + '\napp.config["DEBUG"] = True\n'
    write("app.py", code)
    assert invoke(["show"]).output.startswith("debug=True")
    assert invoke(["--no-debug", "show"]).output.startswith("debug=False")


def test_env_file_precedence() -> None:
    write("app.py", COMMANDS.format(ensure=ENSURE_CLI))
    write(
        ".erlenenv", "A=erlenenv\nB=erlenenv\nC=erlenenv\nD=erlenenv\nERLEN_APP=app\n"
    )
    write(".env", "B=env\nC=env\nD=env\n")
    write("custom.env", "C=custom\nD=custom\n")
    os.environ["D"] = "environment"
    result = invoke(["-e", "custom.env", "show", "A", "B", "C", "D"])
    assert result.output.splitlines()[1:] == [
        "A=erlenenv",
        "B=env",
        "C=custom",
        "D=environment",
    ], result.output
    # The command line beats the environment (and the files): --app over
    # ERLEN_APP from .erlenenv.
    write(
        "other.py", COMMANDS.format(ensure=ENSURE_CLI).replace("debug=", "other debug=")
    )
    assert invoke(["--app", "other", "show"]).output.startswith("other debug=")
    assert invoke(["show"]).output.startswith("debug=")


def test_env_files_from_a_parent_folder_and_skipping_them(isolated: Path) -> None:
    write(".env", "FROM_PARENT=yes\n")
    os.chdir(write("sub/app.py", COMMANDS.format(ensure=ENSURE_CLI)).parent)
    assert invoke(["show", "FROM_PARENT"]).output.endswith("FROM_PARENT=yes\n")
    del os.environ["FROM_PARENT"]
    os.environ["ERLEN_SKIP_DOTENV"] = "1"
    assert invoke(["show", "FROM_PARENT"]).output.endswith("FROM_PARENT=None\n")


def test_missing_python_dotenv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dotenv", None)  # makes `import dotenv` fail
    write("app.py", COMMANDS.format(ensure=ENSURE_CLI))
    write(".env", "X=1\n")
    result = invoke(["show", "X"])
    assert "python-dotenv is not installed" in result.output
    assert "pip install python-dotenv" in result.output
    assert result.output.endswith("X=None\n")
    result = invoke(["-e", ".env", "show"])
    assert result.exit_code == 2
    assert "python-dotenv must be installed to load an env file" in result.output
    assert load_dotenv() is False


def test_erlen_app_environment_variable() -> None:
    write("hello.py", COMMANDS.format(ensure=ENSURE_CLI))
    os.environ["ERLEN_APP"] = "hello"
    assert invoke(["show"]).output.startswith("debug=False")
    result = invoke([])
    assert "show" in result.output  # bare `erlen` lists the app's commands


# -- erlen run (the server itself is tested in test_devserver.py) ------------------


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, t.Any]]:
    """Calls to the dev server, which is not started."""
    import erlen.devserver

    calls: list[dict[str, t.Any]] = []

    def fake_run_server(app: Erlen, **kwargs: t.Any) -> None:
        calls.append(dict(kwargs, app=app))

    monkeypatch.setattr(erlen.devserver, "run_server", fake_run_server)
    write("app.py", APP.format(who="run"))
    return calls


def test_run_defaults(served: list[dict[str, t.Any]]) -> None:
    assert invoke(["run"]).exit_code == 0
    call = served[-1]
    assert (call["host"], call["port"], call["reload"]) == ("127.0.0.1", 5000, False)
    assert call["app"].config["WHO"] == "run"
    assert call["source"].import_path is None
    invoke(["--debug", "run"])
    assert served[-1]["reload"] is True and served[-1]["app"].debug
    invoke(["run", "--debug"])
    assert served[-1]["reload"] is True and served[-1]["app"].debug
    invoke(["--debug", "run", "--no-reload", "--no-debugger"])
    assert served[-1]["reload"] is False and served[-1]["debugger"] is False


def test_run_options_and_their_environment_variables(
    served: list[dict[str, t.Any]], isolated: Path
) -> None:
    write("a.toml", "")
    write("b.toml", "")
    os.environ["ERLEN_RUN_PORT"] = "6000"
    os.environ["ERLEN_RUN_HOST"] = "0.0.0.0"
    os.environ["ERLEN_RUN_EXTRA_FILES"] = f"a.toml{os.pathsep}b.toml"
    assert invoke(["--app", "app:app", "run"]).exit_code == 0
    call = served[-1]
    assert (call["host"], call["port"]) == ("0.0.0.0", 6000)
    assert [Path(p).name for p in call["extra_files"]] == ["a.toml", "b.toml"]
    assert call["source"].import_path == "app:app"
    result = invoke(
        ["run", "--port", "7000", "--exclude-patterns", f"*.tmp{os.pathsep}x/*"]
    )
    assert result.exit_code == 0
    assert served[-1]["port"] == 7000
    assert served[-1]["exclude_patterns"] == ["*.tmp", "x/*"]
    result = invoke(["run", "--port", "70000"])
    assert result.exit_code == 2 and "70000 is not in the range" in result.output


def test_run_tls_options(served: list[dict[str, t.Any]]) -> None:
    write("cert.pem", "c")
    write("key.pem", "k")
    result = invoke(["run", "--key", "key.pem"])
    assert result.exit_code == 2 and '"--cert" must also be given' in result.output
    result = invoke(["run", "--cert", "cert.pem"])
    assert result.exit_code == 2 and 'Required when using "--cert"' in result.output
    result = invoke(["run", "--cert", "adhoc", "--key", "key.pem"])
    assert (
        result.exit_code == 2 and "does not make ad-hoc certificates" in result.output
    )
    assert invoke(["run", "--cert", "cert.pem", "--key", "key.pem"]).exit_code == 0
    assert Path(served[-1]["cert"]).name == "cert.pem"
    assert Path(served[-1]["key"]).name == "key.pem"


def test_app_run_is_ignored_inside_an_erlen_command(
    served: list[dict[str, t.Any]],
) -> None:
    write(
        "app.py",
        APP.format(who="x") + "from erlen.devserver import run_app\nrun_app(app)\n",
    )
    result = invoke(["run"])
    assert "Ignoring a call to 'app.run()'" in result.output
    assert len(served) == 1


def test_run_server_errors_are_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    import erlen.devserver

    def refuse(app: Erlen, **kwargs: t.Any) -> None:
        raise erlen.devserver.ServerError("Port 5000 is in use by another program.")

    monkeypatch.setattr(erlen.devserver, "run_server", refuse)
    write("app.py", APP.format(who="x"))
    result = invoke(["run"])
    assert result.exit_code == 1
    assert result.output == "Error: Port 5000 is in use by another program.\n"


# -- erlen routes -------------------------------------------------------------------

ROUTES = """
from {module} import {cls} as App
app = App(__name__{kwargs})

@app.route("/")
def index():
    return ""

@app.route("/users/<int:id>", methods=["GET", "POST", "DELETE"])
def user(id):
    return ""

@app.route("/about", endpoint="a_about")
def about():
    return ""

@app.route("/zzz", methods=["PUT"])
def zzz():
    return ""
{extra}
"""


def _routes_output(
    module: str, cls: str, args: list[str], kwargs: str = "", extra: str = ""
) -> str:
    name = f"routes_{module}"
    write(
        f"{name}.py", ROUTES.format(module=module, cls=cls, kwargs=kwargs, extra=extra)
    )
    if module == "erlen":
        result = invoke(["--app", name, "routes", *args])
        assert result.exit_code == 0, result.output
        return str(result.output)
    from flask.cli import FlaskGroup

    result = CliRunner().invoke(FlaskGroup(), ["--app", name, "routes", *args])
    assert result.exit_code == 0, result.output
    return str(result.output)


@pytest.mark.parametrize(
    "args",
    [[], ["--sort", "methods"], ["-s", "rule"], ["-s", "match"], ["--all-methods"]],
)
def test_routes_match_flask(args: list[str]) -> None:
    ours = _routes_output("erlen", "Erlen", args)
    theirs = _routes_output("flask", "Flask", args)
    assert ours == theirs
    assert ours.startswith("Endpoint  Methods")


def test_routes_with_subdomains_match_flask() -> None:
    extra = '\n@app.route("/api", subdomain="api")\ndef api():\n    return ""\n'
    kwargs = ", subdomain_matching=True"
    ours = _routes_output("erlen", "Erlen", ["-s", "domain"], kwargs, extra)
    theirs = _routes_output("flask", "Flask", ["-s", "domain"], kwargs, extra)
    assert ours == theirs
    assert "Subdomain" in ours


def test_no_routes() -> None:
    write(
        "empty.py",
        "from erlen import Erlen\napp = Erlen(__name__, static_folder=None)\n",
    )
    assert invoke(["--app", "empty", "routes"]).output == "No routes were registered.\n"


# -- erlen shell ----------------------------------------------------------------------

SHELL_APP = """
from erlen import Erlen
app = Erlen(__name__)

@app.shell_context_processor
def names():
    return {"answer": 42}
"""


def test_shell_has_app_g_and_processor_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "IPython", None)
    write("app.py", SHELL_APP)
    result = invoke(["shell"], input="print(app.name, answer, g is not None)\n")
    assert result.exit_code == 0, result.output
    assert "app 42 True" in result.output
    assert "App: app" in result.output


def test_shell_runs_pythonstartup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "IPython", None)
    write("app.py", SHELL_APP)
    monkeypatch.setenv("PYTHONSTARTUP", str(write("startup.py", "greeting = 'hi'\n")))
    result = invoke(["shell"], input="print(greeting, answer)\n")
    assert "hi 42" in result.output


def test_shell_uses_ipython_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, t.Any] = {}
    fake = types.ModuleType("IPython")

    def start_ipython(argv: list[str], user_ns: dict[str, t.Any]) -> None:
        seen.update(user_ns, argv=argv, has_context=current_app.name)

    fake.start_ipython = start_ipython  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", fake)
    write("app.py", SHELL_APP)
    assert invoke(["shell"]).exit_code == 0
    assert seen["answer"] == 42 and seen["app"].name == "app"
    assert seen["has_context"] == "app"
    seen.clear()
    monkeypatch.setitem(sys.modules, "IPython", None)
    assert invoke(["shell", "--ipython"]).output.startswith(
        "Error: IPython is not installed"
    )


# -- custom commands ------------------------------------------------------------------


def test_app_commands_run_in_an_app_context() -> None:
    app = Erlen("custom")
    group = _ensure_cli(app)

    @group.command()
    def hello() -> None:
        click.echo(f"hello from {current_app.name}")

    @group.command
    def bare() -> None:
        click.echo(f"bare in {current_app.name}")

    @group.command(with_appcontext=False)
    def outside() -> None:
        from erlen import has_app_context

        click.echo(f"context={has_app_context()}")

    @group.group()
    def db() -> None:
        pass

    @db.command()
    @click.option("--n", type=int, default=1)
    def seed(n: int) -> None:
        click.echo(f"seed {n} in {current_app.name}")

    @click.command("added")
    @with_appcontext
    def added() -> None:
        click.echo(f"added in {current_app.name}")

    group.add_command(added)
    runner = ErlenCliRunner(app)
    assert runner.invoke(args=["hello"]).output == "hello from custom\n"
    assert runner.invoke(args=["bare"]).output == "bare in custom\n"
    assert runner.invoke(args=["outside"]).output == "context=False\n"
    assert runner.invoke(args=["db", "seed", "--n", "3"]).output == "seed 3 in custom\n"
    assert runner.invoke(args="added").output == "added in custom\n"
    assert runner.invoke(added).output == "added in custom\n"
    assert isinstance(db, AppGroup)


def test_app_commands_from_the_erlen_command() -> None:
    write(
        "app.py",
        """
        import click
        from erlen import Erlen, current_app, g
        app = Erlen(__name__)
        {ensure}
        @app.cli.command("greet")
        @click.argument("name")
        def greet(name):
            g.seen = True
            click.echo(f"hi {{name}} from {{current_app.name}}")

        # A plain click command: the erlen command gives it a context too.
        app.cli.add_command(
            click.Command("plain", callback=lambda: click.echo(current_app.name))
        )
        """.format(ensure=textwrap.indent(ENSURE_CLI, "        ")),
    )
    result = invoke(["greet", "Ada"])
    assert result.exit_code == 0, result.output
    assert result.output == "hi Ada from app\n"
    assert invoke(["plain"]).output == "app\n"
    assert "greet" in invoke(["--help"]).output


def test_cli_runner_does_not_touch_debug() -> None:
    app = Erlen("runner")
    app.debug = True
    os.environ["ERLEN_DEBUG"] = "0"

    @_ensure_cli(app).command()
    def show() -> None:
        click.echo(str(current_app.debug))

    assert ErlenCliRunner(app).invoke(args=["show"]).output == "True\n"


def test_blueprint_commands() -> None:
    app_cli = AppGroup("app")
    bp_cli = AppGroup()

    @bp_cli.command()
    def create() -> None:
        click.echo("created")

    add_blueprint_commands(app_cli, AppGroup(), "empty")
    assert "empty" not in app_cli.commands
    add_blueprint_commands(app_cli, bp_cli, "users")
    add_blueprint_commands(app_cli, bp_cli, "admins")
    add_blueprint_commands(app_cli, bp_cli, None)
    assert app_cli.commands["users"].name == "users"
    assert app_cli.commands["admins"].name == "admins"
    assert set(app_cli.commands) == {"users", "admins", "create"}
    app = Erlen("bp")
    result = ErlenCliRunner(app).invoke(app_cli, ["users", "create"])
    assert result.output == "created\n"


class _EntryPoint:
    def __init__(self, name: str, value: t.Any, error: Exception | None = None) -> None:
        self.name = name
        self.value = f"plugin_module:{name}"
        self._command = value
        self._error = error

    def load(self) -> t.Any:
        if self._error is not None:
            raise self._error
        return self._command


def test_commands_from_installed_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    @click.command()
    def plugin() -> None:
        click.echo("from a plugin")

    entry_points = [
        _EntryPoint("plugin-cmd", plugin),
        _EntryPoint("broken", None, ImportError("no module named plugin_dep")),
    ]

    def fake_entry_points(group: str) -> list[_EntryPoint]:
        assert group == "erlen.commands"
        return entry_points

    monkeypatch.setattr("importlib.metadata.entry_points", fake_entry_points)
    write("app.py", APP.format(who="x"))
    group = ErlenGroup()
    result = CliRunner().invoke(group, ["plugin-cmd"])
    assert result.output.endswith("from a plugin\n")
    assert (
        "the 'erlen.commands' entry point 'broken' (plugin_module:broken) failed to"
        " load: ImportError: no module named plugin_dep" in result.output
    )
    assert "plugin-cmd" in CliRunner().invoke(ErlenGroup(), ["--help"]).output


def test_custom_group_with_create_app() -> None:
    app = Erlen("made_by_callback")

    @_ensure_cli(app).command()
    def where() -> None:
        click.echo(current_app.name)

    group = ErlenGroup(create_app=lambda: app)
    assert CliRunner().invoke(group, ["where"]).output == "made_by_callback\n"
    assert CliRunner().invoke(group, ["routes"]).output.startswith("Endpoint")


# -- the app's side (wired in erlen.app) -------------------------------------------


def test_app_has_a_cli_group() -> None:
    app = Erlen("wired")
    if not hasattr(app, "cli"):
        pytest.skip("Erlen.__init__ does not create app.cli yet")
    assert isinstance(app.cli, AppGroup)
    assert app.cli.name == "wired"


def test_app_test_cli_runner() -> None:
    app = Erlen("wired")
    if not hasattr(app, "test_cli_runner"):
        pytest.skip("Erlen.test_cli_runner is not wired yet")

    @_ensure_cli(app).command()
    def hello() -> None:
        click.echo(f"hello {current_app.name}")

    runner = app.test_cli_runner()
    assert isinstance(runner, ErlenCliRunner)
    assert runner.invoke(args=["hello"]).output == "hello wired\n"


def test_app_run_uses_the_dev_server(monkeypatch: pytest.MonkeyPatch) -> None:
    import inspect

    import erlen.devserver

    if "run_app" not in inspect.getsource(Erlen.run):
        pytest.skip("Erlen.run does not call erlen.devserver.run_app yet")
    calls: list[dict[str, t.Any]] = []
    monkeypatch.setattr(
        erlen.devserver, "run_server", lambda app, **kw: calls.append(kw)
    )
    app = Erlen("wired")
    app.run(port=8123, debug=True, load_dotenv=False)
    assert calls[0]["port"] == 8123 and calls[0]["reload"] is True
    assert app.debug
