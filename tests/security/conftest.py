"""Fixtures of the security battery.

The ``app`` here runs as in production (``PROPAGATE_EXCEPTIONS = False``):
a bug becomes the 500 a client would see, so every case can assert the
status and that the body leaks nothing.  Every case also fails if the app
logged an unhandled exception, unless marked ``logs_errors``.
"""

from __future__ import annotations

import logging
import tempfile
import typing as t
from pathlib import Path
from types import SimpleNamespace

import pytest

from erlen import Erlen, multipart

TEXT = b"hello world 0123456789"  # 22 bytes


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "logs_errors: the case expects the app to log an error"
    )


@pytest.fixture
def app(tmp_path: Path) -> Erlen:
    """An app rooted in a temporary folder holding ``static/`` (with
    ``a.txt``, ``sub/b.css``) and, outside it, ``secret.txt`` and a sibling
    ``static2/`` whose name starts like the static folder's."""
    static = tmp_path / "static"
    (static / "sub").mkdir(parents=True)
    (static / "a.txt").write_bytes(TEXT)
    (static / "sub" / "b.css").write_text("b {}")
    (tmp_path / "secret.txt").write_text("SECRET")
    (tmp_path / "static2").mkdir()
    (tmp_path / "static2" / "secret.txt").write_text("SECRET2")
    app = Erlen("security_app", root_path=str(tmp_path))
    app.config.update(
        TESTING=True, PROPAGATE_EXCEPTIONS=False, SECRET_KEY="security test key"
    )
    return app


@pytest.fixture(autouse=True)
def _no_unhandled_errors(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> t.Iterator[None]:
    """Fail a case whose app logged an error (a 500, a failed teardown)."""
    caplog.set_level(logging.ERROR)
    yield
    if request.node.get_closest_marker("logs_errors"):
        return
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    if errors:
        pytest.fail(
            "The app logged an error: "
            + "; ".join(
                f"{r.getMessage()} ({r.exc_info and r.exc_info[1]!r})" for r in errors
            )
        )


@pytest.fixture(autouse=True)
def uploads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> t.Iterator[SimpleNamespace]:
    """Every file the form parser creates for an upload (``created``) and the
    temporary folder they live in (``folder``), for cases to check that none
    outlives its request.

    Whatever a case leaves open is closed when it ends, so a leak shows in
    the case that checks for it, and not as a ResourceWarning in whichever
    later test happens to run the garbage collector.
    """
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    created: list[t.IO[bytes]] = []
    original = multipart._spooled_file

    def factory() -> t.IO[bytes]:
        file = original()
        created.append(file)
        return file

    monkeypatch.setattr(multipart, "_spooled_file", factory)
    yield SimpleNamespace(created=created, folder=folder)
    for file in created:
        file.close()
