"""Blueprints: prefixes, endpoints, nesting, registering twice, scoped and
app-wide hooks and error handlers, recorded functions, static folders, CLI
groups and registration errors, against Flask, through both drivers.

Where Flask has the behaviour, the test builds the same app with
``flask.Flask`` and ``erlen.Erlen``, sends the same requests and asserts the
same status, body and headers (and the same order of hook calls), and checks
the body it expects as well.  Flask is imported here only.
"""

from __future__ import annotations

import os
import typing as t
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import click
import flask
import pytest
from flask_compare import FlaskPair, pair_builder

import erlen
from erlen import Blueprint, Erlen
from erlen.blueprints import BlueprintSetupState
from erlen.testing import ErlenClient

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "apps", "blueprints")
_NAMES = ("Blueprint", "abort", "g", "request", "url_for")
FLASK = SimpleNamespace(App=flask.Flask, **{n: getattr(flask, n) for n in _NAMES})
ERLEN = SimpleNamespace(App=Erlen, **{n: getattr(erlen, n) for n in _NAMES})

Setup = Callable[[t.Any, SimpleNamespace], None]


class Pair(FlaskPair):
    """A :class:`FlaskPair` that also compares the apps' URL rules."""

    def rules(self) -> list[tuple[str, str, str | None]]:
        """The (rule, endpoint, subdomain) of every rule, the same in both."""

        def of(app: t.Any) -> list[tuple[str, str, str | None]]:
            return sorted(
                (r.rule, r.endpoint, r.subdomain or None)
                for r in app.url_map.iter_rules()
            )

        ours = of(self.erlen_app)
        assert ours == of(self.flask_app)
        return ours


@pytest.fixture
def pair(driver: str) -> Iterator[Callable[..., Pair]]:
    """``pair(setup, app_options=None, **config)``: the same app built with
    Flask and with Erlen.  ``setup`` gets the app and a namespace of the
    framework's names plus ``log``, a list for recording calls, compared by
    :meth:`~FlaskPair.check`."""

    def make(
        setup: Setup, app_options: dict[str, t.Any] | None = None, **config: t.Any
    ) -> Pair:
        return Pair(
            setup,
            driver,
            name="bp_app",
            root_path=HERE,
            app_options=app_options,
            config=config,
            names=(FLASK, ERLEN),
            log=True,
        )

    yield from pair_builder(make)


def _describe_view(ns: SimpleNamespace) -> Callable[..., str]:
    """A view that shows what the request knows about its blueprint."""

    def view(**kwargs: t.Any) -> str:
        request = ns.request
        return (
            f"endpoint={request.endpoint} blueprint={request.blueprint}"
            f" blueprints={request.blueprints} args={sorted(kwargs.items())}"
            f" self={ns.url_for('.' + request.endpoint.rpartition('.')[2], **kwargs)}"
        )

    return view


# -- rules, prefixes, endpoints -----------------------------------------------


@pytest.mark.parametrize(
    ("url_prefix", "rule", "url"),
    [
        ("/bp", "/x", "/bp/x"),
        ("/bp/", "/x", "/bp/x"),
        ("/bp/", "x", "/bp/x"),
        ("/bp", "", "/bp"),
        ("/bp", "/", "/bp/"),
        ("/", "/x", "/x"),
        (None, "/x", "/x"),
    ],
)
def test_url_prefix(
    pair: Callable[..., Pair], url_prefix: str | None, rule: str, url: str
) -> None:
    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        bp = ns.Blueprint("bp", __name__, url_prefix=url_prefix)
        bp.add_url_rule(rule, "view", _describe_view(ns))
        app.register_blueprint(bp)

    p = pair(setup)
    assert "bp.view" in [endpoint for _, endpoint, _ in p.rules()]
    rv = p.check(url)
    assert rv.data.decode() == (
        f"endpoint=bp.view blueprint=bp blueprints=['bp'] args=[] self={url}"
    )


def test_register_options_override(pair: Callable[..., Pair]) -> None:
    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        bp = ns.Blueprint("bp", __name__, url_prefix="/own")
        bp.add_url_rule("/x", "view", _describe_view(ns))
        app.register_blueprint(bp, url_prefix="/given")

    p = pair(setup)
    assert p.check("/given/x").status_code == 200
    assert p.check("/own/x").status_code == 404


def test_endpoints_and_relative_url_for(pair: Callable[..., Pair]) -> None:
    """``bp.view`` from anywhere; ``.view`` is the current blueprint's (the
    app's own endpoint in an app view)."""

    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        bp = ns.Blueprint("auth", __name__, url_prefix="/auth")

        @app.route("/")
        def index() -> str:
            return f"{ns.url_for('.index')} {ns.url_for('auth.login', next='/x')}"

        @bp.route("/login")
        def login() -> str:
            return (
                f"{ns.url_for('.login')} {ns.url_for('auth.login')}"
                f" {ns.url_for('index')} {ns.url_for('.logout', _external=True)}"
            )

        @bp.route("/logout", endpoint="logout")
        def some_other_name() -> str:
            return ns.request.endpoint

        app.register_blueprint(bp)

    p = pair(setup)
    assert p.check("/").data == b"/ /auth/login?next=/x"
    assert p.check("/auth/login").data == (
        b"/auth/login /auth/login / http://localhost/auth/logout"
    )
    assert p.check("/auth/logout").data == b"auth.logout"


def test_request_blueprint_attributes(pair: Callable[..., Pair]) -> None:
    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        parent = ns.Blueprint("parent", __name__, url_prefix="/p")
        child = ns.Blueprint("child", __name__, url_prefix="/c")
        app.add_url_rule("/", "index", _describe_view(ns))
        parent.add_url_rule("/", "index", _describe_view(ns))
        child.add_url_rule("/<int:n>", "index", _describe_view(ns))
        parent.register_blueprint(child)
        app.register_blueprint(parent)

        @app.errorhandler(404)
        def not_found(e: t.Any) -> t.Any:
            request = ns.request
            return f"404 blueprint={request.blueprint} {request.blueprints}", 404

    p = pair(setup)
    assert p.check("/").data == (
        b"endpoint=index blueprint=None blueprints=[] args=[] self=/"
    )
    assert p.check("/p/").data == (
        b"endpoint=parent.index blueprint=parent blueprints=['parent'] args=[] self=/p/"
    )
    assert p.check("/p/c/3").data == (
        b"endpoint=parent.child.index blueprint=parent.child"
        b" blueprints=['parent.child', 'parent'] args=[('n', 3)] self=/p/c/3"
    )
    assert p.check("/p/c/nope").data == b"404 blueprint=None []"


def test_url_defaults(pair: Callable[..., Pair]) -> None:
    """``url_defaults`` of the blueprint and of the registration are passed
    to its views."""

    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        bp = ns.Blueprint("pages", __name__, url_defaults={"lang": "en", "n": 1})
        bp.add_url_rule("/", "index", _describe_view(ns))
        bp.add_url_rule("/page/<int:page>", "page", _describe_view(ns))
        app.register_blueprint(bp, url_prefix="/en")
        app.register_blueprint(
            bp, name="german", url_prefix="/de", url_defaults={"lang": "de"}
        )

    p = pair(setup)
    assert p.check("/en/").data == (
        b"endpoint=pages.index blueprint=pages blueprints=['pages']"
        b" args=[('lang', 'en'), ('n', 1)] self=/en/"
    )
    assert p.check("/en/page/2").data.endswith(
        b"args=[('lang', 'en'), ('n', 1), ('page', 2)] self=/en/page/2"
    )
    assert p.check("/de/").data == (
        b"endpoint=german.index blueprint=german blueprints=['german']"
        b" args=[('lang', 'de'), ('n', 1)] self=/de/"
    )


def test_url_defaults_for_an_optional_variable(pair: Callable[..., Pair]) -> None:
    """A blueprint default that makes a URL variable optional: ``/en/`` is
    page 1, and ``/en/1`` redirects to it."""

    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        bp = ns.Blueprint("pages", __name__, url_defaults={"lang": "en"})
        view = _describe_view(ns)
        bp.add_url_rule("/", "index", view, defaults={"page": 1})
        bp.add_url_rule("/<int:page>", "index", view)
        app.register_blueprint(bp, url_prefix="/en")

    p = pair(setup)
    assert p.check("/en/").data.endswith(
        b"args=[('lang', 'en'), ('page', 1)] self=/en/"
    )
    assert p.check("/en/2").data.endswith(
        b"args=[('lang', 'en'), ('page', 2)] self=/en/2"
    )
    # (Erlen's routing redirects are relative, Flask's absolute.)
    assert p.erlen.get("/en/1").headers["Location"] == "/en/"


def test_subdomains(pair: Callable[..., Pair]) -> None:
    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        app.config["SERVER_NAME"] = "example.com"
        api = ns.Blueprint("api", __name__, subdomain="api")
        v1 = ns.Blueprint("v1", __name__, subdomain="v1")
        docs = ns.Blueprint("docs", __name__, url_prefix="/docs")
        for bp in (api, v1, docs):
            bp.add_url_rule("/", "index", _describe_view(ns))
        api.register_blueprint(v1)
        api.register_blueprint(docs)
        app.register_blueprint(api)
        other = ns.Blueprint("other", __name__)
        other.add_url_rule("/", "index", _describe_view(ns))
        app.register_blueprint(other, subdomain="other")

        @app.route("/links")
        def links() -> str:
            return " ".join(
                ns.url_for(endpoint)
                for endpoint in ("api.index", "api.v1.index", "api.docs.index", "links")
            )

    p = pair(setup, app_options={"subdomain_matching": True})
    assert p.rules() == [
        ("/", "api.index", "api"),
        ("/", "api.v1.index", "v1.api"),
        ("/", "other.index", "other"),
        ("/docs/", "api.docs.index", "api"),
        ("/links", "links", None),
        ("/static/<path:filename>", "static", None),
    ]
    assert p.check("http://api.example.com/").data.startswith(b"endpoint=api.index")
    assert p.check("http://v1.api.example.com/").data.startswith(
        b"endpoint=api.v1.index"
    )
    assert p.check("http://api.example.com/docs/").data.startswith(
        b"endpoint=api.docs.index"
    )
    assert p.check("http://other.example.com/").data.startswith(b"endpoint=other.index")
    assert p.check("http://example.com/").status_code == 404
    assert p.check("http://example.com/links").data == (
        b"http://api.example.com/ http://v1.api.example.com/"
        b" http://api.example.com/docs/ /links"
    )


# -- nesting and registering twice ---------------------------------------------


def _hooks(scaffold: t.Any, ns: SimpleNamespace, name: str) -> None:
    """Log every hook of ``scaffold`` as ``kind:name``."""
    log = ns.log

    @scaffold.url_value_preprocessor
    def preprocess(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
        log.append(f"url_value_preprocessor:{name}")

    @scaffold.before_request
    def before() -> None:
        log.append(f"before_request:{name}")

    @scaffold.after_request
    def after(response: t.Any) -> t.Any:
        log.append(f"after_request:{name}")
        return response

    @scaffold.teardown_request
    def teardown(error: BaseException | None) -> None:
        log.append(f"teardown_request:{name}")

    @scaffold.url_defaults
    def defaults(endpoint: str, values: dict[str, t.Any]) -> None:
        log.append(f"url_defaults:{name}:{endpoint}")


def _nested(app: t.Any, ns: SimpleNamespace) -> None:
    """app > parent (/p) > child (/c), parent also as ``p2`` (/p2), and a
    sibling blueprint (/s) whose hooks must not run for the others."""
    parent = ns.Blueprint("parent", __name__, url_prefix="/p")
    child = ns.Blueprint("child", __name__, url_prefix="/c")
    sibling = ns.Blueprint("sibling", __name__, url_prefix="/s")
    for name, scaffold in (
        ("app", app),
        ("parent", parent),
        ("child", child),
        ("sibling", sibling),
    ):
        _hooks(scaffold, ns, name)

        @scaffold.route("/")
        def index() -> str:
            ns.url_for(".index")
            return ns.request.endpoint

        @scaffold.route("/teapot")
        def teapot() -> str:
            ns.abort(418)

    for name, scaffold in (("app", app), ("parent", parent), ("child", child)):

        @scaffold.errorhandler(418)
        def handle(e: t.Any, name: str = name) -> t.Any:
            return f"418 handled by {name}", 418

    @parent.before_app_request
    def everywhere() -> None:
        ns.log.append("before_app_request:parent")

    @child.after_app_request
    def everywhere_after(response: t.Any) -> t.Any:
        ns.log.append("after_app_request:child")
        return response

    @child.teardown_app_request
    def everywhere_teardown(error: BaseException | None) -> None:
        ns.log.append("teardown_app_request:child")

    @sibling.app_url_value_preprocessor
    def everywhere_preprocess(endpoint: str | None, values: t.Any) -> None:
        ns.log.append("app_url_value_preprocessor:sibling")

    @sibling.app_url_defaults
    def everywhere_defaults(endpoint: str, values: dict[str, t.Any]) -> None:
        ns.log.append(f"app_url_defaults:sibling:{endpoint}")

    parent.register_blueprint(child)
    app.register_blueprint(parent)
    app.register_blueprint(parent, name="p2", url_prefix="/p2")
    app.register_blueprint(sibling)


def test_nested_hook_order(pair: Callable[..., Pair]) -> None:
    """Preprocessors and ``before_request`` run app first then outer to
    inner blueprint; ``after_request`` and teardown inner to outer, app
    last; ``url_defaults`` app then outer to inner; app-wide hooks from
    blueprints run with the app's."""
    p = pair(_nested)
    rv = p.check("/p/c/")
    assert rv.data == b"parent.child.index"
    assert rv.log == [
        "url_value_preprocessor:app",
        "app_url_value_preprocessor:sibling",
        "url_value_preprocessor:parent",
        "url_value_preprocessor:child",
        "before_request:app",
        "before_app_request:parent",
        "before_request:parent",
        "before_request:child",
        "url_defaults:app:parent.child.index",
        "app_url_defaults:sibling:parent.child.index",
        "url_defaults:parent:parent.child.index",
        "url_defaults:child:parent.child.index",
        "after_request:child",
        "after_request:parent",
        "after_app_request:child",
        "after_request:app",
        "teardown_request:child",
        "teardown_request:parent",
        "teardown_app_request:child",
        "teardown_request:app",
    ]
    # The second registration of the parent has its own copy of the hooks.
    rv = p.check("/p2/c/")
    assert rv.data == b"p2.child.index"
    assert [e for e in rv.log if e.startswith("before")] == [
        "before_request:app",
        "before_app_request:parent",
        "before_request:parent",
        "before_request:child",
    ]


def test_blueprint_hooks_only_for_its_requests(pair: Callable[..., Pair]) -> None:
    p = pair(_nested)
    for url, expected in (
        ("/", ["app"]),
        ("/p/", ["app", "parent"]),
        ("/s/", ["app", "sibling"]),
        ("/nope", ["app"]),
        ("/p/nope", ["app"]),
        ("/p/c/nope", ["app"]),
    ):
        rv = p.check(url)
        for kind in ("url_value_preprocessor", "before_request"):
            ran = [e.split(":")[1] for e in rv.log if e.startswith(f"{kind}:")]
            assert ran == expected, (url, kind)
        for kind in ("after_request", "teardown_request"):
            ran = [e.split(":")[1] for e in rv.log if e.startswith(f"{kind}:")]
            assert ran == expected[::-1], (url, kind)


def test_nested_error_handlers(pair: Callable[..., Pair]) -> None:
    """The innermost blueprint's handler wins, then its parents', then the
    app's; a blueprint's 404 for an unknown URL under its prefix is the
    app's."""
    p = pair(_nested)
    assert p.check("/p/c/teapot").data == b"418 handled by child"
    assert p.check("/p/teapot").data == b"418 handled by parent"
    assert p.check("/p2/teapot").data == b"418 handled by parent"
    assert p.check("/s/teapot").data == b"418 handled by app"
    assert p.check("/teapot").data == b"418 handled by app"


def test_unknown_url_under_prefix_uses_app_handlers(pair: Callable[..., Pair]) -> None:
    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        bp = ns.Blueprint("bp", __name__, url_prefix="/bp")

        @bp.route("/only-get")
        def only_get() -> str:
            return "ok"

        @bp.errorhandler(404)
        def bp_not_found(e: t.Any) -> t.Any:
            return "blueprint 404", 404

        @bp.errorhandler(405)
        def bp_not_allowed(e: t.Any) -> t.Any:
            return "blueprint 405", 405

        @bp.route("/missing")
        def missing() -> str:
            ns.abort(404)

        app.register_blueprint(bp)

        @app.errorhandler(404)
        def app_not_found(e: t.Any) -> t.Any:
            return "app 404", 404

    p = pair(setup)
    assert p.check("/bp/nope").data == b"app 404"
    assert p.check("/bp/missing").data == b"blueprint 404"
    rv = p.check("/bp/only-get", method="POST")
    assert rv.status_code == 405
    assert b"blueprint 405" not in rv.data


def test_app_errorhandler(pair: Callable[..., Pair]) -> None:
    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        errors = ns.Blueprint("errors", __name__)
        other = ns.Blueprint("other", __name__, url_prefix="/other")

        @errors.app_errorhandler(KeyError)
        def key_error(e: KeyError) -> t.Any:
            return f"missing {e.args[0]} ({ns.request.blueprint})", 400

        @errors.app_errorhandler(403)
        def forbidden(e: t.Any) -> t.Any:
            return "no entry", 403

        @other.errorhandler(403)
        def other_forbidden(e: t.Any) -> t.Any:
            return "other's own 403", 403

        @app.route("/key")
        def app_key() -> str:
            raise KeyError("app")

        @other.route("/key")
        def other_key() -> str:
            raise KeyError("other")

        @app.route("/forbidden")
        def app_forbidden() -> str:
            ns.abort(403)

        @other.route("/forbidden")
        def other_forbidden_view() -> str:
            ns.abort(403)

        app.register_blueprint(errors)
        app.register_blueprint(other)

    p = pair(setup)
    assert p.check("/key").data == b"missing app (None)"
    assert p.check("/other/key").data == b"missing other (other)"
    assert p.check("/forbidden").data == b"no entry"
    assert p.check("/other/forbidden").data == b"other's own 403"


def test_url_value_preprocessor_and_url_defaults(pair: Callable[..., Pair]) -> None:
    """The language-code pattern: the blueprint takes ``lang`` out of every
    URL into ``g`` and puts it back when its URLs are built."""

    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        bp = ns.Blueprint("i18n", __name__, url_prefix="/<lang>")

        @bp.url_defaults
        def add_lang(endpoint: str, values: dict[str, t.Any]) -> None:
            values.setdefault("lang", ns.g.lang)

        @bp.url_value_preprocessor
        def pull_lang(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
            assert values is not None
            ns.g.lang = values.pop("lang")

        @bp.route("/")
        def index() -> str:
            return (
                f"{ns.g.lang} {ns.url_for('.about')} {ns.url_for('.about', lang='fr')}"
            )

        @bp.route("/about")
        def about() -> str:
            return ns.g.lang

        @app.route("/")
        def root() -> str:
            return str("lang" in ns.g)

        app.register_blueprint(bp)

    p = pair(setup)
    assert p.check("/de/").data == b"de /de/about /fr/about"
    assert p.check("/it/about").data == b"it"
    assert p.check("/").data == b"False"


def test_same_blueprint_twice(pair: Callable[..., Pair]) -> None:
    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        bp = ns.Blueprint("shop", __name__)

        @bp.before_request
        def before() -> None:
            ns.log.append(f"before {ns.request.blueprint}")

        @bp.route("/")
        def index() -> str:
            return f"{ns.request.endpoint} {ns.url_for('.index')}"

        app.register_blueprint(bp, url_prefix="/eu")
        app.register_blueprint(bp, name="us_shop", url_prefix="/us")

        @app.route("/")
        def both() -> str:
            return f"{ns.url_for('shop.index')} {ns.url_for('us_shop.index')}"

    p = pair(setup)
    assert sorted(p.erlen_app.blueprints) == ["shop", "us_shop"]
    assert p.erlen_app.blueprints["shop"] is p.erlen_app.blueprints["us_shop"]
    rv = p.check("/eu/")
    assert (rv.data, rv.log) == (b"shop.index /eu/", ["before shop"])
    rv = p.check("/us/")
    assert (rv.data, rv.log) == (b"us_shop.index /us/", ["before us_shop"])
    assert p.check("/").data == b"/eu/ /us/"


def test_nested_blueprint_with_same_name_in_two_parents(
    pair: Callable[..., Pair],
) -> None:
    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        for parent_name in ("admin", "user"):
            parent = ns.Blueprint(parent_name, __name__, url_prefix=f"/{parent_name}")
            settings = ns.Blueprint("settings", __name__, url_prefix="/settings")
            settings.add_url_rule("/", "index", _describe_view(ns))
            parent.register_blueprint(settings)
            app.register_blueprint(parent)

    p = pair(setup)
    assert p.check("/admin/settings/").data.startswith(b"endpoint=admin.settings.index")
    assert p.check("/user/settings/").data.startswith(b"endpoint=user.settings.index")


def test_nested_registration_options(pair: Callable[..., Pair]) -> None:
    """A nested blueprint's prefix and name given to the parent's
    ``register_blueprint``; an empty child prefix; no parent prefix."""

    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        parent = ns.Blueprint("parent", __name__, url_prefix="/parent")
        bare = ns.Blueprint("bare", __name__)
        child = ns.Blueprint("child", __name__, url_prefix="/child")
        empty = ns.Blueprint("empty", __name__, url_prefix="")
        for bp in (child, empty):
            bp.add_url_rule("/x", "x", _describe_view(ns))
        parent.register_blueprint(child, url_prefix="/renamed", name="kid")
        parent.register_blueprint(empty)
        bare.register_blueprint(child)
        app.register_blueprint(parent)
        app.register_blueprint(bare)

    p = pair(setup)
    assert [rule for rule, _, _ in p.rules()] == [
        "/child/x",
        "/parent/renamed/x",
        "/parent/x",
        "/static/<path:filename>",
    ]
    assert p.check("/parent/renamed/x").data.startswith(b"endpoint=parent.kid.x")
    assert p.check("/child/x").data.startswith(b"endpoint=bare.child.x")


# -- record and record_once -----------------------------------------------------


def test_record_and_record_once() -> None:
    seen: dict[str, list[t.Any]] = {}
    for ns in (FLASK, ERLEN):
        app = ns.App("bp_app", root_path=HERE)
        log: list[t.Any] = []
        parent = ns.Blueprint("parent", __name__, url_prefix="/p", subdomain="sub")
        child = ns.Blueprint("child", __name__, url_prefix="/c", url_defaults={"a": 1})

        def record(state: t.Any, log: list[t.Any] = log, app: t.Any = app) -> None:
            log.append(
                (
                    "record",
                    state.app is app,
                    state.blueprint.name,
                    state.name,
                    state.name_prefix,
                    state.url_prefix,
                    state.subdomain,
                    state.url_defaults,
                    state.first_registration,
                    state.options.get("extra"),
                )
            )

        def once(state: t.Any, log: list[t.Any] = log) -> None:
            log.append(("once", state.name, state.url_prefix))

        for bp in (parent, child):
            bp.record(record)
            bp.record_once(once)
        parent.register_blueprint(child, url_defaults={"b": 2})
        app.register_blueprint(parent, extra="given")
        app.register_blueprint(parent, name="again", url_prefix="/again")
        seen[ns.App.__name__] = log
    assert seen["Erlen"] == seen["Flask"]
    assert seen["Erlen"] == [
        ("record", True, "parent", "parent", "", "/p", "sub", {}, True, "given"),
        ("once", "parent", "/p"),
        (
            "record",
            True,
            "child",
            "child",
            "parent",
            "/p/c",
            "sub",
            {"a": 1, "b": 2},
            True,
            None,
        ),
        ("once", "child", "/p/c"),
        ("record", True, "parent", "again", "", "/again", "sub", {}, False, None),
        (
            "record",
            True,
            "child",
            "child",
            "again",
            "/again/c",
            "sub",
            {"a": 1, "b": 2},
            False,
            None,
        ),
    ]


def test_setup_state_add_url_rule_needs_a_name(app: Erlen) -> None:
    bp = Blueprint("bp", __name__)
    bp.record(lambda state: state.add_url_rule("/x"))
    with pytest.raises(TypeError, match="endpoint name or a view_func"):
        app.register_blueprint(bp)


def test_record_can_add_rules(pair: Callable[..., Pair]) -> None:
    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        bp = ns.Blueprint("ext", __name__, url_prefix="/ext")

        def add_rule(state: t.Any) -> None:
            state.add_url_rule("/health", "health", lambda: "ok " + ns.request.endpoint)
            state.app.config["EXT_LOADED"] = state.name

        bp.record(add_rule)
        app.register_blueprint(bp)
        app.register_blueprint(bp, name="ext2", url_prefix="/ext2")

    p = pair(setup)
    assert p.check("/ext/health").data == b"ok ext.health"
    assert p.check("/ext2/health").data == b"ok ext2.health"
    assert p.erlen_app.config["EXT_LOADED"] == "ext2"


def test_make_setup_state_can_be_overridden(app: Erlen, client: ErlenClient) -> None:
    class State(BlueprintSetupState):
        def add_url_rule(self, rule: str, *args: t.Any, **kwargs: t.Any) -> None:
            super().add_url_rule(rule + "/", *args, **kwargs)

    class MyBlueprint(Blueprint):
        def make_setup_state(
            self,
            app: Erlen,
            options: dict[str, t.Any],
            first_registration: bool = False,
        ) -> BlueprintSetupState:
            return State(self, app, options, first_registration)

    bp = MyBlueprint("my", __name__)

    @bp.route("/x")
    def x() -> str:
        return "x"

    app.register_blueprint(bp)
    assert client.get("/x/").data == b"x"


# -- static files ----------------------------------------------------------------


def test_static_folder(pair: Callable[..., Pair]) -> None:
    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        admin_root = os.path.join(HERE, "admin")
        admin = ns.Blueprint(
            "admin",
            __name__,
            root_path=admin_root,
            static_folder="static",
            url_prefix="/admin",
        )
        assets = ns.Blueprint(
            "assets",
            __name__,
            root_path=admin_root,
            static_folder="static",
            static_url_path="/assets",
        )
        outer = ns.Blueprint("outer", __name__, url_prefix="/outer")
        outer.register_blueprint(admin)
        app.register_blueprint(admin)
        app.register_blueprint(assets)
        app.register_blueprint(outer)

        @app.route("/urls")
        def urls() -> str:
            return " ".join(
                ns.url_for(endpoint, filename="a b.css")
                for endpoint in (
                    "static",
                    "admin.static",
                    "assets.static",
                    "outer.admin.static",
                )
            )

    p = pair(setup)
    assert p.check("/urls").data == (
        b"/static/a%20b.css /admin/static/a%20b.css /assets/a%20b.css"
        b" /outer/admin/static/a%20b.css"
    )
    for url, body, mimetype in (
        ("/admin/static/style.css", b"body { color: red; }\n", "text/css"),
        ("/admin/static/admin.txt", b"admin static\n", "text/plain"),
        ("/assets/admin.txt", b"admin static\n", "text/plain"),
        ("/outer/admin/static/admin.txt", b"admin static\n", "text/plain"),
        ("/static/app.txt", b"app static\n", "text/plain"),
    ):
        rv = p.check(url, all_headers=False)
        assert (rv.status_code, rv.data, rv.mimetype) == (200, body, mimetype)
    for url in (
        "/admin/static/missing.txt",
        "/admin/static/../static/app.txt",
        "/admin/static/%2e%2e/%2e%2e/test_blueprints.py",
        "/admin/static/",
    ):
        assert p.check(url, all_headers=False).status_code == 404, url


def test_app_static_route_wins_without_prefix(pair: Callable[..., Pair]) -> None:
    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        bp = ns.Blueprint(
            "bp",
            __name__,
            root_path=os.path.join(HERE, "admin"),
            static_folder="static",
        )
        app.register_blueprint(bp)

    p = pair(setup)
    assert p.check("/static/app.txt", all_headers=False).data == b"app static\n"
    assert p.check("/static/admin.txt", all_headers=False).status_code == 404


def test_static_folder_without_prefix_or_folder() -> None:
    for ns in (FLASK, ERLEN):
        bp = ns.Blueprint("bp", __name__)
        assert bp.static_folder is None and bp.static_url_path is None
        assert not bp.has_static_folder
        bp = ns.Blueprint("bp", __name__, root_path=HERE, static_folder="static/")
        assert bp.static_folder == os.path.join(HERE, "static")
        assert bp.static_url_path == "/static"
    with pytest.raises(RuntimeError, match="no static_folder"):
        erlen.Blueprint("bp", __name__).send_static_file("x")


# -- construction and registration errors -----------------------------------------


def test_constructor_arguments() -> None:
    bp = Blueprint(
        "bp",
        __name__,
        static_folder="static",
        static_url_path="/files",
        template_folder="templates",
        url_prefix="/bp",
        subdomain="api",
        url_defaults={"x": 1},
        root_path=HERE,
        cli_group="tools",
    )
    theirs = flask.Blueprint(
        "bp",
        __name__,
        static_folder="static",
        static_url_path="/files",
        template_folder="templates",
        url_prefix="/bp",
        subdomain="api",
        url_defaults={"x": 1},
        root_path=HERE,
        cli_group="tools",
    )
    for attr in (
        "name",
        "import_name",
        "static_folder",
        "static_url_path",
        "template_folder",
        "url_prefix",
        "subdomain",
        "url_values_defaults",
        "root_path",
        "cli_group",
    ):
        assert getattr(bp, attr) == getattr(theirs, attr), attr
    # The root path comes from the import name when not given.
    assert Blueprint("bp", __name__).root_path == os.path.dirname(
        os.path.abspath(__file__)
    )
    assert (
        Blueprint("bp", __name__).root_path == flask.Blueprint("bp", __name__).root_path
    )


@pytest.mark.parametrize("name", ["", "a.b"])
def test_invalid_names(name: str) -> None:
    with pytest.raises(ValueError):
        flask.Blueprint(name, __name__)
    with pytest.raises(ValueError, match="name"):
        Blueprint(name, __name__)


@pytest.mark.parametrize("framework", [FLASK, ERLEN], ids=["flask", "erlen"])
def test_registration_errors(framework: SimpleNamespace) -> None:
    """The same exception types as Flask; Erlen's messages say what to do."""
    ns = framework
    app = ns.App("bp_app", root_path=HERE)
    bp = ns.Blueprint("bp", __name__)
    other = ns.Blueprint("bp", __name__)
    with pytest.raises(ValueError) as dotted_endpoint:
        bp.add_url_rule("/x", "a.b", lambda: "")

    def dotted() -> str:
        return ""

    dotted.__name__ = "a.b"
    with pytest.raises(ValueError) as dotted_view:
        bp.add_url_rule("/y", view_func=dotted)
    with pytest.raises(ValueError) as itself:
        bp.register_blueprint(bp)
    app.register_blueprint(bp)
    with pytest.raises(ValueError) as twice:
        app.register_blueprint(bp)
    with pytest.raises(ValueError) as clash:
        app.register_blueprint(other)
    if ns is ERLEN:  # Flask 3.1 accepts it, making a blueprint look nested
        with pytest.raises(ValueError) as dotted_name:
            app.register_blueprint(other, name="x.y")
    app.register_blueprint(other, name="other")
    with pytest.raises(AssertionError) as late_setup:
        bp.route("/late")(dotted)
    with pytest.raises(AssertionError):
        bp.before_request(dotted)
    with pytest.raises(AssertionError):
        bp.register_blueprint(ns.Blueprint("child", __name__))
    app.test_client().get("/")
    with pytest.raises(AssertionError) as after_request:
        app.register_blueprint(ns.Blueprint("late", __name__))
    assert "late" not in app.blueprints
    if ns is not ERLEN:
        return
    assert "'_' instead" in str(dotted_name.value)
    assert "blueprint's name is added" in str(dotted_endpoint.value)
    assert "endpoint='...'" in str(dotted_view.value)
    assert "nested in itself" in str(itself.value)
    for error in (twice, clash):
        assert "Cannot register the blueprint 'bp' as 'bp'" in str(error.value)
        assert "name='...'" in str(error.value)
    assert "this blueprint is already registered" in str(twice.value)
    assert "a different blueprint" in str(clash.value)
    assert "'route' was called on the blueprint 'bp' after it" in str(late_setup.value)
    assert "before calling register_blueprint()" in str(late_setup.value)
    message = str(after_request.value)
    assert "blueprint 'late' cannot be registered" in message
    assert "already handled a request" in message
    assert "before it serves" in message


def test_endpoint_decorator(app: Erlen, client: ErlenClient) -> None:
    """``bp.endpoint(name)`` binds a view to a rule added without one.
    (Flask 3.1 files the view under the bare name, so its request fails;
    Erlen files it under the blueprint's endpoint name.)"""
    bp = Blueprint("bp", __name__, url_prefix="/bp")
    bp.add_url_rule("/late", "late")

    @bp.endpoint("late")
    def late_view() -> str:
        return erlen.request.endpoint or ""

    app.register_blueprint(bp)
    assert client.get("/bp/late").data == b"bp.late"


def test_async_blueprint_hooks(app: Erlen, client: ErlenClient) -> None:
    bp = Blueprint("bp", __name__, url_prefix="/bp")
    log: list[str] = []

    @bp.before_request
    async def before() -> None:
        log.append("before")

    @bp.after_request
    async def after(response: erlen.Response) -> erlen.Response:
        log.append("after")
        response.headers["X-After"] = "yes"
        return response

    @bp.errorhandler(ValueError)
    async def handle(e: ValueError) -> tuple[str, int]:
        return f"handled {e}", 400

    @bp.route("/")
    async def index() -> str:
        raise ValueError("boom")

    app.register_blueprint(bp)
    rv = client.get("/bp/")
    assert (rv.status_code, rv.data, rv.headers["X-After"]) == (
        400,
        b"handled boom",
        "yes",
    )
    assert log == ["before", "after"]


# -- CLI -------------------------------------------------------------------------


_NOT_GIVEN = object()


@pytest.mark.parametrize(
    ("cli_group", "register_group", "args"),
    [
        (_NOT_GIVEN, _NOT_GIVEN, ["bp", "hello"]),
        ("tools", _NOT_GIVEN, ["tools", "hello"]),
        (None, _NOT_GIVEN, ["hello"]),
        (_NOT_GIVEN, "given", ["given", "hello"]),
        ("tools", None, ["hello"]),
    ],
    ids=["default", "named", "top-level", "at-registration", "top-level-at-reg"],
)
def test_cli_group(cli_group: t.Any, register_group: t.Any, args: list[str]) -> None:
    outputs = []
    for ns in (FLASK, ERLEN):
        kwargs = {} if cli_group is _NOT_GIVEN else {"cli_group": cli_group}
        bp = ns.Blueprint("bp", __name__, **kwargs)

        @bp.cli.command("hello")
        def hello() -> None:
            click.echo("hello from bp")

        app = ns.App("bp_app", root_path=HERE)
        options = {} if register_group is _NOT_GIVEN else {"cli_group": register_group}
        app.register_blueprint(bp, **options)
        result = app.test_cli_runner().invoke(args=args)
        outputs.append((result.exit_code, result.output))
    assert outputs[0] == outputs[1] == (0, "hello from bp\n")


def test_cli_group_when_registered_twice() -> None:
    bp = Blueprint("bp", __name__)

    @bp.cli.command("hello")
    def hello() -> None:
        click.echo("hello")

    app = Erlen("bp_app", root_path=HERE)
    app.register_blueprint(bp)
    app.register_blueprint(bp, name="bp2")
    runner = app.test_cli_runner()
    for group in ("bp", "bp2"):
        result = runner.invoke(args=[group, "hello"])
        assert (result.exit_code, result.output) == (0, "hello\n"), group
