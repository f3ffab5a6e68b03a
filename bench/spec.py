"""What every benchmark app serves and what every request must get back.

The framework modules in :mod:`bench.apps` build the same routes from these
constants, and the harness checks each response against them before timing
anything: a framework that answered the wrong thing is reported as an error,
never as a fast number.
"""

from __future__ import annotations

import json
import typing as t
from dataclasses import dataclass, field
from urllib.parse import urlencode

import jinja2

TEXT = "Hello, World!"
JSON = {"message": "Hello, World!"}
SECRET_KEY = "bench-secret-key-not-for-production"

#: The page of the template route: a 10-item loop with autoescaping (one item
#: needs escaping, so every framework really escapes).
TEMPLATE_NAME = "page.html"
TEMPLATE_SOURCE = """<!doctype html>
<html><head><title>{{ title }}</title></head>
<body><h1>{{ title }}</h1><ul>
{% for item in items %}
  <li id="item-{{ loop.index }}">{{ item.name }}: {{ item.price }} EUR</li>
{% endfor %}</ul></body></html>
"""
TEMPLATE_TITLE = "Price list"
ITEMS = [
    {"name": "Fish & Chips" if i == 3 else f"Item {i}", "price": f"{i * 1.5:.2f}"}
    for i in range(10)
]


def jinja_env() -> jinja2.Environment:
    """The environment a framework without its own Jinja2 integration uses
    (created once, at import of the app module)."""
    return jinja2.Environment(
        loader=jinja2.DictLoader({TEMPLATE_NAME: TEMPLATE_SOURCE}),
        autoescape=True,
    )


TEMPLATE_BODY = (
    jinja_env()
    .get_template(TEMPLATE_NAME)
    .render(title=TEMPLATE_TITLE, items=ITEMS)
    .encode()
)

#: The three fields of the form route; the view answers "name email age".
FORM = {"name": "Ada", "email": "ada@example.com", "age": "36"}
FORM_BODY = " ".join(FORM.values()).encode()

#: Two uploaded files, fields "a" and "b"; the view answers "len(a) len(b)".
UPLOAD_A = b"a" * 8192
UPLOAD_B = bytes(range(256)) * 64  # 16 KiB of every byte value
UPLOAD_BODY = f"{len(UPLOAD_A)} {len(UPLOAD_B)}".encode()
BOUNDARY = "----ErlenBenchBoundary7MA4YWxkTrZu0gW"

#: The streamed response: 16 chunks of 64 KiB.
STREAM_CHUNK = b"x" * 65536
STREAM_CHUNKS = 16
STREAM_SIZE = len(STREAM_CHUNK) * STREAM_CHUNKS

#: How long the concurrency route's view waits.
SLEEP_SECONDS = 0.1

#: How many before_request hooks and routes the growth series use.
HOOK_COUNTS = (0, 10, 100)
ROUTE_COUNTS = (10, 100, 1_000, 10_000)
FORM_FIELD_COUNTS = (10, 100, 1_000)


def multipart_body() -> bytes:
    parts = []
    for name, filename, data, ctype in (
        ("a", "a.txt", UPLOAD_A, "text/plain"),
        ("b", "b.bin", UPLOAD_B, "application/octet-stream"),
    ):
        parts.append(
            f"--{BOUNDARY}\r\n"
            f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {ctype}\r\n\r\n".encode()
            + data
            + b"\r\n"
        )
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def form_fields(n: int) -> bytes:
    return urlencode([(f"field{i}", f"value{i}") for i in range(n)]).encode()


# -- requests and the checks of their responses --------------------------------


@dataclass
class Request:
    """One HTTP request, from which the drivers build an environ or a scope."""

    method: str
    path: str
    query: str = ""
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)

    def all_headers(self) -> list[tuple[str, str]]:
        """The headers a client sends (lower-case names), as wrk would."""
        headers = [
            ("host", "127.0.0.1:8000"),
            ("user-agent", "erlen-bench/1.0"),
            ("accept", "*/*"),
        ]
        if self.content_type is not None:
            headers.append(("content-type", self.content_type))
        if self.body or self.method in ("POST", "PUT", "PATCH"):
            headers.append(("content-length", str(len(self.body))))
        return headers + self.headers


Check = t.Callable[[bytes], bool]


def exact(expected: bytes) -> Check:
    def check(body: bytes) -> bool:
        return body == expected

    check.__doc__ = f"body == {expected[:40]!r}"
    return check


def json_equal(expected: t.Any) -> Check:
    def check(body: bytes) -> bool:
        try:
            return bool(json.loads(body) == expected)
        except ValueError:
            return False

    check.__doc__ = f"JSON == {expected!r}"
    return check


def any_body(body: bytes) -> bool:
    """Any body (the status is what is checked)."""
    return True


def stream_check(body: bytes) -> bool:
    """1 MiB of b"x"."""
    return len(body) == STREAM_SIZE and body == STREAM_CHUNK * STREAM_CHUNKS


@dataclass
class Case:
    """One timed measurement: which app to build, which request to send, and
    what must come back."""

    name: str
    title: str
    request: Request
    check: Check
    status: int = 200
    #: The keyword arguments of the framework module's ``make_app``.
    app: dict[str, t.Any] = field(default_factory=dict)
    #: A feature the framework must declare to run this case ("session").
    needs: str | None = None
    #: The request is sent once before timing and its Set-Cookie is sent back
    #: with every timed request (a signed session cookie).
    prime_cookie: bool = False
    series: str | None = None
    x: int | None = None


def _routes_case(n: int) -> Case:
    return Case(
        name=f"routes:{n}",
        title=f"{n} routes, last one",
        request=Request("GET", f"/r{n - 1}/7"),
        check=exact(f"r{n - 1} 7".encode()),
        app={"routes": n},
        series="routes",
        x=n,
    )


def _hooks_case(n: int) -> Case:
    return Case(
        name=f"hooks:{n}",
        title=f"GET / with {n} before_request hooks",
        request=Request("GET", "/"),
        check=exact(TEXT.encode()),
        app={"hooks": n},
        needs="hooks",
        series="hooks",
        x=n,
    )


def _form_case(n: int) -> Case:
    return Case(
        name=f"form:{n}",
        title=f"POST form with {n} fields",
        request=Request(
            "POST",
            "/count",
            body=form_fields(n),
            content_type="application/x-www-form-urlencoded",
        ),
        check=exact(str(n).encode()),
        series="form",
        x=n,
    )


#: The main table, in display order.
MAIN_CASES: list[Case] = [
    Case("text", "GET / (text)", Request("GET", "/"), exact(TEXT.encode())),
    Case("json", "GET /json", Request("GET", "/json"), json_equal(JSON)),
    Case("user", "GET /user/<int>", Request("GET", "/user/42"), exact(b"User 42")),
    Case(
        "search",
        "GET /search?q&page",
        Request("GET", "/search", query="q=erlen&page=3"),
        exact(b"q=erlen page=3"),
    ),
    Case(
        "form",
        "POST form (3 fields)",
        Request(
            "POST",
            "/form",
            body=urlencode(FORM).encode(),
            content_type="application/x-www-form-urlencoded",
        ),
        exact(FORM_BODY),
    ),
    Case(
        "template",
        "Jinja2 page (10-item loop)",
        Request("GET", "/template"),
        exact(TEMPLATE_BODY),
    ),
    Case("404", "404 Not Found", Request("GET", "/missing"), any_body, status=404),
    _routes_case(1000),
    Case(
        "session",
        "session read+write",
        Request("GET", "/session"),
        exact(b"1"),
        needs="session",
        prime_cookie=True,
    ),
    Case(
        "upload",
        "multipart, 2 files",
        Request(
            "POST",
            "/upload",
            body=multipart_body(),
            content_type=f"multipart/form-data; boundary={BOUNDARY}",
        ),
        exact(UPLOAD_BODY),
    ),
    Case("stream", "1 MiB streamed", Request("GET", "/stream"), stream_check),
]

SERIES_CASES: list[Case] = (
    [_routes_case(n) for n in ROUTE_COUNTS if n != 1000]
    + [_hooks_case(n) for n in HOOK_COUNTS]
    + [_form_case(n) for n in FORM_FIELD_COUNTS]
)


def all_cases() -> list[Case]:
    return MAIN_CASES + SERIES_CASES


def series_cases(series: str) -> list[Case]:
    """The cases of one growth series, smallest first."""
    cases = [c for c in all_cases() if c.series == series]
    return sorted(cases, key=lambda c: t.cast(int, c.x))
