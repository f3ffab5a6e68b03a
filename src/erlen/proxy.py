"""Trusting ``X-Forwarded-*`` headers from a known number of proxies.

Behind a reverse proxy (nginx, a load balancer) the server sees the proxy's
address and the scheme and host the proxy used, not the client's.  The proxy
reports the originals in ``X-Forwarded-For``, ``-Proto``, ``-Host``,
``-Port`` and ``-Prefix``; but a client can send those headers too, so they
are believed only as far as the app is told how many proxies set them::

    app.config["PROXY_FIX"] = {"x_for": 1, "x_proto": 1}

Each count is the number of proxies in front of the app that set that
header.  Each proxy *appends* to ``X-Forwarded-For``, so the value of the
N-th hop is the N-th from the **right**; anything further left was sent by
the client and is ignored.  With a count of ``0`` (or the header missing,
or fewer values than hops) the header is ignored.  With ``PROXY_FIX`` unset
(the default) every ``X-Forwarded-*`` header is ignored.

Both drivers call :func:`apply_proxy_fix` as they build the request, so
``request.remote_addr``, ``scheme``, ``host`` and ``root_path`` (and what
depends on them: ``url``, ``is_secure``, ``url_for(_external=True)``,
``TRUSTED_HOSTS``, the ``Secure`` session cookie, cross-origin checks)
reflect the trusted hops.  ``request.headers`` still holds what arrived.
"""

from __future__ import annotations

import re
import typing as t
from urllib.parse import unquote

if t.TYPE_CHECKING:
    from .wrappers import Request

__all__ = ["PROXY_FIX_KEYS", "apply_proxy_fix"]

#: The keys ``PROXY_FIX`` accepts, each the number of proxies that set the
#: header of the same name.
PROXY_FIX_KEYS = ("x_for", "x_proto", "x_host", "x_port", "x_prefix")

# What a forwarded host may look like: a name or IPv4 address, or an IPv6
# literal, with an optional port.  Anything else is ignored.
_HOST = re.compile(r"(?:[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")

_Hops = tuple[int, int, int, int, int]
_checked: tuple[t.Any, _Hops] | None = None


def _hops(settings: t.Any) -> _Hops:
    """The five counts of ``PROXY_FIX``, validated."""
    global _checked
    if not isinstance(settings, dict):
        raise TypeError(
            "PROXY_FIX must be a dict of hop counts such as"
            ' {"x_for": 1, "x_proto": 1}, or None to ignore X-Forwarded-*'
            f" headers; got {settings!r}."
        )
    # PERF: validated once while the settings stay the same.
    key = tuple(settings.items())
    cached = _checked
    if cached is not None and cached[0] == key:
        return cached[1]
    unknown = [k for k in settings if k not in PROXY_FIX_KEYS]
    if unknown:
        raise ValueError(
            f"Unknown PROXY_FIX keys {unknown}: the keys are"
            f" {', '.join(PROXY_FIX_KEYS)}, each the number of proxies that"
            " set the X-Forwarded header of that name."
        )
    counts = []
    for name in PROXY_FIX_KEYS:
        value = settings.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(
                f"PROXY_FIX[{name!r}] must be the number of proxies (an int >= 0)"
                f" that set the header, not {value!r}."
            )
        counts.append(value)
    hops = (counts[0], counts[1], counts[2], counts[3], counts[4])
    _checked = (key, hops)
    return hops


def _trusted_value(request: Request, header: str, hops: int) -> str | None:
    """The value the ``hops``-th proxy from the app set, or ``None``."""
    if not hops:
        return None
    raw = request._header(header)
    if not raw:
        return None
    values = [v.strip() for v in raw.split(",")]
    if len(values) < hops:
        return None
    return values[-hops] or None


def apply_proxy_fix(request: Request, settings: t.Any) -> None:
    """Set ``request``'s client address, scheme, host and root path from the
    ``X-Forwarded-*`` headers its trusted proxies set.

    :param request: a request just built by a driver.
    :param settings: the ``PROXY_FIX`` dict of hop counts.
    :raises ValueError: ``settings`` has an unknown key or a count that is
        not an ``int >= 0``.

    .. versionadded:: 0.1
    """
    from .wrappers import _strip_default_port

    x_for, x_proto, x_host, x_port, x_prefix = _hops(settings)
    addr = _trusted_value(request, "x-forwarded-for", x_for)
    if addr is not None:
        request.remote_addr = addr
    proto = _trusted_value(request, "x-forwarded-proto", x_proto)
    if proto is not None:
        proto = proto.lower()
        if proto in ("http", "https"):
            if request.is_websocket:
                proto = "wss" if proto == "https" else "ws"
            request.scheme = proto
    host = _trusted_value(request, "x-forwarded-host", x_host)
    port = _trusted_value(request, "x-forwarded-port", x_port)
    if host is not None and not _HOST.fullmatch(host):
        host = None
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        port = None
    if host is not None or port is not None or proto is not None:
        if host is None:
            host = request._header("host")
            if not host and request.server is not None:
                name, server_port = request.server
                host = name if server_port is None else f"{name}:{server_port}"
            host = host or ""
        if port is not None:
            if host.startswith("["):
                name = host[: host.find("]") + 1]
            else:
                name = host.partition(":")[0]
            host = f"{name}:{port}"
        request.__dict__["host"] = _strip_default_port(host, request.scheme)
    prefix = _trusted_value(request, "x-forwarded-prefix", x_prefix)
    if prefix is not None:
        prefix = unquote(prefix).rstrip("/")
        if not prefix or prefix.startswith("/"):
            request.root_path = prefix
