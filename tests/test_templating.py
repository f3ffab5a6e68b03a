"""Templates: rendering, the template folders, autoescaping, the template
context, filters/tests/globals, ``|tojson``, reloading, signals and
streaming, against Flask, through both drivers.

Where Flask has the behaviour, the test builds the same app with
``flask.Flask`` and ``erlen.Erlen`` (same templates, in ``apps/templating``),
sends the same requests and asserts the same status, body and headers, and
checks the body it expects as well.  Flask is imported here only.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import os
import typing as t
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import flask
import jinja2
import markupsafe
import pytest
from flask_compare import FlaskPair, pair_builder

import erlen
from erlen import Erlen
from erlen.security import DEFAULT_SECURITY_HEADERS
from erlen.testing import ErlenClient

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "apps", "templating")
_NAMES = (
    "Blueprint",
    "before_render_template",
    "flash",
    "g",
    "get_template_attribute",
    "render_template",
    "render_template_string",
    "request",
    "session",
    "stream_template",
    "stream_template_string",
    "template_rendered",
    "url_for",
)
# Flask 3.1 no longer re-exports ``Markup`` and ``escape``: its apps import
# them from markupsafe, which is what Erlen re-exports.
FLASK = SimpleNamespace(
    App=flask.Flask,
    Markup=markupsafe.Markup,
    escape=markupsafe.escape,
    **{n: getattr(flask, n) for n in _NAMES},
)
ERLEN = SimpleNamespace(
    App=Erlen,
    Markup=erlen.Markup,
    escape=erlen.escape,
    **{n: getattr(erlen, n) for n in _NAMES},
)

Setup = Callable[[t.Any, SimpleNamespace], None]


def _headers(response: t.Any) -> dict[str, str]:
    headers = {k.lower(): v for k, v in response.headers.items()}
    # Erlen's default security headers, which Flask does not send (tested in
    # test_security_defaults.py).
    for name in DEFAULT_SECURITY_HEADERS:
        headers.pop(name.lower(), None)
    if "set-cookie" in headers:
        # A signed session cookie holds a timestamp: compare its attributes.
        name, _, rest = headers["set-cookie"].partition("=")
        headers["set-cookie"] = f"{name}=...;{rest.partition(';')[2]}"
    return headers


@pytest.fixture
def pair(driver: str) -> Iterator[Callable[..., FlaskPair]]:
    """``pair(setup, root=HERE, **config)``: the same app built with Flask
    and with Erlen, rooted at ``root``; ``setup(app, ns)`` gets ``FLASK`` or
    ``ERLEN``.  Headers compare with :func:`_headers`."""

    def make(setup: Setup, root: str = HERE, **config: t.Any) -> FlaskPair:
        p = FlaskPair(
            setup,
            driver,
            name="tmpl_app",
            root_path=root,
            config={"SECRET_KEY": "test key", **config},
            names=(FLASK, ERLEN),
            headers=_headers,
        )
        # Flask gets Erlen's safer SameSite default so cookies compare.
        p.flask_app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
        return p

    yield from pair_builder(make)


def _blueprints(app: t.Any, ns: SimpleNamespace, order: tuple[str, ...]) -> None:
    """Register the ``admin`` and ``shop`` blueprints (each with its own
    template folder) in ``order``."""
    for name in order:
        bp = ns.Blueprint(
            name,
            __name__,
            root_path=os.path.join(HERE, name),
            template_folder="templates",
            url_prefix=f"/{name}",
        )

        @bp.route("/render/<path:template>")
        def render(template: str) -> t.Any:
            return ns.render_template(template, name="bp")

        app.register_blueprint(bp)


def _render_route(app: t.Any, ns: SimpleNamespace) -> None:
    @app.route("/render/<path:template>")
    def render(template: str) -> t.Any:
        return ns.render_template(template, name=ns.request.args.get("name", "x"))


# -- rendering and autoescaping -----------------------------------------------


@pytest.mark.parametrize(
    ("template", "escaped"),
    [
        ("index.html", True),
        ("page.htm", True),
        ("page.xml", True),
        ("page.xhtml", True),
        ("page.svg", True),
        ("plain.txt", False),
    ],
)
def test_autoescape_by_extension(
    pair: Callable[..., FlaskPair], template: str, escaped: bool
) -> None:
    p = pair(_render_route)
    rv = p.check(f"/render/{template}", query_string={"name": "<b>&'\""})
    assert (b"<b>" not in rv.data) is escaped
    if escaped:
        assert b"&lt;b&gt;&amp;&#39;&#34;" in rv.data
    else:
        assert b"<b>&'\"" in rv.data


def test_render_template_string_autoescapes(pair: Callable[..., FlaskPair]) -> None:
    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        @app.route("/")
        def index() -> t.Any:
            return ns.render_template_string(
                "{{ raw }}|{{ safe }}|{{ raw|safe }}|{{ escaped }}",
                raw="<i>x</i>",
                safe=ns.Markup("<b>ok</b>"),
                escaped=ns.escape("<u>"),
            )

    rv = pair(setup).check("/")
    assert rv.data == b"&lt;i&gt;x&lt;/i&gt;|<b>ok</b>|<i>x</i>|&lt;u&gt;"


def test_markup_and_escape_are_markupsafes() -> None:
    assert erlen.Markup is markupsafe.Markup
    assert erlen.escape is markupsafe.escape
    assert "Markup" in erlen.__all__ and "escape" in erlen.__all__
    assert erlen.escape("<a>") == erlen.Markup("&lt;a&gt;")


def test_render_template_forms(pair: Callable[..., FlaskPair]) -> None:
    """A name, a list of names (the first that exists), a ``Template``;
    inheritance and includes across the app's and blueprints' folders."""

    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        _blueprints(app, ns, ("admin", "shop"))

        @app.route("/list")
        def from_list() -> t.Any:
            return ns.render_template(["missing.html", "index.html"], name="list")

        @app.route("/object")
        def from_object() -> t.Any:
            template = app.jinja_env.get_template("index.html")
            return ns.render_template(template, name="object")

        @app.route("/inherit")
        def inherit() -> t.Any:
            return ns.render_template("admin/page.html", name="<x>")

    p = pair(setup)
    assert p.check("/list").data == b"Hello list!"
    assert p.check("/object").data == b"Hello object!"
    assert p.check("/inherit").data == b"<title>admin &lt;x&gt;</title>shop only"


def test_missing_template_raises(pair: Callable[..., FlaskPair]) -> None:
    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        _render_route(app, ns)

    p = pair(setup, TESTING=True)
    with pytest.raises(jinja2.TemplateNotFound):
        p.flask.get("/render/missing.html")
    with pytest.raises(jinja2.TemplateNotFound) as info:
        p.erlen.get("/render/missing.html")
    # Erlen's message names the folders searched and how to see more.
    assert info.value.name == "missing.html"
    message = str(info.value)
    assert os.path.join(HERE, "templates") in message
    assert "EXPLAIN_TEMPLATE_LOADING" in message


def test_get_template_attribute(pair: Callable[..., FlaskPair]) -> None:
    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        @app.route("/")
        def index() -> t.Any:
            hello = ns.get_template_attribute("macros.html", "hello")
            answer = ns.get_template_attribute("macros.html", "answer")
            return f"{hello('<w>')} {answer}"

    assert pair(setup).check("/").data == b"Hello &lt;w&gt;! 42"


def test_render_in_app_context_without_request() -> None:
    """Outside a request, ``g`` and ``config`` work; ``request`` raises, as
    in Flask; ``url_for`` needs ``SERVER_NAME``."""
    out = {}
    for name, ns in (("flask", FLASK), ("erlen", ERLEN)):
        app = ns.App("tmpl_app", root_path=HERE)
        app.config["GREETING"] = "hi"

        @app.route("/")
        def index() -> str:
            return ""

        with app.app_context():
            ns.g.user = "ann"
            ok = ns.render_template_string("{{ g.user }} {{ config.GREETING }}")
            with pytest.raises(RuntimeError):
                ns.render_template_string("{{ request.path }}")
            with pytest.raises(RuntimeError, match="SERVER_NAME"):
                ns.render_template_string("{{ url_for('index') }}")
            streamed = "".join(ns.stream_template_string("{{ 1 + 1 }}"))
        app.config["SERVER_NAME"] = "example.com"
        with app.app_context():
            url = ns.render_template_string("{{ url_for('index') }}")
        out[name] = (ok, url, streamed)
    assert out["erlen"] == out["flask"] == ("ann hi", "http://example.com/", "2")


def test_render_outside_app_context_raises() -> None:
    for ns in (FLASK, ERLEN):
        with pytest.raises(RuntimeError, match="application context"):
            ns.render_template_string("x")


# -- template folders ---------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "both"),
    [(("admin", "shop"), b"from admin"), (("shop", "admin"), b"from shop")],
)
def test_search_order(
    pair: Callable[..., FlaskPair], order: tuple[str, ...], both: bytes
) -> None:
    """The app's folder first, then the blueprints' in registration order,
    whichever view renders."""

    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        _render_route(app, ns)
        _blueprints(app, ns, order)

    p = pair(setup)
    for prefix in ("", "/admin", "/shop"):
        assert p.check(f"{prefix}/render/shared.html").data == b"from app"
        assert p.check(f"{prefix}/render/both.html").data == both
        assert p.check(f"{prefix}/render/shop_only.html").data == b"shop only"


def test_nested_blueprint_template_folder(pair: Callable[..., FlaskPair]) -> None:
    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        parent = ns.Blueprint("parent", __name__, url_prefix="/parent")
        child = ns.Blueprint(
            "child",
            __name__,
            root_path=os.path.join(HERE, "shop"),
            template_folder="templates",
        )

        @child.route("/")
        def index() -> t.Any:
            return ns.render_template("shop_only.html")

        parent.register_blueprint(child)
        app.register_blueprint(parent)
        _render_route(app, ns)

    p = pair(setup)
    assert p.check("/parent/").data == b"shop only"
    assert p.check("/render/both.html").data == b"from shop"


def test_blueprint_without_template_folder(pair: Callable[..., FlaskPair]) -> None:
    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        bp = ns.Blueprint("plain", __name__, root_path=os.path.join(HERE, "admin"))

        @bp.route("/")
        def index() -> t.Any:
            return ns.render_template("index.html", name="from bp")

        app.register_blueprint(bp)

    assert pair(setup).check("/").data == b"Hello from bp!"


def test_app_without_template_folder(pair: Callable[..., FlaskPair]) -> None:
    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        app.template_folder = None
        _blueprints(app, ns, ("shop",))

    p = pair(setup)
    assert p.erlen_app.jinja_loader is None
    assert p.check("/shop/render/shared.html").data == b"from shop"
    p.erlen_app.config["TESTING"] = True
    with pytest.raises(jinja2.TemplateNotFound, match="shop"):
        p.erlen.get("/shop/render/index.html")


def test_explain_template_loading(
    pair: Callable[..., FlaskPair], caplog: pytest.LogCaptureFixture
) -> None:
    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        _render_route(app, ns)
        _blueprints(app, ns, ("admin", "shop"))

    p = pair(setup, EXPLAIN_TEMPLATE_LOADING=True)
    client = p.erlen
    app_folder = os.path.join(HERE, "templates")
    admin_folder = os.path.join(HERE, "admin", "templates")
    shop_folder = os.path.join(HERE, "shop", "templates")

    with caplog.at_level(logging.INFO, logger="tmpl_app"):
        assert client.get("/render/both.html").data == b"from admin"
    (record,) = [r for r in caplog.records if r.name == "tmpl_app"]
    assert record.levelno == logging.INFO
    lines = record.getMessage().splitlines()
    assert lines[0] == "Locating template 'both.html':"
    assert lines[1].startswith("  1. <Erlen 'tmpl_app'>") and app_folder in lines[1]
    assert lines[1].endswith("-> no match")
    assert lines[2].startswith("  2. <Blueprint 'admin'>") and admin_folder in lines[2]
    assert lines[2].endswith(f"-> found {os.path.join(admin_folder, 'both.html')!r}")
    assert lines[3].startswith("  3. <Blueprint 'shop'>") and shop_folder in lines[3]
    assert "found" in lines[3]
    assert lines[4].startswith("Warning: several folders have this template")

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="tmpl_app"):
        with pytest.raises(jinja2.TemplateNotFound):
            p.erlen_app.config["TESTING"] = True
            client.get("/admin/render/nope.html")
    (record,) = [r for r in caplog.records if r.name == "tmpl_app"]
    message = record.getMessage()
    assert message.count("-> no match") == 3
    assert "Error: the template was not found." in message
    assert "The request's blueprint is 'admin'" in message
    assert "'admin/page.html'" in message


def test_template_loading_is_quiet_by_default(
    pair: Callable[..., FlaskPair], caplog: pytest.LogCaptureFixture
) -> None:
    p = pair(_render_route)
    with caplog.at_level(logging.DEBUG):
        assert p.check("/render/index.html").status_code == 200
    assert not [r for r in caplog.records if r.name == "tmpl_app"]


def test_list_templates() -> None:
    """Every template of the app and its blueprints, once each (sorted in
    Erlen)."""
    found: dict[str, list[str]] = {}
    for ns in (FLASK, ERLEN):
        app = ns.App("tmpl_app", root_path=HERE)
        _blueprints(app, ns, ("admin", "shop"))
        app.register_blueprint(
            ns.Blueprint(
                "again",
                __name__,
                root_path=os.path.join(HERE, "admin"),
                template_folder="templates",
            )
        )
        found[ns.App.__name__] = app.jinja_env.list_templates()
    assert sorted(found["Flask"]) == found["Erlen"]
    assert {"admin/page.html", "both.html", "index.html", "shop_only.html"} <= set(
        found["Erlen"]
    )


def test_same_blueprint_twice_is_searched_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Erlen("tmpl_app", root_path=HERE)
    app.config["EXPLAIN_TEMPLATE_LOADING"] = True
    bp = erlen.Blueprint(
        "admin",
        __name__,
        root_path=os.path.join(HERE, "admin"),
        template_folder="templates",
    )
    app.register_blueprint(bp)
    app.register_blueprint(bp, name="admin2", url_prefix="/2")
    with app.app_context(), caplog.at_level(logging.INFO, logger="tmpl_app"):
        assert erlen.render_template("both.html") == "from admin"
    message = caplog.records[-1].getMessage()
    assert message.count("found") == 1
    assert "Warning" not in message


# -- what every template sees -------------------------------------------------


def test_default_globals(pair: Callable[..., FlaskPair]) -> None:
    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        app.config["GREETING"] = "<hi>"

        @app.route("/login")
        def login() -> t.Any:
            ns.session["name"] = "<ann>"
            ns.flash("welcome <b>")
            ns.flash("careful", "warning")
            return "logged in"

        @app.route("/globals")
        def globals_view() -> t.Any:
            ns.g.user = "<u>"
            return ns.render_template("globals.html")

    p = pair(setup)
    p.check("/login")
    rv = p.check("/globals", query_string={"q": "<q>"})
    assert rv.data.decode() == (
        "path=/globals q=&lt;q&gt; user=&lt;u&gt; session=&lt;ann&gt;"
        " greeting=&lt;hi&gt; url=http://localhost/globals"
        " flashes=[(&#39;message&#39;, &#39;welcome &lt;b&gt;&#39;),"
        " (&#39;warning&#39;, &#39;careful&#39;)]"
    )
    # Flashed messages are shown once.
    assert "flashes=[]" in p.check("/globals").data.decode()


def test_globals_are_in_the_environment() -> None:
    for ns in (FLASK, ERLEN):
        env = ns.App("tmpl_app", root_path=HERE).jinja_env
        for name in ("url_for", "get_flashed_messages", "config", "request"):
            assert name in env.globals, (ns.App, name)
        assert {"session", "g"} <= set(env.globals)


def test_render_context_is_jinjas() -> None:
    """The context a template renders with holds what Jinja2's own
    new_context puts there: environment globals, then the template's own,
    then the variables passed."""
    app = Erlen("tmpl_app", root_path=HERE)
    env = app.jinja_env
    env.globals.update(shadowed="env", only_env=1)
    cases = [
        env.from_string("{{ shadowed }}"),
        env.from_string("{{ shadowed }}", globals={"shadowed": "tmpl", "own": 2}),
    ]
    for template in cases:
        for variables in (None, {}, {"shadowed": "var", "x": [1]}):
            ours = template.new_context(variables)
            theirs = jinja2.Template.new_context(template, variables)
            assert type(ours) is type(theirs)
            assert ours.parent == theirs.parent
            assert list(ours.parent) == list(theirs.parent)
            assert ours.globals_keys == theirs.globals_keys
            assert ours.vars == theirs.vars == {}
            assert ours.name == theirs.name and ours.blocks == theirs.blocks


def test_globals_added_after_loading_are_seen(
    app: Erlen, client: ErlenClient, tmp_path: Path
) -> None:
    """A template loaded (and cached) before a global was added sees it, and
    the macros it imports still render."""
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "macros.html").write_text(
        "{% macro hello(name) %}Hello {{ name }}!{% endmacro %}"
    )
    (tmp_path / "templates" / "late.html").write_text(
        "{{ late | default('missing') }} {% from 'macros.html' import hello %}"
        "{{ hello(late | default('nobody')) }}"
    )
    app.root_path = str(tmp_path)

    @app.get("/late")
    def late() -> str:
        return erlen.render_template("late.html")

    assert client.get("/late").text == "missing Hello nobody!"
    app.jinja_env.globals["late"] = "ann"
    assert client.get("/late").text == "ann Hello ann!"
    del app.jinja_env.globals["late"]
    assert client.get("/late").text == "missing Hello nobody!"


def test_rendering_does_not_read_the_session(pair: Callable[..., FlaskPair]) -> None:
    """A template that does not use ``session`` leaves the session cookie
    unread (no ``Vary: Cookie``); one that does, reads it."""
    opened: list[str] = []

    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        @app.route("/plain")
        def plain() -> t.Any:
            return ns.render_template_string("{{ request.path }} {{ g.x }}")

        @app.route("/uses-session")
        def uses_session() -> t.Any:
            return ns.render_template_string("{{ session.get('a') }}")

    p = pair(setup)
    interface = p.erlen_app.session_interface
    real_open = interface.open_session

    def spy(app: t.Any, request: t.Any) -> t.Any:
        opened.append(request.path)
        return real_open(app, request)

    interface.open_session = spy  # type: ignore[method-assign]
    p.erlen.set_cookie("session", "anything")
    p.flask.set_cookie("session", "anything")
    assert "vary" not in _headers(p.check("/plain"))
    assert opened == []
    assert _headers(p.check("/uses-session"))["vary"] == "Cookie"
    assert opened == ["/uses-session"]


def test_context_processors(pair: Callable[..., FlaskPair]) -> None:
    """App processors everywhere; a blueprint's only for its requests (and
    its nested blueprints'); ``app_context_processor`` everywhere; later
    ones override earlier ones; names passed to render win."""
    template = "{{ who }} {{ app_only }} {{ site }} {{ parent_only|default('-') }}"

    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        parent = ns.Blueprint("parent", __name__, url_prefix="/parent")
        child = ns.Blueprint("child", __name__, url_prefix="/child")
        other = ns.Blueprint("other", __name__, url_prefix="/other")

        @app.context_processor
        def app_values() -> dict[str, t.Any]:
            return {"who": "app", "app_only": ns.request.path}

        @parent.context_processor
        def parent_values() -> dict[str, t.Any]:
            return {"who": "parent", "parent_only": "P"}

        @child.context_processor
        def child_values() -> dict[str, t.Any]:
            return {"who": "child"}

        @other.app_context_processor
        def site_values() -> dict[str, t.Any]:
            return {"site": "site-wide"}

        for scaffold in (app, parent, child, other):

            @scaffold.route("/")
            def index() -> t.Any:
                return ns.render_template_string(template)

            @scaffold.route("/explicit")
            def explicit() -> t.Any:
                return ns.render_template_string(template, who="explicit")

        parent.register_blueprint(child)
        app.register_blueprint(parent)
        app.register_blueprint(other)

    p = pair(setup)
    assert p.check("/").data == b"app / site-wide -"
    assert p.check("/parent/").data == b"parent /parent/ site-wide P"
    assert p.check("/parent/child/").data == b"child /parent/child/ site-wide P"
    assert p.check("/other/").data == b"app /other/ site-wide -"
    assert p.check("/parent/explicit").data == (
        b"explicit /parent/explicit site-wide P"
    )


def test_async_context_processor(app: Erlen, client: ErlenClient) -> None:
    """An ``async def`` context processor is awaited before rendering, from
    a ``def`` or an ``async def`` view, in the request's context."""

    @app.context_processor
    async def user() -> dict[str, t.Any]:
        await asyncio.sleep(0)
        return {"user": f"ann at {erlen.request.path}"}

    @app.route("/sync")
    def sync_view() -> str:
        return erlen.render_template_string("{{ user }}")

    @app.route("/async")
    async def async_view() -> str:
        return erlen.render_template_string("{{ user }}")

    assert client.get("/sync").data == b"ann at /sync"
    assert client.get("/async").data == b"ann at /async"


def test_async_view_renders(app: Erlen, client: ErlenClient) -> None:
    app.root_path = HERE

    @app.route("/")
    async def index() -> str:
        erlen.g.user = "<u>"
        return erlen.render_template("index.html", name=erlen.g.user)

    rv = client.get("/")
    assert rv.data == b"Hello &lt;u&gt;!"
    assert rv.content_type == "text/html; charset=utf-8"


# -- filters, tests, globals --------------------------------------------------


def test_filters_tests_globals(pair: Callable[..., FlaskPair]) -> None:
    template = (
        "{{ 'abc'|reverse_it }} {{ 'abc'|rev }} {{ 'abc'|shout }} {{ 'abc'|yell }}"
        " {{ 4 is even_num }} {{ 3 is odd_num }} {{ 5 is big }} {{ 5 is huge }}"
        " {{ answer() }} {{ double(2) }} {{ triple(2) }} {{ quad(2) }}"
    )

    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        @app.template_filter()
        def reverse_it(s: str) -> str:
            return s[::-1]

        @app.template_filter("rev")
        def other_name(s: str) -> str:
            return s[::-1]

        def shout(s: str) -> str:
            return s.upper() + "!"

        app.add_template_filter(shout)
        app.add_template_filter(shout, name="yell")

        @app.template_test()
        def even_num(n: int) -> bool:
            return n % 2 == 0

        @app.template_test("odd_num")
        def is_odd(n: int) -> bool:
            return n % 2 == 1

        def big(n: int) -> bool:
            return n > 4

        app.add_template_test(big)
        app.add_template_test(big, "huge")

        @app.template_global()
        def answer() -> int:
            return 42

        @app.template_global("double")
        def twice(n: int) -> int:
            return n * 2

        app.add_template_global(lambda n: n * 3, "triple")

        def quad(n: int) -> int:
            return n * 4

        app.add_template_global(quad)

        @app.route("/")
        def index() -> t.Any:
            return ns.render_template_string(template)

    rv = pair(setup).check("/")
    assert rv.data == b"cba cba ABC! ABC! True True True True 42 4 6 8"


def test_add_template_global_takes_any_value(pair: Callable[..., FlaskPair]) -> None:
    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        app.add_template_global("Erlen & co", "site_name")
        bp = ns.Blueprint("bp", __name__)
        bp.add_app_template_global({"year": 2024}, "meta")
        app.register_blueprint(bp)

        @app.route("/")
        def index() -> t.Any:
            return ns.render_template_string("{{ site_name }} {{ meta.year }}")

    assert pair(setup).check("/").data == b"Erlen &amp; co 2024"


def test_registration_without_parentheses(client: ErlenClient, app: Erlen) -> None:
    """Erlen also takes ``@app.template_filter`` without ``()`` (Flask 3.1
    needs the parentheses); the decorated function is returned unchanged."""

    def shout(s: str) -> str:
        return s.upper()

    def is_even(n: int) -> bool:
        return n % 2 == 0

    def answer() -> int:
        return 42

    assert app.template_filter(shout) is shout
    assert app.template_test(is_even) is is_even
    assert app.template_global(answer) is answer

    @app.route("/")
    def index() -> str:
        return erlen.render_template_string(
            "{{ 'a'|shout }} {{ 2 is is_even }} {{ answer() }}"
        )

    assert client.get("/").data == b"A True 42"


def test_blueprint_app_template_registration(pair: Callable[..., FlaskPair]) -> None:
    """A blueprint's ``app_template_*`` are available to every template of
    the app, also those rendered by other blueprints and the app."""
    template = (
        "{{ 'ab'|bp_rev }} {{ 'ab'|bp_named }} {{ 'ab'|bp_added }}"
        " {{ 2 is bp_even }} {{ 3 is bp_odd }} {{ 4 is bp_added_test }}"
        " {{ bp_answer() }} {{ bp_named_global() }} {{ bp_added_global() }}"
    )

    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        bp = ns.Blueprint("helpers", __name__)
        other = ns.Blueprint("other", __name__, url_prefix="/other")

        @bp.app_template_filter()
        def bp_rev(s: str) -> str:
            return s[::-1]

        @bp.app_template_filter("bp_named")
        def upper(s: str) -> str:
            return s.upper()

        bp.add_app_template_filter(lambda s: s * 2, "bp_added")

        @bp.app_template_test()
        def bp_even(n: int) -> bool:
            return n % 2 == 0

        @bp.app_template_test("bp_odd")
        def odd(n: int) -> bool:
            return n % 2 == 1

        bp.add_app_template_test(lambda n: n == 4, "bp_added_test")

        @bp.app_template_global()
        def bp_answer() -> int:
            return 42

        @bp.app_template_global("bp_named_global")
        def named() -> str:
            return "g"

        bp.add_app_template_global(lambda: "added", "bp_added_global")

        for scaffold in (app, other):

            @scaffold.route("/")
            def index() -> t.Any:
                return ns.render_template_string(template)

        app.register_blueprint(bp)
        app.register_blueprint(other)
        app.register_blueprint(bp, name="helpers_again", url_prefix="/again")

    p = pair(setup)
    expected = b"ba AB abab True True True 42 g added"
    assert p.check("/").data == expected
    assert p.check("/other/").data == expected


def test_blueprint_registration_without_parentheses(
    app: Erlen, client: ErlenClient
) -> None:
    bp = erlen.Blueprint("helpers", __name__)

    @bp.app_template_filter
    def shout(s: str) -> str:
        return s.upper()

    @bp.app_template_test
    def is_even(n: int) -> bool:
        return n % 2 == 0

    @bp.app_template_global
    def answer() -> int:
        return 42

    assert (shout("a"), is_even(2), answer()) == ("A", True, 42)
    app.register_blueprint(bp)

    @app.route("/")
    def index() -> str:
        return erlen.render_template_string(
            "{{ 'a'|shout }} {{ 2 is is_even }} {{ answer() }}"
        )

    assert client.get("/").data == b"A True 42"


# -- tojson -------------------------------------------------------------------

_NASTY = {
    "close": "</script><script>alert(1)</script>",
    "comment": "<!-- -->",
    "amp": "&amp; & '\"",
    "unicode": "é\u2028\u2029",
    "numbers": [1, 2.5, None, True],
}


def test_tojson_is_safe_in_script_and_attributes(
    pair: Callable[..., FlaskPair],
) -> None:
    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        @app.route("/")
        def index() -> t.Any:
            return ns.render_template("tojson.html", data=_NASTY)

        @app.route("/indent")
        def indent() -> t.Any:
            return ns.render_template_string(
                "{{ data|tojson(indent=2) }}", data={"b": "<", "a": [1]}
            )

        @app.route("/txt")
        def txt() -> t.Any:
            # Not autoescaped: the filter's own escaping is what protects.
            return ns.render_template_string(
                "{% autoescape false %}{{ data|tojson }}{% endautoescape %}",
                data=_NASTY,
            )

    p = pair(setup)
    body = p.check("/").data.decode()
    script, attribute = body.splitlines()
    assert script.startswith("<script>const data = ")
    assert script.count("<") == 2 and script.count(">") == 2  # only the tags
    assert "&" not in script and "'" not in script
    assert (
        json.loads(script[len("<script>const data = ") : -len(";</script>")]) == _NASTY
    )
    # In a single-quoted attribute nothing can end the value or the tag.
    value = attribute[len("<div data-x='") : -len("'></div>")]
    assert "'" not in value and "<" not in value and ">" not in value
    assert json.loads(value) == _NASTY
    assert p.check("/indent").data == b'{\n  "a": [\n    1\n  ],\n  "b": "\\u003c"\n}'
    assert "</script>" not in p.check("/txt").data.decode()


# -- reloading ----------------------------------------------------------------


def _edit(path: Path, text: str) -> None:
    """Rewrite a template with a newer modification time (file systems with
    coarse timestamps would otherwise hide the edit)."""
    stat = path.stat()
    path.write_text(text)
    os.utime(path, (stat.st_atime + 10, stat.st_mtime + 10))


@pytest.fixture
def editable(tmp_path: Path) -> Path:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text("one")
    return tmp_path


@pytest.mark.parametrize(
    ("auto_reload", "debug", "reloads"),
    [
        (None, False, False),
        (None, True, True),
        (True, False, True),
        (True, True, True),
        (False, False, False),
        (False, True, False),
    ],
)
def test_templates_auto_reload(
    pair: Callable[..., FlaskPair],
    editable: Path,
    auto_reload: bool | None,
    debug: bool,
    reloads: bool,
) -> None:
    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        app.debug = debug

        @app.route("/")
        def index() -> t.Any:
            return ns.render_template("page.html")

    p = pair(setup, root=str(editable), TEMPLATES_AUTO_RELOAD=auto_reload)
    assert p.check("/").data == b"one"
    _edit(editable / "templates" / "page.html", "two")
    assert p.check("/").data == (b"two" if reloads else b"one")
    assert p.erlen_app.jinja_env.auto_reload is reloads
    assert p.erlen_app.templates_auto_reload is reloads


def test_auto_reload_follows_config_changes(editable: Path, driver: str) -> None:
    """Erlen reads ``TEMPLATES_AUTO_RELOAD`` at each lookup, so turning it
    on after the environment exists (Flask would keep the old value) works,
    and so does turning it off."""
    app = Erlen("tmpl_app", root_path=str(editable))

    @app.template_filter()  # creates the environment now
    def noop(s: str) -> str:
        return s

    @app.route("/")
    def index() -> str:
        return erlen.render_template("page.html")

    client = app.test_client(driver=driver)  # type: ignore[arg-type]
    page = editable / "templates" / "page.html"
    assert client.get("/").data == b"one"
    _edit(page, "two")
    assert client.get("/").data == b"one"
    app.templates_auto_reload = True
    assert app.config["TEMPLATES_AUTO_RELOAD"] is True
    assert client.get("/").data == b"two"
    app.config["TEMPLATES_AUTO_RELOAD"] = False
    _edit(page, "three")
    assert client.get("/").data == b"two"
    app.config["TEMPLATES_AUTO_RELOAD"] = None
    app.debug = True
    assert client.get("/").data == b"three"
    client.close()


def test_auto_reload_set_explicitly_wins(editable: Path) -> None:
    for options, set_on_env, reloads in (
        ({"auto_reload": False}, None, False),
        ({}, False, False),
        ({}, True, True),
    ):
        app = Erlen("tmpl_app", root_path=str(editable))
        app.jinja_options = options
        app.config["TEMPLATES_AUTO_RELOAD"] = not reloads
        if set_on_env is not None:
            app.jinja_env.auto_reload = set_on_env
        assert app.jinja_env.auto_reload is reloads
        app.jinja_env.auto_reload = None  # type: ignore[assignment]
        assert app.jinja_env.auto_reload is (not reloads)


def test_jinja_options(pair: Callable[..., FlaskPair]) -> None:
    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        app.jinja_options = {"trim_blocks": True, "autoescape": False}

        @app.route("/")
        def index() -> t.Any:
            return ns.render_template_string(
                "{% if 1 %}\n<b>{{ x }}</b>{% endif %}", x="<i>"
            )

    assert pair(setup).check("/").data == b"<b><i></b>"


# -- signals ------------------------------------------------------------------


def test_render_signals(pair: Callable[..., FlaskPair]) -> None:
    events: dict[str, list[t.Any]] = {"flask": [], "erlen": []}

    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        log = events["flask" if ns is FLASK else "erlen"]

        def before(sender: t.Any, template: t.Any, context: t.Any, **kw: t.Any) -> None:
            log.append(("before", sender is app, template.name, sorted(context), kw))
            context["added"] = "by signal"

        def after(sender: t.Any, template: t.Any, context: t.Any, **kw: t.Any) -> None:
            log.append(("after", sender is app, template.name, context["name"], kw))

        ns.before_render_template.connect(before, app, weak=False)
        ns.template_rendered.connect(after, app, weak=False)

        @app.context_processor
        def processor() -> dict[str, t.Any]:
            return {"processed": True}

        @app.route("/file")
        def from_file() -> t.Any:
            return ns.render_template("index.html", name="file")

        @app.route("/string")
        def from_string() -> t.Any:
            return ns.render_template_string("{{ added }} {{ name }}", name="string")

    p = pair(setup)
    try:
        assert p.check("/file").data == b"Hello file!"
        assert p.check("/string").data == b"by signal string"
    finally:
        for ns, app in ((FLASK, p.flask_app), (ERLEN, p.erlen_app)):
            for signal in (ns.before_render_template, ns.template_rendered):
                for receiver in list(signal.receivers_for(app)):
                    signal.disconnect(receiver, app)
    keys = ["g", "name", "processed", "request"]
    assert (
        events["erlen"]
        == events["flask"]
        == [
            ("before", True, "index.html", keys, {}),
            ("after", True, "index.html", "file", {}),
            ("before", True, None, keys, {}),
            ("after", True, None, "string", {}),
        ]
    )


def test_signals_only_for_their_app(app: Erlen, client: ErlenClient) -> None:
    other = Erlen("other")
    seen: list[t.Any] = []

    def receiver(sender: t.Any, **kw: t.Any) -> None:
        seen.append(sender)

    @app.route("/")
    def index() -> str:
        return erlen.render_template_string("x")

    with erlen.template_rendered.connected_to(receiver, other):
        assert client.get("/").data == b"x"
    assert seen == []
    with erlen.template_rendered.connected_to(receiver, app):
        assert client.get("/").data == b"x"
    assert seen == [app]


def test_async_signal_receivers(app: Erlen, client: ErlenClient) -> None:
    """``async def`` receivers of the template signals are awaited, from
    ``def`` and ``async def`` views alike."""
    seen: list[tuple[str, str | None, str]] = []

    async def before(sender: t.Any, template: t.Any, context: t.Any) -> None:
        context["word"] = "changed"
        seen.append(("before", template.name, erlen.request.path))

    async def after(sender: t.Any, template: t.Any, context: t.Any) -> None:
        seen.append(("after", template.name, erlen.request.path))

    @app.route("/sync")
    def sync_view() -> str:
        return erlen.render_template_string("{{ word }}", word="original")

    @app.route("/async")
    async def async_view() -> str:
        return erlen.render_template_string("{{ word }}", word="original")

    with (
        erlen.before_render_template.connected_to(before, app),
        erlen.template_rendered.connected_to(after, app),
    ):
        assert client.get("/sync").data == b"changed"
        assert client.get("/async").data == b"changed"
    assert seen == [
        ("before", None, "/sync"),
        ("after", None, "/sync"),
        ("before", None, "/async"),
        ("after", None, "/async"),
    ]


# -- streaming ----------------------------------------------------------------


def test_stream_template_keeps_the_request(pair: Callable[..., FlaskPair]) -> None:
    def setup(app: t.Any, ns: SimpleNamespace) -> None:
        @app.route("/file")
        def from_file() -> t.Any:
            ns.g.token = "t"
            return ns.stream_template("stream.html", items=["a", "<b>"])

        @app.route("/string")
        def from_string() -> t.Any:
            ns.g.token = "s"
            return ns.stream_template_string(
                "{% for i in items %}{{ i }}{{ request.args.q }}{{ g.token }}"
                "{{ session.get('x') }};{% endfor %}",
                items=[1, 2],
            )

    p = pair(setup)
    assert p.check("/file?q=Q").data == b"a:Q:t;&lt;b&gt;:Q:t;"
    assert p.check("/string?q=<").data == b"1&lt;sNone;2&lt;sNone;"


def test_stream_template_is_lazy(app: Erlen, client: ErlenClient) -> None:
    """The template renders while the response is sent, in the request's
    context; ``template_rendered`` is sent when it is done, and the request's
    teardown runs after that."""
    log: list[str] = []

    def items() -> Iterator[str]:
        for item in ("a", "b"):
            log.append(f"produce {item} for {erlen.request.path}")
            yield item

    @app.teardown_request
    def teardown(error: BaseException | None) -> None:
        log.append("teardown")

    @app.route("/")
    def index() -> t.Any:
        log.append("view")
        return erlen.stream_template_string(
            "{% for i in items %}{{ i }}{% endfor %}", items=items()
        )

    def rendered(sender: t.Any, **kw: t.Any) -> None:
        log.append("rendered")

    with erlen.template_rendered.connected_to(rendered, app):
        rv = client.get("/")
    assert rv.data == b"ab"
    assert log == ["view", "produce a for /", "produce b for /", "rendered", "teardown"]


def test_stream_template_returns_an_iterator(app: Erlen) -> None:
    app.root_path = HERE
    with app.test_request_context("/?q=x"):
        erlen.g.token = "g"
        stream = erlen.stream_template("stream.html", items=[1])
        assert not isinstance(stream, str)
        assert "".join(stream) == "1:x:g;"


class _Both:
    """An object with an attribute and items."""

    name = "attribute"

    def __getitem__(self, key: str) -> str:
        return f"item {key}"


_ATTRIBUTE_CASES = [
    ("{{ d.name }}", {"name": "Ada"}),
    ("{{ d.missing }}|{{ d.missing is defined }}", {"name": "Ada"}),
    ("{{ d.items is callable }} {{ d.get('k') }}", {"items": "key", "k": 1}),
    ("{{ d.keys is callable }}{{ d.__class__.__name__ }}", {"keys": 1}),
    ("{{ d.a.b }}", {"a": {"b": "<i>nested</i>"}}),
    ("{{ d.name }}", collections.OrderedDict(name="ordered")),
    ("{{ d.name }}|{{ d.other }}", collections.defaultdict(str, name="dd")),
    ("{{ d.name }} {{ d.other }}", _Both()),
    ("{{ d.name }}", [1, 2]),
    ("{% for x in d %}{{ x.v }}{% endfor %}", [{"v": 1}, {"w": 2}, {"v": "<b>"}]),
]


@pytest.mark.parametrize("undefined", [jinja2.Undefined, jinja2.ChainableUndefined])
@pytest.mark.parametrize(("source", "value"), _ATTRIBUTE_CASES)
def test_attribute_lookup_renders_as_jinja2(
    source: str, value: t.Any, undefined: type[jinja2.Undefined]
) -> None:
    # `d.name` on a dict goes straight to the key in Erlen's environment;
    # what it renders is Jinja2's own environment's output.
    app = Erlen(__name__)
    app.jinja_options = {"undefined": undefined}
    plain = jinja2.Environment(autoescape=True, undefined=undefined)
    expected = plain.from_string(source).render(d=value)
    with app.app_context():
        assert app.jinja_env.from_string(source).render(d=value) == expected


def test_attribute_lookup_strict_undefined_error_as_jinja2() -> None:
    app = Erlen(__name__)
    app.jinja_options = {"undefined": jinja2.StrictUndefined}
    plain = jinja2.Environment(undefined=jinja2.StrictUndefined)
    with pytest.raises(jinja2.UndefinedError) as theirs:
        plain.from_string("{{ d.missing }}").render(d={"a": 1})
    with app.app_context(), pytest.raises(jinja2.UndefinedError) as ours:
        app.jinja_env.from_string("{{ d.missing }}").render(d={"a": 1})
    assert str(ours.value) == str(theirs.value)
