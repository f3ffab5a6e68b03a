"""The configuration object, ``app.config``.

:class:`Config` is a :class:`dict` with methods that fill it from Python
files, objects, data files, mappings and environment variables.  Its methods
and their behaviour match Flask's ``flask.Config``, so a ported app keeps its
configuration code; environment variables use the ``ERLEN_`` prefix instead
of ``FLASK_``.

:class:`ConfigAttribute` exposes one key as an attribute of the app, such as
``app.debug`` for ``app.config["DEBUG"]``.
"""

from __future__ import annotations

import errno
import json
import os
import types
from collections.abc import Callable, Mapping, MutableMapping
from typing import IO, Any, Generic, Protocol, Self, TypeVar, overload

from .utils import import_string

__all__ = ["Config", "ConfigAttribute"]

T = TypeVar("T")


class _HasConfig(Protocol):
    """Anything with a ``config`` mapping: the app, in practice."""

    @property
    def config(self) -> MutableMapping[str, Any]: ...


class ConfigAttribute(Generic[T]):
    """Expose a configuration key as an attribute of the class it is set on.

    Reading the attribute returns ``obj.config[name]``; assigning to it sets
    that key.  The app uses it for its shortcuts:

    .. code-block:: python

        class Erlen:
            debug = ConfigAttribute[bool]("DEBUG")

        app.debug = True  # sets app.config["DEBUG"]

    :param name: the configuration key to forward to.
    :param get_converter: called with the stored value on every read; its
        result is returned instead.  Lets a key accept a convenient form (an
        ``int`` of seconds) while the attribute always gives one type (a
        ``timedelta``).  Assignments are stored unconverted.
    """

    def __init__(
        self, name: str, get_converter: Callable[[Any], T] | None = None
    ) -> None:
        #: The configuration key this attribute reads and writes.
        self.name = name
        #: The function applied to the stored value on read, if any.
        self.get_converter = get_converter

    @overload
    def __get__(self, obj: None, owner: type[Any] | None = None) -> Self: ...

    @overload
    def __get__(self, obj: _HasConfig, owner: type[Any] | None = None) -> T: ...

    def __get__(
        self, obj: _HasConfig | None, owner: type[Any] | None = None
    ) -> T | Self:
        """Return the configured value, or the descriptor itself when read from
        the class.

        :raises KeyError: if the key is not in ``obj.config``.
        """
        if obj is None:
            return self
        value = obj.config[self.name]
        if self.get_converter is not None:
            return self.get_converter(value)
        return value  # type: ignore[no-any-return]

    def __set__(self, obj: _HasConfig, value: Any) -> None:
        """Store ``value`` under the configuration key."""
        obj.config[self.name] = value

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class Config(dict[str, Any]):
    """A :class:`dict` of settings with methods to load them from files,
    objects and the environment.

    Only keys in upper case are taken from files, objects and mappings, so a
    configuration file can use lower-case names for its own temporary values.
    Keys set directly (``config["key"] = value``) are not checked.

    .. code-block:: python

        app.config.from_object("yourapp.default_settings")
        app.config.from_prefixed_env()  # ERLEN_SECRET_KEY -> SECRET_KEY
        app.config["TESTING"] = True

    :param root_path: relative file names given to :meth:`from_pyfile` and
        :meth:`from_file` are resolved against this directory.  The app passes
        its root path, or its instance path when ``instance_relative_config``
        is set.
    :param defaults: initial keys and values.
    """

    def __init__(
        self,
        root_path: str | os.PathLike[str],
        defaults: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(defaults or {})
        #: The directory that relative file names are resolved against.
        self.root_path = root_path

    def from_envvar(self, variable_name: str, silent: bool = False) -> bool:
        """Load the Python file named by an environment variable, as
        :meth:`from_pyfile` does.

        .. code-block:: python

            app.config.from_envvar("YOURAPP_SETTINGS")

        :param variable_name: the environment variable holding the file path.
        :param silent: return ``False`` instead of raising when the variable is
            unset or empty, or the file does not exist.
        :return: ``True`` if a file was loaded.
        :raises RuntimeError: if the variable is unset or empty and ``silent``
            is false.
        """
        path = os.environ.get(variable_name)
        if not path:
            if silent:
                return False
            raise RuntimeError(
                f"The environment variable {variable_name!r} is not set, so no"
                " configuration file could be loaded from it. Set it to the"
                " path of a configuration file, or pass silent=True to"
                " continue without one."
            )
        return self.from_pyfile(path, silent=silent)

    def from_prefixed_env(
        self, prefix: str = "ERLEN", *, loads: Callable[[str], Any] = json.loads
    ) -> bool:
        """Load every environment variable that starts with ``prefix`` and an
        underscore.

        The prefix is removed from the key: ``ERLEN_SECRET_KEY`` sets
        ``SECRET_KEY``.  Each value is passed to ``loads`` first, so
        ``ERLEN_DEBUG=true`` gives ``True`` and ``ERLEN_PORT=8000`` gives
        ``8000``; a value ``loads`` rejects (``ERLEN_NAME=erlen``) is kept as
        the string.

        A double underscore reaches into a nested dict:
        ``ERLEN_DB__HOST=db`` sets ``config["DB"]["HOST"]``, creating
        ``config["DB"]`` as an empty dict if it does not exist.  Variables are
        applied in sorted order, so ``ERLEN_DB='{"PORT": 5432}'`` is set before
        ``ERLEN_DB__HOST`` adds to it.

        .. code-block:: python

            app.config.from_prefixed_env()  # ERLEN_*
            app.config.from_prefixed_env("YOURAPP")  # YOURAPP_*

        :param prefix: the prefix to match, without the trailing underscore.
        :param loads: parses each value; when it raises, the raw string is
            kept.
        :return: always ``True``.
        :raises TypeError: if a double underscore reaches into a key whose
            value is not a dict.
        """
        head = f"{prefix}_"
        for env_key in sorted(os.environ):
            if not env_key.startswith(head):
                continue
            raw = os.environ[env_key]
            key = env_key[len(head) :]
            value: Any
            try:
                value = loads(raw)
            except Exception:
                # Any value the parser does not understand is a plain string.
                value = raw

            *parents, leaf = key.split("__")
            target: MutableMapping[str, Any] = self
            for depth, part in enumerate(parents):
                if part not in target:
                    target[part] = {}
                child = target[part]
                if not isinstance(child, MutableMapping):
                    path = "__".join(parents[: depth + 1])
                    raise TypeError(
                        f"Cannot apply the environment variable {env_key!r}:"
                        f" the configuration value at {path!r} is a"
                        f" {type(child).__name__}, not a dict, so {leaf!r}"
                        " cannot be set inside it. Rename the variable, or"
                        " make that value a dict."
                    )
                target = child
            target[leaf] = value
        return True

    def from_pyfile(
        self, filename: str | os.PathLike[str], silent: bool = False
    ) -> bool:
        """Load the upper-case names defined by a Python file.

        The file is executed as a fresh module (with ``__file__`` set) and its
        upper-case globals are loaded as by :meth:`from_object`.

        .. code-block:: python

            app.config.from_pyfile("settings.cfg")

        :param filename: the file to run; a relative name is resolved against
            :attr:`root_path`.  Any extension works.
        :param silent: return ``False`` instead of raising when the file does
            not exist.
        :return: ``True`` if the file was loaded.
        :raises OSError: if the file cannot be read.  The message starts with
            "Unable to load configuration file" and includes the path.
        """
        path = os.path.join(self.root_path, filename)
        module = types.ModuleType("config")
        module.__file__ = path
        try:
            with open(path, "rb") as f:
                source = f.read()
        except OSError as e:
            if silent and e.errno in (errno.ENOENT, errno.EISDIR, errno.ENOTDIR):
                return False
            _explain_load_error(e)
            raise
        exec(compile(source, path, "exec"), module.__dict__)
        self.from_object(module)
        return True

    def from_object(self, obj: object | str) -> None:
        """Load the upper-case attributes of an object or module.

        A string is imported first with :func:`~erlen.utils.import_string`
        (``"pkg.module:Name"`` or ``"pkg.module.Name"``).  Attributes are read
        with :func:`dir` and :func:`getattr`, so class attributes, inherited
        ones and properties of an instance all count.

        .. code-block:: python

            class DefaultConfig:
                DEBUG = False
                SECRET_KEY = "change me"

            app.config.from_object(DefaultConfig)
            app.config.from_object("yourapp.settings")

        Loading a class does not instantiate it; pass an instance when the
        settings are properties.

        :param obj: the object, or the import path of one.
        :raises ImportError: if ``obj`` is a string that cannot be imported.
        """
        if isinstance(obj, str):
            obj = import_string(obj)
        for key in dir(obj):
            if key.isupper():
                self[key] = getattr(obj, key)

    def from_file(
        self,
        filename: str | os.PathLike[str],
        load: Callable[[IO[Any]], Mapping[str, Any]],
        silent: bool = False,
        text: bool = True,
    ) -> bool:
        """Load the upper-case keys of a data file, parsed by ``load``.

        .. code-block:: python

            import json
            app.config.from_file("config.json", load=json.load)

            import tomllib
            app.config.from_file("config.toml", load=tomllib.load, text=False)

        :param filename: the file to read; a relative name is resolved against
            :attr:`root_path`.
        :param load: called with the open file; returns a mapping.
        :param silent: return ``False`` instead of raising when the file does
            not exist.
        :param text: open the file as UTF-8 text; set ``False`` for loaders
            that read bytes, such as :func:`tomllib.load`.
        :return: ``True`` if the file was loaded.
        :raises OSError: if the file cannot be read.  The message starts with
            "Unable to load configuration file" and includes the path.
        """
        path = os.path.join(self.root_path, filename)
        try:
            if text:
                with open(path, encoding="utf-8") as f:
                    data = load(f)
            else:
                with open(path, "rb") as f:
                    data = load(f)
        except OSError as e:
            if silent and e.errno in (errno.ENOENT, errno.EISDIR):
                return False
            _explain_load_error(e)
            raise
        return self.from_mapping(data)

    def from_mapping(
        self, mapping: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> bool:
        """Load the upper-case keys of a mapping and of keyword arguments.

        Keyword arguments win over the mapping.  Other keys are ignored.

        .. code-block:: python

            app.config.from_mapping(SECRET_KEY="dev", DATABASE="app.sqlite")

        :param mapping: keys and values to load.
        :param kwargs: more keys and values to load.
        :return: always ``True``.
        """
        merged: dict[str, Any] = {}
        if mapping is not None:
            merged.update(mapping)
        merged.update(kwargs)
        for key, value in merged.items():
            if key.isupper():
                self[key] = value
        return True

    def get_namespace(
        self, namespace: str, lowercase: bool = True, trim_namespace: bool = True
    ) -> dict[str, Any]:
        """Return the keys that start with ``namespace``, as a new dict.

        Handy to pass a group of settings as keyword arguments:

        .. code-block:: python

            app.config["IMAGE_STORE_TYPE"] = "fs"
            app.config["IMAGE_STORE_PATH"] = "/var/app/images"
            app.config.get_namespace("IMAGE_STORE_")
            # {"type": "fs", "path": "/var/app/images"}

        :param namespace: the prefix to match, usually ending in ``_``.
        :param lowercase: lower-case the returned keys.
        :param trim_namespace: remove the prefix from the returned keys.
        """
        found: dict[str, Any] = {}
        for key, value in self.items():
            if not key.startswith(namespace):
                continue
            if trim_namespace:
                key = key[len(namespace) :]
            if lowercase:
                key = key.lower()
            found[key] = value
        return found

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {dict.__repr__(self)}>"


def _explain_load_error(error: OSError) -> None:
    """Prefix ``error``'s reason with what was being done.

    The error is changed in place rather than wrapped, so its type
    (:exc:`FileNotFoundError`, :exc:`PermissionError`, ...), ``errno`` and
    traceback stay what callers expect, and ``str(error)`` still ends with the
    path.
    """
    error.strerror = f"Unable to load configuration file ({error.strerror})"
