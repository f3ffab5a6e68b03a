"""Sessions and flash messages, through both drivers, compared with Flask.

Cookies are exchanged between a Flask app and an Erlen app with the same
secret key in both directions: a Flask app moving to Erlen keeps its users'
sessions.
"""

from __future__ import annotations

import base64
import json
import time
import types
import typing as t
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from unittest import mock

import flask
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from itsdangerous import (
    BadSignature,
    SignatureExpired,
    TimestampSigner,
    URLSafeTimedSerializer,
)
from markupsafe import Markup

import erlen
from erlen import Erlen, session, sessions
from erlen.sessions import (
    NullSession,
    SecureCookieSession,
    SecureCookieSessionInterface,
    SessionInterface,
    SessionMixin,
    TaggedJSONSerializer,
)
from erlen.signals import message_flashed
from erlen.testing import ErlenClient
from erlen.wrappers import Request, Response

SECRET = "test key"

#: Values that need the tagged JSON, by name.
VALUES: dict[str, t.Any] = {
    "dict": {"a": 1, "nested": {"b": [1, 2], "c": None}},
    "tuple": (1, "two", (3, 4.5)),
    "bytes": b"\x00\xffbinary",
    "markup": Markup("<b>bold</b> &amp;"),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "datetime": datetime(2024, 2, 29, 13, 14, 15, tzinfo=UTC),
    "tag_key_dict": {" t": "not a tuple"},
    "di_key_dict": {" di": {" b": "not bytes"}},
    "list_of_tuples": [("a", 1), ("b", b"x")],
    "text": "héllo ☃ \U0001f600",
    "mixed": {"when": datetime(2000, 1, 1, tzinfo=UTC), "ids": (uuid.UUID(int=1),)},
}


def same(a: t.Any, b: t.Any) -> bool:
    """Equal, and of the same types all the way down."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(map(same, a, b))
    return bool(a == b)


def _build(app: t.Any, fw: types.ModuleType) -> t.Any:
    """The same routes on a Flask or an Erlen app (``fw`` is the module)."""
    session, request = fw.session, fw.request

    @app.route("/store/<kind>")
    def store(kind: str) -> t.Any:
        session["v"] = VALUES[kind]
        return "stored"

    @app.route("/check/<kind>")
    def check(kind: str) -> t.Any:
        value = session.get("v", "<missing>")
        return "same" if same(value, VALUES[kind]) else f"got {value!r}"

    @app.route("/set")
    def set_() -> t.Any:
        session.update(request.args.to_dict())
        if "permanent" in request.args:
            session.permanent = request.args["permanent"] == "1"
        return "set"

    @app.route("/get")
    def get() -> t.Any:
        return {"data": dict(session), "new": session.new}

    @app.route("/read/<key>")
    def read(key: str) -> t.Any:
        return str(session.get(key))

    @app.route("/contains")
    def contains() -> t.Any:
        return str("user" in session)

    @app.route("/length")
    def length() -> t.Any:
        return str(len(session))

    @app.route("/permanent")
    def permanent() -> t.Any:
        return str(session.permanent)

    @app.route("/clear")
    def clear() -> t.Any:
        session.clear()
        return "cleared"

    @app.route("/untouched")
    def untouched() -> t.Any:
        return "nothing"

    @app.route("/append")
    def append() -> t.Any:
        session.setdefault("items", []).append(request.args["item"])
        if "mark" in request.args:
            session.modified = True
        return "appended"

    @app.route("/flash")
    def flash_() -> t.Any:
        for category in request.args.getlist("c"):
            fw.flash(f"{category} message", category)
        if not request.args.getlist("c"):
            fw.flash("plain")
        return "flashed"

    @app.route("/flashes")
    def flashes() -> t.Any:
        filter_ = request.args.getlist("f")
        first = fw.get_flashed_messages(
            with_categories="cat" in request.args, category_filter=filter_
        )
        again = fw.get_flashed_messages(
            with_categories="cat" in request.args, category_filter=filter_
        )
        return {
            "first": [list(x) if isinstance(x, tuple) else x for x in first],
            "again_same": first == again,
        }

    return app


@pytest.fixture
def app(app: Erlen) -> Erlen:
    return t.cast(Erlen, _build(app, erlen))


MakeClient = t.Callable[[Erlen], ErlenClient]


@pytest.fixture
def make_client(driver: str) -> t.Iterator[t.Callable[[Erlen], ErlenClient]]:
    """``make_client(app)``: a client through the test's driver, closed (with
    its event loop) when the test ends."""
    clients: list[ErlenClient] = []

    def make(app: Erlen) -> ErlenClient:
        client = app.test_client(driver=driver)  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def make_flask(**config: t.Any) -> t.Any:
    app = flask.Flask("flask_app")
    app.config.update({"TESTING": True, "SECRET_KEY": SECRET, **config})
    return _build(app, flask)


@pytest.fixture
def flask_client() -> t.Any:
    return make_flask().test_client()


def session_cookie(client: t.Any, name: str = "session") -> str:
    cookie = client.get_cookie(name)
    assert cookie is not None, "no session cookie was set"
    return t.cast(str, cookie.value)


def set_cookie_attrs(header: str) -> dict[str, str]:
    """The attributes of a ``Set-Cookie`` header, keys lower-cased, without
    the name and value."""
    parts = [p.strip() for p in header.split(";")]
    attrs = {}
    for part in parts[1:]:
        key, _, value = part.partition("=")
        attrs[key.lower()] = value
    return attrs


# -- the format: Flask's, both ways --------------------------------------------


@pytest.mark.parametrize("kind", sorted(VALUES))
def test_flask_cookie_is_read_by_erlen(
    client: ErlenClient, flask_client: t.Any, kind: str
) -> None:
    assert flask_client.get(f"/store/{kind}").text == "stored"
    client.set_cookie("session", session_cookie(flask_client))
    assert client.get(f"/check/{kind}").text == "same"


@pytest.mark.parametrize("kind", sorted(VALUES))
def test_erlen_cookie_is_read_by_flask(
    client: ErlenClient, flask_client: t.Any, kind: str
) -> None:
    assert client.get(f"/store/{kind}").text == "stored"
    flask_client.set_cookie("session", session_cookie(client))
    assert flask_client.get(f"/check/{kind}").text == "same"


@pytest.mark.parametrize("kind", sorted(VALUES))
def test_serialized_payload_is_byte_identical_to_flasks(kind: str) -> None:
    data = {"v": VALUES[kind], "b": 2, "a": 1}
    flask_app = flask.Flask("f")
    with flask_app.app_context():
        theirs = flask.sessions.session_json_serializer.dumps(data)
    with Erlen("e").app_context():
        ours = erlen.sessions.session_json_serializer.dumps(data)
    assert ours == theirs
    with Erlen("e").app_context():
        assert same(erlen.sessions.session_json_serializer.loads(theirs), data)


def test_serializer_works_without_an_app() -> None:
    serializer = TaggedJSONSerializer()
    for value in VALUES.values():
        assert same(serializer.loads(serializer.dumps({"v": value})), {"v": value})


def test_naive_datetime_comes_back_as_utc() -> None:
    serializer = TaggedJSONSerializer()
    naive = datetime(2024, 1, 2, 3, 4, 5)
    assert serializer.loads(serializer.dumps(naive)) == naive.replace(tzinfo=UTC)


def test_serializer_register_a_tag() -> None:
    class TagSet(erlen.sessions.JSONTag):
        key = " set"

        def check(self, value: t.Any) -> bool:
            return isinstance(value, set)

        def to_json(self, value: t.Any) -> t.Any:
            return sorted(value)

        def to_python(self, value: t.Any) -> t.Any:
            return set(value)

    serializer = TaggedJSONSerializer()
    serializer.register(TagSet)
    assert serializer.dumps({"s": {2, 1}}) == '{"s":{" set":[1,2]}}'
    assert serializer.loads('{"s":{" set":[1,2]}}') == {"s": {1, 2}}
    # A one-key dict whose key is the new tag is escaped too.
    assert serializer.loads(serializer.dumps({" set": 1})) == {" set": 1}
    with pytest.raises(KeyError, match="already registered"):
        serializer.register(TagSet)
    serializer.register(TagSet, force=True, index=0)
    assert serializer.order[0].key == " set"
    assert len(serializer.order) == len(TaggedJSONSerializer.default_tags) + 1


#: Parsed JSON whose objects are often one-key dicts under a tag's key.
TAGGED_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from([" t", " di", " b", " m", " u", " d", "a", " x"]),
            inner,
            max_size=2,
        )
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(value=TAGGED_JSON)
def test_serializer_loads_is_untag_of_json_loads(value: t.Any) -> None:
    # The fast path (the tags undone while decoding) against the general
    # one: the same value or the same error (a bad tag payload).
    text = json.dumps(value)
    serializer = TaggedJSONSerializer()

    def outcome(loads: t.Callable[[], t.Any]) -> t.Any:
        try:
            return ("value", loads())
        except Exception as e:
            return ("error", type(e))

    with Erlen("e").app_context():
        ours = outcome(lambda: serializer.loads(text))
    theirs = outcome(lambda: serializer.untag(json.loads(text)))
    assert ours[0] == theirs[0]
    assert ours[1] is theirs[1] if ours[0] == "error" else same(ours[1], theirs[1])


def test_serializer_loads_keeps_json_loads_errors() -> None:
    serializer = TaggedJSONSerializer()
    for text in ("\ufeff{}", "{} x", "{", ""):
        with pytest.raises(json.JSONDecodeError) as theirs:
            json.loads(text)
        with pytest.raises(json.JSONDecodeError) as ours:
            serializer.loads(text)
        assert str(ours.value) == str(theirs.value)


def test_serializer_loads_with_the_apps_own_provider() -> None:
    # A provider with its own loads (orjson, say) still parses the session.
    calls = []

    class Provider(erlen.json.DefaultJSONProvider):
        def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
            calls.append(s)
            return super().loads(s, **kwargs)

    app = Erlen("e")
    app.json = Provider(app)
    with app.app_context():
        assert TaggedJSONSerializer().loads('{"a":{" t":[1]}}') == {"a": (1,)}
    assert calls == ['{"a":{" t":[1]}}']


def test_serializer_subclass_untag_is_used() -> None:
    seen: list[t.Any] = []

    class Recording(TaggedJSONSerializer):
        def untag(self, value: t.Any) -> t.Any:
            seen.append(value)
            return super().untag(value)

    assert Recording().loads('{"a":{" t":[1]}}') == {"a": (1,)}
    assert seen[0] == {"a": {" t": [1]}}


# -- the cookie serializer: itsdangerous' format, held to itsdangerous -----------

#: JSON values, with the tagged types among them.
SESSION_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary(max_size=20)
    | st.uuids(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)
SESSIONS = st.dictionaries(st.text(max_size=8), SESSION_VALUES, max_size=5)
KEYS = st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=3)
NOW = 1_750_000_000


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _serializers(keys: list[str]) -> tuple[t.Any, URLSafeTimedSerializer]:
    """Erlen's session serializer for ``keys`` (the last one current, the
    others fallbacks) and itsdangerous' own with the same settings."""
    app = Erlen("codec")
    app.config.update(SECRET_KEY=keys[-1], SECRET_KEY_FALLBACKS=keys[:-1])
    si = SecureCookieSessionInterface()
    ours = si.get_signing_serializer(app)
    reference = URLSafeTimedSerializer(
        keys,
        salt=si.salt,
        serializer=si.serializer,
        signer_kwargs={"key_derivation": "hmac", "digest_method": si.digest_method},
    )
    assert type(ours) is not URLSafeTimedSerializer  # the one under test
    return ours, reference


def _outcome(loads: t.Callable[..., t.Any], cookie: t.Any, max_age: int) -> t.Any:
    try:
        return ("value", loads(cookie, max_age=max_age))
    except Exception as e:
        return ("error", type(e))


def _same_outcome(ours: t.Any, theirs: t.Any) -> bool:
    if ours[0] != theirs[0]:
        return False
    return ours[1] is theirs[1] if ours[0] == "error" else same(ours[1], theirs[1])


@settings(max_examples=150, deadline=None)
@given(data=SESSIONS, keys=KEYS, signer=st.integers(0, 2))
def test_serializer_round_trips_with_itsdangerous(
    data: dict[str, t.Any], keys: list[str], signer: int
) -> None:
    ours, reference = _serializers(keys)
    with mock.patch("time.time", return_value=NOW + 0.5):
        cookie = ours.dumps(data)
        assert same(reference.loads(cookie, max_age=60), data)
        # A cookie signed by itsdangerous with any of the keys is read.
        key = keys[min(signer, len(keys) - 1)]
        theirs = _serializers([key])[1].dumps(data)
        assert same(ours.loads(theirs, max_age=60), data)
        if not cookie.startswith("."):
            # Uncompressed, the bytes are the same (compressed, the zlib
            # stream is built with a smaller window; it inflates the same).
            assert cookie == reference.dumps(data)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(min_size=1, max_size=300) | st.text(min_size=1).map(str.encode))
def test_no_zlib_stream_is_shorter_than_the_bound_the_serializer_skips_by(
    data: bytes,
) -> None:
    # The session serializer does not try to compress a payload of up to
    # _MIN_ZLIB + 1 bytes: neither zlib's default nor its own compressor
    # can make it 2 bytes shorter, so itsdangerous would not send it
    # compressed either.
    assert len(zlib.compress(data)) >= sessions._MIN_ZLIB
    assert len(sessions._compress(data)) >= sessions._MIN_ZLIB


@settings(max_examples=300, deadline=None)
@given(
    data=SESSIONS,
    edits=st.lists(
        st.tuples(st.integers(0, 200), st.sampled_from("AZaz09-_.=+/ \x00é")),
        max_size=3,
    ),
    delete=st.booleans(),
    age=st.integers(-3, 3),
)
def test_serializer_rejects_what_itsdangerous_rejects(
    data: dict[str, t.Any], edits: list[tuple[int, str]], delete: bool, age: int
) -> None:
    ours, reference = _serializers([SECRET])
    with mock.patch("time.time", return_value=NOW):
        cookie = reference.dumps(data)
    for position, char in edits:
        position %= len(cookie) + 1
        end = position + 1 if delete else position
        cookie = cookie[:position] + char + cookie[end:]
    with mock.patch("time.time", return_value=NOW + age + 0.5):
        theirs = _outcome(reference.loads, cookie, max_age=1)
        assert _same_outcome(_outcome(ours.loads, cookie, max_age=1), theirs)


@settings(max_examples=300, deadline=None)
@given(
    payload=st.binary(max_size=60)
    | st.text('AZaz09-_.={}":[] ', max_size=60).map(str.encode)
    | SESSION_VALUES.map(lambda v: b"." + _b64(zlib.compress(repr(v).encode()))),
    stamp=st.binary(max_size=10).map(_b64) | st.just(b"") | st.just(b"!!"),
)
def test_signed_payloads_load_as_in_itsdangerous(payload: bytes, stamp: bytes) -> None:
    # Correctly signed, so the payload and timestamp checks are reached.
    ours, reference = _serializers([SECRET])
    signer = reference.make_signer()
    cookie = payload + b"." + stamp
    cookie += b"." + signer.get_signature(cookie)
    with mock.patch("time.time", return_value=NOW):
        theirs = _outcome(reference.loads, cookie, max_age=2**70)
        assert _same_outcome(_outcome(ours.loads, cookie, max_age=2**70), theirs)
        theirs = _outcome(reference.loads, cookie, max_age=None)  # type: ignore[arg-type]
        assert _same_outcome(_outcome(ours.loads, cookie, max_age=None), theirs)  # type: ignore[arg-type]


def test_serializer_expiry_matches_itsdangerous() -> None:
    ours, reference = _serializers([SECRET])
    with mock.patch("time.time", return_value=NOW):
        cookie = ours.dumps({"a": 1})
    for age, max_age in [(10, 10), (11, 10), (-1, 10), (0, 0), (5, -1)]:
        with mock.patch("time.time", return_value=NOW + age):
            theirs = _outcome(reference.loads, cookie, max_age)
            assert _same_outcome(_outcome(ours.loads, cookie, max_age), theirs)
    with mock.patch("time.time", return_value=NOW + 11):
        with pytest.raises(SignatureExpired, match="age 11 > 10") as info:
            ours.loads(cookie, max_age=10)
    assert info.value.date_signed == datetime.fromtimestamp(NOW, UTC)


def test_serializer_other_calls_go_to_itsdangerous() -> None:
    ours, reference = _serializers(["old", SECRET])
    cookie = reference.dumps({"a": 1}, salt="other")
    assert ours.loads(cookie, salt="other") == {"a": 1}
    assert reference.loads(ours.dumps({"a": 1}, salt="other"), salt="other") == {"a": 1}
    value, signed = ours.loads(ours.dumps({"a": 1}), return_timestamp=True)
    assert value == {"a": 1}
    assert isinstance(signed, datetime)
    with pytest.raises(BadSignature):
        ours.loads(reference.dumps({"a": 1}), salt="other")


# -- reading and writing -------------------------------------------------------


def test_set_then_get(client: ErlenClient) -> None:
    assert client.get("/get").get_json() == {"data": {}, "new": True}
    client.get("/set", query_string={"user": "ann"})
    assert client.get("/get").get_json() == {"data": {"user": "ann"}, "new": False}


def test_default_cookie_attributes_match_flask(
    client: ErlenClient, flask_client: t.Any
) -> None:
    ours = client.get("/set", query_string={"user": "ann"})
    theirs = flask_client.get("/set", query_string={"user": "ann"})
    # Flask's attributes plus SameSite=Lax, Erlen's safer default
    # (SESSION_COOKIE_SAMESITE; Secure is automatic, and this is plain HTTP).
    assert set_cookie_attrs(ours.headers["Set-Cookie"]) == {
        **set_cookie_attrs(theirs.headers["Set-Cookie"]),
        "samesite": "Lax",
    }
    assert set_cookie_attrs(ours.headers["Set-Cookie"]) == {
        "httponly": "",
        "path": "/",
        "samesite": "Lax",
    }
    assert ours.headers["Vary"] == theirs.headers["Vary"] == "Cookie"


COOKIE_CONFIGS: list[dict[str, t.Any]] = [
    {"SESSION_COOKIE_NAME": "sid"},
    {"SESSION_COOKIE_DOMAIN": "example.com"},
    {"SESSION_COOKIE_PATH": "/app"},
    {"APPLICATION_ROOT": "/root"},
    {"SESSION_COOKIE_PATH": "/app", "APPLICATION_ROOT": "/root"},
    {"SESSION_COOKIE_HTTPONLY": False},
    {"SESSION_COOKIE_SECURE": True},
    {"SESSION_COOKIE_SAMESITE": "Lax"},
    {"SESSION_COOKIE_SAMESITE": "Strict"},
    {"SESSION_COOKIE_SAMESITE": "None", "SESSION_COOKIE_SECURE": True},
    {"SESSION_COOKIE_PARTITIONED": True},
]


@pytest.mark.parametrize("config", COOKIE_CONFIGS, ids=str)
def test_cookie_config_matches_flask(
    app: Erlen, make_client: MakeClient, config: dict[str, t.Any]
) -> None:
    app.config.update(config)
    # Flask given Erlen's safer SameSite default, so the rest is compared.
    flask_app = make_flask(**{"SESSION_COOKIE_SAMESITE": "Lax", **config})
    kw: dict[str, t.Any] = {"query_string": {"user": "ann"}}
    ours = make_client(app).get("/set", **kw)
    theirs = flask_app.test_client().get("/set", **kw)
    name = config.get("SESSION_COOKIE_NAME", "session")
    assert ours.headers["Set-Cookie"].startswith(f"{name}=")
    assert theirs.headers["Set-Cookie"].startswith(f"{name}=")
    assert set_cookie_attrs(ours.headers["Set-Cookie"]) == set_cookie_attrs(
        theirs.headers["Set-Cookie"]
    )


def test_cookie_name_is_used_to_read(app: Erlen, make_client: MakeClient) -> None:
    app.config["SESSION_COOKIE_NAME"] = "sid"
    client = make_client(app)
    client.get("/set", query_string={"user": "ann"})
    assert client.get_cookie("session") is None
    assert client.get("/read/user").text == "ann"


def test_permanent_session_expires_after_the_lifetime(
    app: Erlen, make_client: MakeClient
) -> None:
    app.config["PERMANENT_SESSION_LIFETIME"] = 3600  # int seconds are accepted
    client = make_client(app)
    before = datetime.now(UTC)
    rv = client.get("/set", query_string={"user": "ann", "permanent": "1"})
    attrs = set_cookie_attrs(rv.headers["Set-Cookie"])
    expires = datetime.strptime(attrs["expires"], "%a, %d %b %Y %H:%M:%S GMT")
    expires = expires.replace(tzinfo=UTC)
    expected = before + timedelta(hours=1)
    assert abs((expires - expected).total_seconds()) < 5
    assert client.get("/permanent").text == "True"


def test_non_permanent_cookie_has_no_expiry(client: ErlenClient) -> None:
    rv = client.get("/set", query_string={"user": "ann"})
    assert "expires" not in set_cookie_attrs(rv.headers["Set-Cookie"])
    assert "max-age" not in set_cookie_attrs(rv.headers["Set-Cookie"])


def _cookie_signed(app: Erlen, data: dict[str, t.Any], age: int) -> str:
    """A session cookie for ``app`` signed ``age`` seconds ago."""

    class PastSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age

    si = SecureCookieSessionInterface()
    serializer = URLSafeTimedSerializer(
        SECRET,
        salt=si.salt,
        serializer=si.serializer,
        signer=PastSigner,
        signer_kwargs={"key_derivation": "hmac", "digest_method": si.digest_method},
    )
    with app.app_context():
        return serializer.dumps(data)


@pytest.mark.parametrize(("age", "kept"), [(30, True), (59, True), (61, False)])
def test_expired_cookie_is_an_empty_session(
    app: Erlen, make_client: MakeClient, age: int, kept: bool
) -> None:
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=60)
    client = make_client(app)
    client.set_cookie("session", _cookie_signed(app, {"user": "ann"}, age))
    got = client.get("/get").get_json()
    if kept:
        assert got == {"data": {"user": "ann"}, "new": False}
    else:
        assert got == {"data": {}, "new": True}


def test_expired_cookie_matches_flask(app: Erlen, make_client: MakeClient) -> None:
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=60)
    cookie = _cookie_signed(app, {"user": "ann"}, 120)
    flask_client = make_flask(
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=60)
    ).test_client()
    flask_client.set_cookie("session", cookie)
    assert flask_client.get("/read/user").text == "None"
    client = make_client(app)
    client.set_cookie("session", cookie)
    assert client.get("/read/user").text == "None"


@pytest.mark.parametrize("refresh", [True, False])
def test_refresh_each_request(
    app: Erlen, make_client: MakeClient, refresh: bool
) -> None:
    app.config["SESSION_REFRESH_EACH_REQUEST"] = refresh
    flask_client = make_flask(SESSION_REFRESH_EACH_REQUEST=refresh).test_client()
    client = make_client(app)
    for c in (client, flask_client):
        c.get("/set", query_string={"user": "ann", "permanent": "1"})
        rv = c.get("/read/user")
        assert rv.text == "ann"
        assert ("Set-Cookie" in rv.headers) is refresh
        assert rv.headers["Vary"] == "Cookie"


def test_non_permanent_session_is_not_refreshed(
    client: ErlenClient, flask_client: t.Any
) -> None:
    for c in (client, flask_client):
        c.get("/set", query_string={"user": "ann"})
        rv = c.get("/read/user")
        assert rv.text == "ann"
        assert "Set-Cookie" not in rv.headers


def test_permanent_false_makes_a_browser_session_cookie(
    client: ErlenClient,
) -> None:
    client.get("/set", query_string={"user": "ann", "permanent": "1"})
    rv = client.get("/set", query_string={"permanent": "0"})
    assert "expires" not in set_cookie_attrs(rv.headers["Set-Cookie"])
    assert client.get("/permanent").text == "False"


def test_nested_change_needs_modified(client: ErlenClient) -> None:
    client.get("/append", query_string={"item": "a"})  # setdefault: a change
    client.get("/append", query_string={"item": "b"})  # nested: not seen
    assert client.get("/get").get_json()["data"] == {"items": ["a"]}
    client.get("/append", query_string={"item": "c", "mark": "1"})
    assert client.get("/get").get_json()["data"] == {"items": ["a", "c"]}


def test_clearing_deletes_the_cookie(client: ErlenClient, flask_client: t.Any) -> None:
    for c in (client, flask_client):
        c.get("/set", query_string={"user": "ann"})
        rv = c.get("/clear")
        attrs = set_cookie_attrs(rv.headers["Set-Cookie"])
        assert rv.headers["Set-Cookie"].startswith("session=;")
        assert attrs["max-age"] == "0"
        assert attrs["path"] == "/"
        assert rv.headers["Vary"] == "Cookie"
        assert c.get_cookie("session") is None


def test_clearing_an_empty_session_deletes_nothing_new(client: ErlenClient) -> None:
    # No cookie, cleared: modified and empty, so a delete is sent (as Flask).
    rv = client.get("/clear")
    assert set_cookie_attrs(rv.headers["Set-Cookie"])["max-age"] == "0"


# -- Vary, accessed, modified, new ------------------------------------------------


@pytest.mark.parametrize("path", ["/contains", "/length", "/permanent", "/read/x"])
def test_any_read_adds_vary_cookie(client: ErlenClient, path: str) -> None:
    rv = client.get(path)
    assert rv.headers["Vary"] == "Cookie"
    assert "Set-Cookie" not in rv.headers


def test_untouched_session_adds_nothing(client: ErlenClient) -> None:
    client.get("/set", query_string={"user": "ann"})
    rv = client.get("/untouched")
    assert "Vary" not in rv.headers
    assert "Set-Cookie" not in rv.headers


def test_vary_is_added_once_and_kept(app: Erlen, client: ErlenClient) -> None:
    @app.route("/vary")
    def vary() -> t.Any:
        session["x"] = 1
        return "v", {"Vary": "Accept-Encoding"}

    @app.route("/vary-cookie")
    def vary_cookie() -> t.Any:
        session["x"] = 1
        return "v", {"Vary": "Accept, cookie"}

    assert client.get("/vary").headers.getlist("Vary") == [
        "Accept-Encoding",
        "Cookie",
    ]
    assert client.get("/vary-cookie").headers.getlist("Vary") == ["Accept, cookie"]


def test_session_flags() -> None:
    s = SecureCookieSession({"a": 1})
    assert not s.accessed and not s.modified and not s.new
    "a" in s  # noqa: B015
    assert s.accessed and not s.modified
    for read in (
        lambda s: s["a"],
        lambda s: s.get("a"),
        len,
        list,
        lambda s: s.keys(),
        lambda s: s.values(),
        lambda s: s.items(),
        lambda s: s.copy(),
        lambda s: s == {},
    ):
        s = SecureCookieSession({"a": 1})
        read(s)
        assert s.accessed and not s.modified, read
    for write in (
        lambda s: s.__setitem__("b", 2),
        lambda s: s.__delitem__("a"),
        lambda s: s.pop("a"),
        lambda s: s.popitem(),
        lambda s: s.update(b=2),
        lambda s: s.clear(),
        lambda s: s.setdefault("b", 2),
        lambda s: s.__ior__({"b": 2}),
    ):
        s = SecureCookieSession({"a": 1})
        write(s)
        assert s.accessed and s.modified, write
    s = SecureCookieSession({"a": 1})
    s |= {"c": 3}
    assert s.modified and s == {"a": 1, "c": 3}
    s = SecureCookieSession({"a": 1})
    s.setdefault("a", 2)
    s.pop("missing", None)
    assert s.accessed and not s.modified
    assert s.copy() == {"a": 1} and type(s.copy()) is dict


def test_new_is_set_for_a_new_or_invalid_session(client: ErlenClient) -> None:
    assert client.get("/get").get_json()["new"] is True
    client.get("/set", query_string={"a": "1"})
    assert client.get("/get").get_json()["new"] is False
    client.set_cookie("session", "garbage")
    assert client.get("/get").get_json()["new"] is True


# -- the cookie is read only when the session is used ----------------------------


class CountingInterface(SecureCookieSessionInterface):
    def __init__(self) -> None:
        self.opened = 0
        self.saved = 0

    def open_session(self, app: Erlen, request: Request) -> SecureCookieSession | None:
        self.opened += 1
        return super().open_session(app, request)

    def save_session(
        self, app: Erlen, session: SessionMixin, response: Response
    ) -> None:
        self.saved += 1
        super().save_session(app, session, response)


def test_cookie_is_read_only_when_the_session_is_used(
    app: Erlen, make_client: MakeClient
) -> None:
    counter = CountingInterface()
    app.session_interface = counter
    client = make_client(app)
    client.get("/set", query_string={"user": "ann"})
    assert (counter.opened, counter.saved) == (1, 1)
    assert client.get_cookie("session") is not None
    for _ in range(3):
        assert client.get("/untouched").text == "nothing"
    client.get("/missing-page")
    assert (counter.opened, counter.saved) == (1, 1)
    assert client.get("/get").get_json()["data"] == {"user": "ann"}
    assert (counter.opened, counter.saved) == (2, 2)


def test_session_opened_once_per_request(app: Erlen, make_client: MakeClient) -> None:
    counter = CountingInterface()
    app.session_interface = counter

    @app.before_request
    def before() -> None:
        session.get("x")

    @app.after_request
    def after(response: t.Any) -> t.Any:
        session.get("y")
        return response

    client = make_client(app)
    client.get("/get")
    assert counter.opened == 1


def test_before_request_touching_session_refreshes_on_every_request(
    app: Erlen, make_client: MakeClient
) -> None:
    # The documented way to get Flask's refresh on every request.
    @app.before_request
    def touch() -> None:
        session.permanent  # noqa: B018

    client = make_client(app)
    client.get("/set", query_string={"user": "ann", "permanent": "1"})
    rv = client.get("/untouched")
    assert "Set-Cookie" in rv.headers
    assert rv.headers["Vary"] == "Cookie"


# -- no secret key ---------------------------------------------------------------


def test_no_secret_key_write_is_a_clear_error(
    app: Erlen, make_client: MakeClient
) -> None:
    app.config["SECRET_KEY"] = None
    client = make_client(app)
    with pytest.raises(RuntimeError, match="no secret key was set.*SECRET_KEY"):
        client.get("/set", query_string={"user": "ann"})
    with pytest.raises(RuntimeError, match="no secret key"):
        client.get("/flash")


def test_no_secret_key_write_is_a_500_in_production(
    app: Erlen, make_client: MakeClient
) -> None:
    app.config.update(SECRET_KEY=None, TESTING=False)
    client = make_client(app)
    assert client.get("/set", query_string={"user": "ann"}).status_code == 500


def test_no_secret_key_read_is_empty(app: Erlen, make_client: MakeClient) -> None:
    app.config["SECRET_KEY"] = None
    client = make_client(app)
    client.set_cookie("session", "anything")
    rv = client.get("/get")
    assert rv.get_json() == {"data": {}, "new": False}
    assert "Set-Cookie" not in rv.headers
    assert client.get("/flashes").get_json()["first"] == []


def test_null_session_refuses_every_write() -> None:
    s = NullSession()
    for write in (
        lambda: s.__setitem__("a", 1),
        lambda: s.__delitem__("a"),
        lambda: s.pop("a", None),
        lambda: s.popitem(),
        lambda: s.update(a=1),
        lambda: s.clear(),
        lambda: s.setdefault("a", 1),
        lambda: s.__ior__({"a": 1}),
        lambda: setattr(s, "permanent", True),
    ):
        with pytest.raises(RuntimeError, match="secret key"):
            write()
    assert dict(s) == {} and s.get("a") is None and not s.permanent


# -- bad cookies are empty sessions, never errors -------------------------------


def _bad_cookies(app: Erlen) -> dict[str, str]:
    with app.test_request_context():
        good = t.cast(str, _signer(app, SECRET).dumps({"user": "ann"}))
        other_salt = URLSafeTimedSerializer(
            SECRET, salt="other-salt", serializer=erlen.sessions.session_json_serializer
        ).dumps({"user": "ann"})
        not_a_dict = t.cast(str, _signer(app, SECRET).dumps([1, 2]))
        other_key = t.cast(str, _signer(app, "another key").dumps({"user": "ann"}))
    payload, _, sig = good.rpartition(".")
    return {
        "tampered-payload": good[:5] + ("A" if good[5] != "A" else "B") + good[6:],
        "tampered-signature": f"{payload}.{sig[:-3]}AAA",
        "truncated": good[: len(good) // 2],
        "no-signature": payload,
        "garbage": "garbage",
        "dots": "...",
        "unicode": "sëssion",
        "wrong-salt": t.cast(str, other_salt),
        "other-key": other_key,
        "not-a-dict": not_a_dict,
    }


def _signer(app: Erlen, key: str) -> URLSafeTimedSerializer:
    si = SecureCookieSessionInterface()
    return URLSafeTimedSerializer(
        key,
        salt=si.salt,
        serializer=si.serializer,
        signer_kwargs={"key_derivation": "hmac", "digest_method": si.digest_method},
    )


@pytest.mark.parametrize(
    "kind",
    [
        "tampered-payload",
        "tampered-signature",
        "truncated",
        "no-signature",
        "garbage",
        "dots",
        "unicode",
        "wrong-salt",
        "other-key",
        "not-a-dict",
    ],
)
def test_bad_cookie_is_an_empty_session(
    app: Erlen, make_client: MakeClient, kind: str
) -> None:
    client = make_client(app)
    client.set_cookie("session", _bad_cookies(app)[kind])
    rv = client.get("/get")
    assert rv.status_code == 200
    assert rv.get_json() == {"data": {}, "new": True}
    # And the session works: a write replaces the bad cookie.
    client.get("/set", query_string={"user": "bob"})
    assert client.get("/read/user").text == "bob"


class _FakeRequest:
    def __init__(self, value: str) -> None:
        self.cookies = {"session": value}


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_cookie_value_opens_without_error(value: str) -> None:
    app = Erlen("fuzz")
    app.secret_key = SECRET
    with app.test_request_context():
        opened = app.session_interface.open_session(app, _FakeRequest(value))  # type: ignore[arg-type]
    assert isinstance(opened, SecureCookieSession)
    assert dict(opened) == {}


def test_every_single_character_change_is_rejected() -> None:
    app = Erlen("flip")
    app.secret_key = SECRET
    si = app.session_interface
    with app.test_request_context():
        good = t.cast(str, _signer(app, SECRET).dumps({"user": "ann"}))
        for i in range(len(good)):
            for replacement in "A_.-":
                if good[i] == replacement:
                    continue
                changed = good[:i] + replacement + good[i + 1 :]
                opened = si.open_session(app, _FakeRequest(changed))  # type: ignore[arg-type]
                # The last base64 character of the signature has unused bits,
                # so a change there can still decode to the same signature.
                assert dict(opened or {}) in ({}, {"user": "ann"}), changed


# -- secret key rotation ---------------------------------------------------------


def test_fallback_keys_verify_and_the_current_key_signs(
    app: Erlen, make_client: MakeClient
) -> None:
    old = Erlen("old")
    old.config["SECRET_KEY"] = "old key"
    _build(old, erlen)
    old_client = make_client(old)
    old_client.get("/set", query_string={"user": "ann"})
    old_cookie = session_cookie(old_client)

    app.config.update(SECRET_KEY="new key", SECRET_KEY_FALLBACKS=["older", "old key"])
    client = make_client(app)
    client.set_cookie("session", old_cookie)
    assert client.get("/read/user").text == "ann"

    # Flask with the same keys reads it too.
    flask_client = make_flask(
        SECRET_KEY="new key", SECRET_KEY_FALLBACKS=["older", "old key"]
    ).test_client()
    flask_client.set_cookie("session", old_cookie)
    assert flask_client.get("/read/user").text == "ann"

    # A write re-signs with the current key only.
    client.get("/set", query_string={"user": "bob"})
    new_cookie = session_cookie(client)
    with app.test_request_context():
        assert _signer(app, "new key").loads(new_cookie) == {"user": "bob"}
        with pytest.raises(Exception, match="Signature"):
            _signer(app, "old key").loads(new_cookie)


def test_fallback_keys_never_sign(app: Erlen, make_client: MakeClient) -> None:
    app.config.update(SECRET_KEY_FALLBACKS=["old key"])
    client = make_client(app)
    client.get("/set", query_string={"user": "ann"})
    with app.test_request_context():
        assert _signer(app, SECRET).loads(session_cookie(client)) == {"user": "ann"}


# -- a server-side store ---------------------------------------------------------


class ServerSession(dict[str, t.Any], SessionMixin):
    """A session whose data lives on the server; the cookie holds an id."""

    def __init__(self, sid: str, data: dict[str, t.Any] | None = None) -> None:
        super().__init__(data or {})
        self.sid = sid
        self.modified = False

    def __setitem__(self, key: str, value: t.Any) -> None:
        self.modified = True
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.modified = True
        super().__delitem__(key)

    def update(self, *args: t.Any, **kwargs: t.Any) -> None:
        self.modified = True
        super().update(*args, **kwargs)


class DictSessionInterface(SessionInterface):
    """A dict-backed server-side store, written as for Flask."""

    def __init__(self) -> None:
        self.store: dict[str, dict[str, t.Any]] = {}

    def open_session(self, app: t.Any, request: t.Any) -> ServerSession:
        sid = request.cookies.get(self.get_cookie_name(app))
        if sid and sid in self.store:
            return ServerSession(sid, dict(self.store[sid]))
        session = ServerSession(uuid.uuid4().hex)
        session.new = True
        return session

    def save_session(self, app: t.Any, session: t.Any, response: t.Any) -> None:
        if not self.should_set_cookie(app, session):
            return
        self.store[session.sid] = dict(session)
        response.set_cookie(
            self.get_cookie_name(app),
            session.sid,
            expires=self.get_expiration_time(app, session),
            httponly=self.get_cookie_httponly(app),
            domain=self.get_cookie_domain(app),
            path=self.get_cookie_path(app),
            secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app),
        )


def test_server_side_session_interface(app: Erlen, make_client: MakeClient) -> None:
    interface = DictSessionInterface()
    app.session_interface = interface
    client = make_client(app)
    client.get("/set", query_string={"user": "ann", "cart": "3"})
    sid = session_cookie(client)
    assert interface.store == {sid: {"user": "ann", "cart": "3"}}
    assert client.get("/get").get_json() == {
        "data": {"user": "ann", "cart": "3"},
        "new": False,
    }
    client.get("/set", query_string={"user": "bob"})
    assert session_cookie(client) == sid
    assert interface.store[sid]["user"] == "bob"
    # Flash messages use the store as well.
    client.get("/flash", query_string={"c": "info"})
    assert client.get("/flashes").get_json()["first"] == ["info message"]

    # The same interface works in Flask.
    flask_app = make_flask()
    flask_app.session_interface = DictSessionInterface()
    flask_client = flask_app.test_client()
    flask_client.get("/set", query_string={"user": "ann"})
    assert flask_client.get("/read/user").text == "ann"


def test_server_side_session_transaction(app: Erlen, make_client: MakeClient) -> None:
    interface = DictSessionInterface()
    app.session_interface = interface
    client = make_client(app)
    with client.session_transaction() as sess:
        sess["user"] = "carol"
    assert client.get("/read/user").text == "carol"


def test_make_null_session_when_open_returns_none(
    app: Erlen, make_client: MakeClient
) -> None:
    class Nothing(SecureCookieSessionInterface):
        def open_session(self, app: t.Any, request: t.Any) -> None:
            return None

    app.session_interface = Nothing()
    client = make_client(app)
    assert client.get("/get").get_json() == {"data": {}, "new": False}
    with pytest.raises(RuntimeError, match="secret key"):
        client.get("/set", query_string={"a": "1"})


def test_interface_defaults(app: Erlen) -> None:
    si = SessionInterface()
    assert si.pickle_based is False
    assert si.is_null_session(si.make_null_session(app))
    assert not si.is_null_session(SecureCookieSession())
    assert si.get_cookie_name(app) == "session"
    assert si.get_cookie_domain(app) is None
    assert si.get_cookie_path(app) == "/"
    assert si.get_cookie_httponly(app) is True
    # Erlen's safer defaults: Secure follows the request's scheme (no
    # request here: not secure), SameSite is Lax.
    assert si.get_cookie_secure(app) is False
    assert si.get_cookie_samesite(app) == "Lax"
    assert si.get_cookie_partitioned(app) is False
    s = SecureCookieSession()
    assert si.get_expiration_time(app, s) is None
    assert si.should_set_cookie(app, s) is False
    with pytest.raises(NotImplementedError):
        si.open_session(app, t.cast(Request, None))
    with pytest.raises(NotImplementedError):
        si.save_session(app, s, Response())


def test_session_interface_instance_is_kept(app: Erlen) -> None:
    assert isinstance(app.session_interface, SecureCookieSessionInterface)
    assert app.session_interface is app.session_interface


# -- flash -----------------------------------------------------------------------


def test_flash_then_read_on_the_next_request(
    client: ErlenClient, flask_client: t.Any
) -> None:
    for c in (client, flask_client):
        c.get("/flash", query_string={"c": ["error", "info"]})
        assert c.get("/flashes").get_json() == {
            "first": ["error message", "info message"],
            "again_same": True,
        }
        # Read once: gone on the next request.
        assert c.get("/flashes").get_json()["first"] == []


def test_flash_default_category_and_with_categories(
    client: ErlenClient, flask_client: t.Any
) -> None:
    got = []
    for c in (client, flask_client):
        c.get("/flash")
        c.get("/flash", query_string={"c": "warning"})
        got.append(c.get("/flashes", query_string={"cat": "1"}).get_json())
    assert (
        got[0]
        == got[1]
        == {
            "first": [["message", "plain"], ["warning", "warning message"]],
            "again_same": True,
        }
    )


def test_flash_category_filter(client: ErlenClient, flask_client: t.Any) -> None:
    got = []
    for c in (client, flask_client):
        c.get("/flash", query_string={"c": ["error", "info", "warning"]})
        got.append(
            c.get(
                "/flashes", query_string={"f": ["error", "warning"], "cat": "1"}
            ).get_json()
        )
    assert got[0] == got[1]
    assert got[0]["first"] == [
        ["error", "error message"],
        ["warning", "warning message"],
    ]


def test_flash_category_filter_single_string(app: Erlen) -> None:
    with app.test_request_context():
        erlen.flash("a", "error")
        erlen.flash("b", "err")
        # One category, not the characters of a string.
        assert erlen.get_flashed_messages(category_filter="error") == ["a"]
        assert erlen.get_flashed_messages(category_filter="e") == []


def test_flashes_cross_between_flask_and_erlen(
    client: ErlenClient, flask_client: t.Any
) -> None:
    flask_client.get("/flash", query_string={"c": "info"})
    client.set_cookie("session", session_cookie(flask_client))
    got = client.get("/flashes", query_string={"cat": "1"}).get_json()
    assert got["first"] == [["info", "info message"]]
    client.get("/flash", query_string={"c": "error"})
    flask_client.set_cookie("session", session_cookie(client))
    got = flask_client.get("/flashes", query_string={"cat": "1"}).get_json()
    assert got["first"] == [["error", "error message"]]


def test_get_flashed_messages_outside_a_request_is_empty(app: Erlen) -> None:
    assert erlen.get_flashed_messages() == []
    with app.app_context():
        assert erlen.get_flashed_messages(with_categories=True) == []


def test_flash_outside_a_request_is_an_error(app: Erlen) -> None:
    with app.app_context(), pytest.raises(RuntimeError):
        erlen.flash("x")


def test_flashed_messages_in_a_template(app: Erlen, client: ErlenClient) -> None:
    @app.route("/page")
    def page() -> t.Any:
        return erlen.render_template_string(
            "{% for c, m in get_flashed_messages(with_categories=true) %}"
            "[{{ c }}:{{ m }}]{% endfor %}"
        )

    client.get("/flash", query_string={"c": ["a", "b"]})
    assert client.get("/page").text == "[a:a message][b:b message]"
    assert client.get("/page").text == ""


def test_message_flashed_signal(app: Erlen, client: ErlenClient) -> None:
    received: list[tuple[t.Any, dict[str, t.Any]]] = []

    def receiver(sender: t.Any, **kwargs: t.Any) -> None:
        received.append((sender, kwargs))

    with message_flashed.connected_to(receiver, app):
        client.get("/flash", query_string={"c": ["error", "info"]})
    assert received == [
        (app, {"message": "error message", "category": "error"}),
        (app, {"message": "info message", "category": "info"}),
    ]


def test_message_flashed_signal_matches_flask(
    client: ErlenClient, flask_client: t.Any
) -> None:
    got: list[list[dict[str, t.Any]]] = []
    for c, signal in ((client, message_flashed), (flask_client, flask.message_flashed)):
        seen: list[dict[str, t.Any]] = []

        def receiver(sender: t.Any, **kwargs: t.Any) -> None:
            seen.append(kwargs)  # noqa: B023

        with signal.connected_to(receiver):
            c.get("/flash")
        got.append(seen)
    assert got[0] == got[1] == [{"message": "plain", "category": "message"}]


def test_key_changes_take_effect_at_once(app: Erlen, make_client: MakeClient) -> None:
    # The signing serializer is reused while the keys stay the same.
    client = make_client(app)
    client.get("/set", query_string={"user": "ann"})
    si = app.session_interface
    with app.test_request_context():
        assert si.get_signing_serializer(app) is si.get_signing_serializer(app)
    app.secret_key = "rotated"
    assert client.get("/read/user").text == "None"
    app.config["SECRET_KEY_FALLBACKS"] = [SECRET]
    assert client.get("/read/user").text == "ann"
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert client.get("/read/user").text == "None"
