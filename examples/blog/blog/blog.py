"""Posts: the front page lists them; logged-in users write, edit and delete
their own."""

from __future__ import annotations

from typing import Any

from erlen import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from .auth import login_required
from .db import get_db

bp = Blueprint("blog", __name__)


@bp.route("/")
def index() -> str:
    """All posts, newest first, with their author's name."""
    db = get_db()
    posts = db.execute(
        "SELECT p.id, title, body, created, author_id, username"
        " FROM post p JOIN user u ON p.author_id = u.id"
        " ORDER BY created DESC, p.id DESC"
    ).fetchall()
    return render_template("blog/index.html", posts=posts)


def get_post(id: int, check_author: bool = True) -> Any:
    """The post ``id`` with its author's name.

    :param id: the post's id.
    :param check_author: also require the logged-in user to be the author.
    :raises NotFound: (404) there is no such post.
    :raises Forbidden: (403) ``check_author`` and someone else wrote it.
    """
    post = (
        get_db()
        .execute(
            "SELECT p.id, title, body, created, author_id, username"
            " FROM post p JOIN user u ON p.author_id = u.id"
            " WHERE p.id = ?",
            (id,),
        )
        .fetchone()
    )

    if post is None:
        abort(404, f"Post {id} does not exist.")

    if check_author and post["author_id"] != g.user["id"]:
        abort(403)

    return post


def _validate(title: str) -> str | None:
    """The error message for a post form, or ``None`` if it is fine."""
    if not title:
        return "Title is required."
    return None


@bp.route("/create", methods=("GET", "POST"))
@login_required
def create() -> Any:
    """Show the new-post form; on a valid POST save the post."""
    if request.method == "POST":
        title = request.form["title"]
        body = request.form["body"]
        error = _validate(title)

        if error is not None:
            flash(error)
        else:
            db = get_db()
            db.execute(
                "INSERT INTO post (title, body, author_id) VALUES (?, ?, ?)",
                (title, body, g.user["id"]),
            )
            db.commit()
            return redirect(url_for("blog.index"))

    return render_template("blog/create.html")


@bp.route("/<int:id>/update", methods=("GET", "POST"))
@login_required
def update(id: int) -> Any:
    """Show the edit form for one of the user's posts; on a valid POST save
    the changes."""
    post = get_post(id)

    if request.method == "POST":
        title = request.form["title"]
        body = request.form["body"]
        error = _validate(title)

        if error is not None:
            flash(error)
        else:
            db = get_db()
            db.execute(
                "UPDATE post SET title = ?, body = ? WHERE id = ?", (title, body, id)
            )
            db.commit()
            return redirect(url_for("blog.index"))

    return render_template("blog/update.html", post=post)


@bp.route("/<int:id>/delete", methods=("POST",))
@login_required
def delete(id: int) -> Any:
    """Delete one of the user's posts."""
    get_post(id)
    db = get_db()
    db.execute("DELETE FROM post WHERE id = ?", (id,))
    db.commit()
    return redirect(url_for("blog.index"))
