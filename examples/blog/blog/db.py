"""The SQLite database: one connection per app context, kept on ``g``."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import click

from erlen import Erlen, current_app, g


def get_db() -> sqlite3.Connection:
    """The connection of the current app context, opened on first use."""
    if "db" not in g:
        g.db = sqlite3.connect(
            current_app.config["DATABASE"], detect_types=sqlite3.PARSE_DECLTYPES
        )
        # Rows behave like dicts: post["title"] rather than post[3].
        g.db.row_factory = sqlite3.Row
    return g.db


def close_db(e: BaseException | None = None) -> None:
    """Close the connection, if this context opened one."""
    db = g.pop("db", None)
    if db is not None:
        db.close()


def init_db() -> None:
    """Drop the tables and create them again, empty."""
    db = get_db()
    with current_app.open_resource("schema.sql") as f:
        db.executescript(f.read().decode("utf-8"))


@click.command("init-db")
def init_db_command() -> None:
    """Clear the existing data and create new tables."""
    init_db()
    click.echo("Initialized the database.")


# Python 3.12 deprecates sqlite3's implicit timestamp converter; register
# one so "created" still comes back as a datetime.
sqlite3.register_converter(
    "timestamp", lambda value: datetime.fromisoformat(value.decode())
)


def init_app(app: Erlen) -> None:
    """Register the database functions with ``app``."""
    app.teardown_appcontext(close_db)
    app.cli.add_command(init_db_command)
