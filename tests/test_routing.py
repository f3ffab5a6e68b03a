"""Tests for erlen.routing: matching, converters, redirects, building.

Where Erlen follows Werkzeug, the tables at the end run the same rules through
``werkzeug.routing`` and check both give the same answer.
"""

from __future__ import annotations

import typing as t
import uuid
from urllib.parse import unquote

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from erlen.exceptions import (
    BadRequest,
    HTTPException,
    MethodNotAllowed,
    NotFound,
    RequestRedirect,
)
from erlen.routing import (
    DEFAULT_CONVERTERS,
    AnyConverter,
    BaseConverter,
    BuildError,
    FloatConverter,
    IntegerConverter,
    Map,
    PathConverter,
    Rule,
    UnicodeConverter,
    UUIDConverter,
    ValidationError,
    WebsocketMismatch,
)


def endpoint_of(url_map: Map, path: str, method: str = "GET", **kw: t.Any) -> t.Any:
    """The matched endpoint and values, or what was raised, for tables."""
    try:
        rule, values = url_map.match(path, method, **kw)
    except RequestRedirect as exc:
        return ("redirect", exc.new_url)
    except HTTPException as exc:
        return type(exc).__name__
    return rule.endpoint, values


def simple_map(*rules: str | tuple[str, str], **kw: t.Any) -> Map:
    """A map whose endpoints are the rule strings unless given."""
    url_map = Map(**kw)
    for item in rules:
        string, endpoint = item if isinstance(item, tuple) else (item, item)
        url_map.add(Rule(string, endpoint=endpoint))
    return url_map


# -- basic matching -----------------------------------------------------------


def test_static_and_dynamic_match() -> None:
    url_map = Map(
        [
            Rule("/", endpoint="index"),
            Rule("/about", endpoint="about"),
            Rule("/user/<int:id>", endpoint="user"),
            Rule("/user/<int:id>/posts/<slug>", endpoint="post"),
        ]
    )
    rule, values = url_map.match("/")
    assert (rule.endpoint, values) == ("index", {})
    assert url_map.match("/about")[0].endpoint == "about"
    assert url_map.match("/user/42") == (url_map.match("/user/42")[0], {"id": 42})
    rule, values = url_map.match("/user/7/posts/hello-world")
    assert rule.endpoint == "post"
    assert values == {"id": 7, "slug": "hello-world"}
    assert type(values["id"]) is int


def test_not_found() -> None:
    url_map = simple_map("/a", "/b/<int:x>")
    for path in ["/c", "/a/b", "/b/x", "/b/", "/b"]:
        with pytest.raises(NotFound):
            url_map.match(path)


def test_empty_map_and_relative_path() -> None:
    with pytest.raises(NotFound):
        Map().match("/")
    # The caller should pass a path with a leading slash; one without is
    # treated as if it had it.
    assert simple_map("/x/<a>").match("x/1")[1] == {"a": "1"}


def test_defaults_are_merged_into_values() -> None:
    url_map = Map([Rule("/page/<int:n>", endpoint="p", defaults={"lang": "en"})])
    assert url_map.match("/page/2")[1] == {"n": 2, "lang": "en"}
    static = Map([Rule("/", endpoint="i", defaults={"page": 1})])
    values = static.match("/")[1]
    assert values == {"page": 1}
    values["page"] = 5  # the rule's defaults are not shared with the caller
    assert static.match("/")[1] == {"page": 1}


def test_url_value_wins_over_a_default_of_the_same_name() -> None:
    # Werkzeug overwrites the URL value with the default; Erlen keeps the URL.
    url_map = Map([Rule("/page/<int:n>", endpoint="p", defaults={"n": 1})])
    assert url_map.match("/page/2")[1] == {"n": 2}


def test_methods() -> None:
    url_map = Map(
        [
            Rule("/item", endpoint="read", methods=["GET"]),
            Rule("/item", endpoint="write", methods=["post", "PUT"]),
            Rule("/any", endpoint="any"),
        ]
    )
    assert url_map.match("/item", "GET")[0].endpoint == "read"
    assert url_map.match("/item", "HEAD")[0].endpoint == "read"
    assert url_map.match("/item", "POST")[0].endpoint == "write"
    assert url_map.match("/item", "PUT")[0].endpoint == "write"
    for method in ["GET", "POST", "DELETE", "PATCH", "BREW"]:
        assert url_map.match("/any", method)[0].endpoint == "any"
    with pytest.raises(MethodNotAllowed) as info:
        url_map.match("/item", "DELETE")
    assert info.value.valid_methods == ["GET", "HEAD", "POST", "PUT"]
    assert ("Allow", "GET, HEAD, POST, PUT") in info.value.get_headers()


def test_method_not_allowed_collects_all_rules_matching_the_path() -> None:
    url_map = Map(
        [
            Rule("/a/b", endpoint="static", methods=["POST"]),
            Rule("/a/<x>", endpoint="dynamic", methods=["PUT"]),
            Rule("/a/<path:p>", endpoint="path", methods=["DELETE"]),
        ]
    )
    with pytest.raises(MethodNotAllowed) as info:
        url_map.match("/a/b", "GET")
    assert info.value.valid_methods == ["DELETE", "POST", "PUT"]
    # A lower-priority rule that allows the method still wins over a 405.
    assert url_map.match("/a/b", "PUT") == (
        next(url_map.iter_rules("dynamic")),
        {"x": "b"},
    )
    assert url_map.match("/a/b", "DELETE")[1] == {"p": "b"}


def test_rule_methods_attribute() -> None:
    assert Rule("/", methods=["get"]).methods == frozenset({"GET", "HEAD"})
    assert Rule("/", methods=["POST"]).methods == frozenset({"POST"})
    assert Rule("/").methods is None
    automatic = Rule("/", methods=["GET"], provide_automatic_options=True)
    assert automatic.methods == frozenset({"GET", "HEAD", "OPTIONS"})
    with pytest.raises(TypeError, match="list of strings"):
        Rule("/", methods="GET")
    with pytest.raises(ValueError, match="methods=None"):
        Rule("/", methods=[])
    with pytest.raises(ValueError, match="not an HTTP method"):
        Rule("/", methods=["GET POST"])


def test_rule_repr_and_attributes() -> None:
    rule = Rule(
        "/user/<int:id>",
        endpoint="user",
        methods=["GET", "OPTIONS"],
        defaults={"tab": "home"},
    )
    assert repr(rule) == "<Rule '/user/<int:id>' (GET, HEAD, OPTIONS) -> user>"
    assert repr(Rule("/x", endpoint="x")) == "<Rule '/x' -> x>"
    assert rule.rule == "/user/<int:id>"
    assert rule.arguments == {"id", "tab"}
    assert rule.map is None
    assert rule.strict_slashes is None
    url_map = Map([rule])
    assert rule.map is url_map
    assert rule.strict_slashes is True
    assert rule.merge_slashes is True
    assert rule.subdomain == ""
    assert rule.websocket is False
    assert repr(url_map) == (
        "Map([<Rule '/user/<int:id>' (GET, HEAD, OPTIONS) -> user>])"
    )


def test_iter_rules_in_insertion_order() -> None:
    rules = [
        Rule("/b", endpoint="b"),
        Rule("/a/<x>", endpoint="a"),
        Rule("/a", endpoint="a"),
        Rule("/<path:p>", endpoint="c"),
    ]
    url_map = Map(rules)
    assert list(url_map.iter_rules()) == rules
    assert list(url_map.iter_rules("a")) == [rules[1], rules[2]]
    assert list(url_map.iter_rules("missing")) == []


def test_is_endpoint_expecting() -> None:
    url_map = Map(
        [
            Rule("/<lang>/", endpoint="index"),
            Rule("/", endpoint="index", defaults={"page": 1}),
            Rule("/about", endpoint="about"),
        ]
    )
    assert url_map.is_endpoint_expecting("index", "lang")
    assert url_map.is_endpoint_expecting("index", "page")
    assert not url_map.is_endpoint_expecting("index", "lang", "page")
    assert not url_map.is_endpoint_expecting("about", "lang")
    assert url_map.is_endpoint_expecting("about")
    assert not url_map.is_endpoint_expecting("missing")


def test_rules_added_after_a_match_are_matched() -> None:
    url_map = simple_map("/a")
    assert url_map.match("/a")[0].endpoint == "/a"
    with pytest.raises(NotFound):
        url_map.match("/b/1")
    url_map.add(Rule("/b/<int:n>", endpoint="b"))
    assert url_map.match("/b/1") == (next(url_map.iter_rules("b")), {"n": 1})


# -- malformed rules -------------------------------------------------------------


@pytest.mark.parametrize(
    ("string", "message"),
    [
        ("user", "must start with a slash; did you mean '/user'"),
        ("/<int:>", "Malformed variable"),
        ("/<a", "Malformed variable"),
        ("/<1a>", "Malformed variable"),
        ("/<int(:a>", "Malformed variable"),
        ("/<a>/<a>", "uses the variable 'a' twice"),
        ("/<a>/<int:a>", "uses the variable 'a' twice"),
    ],
)
def test_malformed_rules(string: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Map().add(Rule(string, endpoint="e"))


def test_duplicate_names_across_subdomain_and_path() -> None:
    with pytest.raises(ValueError, match="uses the variable 'a' twice"):
        Rule("/<a>", subdomain="<a>")


def test_unknown_converter_names_the_fix() -> None:
    with pytest.raises(ValueError) as info:
        Map().add(Rule("/x/<foo:y>", endpoint="e"))
    assert str(info.value).startswith(
        "unknown converter 'foo' in rule '/x/<foo:y>'; register it in"
        " app.url_map.converters first"
    )


@pytest.mark.parametrize(
    "string",
    [
        "/<int(foo=1):x>",
        "/<string(length=0):x>",
        "/<string(minlength=3, maxlength=2):x>",
        "/<int(min=5, max=1):x>",
        "/<any():x>",
        "/<any(a/b):x>",
        "/<any(a b):x>",
        "/<any(a,,b):x>",
        "/<int(min=1, 2):x>",
        "/<int(fixed_digits=-1):x>",
    ],
)
def test_bad_converter_arguments(string: str) -> None:
    with pytest.raises(ValueError, match="invalid arguments for converter"):
        Map().add(Rule(string, endpoint="e"))


def test_failed_add_leaves_the_rule_reusable() -> None:
    rule = Rule("/x/<color:c>", endpoint="e")
    url_map = Map()
    with pytest.raises(ValueError):
        url_map.add(rule)
    assert rule.map is None
    assert list(url_map.iter_rules()) == []
    url_map.converters["color"] = AnyConverter
    with pytest.raises(ValueError):  # any() needs items: still a clear error
        url_map.add(rule)
    url_map.converters["color"] = UnicodeConverter
    url_map.add(rule)
    assert url_map.match("/x/red")[1] == {"c": "red"}


def test_a_rule_belongs_to_one_map() -> None:
    rule = Rule("/", endpoint="e")
    Map([rule])
    with pytest.raises(RuntimeError, match="create a new Rule for each Map"):
        Map([rule])


def test_subdomain_and_host_must_fit_the_map() -> None:
    with pytest.raises(ValueError, match="host_matching=True"):
        Map([Rule("/", host="example.com")])
    with pytest.raises(ValueError, match="set host= instead"):
        Map([Rule("/", subdomain="api")], host_matching=True)
    with pytest.raises(ValueError, match="both subdomain and host"):
        Rule("/", subdomain="a", host="b")


def test_websocket_rules_accept_only_get() -> None:
    with pytest.raises(ValueError, match="websocket opens with GET"):
        Rule("/ws", websocket=True, methods=["POST"])
    websocket = Rule("/ws", websocket=True, methods=["GET"])
    assert websocket.methods == frozenset({"GET", "HEAD"})


# -- priority --------------------------------------------------------------------

PRIORITY_RULES = [
    ("/<path:p>", "path"),
    ("/<a>/<b>", "ab"),
    ("/user/<name>", "user_name"),
    ("/user/me", "me"),
    ("/user/<int:id>", "user_id"),
    ("/<a>/edit", "edit"),
    ("/user/<name>.json", "json"),
    ("/user/x<name>", "x_name"),
    ("/user/<a>-<b>", "dash"),
    ("/files/<path:p>/edit", "file_edit"),
    ("/files/<path:p>", "files"),
    ("/<a>/<b>/<c>", "abc"),
    ("/u/<uuid:u>", "uuid"),
    ("/u/<string(length=3):s>", "three"),
    ("/u/<any(abc, def):s>", "any"),
    ("/f/<float:f>", "float"),
    ("/f/<int:i>", "int"),
    ("/f/<p>", "string"),
    ("/<path:p>/tail", "path_tail"),
    ("/g/<a>.<b>", "a.b"),
    ("/g/<a>.x", "a.x"),
    ("/g/x.<a>", "x.a"),
    ("/h/<a>", "h_a"),
    ("/h/<path:p>", "h_path"),
    ("/h/<a>/<b>/", "h_ab"),
]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/user/me", ("me", {})),  # static beats a converter
        ("/user/12", ("user_id", {"id": 12})),  # int (50) beats string (100)
        ("/user/bob", ("user_name", {"name": "bob"})),
        ("/user/bob.json", ("json", {"name": "bob"})),  # more static text wins
        ("/user/xbob", ("x_name", {"name": "bob"})),
        ("/user/a-b", ("dash", {"a": "a", "b": "b"})),
        ("/user/x-b", ("dash", {"a": "x", "b": "b"})),  # more variables win
        ("/user/xa-b.json", ("json", {"name": "xa-b"})),
        ("/user/edit", ("user_name", {"name": "edit"})),  # static first segment
        ("/x/edit", ("edit", {"a": "x"})),
        ("/x/y", ("ab", {"a": "x", "b": "y"})),
        ("/files/a/b/edit", ("file_edit", {"p": "a/b"})),
        ("/files/a/b", ("files", {"p": "a/b"})),
        ("/a/b/c", ("abc", {"a": "a", "b": "b", "c": "c"})),
        ("/a/b/c/d", ("path", {"p": "a/b/c/d"})),  # path is the last resort
        ("/a", ("path", {"p": "a"})),
        ("/u/abc", ("three", {"s": "abc"})),  # same weight: first added
        ("/u/def", ("three", {"s": "def"})),
        ("/u/abcd", ("ab", {"a": "u", "b": "abcd"})),
        ("/f/1.5", ("float", {"f": 1.5})),
        ("/f/15", ("int", {"i": 15})),
        ("/f/a", ("string", {"p": "a"})),
        ("/q/w/tail", ("path_tail", {"p": "q/w"})),
        ("/q/tail", ("path_tail", {"p": "q"})),  # static text in the tail
        ("/g/a.b", ("a.b", {"a": "a", "b": "b"})),
        ("/g/x.x", ("a.x", {"a": "x"})),
        ("/g/x.a", ("x.a", {"a": "a"})),
        ("/h/a", ("h_a", {"a": "a"})),
        ("/h/a/b/c", ("h_path", {"p": "a/b/c"})),
        ("/h/a/b", ("redirect", "/h/a/b/")),  # strict slash before path
    ],
)
def test_priority(path: str, expected: t.Any) -> None:
    url_map = Map([Rule(s, endpoint=e) for s, e in PRIORITY_RULES])
    assert endpoint_of(url_map, path) == expected


def test_priority_does_not_depend_on_insertion_order() -> None:
    forward = Map([Rule(s, endpoint=e) for s, e in PRIORITY_RULES])
    backward = Map([Rule(s, endpoint=e) for s, e in reversed(PRIORITY_RULES)])
    # Only rules of equal weight (e.g. "/u/abc") fall back to insertion order.
    for path in ["/user/me", "/user/12", "/user/x-b", "/files/a/b", "/a/b/c/d"]:
        assert endpoint_of(forward, path) == endpoint_of(backward, path)


def test_backtracking_past_a_static_segment() -> None:
    url_map = simple_map("/user/me", "/user/<name>/posts")
    assert endpoint_of(url_map, "/user/me/posts") == (
        "/user/<name>/posts",
        {"name": "me"},
    )


# -- converters ------------------------------------------------------------------


def test_default_converters_registry() -> None:
    assert DEFAULT_CONVERTERS == {
        "default": UnicodeConverter,
        "string": UnicodeConverter,
        "any": AnyConverter,
        "path": PathConverter,
        "int": IntegerConverter,
        "float": FloatConverter,
        "uuid": UUIDConverter,
    }
    url_map = Map()
    url_map.converters["x"] = UnicodeConverter
    assert "x" not in DEFAULT_CONVERTERS
    assert "x" not in Map().converters


@pytest.mark.parametrize(
    ("rule", "path", "expected"),
    [
        ("<int:n>", "0", 0),
        ("<int:n>", "42", 42),
        ("<int:n>", "007", None),  # leading zeros: not canonical
        ("<int:n>", "00", None),
        ("<int:n>", "-5", None),
        ("<int:n>", "+5", None),
        ("<int:n>", " 5", None),
        ("<int:n>", "1_000", None),
        ("<int:n>", "\u0663", None),  # ARABIC-INDIC DIGIT THREE
        ("<int:n>", "\u00b2", None),  # SUPERSCRIPT TWO
        ("<int:n>", "", None),
        ("<int(signed=True):n>", "-5", -5),
        ("<int(signed=True):n>", "5", 5),
        ("<int(signed=True):n>", "-0", None),
        ("<int(signed=True):n>", "-05", None),
        ("<int(signed=True):n>", "--5", None),
        ("<int(signed=True):n>", "-", None),
        ("<int(fixed_digits=3):n>", "007", 7),
        ("<int(fixed_digits=3):n>", "123", 123),
        ("<int(fixed_digits=3):n>", "07", None),
        ("<int(fixed_digits=3):n>", "0007", None),
        ("<int(min=1, max=10):n>", "0", None),
        ("<int(min=1, max=10):n>", "1", 1),  # exactly at the limits: match
        ("<int(min=1, max=10):n>", "10", 10),
        ("<int(min=1, max=10):n>", "11", None),  # one over: no match
        ("<int(min=-5, signed=True):n>", "-5", -5),
        ("<int(min=-5, signed=True):n>", "-6", None),
        ("<float:n>", "1.5", 1.5),
        ("<float:n>", "0.5", 0.5),
        ("<float:n>", "01.5", None),
        ("<float:n>", "1", None),
        ("<float:n>", "1.", None),
        ("<float:n>", ".5", None),
        ("<float:n>", "1e5", None),
        ("<float:n>", "-1.5", None),
        ("<float(signed=True):n>", "-1.5", -1.5),
        ("<float(min=0.5, max=2.5):n>", "0.5", 0.5),
        ("<float(min=0.5, max=2.5):n>", "2.5", 2.5),
        ("<float(min=0.5, max=2.5):n>", "2.6", None),
        ("<float(min=0.5, max=2.5):n>", "0.4", None),
        ("<n>", "a b", "a b"),
        ("<n>", "", None),
        ("<string(length=2):n>", "ab", "ab"),
        ("<string(length=2):n>", "a", None),
        ("<string(length=2):n>", "abc", None),
        ("<string(minlength=2, maxlength=3):n>", "a", None),
        ("<string(minlength=2, maxlength=3):n>", "ab", "ab"),
        ("<string(minlength=2, maxlength=3):n>", "abc", "abc"),
        ("<string(minlength=2, maxlength=3):n>", "abcd", None),
        ("<string(maxlength=2):n>", "ab", "ab"),
        ("<string(maxlength=2):n>", "abc", None),
        ("<any(about, help, 'a b'):n>", "about", "about"),
        ("<any(about, help, 'a b'):n>", "a b", "a b"),
        ("<any(about, help, 'a b'):n>", "abou", None),
        ("<any(about, help, 'a b'):n>", "aboutx", None),
        ("<any(1, 2):n>", "2", "2"),
        ("<any(a.b):n>", "axb", None),  # items are literal, not regexes
        ("<path:n>", "a/b/c", "a/b/c"),
        ("<path:n>", "a", "a"),
    ],
)
def test_converter_matching(rule: str, path: str, expected: t.Any) -> None:
    url_map = Map([Rule(f"/x/{rule}", endpoint="e")])
    if expected is None:
        with pytest.raises(NotFound):
            url_map.match(f"/x/{path}")
    else:
        values = url_map.match(f"/x/{path}")[1]
        assert values == {"n": expected}
        assert type(values["n"]) is type(expected)


def test_uuid_converter() -> None:
    url_map = Map([Rule("/u/<uuid:u>", endpoint="u")])
    value = uuid.UUID("a0000000-0000-0000-0000-00000000000b")
    assert url_map.match("/u/a0000000-0000-0000-0000-00000000000b")[1] == {"u": value}
    assert url_map.match("/u/A0000000-0000-0000-0000-00000000000B")[1] == {"u": value}
    for bad in [
        "a0000000000000000000000000000000b",
        "{a0000000-0000-0000-0000-00000000000b}",
        "g0000000-0000-0000-0000-00000000000b",
        "a0000000-0000-0000-0000-00000000000",
    ]:
        with pytest.raises(NotFound):
            url_map.match(f"/u/{bad}")
    assert url_map.build("u", {"u": value}) == (
        "",
        "/u/a0000000-0000-0000-0000-00000000000b",
    )


@pytest.mark.parametrize("digits", [4300, 4301, 10_000, 100_000])
def test_huge_numbers_do_not_crash(digits: int) -> None:
    url_map = Map(
        [
            Rule("/i/<int:n>", endpoint="int"),
            Rule("/s/<int(signed=True):n>", endpoint="signed"),
            Rule("/m/<int(max=10):n>", endpoint="max"),
            Rule("/f/<float:n>", endpoint="float"),
        ]
    )
    big = "1" * digits
    if digits <= 4300:
        assert url_map.match(f"/i/{big}")[1] == {"n": int(big)}
    else:
        with pytest.raises(NotFound):
            url_map.match(f"/i/{big}")
        with pytest.raises(NotFound):
            url_map.match(f"/s/-{big}")
    with pytest.raises(NotFound):
        url_map.match(f"/m/{big}")
    # A float that overflows to infinity is not a match.
    with pytest.raises(NotFound):
        url_map.match(f"/f/{big}{big}.5")


def test_path_converter_trailing_slash_and_emptiness() -> None:
    url_map = simple_map("/x/<path:p>")
    assert url_map.match("/x/a/b/")[1] == {"p": "a/b/"}
    with pytest.raises(NotFound):
        url_map.match("/x/")
    with pytest.raises(NotFound):
        url_map.match("/x")
    url_map = simple_map("/x/<path:p>/<int:n>", "/y/<path:p>/z/<a>")
    assert url_map.match("/x/a/b/5")[1] == {"p": "a/b", "n": 5}
    assert url_map.match("/y/a/b/z/c")[1] == {"p": "a/b", "a": "c"}


def test_converters_in_one_segment() -> None:
    url_map = simple_map("/img/<name>.<any(png, jpg):ext>", "/v<int:major>.<int:minor>")
    assert url_map.match("/img/cat.png")[1] == {"name": "cat", "ext": "png"}
    assert url_map.match("/img/a.b.jpg")[1] == {"name": "a.b", "ext": "jpg"}
    assert url_map.match("/v1.20")[1] == {"major": 1, "minor": 20}
    with pytest.raises(NotFound):
        url_map.match("/img/cat.gif")
    with pytest.raises(NotFound):
        url_map.match("/v1.02")  # int rules still apply inside a segment


def test_validation_error_tries_the_next_rule() -> None:
    # Werkzeug's documented behaviour (Werkzeug 3.1 itself returns 404 here).
    url_map = Map(
        [
            Rule("/n/<int(max=5):small>", endpoint="small"),
            Rule("/n/<int:big>", endpoint="big"),
            Rule("/n/<word>", endpoint="word"),
        ]
    )
    assert endpoint_of(url_map, "/n/3") == ("small", {"small": 3})
    assert endpoint_of(url_map, "/n/30") == ("big", {"big": 30})
    assert endpoint_of(url_map, "/n/030") == ("word", {"word": "030"})


class ListConverter(BaseConverter):
    """Comma-separated items, none empty."""

    def to_python(self, value: str) -> list[str]:
        items = value.split(",")
        if "" in items:
            raise ValidationError()
        return items

    def to_url(self, value: t.Any) -> str:
        return ",".join(super(ListConverter, self).to_url(v) for v in value)


class YearConverter(BaseConverter):
    regex = r"\d{4}"
    weight = 10

    def __init__(self, map: Map, min: int = 0) -> None:
        super().__init__(map)
        self.min = min

    def to_python(self, value: str) -> int:
        year = int(value)
        if year < self.min:
            raise ValidationError()
        return year

    def to_url(self, value: t.Any) -> str:
        return f"{int(value):04d}"


def test_custom_converters() -> None:
    url_map = Map()
    url_map.converters["list"] = ListConverter
    url_map.converters["year"] = YearConverter
    url_map.add(Rule("/l/<list:items>", endpoint="list"))
    url_map.add(Rule("/l/<other>", endpoint="fallback"))
    url_map.add(Rule("/y/<year(min=1900):y>", endpoint="year"))
    url_map.add(Rule("/y/<int:n>", endpoint="int"))
    assert url_map.match("/l/a,b") == (
        next(url_map.iter_rules("list")),
        {"items": ["a", "b"]},
    )
    # ValidationError: the next rule gets a chance.
    assert endpoint_of(url_map, "/l/a,,b") == ("fallback", {"other": "a,,b"})
    assert url_map.build("list", {"items": ["a b", "c/d"]}) == ("", "/l/a%20b,c/d")
    # Weight 10 beats int's 50; the regex and min are honoured.
    assert endpoint_of(url_map, "/y/2024") == ("year", {"y": 2024})
    assert endpoint_of(url_map, "/y/1800") == ("int", {"n": 1800})
    assert endpoint_of(url_map, "/y/20245") == ("int", {"n": 20245})
    assert url_map.build("year", {"y": 987}) == ("", "/y/0987")


def test_converter_regex_with_slash_spans_segments() -> None:
    class DateConverter(BaseConverter):
        regex = r"\d{4}/\d{2}/\d{2}"

    class SegmentConverter(BaseConverter):
        regex = r"[a-z]+"

    assert DateConverter.part_isolating is False
    assert SegmentConverter.part_isolating is True
    assert PathConverter.part_isolating is False
    url_map = Map(converters={"date": DateConverter})
    url_map.add(Rule("/blog/<date:d>/<slug>", endpoint="post"))
    assert url_map.match("/blog/2024/01/31/hello")[1] == {
        "d": "2024/01/31",
        "slug": "hello",
    }


def test_converters_map_is_per_map() -> None:
    first = Map()
    first.converters["list"] = ListConverter
    assert "list" not in Map().converters
    assert Map.default_converters is DEFAULT_CONVERTERS


# -- strict and merged slashes ---------------------------------------------------


def test_strict_slashes() -> None:
    url_map = simple_map("/dir/", "/file")
    assert endpoint_of(url_map, "/dir/") == ("/dir/", {})
    assert endpoint_of(url_map, "/dir") == ("redirect", "/dir/")
    assert endpoint_of(url_map, "/file") == ("/file", {})
    assert endpoint_of(url_map, "/file/") == "NotFound"


def test_strict_slash_redirect_needs_a_rule_for_the_method() -> None:
    url_map = Map([Rule("/dir/", endpoint="d", methods=["POST"])])
    assert endpoint_of(url_map, "/dir", "GET") == "NotFound"
    assert endpoint_of(url_map, "/dir", "POST") == ("redirect", "/dir/")


def test_strict_slash_redirect_is_percent_encoded() -> None:
    url_map = simple_map("/<a>/")
    assert endpoint_of(url_map, "/caf\u00e9 \\x") == (
        "redirect",
        "/caf%C3%A9%20%5Cx/",
    )
    assert endpoint_of(url_map, "/100%") == ("redirect", "/100%25/")


def test_strict_slashes_off() -> None:
    url_map = Map(
        [
            Rule("/dir/", endpoint="dir", strict_slashes=False),
            Rule("/file", endpoint="file", strict_slashes=False),
            Rule("/p/<path:p>/", endpoint="p", strict_slashes=False),
        ]
    )
    assert endpoint_of(url_map, "/dir") == ("dir", {})
    assert endpoint_of(url_map, "/dir/") == ("dir", {})
    assert endpoint_of(url_map, "/file") == ("file", {})
    assert endpoint_of(url_map, "/file/") == ("file", {})
    assert endpoint_of(url_map, "/p/a/b") == ("p", {"p": "a/b"})
    assert endpoint_of(url_map, "/p/a/b/") == ("p", {"p": "a/b"})
    map_wide = simple_map("/dir/", "/file", strict_slashes=False)
    assert endpoint_of(map_wide, "/dir") == ("/dir/", {})
    assert endpoint_of(map_wide, "/file/") == ("/file", {})


def test_merge_slashes() -> None:
    url_map = simple_map("/a/b", "/a/b/c/", "/x/<path:p>", "/y/<path:p>/z")
    assert endpoint_of(url_map, "/a//b") == ("redirect", "/a/b")
    assert endpoint_of(url_map, "/a///b") == ("redirect", "/a/b")
    assert endpoint_of(url_map, "///a//b") == ("redirect", "/a/b")
    assert endpoint_of(url_map, "/a//b//c") == ("redirect", "/a/b/c/")
    assert endpoint_of(url_map, "/a/b//c//") == ("redirect", "/a/b/c/")
    # A path value keeps its slashes: no redirect.
    assert endpoint_of(url_map, "/x/a//b") == ("/x/<path:p>", {"p": "a//b"})
    assert endpoint_of(url_map, "/x//a") == ("redirect", "/x/a")
    assert endpoint_of(url_map, "/y/b//z") == ("/y/<path:p>/z", {"p": "b/"})
    assert endpoint_of(url_map, "/nothing//here") == "NotFound"


def test_merge_slashes_off() -> None:
    url_map = Map(
        [
            Rule("/a/b", endpoint="off", merge_slashes=False),
            Rule("/c/d", endpoint="on"),
        ]
    )
    assert endpoint_of(url_map, "/a//b") == "NotFound"
    assert endpoint_of(url_map, "/c//d") == ("redirect", "/c/d")
    map_wide = simple_map("/a/b", merge_slashes=False)
    assert endpoint_of(map_wide, "/a//b") == "NotFound"


def test_slashes_in_the_rule_are_merged() -> None:
    url_map = simple_map("/a//b")
    assert endpoint_of(url_map, "/a/b") == ("/a//b", {})
    assert endpoint_of(url_map, "/a//b") == ("redirect", "/a/b")
    assert url_map.build("/a//b") == ("", "/a/b")
    kept = Map([Rule("/a//b", endpoint="e", merge_slashes=False)])
    assert endpoint_of(kept, "/a//b") == ("e", {})
    assert endpoint_of(kept, "/a/b") == "NotFound"


@pytest.mark.parametrize(
    "path",
    [
        "//evil.com/x",
        "//evil.com/x/",
        "///evil.com/x",
        "//evil.com",
        "//evil.com/",
        "/\\evil.com/x",
        "//",
        "///",
    ],
)
def test_redirects_never_leave_the_site(path: str) -> None:
    url_map = simple_map(
        "/", "/<a>/", "/<a>/<b>/", "/evil.com/<b>", "/p/<path:p>/", "/<a>/<b>/<c>"
    )
    try:
        url_map.match(path)
    except RequestRedirect as exc:
        location = exc.new_url
        assert location.startswith("/")
        assert not location.startswith("//")
        assert "\\" not in location
    except HTTPException:
        pass


def test_open_redirect_example() -> None:
    url_map = simple_map("/<a>/<b>/")
    assert endpoint_of(url_map, "//evil.com/x") == ("redirect", "/evil.com/x/")
    assert endpoint_of(simple_map("/<a>/<b>"), "//evil.com/x") == (
        "redirect",
        "/evil.com/x",
    )
    assert endpoint_of(simple_map("/"), "//") == ("redirect", "/")


# -- redirect_to and defaults redirects ------------------------------------------


def test_redirect_to_string() -> None:
    url_map = Map(
        [
            Rule("/old/<int:id>", redirect_to="/new/<int:id>"),
            Rule("/old2/<id>", redirect_to="/new/<id>"),
            Rule("/rel/<id>", redirect_to="new/<id>"),
            Rule("/abs/<id>", redirect_to="https://example.org/<id>"),
            Rule("/p/<path:p>", redirect_to="/<p>"),
        ]
    )
    assert endpoint_of(url_map, "/old/5") == ("redirect", "/new/5")
    assert endpoint_of(url_map, "/old2/a b") == ("redirect", "/new/a%20b")
    assert endpoint_of(url_map, "/rel/x") == ("redirect", "/new/x")
    assert endpoint_of(url_map, "/abs/x") == ("redirect", "https://example.org/x")
    assert endpoint_of(url_map, "/p/a//evil.com") == ("redirect", "/a//evil.com")


def test_redirect_to_value_cannot_make_a_protocol_relative_url() -> None:
    class AnythingConverter(BaseConverter):
        regex = ".*"
        part_isolating = False

    url_map = Map(converters={"anything": AnythingConverter})
    url_map.add(Rule("/go/<anything:target>", redirect_to="/<target>"))
    assert endpoint_of(url_map, "/go//evil.com") == ("redirect", "/evil.com")
    assert endpoint_of(url_map, "/go/\\evil.com") == ("redirect", "/%5Cevil.com")


def test_redirect_to_template_checks_its_variables() -> None:
    with pytest.raises(ValueError, match=r"uses \['zz'\] which the rule"):
        Map([Rule("/old/<id>", redirect_to="/new/<id>/<int:zz>")])


def test_redirect_to_callable() -> None:
    calls: list[tuple[Map, dict[str, t.Any]]] = []

    def target(url_map: Map, **values: t.Any) -> str:
        calls.append((url_map, values))
        return f"/users/{values['id'] + 1}"

    url_map = Map([Rule("/u/<int:id>", redirect_to=target, defaults={"x": 1})])
    assert endpoint_of(url_map, "/u/41") == ("redirect", "/users/42")
    assert calls == [(url_map, {"id": 41, "x": 1})]


def test_redirect_to_respects_methods() -> None:
    url_map = Map([Rule("/old", redirect_to="/new", methods=["GET"])])
    assert endpoint_of(url_map, "/old") == ("redirect", "/new")
    assert endpoint_of(url_map, "/old", "POST") == "MethodNotAllowed"


def test_redirect_defaults() -> None:
    url_map = Map(
        [
            Rule("/users/", endpoint="users", defaults={"page": 1}),
            Rule("/users/page/<int:page>", endpoint="users"),
        ]
    )
    assert endpoint_of(url_map, "/users/") == ("users", {"page": 1})
    assert endpoint_of(url_map, "/users/page/1") == ("redirect", "/users/")
    assert endpoint_of(url_map, "/users/page/2") == ("users", {"page": 2})
    off = Map(
        [
            Rule("/users/", endpoint="users", defaults={"page": 1}),
            Rule("/users/page/<int:page>", endpoint="users"),
        ],
        redirect_defaults=False,
    )
    assert endpoint_of(off, "/users/page/1") == ("users", {"page": 1})


# -- websockets ------------------------------------------------------------------


def test_websocket_matching() -> None:
    url_map = Map(
        [
            Rule("/ws", endpoint="ws", websocket=True),
            Rule("/http", endpoint="http"),
            Rule("/both", endpoint="both_ws", websocket=True),
            Rule("/both", endpoint="both_http"),
        ]
    )
    assert endpoint_of(url_map, "/ws", websocket=True) == ("ws", {})
    assert endpoint_of(url_map, "/http") == ("http", {})
    assert endpoint_of(url_map, "/both") == ("both_http", {})
    assert endpoint_of(url_map, "/both", websocket=True) == ("both_ws", {})

    with pytest.raises(WebsocketMismatch) as info:
        url_map.match("/ws")
    assert isinstance(info.value, BadRequest)
    assert info.value.code == 400
    assert "websocket endpoint" in str(info.value.description)
    with pytest.raises(WebsocketMismatch) as info:
        url_map.match("/http", websocket=True)
    assert "not websockets" in str(info.value.description)
    with pytest.raises(NotFound):
        url_map.match("/nothing", websocket=True)


def test_method_mismatch_wins_over_websocket_mismatch() -> None:
    url_map = Map(
        [
            Rule("/x", endpoint="post", methods=["POST"]),
            Rule("/x", endpoint="ws", websocket=True),
        ]
    )
    with pytest.raises(MethodNotAllowed) as info:
        url_map.match("/x", "GET")
    assert info.value.valid_methods == ["POST"]


def test_websocket_rule_and_slash_redirect() -> None:
    url_map = Map([Rule("/ws/", endpoint="ws", websocket=True)])
    assert endpoint_of(url_map, "/ws", websocket=True) == ("redirect", "/ws/")
    assert endpoint_of(url_map, "/ws") == "NotFound"


# -- subdomains and hosts ----------------------------------------------------------


def test_subdomain_matching() -> None:
    url_map = Map(
        [
            Rule("/", endpoint="root"),
            Rule("/", subdomain="api", endpoint="api"),
            Rule("/", subdomain="<user>", endpoint="user"),
            Rule("/x/<int:n>", subdomain="<user>.<team>", endpoint="team"),
        ]
    )
    assert endpoint_of(url_map, "/") == ("root", {})
    assert endpoint_of(url_map, "/", subdomain=None) == ("root", {})
    assert endpoint_of(url_map, "/", subdomain="") == ("root", {})
    assert endpoint_of(url_map, "/", subdomain="api") == ("api", {})
    assert endpoint_of(url_map, "/", subdomain="API") == ("api", {})
    assert endpoint_of(url_map, "/", subdomain="bob") == ("user", {"user": "bob"})
    assert endpoint_of(url_map, "/x/1", subdomain="a.b") == (
        "team",
        {"user": "a", "team": "b", "n": 1},
    )
    assert endpoint_of(url_map, "/x/1") == "NotFound"
    assert endpoint_of(url_map, "/x/1", subdomain="bob") == "NotFound"


def test_default_subdomain() -> None:
    url_map = Map(
        [Rule("/", endpoint="www"), Rule("/", subdomain="", endpoint="bare")],
        default_subdomain="www",
    )
    assert next(url_map.iter_rules("www")).subdomain == "www"
    assert endpoint_of(url_map, "/") == ("www", {})
    assert endpoint_of(url_map, "/", subdomain="www") == ("www", {})
    assert endpoint_of(url_map, "/", subdomain="") == ("bare", {})
    assert url_map.build("www") == ("www", "/")
    assert url_map.build("bare") == ("", "/")


def test_host_matching() -> None:
    url_map = Map(
        [
            Rule("/", endpoint="root"),
            Rule("/", host="api.example.com", endpoint="api"),
            Rule("/", host="<user>.example.com", endpoint="user"),
            Rule("/s", host="example.com:8080", endpoint="port"),
        ],
        host_matching=True,
    )
    assert endpoint_of(url_map, "/") == ("root", {})
    assert endpoint_of(url_map, "/", host="api.example.com") == ("api", {})
    assert endpoint_of(url_map, "/", host="Bob.Example.COM") == (
        "user",
        {"user": "bob"},
    )
    assert endpoint_of(url_map, "/", host="example.org") == "NotFound"
    assert endpoint_of(url_map, "/s", host="example.com:8080") == ("port", {})
    assert endpoint_of(url_map, "/s", host="example.com") == "NotFound"
    assert url_map.build("user", {"user": "bob"}) == ("bob.example.com", "/")
    assert url_map.build("api") == ("api.example.com", "/")
    assert url_map.build("root") == ("", "/")


# -- building --------------------------------------------------------------------


def build_map() -> Map:
    return Map(
        [
            Rule("/", endpoint="index"),
            Rule("/user/<int:id>", endpoint="user"),
            Rule("/user_profile/<name>", endpoint="user_profile"),
            Rule("/files/<path:p>", endpoint="files"),
            Rule("/caf\u00e9/<a>", endpoint="cafe"),
            Rule("/i/<int(fixed_digits=4):n>", endpoint="fixed"),
            Rule("/f/<float:n>", endpoint="float"),
            Rule("/any/<any(a, 'b c'):n>", endpoint="any"),
            Rule("/s/<a>", endpoint="s", methods=["POST"]),
            Rule("/s/<a>/<b>", endpoint="s", methods=["GET"]),
            Rule("/d/", endpoint="d", defaults={"page": 1}),
            Rule("/d/<int:page>", endpoint="d"),
            Rule("/sub", endpoint="sub", subdomain="<user>"),
        ]
    )


@pytest.mark.parametrize(
    ("endpoint", "values", "method", "expected"),
    [
        ("index", None, None, ("", "/")),
        ("index", {}, None, ("", "/")),
        ("user", {"id": 42}, None, ("", "/user/42")),
        ("user", {"id": "42"}, None, ("", "/user/42")),
        ("files", {"p": "a/b c/%"}, None, ("", "/files/a/b%20c/%25")),
        ("cafe", {"a": "\u00fc"}, None, ("", "/caf%C3%A9/%C3%BC")),
        ("fixed", {"n": 5}, None, ("", "/i/0005")),
        ("float", {"n": 2}, None, ("", "/f/2.0")),
        ("any", {"n": "b c"}, None, ("", "/any/b%20c")),
        (
            "user",
            {"id": 1, "q": "a b&c=d#e", "z": "+"},
            None,
            ("", "/user/1?q=a+b%26c%3Dd%23e&z=%2B"),
        ),
        ("user", {"id": 1, "tag": ["x", "y"]}, None, ("", "/user/1?tag=x&tag=y")),
        ("user", {"id": 1, "tag": ("x", None, "y")}, None, ("", "/user/1?tag=x&tag=y")),
        ("user", {"id": 1, "gone": None}, None, ("", "/user/1")),
        ("user", {"id": 1, "gone": [None]}, None, ("", "/user/1")),
        ("user", {"id": 1, "b": 2, "a": 1}, None, ("", "/user/1?b=2&a=1")),
        ("user", {"id": 1, "x": "/:@!$'()*,;?"}, None, ("", "/user/1?x=/:@!$'()*,;?")),
        ("s", {"a": 1}, None, ("", "/s/1")),  # POST-only rule, no GET one fits
        ("s", {"a": 1, "b": 2}, None, ("", "/s/1/2")),  # GET rules first
        ("s", {"a": 1, "b": 2}, "POST", ("", "/s/1?b=2")),
        ("s", {"a": 1, "b": 2}, "GET", ("", "/s/1/2")),
        ("d", {}, None, ("", "/d/")),
        ("d", {"page": 1}, None, ("", "/d/")),  # equal to the default
        ("d", {"page": 2}, None, ("", "/d/2")),  # conflicts: next rule
        ("d", {"page": 1, "x": 1}, None, ("", "/d/?x=1")),
        ("sub", {"user": "bob", "q": 1}, None, ("bob", "/sub?q=1")),
    ],
)
def test_build(
    endpoint: str,
    values: dict[str, t.Any] | None,
    method: str | None,
    expected: tuple[str, str],
) -> None:
    assert build_map().build(endpoint, values, method) == expected


def test_build_without_unknown_values() -> None:
    url_map = build_map()
    assert url_map.build("user", {"id": 1, "q": 2}, append_unknown=False) == (
        "",
        "/user/1",
    )


def test_build_with_a_multidict() -> None:
    url_map = build_map()
    values = MultiDict([("id", 3), ("q", 1), ("q", 2)])
    assert url_map.build("user", values) == ("", "/user/3?q=1&q=2")


def test_build_does_not_change_the_values() -> None:
    values = {"id": 3, "gone": None, "q": [1, 2]}
    build_map().build("user", values)
    assert values == {"id": 3, "gone": None, "q": [1, 2]}


def test_build_any_rejects_other_values() -> None:
    with pytest.raises(ValueError, match="'zzz' is not one of 'a', 'b c'"):
        build_map().build("any", {"n": "zzz"})


def test_build_roundtrip() -> None:
    url_map = build_map()
    cases: list[tuple[str, dict[str, t.Any]]] = [
        ("user", {"id": 7}),
        ("files", {"p": "a/b c/d%"}),
        ("cafe", {"a": "x y"}),
        ("fixed", {"n": 12}),
        ("float", {"n": 1.25}),
    ]
    for endpoint, values in cases:
        _, path = url_map.build(endpoint, values)
        rule, matched = url_map.match(unquote(path))
        assert rule.endpoint == endpoint
        assert matched == values
    # Like Werkzeug, the default converter leaves "/" unencoded, so such a
    # value does not come back (use <path:...> for values with slashes).
    _, path = url_map.build("cafe", {"a": "x/y"})
    assert path == "/caf%C3%A9/x/y"


def test_build_error_suggests_a_close_endpoint() -> None:
    with pytest.raises(BuildError) as info:
        build_map().build("user_profil")
    assert str(info.value) == (
        "Could not build url for endpoint 'user_profil'."
        " Did you mean 'user_profile' instead?"
    )
    assert info.value.endpoint == "user_profil"
    assert info.value.suggested == "user_profile"
    assert isinstance(info.value, LookupError)


def test_build_error_for_an_unknown_endpoint() -> None:
    with pytest.raises(BuildError) as info:
        build_map().build("zzzzzz", {"a": 1})
    message = str(info.value)
    assert message.startswith(
        "Could not build url for endpoint 'zzzzzz' with values ['a']."
    )
    assert "No rule has this endpoint" in message


def test_build_error_names_missing_values() -> None:
    with pytest.raises(BuildError) as info:
        build_map().build("user", {"name": "x", "gone": None})
    assert str(info.value) == (
        "Could not build url for endpoint 'user' with values ['name']."
        " Did you forget to specify values ['id']?"
    )
    assert info.value.values == {"name": "x"}


def test_build_error_names_the_methods() -> None:
    url_map = Map([Rule("/user/<int:id>", endpoint="user", methods=["GET"])])
    with pytest.raises(BuildError) as info:
        url_map.build("user", {"id": 1}, method="POST")
    assert str(info.value) == (
        "Could not build url for endpoint 'user' ('POST') with values ['id']."
        " Did you mean to use methods ['GET', 'HEAD']?"
    )
    assert info.value.method == "POST"


def test_build_error_names_a_conflicting_default() -> None:
    url_map = Map([Rule("/b", endpoint="b", defaults={"k": 1})])
    with pytest.raises(BuildError) as info:
        url_map.build("b", {"k": 2})
    assert "fixes 'k' to 1 but 2 was given" in str(info.value)


def test_build_error_direct_construction() -> None:
    error = BuildError("x", {}, None)
    assert str(error).startswith("Could not build url for endpoint 'x'.")
    error = BuildError("x", {}, "GET", "y")
    assert str(error) == (
        "Could not build url for endpoint 'x' ('GET'). Did you mean 'y' instead?"
    )


def test_build_after_add_sees_new_rules() -> None:
    url_map = simple_map(("/a", "e"))
    assert url_map.build("e", {"n": 1}) == ("", "/a?n=1")
    url_map.add(Rule("/b/<int:n>", endpoint="e"))
    # The rule that uses more of the values wins, as in Werkzeug.
    assert url_map.build("e", {"n": 1}) == ("", "/b/1")
    assert url_map.build("e", {}) == ("", "/a")
    url_map.add(Rule("/c/<int:n>", endpoint="f"))
    assert url_map.build("f", {"n": 1}) == ("", "/c/1")


# -- scale -----------------------------------------------------------------------


def test_ten_thousand_rules() -> None:
    url_map = Map([Rule(f"/r{i}/<int:id>", endpoint=f"r{i}") for i in range(10_000)])
    rule, values = url_map.match("/r9999/42")
    assert rule.endpoint == "r9999"
    assert values == {"id": 42}
    assert url_map.match("/r0/1")[0].endpoint == "r0"
    with pytest.raises(NotFound):
        url_map.match("/r10000/1")
    assert url_map.build("r9999", {"id": 5}) == ("", "/r9999/5")


# -- properties ------------------------------------------------------------------


ALL_KINDS = [
    "/",
    "/s/<a>",
    "/i/<int:n>",
    "/is/<int(signed=True, min=-3, max=3):n>",
    "/fd/<int(fixed_digits=2):n>",
    "/f/<float(signed=True):n>",
    "/u/<uuid:u>",
    "/a/<any(x, y):a>",
    "/l/<string(length=2):s>",
    "/p/<path:p>/",
    "/m/<a>.<b>",
    "/ws",
]


@given(st.text(alphabet="/-.0123456789abcxyz%\\\u00e9\u0663 ", max_size=40))
def test_match_raises_only_routing_errors(path: str) -> None:
    url_map = Map([Rule(s, endpoint=s, websocket=s == "/ws") for s in ALL_KINDS])
    try:
        url_map.match("/" + path)
    except RequestRedirect as exc:
        assert exc.new_url.startswith("/")
        assert not exc.new_url.startswith("//")
    except (NotFound, MethodNotAllowed, BadRequest):
        pass


@given(st.integers(min_value=0, max_value=10**50))
def test_int_roundtrip(number: int) -> None:
    url_map = Map([Rule("/i/<int:n>", endpoint="i")])
    _, path = url_map.build("i", {"n": number})
    assert url_map.match(path)[1] == {"n": number}


@given(st.integers(min_value=-(10**20), max_value=10**20))
def test_signed_int_roundtrip(number: int) -> None:
    url_map = Map([Rule("/i/<int(signed=True):n>", endpoint="i")])
    _, path = url_map.build("i", {"n": number})
    assert url_map.match(path)[1] == {"n": number}


# -- the same answers as Werkzeug ------------------------------------------------

WERKZEUG_MATCH_CASES: list[tuple[list[tuple[str, dict[str, t.Any]]], str, str]] = [
    ([("/x/", {})], "/x", "GET"),
    ([("/x/", {"methods": ["POST"]})], "/x", "GET"),
    ([("/x", {})], "/x/", "GET"),
    ([("/x/", {"strict_slashes": False})], "/x", "GET"),
    ([("/x", {"strict_slashes": False})], "/x/", "GET"),
    ([("/x", {"methods": ["POST"], "strict_slashes": False})], "/x/", "GET"),
    ([("/x/", {}), ("/<a>", {})], "/x", "GET"),
    ([("/<a>/", {}), ("/x", {"methods": ["POST"]})], "/x", "GET"),
    ([("/x", {"methods": ["POST"]}), ("/x/", {})], "/x", "GET"),
    ([("/a/b", {})], "/a//b", "GET"),
    ([("/a/b/", {})], "/a//b", "GET"),
    ([("/a/", {})], "/a//", "GET"),
    ([("/<a>/<b>/", {})], "//evil.com/x", "GET"),
    ([("/<path:p>", {})], "/a//b", "GET"),
    ([("/<path:p>", {})], "/a/b/", "GET"),
    ([("/<path:p>/", {})], "/a/b", "GET"),
    ([("/<path:p>/x", {})], "/a/b/x", "GET"),
    ([("/a/<path:p>", {})], "/a//b", "GET"),
    ([("/a/<path:p>/x", {})], "/a/b//x", "GET"),
    ([("/a//b", {})], "/a/b", "GET"),
    ([("/a//b", {})], "/a//b", "GET"),
    ([("/a/b", {"merge_slashes": False})], "/a//b", "GET"),
    ([("/a/b", {"methods": ["POST"]})], "/a/b", "GET"),
    (
        [("/a/b", {"methods": ["POST"]}), ("/a/<x>", {"methods": ["PUT"]})],
        "/a/b",
        "GET",
    ),
    ([("/a/b", {"websocket": True})], "/a/b", "GET"),
    ([("/a/b", {"websocket": True}), ("/a/b", {"methods": ["POST"]})], "/a/b", "GET"),
    ([("/page/", {"defaults": {"n": 1}}), ("/page/<int:n>", {})], "/page/1", "GET"),
    ([("/page/", {"defaults": {"n": 1}}), ("/page/<int:n>", {})], "/page/2", "GET"),
    ([("/page/<int:n>", {"defaults": {"k": 1}})], "/page/2", "GET"),
    ([("/<a>/tail", {}), ("/<path:p>/tail", {})], "/x/tail", "GET"),
    ([("/<path:p>", {}), ("/<a>", {})], "/x", "GET"),
    ([("/<path:p>", {}), ("/<a>", {})], "/x/", "GET"),
    ([("/<a>/", {}), ("/<path:p>", {})], "/x", "GET"),
    ([("/x/<path:p>", {})], "/x/", "GET"),
    ([("/x/<path:p>/", {})], "/x/a", "GET"),
    ([("/caf\u00e9/<a>", {})], "/caf\u00e9/\u00fc b", "GET"),
    ([("/<a>/", {})], "/caf\u00e9 \\x", "GET"),
    ([("/u/<any(a, b):u>", {})], "/u/c", "GET"),
    ([("/x/<int(fixed_digits=3):a>", {})], "/x/007", "GET"),
    ([("/x/<int:a>", {})], "/x/" + "1" * 10_000, "GET"),
    ([("/x/<float(signed=True):a>", {})], "/x/-0.5", "GET"),
    ([("/x/<uuid:a>", {})], "/x/{12345678-1234-1234-1234-123456789012}", "GET"),
    ([("/x", {"methods": ["GET"]})], "/x", "HEAD"),
    ([("/x", {})], "/x", "BREW"),
]


def werkzeug_outcome(
    rules: list[tuple[str, dict[str, t.Any]]], path: str, method: str
) -> t.Any:
    from werkzeug import routing as wz
    from werkzeug.exceptions import HTTPException as WerkzeugHTTPException

    url_map = wz.Map(
        [wz.Rule(s, endpoint=str(i), **kw) for i, (s, kw) in enumerate(rules)]
    )
    try:
        endpoint, values = url_map.bind("localhost").match(path, method)
    except wz.RequestRedirect as exc:
        return ("redirect", exc.new_url.removeprefix("http://localhost"))
    except WerkzeugHTTPException as exc:
        return type(exc).__name__, sorted(getattr(exc, "valid_methods", None) or [])
    return endpoint, values


def erlen_outcome(
    rules: list[tuple[str, dict[str, t.Any]]], path: str, method: str
) -> t.Any:
    url_map = Map([Rule(s, endpoint=str(i), **kw) for i, (s, kw) in enumerate(rules)])
    try:
        rule, values = url_map.match(path, method)
    except RequestRedirect as exc:
        return ("redirect", exc.new_url)
    except HTTPException as exc:
        return type(exc).__name__, sorted(getattr(exc, "valid_methods", None) or [])
    return rule.endpoint, values


@pytest.mark.parametrize(("rules", "path", "method"), WERKZEUG_MATCH_CASES)
def test_match_like_werkzeug(
    rules: list[tuple[str, dict[str, t.Any]]], path: str, method: str
) -> None:
    assert erlen_outcome(rules, path, method) == werkzeug_outcome(rules, path, method)


@pytest.mark.parametrize(
    "path",
    [
        "/user/me",
        "/user/bob",
        "/user/12",
        "/user/bob.json",
        "/user/xbob",
        "/user/x-b",
        "/user/xa-b.json",
        "/x/edit",
        "/files/a/b/edit",
        "/files/a/b",
        "/a/b/c/d",
        "/u/abc",
        "/f/1.5",
        "/q/w/tail",
        "/g/x.x",
        "/h/a/b",
        "/h/a/b/",
        "/h/a/b/c",
    ],
)
def test_priority_like_werkzeug(path: str) -> None:
    rules: list[tuple[str, dict[str, t.Any]]] = [(s, {}) for s, _ in PRIORITY_RULES]
    assert erlen_outcome(rules, path, "GET") == werkzeug_outcome(rules, path, "GET")


@pytest.mark.parametrize(
    ("endpoint", "values", "method"),
    [
        ("user", {"id": 42}, None),
        ("files", {"p": "x y/z?#%&=+\u00e9~!$'()*,;:@"}, None),
        ("cafe", {"a": "x y/z?#%&=+\u00e9~!$'()*,;:@"}, None),
        ("fixed", {"n": "12"}, None),
        ("float", {"n": 1.5}, None),
        ("user", {"id": 1, "q": "a b/c?d&e=f#g", "l": [1, 2], "n": None}, None),
        ("user", {"id": 1, "z": "\u00e9~!$'()*,;:@+", "b": b"\xc3\xa9"}, None),
        ("user", {"id": 1, "t": True, "f": 1.5}, None),
        ("s", {"a": 1}, None),
        ("s", {"a": 1, "b": 2}, None),
        ("s", {"a": 1, "b": 2}, "POST"),
        ("d", {}, None),
        ("d", {"page": 1}, None),
        ("d", {"page": 2}, None),
        ("d", {"page": 1, "x": 1}, None),
        ("sub", {"user": "bob", "q": 1}, None),
    ],
)
def test_build_like_werkzeug(
    endpoint: str, values: dict[str, t.Any], method: str | None
) -> None:
    from werkzeug import routing as wz

    url_map = build_map()
    rules = [
        wz.Rule(
            r.rule,
            endpoint=r.endpoint,
            methods=r.methods,
            defaults=r.defaults,
            subdomain=r.subdomain or None,
        )
        for r in url_map.iter_rules()
    ]
    adapter = wz.Map(rules).bind("example.com")
    expected = adapter.build(endpoint, values, method=method)
    domain, path = url_map.build(endpoint, values, method)
    assert (f"http://{domain}.example.com{path}" if domain else path) == expected


#: Patterns sharing prefixes, so that a path meets several rules.
_PATTERNS = ["/a", "/a/", "/a/<int:x>", "/a/<x>", "/b/<path:p>", "/<x>/c", "/a/<x>/c"]
_METHODS = ["GET", "POST", "PUT", "DELETE"]


@given(
    rules=st.lists(
        st.tuples(
            st.sampled_from(_PATTERNS),
            st.lists(st.sampled_from(_METHODS), min_size=1, max_size=3, unique=True),
            st.booleans(),
        ),
        min_size=1,
        max_size=5,
    ),
    path=st.sampled_from(
        ["/a", "/a/", "/a/1", "/a/z", "/b/q/r", "/z/c", "/a/z/c", "/q"]
    ),
    method=st.sampled_from([*_METHODS, "PATCH"]),
)
@example(rules=[("/b/<path:p>", ["GET"], True)], path="/b/q/r", method="POST")
@example(rules=[("/a", ["GET"], False)], path="/a/", method="POST")
@settings(max_examples=300)
def test_failed_match_diagnosis_like_werkzeug(
    rules: list[tuple[str, list[str], bool]], path: str, method: str
) -> None:
    # 404, or 405 with every method the rules at the path allow, as
    # Werkzeug tells them (the walk notes near misses as it goes).
    spec = [
        (pattern, {"methods": methods, "strict_slashes": strict})
        for pattern, methods, strict in rules
    ]
    assert erlen_outcome(spec, path, method) == werkzeug_outcome(spec, path, method)
