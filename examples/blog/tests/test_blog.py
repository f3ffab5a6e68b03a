import pytest

from blog.db import get_db


def count_posts(app) -> int:
    with app.app_context():
        return get_db().execute("SELECT COUNT(*) FROM post").fetchone()[0]


def test_index_anonymous(client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert b"test title" in response.data
    assert b"by test on 2024-01-01" in response.data
    assert b"test\nbody" in response.data
    # Nothing to write or edit without logging in.
    assert b'href="/create"' not in response.data
    assert b'href="/1/update"' not in response.data


def test_index_logged_in(client, auth) -> None:
    auth.login()
    response = client.get("/")
    assert b'href="/create"' in response.data
    assert b'href="/1/update"' in response.data


def test_index_hides_edit_link_from_other_users(client, auth) -> None:
    auth.login("other", "other")
    response = client.get("/")
    assert b"test title" in response.data
    assert b'href="/1/update"' not in response.data


def test_index_newest_first(client, auth) -> None:
    auth.login()
    client.post("/create", data={"title": "newer post", "body": ""})
    page = client.get("/").data
    assert page.index(b"newer post") < page.index(b"test title")


def test_index_escapes_posts(client, auth) -> None:
    auth.login()
    client.post("/create", data={"title": "<script>x</script>", "body": ""})
    page = client.get("/").data
    assert b"<script>x</script>" not in page
    assert b"&lt;script&gt;x&lt;/script&gt;" in page


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/create"),
        ("post", "/create"),
        ("get", "/1/update"),
        ("post", "/1/update"),
        ("post", "/1/delete"),
    ],
)
def test_login_required(client, app, method, path) -> None:
    response = getattr(client, method)(path, data={"title": "x", "body": "y"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login"
    # Nothing was written on the way.
    assert count_posts(app) == 1


def test_other_author_forbidden(client, auth, app) -> None:
    auth.login("other", "other")
    assert client.get("/1/update").status_code == 403
    assert client.post("/1/update", data={"title": "x", "body": ""}).status_code == 403
    assert client.post("/1/delete").status_code == 403
    with app.app_context():
        post = get_db().execute("SELECT title FROM post WHERE id = 1").fetchone()
    assert post["title"] == "test title"
    assert count_posts(app) == 1


@pytest.mark.parametrize("path", ["/2/update", "/2/delete"])
def test_missing_post(client, auth, path) -> None:
    auth.login()
    response = client.post(path, data={"title": "x", "body": ""})
    assert response.status_code == 404
    assert b"Post 2 does not exist." in response.data


def test_delete_is_post_only(client, auth) -> None:
    auth.login()
    assert client.get("/1/delete").status_code == 405


def test_create(client, auth, app) -> None:
    auth.login()
    assert client.get("/create").status_code == 200

    response = client.post("/create", data={"title": "created", "body": "words"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"

    with app.app_context():
        post = get_db().execute("SELECT * FROM post WHERE id = 2").fetchone()
    assert post["title"] == "created"
    assert post["body"] == "words"
    assert post["author_id"] == 1


def test_update_form(client, auth) -> None:
    auth.login()
    response = client.get("/1/update")
    assert response.status_code == 200
    assert b'value="test title"' in response.data
    assert b'action="/1/delete"' in response.data


def test_update(client, auth, app) -> None:
    auth.login()
    response = client.post("/1/update", data={"title": "updated", "body": "new"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"

    with app.app_context():
        post = get_db().execute("SELECT * FROM post WHERE id = 1").fetchone()
    assert post["title"] == "updated"
    assert post["body"] == "new"


@pytest.mark.parametrize("path", ["/create", "/1/update"])
def test_title_required(client, auth, app, path) -> None:
    auth.login()
    response = client.post(path, data={"title": "", "body": "kept"})
    assert response.status_code == 200
    assert b"Title is required." in response.data
    # The form comes back with what was typed.
    assert b">kept</textarea>" in response.data
    with app.app_context():
        titles = [r[0] for r in get_db().execute("SELECT title FROM post")]
    assert titles == ["test title"]


def test_delete(client, auth, app) -> None:
    auth.login()
    response = client.post("/1/delete")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert count_posts(app) == 0
    assert b"Nothing here yet." in client.get("/").data
