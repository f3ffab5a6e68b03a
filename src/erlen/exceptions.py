"""HTTP exceptions that render themselves.

Raise one from a view (or call :func:`abort`) to end the request with that
status.  Each class renders a small HTML page, or a JSON object when the
client prefers JSON, and can be turned into a :class:`~erlen.Response` with
:meth:`HTTPException.get_response`.  The names match ``werkzeug.exceptions``
so ported code only changes its import.
"""

from __future__ import annotations

import typing as t

from markupsafe import escape

# Imported by wrappers too: its attributes are read when called.
from . import wrappers

if t.TYPE_CHECKING:
    from .wrappers import Request, Response

__all__ = [
    "HTTPException",
    "BadRequest",
    "BadRequestKeyError",
    "SecurityError",
    "BadHost",
    "Unauthorized",
    "PaymentRequired",
    "Forbidden",
    "NotFound",
    "MethodNotAllowed",
    "NotAcceptable",
    "RequestTimeout",
    "Conflict",
    "Gone",
    "LengthRequired",
    "PreconditionFailed",
    "RequestEntityTooLarge",
    "RequestURITooLarge",
    "UnsupportedMediaType",
    "RequestedRangeNotSatisfiable",
    "ExpectationFailed",
    "ImATeapot",
    "MisdirectedRequest",
    "UnprocessableEntity",
    "Locked",
    "FailedDependency",
    "PreconditionRequired",
    "TooManyRequests",
    "RequestHeaderFieldsTooLarge",
    "UnavailableForLegalReasons",
    "InternalServerError",
    "NotImplemented",
    "BadGateway",
    "ServiceUnavailable",
    "GatewayTimeout",
    "HTTPVersionNotSupported",
    "RequestRedirect",
    "UpgradeRequired",
    "Aborter",
    "abort",
    "default_exceptions",
]

#: Reason phrases for every status code Erlen knows by name.
HTTP_STATUS_CODES: dict[int, str] = {
    100: "Continue",
    101: "Switching Protocols",
    102: "Processing",
    103: "Early Hints",
    200: "OK",
    201: "Created",
    202: "Accepted",
    203: "Non Authoritative Information",
    204: "No Content",
    205: "Reset Content",
    206: "Partial Content",
    207: "Multi Status",
    208: "Already Reported",
    226: "IM Used",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    304: "Not Modified",
    305: "Use Proxy",
    306: "Switch Proxy",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    409: "Conflict",
    410: "Gone",
    411: "Length Required",
    412: "Precondition Failed",
    413: "Request Entity Too Large",
    414: "Request URI Too Long",
    415: "Unsupported Media Type",
    416: "Requested Range Not Satisfiable",
    417: "Expectation Failed",
    418: "I'm a teapot",
    421: "Misdirected Request",
    422: "Unprocessable Entity",
    423: "Locked",
    424: "Failed Dependency",
    425: "Too Early",
    426: "Upgrade Required",
    428: "Precondition Required",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    449: "Retry With",
    451: "Unavailable For Legal Reasons",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
    506: "Variant Also Negotiates",
    507: "Insufficient Storage",
    508: "Loop Detected",
    510: "Not Extended",
    511: "Network Authentication Failed",
}


class HTTPException(Exception):
    """Base class for every HTTP error.

    :param description: text shown to the client; the class default if not
        given.  It is HTML-escaped when rendered.
    :param response: a ready response to send instead of the rendered page.
    """

    #: The HTTP status code; ``None`` on the base class.
    code: int | None = None
    #: The default description shown to the client.
    description: str | None = None

    def __init__(
        self, description: str | None = None, response: Response | None = None
    ) -> None:
        super().__init__()
        if description is not None:
            self.description = description
        self.response = response

    @property
    def name(self) -> str:
        """The status reason phrase, e.g. ``"Not Found"``."""
        if self.code is None:
            return "Unknown Error"
        return HTTP_STATUS_CODES.get(self.code, "Unknown Error")

    def get_description(self) -> str:
        """The description as HTML (escaped, newlines as ``<br>``)."""
        # markupsafe's escaping, as Werkzeug's: the same page byte for byte.
        description = str(escape(self.description or "")).replace("\n", "<br>")
        return f"<p>{description}</p>"

    def get_body(self, request: Request | None = None) -> str:
        """The HTML error page."""
        return (
            "<!doctype html>\n<html lang=en>\n"
            f"<title>{self.code} {escape(self.name)}</title>\n"
            f"<h1>{escape(self.name)}</h1>\n"
            f"{self.get_description()}\n"
        )

    def get_headers(self, request: Request | None = None) -> list[tuple[str, str]]:
        """Headers sent with the rendered page (subclasses add e.g. ``Allow``)."""
        return [("Content-Type", "text/html; charset=utf-8")]

    def get_response(self, request: Request | None = None) -> Response:
        """The response to send: :attr:`response` if one was given, else a
        rendered page (JSON when ``request`` prefers ``application/json``)."""
        Response = wrappers.Response
        if self.response is not None:
            return self.response
        headers = self.get_headers(request)
        if request is not None and _prefers_json(request):
            from . import json

            body = json.dumps(
                {
                    "code": self.code,
                    "name": self.name,
                    "description": self.description,
                }
            )
            headers = [(k, v) for k, v in headers if k.lower() != "content-type"] + [
                ("Content-Type", "application/json")
            ]
            return Response(body, self.code or 500, headers)
        cls = type(self)
        if (
            headers == _HTML_HEADERS
            and cls.get_body is HTTPException.get_body
            and cls.get_description is HTTPException.get_description
        ):
            # PERF: the default page depends only on code, name and
            # description: rendered once, and sent with Response's own
            # default Content-Type (the same value), ~10 us of a 404.
            key = (self.code, self.name, self.description)
            page = _PAGES.get(key)
            if page is None:
                if len(_PAGES) >= 256:  # descriptions may vary per raise
                    _PAGES.clear()
                page = _PAGES[key] = self.get_body(request)
            return Response(page, self.code or 500)
        return Response(self.get_body(request), self.code or 500, headers)

    def __str__(self) -> str:
        code = self.code if self.code is not None else "???"
        return f"{code} {self.name}: {self.description}"

    def __repr__(self) -> str:
        code = self.code if self.code is not None else "???"
        return f"<{type(self).__name__} '{code}: {self.name}'>"


_HTML_HEADERS = [("Content-Type", "text/html; charset=utf-8")]
_PAGES: dict[tuple[int | None, str, str | None], str] = {}


def _prefers_json(request: Request) -> bool:
    # PERF: most clients' Accept does not mention JSON at all; parsing it
    # costs ~5 us of a 404.
    raw = request._header("accept")
    if not raw or "json" not in raw:
        return False
    accept = request.accept_mimetypes
    if not accept:
        return False
    json_q = accept["application/json"]
    return json_q > 0 and json_q > accept["text/html"]


class BadRequest(HTTPException):
    """*400 Bad Request*: the client sent something the app cannot use."""

    code = 400
    description = (
        "The browser (or proxy) sent a request that this server could not understand."
    )


class BadRequestKeyError(BadRequest, KeyError):
    """A :class:`BadRequest` that is also a :class:`KeyError`, raised when a
    key is missing from ``request.args``, ``request.form`` or ``request.files``.

    The client sees a generic 400; in debug mode the missing key is named.
    """

    #: Set to ``True`` (the app does in debug mode) to name the key to the client.
    show_exception = False

    def __init__(self, arg: str | None = None, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        if arg is None:
            KeyError.__init__(self)
        else:
            KeyError.__init__(self, arg)

    @property
    def description(self) -> str:
        if self.show_exception:
            return f"{self._description}\nKeyError: {KeyError.__str__(self)}"
        return self._description

    @description.setter
    def description(self, value: str) -> None:
        self._description = value

    _description = BadRequest.description or ""

    def __str__(self) -> str:
        return HTTPException.__str__(self)


class SecurityError(BadRequest):
    """A 400 raised when something looks like an attack."""


class BadHost(BadRequest):
    """A 400 raised when the ``Host`` header is not trusted."""


class Unauthorized(HTTPException):
    """*401 Unauthorized*.

    :param www_authenticate: values for the ``WWW-Authenticate`` header.
    """

    code = 401
    description = (
        "The server could not verify that you are authorized to access the URL"
        " requested. You either supplied the wrong credentials (e.g. a bad"
        " password), or your browser doesn't understand how to supply the"
        " credentials required."
    )

    def __init__(
        self,
        description: str | None = None,
        response: Response | None = None,
        www_authenticate: str | t.Iterable[str] | None = None,
    ) -> None:
        super().__init__(description, response)
        if isinstance(www_authenticate, str):
            www_authenticate = [www_authenticate]
        self.www_authenticate = list(www_authenticate or ())

    def get_headers(self, request: Request | None = None) -> list[tuple[str, str]]:
        headers = super().get_headers(request)
        headers.extend(("WWW-Authenticate", v) for v in self.www_authenticate)
        return headers


class PaymentRequired(HTTPException):
    """*402 Payment Required*."""

    code = 402
    description = "The request cannot be processed without payment."


class Forbidden(HTTPException):
    """*403 Forbidden*."""

    code = 403
    description = (
        "You don't have the permission to access the requested resource. It is"
        " either read-protected or not readable by the server."
    )


class NotFound(HTTPException):
    """*404 Not Found*."""

    code = 404
    description = (
        "The requested URL was not found on the server. If you entered the URL"
        " manually please check your spelling and try again."
    )


class MethodNotAllowed(HTTPException):
    """*405 Method Not Allowed*; sends an ``Allow`` header.

    :param valid_methods: the methods the URL does allow.
    """

    code = 405
    description = "The method is not allowed for the requested URL."

    def __init__(
        self,
        valid_methods: t.Iterable[str] | None = None,
        description: str | None = None,
        response: Response | None = None,
    ) -> None:
        super().__init__(description, response)
        self.valid_methods = sorted(valid_methods) if valid_methods else None

    def get_headers(self, request: Request | None = None) -> list[tuple[str, str]]:
        headers = super().get_headers(request)
        if self.valid_methods:
            headers.append(("Allow", ", ".join(self.valid_methods)))
        return headers


class NotAcceptable(HTTPException):
    """*406 Not Acceptable*."""

    code = 406
    description = (
        "The resource identified by the request is only capable of generating"
        " response entities which have content characteristics not acceptable"
        " according to the accept headers sent in the request."
    )


class RequestTimeout(HTTPException):
    """*408 Request Timeout*."""

    code = 408
    description = (
        "The server closed the network connection because the browser didn't"
        " finish the request within the specified time."
    )


class Conflict(HTTPException):
    """*409 Conflict*."""

    code = 409
    description = (
        "A conflict happened while processing the request. The resource might"
        " have been modified while the request was being processed."
    )


class Gone(HTTPException):
    """*410 Gone*."""

    code = 410
    description = (
        "The requested URL is no longer available on this server and there is"
        " no forwarding address. If you followed a link from a foreign page,"
        " please contact the author of this page."
    )


class LengthRequired(HTTPException):
    """*411 Length Required*."""

    code = 411
    description = (
        "A request with this method requires a valid <code>Content-Length</code>"
        " header."
    )


class PreconditionFailed(HTTPException):
    """*412 Precondition Failed*."""

    code = 412
    description = (
        "The precondition on the request for the URL failed positive evaluation."
    )


class RequestEntityTooLarge(HTTPException):
    """*413 Request Entity Too Large*: the body is over a configured limit."""

    code = 413
    description = "The data value transmitted exceeds the capacity limit."


class RequestURITooLarge(HTTPException):
    """*414 Request URI Too Long*."""

    code = 414
    description = (
        "The length of the requested URL exceeds the capacity limit for this"
        " server. The request cannot be processed."
    )


class UnsupportedMediaType(HTTPException):
    """*415 Unsupported Media Type*."""

    code = 415
    description = (
        "The server does not support the media type transmitted in the request."
    )


class RequestedRangeNotSatisfiable(HTTPException):
    """*416 Range Not Satisfiable*; sends ``Content-Range: bytes */length``.

    :param length: the full length of the resource.
    """

    code = 416
    description = "The server cannot provide the requested range."

    def __init__(
        self,
        length: int | None = None,
        units: str = "bytes",
        description: str | None = None,
        response: Response | None = None,
    ) -> None:
        super().__init__(description, response)
        self.length = length
        self.units = units

    def get_headers(self, request: Request | None = None) -> list[tuple[str, str]]:
        headers = super().get_headers(request)
        if self.length is not None:
            headers.append(("Content-Range", f"{self.units} */{self.length}"))
        return headers


class ExpectationFailed(HTTPException):
    """*417 Expectation Failed*."""

    code = 417
    description = "The server could not meet the requirements of the Expect header"


class ImATeapot(HTTPException):
    """*418 I'm a teapot*."""

    code = 418
    description = "This server is a teapot, not a coffee machine"


class MisdirectedRequest(HTTPException):
    """*421 Misdirected Request*: the request went to a server that cannot
    answer for this host."""

    code = 421
    description = "The server is not able to produce a response."


class UnprocessableEntity(HTTPException):
    """*422 Unprocessable Entity*."""

    code = 422
    description = (
        "The request was well-formed but was unable to be followed due to"
        " semantic errors."
    )


class Locked(HTTPException):
    """*423 Locked*."""

    code = 423
    description = "The resource that is being accessed is locked."


class FailedDependency(HTTPException):
    """*424 Failed Dependency*."""

    code = 424
    description = (
        "The method could not be performed on the resource because the requested"
        " action depended on another action and that action failed."
    )


class UpgradeRequired(HTTPException):
    """*426 Upgrade Required*."""

    code = 426
    description = "This resource must be requested through a protocol upgrade."


class PreconditionRequired(HTTPException):
    """*428 Precondition Required*."""

    code = 428
    description = (
        "This request is required to be conditional; try using"
        ' "If-Match" or "If-Unmodified-Since".'
    )


class _RetryAfter(HTTPException):
    def __init__(
        self,
        description: str | None = None,
        response: Response | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(description, response)
        self.retry_after = retry_after

    def get_headers(self, request: Request | None = None) -> list[tuple[str, str]]:
        headers = super().get_headers(request)
        if self.retry_after is not None:
            headers.append(("Retry-After", str(self.retry_after)))
        return headers


class TooManyRequests(_RetryAfter):
    """*429 Too Many Requests*; ``retry_after`` seconds sets ``Retry-After``."""

    code = 429
    description = "This user has exceeded an allotted request count. Try again later."


class RequestHeaderFieldsTooLarge(HTTPException):
    """*431 Request Header Fields Too Large*."""

    code = 431
    description = "One or more header fields exceeds the maximum size."


class UnavailableForLegalReasons(HTTPException):
    """*451 Unavailable For Legal Reasons*."""

    code = 451
    description = "Unavailable for legal reasons."


class InternalServerError(HTTPException):
    """*500 Internal Server Error*.

    When an unhandled exception becomes a 500, the original exception is kept
    in :attr:`original_exception` for error handlers to inspect.
    """

    code = 500
    description = (
        "The server encountered an internal error and was unable to complete"
        " your request. Either the server is overloaded or there is an error in"
        " the application."
    )

    def __init__(
        self,
        description: str | None = None,
        response: Response | None = None,
        original_exception: BaseException | None = None,
    ) -> None:
        super().__init__(description, response)
        #: The unhandled exception that caused this 500, if any.
        self.original_exception = original_exception


class NotImplemented(HTTPException):  # noqa: A001 - Werkzeug's public name
    """*501 Not Implemented*."""

    code = 501
    description = "The server does not support the action requested by the browser."


class BadGateway(HTTPException):
    """*502 Bad Gateway*."""

    code = 502
    description = (
        "The proxy server received an invalid response from an upstream server."
    )


class ServiceUnavailable(_RetryAfter):
    """*503 Service Unavailable*; ``retry_after`` seconds sets ``Retry-After``."""

    code = 503
    description = (
        "The server is temporarily unable to service your request due to"
        " maintenance downtime or capacity problems. Please try again later."
    )


class GatewayTimeout(HTTPException):
    """*504 Gateway Timeout*."""

    code = 504
    description = "The connection to an upstream server timed out."


class HTTPVersionNotSupported(HTTPException):
    """*505 HTTP Version Not Supported*."""

    code = 505
    description = (
        "The server does not support the HTTP protocol version used in the request."
    )


class RequestRedirect(HTTPException):
    """Raised by routing when the URL should be requested elsewhere (for
    example with a trailing slash).  Renders a *308 Permanent Redirect*.

    :param new_url: the ``Location`` to send; kept relative where possible.
    """

    code = 308
    description = "Redirecting..."

    def __init__(self, new_url: str, code: int = 308) -> None:
        super().__init__()
        self.new_url = new_url
        self.code = code

    def get_response(self, request: Request | None = None) -> Response:
        from .helpers import redirect

        return redirect(self.new_url, self.code)


#: Every class above keyed by its status code, as used by :func:`abort`.
default_exceptions: dict[int, type[HTTPException]] = {}


def _collect() -> None:
    for obj in list(globals().values()):
        if (
            isinstance(obj, type)
            and issubclass(obj, HTTPException)
            and obj.code is not None
            and obj is not RequestRedirect
        ):
            default_exceptions.setdefault(obj.code, obj)


_collect()
default_exceptions[400] = BadRequest


def from_werkzeug(e: BaseException) -> HTTPException | None:
    """The Erlen exception for a ``werkzeug.exceptions.HTTPException`` (raised
    by ported code or by a Werkzeug part such as the form parser), so it gets
    its status and Erlen's error handlers instead of becoming a 500.
    ``None`` for anything else."""
    if isinstance(e, HTTPException):
        return None  # PERF: Erlen's own (a 404), without the lookup below
    import sys

    wz = sys.modules.get("werkzeug.exceptions")
    if wz is None or not isinstance(e, wz.HTTPException):
        return None
    code = e.code or 500
    new: HTTPException
    if isinstance(e, wz.MethodNotAllowed):
        new = MethodNotAllowed(e.valid_methods, description=e.description)
    elif code in default_exceptions:
        new = default_exceptions[code](description=e.description)
    else:
        new = HTTPException(description=e.description)
        new.code = code
    new.__cause__ = e
    return new


class Aborter:
    """Raise the :class:`HTTPException` for a status code.

    :param mapping: extra or replacement status code → exception class.
    """

    def __init__(self, mapping: dict[int, type[HTTPException]] | None = None) -> None:
        self.mapping = dict(default_exceptions)
        if mapping:
            self.mapping.update(mapping)

    def __call__(
        self, code: int | Response, *args: t.Any, **kwargs: t.Any
    ) -> t.NoReturn:
        from .wrappers import Response

        if isinstance(code, Response):
            raise HTTPException(response=code)
        if not isinstance(code, int) or isinstance(code, bool):
            raise TypeError(f"abort() takes a status code or a Response, not {code!r}.")
        if code not in self.mapping:
            raise LookupError(
                f"No exception for {code!r}. abort() knows the standard 4xx and"
                " 5xx codes; for another status return a Response with it."
            )
        raise self.mapping[code](*args, **kwargs)


_aborter = Aborter()


def abort(code: int | Response, *args: t.Any, **kwargs: t.Any) -> t.NoReturn:
    """End the request now with an HTTP error.

    ``abort(404)`` raises :class:`NotFound`; ``abort(403, "No access")`` sets
    the description shown to the client; ``abort(response)`` sends that
    response as it is.  Inside an app, the app's :attr:`~erlen.Erlen.aborter`
    is used, so custom codes registered there work too.
    """
    from .globals import _find_app_ctx

    ctx = _find_app_ctx()
    if ctx is not None:
        ctx.app.aborter(code, *args, **kwargs)
    _aborter(code, *args, **kwargs)
