"""Security defaults and helpers.

- Cross-origin protection: unsafe requests from other sites are refused
  with a 403, from ``Sec-Fetch-Site`` and ``Origin``, no form token needed
  (:func:`cross_origin_exempt` to opt a view out).
- Optional form tokens for very old browsers: :func:`csrf_token`,
  :func:`validate_csrf_token`, :func:`csrf_protect`.
- Security headers added to every response (``SECURITY_HEADERS``).
- Password hashing in Werkzeug's formats, so stored hashes keep working:
  :func:`generate_password_hash`, :func:`check_password_hash`,
  :func:`needs_rehash`.
- :func:`safe_join` for paths and :func:`url_is_safe` for redirect targets.

See the "Security" page of the docs for every default and how to change it.
"""

from __future__ import annotations

import functools
import hmac
import os
import posixpath
import re
import secrets
import typing as t
from datetime import timedelta
from urllib.parse import unquote, urlsplit

from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug import security as _wsec

from .datastructures import ResponseHeaders, _check_name, check_header_value
from .globals import _cv_request

if t.TYPE_CHECKING:
    from .app import Erlen
    from .ctx import RequestContext
    from .wrappers import Request, Response

__all__ = [
    "DEFAULT_SECURITY_HEADERS",
    "SAFE_METHODS",
    "check_password_hash",
    "cross_origin_exempt",
    "csrf_exempt",
    "csrf_protect",
    "csrf_token",
    "generate_password_hash",
    "needs_rehash",
    "safe_join",
    "url_is_safe",
    "validate_csrf_token",
]

F = t.TypeVar("F", bound=t.Callable[..., t.Any])
T = t.TypeVar("T")

# -- password hashing ----------------------------------------------------------


def generate_password_hash(
    password: str, method: str = "scrypt", salt_length: int = 16
) -> str:
    """Hash ``password`` for storing, in Werkzeug's format (what Flask apps
    already store), so existing user tables keep working:
    ``scrypt:32768:8:1$<salt>$<hash>`` by default, or
    ``pbkdf2:sha256:<iterations>$<salt>$<hash>``.

    :param password: the plain-text password.
    :param method: ``"scrypt"`` (optionally ``"scrypt:n:r:p"``) or
        ``"pbkdf2"`` (optionally ``"pbkdf2:hash:iterations"``).
    :param salt_length: characters of random salt.

    .. versionadded:: 0.1
    """
    # Werkzeug's implementation, used as a library part (see DESIGN).
    return _wsec.generate_password_hash(password, method, salt_length)


def check_password_hash(pwhash: str, password: str) -> bool:
    """Whether ``password`` matches ``pwhash`` (made by
    :func:`generate_password_hash`, here or by Werkzeug).  The comparison is
    constant-time.  A malformed hash is ``False``; a hash of an unknown
    method raises :exc:`ValueError`, as Werkzeug's does, so a table of
    legacy hashes is noticed instead of locking every user out silently.

    :param pwhash: the stored hash.
    :param password: the plain-text password to check.

    .. versionadded:: 0.1
    """
    return _wsec.check_password_hash(pwhash, password)


_SCRYPT_DEFAULTS = (2**15, 8, 1)


def _parse_method(method: str) -> tuple[str, tuple[t.Any, ...]] | None:
    """``("scrypt", (n, r, p))`` or ``("pbkdf2", (hash_name, iterations))``
    from a method string, defaults filled in; ``None`` if not one of those."""
    name, *args = method.split(":")
    try:
        if name == "scrypt":
            if not args:
                return name, _SCRYPT_DEFAULTS
            n, r, p = (int(a) for a in args)
            return name, (n, r, p)
        if name == "pbkdf2":
            if len(args) > 2:
                return None
            hash_name = args[0].lower() if args else "sha256"
            iterations = int(args[1]) if len(args) > 1 else None
            if iterations is None:
                iterations = _wsec.DEFAULT_PBKDF2_ITERATIONS
            return name, (hash_name, iterations)
    except ValueError:
        return None
    return None


def needs_rehash(pwhash: str, method: str = "scrypt", salt_length: int = 16) -> bool:
    """Whether ``pwhash`` was made with other or weaker settings than
    ``method`` asks for, so it should be replaced.  Check it at login, when
    the password is at hand::

        if check_password_hash(user.pwhash, password):
            if needs_rehash(user.pwhash):
                user.pwhash = generate_password_hash(password)

    ``True`` for another method (``pbkdf2`` when ``scrypt`` is asked for),
    for a lower scrypt cost (``n``, ``r`` or ``p``) or fewer pbkdf2
    iterations than asked for, another pbkdf2 hash function, a salt shorter
    than ``salt_length``, and for anything unknown or malformed.  Stronger
    settings than asked for are kept (``False``).

    :param pwhash: the stored hash.
    :param method: the method new hashes use, as for
        :func:`generate_password_hash`; its parameters default to
        Werkzeug's current ones.
    :param salt_length: the salt length new hashes use.

    .. versionadded:: 0.1
    """
    wanted = _parse_method(method)
    if wanted is None:
        raise ValueError(
            f"Unknown method {method!r}: use 'scrypt', 'scrypt:n:r:p', 'pbkdf2'"
            " or 'pbkdf2:hash:iterations'."
        )
    if not isinstance(pwhash, str) or pwhash.count("$") != 2:
        return True
    stored_method, salt, hashval = pwhash.split("$")
    if not salt or not hashval or len(salt) < salt_length:
        return True
    have = _parse_method(stored_method)
    if have is None or have[0] != wanted[0]:
        return True
    if have[0] == "scrypt":
        return any(h < w for h, w in zip(have[1], wanted[1], strict=True))
    (have_hash, have_iter), (want_hash, want_iter) = have[1], wanted[1]
    return bool(have_hash != want_hash or have_iter < want_iter)


# -- paths and URLs ------------------------------------------------------------


def safe_join(directory: str, *pathnames: str) -> str | None:
    """Join ``pathnames`` under ``directory``, or return ``None`` if the
    result could be outside it.

    Each path is ``/``-separated, as in a URL.  Refused: ``..`` segments that
    climb out, absolute paths, NUL bytes, and on every platform backslashes
    (a separator on Windows; refusing them everywhere keeps an app tested on
    Linux safe when deployed on Windows), as well as drives and UNC paths
    where the platform has them.  The check is on the text only: symlinks are
    followed by whoever opens the result (``send_from_directory`` resolves
    them and refuses a file that ends up outside the folder).

    :param directory: the trusted base folder.
    :param pathnames: untrusted parts, e.g. from the URL.

    .. versionchanged:: 0.1
        Backslashes are refused on every platform, unlike Werkzeug's, which
        refuses them only on Windows.
    """
    if not directory:
        directory = "."
    parts = [directory]
    for filename in pathnames:
        if filename != "":
            filename = posixpath.normpath(filename)
        if (
            "\x00" in filename
            or "\\" in filename
            or filename.startswith("/")
            or os.path.isabs(filename)
            or os.path.splitdrive(filename)[0]
            or filename == ".."
            or filename.startswith("../")
            or (os.name == "nt" and _windows_unsafe(filename))
        ):
            return None
        parts.append(filename)
    return posixpath.join(*parts)


#: Names Windows opens as devices in any folder, with any extension.
_WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"COM{i}" for i in range(1, 10)}
    | {f"LPT{i}" for i in range(1, 10)}
)


def _windows_unsafe(path: str) -> bool:
    """A segment Windows reads as something else: a device name (``CON``,
    ``aux.txt``) or a name ending in a dot or a space (``a.txt.`` is
    ``a.txt``; ``.. `` can act as ``..``)."""
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment[-1] in ". ":
            return True
        if segment.split(".", 1)[0].rstrip(" ").upper() in _WINDOWS_DEVICES:
            return True
    return False


# C0 controls, DEL, and C1 controls: never in a URL a browser is sent to.
_URL_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SCHEME_LIKE = re.compile(r"[^/?#]*:")


def url_is_safe(target: str | None, host: str | t.Iterable[str] | None = None) -> bool:
    """Whether redirecting to ``target`` keeps the user on this site; check a
    ``?next=`` parameter with it before ``redirect``::

        target = request.args.get("next")
        if not url_is_safe(target):
            target = url_for("index")
        return redirect(target)

    Safe: relative URLs (``/account``, ``page?x=1``, ``../up``, ``#top``)
    and ``http``/``https`` URLs whose host is ``host``.  Unsafe:
    protocol-relative URLs (``//evil.example``, ``/\\evil.example``: browsers
    read a backslash as a slash), other schemes (``javascript:``,
    ``data:``), a scheme without its ``//`` (``https:evil.example``), URLs
    with user info (``https://a@evil.example``), leading or trailing
    spaces, any control character (tab, CR, LF, NUL... which browsers drop
    or choke on) anywhere, and the empty string or ``None``.

    :param target: the URL to check.
    :param host: the allowed host (``name[:port]``), or several; by default
        the current request's host, and outside a request no absolute URL is
        safe.

    .. versionadded:: 0.1
    """
    if not isinstance(target, str) or not target:
        return False
    if "%" in target:
        # Judge the target once decoded too: code that decodes it before
        # redirecting (or a second redirect) must not get "//evil" from
        # "%2f%2fevil" or "/%09/evil".
        decoded = unquote(target)
        if decoded != target and not url_is_safe(decoded, host):
            return False
    if _URL_CONTROL.search(target) or target != target.strip():
        return False
    # Browsers treat "\" as "/" in http(s) URLs: judge what they will see.
    url = target.replace("\\", "/")
    if url.startswith("//"):
        return False
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if not parts.scheme and not parts.netloc:
        # A relative reference (defensively: no colon before the first "/",
        # "?" or "#", which some parser could read as a scheme).
        return _SCHEME_LIKE.match(url) is None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.netloc or "@" in parts.netloc:
        return False
    if not url[len(parts.scheme) :].startswith("://"):
        return False
    name = (parts.hostname or "").lower()
    if not name:
        return False
    if host is None:
        ctx = _cv_request.get(None)
        if ctx is None:
            return False
        hosts: t.Iterable[str] = (ctx.request.host,)
    elif isinstance(host, str):
        hosts = (host,)
    else:
        hosts = host
    port = port or _DEFAULT_PORTS[scheme]
    for allowed in hosts:
        try:
            ref = urlsplit(f"//{allowed}")
            ref_port = ref.port
        except ValueError:
            continue
        if (ref.hostname or "").lower() == name and (
            ref_port is None and port == _DEFAULT_PORTS[scheme] or ref_port == port
        ):
            return True
    return False


# -- cross-origin protection ---------------------------------------------------

#: Methods that must not change anything, so are never refused as
#: cross-origin (all others are, ``POST``, ``PUT``, ``PATCH``, ``DELETE``
#: and custom ones alike).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

_EXEMPT = "_erlen_cross_origin_exempt"


def cross_origin_exempt(view: T) -> T:
    """Let cross-origin requests reach ``view``: a webhook, or an API used
    with its own authentication (a token in a header) from other sites.
    Works on a view function, a class-based view class, or a
    :class:`~erlen.Blueprint` (all of its views), in any order with
    ``@app.route``::

        @app.post("/hooks/payment")
        @cross_origin_exempt
        def payment_hook(): ...

    Also available as :func:`csrf_exempt`.

    .. versionadded:: 0.1
    """
    setattr(view, _EXEMPT, True)
    return view


#: Another name for :func:`cross_origin_exempt`.
csrf_exempt = cross_origin_exempt


def _is_exempt(app: Erlen, request: Request) -> bool:
    view = app.view_functions.get(request.endpoint)  # type: ignore[arg-type]
    if getattr(view, _EXEMPT, False):
        return True
    if getattr(getattr(view, "view_class", None), _EXEMPT, False):
        return True
    for name in request.blueprints:
        if getattr(app.blueprints.get(name), _EXEMPT, False):
            return True
    return False


_ORIGIN = re.compile(r"(https?|wss?)://([^/?#@\s]+)", re.ASCII)


def _normalize_origin(origin: str) -> str | None:
    """``scheme://host[:port]``, lowercase, without a default port;
    ``None`` for what is not an origin (``null``, garbage)."""
    match = _ORIGIN.fullmatch(origin.strip().rstrip("/").lower())
    if match is None:
        return None
    scheme, host = match.groups()
    scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    if scheme == "http" and host.endswith(":80"):
        host = host[:-3]
    elif scheme == "https" and host.endswith(":443"):
        host = host[:-4]
    return f"{scheme}://{host}"


_Wildcard = tuple[str, str, str]


def _split_origin(origin: str) -> _Wildcard:
    """``(scheme, host, port)`` of a normalized origin (port may be "")."""
    scheme, _, hostport = origin.partition("://")
    if hostport.startswith("["):
        end = hostport.find("]") + 1
        return scheme, hostport[:end], hostport[end + 1 :]
    host, _, port = hostport.partition(":")
    return scheme, host, port


def _trusted_origins(app: Erlen) -> tuple[frozenset[str], tuple[_Wildcard, ...]]:
    """The normalized ``TRUSTED_ORIGINS``: exact origins, and
    ``(scheme, ".suffix", port)`` for ``scheme://*.suffix`` entries."""
    configured = app.config.get("TRUSTED_ORIGINS") or ()
    if isinstance(configured, str):
        configured = (configured,)
    key = tuple(configured)
    cached = app._trusted_origins_cache
    if cached is not None and cached[0] == key:
        return cached[1]  # type: ignore[no-any-return]
    exact: set[str] = set()
    wildcard: list[_Wildcard] = []
    for entry in key:
        text = str(entry)
        star = "://*." in text
        norm = _normalize_origin(text.replace("://*.", "://", 1))
        if norm is None:
            raise ValueError(
                f"TRUSTED_ORIGINS entry {entry!r} is not an origin. Write the"
                " scheme and host (and port if not the default), without a"
                " path: 'https://example.com', 'http://localhost:5000', or"
                " 'https://*.example.com' for every subdomain."
            )
        if star:
            scheme, host, port = _split_origin(norm)
            wildcard.append((scheme, f".{host}", port))
        else:
            exact.add(norm)
    rv = (frozenset(exact), tuple(wildcard))
    app._trusted_origins_cache = (key, rv)
    return rv


def _origin_is_trusted(app: Erlen, origin: str) -> bool:
    exact, wildcard = _trusted_origins(app)
    if origin in exact:
        return True
    if wildcard:
        scheme, host, port = _split_origin(origin)
        for w_scheme, w_suffix, w_port in wildcard:
            if scheme == w_scheme and port == w_port and host.endswith(w_suffix):
                return True
    return False


def _request_origin(request: Request) -> str:
    scheme = "https" if request.is_secure else "http"
    return f"{scheme}://{request.host.lower()}"


def cross_origin_rejection(app: Erlen, request: Request) -> str | None:
    """Why ``request`` must be refused as cross-origin, or ``None`` to let it
    through.  Called only for unsafe methods and websocket handshakes, when
    ``CROSS_ORIGIN_PROTECTION`` is on and the view is not exempt.

    1. An ``Origin`` in ``TRUSTED_ORIGINS`` is let through.
    2. ``Sec-Fetch-Site`` (sent by every current browser) decides when
       present: ``same-origin`` and ``none`` (typed by the user) pass,
       ``same-site``, ``cross-site`` and anything else are refused.
    3. Otherwise, an ``Origin`` must be this request's own
       (scheme, host and port).
    4. With neither header the request did not come from a browser page on
       another site (curl, API clients, test clients, old browsers'
       same-origin requests): let through.

    .. versionadded:: 0.1
    """
    site = request._header("sec-fetch-site")
    if site:
        site = site.strip().lower()
        if site in ("same-origin", "none"):
            return None
        origin = request._header("origin")
        norm = _normalize_origin(origin) if origin else None
        if norm is not None and _origin_is_trusted(app, norm):
            return None
        return f"Sec-Fetch-Site is '{site}'"
    origin = request._header("origin")
    if origin is None:
        return None
    own = _request_origin(request)
    # PERF: browsers send the origin normalized already (lowercase, no
    # default port): the common case needs no parsing.
    if origin == own:
        return None
    norm = _normalize_origin(origin)
    if norm is not None and (norm == own or _origin_is_trusted(app, norm)):
        return None
    return f"Origin '{origin}' is not this site ({own}) nor in TRUSTED_ORIGINS"


def check_cross_origin(app: Erlen, request: Request) -> str | None:
    """:func:`cross_origin_rejection`, unless the view (or its blueprint) is
    exempt.  The reason is logged."""
    reason = cross_origin_rejection(app, request)
    if reason is None or _is_exempt(app, request):
        return None
    app.logger.warning(
        "Cross-origin request refused (403): %s %s from a page on another"
        " site (%s). To accept it, add the origin to TRUSTED_ORIGINS or mark"
        " the view with @cross_origin_exempt.",
        _escape(request.method),
        _escape(request.path),
        _escape(reason),
    )
    return reason


def _escape(text: str) -> str:
    """``text`` with control and non-ASCII characters escaped, for a log
    line that request data cannot forge or break."""
    return text.encode("unicode_escape").decode("ascii")


# -- security headers ----------------------------------------------------------

#: The headers added to every response unless the response already has
#: them; ``SECURITY_HEADERS`` in the config is merged over these (``None``
#: removes one).  ``Strict-Transport-Security`` is added too, to HTTPS
#: responses only, when ``HSTS_MAX_AGE`` is set.
DEFAULT_SECURITY_HEADERS: t.Mapping[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "SAMEORIGIN",
    "Content-Security-Policy": "frame-ancestors 'self'",
}


class _HeaderSet(t.NamedTuple):
    """Headers to add: lowercase names, ``(lowercase, name, value)`` items,
    and the ``(name, value)`` pairs to append when none is set yet."""

    names: frozenset[str]
    items: tuple[tuple[str, str, str], ...]
    pairs: tuple[tuple[str, str], ...]


def _header_set(items: t.Iterable[tuple[str, str, str]]) -> _HeaderSet:
    items = tuple(items)
    return _HeaderSet(
        frozenset(lower for lower, _, _ in items),
        items,
        tuple((name, value) for _, name, value in items),
    )


class _SecurityHeaders(t.NamedTuple):
    """The built header sets, with the settings they were built from."""

    configured: t.Any
    hsts: t.Any
    include_subdomains: t.Any
    preload: t.Any
    plain: _HeaderSet
    secure: _HeaderSet


def _build_security_headers(
    configured: t.Any, hsts: t.Any, include_subdomains: t.Any, preload: t.Any
) -> _SecurityHeaders:
    if configured is not None and not isinstance(configured, t.Mapping):
        raise TypeError(
            "SECURITY_HEADERS must be a dict of header name to value (None"
            f" removes a default header), not {configured!r}."
        )
    merged: dict[str, tuple[str, str]] = {
        name.lower(): (name, value) for name, value in DEFAULT_SECURITY_HEADERS.items()
    }
    for name, value in (configured or {}).items():
        _check_name(name)
        if value is None:
            merged.pop(name.lower(), None)
        else:
            merged[name.lower()] = (name, check_header_value(name, value))
    plain = [(lower, name, value) for lower, (name, value) in merged.items()]
    secure = list(plain)
    if hsts is not None and "strict-transport-security" not in merged:
        max_age = hsts
        if isinstance(max_age, timedelta):
            max_age = int(max_age.total_seconds())
        if isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0:
            raise ValueError(
                f"HSTS_MAX_AGE must be a number of seconds (int >= 0) or a"
                f" timedelta, or None to send no HSTS header; got {max_age!r}."
            )
        value = f"max-age={max_age}"
        if include_subdomains:
            value += "; includeSubDomains"
        if preload:
            value += "; preload"
        secure.append(("strict-transport-security", "Strict-Transport-Security", value))
    # A copy of the dict, so that a change made to it in place is noticed.
    snapshot = dict(configured) if configured is not None else None
    return _SecurityHeaders(
        snapshot,
        hsts,
        include_subdomains,
        preload,
        _header_set(plain),
        _header_set(secure),
    )


def add_security_headers(app: Erlen, request: Request, response: Response) -> None:
    """Add the app's security headers (``SECURITY_HEADERS`` over
    :data:`DEFAULT_SECURITY_HEADERS`, and HSTS on HTTPS when
    ``HSTS_MAX_AGE`` is set) that ``response`` does not have yet.

    .. versionadded:: 0.1
    """
    config = app.config
    configured = config.get("SECURITY_HEADERS")
    hsts = config.get("HSTS_MAX_AGE")
    built = app._security_headers_cache
    # PERF: the header sets are built once per app (on its first request);
    # each request only compares the two settings that are nearly always
    # unchanged (~0.1 us), so a config change is still seen.
    if (
        built is None
        or built.configured != configured
        or built.hsts != hsts
        or (
            hsts is not None
            and (
                built.include_subdomains != config.get("HSTS_INCLUDE_SUBDOMAINS")
                or built.preload != config.get("HSTS_PRELOAD")
            )
        )
    ):
        built = _build_security_headers(
            configured,
            hsts,
            config.get("HSTS_INCLUDE_SUBDOMAINS"),
            config.get("HSTS_PRELOAD"),
        )
        app._security_headers_cache = built
    headers = built.secure if request.scheme in _SECURE_SCHEMES else built.plain
    target = response.headers
    if isinstance(target, ResponseHeaders):
        # PERF: ResponseHeaders._add_missing's usual case without its call:
        # a fresh response has two or three headers, none of these.
        existing = target._list
        names = headers.names
        for key, _ in existing:
            if key.lower() in names:
                target._add_missing(names, headers.items, headers.pairs)
                break
        else:
            existing.extend(headers.pairs)
    else:
        for _, name, value in headers.items:
            if name not in target:
                target[name] = value


_SECURE_SCHEMES = frozenset({"https", "wss"})


# -- form tokens ---------------------------------------------------------------

_CSRF_SESSION_KEY = "_csrf_token"
_CSRF_SALT = "erlen.csrf-token"
#: The form field and the headers :func:`validate_csrf_token` reads.
CSRF_FIELD_NAME = "csrf_token"
CSRF_HEADER_NAMES = ("X-CSRF-Token", "X-CSRFToken")


def _csrf_serializer(app: Erlen) -> URLSafeTimedSerializer:
    secret = app.secret_key
    if not secret:
        raise RuntimeError(
            "Form tokens are signed with the secret key, and none is set. Set"
            " 'app.secret_key' (the 'SECRET_KEY' config key) to a long random"
            " value, for example the output of:"
            " python -c 'import secrets; print(secrets.token_hex())'"
        )
    fallbacks = tuple(app.config.get("SECRET_KEY_FALLBACKS") or ())
    key = (secret, fallbacks)
    cached = app._csrf_serializer_cache
    if cached is not None and cached[0] == key:
        return t.cast(URLSafeTimedSerializer, cached[1])
    # Verifies with every key, signs with the last (the current one).
    serializer = URLSafeTimedSerializer([*fallbacks, secret], salt=_CSRF_SALT)
    app._csrf_serializer_cache = (key, serializer)
    return serializer


def _request_ctx() -> RequestContext:
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "Form tokens need an active request: call csrf_token() and"
            " validate_csrf_token() in a view or a template it renders."
        )
    return ctx


def csrf_token() -> str:
    """A form token for the current session, signed with the secret key;
    in templates as ``{{ csrf_token() }}``::

        <form method="post">
          <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">

    Only needed for browsers too old to send ``Sec-Fetch-Site`` or
    ``Origin`` (cross-origin protection needs no token otherwise).  Check
    it with :func:`validate_csrf_token` or :func:`csrf_protect`.  It uses
    the session (the random value it signs is kept there).

    .. versionadded:: 0.1
    """
    ctx = _request_ctx()
    request = ctx.request
    if request._csrf_token is not None:
        return request._csrf_token
    session = ctx.session
    raw = session.get(_CSRF_SESSION_KEY)
    if not isinstance(raw, str) or len(raw) < 32:
        raw = secrets.token_hex(32)
        session[_CSRF_SESSION_KEY] = raw
    token: str = _csrf_serializer(ctx.app).dumps(raw)
    request._csrf_token = token
    return token


def validate_csrf_token(
    token: str | None = None, *, max_age: int | timedelta | None = None
) -> bool:
    """Whether ``token`` is a valid form token of the current session.

    :param token: the token; by default the ``csrf_token`` form field, else
        the ``X-CSRF-Token`` (or ``X-CSRFToken``) header.
    :param max_age: refuse tokens older than this many seconds; by default
        a token is valid as long as its session.

    Compared in constant time.  A token signed with a key in
    ``SECRET_KEY_FALLBACKS`` is still valid.

    .. versionadded:: 0.1
    """
    ctx = _request_ctx()
    request = ctx.request
    if token is None:
        token = request.form.get(CSRF_FIELD_NAME)
        if not token:
            for name in CSRF_HEADER_NAMES:
                token = request.headers.get(name)
                if token:
                    break
    if not token or not isinstance(token, str):
        return False
    raw = ctx.session.get(_CSRF_SESSION_KEY)
    if not isinstance(raw, str):
        return False
    if isinstance(max_age, timedelta):
        max_age = int(max_age.total_seconds())
    try:
        value = _csrf_serializer(ctx.app).loads(token, max_age=max_age)
    except (BadData, UnicodeError, ValueError, TypeError):
        return False
    if not isinstance(value, str):
        return False
    return hmac.compare_digest(value.encode(), raw.encode())


def csrf_protect(view: F) -> F:
    """Require a valid form token (:func:`validate_csrf_token`) for the
    view's unsafe requests (``POST``, ``PUT``, ``PATCH``, ``DELETE``...);
    without one the request ends with a 403 before the view runs::

        @app.route("/transfer", methods=["GET", "POST"])
        @csrf_protect
        def transfer(): ...

    .. versionadded:: 0.1
    """
    from .concurrency import is_async_callable
    from .exceptions import Forbidden

    def check() -> None:
        request = _request_ctx().request
        if request.method not in SAFE_METHODS and not validate_csrf_token():
            raise Forbidden(
                "The form's security token is missing, invalid or expired."
                " Reload the page and submit the form again."
            )

    if is_async_callable(view):

        @functools.wraps(view)
        async def async_wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
            check()
            return await view(*args, **kwargs)

        return t.cast(F, async_wrapper)

    @functools.wraps(view)
    def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        check()
        return view(*args, **kwargs)

    return t.cast(F, wrapper)
