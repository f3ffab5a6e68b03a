"""Fixtures for the blog's tests: a fresh app and database per test, a test
client for each of Erlen's two drivers, a CLI runner and a login helper."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from erlen import Erlen
from erlen.security import generate_password_hash
from erlen.testing import ErlenClient, TestResponse

# Make the `blog` package importable without installing the example, from
# the repository root as well as from examples/blog.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from blog import create_app  # noqa: E402
from blog.db import get_db, init_db  # noqa: E402

DATA_SQL = (Path(__file__).parent / "data.sql").read_text(encoding="utf-8")


def _cheap_hash(password: str) -> str:
    # A low work factor keeps logins in the tests fast; the views still
    # check the hash with check_password_hash exactly as in production.
    return generate_password_hash(password, method="pbkdf2:sha256:1000")


@pytest.fixture
def app(tmp_path: Path) -> Erlen:
    """The blog with a fresh database holding the fixture data."""
    app = create_app(
        {"TESTING": True, "DATABASE": str(tmp_path / "blog.sqlite")},
    )

    with app.app_context():
        init_db()
        db = get_db()
        db.create_function("hash_password", 1, _cheap_hash)
        db.executescript(DATA_SQL)

    return app


@pytest.fixture(params=["wsgi", "asgi"])
def client(app: Erlen, request: pytest.FixtureRequest) -> ErlenClient:
    """A test client; every test that uses it runs through both drivers."""
    return app.test_client(driver=request.param)


@pytest.fixture
def runner(app: Erlen):
    """A runner for the app's CLI commands."""
    return app.test_cli_runner()


class AuthActions:
    """Log in and out through the real views."""

    def __init__(self, client: ErlenClient) -> None:
        self._client = client

    def login(self, username: str = "test", password: str = "test") -> TestResponse:
        return self._client.post(
            "/auth/login", data={"username": username, "password": password}
        )

    def logout(self) -> TestResponse:
        return self._client.get("/auth/logout")


@pytest.fixture
def auth(client: ErlenClient) -> AuthActions:
    return AuthActions(client)
