"""Shared fixtures: every app-level test runs through both drivers."""

from __future__ import annotations

import typing as t

import pytest

from erlen import Erlen
from erlen.globals import _cv_app, _cv_request
from erlen.testing import ErlenClient


@pytest.fixture(params=["wsgi", "asgi"])
def driver(request: pytest.FixtureRequest) -> str:
    """The interface a test's requests go through."""
    return t.cast(str, request.param)


@pytest.fixture
def app() -> Erlen:
    app = Erlen("test_app", root_path=__file__.rpartition("/")[0])
    app.config.update(TESTING=True, SECRET_KEY="test key")
    return app


@pytest.fixture
def client(app: Erlen, driver: str) -> t.Iterator[ErlenClient]:
    client = app.test_client(driver=driver)  # type: ignore[arg-type]
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _no_leaked_context() -> t.Iterator[None]:
    """Fail a test that leaves an app or request context pushed."""
    yield
    leaked = _cv_request.get(None) or _cv_app.get(None)
    if leaked is not None:
        pytest.fail(f"A context was left pushed: {leaked!r}")
