"""Static files under attack: a traversal corpus that must all end in the
same 404 as a plainly missing file, symlinks and a sibling folder outside
the static root, Windows-only names, and hostile ``Range`` headers."""

from __future__ import annotations

import ntpath
import os
import typing as t
from pathlib import Path

import pytest

from erlen import Erlen
from erlen.security import safe_join
from erlen.testing import ErlenClient

from .conftest import TEXT
from .helpers import assert_linear, check

SIZE = len(TEXT)


@pytest.fixture
def app(app: Erlen, tmp_path: Path) -> Erlen:
    static = tmp_path / "static"
    # Symlinks that leave the static root, by absolute and relative paths,
    # to a file and to a folder.
    (static / "link.txt").symlink_to(tmp_path / "secret.txt")
    (static / "rel.txt").symlink_to("../secret.txt")
    (static / "linkdir").symlink_to(tmp_path / "static2")
    (static / "sub" / "up").symlink_to("../..")
    return app


def open_files(folder: Path) -> list[str]:
    """The files under ``folder`` this process has open."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed meanwhile (the listing's own descriptor)
            continue
        if target.startswith(str(folder)):
            found.append(target)
    return found


@pytest.fixture
def no_fd_leak(tmp_path: Path) -> t.Iterator[None]:
    """Fail a case that leaves a file of the app's folder open."""
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc/self/fd")
    assert open_files(tmp_path) == []
    yield
    assert open_files(tmp_path) == [], "a file was left open"


def missing(client: ErlenClient) -> t.Any:
    response = client.get("/static/no-such-file.txt")
    check(response, 404)
    return response


TRAVERSAL = [
    # dot segments, plain and encoded
    "/static/..",
    "/static/../secret.txt",
    "/static/sub/../../secret.txt",
    "/static/..%2fsecret.txt",
    "/static/%2e%2e/secret.txt",
    "/static/%2e%2e%2f%2e%2e%2fsecret.txt",
    "/static/.%2e/secret.txt",
    # backslashes
    "/static/..%5csecret.txt",
    "/static/sub%5c..%5c..%5csecret.txt",
    "/static/%5c..%5csecret.txt",
    # control characters
    "/static/a.txt%00",
    "/static/a.txt%0a",
    "/static/a.txt%0d",
    "/static/a.txt%09",
    "/static/%00../secret.txt",
    # trailing dots and spaces, NTFS streams
    "/static/a.txt.",
    "/static/a.txt%20",
    "/static/a.txt...",
    "/static/a.txt%20.",
    "/static/a.txt::$DATA",
    "/static/..%20/secret.txt",
    # drives and UNC paths
    "/static/C:%5cWindows%5cwin.ini",
    "/static/C:/Windows/win.ini",
    "/static/%5c%5csrv%5cshare%5cx",
    "/static/c:secret.txt",
    # Windows device names (plain files names on POSIX; never present)
    "/static/CON",
    "/static/aux.txt",
    "/static/sub/nul",
    # leaving through the sibling folder that shares the root's prefix
    "/static/../static2/secret.txt",
    "/static/..%2fstatic2%2fsecret.txt",
    # symlinks out of the root
    "/static/link.txt",
    "/static/rel.txt",
    "/static/linkdir/secret.txt",
    "/static/sub/up/secret.txt",
    # folders
    "/static/sub",
    "/static/sub/",
    "/static/",
]


@pytest.mark.parametrize("path", TRAVERSAL)
def test_traversal_is_the_plain_404(
    client: ErlenClient, path: str, no_fd_leak: None
) -> None:
    baseline = missing(client)
    response = client.get(path)
    check(response, 404)
    assert response.data == baseline.data
    assert response.headers["Content-Type"] == baseline.headers["Content-Type"]
    assert response.headers["Content-Length"] == baseline.headers["Content-Length"]
    assert b"SECRET" not in response.data


@pytest.mark.parametrize(
    "path", ["/static//etc/passwd", "/static/%2fetc%2fpasswd", "/static///secret.txt"]
)
def test_absolute_path_redirects_inside_then_404(
    client: ErlenClient, path: str
) -> None:
    # Repeated slashes are merged by a relative redirect, never followed
    # as an absolute file path.
    response = client.get(path)
    check(response, 308)
    location = response.headers["Location"]
    assert location.startswith("/static/") and "//" not in location
    followed = client.get(location)
    check(followed, 404)
    assert followed.data == missing(client).data


def test_the_real_file_is_served(client: ErlenClient, no_fd_leak: None) -> None:
    response = client.get("/static/a.txt")
    check(response, 200)
    assert response.data == TEXT


# -- safe_join -----------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "..",
        "../secret.txt",
        "a/../../secret.txt",
        "../static2/secret.txt",
        "/etc/passwd",
        "//srv/share/x",
        "\\\\srv\\share\\x",
        "..\\secret.txt",
        "C:\\x",
        "a\x00b",
    ],
)
def test_safe_join_refuses(name: str, tmp_path: Path) -> None:
    assert safe_join(str(tmp_path / "static"), name) is None


def test_safe_join_keeps_names_inside(tmp_path: Path) -> None:
    base = str(tmp_path / "static")
    assert safe_join(base, "sub/b.css") == f"{base}/sub/b.css"
    assert safe_join(base, "a/../a.txt") == f"{base}/a.txt"


def windows_safe_join(*args: str) -> str | None:
    """``safe_join`` with what it reads of the platform set as on Windows
    (only during the call: pytest itself needs the real platform)."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(os, "name", "nt")
        m.setattr(os, "path", ntpath)
        return safe_join(*args)


@pytest.mark.parametrize("name", ["C:/Windows/win.ini", "C:x", "c:secret.txt"])
def test_safe_join_refuses_drives_on_windows(name: str) -> None:
    assert windows_safe_join("C:\\srv\\static", name) is None


@pytest.mark.parametrize(
    "name", ["CON", "aux.txt", "sub/nul", "COM1.txt", "lpt9", "CONIN$", "con .txt"]
)
def test_safe_join_refuses_device_names_on_windows(name: str) -> None:
    assert windows_safe_join("C:\\srv\\static", name) is None


@pytest.mark.parametrize(
    "name", [".. /secret.txt", "..../secret.txt", "a.txt.", "a.txt "]
)
def test_safe_join_refuses_trailing_dots_and_spaces_on_windows(name: str) -> None:
    assert windows_safe_join("C:\\srv\\static", name) is None


# -- ranges --------------------------------------------------------------------


def test_range_suffix_of_zero_is_416(client: ErlenClient, no_fd_leak: None) -> None:
    response = client.get("/static/a.txt", headers={"Range": "bytes=-0"})
    check(response, 416)
    assert response.headers["Content-Range"] == f"bytes */{SIZE}"


def test_range_with_20_digit_start_is_416(
    client: ErlenClient, no_fd_leak: None
) -> None:
    response = client.get(
        "/static/a.txt", headers={"Range": "bytes=99999999999999999999-"}
    )
    check(response, 416)
    assert response.headers["Content-Range"] == f"bytes */{SIZE}"


def test_range_with_20_digit_end_is_the_whole_file(
    client: ErlenClient, no_fd_leak: None
) -> None:
    response = client.get(
        "/static/a.txt", headers={"Range": "bytes=0-99999999999999999999"}
    )
    check(response, 206)
    assert response.headers["Content-Range"] == f"bytes 0-{SIZE - 1}/{SIZE}"
    assert response.data == TEXT


def test_huge_range_number_costs_linear_time(client: ErlenClient) -> None:
    def make(n: int) -> t.Callable[[], object]:
        header = {"Range": f"bytes={'9' * n}-"}
        return lambda: check(client.get("/static/a.txt", headers=header), 416)

    assert_linear(make, 5000)


def _ranges(n: int) -> str:
    return "bytes=" + ",".join(f"{i % SIZE}-{i % SIZE}" for i in range(n))


def test_5000_ranges_send_the_whole_file(client: ErlenClient, no_fd_leak: None) -> None:
    # Several ranges are ignored (no multipart/byteranges): one 200, never
    # 5000 parts.
    response = client.get("/static/a.txt", headers={"Range": _ranges(5000)})
    check(response, 200)
    assert response.data == TEXT
    assert "Content-Range" not in response.headers


def test_5000_ranges_cost_linear_time(client: ErlenClient) -> None:
    def make(n: int) -> t.Callable[[], object]:
        header = {"Range": _ranges(n)}
        return lambda: check(client.get("/static/a.txt", headers=header), 200)

    assert_linear(make, 5000)


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("bytes=5-2", 200),  # end before start: ignored
        ("bytes=x-y", 200),
        ("pages=0-1", 200),
        ("bytes=-", 200),
        ("bytes=--1", 200),
        ("bytes=0-0,-1", 200),
        (f"bytes={SIZE}-", 416),
        (f"bytes={SIZE - 1}-", 206),
        (f"bytes=-{SIZE + 1}", 206),
    ],
)
def test_odd_ranges(
    client: ErlenClient, value: str, status: int, no_fd_leak: None
) -> None:
    response = client.get("/static/a.txt", headers={"Range": value})
    check(response, status)
    if status == 200:
        assert response.data == TEXT
