"""Sessions: a signed cookie by default, pluggable through
:class:`SessionInterface`.

The cookie format is Flask's: itsdangerous with the salt ``cookie-session``,
HMAC key derivation, SHA-1 and tagged JSON.  A cookie signed by a Flask app
is read by an Erlen app with the same secret key, and the other way round, so
an app can move from one to the other without logging its users out.

The session is opened only when a request touches ``session``: a view that
never uses it never reads (or verifies) the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import json as _stdlib_json
import time
import typing as t
import zlib
from base64 import b64decode, b64encode
from binascii import a2b_base64, b2a_base64
from collections.abc import MutableMapping
from datetime import UTC, datetime
from uuid import UUID

from itsdangerous import (
    BadData,
    BadPayload,
    BadSignature,
    BadTimeSignature,
    Serializer,
    SignatureExpired,
    URLSafeTimedSerializer,
)
from markupsafe import Markup
from werkzeug.http import http_date, parse_date

from . import json as _json
from .datastructures import ResponseHeaders
from .globals import _cv_request

if t.TYPE_CHECKING:
    from .app import Erlen
    from .wrappers import Request, Response

__all__ = [
    "JSONTag",
    "NullSession",
    "SecureCookieSession",
    "SecureCookieSessionInterface",
    "SessionInterface",
    "SessionMixin",
    "TaggedJSONSerializer",
]


class SessionMixin(MutableMapping[str, t.Any]):
    """What every session offers beyond a mapping: :attr:`permanent` and the
    flags a :class:`SessionInterface` uses to decide what to save.

    A server-side session class can derive from ``dict`` and this mixin.
    """

    @property
    def permanent(self) -> bool:
        """Keep the cookie for ``PERMANENT_SESSION_LIFETIME`` instead of until
        the browser closes.  Stored in the session as ``_permanent``."""
        return bool(self.get("_permanent", False))

    @permanent.setter
    def permanent(self, value: bool) -> None:
        self["_permanent"] = bool(value)

    #: ``True`` when the request brought no valid session (no cookie, or one
    #: that was expired or failed verification).
    new = False
    #: Whether the session changed during the request.  Changes inside a
    #: mutable value (``session["cart"].append(x)``) are not seen: set it to
    #: ``True`` by hand after those.
    modified = True
    #: Whether the session was read or written.  When set, the response gets
    #: ``Vary: Cookie`` so caches do not share one user's page with another.
    accessed = True


class SecureCookieSession(dict[str, t.Any], SessionMixin):
    """The default session: a ``dict`` that records reads
    (:attr:`accessed`) and changes (:attr:`modified`).

    Every read counts, including ``in``, ``len()``, iteration, ``keys()``
    and ``items()``: any of them makes the response depend on the cookie.

    :param initial: the data loaded from the cookie.
    """

    modified = False
    accessed = False

    def __init__(self, initial: t.Any = None) -> None:
        super().__init__(initial or ())

    # -- reads ----------------------------------------------------------------

    def __getitem__(self, key: str) -> t.Any:
        self.accessed = True
        return super().__getitem__(key)

    def get(self, key: str, default: t.Any = None) -> t.Any:
        self.accessed = True
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self.accessed = True
        return super().__contains__(key)

    def __len__(self) -> int:
        self.accessed = True
        return super().__len__()

    def __iter__(self) -> t.Iterator[str]:
        self.accessed = True
        return super().__iter__()

    def keys(self) -> t.KeysView[str]:  # type: ignore[override]
        self.accessed = True
        return super().keys()

    def values(self) -> t.ValuesView[t.Any]:  # type: ignore[override]
        self.accessed = True
        return super().values()

    def items(self) -> t.ItemsView[str, t.Any]:  # type: ignore[override]
        self.accessed = True
        return super().items()

    def copy(self) -> dict[str, t.Any]:
        self.accessed = True
        return super().copy()

    def __eq__(self, other: object) -> bool:
        self.accessed = True
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    # -- writes ---------------------------------------------------------------

    def __setitem__(self, key: str, value: t.Any) -> None:
        self.accessed = self.modified = True
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.accessed = self.modified = True
        super().__delitem__(key)

    def setdefault(self, key: str, default: t.Any = None) -> t.Any:
        self.accessed = True
        if not super().__contains__(key):
            self.modified = True
        return super().setdefault(key, default)

    def pop(self, key: str, *default: t.Any) -> t.Any:
        self.accessed = True
        if super().__contains__(key):
            self.modified = True
        return super().pop(key, *default)

    def popitem(self) -> tuple[str, t.Any]:
        self.accessed = self.modified = True
        return super().popitem()

    def update(self, *args: t.Any, **kwargs: t.Any) -> None:
        self.accessed = self.modified = True
        super().update(*args, **kwargs)

    def __ior__(self, other: t.Any) -> t.Self:  # type: ignore[override,misc]
        self.update(other)
        return self

    def clear(self) -> None:
        self.accessed = self.modified = True
        super().clear()


class NullSession(SecureCookieSession):
    """The session of an app without a secret key: it reads as empty, and
    any change raises an error saying how to fix it, so data is never
    silently dropped."""

    def _fail(self, *args: t.Any, **kwargs: t.Any) -> t.NoReturn:
        raise RuntimeError(
            "The session is unavailable because no secret key was set, so"
            " nothing written to it could be kept. Set 'app.secret_key' (the"
            " 'SECRET_KEY' config key) to a long random value, for example"
            " the output of: python -c 'import secrets; print(secrets.token_hex())'"
        )

    __setitem__ = __delitem__ = clear = popitem = update = _fail
    pop = setdefault = __ior__ = _fail


# -- tagged JSON ---------------------------------------------------------------


class JSONTag:
    """One type the :class:`TaggedJSONSerializer` keeps through JSON, stored
    as ``{key: to_json(value)}``.  Subclass it and pass the class to
    :meth:`TaggedJSONSerializer.register` to support another type.

    :param serializer: the serializer it belongs to, for tags that hold
        other values (``self.serializer.tag(item)``).
    """

    #: The tag's key; starts with a space so it cannot clash with a normal
    #: key.  Every registered tag needs a unique one.
    key = ""

    def __init__(self, serializer: TaggedJSONSerializer) -> None:
        self.serializer = serializer

    def check(self, value: t.Any) -> bool:
        """Whether ``value`` is tagged by this tag.

        :param value: a value being serialized.
        """
        raise NotImplementedError

    def to_json(self, value: t.Any) -> t.Any:
        """The JSON form of ``value`` (tag nested values yourself).

        :param value: a value :meth:`check` accepted.
        """
        raise NotImplementedError

    def to_python(self, value: t.Any) -> t.Any:
        """The Python value back from its JSON form.

        :param value: what :meth:`to_json` returned, after a JSON round trip
            (nested values already untagged).
        """
        raise NotImplementedError


class _TagDict(JSONTag):
    # A one-key dict whose key is a tag would be read back as that tag:
    # store it as {" di": {"<key>__": value}}.
    key = " di"

    def check(self, value: t.Any) -> bool:
        return (
            isinstance(value, dict)
            and len(value) == 1
            and next(iter(value)) in self.serializer.tags
        )

    def to_json(self, value: t.Any) -> t.Any:
        ((key, item),) = value.items()
        return {f"{key}__": self.serializer.tag(item)}

    def to_python(self, value: t.Any) -> t.Any:
        ((key, item),) = value.items()
        return {key.removesuffix("__"): item}


class _TagTuple(JSONTag):
    key = " t"

    def check(self, value: t.Any) -> bool:
        return isinstance(value, tuple)

    def to_json(self, value: t.Any) -> t.Any:
        return [self.serializer.tag(item) for item in value]

    def to_python(self, value: t.Any) -> t.Any:
        return tuple(value)


class _TagBytes(JSONTag):
    key = " b"

    def check(self, value: t.Any) -> bool:
        return isinstance(value, bytes)

    def to_json(self, value: t.Any) -> t.Any:
        return b64encode(value).decode("ascii")

    def to_python(self, value: t.Any) -> t.Any:
        return b64decode(value)


class _TagMarkup(JSONTag):
    # Anything with __html__, read back as Markup.
    key = " m"

    def check(self, value: t.Any) -> bool:
        return callable(getattr(value, "__html__", None))

    def to_json(self, value: t.Any) -> t.Any:
        return str(value.__html__())

    def to_python(self, value: t.Any) -> t.Any:
        return Markup(value)


class _TagUUID(JSONTag):
    key = " u"

    def check(self, value: t.Any) -> bool:
        return isinstance(value, UUID)

    def to_json(self, value: t.Any) -> t.Any:
        return value.hex

    def to_python(self, value: t.Any) -> t.Any:
        return UUID(value)


class _TagDateTime(JSONTag):
    # An HTTP date: whole seconds, read back as an aware UTC datetime.
    key = " d"

    def check(self, value: t.Any) -> bool:
        return isinstance(value, datetime)

    def to_json(self, value: t.Any) -> t.Any:
        return http_date(value)

    def to_python(self, value: t.Any) -> t.Any:
        return parse_date(value)


def _b64encode(data: bytes) -> bytes:
    # URL-safe base64 without padding, as itsdangerous writes it.
    return b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=")


def _b64decode(data: bytes) -> bytes:
    # As itsdangerous reads it: padding restored, characters outside the
    # alphabet skipped (binascii's non-strict mode); binascii.Error, a
    # ValueError, for the rest.
    return a2b_base64(data.translate(_FROM_URLSAFE) + b"=" * (-len(data) % 4))


def _compress(data: bytes) -> bytes:
    # PERF: zlib with a 4 kB window (cookies are smaller) and a smaller
    # hash table: ~1.7 us where zlib.compress() sets up 256 kB of state,
    # 3 us warm, 30 us when the allocator has handed the memory back.  The
    # stream is standard; itsdangerous and Flask inflate it as they do
    # their own.
    compressor = zlib.compressobj(6, zlib.DEFLATED, 12, 4)
    return compressor.compress(data) + compressor.flush()


def _mac(keyed: hmac.HMAC, message: bytes) -> bytes:
    # PERF: a copy of an HMAC already keyed skips the key setup.
    mac = keyed.copy()
    mac.update(message)
    return mac.digest()


#: The fewest bytes zlib writes for any non-empty input: a 2-byte header,
#: a 4-byte checksum and 3 bytes of deflate data (a block header, one
#: literal and the end of block).
_MIN_ZLIB = 9

#: The timestamp of the last second a datetime can hold.
_LAST_DATETIME = 253_402_300_799

_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


class _CookieSerializer(URLSafeTimedSerializer):
    """itsdangerous' URL-safe timed serializer, making and checking the
    session cookie in one step.

    :meth:`dumps` and :meth:`loads` (without ``salt`` or
    ``return_timestamp``, as the session calls them) write the format the
    base class writes and accept exactly what it accepts, raising the same
    exceptions; the tests hold them to it both ways.  They key the HMACs
    once, when the serializer is made, instead of twice per cookie, and
    skip the signer objects and helper layers itsdangerous builds per
    call.  Other calls go to itsdangerous.

    Decompression is capped (a 130 kB cookie could otherwise become a
    100 MB session).  Only signed payloads reach it, so that is defence in
    depth.
    """

    #: The largest decompressed payload, in bytes.
    max_payload_size = 1024 * 1024

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        # itsdangerous signs with the last key and verifies with each, the
        # last first.
        signer = self.make_signer()
        keys = [signer.derive_key(key) for key in self.secret_keys]
        macs = [hmac.new(key, digestmod=signer.digest_method) for key in keys]
        self._signing_mac = macs[-1]
        self._verifying_macs = macs[::-1]

    # PERF: a cookie made in ~7 us instead of ~14 and read in ~5 instead
    # of ~12 (with the rest of its commit, the session bench: 85 -> 64 us).
    def dumps(self, obj: t.Any, salt: str | bytes | None = None) -> t.Any:
        if salt is not None:
            return super().dumps(obj, salt)
        text: str | bytes = self.serializer.dumps(obj, **self.serializer_kwargs)
        data = text.encode() if isinstance(text, str) else text
        # PERF: no attempt (~2.8 us) where it cannot win: zlib's output is
        # never under _MIN_ZLIB bytes (a test holds it).
        compressed = _compress(data) if len(data) > _MIN_ZLIB + 1 else data
        if len(compressed) < len(data) - 1:
            payload = b"." + _b64encode(compressed)
        else:
            payload = _b64encode(data)
        stamp = int(time.time())
        value = b"%s.%s" % (payload, _b64encode(stamp.to_bytes(8).lstrip(b"\0")))
        signature = _b64encode(_mac(self._signing_mac, value))
        signed = b"%s.%s" % (value, signature)
        return signed.decode() if self.is_text_serializer else signed

    def loads(  # type: ignore[override]
        self,
        s: str | bytes,
        max_age: int | None = None,
        return_timestamp: bool = False,
        salt: str | bytes | None = None,
    ) -> t.Any:
        if return_timestamp or salt is not None:
            return super().loads(s, max_age, return_timestamp, salt)
        if isinstance(s, str):
            s = s.encode()
        value, sep, signature = s.rpartition(b".")
        if not sep:
            raise BadSignature("No b'.' found in value")
        try:
            expected = _b64decode(signature)
        except ValueError:
            expected = None
        macs = self._verifying_macs
        if expected is None or not (
            # PERF: one key (no fallbacks), no generator (~0.3 us).
            hmac.compare_digest(expected, _mac(macs[0], value))
            if len(macs) == 1
            else any(hmac.compare_digest(expected, _mac(mac, value)) for mac in macs)
        ):
            error = BadTimeSignature if b"." in value else BadSignature
            raise error(f"Signature {signature!r} does not match", payload=value)
        payload, sep, stamp_text = value.rpartition(b".")
        if not sep:
            raise BadTimeSignature("timestamp missing", payload=value)
        try:
            stamp_bytes = _b64decode(stamp_text)
        except ValueError:
            stamp_bytes = None
        if stamp_bytes is None or len(stamp_bytes) > 8:  # 64 bits at most
            raise BadTimeSignature("Malformed timestamp", payload=payload)
        stamp = int.from_bytes(stamp_bytes)
        if max_age is not None:
            age = int(time.time()) - stamp
            if age > max_age:
                problem = f"Signature age {age} > {max_age} seconds"
            elif age < 0:
                problem = f"Signature age {age} < 0 seconds"
            else:
                problem = ""
            if problem:
                signed = datetime.fromtimestamp(stamp, UTC)
                raise SignatureExpired(problem, payload=payload, date_signed=signed)
        if stamp > _LAST_DATETIME:
            # Raises the error itsdangerous does when it makes the datetime.
            datetime.fromtimestamp(stamp, UTC)
        return self.load_payload(payload)

    def load_payload(
        self, payload: bytes, *args: t.Any, serializer: t.Any = None, **kwargs: t.Any
    ) -> t.Any:
        compressed = payload.startswith(b".")
        try:
            data = _b64decode(payload[1:] if compressed else payload)
            if compressed:
                inflater = zlib.decompressobj()
                data = inflater.decompress(data, self.max_payload_size)
        except Exception as e:
            raise BadPayload("Could not decode the payload.") from e
        if compressed and not inflater.eof:
            raise BadPayload(
                f"The payload inflates past {self.max_payload_size} bytes."
                if inflater.unconsumed_tail
                else "The compressed payload is truncated."
            )
        return Serializer.load_payload(self, data, serializer=serializer)


class TaggedJSONSerializer:
    """JSON that keeps ``dict``, ``tuple``, ``bytes``, ``Markup``, ``UUID``
    and ``datetime`` values through a round trip, in the format Flask's
    session uses (for example ``{" t": [1, 2]}`` for the tuple ``(1, 2)``).

    The current app's JSON provider does the encoding, as in Flask.
    """

    #: The tags registered by default, in the order they are tried.
    default_tags: t.ClassVar[list[type[JSONTag]]] = [
        _TagDict,
        _TagTuple,
        _TagBytes,
        _TagMarkup,
        _TagUUID,
        _TagDateTime,
    ]

    _builtin_tags_only = False
    #: The standard decoder, undoing the tags of each object it makes.
    _decoder: _stdlib_json.JSONDecoder | None = None

    def __init__(self) -> None:
        #: The tags by key.
        self.tags: dict[str, JSONTag] = {}
        #: The tags in the order :meth:`tag` tries them.
        self.order: list[JSONTag] = []
        for tag_class in self.default_tags:
            self.register(tag_class)

    def register(
        self, tag_class: type[JSONTag], force: bool = False, index: int | None = None
    ) -> None:
        """Support another type.

        :param tag_class: a :class:`JSONTag` subclass.
        :param force: replace a tag registered with the same key.
        :param index: where to insert it in :attr:`order` (default: last, so
            built-in types are tagged first).
        :raises KeyError: the key is taken and ``force`` is false.
        """
        tag = tag_class(self)
        old = self.tags.get(tag.key)
        if old is not None:
            if not force:
                raise KeyError(
                    f"The tag {tag.key!r} is already registered; pass force=True"
                    " to replace it."
                )
            self.order.remove(old)
        self.tags[tag.key] = tag
        if index is None:
            self.order.append(tag)
        else:
            self.order.insert(index, tag)
        self._builtin_tags_only = all(type(tag) in _BUILTIN_TAGS for tag in self.order)

    def tag(self, value: t.Any) -> t.Any:
        """``value`` made JSON-ready, with tags for the types JSON lacks.

        :param value: the value to convert, recursively.
        """
        if self._builtin_tags_only:
            # PERF: the built-in tags claim no str, int, float, bool, None,
            # list, or dict of other than one item, so those skip the six
            # checks (~1 us for a small session).
            kind = type(value)
            if kind in _UNTAGGED_SCALARS:
                return value
            # A one-item dict is only _TagDict's when its key is a tag's.
            if kind is dict and (len(value) != 1 or next(iter(value)) not in self.tags):
                return {key: self.tag(item) for key, item in value.items()}
            if kind is list:
                return [self.tag(item) for item in value]
        for tag in self.order:
            if tag.check(value):
                return {tag.key: tag.to_json(value)}
        if isinstance(value, dict):
            return {key: self.tag(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.tag(item) for item in value]
        return value

    def untag(self, value: t.Any) -> t.Any:
        """The inverse of :meth:`tag`, applied from the innermost values out.

        :param value: parsed JSON.
        """
        if isinstance(value, list):
            return [self.untag(item) for item in value]
        if not isinstance(value, dict):
            return value
        return self._untag_object(
            {key: self.untag(item) for key, item in value.items()}
        )

    def _untag_object(self, value: dict[str, t.Any]) -> t.Any:
        # A JSON object whose values are untagged already: the value of a
        # tag's one-item dict, else the object itself.
        if len(value) == 1:
            ((key, item),) = value.items()
            tag = self.tags.get(key)
            if tag is not None:
                return tag.to_python(item)
        return value

    def dumps(self, value: t.Any) -> str:
        """Compact tagged JSON for ``value``.

        :param value: the data to serialize.
        """
        return _json._dumps_compact(self.tag(value))

    def loads(self, value: str | bytes) -> t.Any:
        """The data back from :meth:`dumps` output.

        :param value: tagged JSON text.
        """
        provider = _json._provider()
        if (
            type(value) is str
            and not value.startswith("\ufeff")  # json.loads' error for it
            and type(self).untag is TaggedJSONSerializer.untag
            and (
                provider is None
                or type(provider).loads is _json.DefaultJSONProvider.loads
            )
        ):
            # PERF: json.loads' work, the tags undone as the decoder makes
            # each object (innermost first, as untag does) instead of in a
            # second walk over the result (~0.9 us in a tight loop; session
            # bench 41.7 -> 40.4 us WSGI, 45.4 -> 43.7 ASGI).
            decoder = self._decoder
            if decoder is None:
                decoder = self._decoder = _stdlib_json.JSONDecoder(
                    object_hook=self._untag_object
                )
            return decoder.decode(value)
        return self.untag(_json.loads(value))


#: The tags :meth:`TaggedJSONSerializer.tag` may skip for the types below.
_BUILTIN_TAGS = frozenset(TaggedJSONSerializer.default_tags)
_UNTAGGED_SCALARS = frozenset({str, int, float, bool, type(None)})

#: The serializer of the default session.
session_json_serializer = TaggedJSONSerializer()


# -- the interface -------------------------------------------------------------


class SessionInterface:
    """What a session implementation provides.  Set ``app.session_interface``
    to an instance of a subclass to store sessions elsewhere (a database, a
    cache), implementing :meth:`open_session` and :meth:`save_session`; the
    ``get_cookie_*`` methods read the ``SESSION_COOKIE_*`` config keys for
    the cookie that carries the session id.

    Erlen calls :meth:`open_session` the first time a request uses
    ``session`` (never for requests that do not), and :meth:`save_session`
    after the ``after_request`` functions of such a request.
    """

    #: The class :meth:`make_null_session` returns.
    null_session_class: type[SessionMixin] = NullSession
    #: For extensions that ask whether the sessions are pickle-based; the
    #: default cookie session is not.
    pickle_based = False

    def make_null_session(self, app: Erlen) -> SessionMixin:
        """The session used when :meth:`open_session` returns ``None``: empty
        when read, raising an error that explains why when written.

        :param app: the application.
        """
        return self.null_session_class()

    def is_null_session(self, obj: object) -> bool:
        """Whether ``obj`` is a null session (those are never saved).

        :param obj: a session.
        """
        return isinstance(obj, self.null_session_class)

    def get_cookie_name(self, app: Erlen) -> str:
        """The cookie's name (``SESSION_COOKIE_NAME``).

        :param app: the application.
        """
        return t.cast(str, app.config["SESSION_COOKIE_NAME"])

    def get_cookie_domain(self, app: Erlen) -> str | None:
        """The cookie's ``Domain`` (``SESSION_COOKIE_DOMAIN``); ``None`` keeps
        it to the exact host that set it.

        :param app: the application.
        """
        return t.cast("str | None", app.config["SESSION_COOKIE_DOMAIN"])

    def get_cookie_path(self, app: Erlen) -> str:
        """The cookie's ``Path``: ``SESSION_COOKIE_PATH``, else
        ``APPLICATION_ROOT``.

        :param app: the application.
        """
        path = app.config["SESSION_COOKIE_PATH"] or app.config["APPLICATION_ROOT"]
        return t.cast(str, path)

    def get_cookie_httponly(self, app: Erlen) -> bool:
        """Whether the cookie is hidden from JavaScript
        (``SESSION_COOKIE_HTTPONLY``).

        :param app: the application.
        """
        return bool(app.config["SESSION_COOKIE_HTTPONLY"])

    def get_cookie_secure(self, app: Erlen) -> bool:
        """Whether the cookie is sent over HTTPS only
        (``SESSION_COOKIE_SECURE``).  ``None``, the default, means "when the
        current request came over HTTPS": a site served over HTTPS gets
        ``Secure`` cookies without configuration, and plain-HTTP development
        still works.  ``True`` or ``False`` force it.

        :param app: the application.

        .. versionchanged:: 0.1
            ``None`` (automatic) is the default; Flask's is ``False``.
        """
        value = app.config["SESSION_COOKIE_SECURE"]
        if value is None:
            ctx = _cv_request.get(None)
            return ctx is not None and ctx.request.is_secure
        return bool(value)

    def get_cookie_samesite(self, app: Erlen) -> str | None:
        """The cookie's ``SameSite`` (``SESSION_COOKIE_SAMESITE``):
        ``"Strict"``, ``"Lax"`` (the default), ``"None"`` or ``None`` (not
        sent).

        :param app: the application.

        .. versionchanged:: 0.1
            ``"Lax"`` is the default; Flask sends none.
        """
        return t.cast("str | None", app.config["SESSION_COOKIE_SAMESITE"])

    def get_cookie_partitioned(self, app: Erlen) -> bool:
        """Whether the cookie is ``Partitioned`` (CHIPS,
        ``SESSION_COOKIE_PARTITIONED``); implies ``Secure``.

        :param app: the application.
        """
        return bool(app.config["SESSION_COOKIE_PARTITIONED"])

    def get_expiration_time(self, app: Erlen, session: SessionMixin) -> datetime | None:
        """When the cookie expires: ``PERMANENT_SESSION_LIFETIME`` from now
        for a permanent session, ``None`` (when the browser closes) otherwise.

        :param app: the application.
        :param session: the session being saved.
        """
        if session.permanent:
            return datetime.now(UTC) + app.permanent_session_lifetime
        return None

    def should_set_cookie(self, app: Erlen, session: SessionMixin) -> bool:
        """Whether :meth:`save_session` sends the cookie: when the session
        changed, and on every response that used a permanent session when
        ``SESSION_REFRESH_EACH_REQUEST`` is true (sliding expiry).

        :param app: the application.
        :param session: the session being saved.
        """
        if session.modified:
            return True
        return session.permanent and bool(app.config["SESSION_REFRESH_EACH_REQUEST"])

    def open_session(self, app: Erlen, request: Request) -> SessionMixin | None:
        """Load the session of ``request``.  Return ``None`` when sessions
        cannot work (for example without a secret key) to get
        :meth:`make_null_session`.

        :param app: the application.
        :param request: the request whose cookies hold the session.
        """
        raise NotImplementedError

    def save_session(
        self, app: Erlen, session: SessionMixin, response: Response
    ) -> None:
        """Store ``session`` and set (or delete) the cookie on ``response``.
        Not called for a null session.

        :param app: the application.
        :param session: what :meth:`open_session` returned, maybe changed.
        :param response: the response about to be sent.
        """
        raise NotImplementedError


def _lazy_sha1(data: bytes = b"") -> t.Any:
    # Looked up when called: on a build without SHA-1, the module still
    # imports and an app can configure another digest.
    return hashlib.sha1(data)


#: hashlib's own sha1 when the build has one, as Flask uses: hmac runs
#: OpenSSL's HMAC only for hashlib's constructors (a Python function
#: in their place costs ~4x, twice per request using the session).
_sha1 = getattr(hashlib, "sha1", None) or _lazy_sha1


class SecureCookieSessionInterface(SessionInterface):
    """The session stored in the cookie itself, signed with ``SECRET_KEY``
    (users can read it, not change it).  Keys in ``SECRET_KEY_FALLBACKS``
    still verify cookies, so a key can be rotated without logging everyone
    out; new cookies are always signed with the current key."""

    #: Mixed into the key, so the session's signatures are valid nowhere else.
    salt = "cookie-session"
    #: The signature's hash function.
    digest_method = staticmethod(_sha1)
    #: How itsdangerous derives the signing key from the secret.
    key_derivation = "hmac"
    #: Turns the session into text and back.
    serializer = session_json_serializer
    session_class = SecureCookieSession

    #: The serializer last built, with what it was built from.
    _cached_serializer: tuple[tuple[t.Any, ...], URLSafeTimedSerializer] | None = None

    def get_signing_serializer(self, app: Erlen) -> URLSafeTimedSerializer | None:
        """The itsdangerous serializer, or ``None`` without a secret key.

        :param app: the application.
        """
        secret_key = app.secret_key
        if not secret_key:
            return None
        fallbacks = tuple(app.config["SECRET_KEY_FALLBACKS"] or ())
        # PERF: building a serializer costs ~25 us (itsdangerous serializes
        # a probe value); it keeps no per-use state, so one is reused while
        # the keys and settings stay the same.
        settings = (
            secret_key,
            fallbacks,
            self.salt,
            self.key_derivation,
            self.digest_method,
            self.serializer,
        )
        cached = self._cached_serializer
        if cached is not None and cached[0] == settings:
            return cached[1]
        # itsdangerous verifies with every key and signs with the last one.
        signer = _CookieSerializer(
            [*fallbacks, secret_key],
            salt=self.salt,
            serializer=self.serializer,
            signer_kwargs={
                "key_derivation": self.key_derivation,
                "digest_method": self.digest_method,
            },
        )
        self._cached_serializer = (settings, signer)
        return signer

    def open_session(self, app: Erlen, request: Request) -> SecureCookieSession | None:
        """The session from the cookie.  A missing, expired, tampered with or
        unreadable cookie gives an empty session with :attr:`~SessionMixin.new`
        set, never an error.

        :param app: the application.
        :param request: the request.
        """
        signer = self.get_signing_serializer(app)
        if signer is None:
            return None
        cookie = request.cookies.get(self.get_cookie_name(app))
        data: t.Any = None
        if cookie:
            max_age = int(app.permanent_session_lifetime.total_seconds())
            try:
                data = signer.loads(cookie, max_age=max_age)
            except (BadData, UnicodeError, ValueError, TypeError):
                data = None
        if not isinstance(data, dict):
            session = self.session_class()
            session.new = True
            return session
        return self.session_class(data)

    def save_session(
        self, app: Erlen, session: SessionMixin, response: Response
    ) -> None:
        """Set the signed cookie when :meth:`should_set_cookie` says so,
        delete it when the session was emptied, and add ``Vary: Cookie``
        whenever the session was used.

        :param app: the application.
        :param session: the session.
        :param response: the response.
        """
        if session.accessed:
            _vary_cookie(response)
        vary = not session.accessed  # else it was added just now
        if not session:
            # Nothing to keep: drop a cookie the client may still hold.
            if session.modified:
                response.delete_cookie(
                    self.get_cookie_name(app), **self._cookie_options(app)
                )
                if vary:
                    _vary_cookie(response)
            return
        # PERF: the cookie's settings read only for a cookie to send (a
        # session only read sends none; ~1 us).
        if not self.should_set_cookie(app, session):
            return
        signer = self.get_signing_serializer(app)
        if signer is None:
            raise RuntimeError(
                "The session cannot be saved: the secret key was removed while"
                " the request was using the session. Set 'app.secret_key'"
                " before the app handles requests."
            )
        value = signer.dumps(dict(session))
        expires = self.get_expiration_time(app, session)
        response.set_cookie(
            self.get_cookie_name(app),
            value,
            expires=expires,
            **self._cookie_options(app),
        )
        if vary:
            _vary_cookie(response)

    def _cookie_options(self, app: Erlen) -> dict[str, t.Any]:
        # The set_cookie arguments the get_cookie_* methods give.
        return {
            "domain": self.get_cookie_domain(app),
            "path": self.get_cookie_path(app),
            "secure": self.get_cookie_secure(app),
            "httponly": self.get_cookie_httponly(app),
            "samesite": self.get_cookie_samesite(app),
            "partitioned": self.get_cookie_partitioned(app),
        }


def _vary_cookie(response: Response) -> None:
    """Add ``Cookie`` to the ``Vary`` header, once."""
    headers = response.headers
    if type(headers) is ResponseHeaders:
        # PERF: getlist and add without their calls and checks (the value
        # is a constant); ~0.8 us.
        values = [v for k, v in headers._list if k == "Vary" or k.lower() == "vary"]
    else:
        values = headers.getlist("Vary")
    for header in values:
        for item in header.split(","):
            if item.strip().lower() in ("cookie", "*"):
                return
    if type(headers) is ResponseHeaders:
        headers._list.append(("Vary", "Cookie"))
    else:
        headers.add("Vary", "Cookie")
