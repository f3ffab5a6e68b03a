"""``url_for``, ``redirect`` and routing redirects, against Flask, through both
drivers.

Most tests build the same app with ``flask.Flask`` and ``erlen.Erlen``,
call ``url_for`` the same ways inside a view (so the request goes through
the WSGI or ASGI driver) and compare the URLs, or the errors, one by one.
Flask is imported here only.
"""

from __future__ import annotations

import typing as t
import warnings
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import flask
import pytest
import werkzeug.routing
from flask_compare import FlaskPair, pair_builder

import erlen
from erlen import Erlen, g, url_for
from erlen.routing import BuildError
from erlen.testing import ErlenClient

_NAMES = ("url_for", "g", "request", "redirect")
FLASK = SimpleNamespace(App=flask.Flask, **{n: getattr(flask, n) for n in _NAMES})
ERLEN = SimpleNamespace(App=Erlen, **{n: getattr(erlen, n) for n in _NAMES})

#: A ``url_for`` call, given the framework's names.
Call = Callable[[SimpleNamespace], str]
Setup = Callable[[t.Any, SimpleNamespace], None]


def _outcome(call: Call, m: SimpleNamespace) -> str:
    try:
        return call(m)
    except Exception as e:
        return f"{type(e).__name__}: {e}"


def _routes(app: t.Any, m: SimpleNamespace) -> None:
    @app.route("/")
    def index() -> str:
        return "index"

    @app.route("/user/<int:user_id>")
    def user_profile(user_id: int) -> str:
        return "user"

    @app.route("/user/<int:user_id>", methods=["POST"], endpoint="user_update")
    def user_update(user_id: int) -> str:
        return "update"

    @app.route("/form", methods=["GET"])
    @app.route("/form-submit", methods=["POST"])
    def form() -> str:
        return "form"

    @app.route("/docs/<path:page>")
    def docs(page: str) -> str:
        return "docs"

    @app.route("/dir/")
    def directory() -> str:
        return "dir"


class Pair(FlaskPair):
    """A :class:`FlaskPair` whose apps also answer ``/urls``: the outcome of
    each call in ``calls``, one per line.  Its :meth:`check` compares the
    status, the lines of the body and ``Location``."""

    def __init__(
        self,
        setup: Setup,
        calls: list[Call],
        driver: str,
        config: dict[str, t.Any],
        app_options: dict[str, t.Any],
    ) -> None:
        def setup_with_urls(app: t.Any, m: SimpleNamespace) -> None:
            setup(app, m)

            def urls(m: SimpleNamespace = m, **host_values: t.Any) -> str:
                return "\n".join(_outcome(call, m) for call in calls)

            app.add_url_rule("/urls", "urls", urls, **_urls_rule_options(app_options))

        super().__init__(
            setup_with_urls,
            driver,
            app_options=app_options,
            config=config,
            names=(FLASK, ERLEN),
        )

    def check(self, *args: t.Any, **kwargs: t.Any) -> list[str]:
        """Request both apps; assert the same status, body and Location."""
        with warnings.catch_warnings():
            # Werkzeug warns when the host does not match SERVER_NAME.
            warnings.simplefilter("ignore", UserWarning)
            theirs = self.flask.open(*args, **kwargs)
        ours = self.erlen.open(*args, **kwargs)
        assert ours.status_code == theirs.status_code
        assert ours.data.decode().splitlines() == theirs.data.decode().splitlines()
        assert ours.headers.get("Location") == theirs.headers.get("Location")
        return ours.data.decode().splitlines()

    def urls(self, *args: t.Any, **kwargs: t.Any) -> list[str]:
        return self.check("/urls", *args, **kwargs)

    def in_app_context(self, calls: list[Call]) -> list[str]:
        """The calls' outcomes in an app context (no request), compared."""
        with self.flask_app.app_context():
            theirs = [_outcome(call, FLASK) for call in calls]
        with self.erlen_app.app_context():
            ours = [_outcome(call, ERLEN) for call in calls]
        assert ours == theirs
        return ours


def _urls_rule_options(app_options: dict[str, t.Any]) -> dict[str, t.Any]:
    return {"host": "<any>.test"} if app_options.get("host_matching") else {}


@pytest.fixture
def pair(driver: str) -> Iterator[Callable[..., Pair]]:
    """``pair(setup, calls, app_options=None, **config)``."""

    def make(
        setup: Setup,
        calls: list[Call],
        app_options: dict[str, t.Any] | None = None,
        **config: t.Any,
    ) -> Pair:
        return Pair(setup, calls, driver, config, app_options or {})

    yield from pair_builder(make)


# -- in a request -------------------------------------------------------------

BASIC_CALLS: list[Call] = [
    lambda m: m.url_for("index"),
    lambda m: m.url_for("user_profile", user_id=3),
    # Values the rule does not use become the query string.
    lambda m: m.url_for("user_profile", user_id=3, tab="posts", q="a b&c"),
    lambda m: m.url_for("index", x=[1, 2], y=None, z="ü"),
    lambda m: m.url_for("docs", page="guide/intro page.html"),
    lambda m: m.url_for("directory"),
    lambda m: m.url_for("static", filename="css/site main.css"),
    lambda m: m.url_for("user_profile", user_id=3, _external=True),
    lambda m: m.url_for("user_profile", user_id=3, _scheme="https", _external=True),
    lambda m: m.url_for("user_profile", user_id=3, _scheme="https"),
    lambda m: m.url_for("user_profile", user_id=3, _scheme="https", _external=False),
    lambda m: m.url_for("index", _anchor="section 2"),
    lambda m: m.url_for("index", _anchor="a/b?c#d"),
    lambda m: m.url_for("index", _anchor="x", _external=True, q=1),
    lambda m: m.url_for("form"),
    lambda m: m.url_for("form", _method="POST"),
    lambda m: m.url_for("form", _method="GET"),
    lambda m: m.url_for("user_profile", user_id=3, _method="POST"),
    lambda m: m.url_for("user_update", user_id=3, _method="POST"),
    lambda m: m.url_for("user_profile", user_id="not an int"),
]


def test_url_for_in_request_like_flask(pair: Callable[..., Pair]) -> None:
    urls = pair(_routes, BASIC_CALLS).urls()
    assert urls[:3] == ["/", "/user/3", "/user/3?tab=posts&q=a+b%26c"]
    assert urls[7:11] == [
        "http://localhost/user/3",
        "https://localhost/user/3",
        "https://localhost/user/3",
        "ValueError: When specifying '_scheme', '_external' must be True.",
    ]


def test_url_for_scheme_without_external_raises(app: Erlen) -> None:
    _routes(app, ERLEN)
    with app.test_request_context():
        with pytest.raises(ValueError, match="'_external' must be True"):
            url_for("index", _scheme="https", _external=False)
    app.config["SERVER_NAME"] = "example.test"
    with app.app_context():
        with pytest.raises(ValueError, match="'_external' must be True"):
            url_for("index", _scheme="https", _external=False)


def test_url_for_external_uses_request_host(pair: Callable[..., Pair]) -> None:
    p = pair(_routes, BASIC_CALLS)
    urls = p.urls(base_url="https://Shop.Example.test:8443")
    assert urls[7] == "https://shop.example.test:8443/user/3"


def test_url_for_with_script_root(pair: Callable[..., Pair]) -> None:
    """An app mounted under a path prefixes every URL with it."""
    p = pair(_routes, BASIC_CALLS)
    urls = p.urls(base_url="http://localhost/mount/point")
    assert urls[:2] == ["/mount/point/", "/mount/point/user/3"]
    assert urls[7] == "http://localhost/mount/point/user/3"


def test_url_for_quotes_script_root(client: ErlenClient, app: Erlen) -> None:
    """Flask puts the script root in URLs unquoted ("/my app/"), which is
    not a valid URL; Erlen quotes it."""
    _routes(app, ERLEN)

    @app.route("/urls")
    def urls() -> str:
        return f"{url_for('index')} {url_for('user_profile', user_id=3)}"

    rv = client.get("/urls", base_url="http://localhost/my%20app")
    assert rv.data == b"/my%20app/ /my%20app/user/3"


# -- BuildError ---------------------------------------------------------------

ERROR_CALLS: list[Call] = [
    lambda m: m.url_for("user_profil", user_id=1),
    lambda m: m.url_for("user_profile"),
    lambda m: m.url_for("index", _method="PUT"),
    lambda m: m.url_for("user_update", user_id=1, _method="GET"),
]


def test_build_errors_like_flask(pair: Callable[..., Pair]) -> None:
    urls = pair(_routes, ERROR_CALLS).urls()
    assert urls[0] == (
        "BuildError: Could not build url for endpoint 'user_profil' with values"
        " ['user_id']. Did you mean 'user_profile' instead?"
    )
    assert "Did you forget to specify values ['user_id']?" in urls[1]
    assert "Did you mean to use methods ['GET', 'HEAD', 'OPTIONS']?" in urls[2]


def test_build_error_for_unknown_endpoint(app: Erlen) -> None:
    """Werkzeug suggests the closest endpoint however far it is ("Did you
    mean 'index'" for 'nothing_like_it'); Erlen suggests close names only."""
    _routes(app, ERLEN)
    with app.test_request_context(), pytest.raises(BuildError) as info:
        url_for("nothing_like_it")
    message = str(info.value)
    assert message.startswith("Could not build url for endpoint 'nothing_like_it'.")
    assert "Did you mean" not in message


def test_build_error_type(app: Erlen) -> None:
    _routes(app, ERLEN)
    with app.test_request_context(), pytest.raises(BuildError) as info:
        url_for("user_profil", user_id=1)
    assert isinstance(info.value, LookupError)
    assert info.value.endpoint == "user_profil"
    assert "Did you mean 'user_profile'" in str(info.value)
    assert issubclass(werkzeug.routing.BuildError, LookupError)


def test_url_build_error_handlers(pair: Callable[..., Pair]) -> None:
    seen: list[tuple[str, str, dict[str, t.Any]]] = []

    def setup(app: t.Any, m: SimpleNamespace) -> None:
        _routes(app, m)

        def passes(error: Exception, endpoint: str, values: dict[str, t.Any]) -> None:
            seen.append((type(error).__name__, endpoint, dict(values)))
            return None

        def external(
            error: Exception, endpoint: str, values: dict[str, t.Any]
        ) -> t.Any:
            if endpoint.startswith("ext."):
                return f"https://external.test/{endpoint[4:]}?v={values.get('v')}"
            return None

        app.url_build_error_handlers.extend([passes, external])

    calls: list[Call] = [
        lambda m: m.url_for("ext.page", v=1, _anchor="a"),
        lambda m: m.url_for("user_profil"),
    ]
    urls = pair(setup, calls).urls()
    assert urls[0] == "https://external.test/page?v=1"
    assert urls[1].startswith("BuildError: Could not build url for endpoint")
    ours = seen[len(seen) // 2 :]
    assert seen[: len(seen) // 2] == ours
    assert ours[0] == (
        "BuildError",
        "ext.page",
        {"v": 1, "_anchor": "a", "_method": None, "_scheme": None, "_external": False},
    )


def test_url_build_error_handler_may_raise_build_error(app: Erlen) -> None:
    _routes(app, ERLEN)

    def replace(error: Exception, endpoint: str, values: dict[str, t.Any]) -> str:
        raise BuildError("replacement", {}, None)

    app.url_build_error_handlers.append(replace)
    with app.test_request_context(), pytest.raises(BuildError) as info:
        url_for("missing")
    assert info.value.endpoint == "replacement"


# -- outside a request --------------------------------------------------------


def test_url_for_in_app_context_needs_server_name(app: Erlen) -> None:
    _routes(app, ERLEN)
    with app.app_context(), pytest.raises(RuntimeError, match="SERVER_NAME"):
        url_for("index")
    with pytest.raises(RuntimeError, match="application context"):
        url_for("index")


def test_url_for_in_app_context_like_flask(pair: Callable[..., Pair]) -> None:
    calls: list[Call] = [
        lambda m: m.url_for("index"),
        lambda m: m.url_for("user_profile", user_id=2, _external=False),
        lambda m: m.url_for("user_profile", user_id=2, _scheme="http"),
        lambda m: m.url_for("user_profile", user_id=2, _anchor="top", q=1),
    ]
    p = pair(
        _routes,
        [],
        SERVER_NAME="srv.test:8080",
        APPLICATION_ROOT="/app",
        PREFERRED_URL_SCHEME="https",
    )
    assert p.in_app_context(calls) == [
        "https://srv.test:8080/app/",
        "/app/user/2",
        "http://srv.test:8080/app/user/2",
        "https://srv.test:8080/app/user/2?q=1#top",
    ]
    p = pair(_routes, [], SERVER_NAME="example.test")
    assert p.in_app_context(calls[:1]) == ["http://example.test/"]


def test_relative_endpoint_in_app_context(app: Erlen) -> None:
    """Outside a request there is no current blueprint: Erlen reads ".index"
    as the app's "index", where Flask raises BuildError."""
    _routes(app, ERLEN)
    app.config["SERVER_NAME"] = "example.test"
    with app.app_context():
        assert url_for(".index") == url_for("index") == "http://example.test/"


def test_server_name_is_the_host_of_external_urls(pair: Callable[..., Pair]) -> None:
    """With SERVER_NAME set (and no subdomain matching), Flask builds
    external URLs on it, whatever host the request came to."""

    def setup(app: t.Any, m: SimpleNamespace) -> None:
        _routes(app, m)
        app.add_url_rule("/api", "api", lambda: "api", subdomain="api")

    calls: list[Call] = [
        lambda m: m.url_for("index"),
        lambda m: m.url_for("index", _external=True),
        lambda m: m.url_for("api"),
        lambda m: m.url_for("api", _external=True),
    ]
    p = pair(setup, calls, SERVER_NAME="example.test")
    expected = [
        "/",
        "http://example.test/",
        "http://api.example.test/api",
        "http://api.example.test/api",
    ]
    assert p.urls(base_url="http://example.test") == expected
    assert p.urls(base_url="http://other.test") == expected
    assert p.urls(base_url="http://api.example.test") == expected


# -- url_defaults and url_value_preprocessor: Flask's language code pattern ---


def _lang_app(app: t.Any, m: SimpleNamespace) -> None:
    @app.url_defaults
    def add_language_code(endpoint: str, values: dict[str, t.Any]) -> None:
        if "lang_code" in values or not m.g.get("lang_code"):
            return
        if app.url_map.is_endpoint_expecting(endpoint, "lang_code"):
            values["lang_code"] = m.g.lang_code

    @app.url_value_preprocessor
    def pull_lang_code(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
        m.g.lang_code = values.pop("lang_code", None) if values else None

    @app.route("/<lang_code>/")
    def index() -> str:
        return "\n".join(
            [
                m.g.lang_code,
                m.url_for("index"),
                m.url_for("about"),
                m.url_for("about", lang_code="fr"),
                m.url_for("plain"),
                repr(m.request.view_args),
            ]
        )

    @app.route("/<lang_code>/about")
    def about() -> str:
        return "about " + m.g.lang_code

    @app.route("/plain")
    def plain() -> str:
        return "plain " + repr(m.g.lang_code) + " " + m.url_for("plain")


def test_language_code_pattern_like_flask(pair: Callable[..., Pair]) -> None:
    p = pair(_lang_app, [])
    assert p.check("/de/") == [
        "de",
        "/de/",
        "/de/about",
        "/fr/about",
        "/plain",
        "{}",
    ]
    assert p.check("/en/about") == ["about en"]
    assert p.check("/plain") == ["plain None /plain"]


def test_url_defaults_runs_in_app_context(app: Erlen) -> None:
    _lang_app(app, ERLEN)
    app.config["SERVER_NAME"] = "example.test"
    with app.app_context():
        g.lang_code = "it"
        assert url_for("about") == "http://example.test/it/about"


def test_url_value_preprocessor_sees_endpoint(client: ErlenClient, app: Erlen) -> None:
    seen: list[t.Any] = []

    @app.url_value_preprocessor
    def record(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
        seen.append((endpoint, dict(values) if values is not None else None))

    @app.route("/item/<int:n>")
    def item(n: int) -> str:
        return str(n)

    assert client.get("/item/5").data == b"5"
    client.get("/missing")
    assert seen == [("item", {"n": 5}), (None, None)]


# -- subdomains and hosts -----------------------------------------------------


def _subdomain_app(app: t.Any, m: SimpleNamespace) -> None:
    @app.route("/")
    def index() -> str:
        return "root"

    @app.route("/", subdomain="<user>")
    def user_home(user: str) -> str:
        return f"home of {user}"

    @app.route("/api", subdomain="api")
    def api() -> str:
        return "api"


SUBDOMAIN_CALLS: list[Call] = [
    lambda m: m.url_for("index"),
    lambda m: m.url_for("user_home", user="bob"),
    lambda m: m.url_for("user_home", user="amy"),
    lambda m: m.url_for("api"),
    lambda m: m.url_for("api", _external=True),
    lambda m: m.url_for("static", filename="s.css"),
]


def test_subdomain_matching_like_flask(pair: Callable[..., Pair]) -> None:
    p = pair(
        _subdomain_app,
        SUBDOMAIN_CALLS,
        app_options={"subdomain_matching": True},
        SERVER_NAME="example.test",
    )
    assert p.check("/", base_url="http://bob.example.test") == ["home of bob"]
    assert p.check("/", base_url="http://example.test") == ["root"]
    assert p.check("/api", base_url="http://api.example.test") == ["api"]
    assert p.check("/api", base_url="http://example.test")[0].startswith("<!doctype")
    assert p.urls(base_url="http://example.test") == [
        "/",
        "http://bob.example.test/",
        "http://amy.example.test/",
        "http://api.example.test/api",
        "http://api.example.test/api",
        "/static/s.css",
    ]
    p.urls(base_url="http://bob.example.test")
    p.urls(base_url="http://example.test:8080")
    p.urls(base_url="http://not-example.test")


def test_subdomain_url_for_from_a_subdomain(pair: Callable[..., Pair]) -> None:
    """The ``/urls`` rule has no subdomain; request the user's home instead
    and build URLs there."""

    def setup(app: t.Any, m: SimpleNamespace) -> None:
        _subdomain_app(app, m)
        app.view_functions["user_home"] = lambda user: "\n".join(
            _outcome(call, m) for call in SUBDOMAIN_CALLS
        )

    p = pair(
        setup, [], app_options={"subdomain_matching": True}, SERVER_NAME="example.test"
    )
    assert p.check("/", base_url="http://bob.example.test") == [
        "http://example.test/",
        "/",
        "http://amy.example.test/",
        "http://api.example.test/api",
        "http://api.example.test/api",
        "http://example.test/static/s.css",
    ]


def test_subdomains_in_app_context(pair: Callable[..., Pair]) -> None:
    p = pair(
        _subdomain_app,
        [],
        app_options={"subdomain_matching": True},
        SERVER_NAME="example.test",
    )
    assert p.in_app_context(SUBDOMAIN_CALLS[:4]) == [
        "http://example.test/",
        "http://bob.example.test/",
        "http://amy.example.test/",
        "http://api.example.test/api",
    ]


def _host_app(app: t.Any, m: SimpleNamespace) -> None:
    @app.route("/", host="main.test")
    def main() -> str:
        return "main"

    @app.route("/other", host="other.test")
    def other() -> str:
        return "other"

    @app.route("/tenant", host="<name>.tenants.test")
    def tenant(name: str) -> str:
        return f"tenant {name}"


HOST_CALLS: list[Call] = [
    lambda m: m.url_for("main"),
    lambda m: m.url_for("other"),
    lambda m: m.url_for("tenant", name="acme"),
    lambda m: m.url_for("static", filename="app.js"),
    lambda m: m.url_for("main", _external=True),
]


def test_host_matching_like_flask(pair: Callable[..., Pair]) -> None:
    p = pair(
        _host_app,
        HOST_CALLS,
        app_options={"host_matching": True, "static_host": "static.test"},
    )
    assert p.check("/", base_url="http://main.test") == ["main"]
    assert p.check("/other", base_url="http://other.test") == ["other"]
    assert p.check("/tenant", base_url="http://acme.tenants.test") == ["tenant acme"]
    p.check("/", base_url="http://other.test")  # 404: wrong host
    assert p.urls(base_url="http://main.test") == [
        "/",  # the request's host is main.test
        "http://other.test/other",
        "http://acme.tenants.test/tenant",
        "http://static.test/static/app.js",
        "http://main.test/",
    ]


def test_host_matching_static_files(tmp_path: t.Any, driver: str) -> None:
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "app.js").write_text("js")
    app = Erlen(
        "x", root_path=str(tmp_path), host_matching=True, static_host="static.test"
    )
    client = app.test_client(driver=driver)  # type: ignore[call-arg]
    try:
        assert client.get("/static/app.js", base_url="http://static.test").data == b"js"
        assert client.get("/static/app.js").status_code == 404
    finally:
        client.close()


def test_trusted_hosts_like_flask(pair: Callable[..., Pair]) -> None:
    def setup(app: t.Any, m: SimpleNamespace) -> None:
        app.add_url_rule("/", "index", lambda: m.request.host)

    p = pair(setup, [], TRUSTED_HOSTS=["good.test", ".sub.test"])
    assert p.check("/", base_url="http://good.test") == ["good.test"]
    assert p.check("/", base_url="http://good.test:8080") == ["good.test:8080"]
    assert p.check("/", base_url="http://a.sub.test") == ["a.sub.test"]
    assert p.check("/", base_url="http://sub.test") == ["sub.test"]
    rv = p.erlen.get("/", base_url="http://evil.test")
    assert rv.status_code == 400
    p.check("/", base_url="http://evil.test")
    p.check("/", base_url="http://evilgood.test")


# -- redirects ----------------------------------------------------------------


def test_strict_slashes_redirect(client: ErlenClient, app: Erlen) -> None:
    """Flask sends an absolute Location; Erlen a relative one (RFC 9110
    allows it, and it stays right behind proxies).  The target is the same."""
    _routes(app, ERLEN)
    app.add_url_rule("/post/", "post", lambda: "posted", methods=["POST"])
    rv = client.get("/dir?a=1&b=%20x")
    assert rv.status_code == 308
    assert rv.headers["Location"] == "/dir/?a=1&b=%20x"
    rv = client.post("/post", data={"k": "v"})
    assert (rv.status_code, rv.headers["Location"]) == (308, "/post/")
    rv = client.post("/post", data={"k": "v"}, follow_redirects=True)
    assert rv.data == b"posted"
    rv = client.get("/dir", base_url="http://localhost/mount")
    assert rv.headers["Location"] == "/mount/dir/"
    rv = client.get("/dir?a=1", follow_redirects=True)
    assert rv.data == b"dir"
    assert rv.request.path == "/dir/"
    assert rv.request.query_string == b"a=1"
    assert [r.status_code for r in rv.history] == [308]


def test_strict_slashes_target_like_flask(pair: Callable[..., Pair]) -> None:
    p = pair(_routes, [])
    for path in ("/dir?a=1&b=2", "/dir", "/dir?q=%20x"):
        with warnings.catch_warnings():
            theirs = p.flask.get(path)
        ours = p.erlen.get(path)
        assert ours.status_code == theirs.status_code == 308
        # Same target once resolved against the request URL.
        assert (
            "http://localhost" + ours.headers["Location"] == theirs.headers["Location"]
        )
    # Without the slash, a rule ending in a slash-less name is a 404.
    assert p.erlen.get("/user/1/").status_code == p.flask.get("/user/1/").status_code


def test_redirect_not_handled_by_http_exception_handler(
    pair: Callable[..., Pair],
) -> None:
    def setup(app: t.Any, m: SimpleNamespace) -> None:
        _routes(app, m)
        app.register_error_handler(
            werkzeug.exceptions.HTTPException
            if m is FLASK
            else erlen.exceptions.HTTPException,
            lambda e: ("handled", 599),
        )

    p = pair(setup, [])
    assert p.erlen.get("/dir").status_code == 308
    assert p.flask.get("/dir").status_code == 308
    p.check("/missing")


def test_redirect_like_flask(pair: Callable[..., Pair]) -> None:
    def setup(app: t.Any, m: SimpleNamespace) -> None:
        app.add_url_rule("/rel", "rel", lambda: m.redirect("../somewhere?x=1&y=<b>"))
        app.add_url_rule("/abs", "abs", lambda: m.redirect("/abs-target", 301))
        app.add_url_rule("/ext", "ext", lambda: m.redirect("https://elsewhere.test/ü"))
        app.add_url_rule("/303", "s303", lambda: m.redirect(m.url_for("rel"), code=303))
        app.add_url_rule("/307", "s307", lambda: m.redirect("/x", 307))

    p = pair(setup, [])
    p.check("/rel")
    assert p.erlen.get("/rel").status_code == 302
    # Kept relative; what may not appear in a header is percent-encoded.
    assert p.erlen.get("/rel").headers["Location"] == "../somewhere?x=1&y=%3Cb%3E"
    p.check("/abs")
    p.check("/ext")
    p.check("/303")
    p.check("/307")


def test_redirect_followed(client: ErlenClient, app: Erlen) -> None:
    @app.route("/start")
    def start() -> erlen.Response:
        return erlen.redirect(url_for("end", n=1))

    @app.route("/end")
    def end() -> str:
        return "end " + erlen.request.args["n"]

    rv = client.get("/start", follow_redirects=True)
    assert rv.data == b"end 1"
    assert rv.history[0].headers["Location"] == "/end?n=1"


def _defaults_app(app: t.Any, variable_rule_first: bool) -> None:
    def page(n: int) -> str:
        return f"page {n}"

    rules: list[tuple[str, dict[str, t.Any]]] = [
        ("/page/", {"defaults": {"n": 1}}),
        ("/page/<int:n>", {}),
    ]
    if variable_rule_first:  # what stacked @app.route decorators do
        rules.reverse()
    for rule, options in rules:
        app.add_url_rule(rule, "page", page, **options)


@pytest.mark.parametrize("variable_rule_first", [False, True])
def test_url_spelling_defaults_redirects(
    client: ErlenClient, app: Erlen, variable_rule_first: bool
) -> None:
    _defaults_app(app, variable_rule_first)
    flask_app = flask.Flask("x")
    _defaults_app(flask_app, variable_rule_first)
    theirs = flask_app.test_client().get("/page/1")
    assert (theirs.status_code, theirs.location) == (308, "http://localhost/page/")
    rv = client.get("/page/1")
    assert (rv.status_code, rv.headers.get("Location")) == (308, "/page/")
    assert client.get("/page/").data == b"page 1"
    assert client.get("/page/2").data == b"page 2"
    with app.test_request_context():
        assert url_for("page") == "/page/"
        assert url_for("page", n=1) == "/page/"
        assert url_for("page", n=2) == "/page/2"
