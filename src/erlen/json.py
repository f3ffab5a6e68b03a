"""JSON serialization used by ``jsonify``, ``request.get_json`` and views that
return a ``dict`` or ``list``.

The app's :attr:`~erlen.Erlen.json` provider does the work, so an app can swap
in a faster or stricter one (``app.json = MyProvider(app)``).  The functions
here use the current app's provider when there is one.
"""

from __future__ import annotations

import dataclasses
import decimal
import json as _json
import threading
import typing as t
import uuid
from datetime import date

from werkzeug.http import http_date

from .globals import _find_app_ctx
from .wrappers import Response

if t.TYPE_CHECKING:
    from .app import Erlen

__all__ = ["JSONProvider", "DefaultJSONProvider", "dumps", "loads", "jsonify"]

#: The standard library's C encoder (``None`` without its accelerator) and
#: the string encoders JSONEncoder gives it.
_c_make_encoder = getattr(_json.encoder, "c_make_encoder", None)
_encode_ascii = _json.encoder.encode_basestring_ascii
_encode_str = _json.encoder.encode_basestring


def _default(o: t.Any) -> t.Any:
    if isinstance(o, date):
        return http_date(o)
    if isinstance(o, (decimal.Decimal, uuid.UUID)):
        return str(o)
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return dataclasses.asdict(o)
    if hasattr(o, "__html__"):
        return str(o.__html__())
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


class JSONProvider:
    """The interface an app's JSON provider implements.

    :param app: the app it belongs to.
    """

    def __init__(self, app: Erlen) -> None:
        self._app = app

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        """Serialize ``obj`` to a JSON string."""
        raise NotImplementedError

    def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
        """Parse a JSON string or UTF-8 bytes."""
        raise NotImplementedError

    def response(self, *args: t.Any, **kwargs: t.Any) -> Response:
        """A ``application/json`` response for the data; see :func:`jsonify`."""
        return Response(
            self.dumps(_prepare(args, kwargs)) + "\n", mimetype=self.mimetype
        )

    mimetype = "application/json"


def _prepare(args: tuple[t.Any, ...], kwargs: dict[str, t.Any]) -> t.Any:
    if args and kwargs:
        raise TypeError("jsonify() takes either positional or keyword arguments.")
    if not args and not kwargs:
        return None
    if len(args) == 1:
        return args[0]
    return args or kwargs


class DefaultJSONProvider(JSONProvider):
    """The standard library's :mod:`json`, with Flask's defaults: keys sorted,
    ``datetime``/``date`` as HTTP dates, ``Decimal`` and ``UUID`` as strings,
    dataclasses as dicts, objects with ``__html__`` as their HTML.
    """

    #: Serialize objects the standard encoder does not know.
    default: t.Callable[[t.Any], t.Any] = staticmethod(_default)
    #: Escape non-ASCII characters.
    ensure_ascii = True
    #: Sort object keys, so output is stable (and caches work).
    sort_keys = True
    #: Pretty-print ``jsonify`` output; ``None`` means "in debug mode".
    compact: bool | None = None

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        kwargs.setdefault("default", self.default)
        kwargs.setdefault("ensure_ascii", self.ensure_ascii)
        kwargs.setdefault("sort_keys", self.sort_keys)
        return _json.dumps(obj, **kwargs)

    def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
        return _json.loads(s, **kwargs)

    #: The settings, the encoder made for them, and its C cores by thread.
    _encoder: tuple[t.Any, _json.JSONEncoder, threading.local] | None = None

    def _dumps_compact(self, obj: t.Any) -> str:
        """``self.dumps(obj, separators=(",", ":"))``: for ``jsonify`` and the
        session cookie."""
        if type(self).dumps is not DefaultJSONProvider.dumps:
            return self.dumps(obj, separators=(",", ":"))  # a subclass's own
        # PERF: what json.dumps(obj, ...) does, with the encoder made once
        # for the provider's settings instead of per call (~1 us), and its
        # C core once per thread (another ~0.7 us; GET /json 11.5 -> 10.4
        # us WSGI, 13.8 -> 12.4 ASGI, bench.ab).
        key = (self.default, self.ensure_ascii, self.sort_keys)
        encoder = self._encoder
        if encoder is None or encoder[0] != key:
            encoder = self._encoder = (
                key,
                _json.JSONEncoder(
                    default=self.default,
                    ensure_ascii=self.ensure_ascii,
                    sort_keys=self.sort_keys,
                    separators=(",", ":"),
                ),
                threading.local(),
            )
        _, settings, threads = encoder
        if _c_make_encoder is None:  # no C accelerator: the pure-Python path
            return settings.encode(obj)
        core = getattr(threads, "core", None)
        if core is None:
            # What JSONEncoder.iterencode makes from the encoder's settings.
            # One per thread: the circular-reference marks it keeps while it
            # runs must not be another thread's.
            core = threads.core = _c_make_encoder(
                {},
                settings.default,
                _encode_ascii if settings.ensure_ascii else _encode_str,
                settings.indent,
                settings.key_separator,
                settings.item_separator,
                settings.sort_keys,
                settings.skipkeys,
                settings.allow_nan,
            )
        try:
            return "".join(core(obj, 0))
        except BaseException:
            # An error leaves the marks of the containers it was in, which
            # a later object at the same address would trip on.
            threads.core = None
            raise

    def response(self, *args: t.Any, **kwargs: t.Any) -> Response:
        obj = args[0] if len(args) == 1 and not kwargs else _prepare(args, kwargs)
        if self.compact is False or (
            self.compact is None and self._app.config["DEBUG"]
        ):
            text = self.dumps(obj, indent=2)
        else:
            text = self._dumps_compact(obj)
        return Response(f"{text}\n", mimetype=self.mimetype)


def _provider() -> JSONProvider | None:
    ctx = _find_app_ctx()
    return ctx.app.json if ctx is not None else None


def dumps(obj: t.Any, **kwargs: t.Any) -> str:
    """Serialize ``obj`` with the current app's provider (or the defaults)."""
    provider = _provider()
    if provider is not None:
        return provider.dumps(obj, **kwargs)
    kwargs.setdefault("default", _default)
    return _json.dumps(obj, **kwargs)


def _dumps_compact(obj: t.Any) -> str:
    """``dumps(obj, separators=(",", ":"))``, the encoder of the default
    provider made once."""
    provider = _provider()
    if isinstance(provider, DefaultJSONProvider):
        return provider._dumps_compact(obj)
    return dumps(obj, separators=(",", ":"))


def loads(s: str | bytes, **kwargs: t.Any) -> t.Any:
    """Parse JSON with the current app's provider (or the standard library)."""
    provider = _provider()
    if provider is not None:
        return provider.loads(s, **kwargs)
    return _json.loads(s, **kwargs)


def jsonify(*args: t.Any, **kwargs: t.Any) -> Response:
    """A JSON response: ``jsonify(user=name)``, ``jsonify([1, 2])``.

    One positional argument is sent as it is; several become a list; keyword
    arguments become an object.  Needs an app context.
    """
    from .globals import current_app

    return current_app.json.response(*args, **kwargs)
