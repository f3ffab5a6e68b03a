"""``erlen.config`` against ``flask.Config``: same inputs, same results.

Flask is imported here only, to compare behaviour; ``src/erlen`` never imports
it.  Most tests load the same input into an Erlen and a Flask config and check
that the resulting dicts, return values and errors match.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
import tomllib
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from flask.config import Config as FlaskConfig
from flask.config import ConfigAttribute as FlaskConfigAttribute
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.utils import import_string as werkzeug_import_string

from erlen.config import Config, ConfigAttribute
from erlen.utils import import_string

# A prefix no real environment uses, so the comparisons see only what the test
# sets.
PREFIX = "ERLENTEST"


def configs(
    root: str | os.PathLike[str], defaults: dict[str, Any] | None = None
) -> tuple[Config, FlaskConfig]:
    """An Erlen and a Flask config with the same root path and defaults."""
    return Config(root, dict(defaults or {})), FlaskConfig(root, dict(defaults or {}))


def outcome(call: Callable[[], Any]) -> tuple[str, Any, str]:
    """Run ``call``; describe what happened so two runs can be compared."""
    try:
        result = call()
    except Exception as e:
        return ("raised", type(e), str(e))
    return ("returned", result, "")


def same(
    method: str, erlen: Config, flask: FlaskConfig, *args: Any, **kwargs: Any
) -> tuple[str, Any, str]:
    """Call ``method`` on both configs; assert the outcomes and dicts match.

    Error messages are compared too; use :func:`same_error_type` where Erlen's
    message is deliberately its own.
    """
    ours = outcome(lambda: getattr(erlen, method)(*args, **kwargs))
    theirs = outcome(lambda: getattr(flask, method)(*args, **kwargs))
    assert ours == theirs
    assert dict(erlen) == dict(flask)
    return ours


def same_error_type(
    method: str, erlen: Config, flask: FlaskConfig, *args: Any, **kwargs: Any
) -> BaseException:
    """Call ``method`` on both; both must raise the same type.  Returns ours."""
    with pytest.raises(Exception) as theirs:
        getattr(flask, method)(*args, **kwargs)
    with pytest.raises(theirs.type) as ours:
        getattr(erlen, method)(*args, **kwargs)
    assert dict(erlen) == dict(flask)
    return ours.value


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """``monkeypatch`` with every ``ERLENTEST*`` and ``ERLEN_*`` variable
    removed."""
    for key in list(os.environ):
        if key.startswith((PREFIX, "ERLEN_")):
            monkeypatch.delenv(key)
    return monkeypatch


@pytest.fixture
def clean_modules() -> Iterator[None]:
    """Forget the modules a test imported from its temporary directory."""
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        del sys.modules[name]


# -- construction, repr ------------------------------------------------------


def test_defaults_root_path_and_repr(tmp_path: Path) -> None:
    erlen, flask = configs(tmp_path, {"DEBUG": False, "lower": 1})
    assert dict(erlen) == dict(flask) == {"DEBUG": False, "lower": 1}
    assert erlen.root_path == flask.root_path == tmp_path
    assert repr(erlen) == repr(flask) == "<Config {'DEBUG': False, 'lower': 1}>"
    assert isinstance(erlen, dict)


def test_defaults_are_copied(tmp_path: Path) -> None:
    defaults = {"A": 1}
    config = Config(tmp_path, defaults)
    config["A"] = 2
    assert defaults == {"A": 1}
    assert Config(tmp_path) == {}


def test_repr_names_subclass(tmp_path: Path) -> None:
    class AppConfig(Config):
        pass

    assert repr(AppConfig(tmp_path, {"X": 1})) == "<AppConfig {'X': 1}>"


# -- from_prefixed_env -------------------------------------------------------


def test_prefixed_env_parses_json_and_keeps_other_strings(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    values = {
        "STRING": "hello world",
        "INT": "42",
        "FLOAT": "1.5",
        "TRUE": "true",
        "NULL": "null",
        "LIST": "[1, 2]",
        "DICT": '{"a": 1}',
        "QUOTED": '"5"',
        "EMPTY": "",
        "BROKEN": "{not json",
        "PYTHON_TRUE": "True",
        "lower": "kept as is",
    }
    for key, value in values.items():
        env.setenv(f"{PREFIX}_{key}", value)
    env.setenv(f"{PREFIX}NOUNDERSCORE", "1")
    env.setenv(f"X{PREFIX}_OTHER", "1")

    erlen, flask = configs(tmp_path)
    assert same("from_prefixed_env", erlen, flask, PREFIX) == ("returned", True, "")
    assert erlen == {
        "STRING": "hello world",
        "INT": 42,
        "FLOAT": 1.5,
        "TRUE": True,
        "NULL": None,
        "LIST": [1, 2],
        "DICT": {"a": 1},
        "QUOTED": "5",
        "EMPTY": "",
        "BROKEN": "{not json",
        "PYTHON_TRUE": "True",
        "lower": "kept as is",
    }


def test_prefixed_env_nesting(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv(f"{PREFIX}_DB__HOST", "db.internal")
    env.setenv(f"{PREFIX}_DB__PORT", "5432")
    env.setenv(f"{PREFIX}_DEEP__A__B__C", "true")
    # Sorted order: the JSON dict is set before the nested key adds to it.
    env.setenv(f"{PREFIX}_JSON", '{"KEEP": 1}')
    env.setenv(f"{PREFIX}_JSON__ADDED", "2")
    # Nesting into a dict that came from the defaults.
    env.setenv(f"{PREFIX}_EXISTING__NEW", "x")

    erlen, flask = configs(tmp_path, {"EXISTING": {"OLD": 1}})
    same("from_prefixed_env", erlen, flask, PREFIX)
    assert erlen == {
        "DB": {"HOST": "db.internal", "PORT": 5432},
        "DEEP": {"A": {"B": {"C": True}}},
        "JSON": {"KEEP": 1, "ADDED": 2},
        "EXISTING": {"OLD": 1, "NEW": "x"},
    }


@pytest.mark.parametrize("existing", ['"text"', "3", "[1]", "null"])
def test_prefixed_env_nesting_into_non_dict_raises(
    env: pytest.MonkeyPatch, tmp_path: Path, existing: str
) -> None:
    env.setenv(f"{PREFIX}_A", existing)
    env.setenv(f"{PREFIX}_A__B", "1")
    erlen, flask = configs(tmp_path)
    error = same_error_type("from_prefixed_env", erlen, flask, PREFIX)
    assert isinstance(error, TypeError)
    message = str(error)
    assert f"{PREFIX}_A__B" in message
    assert "not a dict" in message


def test_prefixed_env_custom_loads(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv(f"{PREFIX}_NUMBER", "42")
    env.setenv(f"{PREFIX}_WORD", "x")

    def loads(value: str) -> Any:
        if value.isdigit():
            return int(value) * 2
        raise ValueError(value)

    erlen, flask = configs(tmp_path)
    same("from_prefixed_env", erlen, flask, PREFIX, loads=loads)
    assert erlen == {"NUMBER": 84, "WORD": "x"}


def test_prefixed_env_default_prefix_is_erlen(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env.setenv("ERLEN_SECRET_KEY", "s3cret")
    env.setenv("ERLEN_DEBUG", "true")
    env.setenv("FLASK_NOT_READ", "1")
    config = Config(tmp_path)
    assert config.from_prefixed_env() is True
    assert config == {"SECRET_KEY": "s3cret", "DEBUG": True}


_env_suffixes = st.text(alphabet="AB_a", max_size=6)
_env_values = st.one_of(
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_characters="\0"),
        max_size=8,
    ),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=3),
        lambda inner: (
            st.lists(inner, max_size=2)
            | st.dictionaries(st.sampled_from("AB"), inner, max_size=2)
        ),
        max_leaves=4,
    ).map(json.dumps),
)


# No deadline: the first examples include import and cache warm-up time.
@settings(deadline=None)
@given(st.dictionaries(_env_suffixes, _env_values, max_size=6))
def test_prefixed_env_matches_flask_on_any_input(variables: dict[str, str]) -> None:
    environ = {
        key: value for key, value in os.environ.items() if not key.startswith("HYPO")
    }
    environ.update({f"HYPO_{key}": value for key, value in variables.items()})
    with mock.patch.dict(os.environ, environ, clear=True):
        erlen, flask = configs(".")
        ours = outcome(lambda: erlen.from_prefixed_env("HYPO"))
        theirs = outcome(lambda: flask.from_prefixed_env("HYPO"))
    # The message for nesting into a non-dict is Erlen's own; the type is not.
    assert ours[:2] == theirs[:2]
    assert dict(erlen) == dict(flask)


# -- from_pyfile -------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_from_pyfile_loads_upper_case_names(tmp_path: Path) -> None:
    write(
        tmp_path / "settings.cfg",
        """\
        import os
        DEBUG = True
        SECRET_KEY = "dev"
        helper = "lower-case names are not configuration"
        _UNDERSCORED = "str.isupper() ignores underscores, so this is loaded"
        HERE = os.path.basename(__file__)
        """,
    )
    erlen, flask = configs(tmp_path)
    assert same("from_pyfile", erlen, flask, "settings.cfg") == ("returned", True, "")
    assert set(erlen) == {"DEBUG", "SECRET_KEY", "_UNDERSCORED", "HERE"}
    assert erlen["HERE"] == "settings.cfg"


def test_from_pyfile_absolute_path_ignores_root(tmp_path: Path) -> None:
    path = write(tmp_path / "settings.py", "NAME = 'abs'\n")
    erlen, flask = configs(tmp_path / "elsewhere")
    same("from_pyfile", erlen, flask, str(path))
    same("from_pyfile", erlen, flask, path)
    assert erlen == {"NAME": "abs"}


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("missing.cfg", FileNotFoundError),
        (".", IsADirectoryError),
        ("file.txt/inside.cfg", NotADirectoryError),
    ],
)
def test_from_pyfile_unreadable(
    tmp_path: Path, name: str, error: type[OSError]
) -> None:
    write(tmp_path / "file.txt", "")
    erlen, flask = configs(tmp_path)
    kind, raised, message = same("from_pyfile", erlen, flask, name)
    assert (kind, raised) == ("raised", error)
    assert "Unable to load configuration file" in message
    assert os.path.join(tmp_path, name) in message

    assert same("from_pyfile", erlen, flask, name, silent=True) == (
        "returned",
        False,
        "",
    )


def test_from_pyfile_keeps_errno_and_type(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        Config(tmp_path).from_pyfile("missing.cfg")
    assert info.value.errno == 2
    assert info.value.filename == os.path.join(tmp_path, "missing.cfg")
    assert str(info.value) == (
        "[Errno 2] Unable to load configuration file (No such file or directory):"
        f" {os.path.join(tmp_path, 'missing.cfg')!r}"
    )


def test_from_pyfile_error_in_the_file_is_not_hidden(tmp_path: Path) -> None:
    # Flask also catches OSErrors raised by the file's own code, so with
    # silent=True a config file that fails to open *another* file is skipped
    # without a word.  Erlen only treats the config file itself being missing
    # as "silent"; an error while running it is the user's bug to see.
    write(tmp_path / "settings.py", "open('no-such-secret.txt')\n")
    with pytest.raises(FileNotFoundError) as info:
        Config(tmp_path).from_pyfile("settings.py", silent=True)
    assert "Unable to load configuration file" not in str(info.value)
    assert info.value.filename == "no-such-secret.txt"


def test_from_pyfile_syntax_error_propagates(tmp_path: Path) -> None:
    write(tmp_path / "bad.cfg", "DEBUG = \n")
    erlen, flask = configs(tmp_path)
    error = same_error_type("from_pyfile", erlen, flask, "bad.cfg", silent=True)
    assert isinstance(error, SyntaxError)
    assert error.filename == os.path.join(tmp_path, "bad.cfg")


# -- from_envvar -------------------------------------------------------------


def test_from_envvar_loads_file(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write(tmp_path / "settings.cfg", "FROM_ENV = 'yes'\n")
    env.setenv(f"{PREFIX}_SETTINGS", str(path))
    erlen, flask = configs(tmp_path)
    assert same("from_envvar", erlen, flask, f"{PREFIX}_SETTINGS") == (
        "returned",
        True,
        "",
    )
    assert erlen == {"FROM_ENV": "yes"}


def test_from_envvar_relative_to_root(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    write(tmp_path / "settings.cfg", "RELATIVE = 1\n")
    env.setenv(f"{PREFIX}_SETTINGS", "settings.cfg")
    erlen, flask = configs(tmp_path)
    same("from_envvar", erlen, flask, f"{PREFIX}_SETTINGS")
    assert erlen == {"RELATIVE": 1}


@pytest.mark.parametrize("value", [None, ""])
def test_from_envvar_unset(
    env: pytest.MonkeyPatch, tmp_path: Path, value: str | None
) -> None:
    if value is not None:
        env.setenv(f"{PREFIX}_SETTINGS", value)
    erlen, flask = configs(tmp_path)
    error = same_error_type("from_envvar", erlen, flask, f"{PREFIX}_SETTINGS")
    assert isinstance(error, RuntimeError)
    # The message names the variable and both ways out.
    assert f"'{PREFIX}_SETTINGS'" in str(error)
    assert "silent=True" in str(error)

    assert same("from_envvar", erlen, flask, f"{PREFIX}_SETTINGS", silent=True) == (
        "returned",
        False,
        "",
    )


def test_from_envvar_missing_file(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv(f"{PREFIX}_SETTINGS", str(tmp_path / "missing.cfg"))
    erlen, flask = configs(tmp_path)
    kind, error, message = same("from_envvar", erlen, flask, f"{PREFIX}_SETTINGS")
    assert (kind, error) == ("raised", FileNotFoundError)
    assert "Unable to load configuration file" in message
    assert same("from_envvar", erlen, flask, f"{PREFIX}_SETTINGS", silent=True) == (
        "returned",
        False,
        "",
    )


# -- from_object -------------------------------------------------------------


class Base:
    INHERITED = "base"
    OVERRIDDEN = "base"


class Settings(Base):
    OVERRIDDEN = "child"
    DEBUG = True
    lower = "ignored"
    Mixed = "ignored"
    _UNDERSCORED = "loaded, as in Flask"
    X1 = "digits count as upper case"

    @property
    def COMPUTED(self) -> str:
        return f"computed from {self.DEBUG}"


def test_from_object_class(tmp_path: Path) -> None:
    erlen, flask = configs(tmp_path)
    assert same("from_object", erlen, flask, Settings) == ("returned", None, "")
    assert erlen["OVERRIDDEN"] == "child"
    assert erlen["INHERITED"] == "base"
    assert erlen["X1"] == "digits count as upper case"
    assert "lower" not in erlen
    assert "Mixed" not in erlen
    assert "__module__" not in erlen
    assert erlen["_UNDERSCORED"] == "loaded, as in Flask"
    # A property read from the class is the property object itself.
    assert isinstance(erlen["COMPUTED"], property)


def test_from_object_instance_evaluates_properties(tmp_path: Path) -> None:
    erlen, flask = configs(tmp_path)
    same("from_object", erlen, flask, Settings())
    assert erlen["COMPUTED"] == "computed from True"


@pytest.fixture
def settings_module(tmp_path: Path, clean_modules: None) -> Iterator[str]:
    """A package ``erlentest_pkg.settings`` importable from ``tmp_path``."""
    package = tmp_path / "erlentest_pkg"
    package.mkdir()
    write(package / "__init__.py", "")
    write(
        package / "settings.py",
        """\
        DEBUG = True
        secret = "not loaded"

        class Production:
            DEBUG = False
            DATABASE = "postgres://prod"

            class Nested:
                DEEP = 1
        """,
    )
    sys.path.insert(0, str(tmp_path))
    try:
        yield "erlentest_pkg.settings"
    finally:
        sys.path.remove(str(tmp_path))


@pytest.mark.parametrize(
    ("suffix", "expected"),
    [
        ("", {"DEBUG": True}),
        (":Production", {"DEBUG": False, "DATABASE": "postgres://prod"}),
        (".Production", {"DEBUG": False, "DATABASE": "postgres://prod"}),
    ],
)
def test_from_object_import_string(
    tmp_path: Path, settings_module: str, suffix: str, expected: dict[str, Any]
) -> None:
    erlen, flask = configs(tmp_path)
    same("from_object", erlen, flask, settings_module + suffix)
    assert {key: erlen[key] for key in expected} == expected


@pytest.mark.parametrize("name", ["erlentest_missing_module", "erlentest_pkg.missing"])
def test_from_object_bad_string(
    tmp_path: Path, settings_module: str, name: str
) -> None:
    erlen, flask = configs(tmp_path)
    # Flask raises Werkzeug's ImportStringError, an ImportError subclass.
    with pytest.raises(ImportError):
        flask.from_object(name)
    with pytest.raises(ImportError) as info:
        erlen.from_object(name)
    assert repr(name) in str(info.value)
    assert erlen == flask == {}


# -- import_string -----------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "os",
        "os.path",
        "os.path.join",
        "os.path:join",
        "json:JSONDecodeError",
        "collections.abc.Mapping",
    ],
)
def test_import_string_matches_werkzeug(name: str) -> None:
    assert import_string(name) is werkzeug_import_string(name)


def test_import_string_nested_attribute_after_colon(
    settings_module: str,
) -> None:
    # Werkzeug does not support this; uvicorn's "module:app.asgi" style does.
    nested = import_string(f"{settings_module}:Production.Nested")
    assert nested.DEEP == 1


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("erlentest_missing_module", ["no module named 'erlentest_missing_module'"]),
        ("erlentest_missing_module.thing", ["'erlentest_missing_module'"]),
        ("os.path.no_such_name", ["'os.path' has no attribute 'no_such_name'"]),
        ("os.path:no_such_name", ["'os.path' has no attribute 'no_such_name'"]),
        ("json:JSONDecodeError.nope", ["'json.JSONDecodeError' has no attribute"]),
        ("os.path:", ["nothing follows the ':'"]),
        ("", ["absolute dotted path"]),
        (".relative", ["absolute dotted path"]),
        # Werkzeug raises ValueError("Empty module name") for this one.
        (":Production", ["absolute dotted path"]),
    ],
)
def test_import_string_errors(name: str, words: list[str]) -> None:
    with pytest.raises(ImportError) as info:
        import_string(name)
    message = str(info.value)
    assert repr(name) in message
    for word in words:
        assert word in message


def test_import_string_reports_error_inside_module(
    tmp_path: Path, clean_modules: None
) -> None:
    # The module exists but imports something missing: that is what the
    # message must say, instead of falling back to "no attribute".
    write(tmp_path / "erlentest_broken.py", "import erlentest_not_installed\n")
    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.raises(ImportError) as info:
            import_string("erlentest_broken")
        assert "no module named 'erlentest_not_installed'" in str(info.value)
        assert isinstance(info.value.__cause__, ModuleNotFoundError)

        write(tmp_path / "erlentest_raises.py", "raise ImportError('boom')\n")
        with pytest.raises(ImportError, match="boom"):
            import_string("erlentest_raises:thing")
    finally:
        sys.path.remove(str(tmp_path))


# -- from_file ---------------------------------------------------------------


def test_from_file_json(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(
        json.dumps({"SECRET_KEY": "json", "PORT": 8000, "lower": 1}),
        encoding="utf-8",
    )
    erlen, flask = configs(tmp_path)
    assert same("from_file", erlen, flask, "config.json", json.load) == (
        "returned",
        True,
        "",
    )
    assert erlen == {"SECRET_KEY": "json", "PORT": 8000}


def test_from_file_toml_binary(tmp_path: Path) -> None:
    write(
        tmp_path / "config.toml",
        """\
        SECRET_KEY = "toml"
        lower = 1

        [DATABASE]
        HOST = "db"
        PORT = 5432
        """,
    )
    erlen, flask = configs(tmp_path)
    assert same(
        "from_file", erlen, flask, "config.toml", load=tomllib.load, text=False
    ) == ("returned", True, "")
    assert erlen == {"SECRET_KEY": "toml", "DATABASE": {"HOST": "db", "PORT": 5432}}


def test_from_file_text_is_utf8(tmp_path: Path) -> None:
    # Flask opens text with the locale's encoding; Erlen always uses UTF-8,
    # the encoding JSON and TOML files are written in.
    (tmp_path / "config.json").write_bytes('{"GREETING": "grüß dich ✓"}'.encode())
    config = Config(tmp_path)
    config.from_file("config.json", json.load)
    assert config["GREETING"] == "grüß dich ✓"


def test_from_file_missing(tmp_path: Path) -> None:
    erlen, flask = configs(tmp_path)
    kind, error, message = same("from_file", erlen, flask, "missing.json", json.load)
    assert (kind, error) == ("raised", FileNotFoundError)
    assert "Unable to load configuration file (No such file or directory)" in message
    assert same("from_file", erlen, flask, "missing.json", json.load, silent=True) == (
        "returned",
        False,
        "",
    )
    # A directory is skipped silently too, like Flask.
    assert same("from_file", erlen, flask, ".", json.load, silent=True) == (
        "returned",
        False,
        "",
    )


def test_from_file_parse_error_propagates(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    erlen, flask = configs(tmp_path)
    error = same_error_type("from_file", erlen, flask, "bad.json", json.load, True)
    assert isinstance(error, json.JSONDecodeError)


# -- from_mapping ------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((), {}),
        ((None,), {}),
        (({"A": 1, "b": 2},), {}),
        ((), {"A": 1, "b": 2}),
        (({"A": 1, "B": 2},), {"A": 3}),
        (([("PAIRS", 1)],), {}),
    ],
)
def test_from_mapping(tmp_path: Path, args: tuple[Any, ...], kwargs: Any) -> None:
    erlen, flask = configs(tmp_path, {"KEPT": 0})
    assert same("from_mapping", erlen, flask, *args, **kwargs) == (
        "returned",
        True,
        "",
    )


def test_from_mapping_keywords_win(tmp_path: Path) -> None:
    config = Config(tmp_path)
    config.from_mapping({"A": 1, "lower": 1}, A=2, B=3)
    assert config == {"A": 2, "B": 3}


# -- get_namespace -----------------------------------------------------------


@pytest.mark.parametrize("lowercase", [True, False])
@pytest.mark.parametrize("trim_namespace", [True, False])
def test_get_namespace(tmp_path: Path, lowercase: bool, trim_namespace: bool) -> None:
    erlen, flask = configs(
        tmp_path,
        {
            "IMAGE_STORE_TYPE": "fs",
            "IMAGE_STORE_PATH": "/var/images",
            "IMAGE_STORE_BASE_URL": "http://img.example.com",
            "IMAGE_STORE": "not in the namespace",
            "OTHER": 1,
        },
    )
    ours = erlen.get_namespace(
        "IMAGE_STORE_", lowercase=lowercase, trim_namespace=trim_namespace
    )
    theirs = flask.get_namespace(
        "IMAGE_STORE_", lowercase=lowercase, trim_namespace=trim_namespace
    )
    assert ours == theirs
    assert list(ours) == list(theirs)
    assert len(ours) == 3


def test_get_namespace_example(tmp_path: Path) -> None:
    config = Config(tmp_path, {"IMAGE_STORE_TYPE": "fs", "IMAGE_STORE_PATH": "/x"})
    assert config.get_namespace("IMAGE_STORE_") == {"type": "fs", "path": "/x"}
    assert config.get_namespace("IMAGE_STORE_", trim_namespace=False) == {
        "image_store_type": "fs",
        "image_store_path": "/x",
    }


# -- ConfigAttribute ---------------------------------------------------------


def _seconds(value: int | timedelta) -> timedelta:
    return timedelta(seconds=value) if isinstance(value, int) else value


class App:
    debug = ConfigAttribute[bool]("DEBUG")
    lifetime = ConfigAttribute[timedelta]("LIFETIME", get_converter=_seconds)

    def __init__(self) -> None:
        self.config = Config(".", {"DEBUG": False, "LIFETIME": 60})


class FlaskApp:
    debug = FlaskConfigAttribute[bool]("DEBUG")
    lifetime = FlaskConfigAttribute[timedelta]("LIFETIME", get_converter=_seconds)

    def __init__(self) -> None:
        self.config = FlaskConfig(".", {"DEBUG": False, "LIFETIME": 60})


@pytest.mark.parametrize("cls", [App, FlaskApp])
def test_config_attribute(cls: type[App]) -> None:
    app = cls()
    assert app.debug is False
    app.debug = True
    assert app.config["DEBUG"] is True
    assert app.debug is True

    assert app.lifetime == timedelta(seconds=60)
    app.lifetime = 120
    assert app.config["LIFETIME"] == 120  # stored as given
    assert app.lifetime == timedelta(seconds=120)

    del app.config["DEBUG"]
    with pytest.raises(KeyError):
        app.debug  # noqa: B018 - reading the attribute is the test


def test_config_attribute_on_class() -> None:
    descriptor = App.debug
    assert isinstance(descriptor, ConfigAttribute)
    assert descriptor.name == "DEBUG"
    assert repr(descriptor) == "<ConfigAttribute 'DEBUG'>"
