"""Small helpers that do not belong to one part of the framework.

The names match ``werkzeug.utils`` where Werkzeug has the same helper, so
ported code only changes its import.
"""

from __future__ import annotations

import importlib
import typing as t
from typing import Any

from werkzeug.utils import secure_filename as _secure_filename

__all__ = ["import_string", "secure_filename"]


def secure_filename(filename: str) -> str:
    """A version of an uploaded file's name that is safe to use in a path:
    ASCII only, no directory separators, no leading dots, no Windows device
    names.  The result may be empty; choose a name yourself then.

    .. code-block:: python

        secure_filename("../../etc/passwd")  # "etc_passwd"
        secure_filename("My cool movie.mov")  # "My_cool_movie.mov"

    At most 200 characters (file systems refuse names over 255 bytes): a
    longer name is cut, keeping its extension.
    """
    name = _secure_filename(filename)
    if len(name) > _MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        if dot and stem and len(ext) <= 16:
            name = f"{stem[: _MAX_FILENAME - len(ext) - 1]}.{ext}"
        else:
            name = name[:_MAX_FILENAME]
    return name


_MAX_FILENAME = 200


T = t.TypeVar("T")


class cached_property(t.Generic[T]):
    """A property computed on first access and then stored on the instance.

    :func:`functools.cached_property` does the same, but on Python 3.11 it
    takes a lock on every first access; the request's lazily parsed values
    (``host``, ``args``, ``headers``...) are each read once per request, so
    the lock was a measurable part of a request (see ``bench/``).  Like
    Werkzeug's, this one has no lock: two threads reading the same request's
    value at once may both compute it, and one result is kept.
    """

    def __init__(self, func: t.Callable[[Any], T]) -> None:
        self.func = func
        self.attrname = func.__name__
        self.__doc__ = func.__doc__
        self.__module__ = func.__module__

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.attrname = name

    def __get__(self, instance: Any, owner: type[Any] | None = None) -> Any:
        if instance is None:
            return self
        value = instance.__dict__[self.attrname] = self.func(instance)
        return value


def import_string(name: str) -> Any:
    """Import an object given its dotted path and return it.

    Two spellings are accepted:

    - ``"package.module:attribute"`` names the module explicitly; the part
      after the colon may itself be dotted (``"pkg.mod:Class.attr"``).
    - ``"package.module.attribute"`` is tried as a module first; if no module
      has that name, the last part is looked up as an attribute of the module
      before it.  A plain ``"package.module"`` returns the module.

    .. code-block:: python

        import_string("os.path:join")  # os.path.join
        import_string("os.path.join")  # the same
        import_string("os.path")  # the module

    :param name: the dotted path of a module, or of an object in a module.
    :raises ImportError: if the module cannot be imported or has no such
        attribute.  The message names what was missing; the original error is
        chained as ``__cause__``.  An import error raised *inside* the target
        module (a missing dependency, say) is reported as such, not hidden
        behind the attribute fallback.
    """
    name = name.strip()
    if not name or name.startswith((".", ":")):
        raise ImportError(
            f"Cannot import {name!r}: give an absolute dotted path such as"
            " 'package.module:name' or 'package.module.name'."
        )

    if ":" in name:
        module_name, _, attr_path = name.partition(":")
        if not attr_path:
            raise ImportError(
                f"Cannot import {name!r}: nothing follows the ':'. Write"
                f" '{module_name}:name', or '{module_name}' for the module."
            )
        module = _import_module(module_name, name)
    else:
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError as e:
            # Only fall back to "module.attribute" when the module that is
            # missing is `name` itself; a missing parent or a missing
            # dependency of the module is a real error to report.
            if e.name != name or "." not in name:
                raise _not_importable(name, e) from e
        module_name, _, attr_path = name.rpartition(".")
        module = _import_module(module_name, name)

    obj: Any = module
    looked_up = module_name
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as e:
            raise ImportError(
                f"Cannot import {name!r}: {looked_up!r} has no attribute"
                f" {part!r}. Check the spelling, and that the name is defined"
                " at the module's top level.",
                name=module_name,
            ) from e
        looked_up = f"{looked_up}.{part}"
    return obj


def _import_module(module_name: str, requested: str) -> Any:
    """Import ``module_name`` for :func:`import_string`, explaining failures in
    terms of the string the caller asked for."""
    try:
        return importlib.import_module(module_name)
    except ImportError as e:
        raise _not_importable(requested, e) from e


def _not_importable(requested: str, error: ImportError) -> ImportError:
    """Build the error for a module that could not be imported."""
    if isinstance(error, ModuleNotFoundError) and error.name is not None:
        cause = f"no module named {error.name!r} was found"
        fix = (
            "Check the spelling, that the package is installed, and that its"
            " directory is on sys.path."
        )
    else:
        cause = f"importing it failed with: {error}"
        fix = "Fix the error in the imported module."
    return ImportError(f"Cannot import {requested!r}: {cause}. {fix}", name=error.name)
