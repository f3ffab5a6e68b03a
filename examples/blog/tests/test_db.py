import functools
import sqlite3

import pytest

from blog.db import get_db, init_db
from erlen import g


def test_one_connection_per_context(app) -> None:
    with app.app_context():
        db = get_db()
        assert get_db() is db
        assert g.db is db


def test_teardown_closes_connection(app) -> None:
    with app.app_context():
        db = get_db()

    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        db.execute("SELECT 1")


def test_request_closes_connection(client, monkeypatch) -> None:
    closed = []

    class RecordingConnection(sqlite3.Connection):
        def close(self) -> None:
            closed.append(self)
            super().close()

    monkeypatch.setattr(
        sqlite3,
        "connect",
        functools.partial(sqlite3.connect, factory=RecordingConnection),
    )
    assert client.get("/").status_code == 200
    # The index opened one connection, and the teardown closed it when the
    # request (and its app context) ended.
    assert len(closed) == 1


def test_init_db_command(runner, monkeypatch) -> None:
    calls = []
    monkeypatch.setattr("blog.db.init_db", lambda: calls.append(True))

    result = runner.invoke(args=["init-db"])

    assert result.exit_code == 0
    assert "Initialized the database." in result.output
    assert calls == [True]


def test_init_db_empties_tables(app) -> None:
    with app.app_context():
        init_db()
        db = get_db()
        assert db.execute("SELECT COUNT(*) FROM user").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM post").fetchone()[0] == 0
