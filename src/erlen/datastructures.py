"""Multi-dicts, headers and uploaded files.

These are Werkzeug's well-tested data structures, used as a library of parts.
The multi-dicts are subclassed so a missing key raises Erlen's
:class:`~erlen.exceptions.BadRequestKeyError`, which the app turns into a 400
for the client.  Ported code imports them from here instead of
``werkzeug.datastructures``.
"""

from __future__ import annotations

import re
import typing as t

from werkzeug import datastructures as _wds
from werkzeug.exceptions import BadRequestKeyError as _WerkzeugKeyError
from werkzeug.http import dump_options_header

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
    "ResponseHeaders",
]

K = t.TypeVar("K")
V = t.TypeVar("V")

Headers = _wds.Headers
FileStorage = _wds.FileStorage
Accept = _wds.Accept
MIMEAccept = _wds.MIMEAccept
LanguageAccept = _wds.LanguageAccept
Authorization = _wds.Authorization


def _headers_from(items: list[tuple[str, str]]) -> Headers:
    """:class:`Headers` holding ``items`` as they are, unvalidated: for the
    headers a client sent, which are input to read, never a reason to fail
    (a server that passes a NUL byte on must not turn it into a 500)."""
    headers = Headers()
    headers._list = items
    return headers


# Characters that end a header line (CR, LF) or the string (NUL) on the wire.
_BAD_VALUE = re.compile(r"[\r\n\x00]")
# RFC 9110 field names are tokens.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_good_names: set[str] = set()


def _check_name(key: t.Any) -> str:
    # PERF: a set lookup for the few names an app uses (~30 ns); the regex
    # runs once per new name.
    if key in _good_names:
        return t.cast(str, key)
    if not isinstance(key, str) or not _TOKEN.fullmatch(key):
        raise ValueError(
            f"Invalid header name {key!r}: a header name is a non-empty string"
            " of letters, digits and !#$%&'*+-.^_`|~ (no spaces, colons or line"
            " breaks). If it comes from user input, do not use it as a header"
            " name."
        )
    if len(_good_names) < 1024:
        _good_names.add(key)
    return key


def check_header_value(name: str, value: t.Any) -> str:
    """``value`` as a header string, or :exc:`ValueError` if it contains CR,
    LF or NUL: such a value could end the header and start another one
    (header injection) or be cut short by the server.

    :param name: the header's name, for the message.
    :param value: the value; not a ``str`` is converted with ``str()``.
    """
    if not isinstance(value, str):
        value = str(value)
    # PERF: isprintable() is one C pass and true for nearly every value;
    # the regex runs only for values with a tab or other non-printables.
    if not value.isprintable() and (bad := _BAD_VALUE.search(value)) is not None:
        char = bad.group()
        raise ValueError(
            f"The value of header {name!r} contains {char!r}: newline"
            " characters (CR, LF) and NUL are not allowed in HTTP headers,"
            " because they could end the header and inject another one."
            " Remove them, or encode the value"
            f" (for example with urllib.parse.quote). Value: {value!r}"
        )
    return t.cast(str, value)


class ResponseHeaders(Headers):
    """The headers of a :class:`~erlen.Response`: :class:`Headers` that
    refuse what could split a response.

    Setting a value containing CR, LF or NUL, or a name that is not an HTTP
    token, raises :exc:`ValueError` at once, through every way of setting
    one (``headers[name] = v``, ``add``, ``set``, ``setdefault``,
    ``setlist``, ``extend``, ``update``, the constructor), so nothing of the
    kind ever reaches the server.  (Werkzeug's ``Headers`` refuses CR and LF
    in values only.)

    .. versionadded:: 0.1
    """

    def add(self, key: str, value: t.Any, /, **kwargs: t.Any) -> None:
        """Add a header, keeping others with the same name; keyword arguments
        become parameters (``add("Content-Disposition", "attachment",
        filename="a.txt")``)."""
        if kwargs:
            value = dump_options_header(
                str(value), {k.replace("_", "-"): v for k, v in kwargs.items()}
            )
        self._list.append((_check_name(key), check_header_value(key, value)))

    def set(self, key: str, value: t.Any, /, **kwargs: t.Any) -> None:
        """Replace every header named ``key`` with one (in the place of the
        first)."""
        if kwargs:
            value = dump_options_header(
                str(value), {k.replace("_", "-"): v for k, v in kwargs.items()}
            )
        item = (_check_name(key), check_header_value(key, value))
        items = self._list
        lower = key.lower()
        for i, (old, _) in enumerate(items):
            if old.lower() == lower:
                items[i] = item
                items[i + 1 :] = [h for h in items[i + 1 :] if h[0].lower() != lower]
                return
        items.append(item)

    def __setitem__(self, key: t.Any, value: t.Any) -> None:
        if isinstance(key, str):
            self.set(key, value)
        elif isinstance(key, int):
            name, item = value
            self._list[key] = (_check_name(name), check_header_value(name, item))
        else:
            self._list[key] = [
                (_check_name(k), check_header_value(k, v)) for k, v in value
            ]

    def _add_missing(
        self,
        names: t.AbstractSet[str],
        items: t.Sequence[tuple[str, str, str]],
        pairs: t.Sequence[tuple[str, str]],
    ) -> None:
        """Append each ``(lowercase name, name, value)`` of ``items`` whose
        name is not set yet; ``pairs`` are the same without the lowercase
        names and ``names`` those names.  The values are checked already
        (the security headers)."""
        existing = self._list
        # PERF: a fresh response has two or three headers, none of these;
        # one pass over them, then one extend (~0.3 us).
        for key, _ in existing:
            if key.lower() in names:
                present = {k.lower() for k, _ in existing}
                existing.extend((n, v) for lower, n, v in items if lower not in present)
                return
        existing.extend(pairs)


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


_dict_get: t.Callable[[t.Any, t.Any], t.Any] = dict.get
_dict_update: t.Callable[[t.Any, t.Any], None] = dict.update


class ImmutableMultiDict(_wds.ImmutableMultiDict[K, V]):
    """A read-only :class:`MultiDict`: ``request.args``, ``form`` and ``files``."""

    # PERF: the parsers' fields, lookups and get() are on every request that
    # reads a query or a form; these skip Werkzeug's layers (three calls per
    # get(), an ABC isinstance per construction) for the same result, over
    # the same storage: a dict of lists of values.

    def __init__(
        self,
        mapping: (
            _wds.MultiDict[K, V]
            | t.Mapping[K, V | list[V] | tuple[V, ...] | set[V]]
            | t.Iterable[tuple[K, V]]
            | None
        ) = None,
    ) -> None:
        if type(mapping) is not list:
            super().__init__(mapping)
            return
        # A list of (key, value) pairs, as the query and form parsers give.
        values: dict[K, list[V]] = {}
        for key, value in mapping:
            if key in values:
                values[key].append(value)
            else:
                values[key] = [value]
        _dict_update(self, values)

    def __getitem__(self, key: K) -> V:
        values = _dict_get(self, key)
        if values:
            return values[0]  # type: ignore[no-any-return]
        raise BadRequestKeyError(key)  # type: ignore[arg-type]

    def get(  # type: ignore[override]
        self, key: K, default: t.Any = None, type: t.Any = None
    ) -> t.Any:
        """The first value of ``key``, or ``default``; with ``type``, the value
        converted (``default`` if that raises ``ValueError`` or
        ``TypeError``)."""
        values = _dict_get(self, key)
        if not values:
            return default
        if type is None:
            return values[0]
        try:
            return type(values[0])
        except (ValueError, TypeError):
            return default

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
