"""Hostile cookies and session cookies: prefix confusion, malformed pairs
in bulk, and session cookies that were tampered with, cut, signed for
something else, expired, or built to inflate to 100 MB."""

from __future__ import annotations

import base64
import time
import typing as t
import zlib

import itsdangerous
import pytest

from erlen import Erlen, g, request, session
from erlen.testing import ErlenClient

from .helpers import assert_linear, best_time, check


@pytest.fixture
def app(app: Erlen) -> Erlen:
    @app.route("/cookies")
    def cookies() -> dict[str, t.Any]:
        return {"cookies": list(request.cookies.items(multi=True))}

    @app.route("/host-cookie")
    def host_cookie() -> str:
        return request.cookies["__Host-x"]

    @app.route("/login")
    def login() -> str:
        session["user"] = "alice"
        return "ok"

    @app.route("/whoami")
    def whoami() -> dict[str, t.Any]:
        g.seen = getattr(g, "seen", 0) + 1
        return {"session": dict(session), "new": session.new, "g": g.seen}

    return app


def signed(app: Erlen, value: t.Any, **changes: t.Any) -> str:
    """A session cookie value for ``value``, made the way the app makes
    them, with ``changes`` (``secret_key``, ``salt``) applied."""
    serializer = itsdangerous.URLSafeTimedSerializer(
        changes.get("secret_key", app.secret_key),
        salt=changes.get("salt", "cookie-session"),
        serializer=app.session_interface.serializer,  # type: ignore[attr-defined]
        signer_kwargs={"key_derivation": "hmac", "digest_method": _sha1},
    )
    return serializer.dumps(value)


def _sha1(data: bytes = b"") -> t.Any:
    import hashlib

    return hashlib.sha1(data)


def signed_raw(app: Erlen, payload: bytes, secret_key: str | None = None) -> str:
    """``payload`` (already encoded: base64, maybe with the ``.`` prefix of a
    compressed one) signed as a session cookie."""
    signer = itsdangerous.TimestampSigner(
        secret_key or app.secret_key,
        salt="cookie-session",
        key_derivation="hmac",
        digest_method=_sha1,
    )
    return signer.sign(payload).decode()


def bomb_payload(size: int) -> bytes:
    """The ``.``-prefixed compressed payload itsdangerous inflates: ``size``
    bytes of JSON text that is not a session (a string)."""
    data = b'"' + b"x" * (size - 2) + b'"'
    return b"." + base64.urlsafe_b64encode(zlib.compress(data, 9)).rstrip(b"=")


def whoami(client: ErlenClient, cookie: str | None) -> t.Any:
    """GET ``/whoami`` with exactly this session cookie (none for ``None``),
    sent as a browser would, whatever its size."""
    client.delete_cookie("session")
    headers = {} if cookie is None else {"Cookie": f"session={cookie}"}
    response = client.get("/whoami", headers=headers)
    check(response, 200)
    return response


def assert_empty_session(response: t.Any) -> None:
    assert response.json == {"session": {}, "new": True, "g": 1}
    # A cookie that failed verification is not answered with a new one.
    assert "Set-Cookie" not in response.headers


# -- cookie parsing ------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "==__Host-x=bad; __Host-x=good",
        "=__Host-x=bad; __Host-x=good",
        "__Host-x=good; ==__Host-x=bad",
        "__Host-x=good; =__Host-x=bad",
    ],
)
def test_nameless_cookie_cannot_shadow_a_host_cookie(
    client: ErlenClient, header: str
) -> None:
    response = client.get("/host-cookie", headers={"Cookie": header})
    check(response, 200)
    assert response.data == b"good"


def test_nameless_cookie_is_not_read_as_a_prefixed_one(client: ErlenClient) -> None:
    response = client.get("/cookies", headers={"Cookie": "==__Host-x=bad"})
    check(response, 200)
    assert "__Host-x" not in dict(response.json["cookies"])


_NON_UTF8 = (
    "a Cookie header holding a byte that is not UTF-8 (sent raw, e.g. latin-1"
    " 'é') is a 500 for every view that reads request.cookies or session:"
    " Request.cookies (src/erlen/wrappers.py) passes the header to werkzeug's"
    " parse_cookie, which decodes it as strict UTF-8 (werkzeug/http.py"
    " parse_cookie: cookie.encode('latin1').decode())"
)


@pytest.mark.logs_errors
@pytest.mark.parametrize("path", ["/cookies", "/whoami"])
@pytest.mark.parametrize("header", ["a=\xe9", "x=\xff; session=abc", "\xe9=\xfc"])
def test_non_utf8_cookie_bytes_are_not_a_500(
    client: ErlenClient, path: str, header: str
) -> None:
    response = client.get(path, headers={"Cookie": header})
    check(response, 200)


MALFORMED = [
    ";",
    "=",
    "x=y=z;",
    '"a;',
    'a="b;',
    "a=\\",
    'a="\\',
    "\x00;",
    " ; ",
    "a=\\351;",
]


@pytest.mark.parametrize("pair", MALFORMED)
def test_many_malformed_pairs_are_a_200(client: ErlenClient, pair: str) -> None:
    header = pair * 1000 + "; good=1"
    response = client.get("/cookies", headers={"Cookie": header})
    check(response, 200)


@pytest.mark.parametrize("pair", MALFORMED)
def test_malformed_pairs_parse_in_linear_time(app: Erlen, pair: str) -> None:
    def make(n: int) -> t.Callable[[], object]:
        header = pair * n + "; good=1"

        def parse() -> None:
            with app.test_request_context(headers={"Cookie": header}):
                request.cookies  # noqa: B018 - parsing is the point

        return parse

    # 20 000 then 40 000 pairs: enough work (~10 ms) to rise above timer noise.
    assert_linear(make, 20_000)


# -- session cookies -----------------------------------------------------------


def test_valid_session_cookie_is_read(app: Erlen, client: ErlenClient) -> None:
    response = whoami(client, signed(app, {"user": "alice"}))
    assert response.json == {"session": {"user": "alice"}, "new": False, "g": 1}


def _flip(text: str, index: int) -> str:
    """``text`` with one bit of the character at ``index`` changed, kept in
    the base64url alphabet.  The third-lowest bit: the last character of a
    base64 SHA-1 signature carries only its four highest bits, so flipping a
    lower one would decode to the same signature."""
    char = text[index]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    if char not in alphabet:
        return text[:index] + chr(ord(char) ^ 4) + text[index + 1 :]
    flipped = alphabet[alphabet.index(char) ^ 4]
    return text[:index] + flipped + text[index + 1 :]


@pytest.mark.parametrize("where", ["payload", "timestamp", "signature", "separator"])
def test_one_flipped_bit_gives_an_empty_session(
    app: Erlen, client: ErlenClient, where: str
) -> None:
    cookie = signed(app, {"user": "alice", "admin": False})
    payload, stamp, signature = cookie.split(".")
    index = {
        "payload": 3,
        "timestamp": len(payload) + 2,
        "signature": len(cookie) - 1,
        "separator": len(payload),
    }[where]
    tampered = _flip(cookie, index)
    assert tampered != cookie
    assert_empty_session(whoami(client, tampered))


@pytest.mark.parametrize(
    "cut",
    [
        lambda c: c[:-1],
        lambda c: c[: len(c) // 2],
        lambda c: c.rsplit(".", 1)[0],  # no signature
        lambda c: c.split(".", 1)[0],  # payload only
        lambda c: c + "A",
        lambda c: "." + c,
        lambda c: "",
        lambda c: "....",
    ],
    ids=[
        "last-char",
        "half",
        "no-signature",
        "payload-only",
        "extra",
        "dot",
        "empty",
        "dots",
    ],
)
def test_truncated_or_padded_cookie_gives_an_empty_session(
    app: Erlen, client: ErlenClient, cut: t.Callable[[str], str]
) -> None:
    assert_empty_session(whoami(client, cut(signed(app, {"user": "alice"}))))


@pytest.mark.parametrize(
    "changes",
    [{"salt": "itsdangerous"}, {"salt": "other-app"}, {"secret_key": "not the key"}],
    ids=["default-salt", "other-salt", "other-key"],
)
def test_cookie_signed_for_something_else_gives_an_empty_session(
    app: Erlen, client: ErlenClient, changes: dict[str, str]
) -> None:
    assert_empty_session(whoami(client, signed(app, {"user": "alice"}, **changes)))


def test_expired_cookie_gives_an_empty_session(
    app: Erlen, client: ErlenClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    lifetime = app.permanent_session_lifetime.total_seconds()
    now = time.time()
    with monkeypatch.context() as m:
        m.setattr(itsdangerous.timed.time, "time", lambda: now - lifetime - 60)
        cookie = signed(app, {"user": "alice", "_permanent": True})
    assert_empty_session(whoami(client, cookie))


def test_signed_payload_that_is_not_a_dict_gives_an_empty_session(
    app: Erlen, client: ErlenClient
) -> None:
    for value in (["user", "alice"], "alice", 1, None):
        assert_empty_session(whoami(client, signed(app, value)))


def test_bad_session_leaks_nothing_into_the_next_request(
    app: Erlen, client: ErlenClient
) -> None:
    check(client.get("/login"), 200)
    good = client.get_cookie("session")
    assert good is not None
    assert_empty_session(whoami(client, _flip(good.value, 5)))
    # The next request, without a cookie, starts from nothing either.
    assert_empty_session(whoami(client, None))
    # And the good cookie still works.
    assert whoami(client, good.value).json["session"] == {"user": "alice"}


def test_compression_bomb_with_a_wrong_key_is_cheap(
    app: Erlen, client: ErlenClient
) -> None:
    # A 4 kB cookie (what a browser keeps) that would inflate to ~4 MB.
    bomb = signed_raw(app, bomb_payload(4_000_000), secret_key="attacker key")
    normal = signed_raw(app, b"eyJ1Ijp7fX0", secret_key="attacker key")
    assert_empty_session(whoami(client, bomb))
    bomb_time = best_time(lambda: whoami(client, bomb))
    normal_time = best_time(lambda: whoami(client, normal))
    assert bomb_time <= 3 * max(normal_time, 0.002)


def test_compression_bomb_that_is_not_a_session_gives_an_empty_session(
    app: Erlen, client: ErlenClient
) -> None:
    # Signed with the key (so it is inflated) but not a dict once parsed.
    assert_empty_session(whoami(client, signed_raw(app, bomb_payload(4_000_000))))


def test_compression_bomb_of_100_mb_is_refused_quickly(app: Erlen) -> None:
    si = app.session_interface

    def opened(payload: bytes) -> t.Any:
        cookie = f"session={signed_raw(app, payload)}"
        with app.test_request_context(headers={"Cookie": cookie}):
            return si.open_session(app, request)

    data = b'{"a":"' + b"x" * 100_000_000 + b'"}'
    bomb = b"." + base64.urlsafe_b64encode(zlib.compress(data, 9)).rstrip(b"=")
    del data
    normal = base64.urlsafe_b64encode(b'{"a":"x"}').rstrip(b"=")
    assert dict(opened(normal)) == {"a": "x"}
    normal_time = best_time(lambda: opened(normal))
    start = time.perf_counter()
    session_ = opened(bomb)
    bomb_time = time.perf_counter() - start
    assert session_ is not None and dict(session_) == {}
    assert bomb_time <= 3 * max(normal_time, 0.005)
