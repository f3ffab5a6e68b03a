"""Hostile bodies and query strings: separators, field-count and size
limits fed one byte at a time, malformed multipart, CR/LF floods, upload
file names, and JSON that is invalid, too deep or not JSON at all."""

from __future__ import annotations

import os
import typing as t
from pathlib import Path
from types import SimpleNamespace

import pytest

from erlen import Erlen, request
from erlen.security import safe_join
from erlen.testing import ErlenClient
from erlen.utils import secure_filename

from .helpers import (
    Trickle,
    assert_linear,
    body_messages,
    call_asgi,
    call_wsgi,
    check,
    environ_for,
    scope_for,
)

BOUNDARY = "erlen-boundary-0123456789"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def part(name: str | bytes, value: bytes, filename: str | bytes | None = None) -> bytes:
    """One multipart part (without the closing boundary)."""
    if isinstance(name, str):
        name = name.encode()
    disposition = b'Content-Disposition: form-data; name="' + name + b'"'
    if filename is not None:
        if isinstance(filename, str):
            filename = filename.encode()
        disposition += b'; filename="' + filename + b'"'
    return b"--%s\r\n%s\r\n\r\n%s\r\n" % (BOUNDARY.encode(), disposition, value)


def closing() -> bytes:
    return b"--%s--\r\n" % BOUNDARY.encode()


@pytest.fixture
def app(app: Erlen) -> Erlen:
    @app.route("/args")
    def args() -> dict[str, t.Any]:
        return {"args": list(request.args.items(multi=True))}

    @app.post("/form")
    def form() -> dict[str, t.Any]:
        return {
            "form": list(request.form.items(multi=True)),
            "files": [
                [name, f.filename, f.read().decode("latin-1")]
                for name, f in request.files.items(multi=True)
            ],
        }

    @app.post("/json")
    def json_body() -> dict[str, t.Any]:
        return {"json": request.json}

    return app


def assert_released(uploads: SimpleNamespace) -> None:
    assert uploads.created, "the case should have created an upload file"
    assert all(f.closed for f in uploads.created), "an upload file was left open"
    assert os.listdir(uploads.folder) == [], "a temporary file was left behind"


# -- separators and field counts -----------------------------------------------


def test_semicolon_does_not_separate_query_fields(client: ErlenClient) -> None:
    response = client.get("/args?a=1;b=2")
    check(response, 200)
    assert response.json["args"] == [["a", "1;b=2"]]


def test_semicolon_does_not_separate_form_fields(client: ErlenClient) -> None:
    response = client.post(
        "/form", data=b"a=1;b=2", content_type="application/x-www-form-urlencoded"
    )
    check(response, 200)
    assert response.json["form"] == [["a", "1;b=2"]]


def _multipart_fields(count: int) -> bytes:
    return b"".join(part(f"k{i}", b"v") for i in range(count)) + closing()


@pytest.mark.parametrize(("count", "status"), [(5, 200), (6, 413)])
def test_max_form_parts_at_and_over(
    client: ErlenClient, count: int, status: int
) -> None:
    client.application.config["MAX_FORM_PARTS"] = 5
    response = client.post(
        "/form", data=_multipart_fields(count), content_type=MULTIPART
    )
    check(response, status)
    if status == 200:
        assert len(response.json["form"]) == 5


def test_max_form_parts_disabled(client: ErlenClient) -> None:
    client.application.config["MAX_FORM_PARTS"] = None
    response = client.post(
        "/form", data=_multipart_fields(1500), content_type=MULTIPART
    )
    check(response, 200)
    assert len(response.json["form"]) == 1500


def test_max_form_parts_files_count_and_are_released(
    client: ErlenClient, uploads: SimpleNamespace
) -> None:
    client.application.config["MAX_FORM_PARTS"] = 2
    body = b"".join(part("f", b"x" * 100, f"{i}.txt") for i in range(3)) + closing()
    response = client.post("/form", data=body, content_type=MULTIPART)
    check(response, 413)
    assert_released(uploads)


def _urlencoded(count: int) -> bytes:
    return "&".join(f"k{i}=v" for i in range(count)).encode()


def test_max_form_fields_at_limit_passes(client: ErlenClient) -> None:
    client.application.config["MAX_FORM_FIELDS"] = 100
    response = client.post(
        "/form", data=_urlencoded(100), content_type="application/x-www-form-urlencoded"
    )
    check(response, 200)
    assert len(response.json["form"]) == 100


def test_max_form_fields_over_limit_is_413(client: ErlenClient) -> None:
    client.application.config["MAX_FORM_FIELDS"] = 100
    response = client.post(
        "/form", data=_urlencoded(101), content_type="application/x-www-form-urlencoded"
    )
    check(response, 413)


def test_max_form_fields_disabled(client: ErlenClient) -> None:
    client.application.config["MAX_FORM_FIELDS"] = None
    response = client.post(
        "/form",
        data=_urlencoded(5000),
        content_type="application/x-www-form-urlencoded",
    )
    check(response, 200)
    assert len(response.json["form"]) == 5000


def test_max_form_fields_query_at_limit_passes(client: ErlenClient) -> None:
    client.application.config["MAX_FORM_FIELDS"] = 100
    response = client.get("/args", query_string=_urlencoded(100))
    check(response, 200)
    assert len(response.json["args"]) == 100


def test_max_form_fields_query_over_limit_is_413(client: ErlenClient) -> None:
    client.application.config["MAX_FORM_FIELDS"] = 100
    response = client.get("/args", query_string=_urlencoded(101))
    check(response, 413)


def test_max_form_fields_has_a_default(client: ErlenClient) -> None:
    # The body is under the memory limit: only the field count can refuse it.
    client.application.config["MAX_FORM_MEMORY_SIZE"] = None
    response = client.post(
        "/form",
        data=b"&".join([b"a"] * 100_000),
        content_type="application/x-www-form-urlencoded",
    )
    check(response, 413)


def test_max_form_fields_query_has_a_default(client: ErlenClient) -> None:
    response = client.get("/args", query_string=b"&".join([b"a"] * 100_000))
    check(response, 413)


# -- size limits, fed one byte at a time ---------------------------------------

LIMIT = 100_000


def _one_field(size: int) -> bytes:
    return part("field", b"y" * size) + closing()


def _post_trickled(
    app: Erlen,
    driver: str,
    body: bytes,
    chunked: bool = False,
    content_type: str = MULTIPART,
) -> t.Any:
    """POST ``body`` to ``/form`` one byte per read (WSGI) or per
    ``http.request`` message (ASGI); ``chunked`` sends no Content-Length."""
    headers = [("Content-Type", content_type)]
    if not chunked:
        headers.append(("Content-Length", str(len(body))))
    if driver == "wsgi":
        environ = environ_for(app, "/form", method="POST", headers=headers)
        if chunked:
            environ.pop("CONTENT_LENGTH", None)
            environ["wsgi.input_terminated"] = True
        environ["wsgi.input"] = Trickle(body, 1)
        return call_wsgi(app, environ)
    scope = scope_for(app, "/form", method="POST", headers=headers)
    if chunked:
        scope["headers"] = [h for h in scope["headers"] if h[0] != b"content-length"]
    result, _ = call_asgi(app, scope, body_messages(body, 1))
    assert result is not None
    return result


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
@pytest.mark.parametrize(("size", "status"), [(LIMIT, 200), (LIMIT + 1, 413)])
def test_max_form_memory_size_one_byte_at_a_time(
    app: Erlen, driver: str, size: int, status: int, chunked: bool
) -> None:
    app.config["MAX_FORM_MEMORY_SIZE"] = LIMIT
    result = _post_trickled(app, driver, _one_field(size), chunked)
    check(result, status)
    if status == 200:
        assert len(result.body) > size


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
@pytest.mark.parametrize(("size", "status"), [(10_000, 200), (10_001, 413)])
def test_max_content_length_urlencoded_one_byte_at_a_time(
    app: Erlen, driver: str, size: int, status: int, chunked: bool
) -> None:
    # MAX_FORM_MEMORY_SIZE is for multipart fields (as in Werkzeug); a
    # urlencoded body, read whole, is bounded by MAX_CONTENT_LENGTH.
    app.config["MAX_FORM_MEMORY_SIZE"] = 10
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    body = b"field=" + b"y" * (size - len(b"field="))
    urlencoded = "application/x-www-form-urlencoded"
    result = _post_trickled(app, driver, body, chunked, urlencoded)
    check(result, status)


def test_max_form_memory_size_disabled_one_byte_at_a_time(
    app: Erlen, driver: str
) -> None:
    app.config["MAX_FORM_MEMORY_SIZE"] = None
    result = _post_trickled(app, driver, _one_field(LIMIT + 1))
    check(result, 200)


@pytest.mark.parametrize(("size", "status"), [(1000, 200), (1001, 413)])
def test_max_content_length_without_declared_length(
    app: Erlen, driver: str, size: int, status: int
) -> None:
    # No Content-Length: the limit is found while reading, and reading stops.
    app.config["MAX_CONTENT_LENGTH"] = 1000

    @app.post("/raw")
    def raw() -> str:
        return str(len(request.get_data()))

    body = b"z" * size
    if driver == "wsgi":
        environ = environ_for(app, "/raw", method="POST")
        environ.pop("CONTENT_LENGTH", None)
        environ["wsgi.input"] = Trickle(body + b"tail never read" * 1000, 100)
        environ["wsgi.input_terminated"] = True
        # The stream ends where the body does: only ``size`` bytes are sent.
        environ["wsgi.input"] = Trickle(body, 100)
        result = call_wsgi(app, environ)
    else:
        scope = scope_for(app, "/raw", method="POST")
        scope["headers"] = [h for h in scope["headers"] if h[0] != b"content-length"]
        got, _ = call_asgi(app, scope, body_messages(body, 100))
        assert got is not None
        result = got
    check(result, status)
    if status == 200:
        assert result.body == b"1000"


def test_asgi_stops_receiving_past_the_limit(app: Erlen) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1000
    scope = scope_for(
        app, "/form", method="POST", headers=[("Content-Type", MULTIPART)]
    )
    scope["headers"] = [h for h in scope["headers"] if h[0] != b"content-length"]
    messages = body_messages(b"q" * 10_000_000, 100)
    result, _ = call_asgi(app, scope, messages)
    assert result is not None
    check(result, 413)
    # 1000 bytes in 100-byte messages: the eleventh is over; nothing after it.
    assert len(body_messages(b"q" * 10_000_000, 100)) - len(messages) <= 12


def test_max_content_length_default_is_16_mib(app: Erlen) -> None:
    assert app.config["MAX_CONTENT_LENGTH"] == 16 * 1024 * 1024


def test_default_body_limit_one_over(client: ErlenClient) -> None:
    response = client.post(
        "/json", data=b" " * (16 * 1024 * 1024 + 1), content_type="application/json"
    )
    check(response, 413)


def test_default_body_limit_at_limit_passes(client: ErlenClient) -> None:
    body = b" " * (16 * 1024 * 1024 - 2) + b"{}"
    response = client.post("/json", data=body, content_type="application/json")
    check(response, 200)
    assert response.json == {"json": {}}


# -- malformed multipart -------------------------------------------------------

GOOD = part("a", b"1") + closing()


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", GOOD),
        ("multipart/form-data; boundary=", GOOD),
        ('multipart/form-data; boundary=""', GOOD),
        (MULTIPART, GOOD[:30]),  # premature EOF inside the part headers
        (MULTIPART, part("a", b"1")),  # no closing boundary
        (MULTIPART, part("a", b"1")[:-2]),  # EOF inside the data
        (MULTIPART, b""),
        (MULTIPART, b"not multipart at all"),
        (MULTIPART, b"--" + BOUNDARY.encode() + b"\r\n\r\n"),  # no part headers
    ],
    ids=[
        "missing-boundary",
        "empty-boundary",
        "quoted-empty-boundary",
        "eof-in-headers",
        "no-closing-boundary",
        "eof-in-data",
        "empty-body",
        "garbage",
        "no-part-headers",
    ],
)
def test_malformed_multipart_is_a_400(
    client: ErlenClient, content_type: str, body: bytes
) -> None:
    """Erlen answers a malformed multipart body with a 400 that says so
    (Flask silently gives an empty form, which hides the client's mistake)."""
    response = client.post("/form", data=body, content_type=content_type)
    check(response, 400)
    assert b"multipart" in response.data


@pytest.mark.parametrize("length", [71, 5000])
def test_overlong_boundary_is_refused(client: ErlenClient, length: int) -> None:
    boundary = "x" * length
    body = GOOD.replace(BOUNDARY.encode(), boundary.encode())
    response = client.post(
        "/form", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code in (200, 400)
    assert_clean = check  # the body must leak nothing either way
    assert_clean(response, response.status_code)
    if response.status_code == 200:
        assert response.json == {"form": [], "files": []}


def test_boundary_of_70_characters_is_accepted(client: ErlenClient) -> None:
    boundary = "x" * 70
    body = GOOD.replace(BOUNDARY.encode(), boundary.encode())
    response = client.post(
        "/form", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    check(response, 200)
    assert response.json["form"] == [["a", "1"]]


def test_boundary_beyond_latin_1_is_refused(client: ErlenClient) -> None:
    # RFC 2231 lets a parameter carry any character; a boundary must be
    # bytes of the body.
    response = client.post(
        "/form",
        data=GOOD,
        content_type="multipart/form-data; boundary*=UTF-8''%E2%82%AC",
    )
    check(response, 400)
    assert b"boundary" in response.data


def test_truncated_upload_releases_its_file(
    client: ErlenClient, uploads: SimpleNamespace
) -> None:
    body = part("f", b"x" * 600_000, "big.bin")[:-2]  # no end: EOF in the data
    response = client.post("/form", data=body, content_type=MULTIPART)
    check(response, 400)
    assert_released(uploads)


def test_complete_upload_releases_its_file(
    client: ErlenClient, uploads: SimpleNamespace
) -> None:
    body = part("f", b"x" * 600_000, "big.bin") + closing()
    response = client.post("/form", data=body, content_type=MULTIPART)
    check(response, 200)
    assert response.json["files"][0][:2] == ["f", "big.bin"]
    assert_released(uploads)


def test_part_without_name_is_ignored(client: ErlenClient) -> None:
    body = (
        b"--%s\r\nContent-Disposition: form-data\r\n\r\nnameless\r\n"
        % BOUNDARY.encode()
        + part("a", b"1")
        + closing()
    )
    response = client.post("/form", data=body, content_type=MULTIPART)
    check(response, 200)
    assert response.json["form"] == [["a", "1"]]


# -- invalid UTF-8 in forms ----------------------------------------------------


def test_invalid_utf8_in_urlencoded_form(client: ErlenClient) -> None:
    response = client.post(
        "/form",
        data=b"a=\xff%fe&%c0%ae=2",
        content_type="application/x-www-form-urlencoded",
    )
    check(response, 200)
    assert response.json["form"] == [["a", "\ufffd\ufffd"], ["\ufffd\ufffd", "2"]]


def test_invalid_utf8_in_multipart_value(client: ErlenClient) -> None:
    body = part("a", b"\xff\xc0\xae") + closing()
    response = client.post("/form", data=body, content_type=MULTIPART)
    check(response, 200)
    assert response.json["form"] == [["a", "\ufffd\ufffd\ufffd"]]


@pytest.mark.parametrize("where", ["name", "filename"])
def test_invalid_utf8_in_multipart_headers(client: ErlenClient, where: str) -> None:
    if where == "name":
        bad = part(b"\xff", b"2")
        expected_form = [["a", "1"], ["\ufffd", "2"]]
    else:
        bad = part("f", b"2", b"\xff.txt")
        expected_form = [["a", "1"]]
    body = part("a", b"1") + bad + closing()
    response = client.post("/form", data=body, content_type=MULTIPART)
    assert response.status_code in (200, 400)
    check(response, response.status_code)
    if response.status_code == 200:
        assert response.json["form"] == expected_form


# -- CR/LF floods --------------------------------------------------------------


def test_crlf_flood_before_first_boundary_is_linear(client: ErlenClient) -> None:
    # The preamble is skipped, not kept: it does not count against
    # MAX_FORM_MEMORY_SIZE (Werkzeug's decoder keeps it, so Flask answers a
    # preamble over the limit with a 413).
    client.application.config["MAX_CONTENT_LENGTH"] = 64 * 1024 * 1024

    def make(n: int) -> t.Callable[[], object]:
        body = b"\r\n" * (n // 2) + GOOD

        def run() -> None:
            response = client.post("/form", data=body, content_type=MULTIPART)
            check(response, 200)
            assert response.json["form"] == [["a", "1"]]

        return run

    assert_linear(make, 5_000_000)  # 5 MB then 10 MB


def test_part_starting_with_crlf_then_no_newline_is_linear(
    client: ErlenClient,
) -> None:
    client.application.config["MAX_CONTENT_LENGTH"] = 64 * 1024 * 1024

    def make(n: int) -> t.Callable[[], object]:
        body = part("f", b"\r\n" + b"x" * n, "f.bin") + closing()

        def run() -> None:
            response = client.post("/form", data=body, content_type=MULTIPART)
            check(response, 200)

        return run

    assert_linear(make, 4_000_000)


def test_many_lone_cr_in_a_part_is_linear(client: ErlenClient) -> None:
    client.application.config["MAX_CONTENT_LENGTH"] = 64 * 1024 * 1024

    def make(n: int) -> t.Callable[[], object]:
        body = part("f", b"\r" * n, "f.bin") + closing()
        return lambda: check(
            client.post("/form", data=body, content_type=MULTIPART), 200
        )

    assert_linear(make, 4_000_000)


# -- upload file names ---------------------------------------------------------

HOSTILE_NAMES = [
    "../../x",
    "../../../etc/passwd",
    "/etc/passwd",
    "C:\\x",
    "C:\\Windows\\win.ini",
    "\\\\srv\\share\\x",
    "a\x00b.txt",
    "x\x00/../../y",
    "..",
    ".",
    "...",
    ".bashrc",
    "a" * 1024,
    "é/../ü.txt",
    "a\r\nb.txt",
    "..\\..\\x",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_secure_filename_is_safe(name: str, tmp_path: Path) -> None:
    safe = secure_filename(name)
    assert "/" not in safe and "\\" not in safe and "\x00" not in safe
    assert not safe.startswith(".")
    assert safe.isascii()
    assert "\r" not in safe and "\n" not in safe
    assert len(safe.encode()) <= 255
    if safe:
        joined = safe_join(str(tmp_path), safe)
        assert joined is not None
        assert os.path.dirname(os.path.abspath(joined)) == str(tmp_path)


@pytest.mark.parametrize("name", ["CON", "aux.txt", "nul", "COM1.log", "lpt9"])
def test_secure_filename_windows_device_names(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "name", "nt")
    safe = secure_filename(name)
    assert safe.split(".")[0].upper() not in {"CON", "AUX", "NUL", "COM1", "LPT9"}


@pytest.mark.parametrize(
    "name", ["../../x", "/etc/passwd", "C:\\x", "\\\\srv\\share\\x", "../\x00.txt"]
)
def test_safe_join_refuses_raw_upload_names(name: str, tmp_path: Path) -> None:
    assert safe_join(str(tmp_path), name) is None


def test_uploaded_filename_is_kept_raw_and_saved_safely(
    app: Erlen, client: ErlenClient, tmp_path: Path, uploads: SimpleNamespace
) -> None:
    """The app gets the client's name as sent (so it can log or refuse it);
    the framework itself never uses it as a path, and the documented recipe
    keeps the saved file inside the upload folder."""
    target = tmp_path / "uploads"
    target.mkdir()
    names = ["../../pwned.txt", "/tmp/pwned.txt", "..\\..\\pwned.txt", "\x00pwned"]

    @app.post("/upload")
    def upload() -> dict[str, t.Any]:
        saved = []
        for f in request.files.getlist("f"):
            # While the request runs, no temporary file is named after it.
            assert not any("pwned" in n for n in os.listdir(uploads.folder))
            dest = safe_join(str(target), secure_filename(f.filename or ""))
            assert dest is not None
            f.save(dest)
            saved.append([f.filename, os.path.basename(dest)])
        return {"saved": saved}

    body = b"".join(part("f", b"x" * 600_000, n) for n in names) + closing()
    response = client.post("/upload", data=body, content_type=MULTIPART)
    check(response, 200)
    raw_names = [s[0] for s in response.json["saved"]]
    # As sent (the backslashes of the third are quoted-string escapes).
    assert [raw_names[i] for i in (0, 1, 3)] == [names[i] for i in (0, 1, 3)]
    for _, saved in response.json["saved"]:
        assert (target / saved).is_file()
    # Nothing was written outside the upload folder.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["static", "static2", "secret.txt", "uploads", "tmp"]
    )
    assert_released(uploads)


@pytest.mark.logs_errors
def test_uploaded_1kb_filename_saves(
    app: Erlen, client: ErlenClient, tmp_path: Path
) -> None:
    @app.post("/upload")
    def upload() -> str:
        f = request.files["f"]
        dest = safe_join(str(tmp_path), secure_filename(f.filename or ""))
        assert dest is not None
        f.save(dest)
        return os.path.basename(dest)

    body = part("f", b"x", "a" * 1024) + closing()
    response = client.post("/upload", data=body, content_type=MULTIPART)
    check(response, 200)
    assert (tmp_path / response.data.decode()).is_file()


# -- JSON ----------------------------------------------------------------------


def test_json_invalid_utf8_is_400(client: ErlenClient) -> None:
    response = client.post(
        "/json", data=b'{"a": "\xff\xfe"}', content_type="application/json"
    )
    check(response, 400)


def test_json_100000_levels_deep_is_400(client: ErlenClient) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    response = client.post("/json", data=body, content_type="application/json")
    check(response, 400)


def test_json_deeply_nested_objects_are_400(client: ErlenClient) -> None:
    body = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    response = client.post("/json", data=body, content_type="application/json")
    check(response, 400)


def test_json_depth_costs_linear_time(client: ErlenClient) -> None:
    def make(n: int) -> t.Callable[[], object]:
        body = b"[" * n + b"]" * n
        return lambda: check(
            client.post("/json", data=body, content_type="application/json"), 400
        )

    assert_linear(make, 200_000)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", None]
)
def test_json_wrong_content_type_is_415(
    client: ErlenClient, content_type: str | None
) -> None:
    response = client.post("/json", data=b'{"a": 1}', content_type=content_type)
    check(response, 415)


def test_json_vendor_type_is_accepted(client: ErlenClient) -> None:
    response = client.post(
        "/json", data=b'{"a": 1}', content_type="application/vnd.api+json"
    )
    check(response, 200)
    assert response.json == {"json": {"a": 1}}
