import pytest

from blog.db import get_db
from erlen import g, session
from erlen.security import check_password_hash


def test_register_form(client) -> None:
    response = client.get("/auth/register")
    assert response.status_code == 200
    assert b'<form method="post">' in response.data
    assert b'name="username"' in response.data


def test_register_creates_user(client, app) -> None:
    response = client.post("/auth/register", data={"username": "a", "password": "a"})
    # A new account goes on to the login page.
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login"

    with app.app_context():
        user = get_db().execute("SELECT * FROM user WHERE username = 'a'").fetchone()
    assert user is not None
    # Stored hashed, never as typed.
    assert user["password"] != "a"
    assert check_password_hash(user["password"], "a")


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("", "", b"Username is required."),
        ("a", "", b"Password is required."),
        ("test", "test", b"User test is already registered."),
    ],
)
def test_register_validation(client, app, username, password, message) -> None:
    response = client.post(
        "/auth/register", data={"username": username, "password": password}
    )
    assert response.status_code == 200
    assert message in response.data
    with app.app_context():
        count = get_db().execute("SELECT COUNT(*) FROM user").fetchone()[0]
    assert count == 2


def test_login_form(client) -> None:
    response = client.get("/auth/login")
    assert response.status_code == 200
    assert b'name="password"' in response.data


def test_login(client, auth) -> None:
    response = auth.login()
    assert response.status_code == 302
    assert response.headers["Location"] == "/"

    # Keep the next request's context to look at session and g afterwards.
    with client:
        client.get("/")
        assert session["user_id"] == 1
        assert g.user["username"] == "test"


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("nobody", "test", b"Incorrect username."),
        ("test", "wrong", b"Incorrect password."),
    ],
)
def test_login_validation(client, auth, username, password, message) -> None:
    response = auth.login(username, password)
    assert response.status_code == 200
    assert message in response.data
    with client:
        client.get("/")
        assert "user_id" not in session
        assert g.user is None


def test_login_replaces_previous_session(client, auth) -> None:
    with client.session_transaction() as sess:
        sess["left_over"] = "from before"
    auth.login()
    with client.session_transaction() as sess:
        assert "left_over" not in sess
        assert sess["user_id"] == 1


def test_logout(client, auth) -> None:
    auth.login()

    with client:
        response = auth.logout()
        assert response.status_code == 302
        assert response.headers["Location"] == "/"
        assert "user_id" not in session


def test_nav_links(client, auth) -> None:
    page = client.get("/").data
    assert b'href="/auth/login"' in page
    assert b'href="/auth/register"' in page
    assert b'href="/auth/logout"' not in page

    auth.login()
    page = client.get("/").data
    assert b"<span>test</span>" in page
    assert b'href="/auth/logout"' in page
    assert b'href="/auth/login"' not in page


def test_flashed_error_shown_once(client) -> None:
    client.post("/auth/login", data={"username": "nobody", "password": "x"})
    assert b"Incorrect username." not in client.get("/auth/login").data
