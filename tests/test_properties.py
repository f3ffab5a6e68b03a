"""Property-based tests of the parsers and of URL building, through both
drivers: random input never raises anything but a documented 4xx, and what
goes in comes back out.

- the query string (random bytes; round trip of random fields);
- the ``Cookie`` header (random strings; round trip of cookies set with
  ``Response.set_cookie`` and sent back by the test client);
- request headers (random names and latin-1 values, read through every
  parsed accessor, and against a static file's conditional/range logic);
- multipart bodies (random fields and files through
  ``erlen.testing.encode_multipart``; the ASGI driver gets the body split at
  random points into ``more_body`` messages, the WSGI one reads it in random
  pieces);
- URL building and matching (``url_for`` of random values for the
  ``string``, ``int``, ``path``, ``uuid`` and ``any`` converters matches back
  to the same values).
"""

from __future__ import annotations

import asyncio
import io
import typing as t
import uuid
import warnings
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import ImmutableMultiDict as WerkzeugImmutableMultiDict
from werkzeug.http import dump_cookie, parse_cookie, parse_options_header

from erlen import Erlen, Request, make_response, request, url_for
from erlen.app import _PLAIN_HOST, _host_port_is_valid
from erlen.datastructures import ImmutableMultiDict
from erlen.exceptions import BadRequestKeyError, HTTPException, RequestRedirect
from erlen.testing import ErlenClient, encode_multipart, make_spec
from erlen.wrappers import Response, _dump_plain_cookie, _parse_qs, _unquote

#: Shared by every property: few enough examples that the file runs in
#: seconds, no deadline (a request through the ASGI driver varies in time).
PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

TEXT = b"property test file 0123456789"
COLORS = ["red", "blue", "green", "dark-red"]


def make_app(root: Path) -> Erlen:
    (root / "static").mkdir(exist_ok=True)
    (root / "static" / "a.txt").write_bytes(TEXT)
    app = Erlen("properties", root_path=str(root))
    app.config.update(TESTING=True, PROPAGATE_EXCEPTIONS=False, SECRET_KEY="k")

    @app.route("/args")
    def args() -> dict[str, t.Any]:
        return {"args": list(request.args.items(multi=True))}

    @app.route("/cookies")
    def cookies() -> dict[str, t.Any]:
        return {"cookies": list(request.cookies.items(multi=True))}

    @app.route("/set-cookie")
    def set_cookie() -> t.Any:
        response = make_response("set")
        response.set_cookie(request.args["key"], request.args["value"])
        return response

    @app.route("/headers")
    def headers() -> dict[str, t.Any]:
        auth = request.authorization
        return {
            "headers": list(request.headers.items()),
            "accept": str(request.accept_mimetypes),
            "best": request.accept_mimetypes.best_match(["text/html", "a/b"]),
            "languages": str(request.accept_languages),
            "charsets": str(request.accept_charsets),
            "encodings": str(request.accept_encodings),
            "auth": None if auth is None else auth.type,
            "agent": request.user_agent.string,
            "mimetype": request.mimetype,
            "params": request.mimetype_params,
            "length": request.content_length,
            "is_json": request.is_json,
            "origin": request.origin,
            "referrer": request.referrer,
        }

    @app.route("/form", methods=["POST"])
    def form() -> dict[str, t.Any]:
        return {
            "form": {k: request.form.getlist(k) for k in request.form},
            "files": {
                k: [
                    [f.filename, f.read().decode("latin-1")]
                    for f in request.files.getlist(k)
                ]
                for k in request.files
            },
        }

    @app.route("/s/<name>")
    def string(name: str) -> str:
        return name

    @app.route("/i/<int:n>")
    def integer(n: int) -> str:
        return str(n)

    @app.route("/p/<path:rest>")
    def path(rest: str) -> str:
        return rest

    @app.route("/u/<uuid:id>")
    def uuid_(id: uuid.UUID) -> str:
        return str(id)

    @app.route("/a/<any(red, blue, green, 'dark-red'):color>")
    def any_(color: str) -> str:
        return color

    @app.route("/m/<name>/<int:n>/<uuid:id>/<path:rest>")
    def mixed(name: str, n: int, id: uuid.UUID, rest: str) -> str:
        return name

    return app


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Erlen:
    return make_app(tmp_path_factory.mktemp("properties"))


@pytest.fixture(scope="module", params=["wsgi", "asgi"])
def driver(request: pytest.FixtureRequest) -> str:
    return t.cast(str, request.param)


@pytest.fixture(scope="module")
def client(app: Erlen, driver: str) -> t.Iterator[ErlenClient]:
    client = app.test_client(driver=driver)  # type: ignore[arg-type]
    yield client
    client.close()


def ok(response: t.Any, *allowed: int) -> None:
    """The status is one of ``allowed`` (200 when none is given)."""
    allowed = allowed or (200,)
    assert response.status_code in allowed, (response.status_code, response.data[:300])


# -- query strings -------------------------------------------------------------


@PROPERTY
@given(raw=st.binary(max_size=300))
def test_any_query_string_parses(client: ErlenClient, raw: bytes) -> None:
    response = client.get("/args", query_string=raw)
    ok(response)
    fields = response.json["args"]
    # Only "&" separates; every name and value is text.
    assert len(fields) <= raw.count(b"&") + 1
    for name, value in fields:
        assert isinstance(name, str) and isinstance(value, str)


#: Query strings made mostly of the characters that matter to the parser.
QUERY_BYTES = st.lists(
    st.sampled_from(
        [b"&", b"=", b"%", b"+", b"a", b"b", b"%41", b"\xff", b";"]
        + [b"%C3", b"%a9", b"%5C", b"\\", b"\xc3", b"\xa9", b"%4", b"%zz", b"\\x41"]
    )
    | st.binary(max_size=3),
    max_size=30,
).map(b"".join)


@PROPERTY
@given(raw=QUERY_BYTES)
def test_query_string_fields_are_the_standard_librarys(raw: bytes) -> None:
    # The parser takes a shortcut when there is nothing to unquote; with or
    # without it, the fields are exactly urllib's.
    expected = parse_qsl(
        raw.decode("utf-8", "replace"), keep_blank_values=True, errors="replace"
    )
    assert _parse_qs(raw) == expected


@PROPERTY
@given(
    text=st.lists(
        st.sampled_from(["%", "%4", "%41", "%c3", "%A9", "%e2%82", "\\", "\\x", "x"])
        | st.text(max_size=3),
        max_size=12,
    ).map("".join)
)
def test_unquote_is_the_standard_librarys(text: str) -> None:
    # Escapes are decoded in C (codecs.escape_decode) when they all are
    # escapes; the result is always urllib's.
    assert _unquote(text) == unquote(text, errors="replace")


@pytest.mark.parametrize("secure", [False, True])
@pytest.mark.parametrize("httponly", [False, True])
@pytest.mark.parametrize("samesite", [None, "Lax", "Strict", "None"])
@pytest.mark.parametrize("path", [None, "/", "/a-b/~x.y"])
@pytest.mark.parametrize("size", [0, 40, 4093, 4094])
def test_plain_cookie_header_is_werkzeugs_dump_cookie(
    secure: bool, httponly: bool, samesite: str | None, path: str | None, size: int
) -> None:
    # The shortcut set_cookie takes for a plain cookie (the session's):
    # taken up to dump_cookie's size limit, and its header is dump_cookie's.
    kwargs: dict[str, t.Any] = dict(
        secure=secure, httponly=httponly, samesite=samesite, path=path
    )
    value = "v.-_" * size
    value = value[: max(0, size - len(dump_cookie("session", "", **kwargs)))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the size warning: checked below
        expected = dump_cookie("session", value, **kwargs)
    plain = _dump_plain_cookie(
        "session", value, None, None, path, None, secure, httponly, samesite, False
    )
    assert plain == (expected if len(expected) <= 4093 else None)
    response = Response()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response.set_cookie("session", value, **kwargs)
    assert response.headers.getlist("Set-Cookie") == [expected]
    assert len(caught) == (len(expected) > 4093)


#: Cookie text near the edges of what is sent as it is.
_COOKIE_TEXT = st.text(alphabet=' \t\r\n\x00"\\,;=/:%.~é☃aZ09-_!@[]', max_size=12)


@settings(PROPERTY, max_examples=300)
@given(
    key=st.sampled_from(["session", "a", "x-y"]) | _COOKIE_TEXT,
    value=st.sampled_from(["", "eyJuIjoxfQ.axcjbw.WWo-_", "a/b:c"])
    | _COOKIE_TEXT
    | st.text(alphabet="ab", min_size=4060, max_size=4100),
    path=st.sampled_from([None, "/", "/a b", "/ä"]) | _COOKIE_TEXT,
    domain=st.none() | st.sampled_from(["", "example.com"]),
    max_age=st.none() | st.integers(-1, 10),
    secure=st.sampled_from([False, True, 0, 1]),
    httponly=st.sampled_from([False, True, 1]),
    samesite=st.sampled_from([None, "Lax", "Strict", "None", "lax", "bad"]),
    partitioned=st.booleans(),
)
def test_set_cookie_header_is_werkzeugs_dump_cookie(
    key: str,
    value: str,
    path: str | None,
    domain: str | None,
    max_age: int | None,
    secure: t.Any,
    httponly: t.Any,
    samesite: str | None,
    partitioned: bool,
) -> None:
    # Plain cookies skip dump_cookie: the header, a refusal and the size
    # warning must all be what the checked dump_cookie path gives.
    args = (key, value, max_age, None, path, domain, secure, httponly, samesite)
    kwargs = dict(
        zip(
            (
                "key",
                "value",
                "max_age",
                "expires",
                "path",
                "domain",
                "secure",
                "httponly",
                "samesite",
            ),
            args,
            strict=True,
        )
    )
    response = Response()
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        try:
            response.set_cookie(**kwargs, partitioned=partitioned)
        except ValueError as e:
            refused: str | None = str(e)
        else:
            refused = None
    if refused is not None and "SameSite" not in refused:
        # Erlen's own check (CR, LF, NUL; separators in names, domains).
        assert any(
            c in text for text in (key, value, path or "") for c in "\r\n\x00"
        ) or (any(c in key for c in ";= \t,"))
        return
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        try:
            expected = dump_cookie(**kwargs, partitioned=partitioned)
        except ValueError as e:
            assert refused == str(e)
            return
    assert refused is None
    assert response.headers.getlist("Set-Cookie") == [expected]
    assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]


@PROPERTY
@given(
    pairs=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "n", ""]), st.sampled_from(["", "1", "x", "-2"])
        ),
        max_size=8,
    )
)
def test_multidict_shortcuts_are_werkzeugs(pairs: list[tuple[str, str]]) -> None:
    # ImmutableMultiDict builds from a list of pairs, looks up and converts
    # without Werkzeug's layers: the results must be Werkzeug's.
    ours = ImmutableMultiDict(pairs)
    theirs = WerkzeugImmutableMultiDict(pairs)
    assert type(ours) is ImmutableMultiDict
    assert list(ours.lists()) == list(theirs.lists())
    for key in ("a", "b", "n", "", "missing"):
        assert ours.get(key) == theirs.get(key)
        assert ours.get(key, "d") == theirs.get(key, "d")
        assert ours.get(key, -1, type=int) == theirs.get(key, -1, type=int)
        assert ours.getlist(key) == theirs.getlist(key)
        if key in theirs:
            assert ours[key] == theirs[key]
        else:
            with pytest.raises(BadRequestKeyError):
                ours[key]


@PROPERTY
@given(value=st.text(alphabet=' \tab/;="x+-*', max_size=12))
def test_content_type_shortcut_is_werkzeugs(value: str) -> None:
    # A Content-Type without parameters is split without
    # parse_options_header: the result must be its.
    request = Request(
        "POST", "http", None, "", "/", b"", [(b"content-type", value.encode())]
    )
    assert request._parsed_content_type == parse_options_header(value)
    assert request.mimetype == parse_options_header(value)[0].lower()


HOSTS = st.tuples(
    st.text(alphabet="ab.:[]1\xe9", max_size=8),
    st.sampled_from(["", ":"]),
    st.text(alphabet="0123456789a", max_size=6),
).map("".join)


@PROPERTY
@given(host=HOSTS)
def test_host_shortcut_agrees_with_the_port_check(host: str) -> None:
    # match_request skips the port check for hosts the regex passes: it
    # must pass only hosts whose port the check accepts.
    assert _PLAIN_HOST(host) is None or _host_port_is_valid(host)


def _exact_header_count_and_size(environ: dict[str, t.Any]) -> tuple[int, int]:
    fields = [(k[5:], v) for k, v in environ.items() if k.startswith("HTTP_")]
    fields += [
        (k, environ[k]) for k in ("CONTENT_TYPE", "CONTENT_LENGTH") if environ.get(k)
    ]
    return len(fields), sum(len(k) + len(v) for k, v in fields)


@PROPERTY
@given(
    headers=st.dictionaries(
        st.text(alphabet="ABCXYZ_", min_size=1, max_size=12),
        st.text(alphabet="ab\xe9 ", max_size=200),
        max_size=12,
    ),
    content=st.sampled_from(
        [{}, {"CONTENT_TYPE": "text/plain", "CONTENT_LENGTH": "12"}]
    ),
    # A test client's environ, or only the header fields (then the bound
    # is at its tightest).
    full=st.booleans(),
    # The limits are set around the request's own count and size.
    count_delta=st.one_of(st.none(), st.integers(-2, 2)),
    size_delta=st.one_of(st.none(), st.integers(-2, 400)),
)
def test_header_limits_agree_with_an_exact_count(
    headers: dict[str, str],
    content: dict[str, str],
    full: bool,
    count_delta: int | None,
    size_delta: int | None,
) -> None:
    # The WSGI check passes a request on a bound taken in C over the whole
    # environ before counting exactly: it must refuse exactly what the
    # exact count refuses.
    environ = make_spec(Erlen("x"), "/").to_environ() if full else {}
    environ.update({f"HTTP_{k}": v for k, v in headers.items()}, **content)
    request = Request(
        "GET", "http", None, "", "/", b"", environ, input_stream=io.BytesIO()
    )
    count, size = _exact_header_count_and_size(environ)
    max_count = None if count_delta is None else max(0, count + count_delta)
    max_size = None if size_delta is None else max(0, size + size_delta)
    over = (max_count is not None and count > max_count) or (
        max_size is not None and size > max_size
    )
    result = request._header_limits_exceeded(max_count, max_size)
    assert result == ((count, size) if over else None)


@pytest.mark.parametrize(
    ("host", "valid"),
    [
        ("example.com", True),
        ("example.com:8000", True),
        ("example.com:9999", True),
        ("example.com:65535", True),
        ("example.com:0080", True),
        ("[::1]:8000", True),
        ("example.com:0", False),
        ("example.com:65536", False),
        ("example.com:", False),
        ("example.com:8x", False),
        ("[::1", False),
    ],
)
def test_host_ports(host: str, valid: bool) -> None:
    assert _host_port_is_valid(host) is valid
    if not valid:
        assert _PLAIN_HOST(host) is None


@PROPERTY
@given(
    pairs=st.lists(st.tuples(st.text(max_size=20), st.text(max_size=20)), max_size=10)
)
def test_query_string_round_trip(
    client: ErlenClient, pairs: list[tuple[str, str]]
) -> None:
    response = client.get("/args", query_string=urlencode(pairs).encode())
    ok(response)
    # A MultiDict lists the values of each name together, in order.
    expected: dict[str, list[str]] = {}
    for name, value in pairs:
        expected.setdefault(name, []).append(value)
    assert [tuple(p) for p in response.json["args"]] == [
        (name, value) for name, values in expected.items() for value in values
    ]


# -- cookies -------------------------------------------------------------------

#: Header text a server passes on: no CR, LF or NUL.
ASCII_HEADER = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.just("\t"),
    max_size=200,
)
LATIN1_HEADER = st.text(
    alphabet=st.characters(
        min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"
    )
    | st.just("\t"),
    max_size=200,
)


@PROPERTY
@given(header=ASCII_HEADER)
def test_any_ascii_cookie_header_parses(client: ErlenClient, header: str) -> None:
    client.delete_cookie("session")
    response = client.get("/cookies", headers={"Cookie": header})
    ok(response)


@PROPERTY
@given(header=LATIN1_HEADER)
def test_any_latin1_cookie_header_parses(client: ErlenClient, header: str) -> None:
    response = client.get("/cookies", headers={"Cookie": header})
    ok(response)


@PROPERTY
@given(
    header=st.text(alphabet=' \t;=",\\abc.-_\x7f\x0b', max_size=30)
    | st.sampled_from(["session=eyJu.ax-_", "a=1; b=2; a=3", "a b=c; d", " =x; ;y"])
)
def test_cookies_are_werkzeugs_parse_cookie(app: Erlen, header: str) -> None:
    # A plain header is split by Erlen's own pattern, any other by
    # Werkzeug's parse_cookie: both must give parse_cookie's result.
    with app.test_request_context(headers={"Cookie": header}):
        ours = list(request.cookies.items(multi=True))
    assert ours == list(parse_cookie(header).items(multi=True))


COOKIE_NAME = st.from_regex(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}", fullmatch=True)
COOKIE_VALUE = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\r\n\x00"),
    max_size=40,
)


@PROPERTY
@given(key=COOKIE_NAME, value=COOKIE_VALUE)
def test_cookie_round_trip(app: Erlen, driver: str, key: str, value: str) -> None:
    client = app.test_client(driver=driver)  # type: ignore[arg-type]
    try:
        ok(client.get("/set-cookie", query_string={"key": key, "value": value}))
        response = client.get("/cookies")
        ok(response)
        assert [tuple(c) for c in response.json["cookies"]] == [(key, value)]
    finally:
        client.close()


# -- headers -------------------------------------------------------------------

HEADER_NAMES = st.sampled_from(
    [
        "Accept",
        "Accept-Language",
        "Accept-Charset",
        "Accept-Encoding",
        "Authorization",
        "User-Agent",
        "Content-Type",
        "Content-Length",
        "Origin",
        "Referer",
        "Range",
        "If-Range",
        "If-Match",
        "If-None-Match",
        "If-Modified-Since",
        "If-Unmodified-Since",
        "X-Forwarded-For",
        "X-Forwarded-Host",
        "Sec-Fetch-Site",
    ]
) | st.from_regex(r"X-[A-Za-z0-9-]{1,20}", fullmatch=True)
INTERESTING_VALUES = st.sampled_from(
    [
        "bytes=0-5",
        "bytes=-3",
        "bytes=99-",
        "bytes=0-1,3-4",
        "*",
        '"etag", W/"weak"',
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Basic dXNlcjpwYXNz",
        "Bearer token",
        "Digest username=x",
        "text/html;q=0.9, */*;q=0.1",
        "multipart/form-data; boundary=",
        'text/plain; charset="utf-8"; x=y',
        "en-US,en;q=0.5",
        "application/json",
        "99999999999999999999",
    ]
)


@PROPERTY
@given(
    headers=st.lists(
        st.tuples(HEADER_NAMES, LATIN1_HEADER | INTERESTING_VALUES), max_size=8
    )
)
def test_any_headers_parse(client: ErlenClient, headers: list[tuple[str, str]]) -> None:
    # Header text keeps its leading/trailing spaces as a server passes
    # them trimmed; only distinct names (a server joins repeated ones).
    unique = {name.lower(): (name, value.strip(" \t")) for name, value in headers}
    sent = list(unique.values())
    response = client.get("/headers", headers=sent)
    ok(response)
    got = {name.lower(): value for name, value in response.json["headers"]}
    for name, value in sent:
        if name.lower() in ("content-type", "content-length") and not value:
            # An empty one is "not sent" in a WSGI environ (as CGI has it).
            continue
        assert got.get(name.lower()) == value, name


@PROPERTY
@given(
    headers=st.lists(
        st.tuples(HEADER_NAMES, LATIN1_HEADER | INTERESTING_VALUES), max_size=8
    )
)
def test_any_headers_on_a_static_file(
    client: ErlenClient, headers: list[tuple[str, str]]
) -> None:
    unique = {name.lower(): (name, value.strip(" \t")) for name, value in headers}
    response = client.get("/static/a.txt", headers=list(unique.values()))
    ok(response, 200, 206, 304, 412, 416)
    if response.status_code == 200:
        assert response.data == TEXT
    elif response.status_code == 206:
        start, _, rest = response.headers["Content-Range"][6:].partition("-")
        end = int(rest.partition("/")[0])
        assert response.data == TEXT[int(start) : end + 1]


# -- multipart -----------------------------------------------------------------

FIELD_NAME = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters='"\\\r\n\x00'),
    min_size=1,
    max_size=15,
)
FILE_NAME = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\r\n\x00"),
    min_size=1,
    max_size=15,
)
FIELD_VALUE = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=60)


@st.composite
def multipart_forms(
    draw: st.DrawFn,
) -> tuple[list[tuple[str, t.Any]], bytes, str, list[int]]:
    fields = draw(st.lists(st.tuples(FIELD_NAME, FIELD_VALUE), max_size=6))
    files = draw(
        st.lists(st.tuples(FIELD_NAME, FILE_NAME, st.binary(max_size=300)), max_size=4)
    )
    parts: list[tuple[str, t.Any]] = [(name, value) for name, value in fields]
    parts += [(name, (filename, data)) for name, filename, data in files]
    parts = draw(st.permutations(parts))
    # In the order sent: a MultiDict keeps each name's values in that order.
    expected = {
        "fields": [(n, v) for n, v in parts if isinstance(v, str)],
        "files": [(n, v[0], v[1]) for n, v in parts if not isinstance(v, str)],
    }
    items = [
        (n, v if isinstance(v, str) else (io.BytesIO(v[1]), v[0])) for n, v in parts
    ]
    body, boundary = encode_multipart(iter(items))
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=12)))
    return t.cast(t.Any, expected), body, boundary, cuts


def _pieces(body: bytes, cuts: list[int]) -> list[bytes]:
    edges = [0, *cuts, len(body)]
    return [body[a:b] for a, b in zip(edges, edges[1:], strict=False)]


class _Pieces(io.RawIOBase):
    """A ``wsgi.input`` that returns the body in the given pieces."""

    def __init__(self, pieces: list[bytes]) -> None:
        self._pieces = [p for p in pieces if p]

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        if not self._pieces:
            return b""
        piece = self._pieces[0]
        if 0 <= size < len(piece):
            self._pieces[0] = piece[size:]
            return piece[:size]
        self._pieces.pop(0)
        return piece


def _post_in_pieces(
    app: Erlen, driver: str, body: bytes, content_type: str, pieces: list[bytes]
) -> tuple[int, bytes]:
    spec = make_spec(app, "/form", method="POST", data=body, content_type=content_type)
    if driver == "wsgi":
        environ = spec.to_environ()
        environ["wsgi.input"] = _Pieces(pieces)
        out: dict[str, t.Any] = {}
        app_iter = app(environ, lambda status, headers, *_: out.update(status=status))
        try:
            data = b"".join(app_iter)
        finally:
            getattr(app_iter, "close", lambda: None)()
        return int(out["status"].split()[0]), data

    messages = [
        {"type": "http.request", "body": p, "more_body": i < len(pieces) - 1}
        for i, p in enumerate(pieces)
    ]
    sent: list[dict[str, t.Any]] = []

    async def run() -> None:
        done = asyncio.Event()

        async def receive() -> dict[str, t.Any]:
            if messages:
                return messages.pop(0)
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, t.Any]) -> None:
            sent.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                done.set()

        await app.asgi(spec.to_scope(), receive, send)

    asyncio.run(run())
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    data = b"".join(
        m.get("body", b"") for m in sent if m["type"] == "http.response.body"
    )
    return status, data


@settings(PROPERTY, max_examples=50)
@given(form=multipart_forms())
def test_multipart_round_trip_in_random_pieces(
    app: Erlen, driver: str, form: tuple[t.Any, bytes, str, list[int]]
) -> None:
    import json

    expected, body, boundary, cuts = form
    status, data = _post_in_pieces(
        app,
        driver,
        body,
        f"multipart/form-data; boundary={boundary}",
        _pieces(body, cuts),
    )
    assert status == 200, data[:300]
    got = json.loads(data)
    fields: dict[str, list[str]] = {}
    for name, value in expected["fields"]:
        fields.setdefault(name, []).append(value)
    files: dict[str, list[list[str]]] = {}
    for name, filename, content in expected["files"]:
        files.setdefault(name, []).append([filename, content.decode("latin-1")])
    assert got["form"] == fields
    assert got["files"] == files


# -- URL building and matching -------------------------------------------------

SEGMENT = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="/"),
    min_size=1,
    max_size=20,
)
# No newline in path values: see test_path_converter_round_trips_a_newline.
PATH = st.lists(
    st.text(
        alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="/\n"),
        min_size=1,
        max_size=20,
    ),
    min_size=1,
    max_size=4,
).map("/".join)


def _match(app: Erlen, url: str) -> tuple[str, dict[str, t.Any]]:
    """The endpoint and values ``url`` (as ``url_for`` built it) matches."""
    path = unquote(url, errors="strict")
    rule, values = app.url_map.match(path, "GET")
    return t.cast(str, rule.endpoint), values


@st.composite
def endpoint_values(draw: st.DrawFn) -> tuple[str, dict[str, t.Any]]:
    endpoint = draw(
        st.sampled_from(["string", "integer", "path", "uuid_", "any_", "mixed"])
    )
    if endpoint == "string":
        return endpoint, {"name": draw(SEGMENT)}
    if endpoint == "integer":
        return endpoint, {"n": draw(st.integers(0, 10**18))}
    if endpoint == "path":
        return endpoint, {"rest": draw(PATH)}
    if endpoint == "uuid_":
        return endpoint, {"id": draw(st.uuids())}
    if endpoint == "any_":
        return endpoint, {"color": draw(st.sampled_from(COLORS))}
    return endpoint, {
        "name": draw(SEGMENT),
        "n": draw(st.integers(0, 10**18)),
        "id": draw(st.uuids()),
        "rest": draw(PATH),
    }


@settings(PROPERTY, max_examples=100)
@given(case=endpoint_values())
def test_url_for_matches_back(app: Erlen, case: tuple[str, dict[str, t.Any]]) -> None:
    endpoint, values = case
    with app.test_request_context():
        url = url_for(endpoint, **values)
    assert url.isascii() and "?" not in url and "#" not in url
    try:
        matched, got = _match(app, url)
    except RequestRedirect as e:  # documented: a 308 to the canonical URL
        raise AssertionError(f"{url} redirected to {e.new_url}") from e
    except HTTPException as e:
        raise AssertionError(f"{url} (built from {values}) gave {e.code}") from e
    assert (matched, got) == (endpoint, values)


@PROPERTY
@given(case=endpoint_values())
def test_url_for_is_served(
    client: ErlenClient, case: tuple[str, dict[str, t.Any]]
) -> None:
    endpoint, values = case
    app = client.application
    with app.test_request_context():
        url = url_for(endpoint, **values)
    response = client.get(url)
    ok(response)
    if endpoint in ("string", "mixed"):
        assert response.text == values["name"]
    elif endpoint == "path":
        assert response.text == values["rest"]


@PROPERTY
@given(raw=st.text(max_size=40))
def test_any_path_matches_or_gives_a_documented_error(app: Erlen, raw: str) -> None:
    for prefix in ("/s/", "/i/", "/p/", "/u/", "/a/", "/m/", "/", "//"):
        try:
            app.url_map.match(prefix + raw, "GET")
        except HTTPException as e:
            assert e.code in (308, 404, 405), e


@pytest.mark.parametrize("rest", ["a\nb", "0\n", "x/\n"])
def test_path_converter_round_trips_a_newline(app: Erlen, rest: str) -> None:
    with app.test_request_context():
        url = url_for("path", rest=rest)
    try:
        endpoint, values = _match(app, url)
    except HTTPException as e:
        raise AssertionError(f"{url} gave {e.code}") from e
    assert (endpoint, values) == ("path", {"rest": rest})
