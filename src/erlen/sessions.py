"""Sessions: a signed cookie by default, pluggable through
:class:`SessionInterface`.

The cookie format is Flask's (itsdangerous, salt ``cookie-session``, HMAC
key derivation, SHA-1, tagged JSON), so a cookie signed by a Flask app with
the same secret key is read by Erlen and the other way round.
"""

from __future__ import annotations

import base64
import hashlib
import typing as t
from collections.abc import MutableMapping
from datetime import UTC, datetime
from uuid import UUID

from itsdangerous import BadSignature, URLSafeTimedSerializer
from markupsafe import Markup
from werkzeug.http import http_date, parse_date

if t.TYPE_CHECKING:
    from .app import Erlen
    from .wrappers import Request, Response

__all__ = [
    "NullSession",
    "SecureCookieSession",
    "SecureCookieSessionInterface",
    "SessionInterface",
    "SessionMixin",
    "TaggedJSONSerializer",
]


class SessionMixin(MutableMapping[str, t.Any]):
    """What every session offers beyond a dict."""

    @property
    def permanent(self) -> bool:
        """Keep the cookie for ``PERMANENT_SESSION_LIFETIME`` instead of
        until the browser closes."""
        return bool(self.get("_permanent", False))

    @permanent.setter
    def permanent(self, value: bool) -> None:
        self["_permanent"] = bool(value)

    #: ``True`` for a session that was not in the request.
    new = False
    #: Set when the session was changed; nested changes need it set by hand.
    modified = True
    #: Set when the session was read or written.
    accessed = True


class SecureCookieSession(dict[str, t.Any], SessionMixin):
    """The default session: a dict that records reads and writes."""

    modified = False
    accessed = False

    def __init__(self, initial: t.Any = None) -> None:
        super().__init__(initial or ())

    def __getitem__(self, key: str) -> t.Any:
        self.accessed = True
        return super().__getitem__(key)

    def get(self, key: str, default: t.Any = None) -> t.Any:
        self.accessed = True
        return super().get(key, default)

    def setdefault(self, key: str, default: t.Any = None) -> t.Any:
        self.accessed = True
        if key not in self:
            self.modified = True
        return super().setdefault(key, default)

    def __setitem__(self, key: str, value: t.Any) -> None:
        self.accessed = self.modified = True
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.accessed = self.modified = True
        super().__delitem__(key)

    def __contains__(self, key: object) -> bool:
        self.accessed = True
        return super().__contains__(key)

    def __len__(self) -> int:
        self.accessed = True
        return super().__len__()

    def __iter__(self) -> t.Iterator[str]:
        self.accessed = True
        return super().__iter__()

    def pop(self, key: str, *args: t.Any) -> t.Any:
        self.accessed = True
        if key in dict.keys(self):
            self.modified = True
        return super().pop(key, *args)

    def popitem(self) -> tuple[str, t.Any]:
        self.accessed = self.modified = True
        return super().popitem()

    def update(self, *args: t.Any, **kwargs: t.Any) -> None:
        self.accessed = self.modified = True
        super().update(*args, **kwargs)

    def clear(self) -> None:
        self.accessed = self.modified = True
        super().clear()


class NullSession(SecureCookieSession):
    """The session when no secret key is set: reading works (it is empty),
    writing raises an error that says what to configure."""

    def _fail(self, *args: t.Any, **kwargs: t.Any) -> t.NoReturn:
        raise RuntimeError(
            "The session is unavailable because no secret key was set. Set the"
            " secret_key on the application to something unique and secret."
        )

    __setitem__ = __delitem__ = clear = popitem = update = pop = setdefault = _fail


class TaggedJSONSerializer:
    """JSON that keeps ``tuple``, ``bytes``, ``Markup``, ``UUID`` and
    ``datetime`` through a round trip, tagging them as Flask does (e.g.
    ``{" t": [1, 2]}`` for a tuple)."""

    def dumps(self, value: t.Any) -> str:
        from json import dumps

        return dumps(self._tag(value), separators=(",", ":"))

    def loads(self, value: str | bytes) -> t.Any:
        from json import loads

        return loads(value, object_hook=self._untag)

    def _tag(self, value: t.Any) -> t.Any:
        if isinstance(value, dict):
            if len(value) == 1:
                key = next(iter(value))
                if key in _TAGS:
                    return {" di": {f"{key}__": self._tag(value[key])}}
            return {k: self._tag(v) for k, v in value.items()}
        if isinstance(value, tuple):
            return {" t": [self._tag(v) for v in value]}
        if isinstance(value, list):
            return [self._tag(v) for v in value]
        if isinstance(value, bytes):
            return {" b": base64.b64encode(value).decode("ascii")}
        if callable(getattr(value, "__html__", None)):
            return {" m": str(value.__html__())}
        if isinstance(value, UUID):
            return {" u": value.hex}
        if isinstance(value, datetime):
            return {" d": http_date(value)}
        return value

    def _untag(self, obj: dict[str, t.Any]) -> t.Any:
        if len(obj) != 1:
            return obj
        key, value = next(iter(obj.items()))
        if key == " t":
            return tuple(value)
        if key == " b":
            return base64.b64decode(value)
        if key == " m":
            return Markup(value)
        if key == " u":
            return UUID(value)
        if key == " d":
            return parse_date(value)
        if key == " di":
            inner_key, inner = next(iter(value.items()))
            return {inner_key[:-2]: inner}
        return obj


_TAGS = frozenset({" di", " t", " b", " m", " u", " d"})
session_json_serializer = TaggedJSONSerializer()


class SessionInterface:
    """The interface a session implementation provides; set
    ``app.session_interface`` to use another (e.g. a server-side store)."""

    null_session_class = NullSession
    #: Whether :meth:`open_session` may be called from a thread (it may).
    pickle_based = False

    def make_null_session(self, app: Erlen) -> SessionMixin:
        """The session used when :meth:`open_session` returns ``None``."""
        return self.null_session_class()

    def is_null_session(self, obj: object) -> bool:
        """Whether ``obj`` is the null session (not saved)."""
        return isinstance(obj, self.null_session_class)

    def get_cookie_name(self, app: Erlen) -> str:
        return t.cast(str, app.config["SESSION_COOKIE_NAME"])

    def get_cookie_domain(self, app: Erlen) -> str | None:
        return t.cast("str | None", app.config["SESSION_COOKIE_DOMAIN"])

    def get_cookie_path(self, app: Erlen) -> str:
        return t.cast(
            str, app.config["SESSION_COOKIE_PATH"] or app.config["APPLICATION_ROOT"]
        )

    def get_cookie_httponly(self, app: Erlen) -> bool:
        return bool(app.config["SESSION_COOKIE_HTTPONLY"])

    def get_cookie_secure(self, app: Erlen) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"])

    def get_cookie_samesite(self, app: Erlen) -> str | None:
        return t.cast("str | None", app.config["SESSION_COOKIE_SAMESITE"])

    def get_cookie_partitioned(self, app: Erlen) -> bool:
        return bool(app.config["SESSION_COOKIE_PARTITIONED"])

    def get_expiration_time(self, app: Erlen, session: SessionMixin) -> datetime | None:
        """When a permanent session's cookie expires."""
        if session.permanent:
            return datetime.now(UTC) + app.permanent_session_lifetime
        return None

    def should_set_cookie(self, app: Erlen, session: SessionMixin) -> bool:
        """Set the cookie when the session changed, or on every request for a
        permanent session when ``SESSION_REFRESH_EACH_REQUEST``."""
        return session.modified or (
            session.permanent and bool(app.config["SESSION_REFRESH_EACH_REQUEST"])
        )

    def open_session(self, app: Erlen, request: Request) -> SessionMixin | None:
        """Load the session for ``request``; ``None`` means a null session."""
        raise NotImplementedError

    def save_session(
        self, app: Erlen, session: SessionMixin, response: Response
    ) -> None:
        """Store the session and set the cookie on ``response``."""
        raise NotImplementedError


class SecureCookieSessionInterface(SessionInterface):
    """The session stored in a cookie signed with ``SECRET_KEY``."""

    salt = "cookie-session"
    digest_method = staticmethod(hashlib.sha1)
    key_derivation = "hmac"
    serializer = session_json_serializer
    session_class = SecureCookieSession

    def get_signing_serializer(self, app: Erlen) -> URLSafeTimedSerializer | None:
        """The serializer; ``None`` without a secret key.  Fallback keys
        verify; only the current key signs."""
        if not app.secret_key:
            return None
        keys: list[str | bytes] = []
        fallbacks = app.config["SECRET_KEY_FALLBACKS"]
        if fallbacks:
            keys.extend(fallbacks)
        keys.append(app.secret_key)
        return URLSafeTimedSerializer(
            keys,  # type: ignore[arg-type]
            salt=self.salt,
            serializer=self.serializer,
            signer_kwargs={
                "key_derivation": self.key_derivation,
                "digest_method": self.digest_method,
            },
        )

    def open_session(self, app: Erlen, request: Request) -> SecureCookieSession | None:
        s = self.get_signing_serializer(app)
        if s is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            session = self.session_class()
            session.new = True
            return session
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data = s.loads(value, max_age=max_age)
            return self.session_class(data if isinstance(data, dict) else None)
        except (BadSignature, ValueError, TypeError, UnicodeError, RecursionError):
            session = self.session_class()
            session.new = True
            return session

    def save_session(
        self, app: Erlen, session: SessionMixin, response: Response
    ) -> None:
        name = self.get_cookie_name(app)
        domain = self.get_cookie_domain(app)
        path = self.get_cookie_path(app)
        secure = self.get_cookie_secure(app)
        partitioned = self.get_cookie_partitioned(app)
        samesite = self.get_cookie_samesite(app)
        httponly = self.get_cookie_httponly(app)
        if session.accessed:
            _vary_cookie(response)
        if not session:
            if session.modified:
                response.delete_cookie(
                    name,
                    domain=domain,
                    path=path,
                    secure=secure,
                    partitioned=partitioned,
                    samesite=samesite,
                    httponly=httponly,
                )
                _vary_cookie(response)
            return
        if not self.should_set_cookie(app, session):
            return
        expires = self.get_expiration_time(app, session)
        s = self.get_signing_serializer(app)
        assert s is not None  # a non-null session implies a secret key
        value = s.dumps(dict(session))
        response.set_cookie(
            name,
            value,
            expires=expires,
            httponly=httponly,
            domain=domain,
            path=path,
            secure=secure,
            partitioned=partitioned,
            samesite=samesite,
        )
        _vary_cookie(response)


def _vary_cookie(response: Response) -> None:
    """Add ``Cookie`` to the ``Vary`` header once."""
    values = [
        v.strip().lower()
        for header in response.headers.getlist("Vary")
        for v in header.split(",")
    ]
    if "cookie" not in values and "*" not in values:
        response.headers.add("Vary", "Cookie")
