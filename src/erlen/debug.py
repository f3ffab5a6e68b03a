"""The debug page: what went wrong in a request, shown to the developer.

In debug mode (or testing) Erlen lets an exception that no error handler
took propagate out of ``app.asgi`` and ``app.wsgi_app`` (see
``PROPAGATE_EXCEPTIONS``).  The development server wraps the app in
:class:`DebugMiddleware`, which turns such an exception into a 500 page
showing the exception, every frame with its source and local variables, the
request and the app's config.  :class:`DebugWSGIMiddleware` does the same
for a WSGI server.

The page is read-only: it runs no code, everything on it is HTML-escaped,
and config values whose keys look secret are masked.  It is a development
tool all the same: never serve an app with debug on where others can reach
it.  With debug off, the middleware answers with a 500 page that says
nothing about the error.
"""

from __future__ import annotations

import html
import io
import linecache
import os
import re
import reprlib
import sys
import sysconfig
import traceback
import typing as t
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote

if t.TYPE_CHECKING:
    from .app import Erlen

__all__ = [
    "DebugMiddleware",
    "DebugWSGIMiddleware",
    "FrameInfo",
    "RequestInfo",
    "extract_frames",
    "is_library_file",
    "is_secret_name",
    "render_debug_page",
    "render_error_page",
    "wants_html",
]

Scope = dict[str, t.Any]
Message = dict[str, t.Any]
Receive = t.Callable[[], t.Awaitable[Message]]
Send = t.Callable[[Message], t.Awaitable[None]]
ASGIApp = t.Callable[[Scope, Receive, Send], t.Awaitable[None]]
WSGIApp = t.Callable[[dict[str, t.Any], t.Callable[..., t.Any]], t.Iterable[bytes]]

#: Config keys (and header names) containing one of these words have their
#: values masked on the page.
SECRET_WORDS = ("SECRET", "KEY", "TOKEN", "PASS", "COOKIE", "AUTH")
#: Values of config keys with these words are masked wherever they appear
#: on the page (in a local's repr, a message...), not only in the config.
_SECRET_VALUE_WORDS = ("SECRET", "KEY", "TOKEN", "PASS")
#: What a masked value is shown as.
MASK = "***"
#: Source lines shown above and below each frame's current line.
CONTEXT_LINES = 5
#: The longest repr shown for a local variable or config value.
REPR_LIMIT = 300
#: Bytes of the request body kept to list the form's keys.
BODY_LIMIT = 1024 * 1024

_repr = reprlib.Repr()
_repr.maxlevel = 3
_repr.maxdict = _repr.maxlist = _repr.maxtuple = _repr.maxset = 12
_repr.maxfrozenset = _repr.maxdeque = _repr.maxarray = 12
# Long reprs are cut at the end by safe_repr; reprlib's own cut (in the
# middle) only bounds the work for huge values.
_repr.maxstring = _repr.maxother = _repr.maxlong = REPR_LIMIT * 10

_ERLEN_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def is_secret_name(name: str) -> bool:
    """Whether a config key or header name looks like it holds a secret
    (contains SECRET, KEY, TOKEN, PASS, COOKIE or AUTH)."""
    upper = name.upper()
    return any(word in upper for word in SECRET_WORDS)


def _library_dirs() -> tuple[str, ...]:
    dirs = {_ERLEN_DIR}
    for name in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(name)
        if path:
            dirs.add(os.path.abspath(path) + os.sep)
    return tuple(sorted(dirs))


_LIBRARY_DIRS = _library_dirs()


def is_library_file(filename: str) -> bool:
    """Whether ``filename`` is library code rather than the user's: Erlen's
    own package, the standard library, installed packages (``site-packages``)
    or frozen modules."""
    if not filename or filename.startswith("<"):
        return True
    path = os.path.abspath(filename)
    parts = path.split(os.sep)
    if "site-packages" in parts or "dist-packages" in parts:
        return True
    return path.startswith(_LIBRARY_DIRS)


def wants_html(accept: str | None) -> bool:
    """Whether an ``Accept`` header explicitly asks for HTML.  ``*/*`` alone
    (curl, scripts) gets plain text."""
    if not accept:
        return False
    for part in accept.split(","):
        media, _, params = part.partition(";")
        if media.strip().lower() not in ("text/html", "application/xhtml+xml"):
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            return True
    return False


# -- what the page shows ------------------------------------------------------


@dataclass
class RequestInfo:
    """The request an exception happened in, as the debug page shows it.

    Build it with :meth:`from_scope` or :meth:`from_environ`; header values
    are kept as sent and masked when the page is rendered.
    """

    #: The HTTP method.
    method: str
    #: The full URL.
    url: str
    #: The headers as ``(name, value)`` pairs.
    headers: list[tuple[str, str]] = field(default_factory=list)
    #: The query string's keys, in order, without repeats.
    query_keys: list[str] = field(default_factory=list)
    #: The form's keys (fields and files), in order, without repeats.
    form_keys: list[str] = field(default_factory=list)
    #: Why the form keys may be incomplete, if they may be.
    note: str | None = None

    @classmethod
    def from_scope(
        cls, scope: Scope, body: bytes = b"", truncated: bool = False
    ) -> RequestInfo:
        """The request of an ASGI HTTP ``scope`` whose body was ``body``."""
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope.get("headers") or ()
        ]
        host = _first(headers, "host")
        if host is None:
            server = scope.get("server")
            host = f"{server[0]}:{server[1]}" if server else "localhost"
        path = quote(scope.get("path") or "/", safe="/%:@&=+$,;~!*'()")
        query = bytes(scope.get("query_string") or b"").decode("latin-1")
        url = f"{scope.get('scheme', 'http')}://{host}{path}"
        return cls._build(
            scope.get("method", "GET"), url, query, headers, body, truncated
        )

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, t.Any], body: bytes = b"", truncated: bool = False
    ) -> RequestInfo:
        """The request of a WSGI ``environ`` whose body was ``body``."""
        headers: list[tuple[str, str]] = []
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                headers.append((key[5:].replace("_", "-").title(), str(value)))
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
                headers.append((key.replace("_", "-").title(), str(value)))
        host = environ.get("HTTP_HOST")
        if not host:
            host = f"{environ.get('SERVER_NAME', 'localhost')}:" + str(
                environ.get("SERVER_PORT", "80")
            )
        script = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        path = quote(script.encode("latin-1").decode("utf-8", "replace") or "/")
        url = f"{environ.get('wsgi.url_scheme', 'http')}://{host}{path}"
        return cls._build(
            environ.get("REQUEST_METHOD", "GET"),
            url,
            environ.get("QUERY_STRING", ""),
            headers,
            body,
            truncated,
        )

    @classmethod
    def _build(
        cls,
        method: str,
        url: str,
        query: str,
        headers: list[tuple[str, str]],
        body: bytes,
        truncated: bool,
    ) -> RequestInfo:
        if query:
            url = f"{url}?{query}"
        query_keys = _unique(k for k, _ in parse_qsl(query, keep_blank_values=True))
        note = None
        form_keys: list[str] = []
        content_type = _first(headers, "content-type") or ""
        mimetype = content_type.partition(";")[0].strip().lower()
        if mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            if truncated:
                note = (
                    f"The body is larger than {BODY_LIMIT} bytes; the form keys"
                    " are not listed."
                )
            else:
                try:
                    form_keys = _form_keys(mimetype, content_type, body)
                except Exception as e:
                    note = f"The form could not be parsed: {type(e).__name__}: {e}"
        return cls(method, url, headers, query_keys, form_keys, note)


def _first(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _form_keys(mimetype: str, content_type: str, body: bytes) -> list[str]:
    if mimetype == "application/x-www-form-urlencoded":
        text = body.decode("utf-8", "replace")
        return _unique(k for k, _ in parse_qsl(text, keep_blank_values=True))
    from werkzeug.formparser import FormDataParser
    from werkzeug.http import parse_options_header

    _, options = parse_options_header(content_type)
    _, form, files = FormDataParser(max_form_parts=1000).parse(
        io.BytesIO(body), mimetype, len(body), options
    )
    try:
        return _unique([*form.keys(), *(f"{name} (file)" for name in files.keys())])
    finally:
        for _, upload in files.items(multi=True):
            upload.close()


@dataclass
class FrameInfo:
    """One frame of a traceback, as the debug page shows it."""

    #: The source file.
    filename: str
    #: The line being run.
    lineno: int
    #: The function's qualified name.
    function: str
    #: ``False`` for Erlen's, the standard library's and installed packages'
    #: code (see :func:`is_library_file`).
    is_user: bool
    #: ``(line number, source line)`` around :attr:`lineno`.
    context: list[tuple[int, str]]
    #: ``(name, truncated repr)`` of the frame's local variables.
    locals: list[tuple[str, str]]


def safe_repr(value: t.Any, limit: int = REPR_LIMIT) -> str:
    """``repr(value)``, truncated to ``limit`` characters; a failing
    ``__repr__`` is reported instead of raised."""
    from .config import Config

    if isinstance(value, Config):
        return f"<Config: {len(value)} keys, see Config below>"
    try:
        text = _repr.repr(value)
    except Exception as e:
        return f"<repr of {type(value).__name__} object failed: {type(e).__name__}>"
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _source_context(
    filename: str, lineno: int, module_globals: dict[str, t.Any] | None = None
) -> list[tuple[int, str]]:
    linecache.checkcache(filename)
    lines = linecache.getlines(filename, module_globals)
    if not lines or lineno < 1:
        return []
    start = max(lineno - 1 - CONTEXT_LINES, 0)
    end = min(lineno + CONTEXT_LINES, len(lines))
    return [(i + 1, lines[i].rstrip("\r\n")) for i in range(start, end)]


def extract_frames(exc: BaseException) -> list[FrameInfo]:
    """The frames of ``exc``'s traceback, outermost first, with source
    context and local variables.  A :class:`SyntaxError` also gets a frame
    for the line it points at."""
    frames: list[FrameInfo] = []
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        code = frame.f_code
        filename = code.co_filename
        variables = [(name, safe_repr(value)) for name, value in frame.f_locals.items()]
        frames.append(
            FrameInfo(
                filename=filename,
                lineno=lineno,
                function=getattr(code, "co_qualname", code.co_name),
                is_user=not is_library_file(filename),
                context=_source_context(filename, lineno, frame.f_globals),
                locals=variables,
            )
        )
    if isinstance(exc, SyntaxError) and exc.filename and exc.lineno:
        frames.append(
            FrameInfo(
                filename=exc.filename,
                lineno=exc.lineno,
                function="<module>",
                is_user=not is_library_file(exc.filename),
                context=_source_context(exc.filename, exc.lineno),
                locals=[],
            )
        )
    return frames


_CAUSE = "The above exception was the direct cause of the following exception:"
_CONTEXT = "During handling of the above exception, another exception occurred:"


def _exception_chain(exc: BaseException) -> list[tuple[BaseException, str | None]]:
    """``exc`` and the exceptions it was raised from or while handling,
    oldest first; each with the sentence that links it to the one before."""
    chain: list[tuple[BaseException, str | None]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link: str | None = None
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            link = _CAUSE
            current = current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            link = _CONTEXT
            current = current.__context__
        else:
            current = None
    # ``chain`` goes newest to oldest, each with the link to its successor;
    # reverse it and move each link to the exception it introduces.
    links = [item_link for _, item_link in chain]
    excs = [item for item, _ in chain]
    return list(zip(reversed(excs), [None, *reversed(links[1:])], strict=True))


def _exc_name(exc: BaseException) -> str:
    cls = type(exc)
    if cls.__module__ in ("builtins", "__main__"):
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _exc_message(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception as e:
        return f"<str() of the exception failed: {type(e).__name__}>"


class _Redactor:
    """Replaces known secret values (secret config values, cookie values,
    credentials) of 8 characters or more wherever they appear on the page,
    e.g. in a local's repr."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # Short values would mangle unrelated text; those are masked only
        # where they are shown under their own key.
        found = sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, found))) if found else None

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)

    @classmethod
    def build(
        cls, config: Mapping[str, t.Any] | None, request: RequestInfo | None
    ) -> _Redactor:
        secrets: list[str] = []

        def add(value: t.Any) -> None:
            if isinstance(value, str):
                secrets.append(value)
            elif isinstance(value, bytes | bytearray):
                secrets.append(bytes(value).decode("latin-1"))
                secrets.append(repr(bytes(value))[2:-1])
            elif isinstance(value, list | tuple | set | frozenset):
                for item in value:
                    add(item)

        for key, value in (config or {}).items():
            # Not COOKIE or AUTH keys: their values (a cookie's name, an
            # auth URL) are masked in the config table but are no secrets.
            if any(word in str(key).upper() for word in _SECRET_VALUE_WORDS):
                add(value)
        for name, value in request.headers if request is not None else ():
            if not is_secret_name(name):
                continue
            add(value)
            lowered = name.lower()
            if lowered == "cookie":
                for pair in value.split(";"):
                    add(pair.partition("=")[2].strip())
            elif lowered in ("authorization", "proxy-authorization"):
                add(value.partition(" ")[2].strip())
        return cls(secrets)


def _masked_header(name: str, value: str) -> str:
    if not is_secret_name(name):
        return value
    if name.lower() == "cookie":
        names = [pair.partition("=")[0].strip() for pair in value.split(";")]
        return "; ".join(f"{n}={MASK}" for n in names if n)
    return MASK


def _config_rows(config: Mapping[str, t.Any]) -> list[tuple[str, str]]:
    rows = []
    for key in sorted(config, key=str):
        value = config[key]
        if is_secret_name(str(key)) and value is not None:
            rows.append((str(key), MASK))
        else:
            rows.append((str(key), safe_repr(value)))
    return rows


# -- rendering ----------------------------------------------------------------


def render_debug_page(
    exc: BaseException,
    request_info: RequestInfo | None,
    config: Mapping[str, t.Any] | None,
    as_html: bool = True,
    *,
    title: str | None = None,
) -> str:
    """The debug page for ``exc``: the exception, every frame with its
    source and locals, the request and the config (secrets masked).

    :param exc: the exception, with its traceback.
    :param request_info: the request it happened in, if any.
    :param config: the app's config, if known.
    :param as_html: an HTML page (everything escaped) or plain text.
    :param title: a sentence shown above the exception, e.g. "The app
        failed to load".
    """
    redact = _Redactor.build(config, request_info)
    chain = [(item, link, extract_frames(item)) for item, link in _exception_chain(exc)]
    render = _render_html if as_html else _render_text
    return render(exc, chain, request_info, config, redact, title)


_Chain = list[tuple[BaseException, str | None, list[FrameInfo]]]


def _render_text(
    exc: BaseException,
    chain: _Chain,
    request: RequestInfo | None,
    config: Mapping[str, t.Any] | None,
    redact: _Redactor,
    title: str | None,
) -> str:
    out: list[str] = []
    if title:
        out += [title, ""]
    out += [redact(f"{_exc_name(exc)}: {_exc_message(exc)}"), ""]
    for item, link, frames in chain:
        if link:
            out += [link, ""]
        out.append("Traceback (most recent call last):")
        for frame in frames:
            kind = "" if frame.is_user else "  [library]"
            out.append(
                redact(
                    f'  File "{frame.filename}", line {frame.lineno},'
                    f" in {frame.function}{kind}"
                )
            )
            for number, line in frame.context:
                marker = ">" if number == frame.lineno else " "
                out.append(redact(f"   {marker}{number:5d}  {line}"))
            for name, value in frame.locals:
                out.append(redact(f"        {name} = {value}"))
        out += [redact(f"{_exc_name(item)}: {_exc_message(item)}"), ""]
    if request is not None:
        out += ["Request:", f"  {request.method} {redact(request.url)}"]
        out += ["  Headers:"]
        for name, value in request.headers:
            out.append(redact(f"    {name}: {_masked_header(name, value)}"))
        out.append(redact("  Query keys: " + (", ".join(request.query_keys) or "-")))
        out.append(redact("  Form keys: " + (", ".join(request.form_keys) or "-")))
        if request.note:
            out.append(f"  ({request.note})")
        out.append("")
    if config is not None:
        out.append("Config:")
        for key, value in _config_rows(config):
            out.append(redact(f"  {key} = {value}"))
        out.append("")
    out.append(
        "This page is shown because debug mode is on. Never run an app with"
        " debug on where others can reach it."
    )
    return "\n".join(out) + "\n"


_CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header{background:#8b1e1e;color:#fff;padding:1.2em 2em}
header h1{margin:0;font-size:1.5em}
header pre{margin:.5em 0 0;white-space:pre-wrap;font-size:1.05em}
header p{margin:0 0 .4em;opacity:.85}
main{padding:1em 2em 3em}
h2{font-size:1.15em;margin:1.6em 0 .6em}
pre,code,td{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}
details.frame{border:1px solid #ddd;border-radius:4px;margin:.4em 0;
 background:#fff}
details.frame>summary{padding:.35em .7em;cursor:pointer}
details.library>summary{color:#777}
details.user>summary{border-left:4px solid #8b1e1e}
.tag{font-size:11px;padding:0 .4em;border-radius:3px;background:#eee;color:#555}
.user .tag{background:#8b1e1e;color:#fff}
pre.source{margin:0;padding:.4em 0;background:#f6f6f6;overflow-x:auto}
pre.source span{display:block;padding:0 .8em;white-space:pre}
pre.source span.current{background:#ffe0e0;font-weight:bold}
table{border-collapse:collapse;margin:.3em 0 .8em}
td,th{text-align:left;vertical-align:top;padding:.15em .8em .15em 0}
td{white-space:pre-wrap;word-break:break-all}
th{font-weight:600}
table.locals{margin:.3em .8em .8em}
p.link{font-style:italic;color:#555}
p.exc{font-family:ui-monospace,Menlo,Consolas,monospace;font-weight:bold;
 white-space:pre-wrap}
footer{color:#777;font-size:13px;margin-top:2em}
"""


def _render_html(
    exc: BaseException,
    chain: _Chain,
    request: RequestInfo | None,
    config: Mapping[str, t.Any] | None,
    redact: _Redactor,
    title: str | None,
) -> str:
    def e(text: t.Any) -> str:
        return html.escape(redact(str(text)), quote=True)

    out: list[str] = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(_exc_name(exc))} // Erlen debug page</title>",
        f"<style>{_CSS}</style></head><body>",
        "<header>",
    ]
    if title:
        out.append(f"<p>{e(title)}</p>")
    out.append(f"<h1>{e(_exc_name(exc))}</h1>")
    out.append(f"<pre>{e(_exc_message(exc))}</pre>")
    if request is not None:
        out.append(f"<p>{e(request.method)} {e(request.url)}</p>")
    out.append("</header><main>")
    for item, link, frames in chain:
        if link:
            out.append(f'<p class="link">{e(link)}</p>')
        out.append("<h2>Traceback <small>(most recent call last)</small></h2>")
        for frame in frames:
            kind = "user" if frame.is_user else "library"
            tag = "your code" if frame.is_user else "library"
            out.append(
                f'<details class="frame {kind}"{" open" if frame.is_user else ""}>'
            )
            out.append(
                f"<summary><code>{e(frame.filename)}</code>, line {frame.lineno},"
                f" in <code>{e(frame.function)}</code>"
                f' <span class="tag">{tag}</span></summary>'
            )
            if frame.context:
                out.append('<pre class="source">')
                for number, line in frame.context:
                    current = ' class="current"' if number == frame.lineno else ""
                    out.append(f"<span{current}>{number:5d}  {e(line)}</span>")
                out.append("</pre>")
            if frame.locals:
                out.append('<table class="locals">')
                for name, value in frame.locals:
                    out.append(f"<tr><th>{e(name)}</th><td>{e(value)}</td></tr>")
                out.append("</table>")
            out.append("</details>")
        out.append(f'<p class="exc">{e(_exc_name(item))}: {e(_exc_message(item))}</p>')
    if request is not None:
        out.append("<h2>Request</h2><table>")
        out.append(f"<tr><th>Method</th><td>{e(request.method)}</td></tr>")
        out.append(f"<tr><th>URL</th><td>{e(request.url)}</td></tr>")
        out.append(
            f"<tr><th>Query keys</th><td>{e(', '.join(request.query_keys) or '-')}"
            "</td></tr>"
        )
        out.append(
            f"<tr><th>Form keys</th><td>{e(', '.join(request.form_keys) or '-')}"
            "</td></tr>"
        )
        if request.note:
            out.append(f"<tr><th></th><td>{e(request.note)}</td></tr>")
        out.append("</table><h3>Headers</h3><table>")
        for name, value in request.headers:
            masked = _masked_header(name, value)
            out.append(f"<tr><th>{e(name)}</th><td>{e(masked)}</td></tr>")
        out.append("</table>")
    if config is not None:
        out.append("<h2>Config</h2><table>")
        for key, value in _config_rows(config):
            out.append(f"<tr><th>{e(key)}</th><td>{e(value)}</td></tr>")
        out.append("</table>")
    out.append(
        "<footer>This page is shown because debug mode is on. It runs no code;"
        " never run an app with debug on where others can reach it.</footer>"
    )
    out.append("</main></body></html>")
    return "\n".join(out) + "\n"


def render_error_page(as_html: bool = True) -> str:
    """The 500 page shown when debug mode is off: it says nothing about the
    error."""
    text = (
        "The server encountered an internal error and was unable to complete"
        " your request. Either the server is overloaded or there is an error in"
        " the application."
    )
    if not as_html:
        return f"Internal Server Error\n\n{text}\n"
    return (
        "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n"
        f"<h1>Internal Server Error</h1>\n<p>{text}</p>\n"
    )


def _page_headers(body: bytes, as_html: bool) -> list[tuple[bytes, bytes]]:
    kind = b"text/html" if as_html else b"text/plain"
    return [
        (b"content-type", kind + b"; charset=utf-8"),
        (b"content-length", str(len(body)).encode("ascii")),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
        # No script may run on the page, whatever it shows.
        (
            b"content-security-policy",
            b"default-src 'none'; style-src 'unsafe-inline'",
        ),
    ]


class _PageMaker:
    """What both middlewares share: decide, log, and render the 500 page."""

    def __init__(self, app: Erlen, force: bool) -> None:
        self.erlen_app = app
        self.force = force

    def page(
        self, exc: Exception, info: RequestInfo, accept: str | None
    ) -> tuple[bytes, bool]:
        app = self.erlen_app
        app.logger.error("Exception on %s [%s]", info.url, info.method, exc_info=exc)
        as_html = wants_html(accept)
        if self.force or app.debug:
            text = render_debug_page(exc, info, app.config, as_html)
        else:
            text = render_error_page(as_html)
        return text.encode("utf-8"), as_html


def _drop_own_frame(error: BaseException) -> None:
    """Start the traceback below the middleware's own frame, which caught
    it; the exception is not raised again."""
    tb = error.__traceback__
    if tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        error.__traceback__ = tb.tb_next


class DebugMiddleware:
    """ASGI middleware that turns an exception escaping ``app`` before the
    response started into the debug page (a 500).

    The development server wraps ``app.asgi`` in it when debug mode is on::

        asgi_app = DebugMiddleware(app.asgi, app)

    The exception's traceback is also logged to the app's logger (the
    terminal).  If the app's debug mode is off when a request fails, the
    page says nothing about the error, unless ``force`` is true.

    :param asgi_app: the ASGI application to wrap, usually ``app.asgi``.
    :param app: the :class:`~erlen.Erlen` app, for its config and logger.
    :param force: show the details even when ``app.debug`` is false.
    """

    def __init__(self, asgi_app: ASGIApp, app: Erlen, *, force: bool = False) -> None:
        self.asgi_app = asgi_app
        self.app = app
        self._pages = _PageMaker(app, force)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.asgi_app(scope, receive, send)
            return
        body = bytearray()
        truncated = False
        started = False

        async def recording_receive() -> Message:
            nonlocal truncated
            message = await receive()
            if message.get("type") == "http.request":
                chunk = message.get("body") or b""
                if len(body) + len(chunk) > BODY_LIMIT:
                    truncated = True
                else:
                    body.extend(chunk)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message.get("type") == "http.response.start":
                started = True
            await send(message)

        try:
            await self.asgi_app(scope, recording_receive, tracking_send)
        except Exception as e:
            if started:
                # Too late for a page: the server logs it and drops the
                # connection.
                raise
            _drop_own_frame(e)
            info = RequestInfo.from_scope(scope, bytes(body), truncated)
            accept = _first(info.headers, "accept")
            page, as_html = self._pages.page(e, info, accept)
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": _page_headers(page, as_html),
                }
            )
            if scope.get("method") == "HEAD":
                page = b""
            await send({"type": "http.response.body", "body": page})


class _RecordingInput:
    """A WSGI input stream that keeps a copy of what is read from it."""

    def __init__(self, stream: t.Any) -> None:
        self._stream = stream
        self.data = bytearray()
        self.truncated = False

    def _keep(self, chunk: bytes) -> bytes:
        if len(self.data) + len(chunk) > BODY_LIMIT:
            self.truncated = True
        elif not self.truncated:
            self.data.extend(chunk)
        return chunk

    def read(self, size: int | None = -1) -> bytes:
        return self._keep(self._stream.read(size if size is not None else -1))

    def readline(self, size: int | None = -1) -> bytes:
        return self._keep(self._stream.readline(size if size is not None else -1))

    def readlines(self, hint: int = -1) -> list[bytes]:
        return [self._keep(line) for line in self._stream.readlines(hint)]

    def __iter__(self) -> t.Iterator[bytes]:
        for line in self._stream:
            yield self._keep(line)

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self._stream, name)

    def drain(self, length: int | None) -> None:
        """Read what the app left of the body (up to the limit), so the page
        can list the form's keys."""
        remaining = None if length is None else length - len(self.data)
        if remaining is None or remaining <= 0 or self.truncated:
            return
        self.read(min(remaining, BODY_LIMIT + 1))


class DebugWSGIMiddleware:
    """WSGI middleware that turns an exception raised by ``wsgi_app`` into the
    debug page (a 500); the WSGI twin of :class:`DebugMiddleware`::

        app.wsgi_app = DebugWSGIMiddleware(app.wsgi_app, app)

    An exception raised while the response body is being iterated (a
    streamed response) is not caught: its headers are already sent.

    :param wsgi_app: the WSGI application to wrap, usually ``app.wsgi_app``.
    :param app: the :class:`~erlen.Erlen` app, for its config and logger.
    :param force: show the details even when ``app.debug`` is false.
    """

    def __init__(self, wsgi_app: WSGIApp, app: Erlen, *, force: bool = False) -> None:
        self.wsgi_app = wsgi_app
        self.app = app
        self._pages = _PageMaker(app, force)

    def __call__(
        self, environ: dict[str, t.Any], start_response: t.Callable[..., t.Any]
    ) -> t.Iterable[bytes]:
        recorder = None
        if environ.get("wsgi.input") is not None:
            recorder = _RecordingInput(environ["wsgi.input"])
            environ["wsgi.input"] = recorder
        try:
            return self.wsgi_app(environ, start_response)
        except Exception as e:
            _drop_own_frame(e)
            body = b""
            truncated = False
            if recorder is not None:
                length = environ.get("CONTENT_LENGTH")
                try:
                    recorder.drain(int(length) if length else None)
                except Exception:
                    pass  # a broken body must not hide the real error
                body, truncated = bytes(recorder.data), recorder.truncated
            info = RequestInfo.from_environ(environ, body, truncated)
            page, as_html = self._pages.page(e, info, environ.get("HTTP_ACCEPT"))
            headers = [
                (k.decode("latin-1"), v.decode("latin-1"))
                for k, v in _page_headers(page, as_html)
            ]
            start_response("500 INTERNAL SERVER ERROR", headers, sys.exc_info())
            if environ.get("REQUEST_METHOD") == "HEAD":
                return [b""]
            return [page]
