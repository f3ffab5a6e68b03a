"""Multi-dicts, headers and uploaded files.

These are Werkzeug's well-tested data structures, used as a library of parts.
The multi-dicts are subclassed so a missing key raises Erlen's
:class:`~erlen.exceptions.BadRequestKeyError`, which the app turns into a 400
for the client.  Ported code imports them from here instead of
``werkzeug.datastructures``.
"""

from __future__ import annotations

import typing as t

from werkzeug import datastructures as _wds
from werkzeug.exceptions import BadRequestKeyError as _WerkzeugKeyError

from .exceptions import BadRequestKeyError

__all__ = [
    "Accept",
    "Authorization",
    "CombinedMultiDict",
    "FileStorage",
    "Headers",
    "ImmutableMultiDict",
    "LanguageAccept",
    "MIMEAccept",
    "MultiDict",
]

K = t.TypeVar("K")
V = t.TypeVar("V")

Headers = _wds.Headers
FileStorage = _wds.FileStorage
Accept = _wds.Accept
MIMEAccept = _wds.MIMEAccept
LanguageAccept = _wds.LanguageAccept
Authorization = _wds.Authorization


class MultiDict(_wds.MultiDict[K, V]):
    """A dict that keeps every value of a repeated key.

    ``d[key]`` and ``d.get(key)`` give the first value, ``d.getlist(key)``
    all of them, and ``d.get(key, default, type=int)`` converts (a failed
    conversion gives the default).  A missing key raises
    :class:`~erlen.exceptions.BadRequestKeyError`.
    """

    def __getitem__(self, key: K) -> V:
        try:
            return super().__getitem__(key)
        except _WerkzeugKeyError:
            raise BadRequestKeyError(key) from None  # type: ignore[arg-type]

    def pop(self, key: K, *default: t.Any) -> t.Any:
        """Remove ``key`` and return its first value (or ``default``)."""
        try:
            return super().pop(key, *default)
        except _WerkzeugKeyError:
            raise BadRequestKeyError(key) from None  # type: ignore[arg-type]

    def popitem(self) -> tuple[K, V]:
        """Remove a key and return it with its first value."""
        try:
            return super().popitem()
        except _WerkzeugKeyError as e:
            raise BadRequestKeyError(*e.args) from None

    def popitemlist(self) -> tuple[K, list[V]]:
        """Remove a key and return it with all its values."""
        try:
            return super().popitemlist()
        except _WerkzeugKeyError as e:
            raise BadRequestKeyError(*e.args) from None


# Werkzeug's read-only multi-dicts copy into *its* MultiDict, whose missing
# keys raise Werkzeug's BadRequestKeyError, which Erlen does not turn into a
# 400; so ``copy()`` is overridden to return Erlen's.


class ImmutableMultiDict(_wds.ImmutableMultiDict[K, V]):
    """A read-only :class:`MultiDict`: ``request.args``, ``form`` and ``files``."""

    def __getitem__(self, key: K) -> V:
        try:
            return super().__getitem__(key)
        except _WerkzeugKeyError:
            raise BadRequestKeyError(key) from None  # type: ignore[arg-type]

    def copy(self) -> MultiDict[K, V]:  # type: ignore[override]
        """A mutable :class:`MultiDict` copy."""
        return MultiDict(self)


class CombinedMultiDict(_wds.CombinedMultiDict[K, V]):
    """A read-only view over several multi-dicts (``request.values``)."""

    def __getitem__(self, key: K) -> V:
        try:
            return super().__getitem__(key)
        except _WerkzeugKeyError:
            raise BadRequestKeyError(key) from None  # type: ignore[arg-type]

    def copy(self) -> MultiDict[K, V]:  # type: ignore[override]
        """A mutable :class:`MultiDict` of the values at the time of copying."""
        return MultiDict(self)
