"""Static files, ``send_file`` and ``send_from_directory``, through both
drivers, against Flask where Flask has the behaviour.

Flask is imported here only, to compare; ``src/erlen`` never imports it.  The
Flask twin of the ``app`` fixture shares its ``root_path``, so the same file
gives both frameworks the same path, size and modification time: ETags,
``Last-Modified`` and every other header can be compared as they are.
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
import typing as t
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import flask
import pytest
from flask_compare import both
from werkzeug.http import parse_date

import erlen
from erlen import Erlen
from erlen.exceptions import NotFound
from erlen.files import (
    BLOCK_SIZE,
    FileBody,
    content_disposition,
    make_conditional,
    parse_byte_range,
)
from erlen.security import safe_join
from erlen.testing import ErlenClient, make_spec

TEXT = b"hello world 0123456789"  # 22 bytes
SIZE = len(TEXT)

#: Headers compared with Flask's.
COMPARED = (
    "Content-Type",
    "Content-Length",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Range",
    "ETag",
    "Last-Modified",
    "Cache-Control",
    "Accept-Ranges",
)


@pytest.fixture
def app(tmp_path: Path) -> Erlen:
    """An app whose root holds ``static/`` and, outside it, a secret file
    and a sibling folder whose name starts like the static folder's."""
    static = tmp_path / "static"
    (static / "sub").mkdir(parents=True)
    (static / "a.txt").write_bytes(TEXT)
    (static / "page.html").write_text("<p>hi</p>")
    (static / "sub" / "b.css").write_text("b {}")
    (static / "empty.txt").write_bytes(b"")
    (static / "archive.tar.gz").write_bytes(b"\x1f\x8b not really")
    (static / ".hidden").write_text("dot")
    (tmp_path / "secret.txt").write_text("SECRET")
    (tmp_path / "static2").mkdir()
    (tmp_path / "static2" / "secret.txt").write_text("SECRET2")
    app = Erlen("static_test", root_path=str(tmp_path))
    app.config.update(TESTING=True, SECRET_KEY="test key")
    return app


@pytest.fixture
def flask_app(app: Erlen) -> flask.Flask:
    """Flask's twin of ``app``: same root, same static folder."""
    fapp = flask.Flask("flask_twin", root_path=app.root_path)
    fapp.config.update(TESTING=True, SECRET_KEY="test key")
    return fapp


def twin(
    client: ErlenClient,
    flask_app: flask.Flask,
    rule: str,
    make_view: t.Callable[[ModuleType], t.Callable[..., t.Any]],
    methods: tuple[str, ...] = ("GET",),
) -> flask.testing.FlaskClient:
    """Register ``make_view(erlen)`` and ``make_view(flask)`` at ``rule``."""
    client.application.add_url_rule(rule, rule, make_view(erlen), methods=list(methods))
    flask_app.add_url_rule(rule, rule, make_view(flask), methods=list(methods))
    return flask_app.test_client()


def assert_same(flask_response: t.Any, erlen_response: t.Any) -> None:
    """Same status, body and compared headers; ``Expires`` sent by both or
    by neither."""
    assert erlen_response.status_code == flask_response.status_code
    assert erlen_response.data == flask_response.data
    for name in COMPARED:
        assert erlen_response.headers.get(name) == flask_response.headers.get(name), (
            name
        )
    assert ("Expires" in erlen_response.headers) == (
        "Expires" in flask_response.headers
    )


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[FileBody]:
    """Every :class:`FileBody` made during the test, to check it was closed."""
    bodies: list[FileBody] = []
    init = FileBody.__init__

    def record(self: FileBody, *args: t.Any, **kwargs: t.Any) -> None:
        init(self, *args, **kwargs)
        bodies.append(self)

    monkeypatch.setattr(FileBody, "__init__", record)
    return bodies


# -- the static route --------------------------------------------------------


def test_static_file_same_as_flask(client: ErlenClient, flask_app: flask.Flask) -> None:
    fc = flask_app.test_client()
    for path in ("/static/a.txt", "/static/page.html", "/static/sub/b.css"):
        assert_same(*both(client, fc, path))
    response = client.get("/static/a.txt")
    assert response.data == TEXT
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Accept-Ranges"] == "bytes"


def test_static_head_same_as_flask(client: ErlenClient, flask_app: flask.Flask) -> None:
    f, e = both(client, flask_app.test_client(), "/static/a.txt", method="HEAD")
    assert_same(f, e)
    assert e.data == b""
    assert e.headers["Content-Length"] == str(SIZE)


def test_static_endpoint_and_url_for(app: Erlen, client: ErlenClient) -> None:
    assert "static" in app.view_functions
    with app.test_request_context():
        assert erlen.url_for("static", filename="sub/b.css") == "/static/sub/b.css"
    assert client.get("/static/sub/b.css").data == b"b {}"


def test_custom_static_url_path_and_folder(tmp_path: Path, driver: str) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "x.js").write_text("let x;")
    app = Erlen(
        "custom_static",
        root_path=str(tmp_path),
        static_folder="assets",
        static_url_path="/s",
    )
    client = app.test_client(driver=driver)
    response = client.get("/s/x.js")
    assert response.status_code == 200
    assert response.data == b"let x;"
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert client.get("/assets/x.js").status_code == 404
    with app.test_request_context():
        assert erlen.url_for("static", filename="x.js") == "/s/x.js"


def test_no_static_folder_no_route(tmp_path: Path, driver: str) -> None:
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "a.txt").write_bytes(TEXT)
    app = Erlen("no_static", root_path=str(tmp_path), static_folder=None)
    assert "static" not in app.view_functions
    client = app.test_client(driver=driver)
    assert client.get("/static/a.txt").status_code == 404
    with pytest.raises(RuntimeError, match="static_folder"):
        app.send_static_file("a.txt")


def test_send_static_file_in_a_view(app: Erlen, client: ErlenClient) -> None:
    @app.get("/favicon.ico")
    def favicon() -> erlen.Response:
        return app.send_static_file("a.txt")

    response = client.get("/favicon.ico")
    assert response.data == TEXT
    assert response.headers["Content-Disposition"] == "inline; filename=a.txt"


def test_hidden_files_are_served_like_flask(
    client: ErlenClient, flask_app: flask.Flask
) -> None:
    # Flask serves every file in the folder; so does Erlen (documented).
    assert_same(*both(client, flask_app.test_client(), "/static/.hidden"))


@pytest.mark.parametrize(
    ("value", "cache_control"),
    [
        (None, "no-cache"),
        (60, "public, max-age=60"),
        (timedelta(hours=1), "public, max-age=3600"),
        (0, "no-cache, max-age=0"),
    ],
)
def test_send_file_max_age_default(
    app: Erlen,
    client: ErlenClient,
    flask_app: flask.Flask,
    value: t.Any,
    cache_control: str,
) -> None:
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = value
    flask_app.config["SEND_FILE_MAX_AGE_DEFAULT"] = value
    f, e = both(client, flask_app.test_client(), "/static/a.txt")
    assert_same(f, e)
    assert e.headers["Cache-Control"] == cache_control
    if value is None:
        assert "Expires" not in e.headers
    else:
        expires = parse_date(e.headers["Expires"])
        assert expires is not None
        seconds = int(value.total_seconds()) if isinstance(value, timedelta) else value
        expected = datetime.now(UTC) + timedelta(seconds=seconds)
        assert abs((expires - expected).total_seconds()) < 5


def test_get_send_file_max_age_override(tmp_path: Path, driver: str) -> None:
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "a.txt").write_bytes(TEXT)
    (tmp_path / "static" / "app.js").write_text("let x;")

    class App(Erlen):
        def get_send_file_max_age(self, filename: str | None) -> int | None:
            return 3600 if filename and filename.endswith(".js") else None

    app = App("override", root_path=str(tmp_path))
    client = app.test_client(driver=driver)
    assert client.get("/static/app.js").headers["Cache-Control"] == (
        "public, max-age=3600"
    )
    assert client.get("/static/a.txt").headers["Cache-Control"] == "no-cache"


# -- send_file ----------------------------------------------------------------


SEND_FILE_CASES: list[tuple[str, dict[str, t.Any]]] = [
    ("static/a.txt", {}),
    ("static/a.txt", {"as_attachment": True}),
    ("static/a.txt", {"download_name": "report.csv"}),
    ("static/a.txt", {"download_name": "a b.txt", "as_attachment": True}),
    ("static/a.txt", {"download_name": 'a "b";c.txt', "as_attachment": True}),
    ("static/a.txt", {"download_name": "100%.txt"}),
    (
        "static/a.txt",
        {"download_name": 'Ñandú €uro "q";.txt', "as_attachment": True},
    ),
    ("static/a.txt", {"download_name": "日本.txt"}),
    ("static/a.txt", {"download_name": "résumé.pdf", "as_attachment": True}),
    ("static/a.txt", {"download_name": "noext"}),
    ("static/a.txt", {"mimetype": "application/x-custom"}),
    ("static/a.txt", {"mimetype": "text/csv"}),
    ("static/archive.tar.gz", {}),
    ("static/archive.tar.gz", {"as_attachment": True}),
    ("static/a.txt", {"etag": "v1"}),
    ("static/a.txt", {"etag": False}),
    (
        "static/a.txt",
        {"last_modified": datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)},
    ),
    ("static/a.txt", {"last_modified": 1_600_000_000}),
    ("static/a.txt", {"max_age": 120}),
    ("static/a.txt", {"max_age": 0}),
    ("static/a.txt", {"conditional": False}),
    ("static/empty.txt", {}),
]


@pytest.mark.parametrize(("path", "kwargs"), SEND_FILE_CASES)
def test_send_file_same_as_flask(
    client: ErlenClient,
    flask_app: flask.Flask,
    path: str,
    kwargs: dict[str, t.Any],
) -> None:
    fc = twin(
        client,
        flask_app,
        "/f",
        lambda fw: lambda: fw.send_file(path, **kwargs),
        methods=("GET", "HEAD"),
    )
    assert_same(*both(client, fc, "/f"))
    assert_same(*both(client, fc, "/f", method="HEAD"))


def test_non_ascii_download_name(client: ErlenClient) -> None:
    client.application.add_url_rule(
        "/d",
        "d",
        lambda: erlen.send_file(
            "static/a.txt", as_attachment=True, download_name="Ñandú €.txt"
        ),
    )
    assert client.get("/d").headers["Content-Disposition"] == (
        "attachment; filename=\"Nandu .txt\"; filename*=UTF-8''"
        "%C3%91and%C3%BA%20%E2%82%AC.txt"
    )


def test_content_disposition() -> None:
    assert content_disposition("inline", "a.txt") == "inline; filename=a.txt"
    assert content_disposition("attachment", "a b.txt") == (
        'attachment; filename="a b.txt"'
    )
    assert content_disposition("attachment", "日本.txt") == (
        "attachment; filename=.txt; filename*=UTF-8''%E6%97%A5%E6%9C%AC.txt"
    )


def test_newline_in_download_name_is_refused(client: ErlenClient) -> None:
    client.application.add_url_rule(
        "/d", "d", lambda: erlen.send_file("static/a.txt", download_name="a\nb")
    )
    with pytest.raises(ValueError, match="newline"):
        client.get("/d")


def test_max_age_callable_gets_the_path(
    app: Erlen, client: ErlenClient, flask_app: flask.Flask
) -> None:
    seen: list[t.Any] = []

    def max_age(path: str | None) -> int:
        seen.append(path)
        return 10

    fc = twin(
        client,
        flask_app,
        "/f",
        lambda fw: lambda: fw.send_file("static/a.txt", max_age=max_age),
    )
    assert_same(*both(client, fc, "/f"))
    assert seen == [os.path.join(app.root_path, "static/a.txt")] * 2


def test_relative_path_is_relative_to_root_path(
    client: ErlenClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    client.application.add_url_rule("/f", "f", lambda: erlen.send_file("static/a.txt"))
    client.application.add_url_rule(
        "/d", "d", lambda: erlen.send_from_directory("static", "a.txt")
    )
    assert client.get("/f").data == TEXT
    assert client.get("/d").data == TEXT


def test_missing_path_raises(client: ErlenClient) -> None:
    client.application.add_url_rule(
        "/f", "f", lambda: erlen.send_file("static/missing.txt")
    )
    with pytest.raises(FileNotFoundError):
        client.get("/f")


@pytest.mark.parametrize(
    ("kwargs", "mimetype", "disposition"),
    [
        ({"mimetype": "text/plain"}, "text/plain; charset=utf-8", None),
        (
            {"download_name": "x.csv"},
            "text/csv; charset=utf-8",
            "inline; filename=x.csv",
        ),
        (
            {"download_name": "x.bin", "as_attachment": True},
            "application/octet-stream",
            "attachment; filename=x.bin",
        ),
    ],
)
def test_send_bytesio_same_as_flask(
    client: ErlenClient,
    flask_app: flask.Flask,
    kwargs: dict[str, t.Any],
    mimetype: str,
    disposition: str | None,
) -> None:
    fc = twin(
        client,
        flask_app,
        "/f",
        lambda fw: lambda: fw.send_file(io.BytesIO(TEXT), **kwargs),
    )
    f, e = both(client, fc, "/f")
    assert_same(f, e)
    assert e.headers["Content-Type"] == mimetype
    assert e.headers.get("Content-Disposition") == disposition
    assert e.headers["Content-Length"] == str(SIZE)
    assert "ETag" not in e.headers and "Last-Modified" not in e.headers


@pytest.mark.parametrize(
    ("make_file", "kwargs", "error", "match"),
    [
        (lambda: io.BytesIO(TEXT), {}, TypeError, "Unable to detect the MIME type"),
        (
            lambda: io.BytesIO(TEXT),
            {"mimetype": "text/plain", "as_attachment": True},
            TypeError,
            "No name provided for attachment",
        ),
        (lambda: io.StringIO("x"), {"mimetype": "text/plain"}, ValueError, "binary"),
    ],
)
def test_send_file_object_errors(
    client: ErlenClient,
    make_file: t.Callable[[], t.IO[t.Any]],
    kwargs: dict[str, t.Any],
    error: type[Exception],
    match: str,
) -> None:
    files: list[t.IO[t.Any]] = []

    def view() -> erlen.Response:
        files.append(make_file())
        return erlen.send_file(files[-1], **kwargs)

    client.application.add_url_rule("/f", "f", view)
    with pytest.raises(error, match=match):
        client.get("/f")
    if isinstance(files[0], io.BytesIO):
        assert files[0].closed  # owned by send_file, closed on error


def test_file_object_sent_from_its_position(app: Erlen, client: ErlenClient) -> None:
    def from_bytesio() -> erlen.Response:
        data = io.BytesIO(TEXT)
        data.seek(6)
        return erlen.send_file(data, mimetype="text/plain")

    def from_real_file() -> erlen.Response:
        file = open(os.path.join(app.root_path, "static/a.txt"), "rb")  # noqa: SIM115
        file.read(6)
        return erlen.send_file(file, download_name="a.txt")

    app.add_url_rule("/bio", "bio", from_bytesio)
    app.add_url_rule("/real", "real", from_real_file)
    for path in ("/bio", "/real"):
        response = client.get(path)
        assert response.data == TEXT[6:]
        assert response.headers["Content-Length"] == str(SIZE - 6)
        ranged = client.get(path, headers={"Range": "bytes=0-4"})
        assert ranged.status_code == 206
        assert ranged.data == TEXT[6:11]
        assert ranged.headers["Content-Range"] == f"bytes 0-4/{SIZE - 6}"


def test_unsized_file_object_is_streamed_whole(client: ErlenClient) -> None:
    class Pipe(io.RawIOBase):
        """A readable stream without a known size."""

        def __init__(self) -> None:
            self.data = io.BytesIO(TEXT)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: t.Any) -> int:
            chunk = self.data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    client.application.add_url_rule(
        "/p",
        "p",
        lambda: erlen.send_file(t.cast(t.IO[bytes], Pipe()), mimetype="text/plain"),
    )
    response = client.get("/p", headers={"Range": "bytes=0-4"})
    assert response.status_code == 200
    assert response.data == TEXT
    assert "Accept-Ranges" not in response.headers


def test_read_only_file_like(client: ErlenClient) -> None:
    class Reader:
        """Only ``read`` and ``close``: enough to be sent."""

        def __init__(self) -> None:
            self.data = io.BytesIO(TEXT)
            self.closed = False

        def read(self, size: int = -1) -> bytes:
            return self.data.read(size)

        def close(self) -> None:
            self.closed = True

    readers: list[Reader] = []

    def view() -> erlen.Response:
        readers.append(Reader())
        return erlen.send_file(t.cast(t.IO[bytes], readers[-1]), download_name="r.txt")

    client.application.add_url_rule("/r", "r", view)
    response = client.get("/r")
    assert response.data == TEXT
    assert "Content-Length" not in response.headers  # the size is unknown
    assert readers[0].closed


def test_file_body() -> None:
    body = FileBody(io.BytesIO(TEXT), start=2, length=7, block_size=3)
    assert list(body) == [TEXT[2:5], TEXT[5:8], TEXT[8:9]]
    assert body.closed and body.file.closed
    assert list(body) == []
    early = FileBody(io.BytesIO(TEXT), block_size=4)
    assert next(early) == TEXT[:4]
    early.close()
    early.close()
    assert list(early) == []


def test_send_file_outside_a_request(app: Erlen) -> None:
    with app.app_context():
        response = erlen.send_file("static/a.txt")
        assert response.status_code == 200
        assert b"".join(response.response) == TEXT
        response.close()


# -- send_from_directory ------------------------------------------------------


def test_send_from_directory_same_as_flask(
    client: ErlenClient, flask_app: flask.Flask
) -> None:
    fc = twin(
        client,
        flask_app,
        "/dl/<path:name>",
        lambda fw: (
            lambda name: fw.send_from_directory("static", name, as_attachment=True)
        ),
    )
    for path in ("/dl/a.txt", "/dl/sub/b.css", "/dl/missing", "/dl/sub"):
        assert_same(*both(client, fc, path))
    assert client.get("/dl/a.txt").headers["Content-Disposition"] == (
        "attachment; filename=a.txt"
    )


@pytest.mark.parametrize(
    "name",
    [
        "../secret.txt",
        "sub/../../secret.txt",
        "/etc/passwd",
        "//etc/passwd",
        "..",
        ".",
        "",
        "sub",
        "a.txt\x00.png",
        "..\\secret.txt",
        "sub\\..\\..\\secret.txt",
        "C:\\Windows\\win.ini",
        "\\\\server\\share\\x",
        "../static2/secret.txt",
        "x" * 5000,
    ],
)
def test_send_from_directory_refuses(app: Erlen, name: str) -> None:
    with app.test_request_context():
        with pytest.raises(NotFound):
            erlen.send_from_directory("static", name)


# -- conditional requests -----------------------------------------------------


def _validators(client: ErlenClient) -> tuple[str, str]:
    response = client.get("/static/a.txt")
    return response.headers["ETag"], response.headers["Last-Modified"]


@pytest.mark.parametrize(
    "make_headers",
    [
        lambda etag, lm: {"If-None-Match": etag},
        lambda etag, lm: {"If-None-Match": f"W/{etag}"},
        lambda etag, lm: {"If-None-Match": f'"other", {etag}'},
        lambda etag, lm: {"If-None-Match": "*"},
        lambda etag, lm: {"If-None-Match": '"other"'},
        lambda etag, lm: {"If-Modified-Since": lm},
        lambda etag, lm: {"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"},
        lambda etag, lm: {"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"},
        lambda etag, lm: {"If-Modified-Since": "not a date"},
        lambda etag, lm: {"If-None-Match": '"other"', "If-Modified-Since": lm},
        lambda etag, lm: {"If-Match": etag},
        lambda etag, lm: {"Range": "bytes=0-4"},
        lambda etag, lm: {"Range": "bytes=-4"},
        lambda etag, lm: {"Range": "bytes=5-"},
        lambda etag, lm: {"Range": "bytes=0-100000"},
        lambda etag, lm: {"Range": f"bytes={SIZE - 1}-{SIZE - 1}"},
        lambda etag, lm: {"Range": "bytes=100-"},
        lambda etag, lm: {"Range": f"bytes={SIZE}-"},
        lambda etag, lm: {"Range": "bytes=12345678901234567890-"},
        lambda etag, lm: {"Range": "bytes=0-4", "If-Range": etag},
        lambda etag, lm: {"Range": "bytes=0-4", "If-Range": '"other"'},
        lambda etag, lm: {"Range": "bytes=0-4", "If-Range": lm},
        lambda etag, lm: {
            "Range": "bytes=0-4",
            "If-Range": "Thu, 01 Jan 1970 00:00:00 GMT",
        },
    ],
)
def test_conditional_same_as_flask(
    client: ErlenClient,
    flask_app: flask.Flask,
    make_headers: t.Callable[[str, str], dict[str, str]],
) -> None:
    fc = flask_app.test_client()
    headers = make_headers(*_validators(client))
    for method in ("GET", "HEAD"):
        f, e = both(client, fc, "/static/a.txt", method=method, headers=headers)
        assert_same(f, e)


def test_not_modified(client: ErlenClient, opened: list[FileBody]) -> None:
    etag, last_modified = _validators(client)
    for headers in ({"If-None-Match": etag}, {"If-Modified-Since": last_modified}):
        for method in ("GET", "HEAD"):
            response = client.open("/static/a.txt", method=method, headers=headers)
            assert response.status_code == 304
            assert response.data == b""
            assert response.headers["ETag"] == etag
            assert response.headers["Cache-Control"] == "no-cache"
            for name in ("Content-Length", "Content-Type", "Last-Modified"):
                assert name not in response.headers
    assert opened and all(body.closed for body in opened)


@pytest.mark.parametrize(
    "make_headers",
    [
        lambda etag, lm: {"If-Match": '"other"'},
        lambda etag, lm: {"If-Match": f"W/{etag}"},  # strong comparison
        lambda etag, lm: {"If-Match": '"other"', "If-None-Match": etag},
        lambda etag, lm: {"If-Unmodified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"},
        lambda etag, lm: {
            "If-Unmodified-Since": "Thu, 01 Jan 1970 00:00:00 GMT",
            "Range": "bytes=0-4",
        },
    ],
)
def test_precondition_failed(
    client: ErlenClient,
    opened: list[FileBody],
    make_headers: t.Callable[[str, str], dict[str, str]],
) -> None:
    headers = make_headers(*_validators(client))
    response = client.get("/static/a.txt", headers=headers)
    assert response.status_code == 412
    assert b"Precondition Failed" in response.data
    assert "ETag" not in response.headers  # the error page, not the file
    assert all(body.closed for body in opened)


@pytest.mark.parametrize(
    "make_headers",
    [
        lambda etag, lm: {"If-Unmodified-Since": lm},
        lambda etag, lm: {"If-Unmodified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"},
        lambda etag, lm: {"If-Unmodified-Since": "garbage"},
        # The file exists, so "*" matches (Flask answers 412).
        lambda etag, lm: {"If-Match": "*"},
        # If-Match wins over If-Unmodified-Since.
        lambda etag, lm: {
            "If-Match": etag,
            "If-Unmodified-Since": "Thu, 01 Jan 1970 00:00:00 GMT",
        },
    ],
)
def test_precondition_holds(
    client: ErlenClient, make_headers: t.Callable[[str, str], dict[str, str]]
) -> None:
    response = client.get("/static/a.txt", headers=make_headers(*_validators(client)))
    assert response.status_code == 200
    assert response.data == TEXT


def test_if_none_match_wins_over_range(client: ErlenClient) -> None:
    # RFC 9110 §13.2.2: If-None-Match is evaluated before Range.
    etag, _ = _validators(client)
    response = client.get(
        "/static/a.txt", headers={"If-None-Match": etag, "Range": "bytes=0-4"}
    )
    assert response.status_code == 304
    assert response.data == b""


def test_conditional_only_for_get_and_head(client: ErlenClient) -> None:
    client.application.add_url_rule(
        "/f", "f", lambda: erlen.send_file("static/a.txt"), methods=["POST"]
    )
    etag, _ = _validators(client)
    for headers in (
        {"If-None-Match": etag},
        {"If-Match": '"other"'},
        {"Range": "bytes=0-4"},
    ):
        response = client.post("/f", headers=headers)
        assert response.status_code == 200
        assert response.data == TEXT


def test_etag_string_and_false(client: ErlenClient) -> None:
    app = client.application
    app.add_url_rule("/v1", "v1", lambda: erlen.send_file("static/a.txt", etag="v1"))
    app.add_url_rule(
        "/none", "none", lambda: erlen.send_file("static/a.txt", etag=False)
    )
    assert client.get("/v1").headers["ETag"] == '"v1"'
    assert client.get("/v1", headers={"If-None-Match": '"v1"'}).status_code == 304
    response = client.get("/none")
    assert "ETag" not in response.headers
    # Without an ETag only "*" satisfies If-Match.
    assert client.get("/none", headers={"If-Match": '"x"'}).status_code == 412
    assert client.get("/none", headers={"If-Match": "*"}).status_code == 200
    # Last-Modified stays on a 304 that has no ETag to go by.
    last_modified = response.headers["Last-Modified"]
    not_modified = client.get("/none", headers={"If-Modified-Since": last_modified})
    assert not_modified.status_code == 304
    assert not_modified.headers["Last-Modified"] == last_modified


# -- ranges -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "status", "body", "content_range"),
    [
        ("bytes=0-4", 206, TEXT[:5], "bytes 0-4/22"),
        ("bytes=-4", 206, TEXT[-4:], "bytes 18-21/22"),
        ("bytes=-100", 206, TEXT, "bytes 0-21/22"),
        ("bytes=5-", 206, TEXT[5:], "bytes 5-21/22"),
        ("bytes=0-100000", 206, TEXT, "bytes 0-21/22"),
        ("BYTES = 0-4", 206, TEXT[:5], "bytes 0-4/22"),
        ("bytes=0-4,", 206, TEXT[:5], "bytes 0-4/22"),  # an empty list element
        ("bytes=0000000000000000000000000000003-4", 206, TEXT[3:5], "bytes 3-4/22"),
        ("bytes=0-" + "9" * 5000, 206, TEXT, "bytes 0-21/22"),
        ("bytes=-" + "9" * 5000, 206, TEXT, "bytes 0-21/22"),
        ("bytes=22-", 416, None, "bytes */22"),
        ("bytes=100-200", 416, None, "bytes */22"),
        ("bytes=-0", 416, None, "bytes */22"),
        ("bytes=12345678901234567890-", 416, None, "bytes */22"),
        ("bytes=" + "1" * 5000 + "-", 416, None, "bytes */22"),
        # Ignored: the whole file, 200.
        ("bytes=0-1,3-4", 200, TEXT, None),
        ("bytes=" + ",".join(f"{i}-{i}" for i in range(5000)), 200, TEXT, None),
        ("bytes=" + ",".join("0-" for _ in range(5000)), 200, TEXT, None),
        ("bytes=5-2", 200, TEXT, None),
        ("items=0-4", 200, TEXT, None),
        ("bytes=abc", 200, TEXT, None),
        ("bytes=0x1-4", 200, TEXT, None),
        ("bytes=²-4", 200, TEXT, None),
        ("bytes=--4", 200, TEXT, None),
        ("bytes=", 200, TEXT, None),
        ("0-4", 200, TEXT, None),
    ],
)
def test_ranges(
    client: ErlenClient,
    opened: list[FileBody],
    header: str,
    status: int,
    body: bytes | None,
    content_range: str | None,
) -> None:
    response = client.get("/static/a.txt", headers={"Range": header})
    assert response.status_code == status
    assert response.headers.get("Content-Range") == content_range
    if body is not None:
        assert response.data == body
        assert response.headers["Content-Length"] == str(len(body))
        assert response.headers["Accept-Ranges"] == "bytes"
    assert opened and all(b.closed for b in opened)


def test_range_on_empty_file(client: ErlenClient) -> None:
    response = client.get("/static/empty.txt", headers={"Range": "bytes=0-"})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == "bytes */0"
    assert client.get("/static/empty.txt").data == b""


def test_range_on_head(client: ErlenClient) -> None:
    response = client.head("/static/a.txt", headers={"Range": "bytes=0-4"})
    assert response.status_code == 206
    assert response.data == b""
    assert response.headers["Content-Length"] == "5"
    assert response.headers["Content-Range"] == "bytes 0-4/22"


def test_if_range(client: ErlenClient) -> None:
    etag, last_modified = _validators(client)
    cases = [
        (etag, 206),
        (f"W/{etag}", 200),  # a weak validator never satisfies If-Range
        ('"other"', 200),
        (last_modified, 206),
        ("Thu, 01 Jan 1970 00:00:00 GMT", 200),
        ("garbage", 200),
    ]
    for value, status in cases:
        response = client.get(
            "/static/a.txt", headers={"Range": "bytes=0-4", "If-Range": value}
        )
        assert response.status_code == status, value
        assert response.data == (TEXT[:5] if status == 206 else TEXT)


def test_unsatisfiable_range_uses_error_handler(client: ErlenClient) -> None:
    @client.application.errorhandler(416)
    def handle(e: t.Any) -> tuple[str, int, dict[str, str]]:
        return f"bad range, length {e.length}", 416, {"Content-Range": "bytes */22"}

    response = client.get("/static/a.txt", headers={"Range": "bytes=99-"})
    assert response.status_code == 416
    assert response.data == b"bad range, length 22"


def test_parse_byte_range() -> None:
    assert parse_byte_range("bytes=0-4", 10) == (0, 5)
    assert parse_byte_range("bytes=-3", 10) == (7, 10)
    assert parse_byte_range("bytes=8-", 10) == (8, 10)
    assert parse_byte_range("bytes=0-1,2-3", 10) is None
    assert parse_byte_range("bytes=4-2", 10) is None
    assert parse_byte_range("bytes=10-", 10) is not None
    assert not isinstance(parse_byte_range("bytes=10-", 10), tuple)
    # int() would refuse a 5 000-digit number (sys.int_info); never reached.
    huge = "9" * 5000
    assert len(huge) > sys.get_int_max_str_digits()
    assert parse_byte_range(f"bytes=0-{huge}", 10) == (0, 10)
    assert not isinstance(parse_byte_range(f"bytes={huge}-", 10), tuple)


# -- make_conditional on other responses --------------------------------------


def test_make_conditional_in_memory_body(client: ErlenClient) -> None:
    @client.application.get("/m")
    def memory() -> erlen.Response:
        response = erlen.Response(TEXT, mimetype="text/plain")
        response.headers["ETag"] = '"m1"'
        return make_conditional(response, erlen.request, accept_ranges=True)

    response = client.get("/m", headers={"Range": "bytes=6-10"})
    assert response.status_code == 206
    assert response.data == b"world"
    assert response.headers["Content-Range"] == "bytes 6-10/22"
    assert client.get("/m", headers={"If-None-Match": '"m1"'}).status_code == 304
    assert client.get("/m").data == TEXT


def test_make_conditional_with_environ(app: Erlen) -> None:
    environ = make_spec(
        app, "/", headers={"If-None-Match": '"e"', "Range": "bytes=0-1"}
    ).to_environ()
    response = erlen.Response(b"abc")
    response.headers["ETag"] = '"e"'
    assert make_conditional(response, environ).status_code == 304
    environ = make_spec(app, "/", headers={"Range": "bytes=0-1"}).to_environ()
    response = make_conditional(erlen.Response(b"abc"), environ, accept_ranges=True)
    assert response.status_code == 206
    assert response.get_data() == b"ab"


def test_make_conditional_leaves_other_streams_whole(client: ErlenClient) -> None:
    @client.application.get("/g")
    def generated() -> erlen.Response:
        response = erlen.Response(iter([b"abc", b"def"]))
        return make_conditional(
            response, erlen.request, accept_ranges=True, complete_length=6
        )

    response = client.get("/g", headers={"Range": "bytes=0-1"})
    assert response.status_code == 200
    assert response.data == b"abcdef"


# -- streaming and closing ----------------------------------------------------


@pytest.fixture
def big_file(app: Erlen) -> Path:
    path = Path(app.root_path) / "static" / "big.bin"
    block = bytes(range(256)) * 4096  # 1 MiB
    with path.open("wb") as f:
        for i in range(20):
            f.write(bytes([i]) + block[1:])
    return path


def test_large_file_is_streamed_in_blocks(app: Erlen, big_file: Path) -> None:
    size = big_file.stat().st_size
    assert size == 20 * 1024 * 1024
    with app.test_request_context("/static/big.bin"):
        response = erlen.send_from_directory("static", "big.bin")
        body = response.response
        assert isinstance(body, FileBody)
        assert not isinstance(body, bytes | bytearray | list)
        assert iter(body) is body
        assert response.headers["Content-Length"] == str(size)
        first = next(body)
        assert len(first) == BLOCK_SIZE
        # Only one block has been read from the file.
        assert body.file.tell() == BLOCK_SIZE
        blocks = 1 + sum(1 for _ in body)
        assert blocks == size // BLOCK_SIZE
        assert body.closed  # closed at the end of the data
        response.close()


def test_large_file_through_both_drivers(
    client: ErlenClient, big_file: Path, opened: list[FileBody]
) -> None:
    seen: list[t.Any] = []

    @client.application.after_request
    def look(response: erlen.Response) -> erlen.Response:
        seen.append(response.response)
        return response

    response = client.get("/static/big.bin")
    assert response.status_code == 200
    assert response.data == big_file.read_bytes()
    assert isinstance(seen[0], FileBody)
    assert all(body.closed for body in opened)
    ranged = client.get(
        "/static/big.bin", headers={"Range": f"bytes={BLOCK_SIZE * 3 + 5}-"}
    )
    assert ranged.status_code == 206
    assert ranged.data == big_file.read_bytes()[BLOCK_SIZE * 3 + 5 :]


@pytest.mark.parametrize(
    ("method", "headers", "status"),
    [
        ("GET", {}, 200),
        ("HEAD", {}, 200),
        ("GET", {"If-None-Match": "*"}, 304),
        ("HEAD", {"If-None-Match": "*"}, 304),
        ("GET", {"Range": "bytes=1-3"}, 206),
        ("GET", {"Range": "bytes=99-"}, 416),
        ("GET", {"If-Match": '"nope"'}, 412),
    ],
)
def test_file_closed_after_response(
    client: ErlenClient,
    opened: list[FileBody],
    method: str,
    headers: dict[str, str],
    status: int,
) -> None:
    response = client.open("/static/a.txt", method=method, headers=headers)
    assert response.status_code == status
    assert len(opened) == 1
    assert opened[0].closed
    assert opened[0].file.closed


def test_wsgi_body_closed_before_the_end(
    app: Erlen, big_file: Path, opened: list[FileBody]
) -> None:
    environ = make_spec(app, "/static/big.bin").to_environ()
    body = app(environ, lambda status, headers, exc_info=None: None)
    assert len(next(iter(body))) == BLOCK_SIZE
    assert not opened[0].closed
    body.close()
    assert opened[0].closed


def receiver(
    gone: asyncio.Event | None = None,
) -> t.Callable[[], t.Awaitable[dict[str, t.Any]]]:
    """An ASGI ``receive``: the (empty) request body, then, like a server,
    nothing until the client is ``gone``."""
    received = False

    async def receive() -> dict[str, t.Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await (gone or asyncio.Event()).wait()
        return {"type": "http.disconnect"}

    return receive


def test_asgi_client_gone_mid_stream(
    app: Erlen, big_file: Path, opened: list[FileBody]
) -> None:
    scope = make_spec(app, "/static/big.bin").to_scope()
    sent: list[dict[str, t.Any]] = []

    async def main() -> None:
        gone = asyncio.Event()

        async def send(message: dict[str, t.Any]) -> None:
            sent.append(message)
            if len(sent) == 3:
                gone.set()
                raise OSError("connection reset")

        await app.asgi(scope, receiver(gone), send)

    with pytest.raises(OSError, match="reset"):
        asyncio.run(main())
    assert len(sent) == 3
    assert opened[0].closed


class SlowBytes(io.BytesIO):
    """A file whose reads block the calling thread."""

    def read(self, size: int | None = -1) -> bytes:
        import time

        time.sleep(0.15)
        return super().read(size)


def test_asgi_disconnect_during_a_read(app: Erlen, opened: list[FileBody]) -> None:
    """The client leaves while a block is being read in a worker thread: the
    file is closed once that read is over, and nothing else is read."""

    @app.get("/slow")
    def slow() -> erlen.Response:
        return erlen.send_file(SlowBytes(b"x" * BLOCK_SIZE * 8), mimetype="text/plain")

    chunks: list[bytes] = []

    async def main() -> None:
        gone = asyncio.Event()

        async def send(message: dict[str, t.Any]) -> None:
            if message.get("body"):
                chunks.append(message["body"])
                gone.set()  # leave after the first block

        await app.asgi(make_spec(app, "/slow").to_scope(), receiver(gone), send)

    asyncio.run(main())
    assert 1 <= len(chunks) < 8
    assert opened[0].closed
    assert opened[0].file.closed


@pytest.mark.parametrize("fast_is_async", [True, False])
def test_asgi_file_reads_do_not_block_the_loop(app: Erlen, fast_is_async: bool) -> None:
    """Another request completes while a slow file stream is in progress:
    the blocking reads happen in the thread pool, not on the event loop."""

    @app.get("/slow")
    def slow() -> erlen.Response:
        return erlen.send_file(SlowBytes(b"x" * BLOCK_SIZE * 4), mimetype="text/plain")

    if fast_is_async:

        @app.get("/fast")
        async def fast_async() -> str:
            return "fast"

    else:

        @app.get("/fast")
        def fast_sync() -> str:
            return "fast"

    events: list[tuple[str, str]] = []

    async def call(path: str, started: asyncio.Event | None = None) -> None:
        scope = make_spec(app, path).to_scope()

        async def send(message: dict[str, t.Any]) -> None:
            if message["type"] != "http.response.body":
                return
            if message.get("body"):
                events.append((path, "chunk"))
                if started is not None:
                    started.set()
            if not message.get("more_body"):
                events.append((path, "end"))

        await app.asgi(scope, receiver(), send)

    async def main() -> None:
        started = asyncio.Event()
        slow_task = asyncio.create_task(call("/slow", started))
        await asyncio.wait_for(started.wait(), 10)
        await call("/fast")
        await slow_task

    asyncio.run(main())
    end_fast = events.index(("/fast", "end"))
    end_slow = events.index(("/slow", "end"))
    assert end_fast < end_slow
    # The slow stream was under way, and still had blocks to send.
    assert events[:end_fast].count(("/slow", "chunk")) < 4
    assert events.count(("/slow", "chunk")) == 4


# -- traversal ----------------------------------------------------------------


TRAVERSAL = [
    "/static/../secret.txt",
    "/static/%2e%2e/secret.txt",
    "/static/%2E%2E/secret.txt",
    "/static/..%2fsecret.txt",
    "/static/..%2Fsecret.txt",
    "/static/sub/..%2f..%2fsecret.txt",
    "/static/sub/../../secret.txt",
    "/static/%2e%2e%2fsecret.txt",
    "/static/..%5csecret.txt",
    "/static/..\\secret.txt",
    "/static/sub\\..\\..\\secret.txt",
    "/static/%2fetc%2fpasswd",
    "/static/C:\\Windows\\win.ini",
    "/static/C:/Windows/win.ini",
    "/static/\\\\server\\share\\secret.txt",
    "/static/a.txt%00",
    "/static/a.txt%00.png",
    "/static/%00../secret.txt",
    "/static/../static2/secret.txt",
    "/static/..%2fstatic2%2fsecret.txt",
    "/static/sub/",
    "/static/sub",
    "/static/.",
    "/static/%2e",
    "/static/...",
    "/static/%ff%fe",
    "/static/" + "x" * 5000,
    "/static/outside",
    "/static/sibling",
    "/static/dirlink/secret.txt",
    "/static/loop",
]


@pytest.fixture
def traps(app: Erlen) -> None:
    """Symlinks out of the static folder (to a file, to the sibling folder
    sharing its prefix, to the parent folder) and a symlink loop."""
    static = Path(app.root_path) / "static"
    try:
        (static / "outside").symlink_to(Path(app.root_path) / "secret.txt")
        (static / "sibling").symlink_to(Path(app.root_path) / "static2" / "secret.txt")
        (static / "dirlink").symlink_to(Path(app.root_path), target_is_directory=True)
        (static / "loop").symlink_to(static / "loop")
        (static / "inside").symlink_to(static / "a.txt")
    except (OSError, NotImplementedError):
        pytest.skip("symlinks are not available")


def test_traversal_corpus(
    app: Erlen,
    client: ErlenClient,
    traps: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    static = os.path.realpath(os.path.join(app.root_path, "static"))
    opened_paths: list[str] = []
    real_open = os.open

    def spy(path: t.Any, *args: t.Any, **kwargs: t.Any) -> int:
        opened_paths.append(os.path.realpath(os.fspath(path)))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    reference = client.get("/static/no-such-file.txt")
    assert reference.status_code == 404
    for path in TRAVERSAL:
        response = client.get(path, follow_redirects=True)
        assert response.status_code == 404, path
        assert response.data == reference.data, path
        assert dict(response.headers) == dict(reference.headers), path
        assert b"SECRET" not in response.data
    for opened_path in opened_paths:
        assert opened_path.startswith(static + os.sep), opened_path
    # A symlink that stays inside the folder is served.
    assert client.get("/static/inside").data == TEXT


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_is_not_opened_for_reading(app: Erlen, client: ErlenClient) -> None:
    os.mkfifo(os.path.join(app.root_path, "static", "pipe"))
    # Would block forever if opened for a blocking read.
    assert client.get("/static/pipe").status_code == 404


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("a.txt",), "base/a.txt"),
        (("sub/b.css",), "base/sub/b.css"),
        (("sub/../a.txt",), "base/a.txt"),
        (("sub", "b.css"), "base/sub/b.css"),
        (("",), "base/"),
        (("...",), "base/..."),
        (("..",), None),
        (("../x",), None),
        (("sub/../../x",), None),
        (("/etc/passwd",), None),
        (("//etc/passwd",), None),
        (("a\\b",), None),
        (("..\\x",), None),
        (("a\x00b",), None),
        (("sub", "../../x"), None),
    ],
)
def test_safe_join(parts: tuple[str, ...], expected: str | None) -> None:
    assert safe_join("base", *parts) == expected


def test_safe_join_empty_directory() -> None:
    assert safe_join("", "a.txt") == "./a.txt"


# -- USE_X_SENDFILE -----------------------------------------------------------


def test_x_sendfile(app: Erlen, client: ErlenClient) -> None:
    app.config["USE_X_SENDFILE"] = True
    response = client.get("/static/a.txt")
    assert response.status_code == 200
    assert response.data == b""
    assert response.headers["X-Sendfile"] == os.path.realpath(
        os.path.join(app.root_path, "static", "a.txt")
    )
    # The front server answers ranges; validators still give a 304.
    assert (
        client.get("/static/a.txt", headers={"Range": "bytes=0-1"}).status_code == 200
    )
    etag = response.headers["ETag"]
    not_modified = client.get("/static/a.txt", headers={"If-None-Match": etag})
    assert not_modified.status_code == 304


# -- resources ----------------------------------------------------------------


def test_open_resource(app: Erlen) -> None:
    with app.open_resource("static/a.txt") as f:
        assert f.read() == TEXT
    with app.open_resource("static/page.html", "r", encoding="utf-8") as f:
        assert f.read() == "<p>hi</p>"
    with pytest.raises(ValueError, match="reading"):
        app.open_resource("static/a.txt", "w")


def test_open_instance_resource(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "settings.cfg").write_text("X = 'é'", encoding="utf-8")
    # Any: the method is not on Erlen yet when this is type-checked.
    app: t.Any = Erlen("inst", root_path=str(tmp_path), instance_path=str(instance))
    with app.open_instance_resource("settings.cfg") as f:
        assert f.read() == b"X = '\xc3\xa9'"
    with app.open_instance_resource("settings.cfg", "r") as f:
        assert f.read() == "X = 'é'"
    with app.open_instance_resource("new.txt", "w") as f:
        f.write("written")
    assert (instance / "new.txt").read_text() == "written"
