"""Rules, converters, the compiled matcher and URL building.

A :class:`Map` holds :class:`Rule` objects.  :meth:`Map.match` turns a request
path into ``(rule, values)`` and :meth:`Map.build` turns an endpoint and values
back into a URL.  The observable behaviour follows ``werkzeug.routing`` (rule
syntax, converters, priorities, strict and merged slashes, subdomain and host
matching), so ported code only changes its import; the internals are Erlen's
own.

Matching is precompiled: rules without variables sit in a dict keyed by their
path, the others in a segment trie whose nodes map a static segment to a child
node and try dynamic segments in priority order.  The cost of a match depends
on the depth of the path, not on the number of rules.

Priority, as in Werkzeug: at every segment a static segment beats a segment
with a variable; among dynamic segments the one with more static text wins,
then the one with more variables, then the lighter converter (``int`` weighs
50, ``string`` 100, ``path`` 200), then the rule added first.  A converter that
spans slashes (``path``) takes the rest of the path as one piece, so ``/<a>``
is tried before ``/<path:p>`` and ``/<path:p>`` is the last resort.
"""

from __future__ import annotations

import difflib
import math
import re
import typing as t
import uuid
from ast import literal_eval
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from urllib.parse import quote, quote_plus, urlencode

from .exceptions import (
    BadRequest,
    HTTPException,
    MethodNotAllowed,
    NotFound,
    RequestRedirect,
)

__all__ = [
    "AnyConverter",
    "BaseConverter",
    "BuildError",
    "DEFAULT_CONVERTERS",
    "FloatConverter",
    "IntegerConverter",
    "Map",
    "PathConverter",
    "Rule",
    "UUIDConverter",
    "UnicodeConverter",
    "ValidationError",
    "WebsocketMismatch",
]

# Characters ``to_url`` leaves as they are: RFC 3986 sub-delims, ":" and "@"
# (allowed in a path segment) and "/".  The same set as Werkzeug, so built URLs
# are byte-for-byte those of a Flask app.
_PATH_SAFE = "!$&'()*+,/:;=@"
# Characters left as they are in query string keys and values ("&", "=", "+"
# and "#" must be encoded there).
_QUERY_SAFE = "!$'()*,/:;?@"
# Python refuses ``int()`` on longer digit strings (CVE-2020-10735 limit); a
# longer URL value is simply not a match.
_MAX_INT_DIGITS = 4300

_MULTI_SLASH_RE = re.compile(r"/{2,}")
_VAR_RE = re.compile(
    r"""
    <
    (?:
        (?P<converter>[A-Za-z_][A-Za-z0-9_]*)
        (?:\((?P<args>.*?)\))?
        :
    )?
    (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    >
    """,
    re.VERBOSE,
)
_ARG_RE = re.compile(
    r"""
    \s*
    (?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*)?
    (?P<value>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s,"'=()]+)
    \s*
    (?:,|$)
    """,
    re.VERBOSE,
)
_HTTP_METHOD_RE = re.compile(r"[A-Z][A-Z0-9_-]*")
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


class ValidationError(ValueError):
    """Raised by a converter's :meth:`~BaseConverter.to_python` when a URL
    value does not fit.  The rule then does not match and matching goes on
    with the next rule, ending in a 404 if none matches.
    """


class WebsocketMismatch(BadRequest):
    """*400 Bad Request* raised by :meth:`Map.match` when the path only
    matches websocket rules and the request is plain HTTP, or the other way
    round.
    """

    description = (
        "This URL is served over a different protocol: a websocket endpoint was"
        " requested over plain HTTP, or an HTTP endpoint over a websocket."
    )


class BuildError(LookupError):
    """Raised by :meth:`Map.build` (and so by ``url_for``) when no rule can
    build a URL for the endpoint with the given values and method.

    The message says why and what to change: the close endpoint names when
    the endpoint is unknown, the missing values, a value that conflicts with a
    rule default, or the methods the endpoint accepts.

    :param endpoint: the endpoint that was asked for.
    :param values: the values that were given.
    :param method: the method that was asked for, or ``None``.
    :param suggested: a known endpoint with a close name, if any.
    :param rules: the rules registered for ``endpoint``; used to explain why
        none of them fits.
    """

    def __init__(
        self,
        endpoint: str,
        values: Mapping[str, t.Any],
        method: str | None,
        suggested: str | None = None,
        *,
        rules: Iterable[Rule] = (),
    ) -> None:
        super().__init__(endpoint, values, method)
        #: The endpoint that could not be built.
        self.endpoint = endpoint
        #: The values that were given.
        self.values = dict(values)
        #: The method that was asked for, or ``None``.
        self.method = method
        #: A known endpoint with a close name, or ``None``.
        self.suggested = suggested
        #: The rules registered for :attr:`endpoint`.
        self.rules = tuple(rules)

    def __str__(self) -> str:
        message = f"Could not build url for endpoint {self.endpoint!r}"
        if self.method is not None:
            message += f" ({self.method!r})"
        if self.values:
            message += f" with values {sorted(self.values)!r}"
        message += "."
        if not self.rules:
            if self.suggested is not None:
                return f"{message} Did you mean {self.suggested!r} instead?"
            return (
                f"{message} No rule has this endpoint; check the name (a"
                " blueprint's endpoints are prefixed with its name, e.g."
                " 'admin.index')."
            )
        hints: list[str] = []
        rules = self.rules
        if self.method is not None:
            allowed = [
                r for r in rules if r.methods is None or self.method in r.methods
            ]
            if not allowed:
                methods = sorted({m for r in rules for m in r.methods or ()})
                hints.append(f"Did you mean to use methods {methods!r}?")
            else:
                rules = tuple(allowed)
        best = min(rules, key=lambda r: len(_missing_values(r, self.values)))
        missing = _missing_values(best, self.values)
        if missing:
            hints.append(f"Did you forget to specify values {missing!r}?")
        for key, default in (best.defaults or {}).items():
            if key in self.values and self.values[key] != default:
                hints.append(
                    f"The rule {best.rule!r} fixes {key!r} to {default!r} but"
                    f" {self.values[key]!r} was given; pass {default!r} or"
                    " leave it out."
                )
        if not hints:
            hints.append("No rule for this endpoint accepts these values.")
        return f"{message} {' '.join(hints)}"


def _missing_values(rule: Rule, values: Mapping[str, t.Any]) -> list[str]:
    defaults = rule.defaults or {}
    return sorted(a for a in rule.arguments if a not in values and a not in defaults)


# --------------------------------------------------------------------------
# Converters
# --------------------------------------------------------------------------


class BaseConverter:
    """Base class of URL converters: the ``int`` in ``<int:id>``.

    A converter gives the regular expression a URL value must match, turns the
    matched text into a Python value (:meth:`to_python`) and a value back into
    URL text (:meth:`to_url`).  Register a subclass in ``app.url_map.converters``
    under a name before adding rules that use it.

    :param map: the :class:`Map` the rule is added to.
    :param args: positional arguments from the rule, as in ``<name(a, b):x>``.
    :param kwargs: keyword arguments from the rule, as in ``<name(k=1):x>``.
    """

    #: The regular expression a value must match (without anchors).
    regex: str = "[^/]+"
    #: Ordering among dynamic segments: lighter converters are tried first.
    weight: int = 100
    #: ``False`` when a value may contain ``/`` (the rest of the path is then
    #: matched as one piece).  A subclass that sets :attr:`regex` to one that
    #: contains ``/`` gets ``False`` unless it says otherwise.
    part_isolating: bool = True

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        if "regex" in cls.__dict__ and "part_isolating" not in cls.__dict__:
            cls.part_isolating = "/" not in cls.regex

    def __init__(self, map: Map, *args: t.Any, **kwargs: t.Any) -> None:
        self.map = map

    def to_python(self, value: str) -> t.Any:
        """Convert the matched URL text to the value passed to the view.

        :param value: the text that matched :attr:`regex`.
        :raises ValidationError: when the text is not acceptable; the rule
            then does not match.
        """
        return value

    def to_url(self, value: t.Any) -> str:
        """Convert a value to percent-encoded URL text.

        :param value: the value given to ``url_for``.
        """
        return quote(str(value), safe=_PATH_SAFE)


def _int_arg(name: str, value: t.Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, not {value!r}")
    return value


class UnicodeConverter(BaseConverter):
    """The default converter (``<name>`` or ``<string:name>``): one path
    segment, without slashes.

    :param map: the :class:`Map`.
    :param minlength: the minimum length in characters.
    :param maxlength: the maximum length in characters, ``None`` for no limit.
    :param length: the exact length; overrides the other two.
    """

    def __init__(
        self,
        map: Map,
        minlength: int = 1,
        maxlength: int | None = None,
        length: int | None = None,
    ) -> None:
        super().__init__(map)
        if length is not None:
            self.regex = f"[^/]{{{_int_arg('length', length, 1)}}}"
            return
        _int_arg("minlength", minlength, 0)
        if maxlength is not None and _int_arg("maxlength", maxlength, 1) < minlength:
            raise ValueError(
                f"maxlength ({maxlength}) is less than minlength ({minlength})"
            )
        if minlength != 1 or maxlength is not None:
            upper = "" if maxlength is None else str(maxlength)
            self.regex = f"[^/]{{{minlength},{upper}}}"


class PathConverter(BaseConverter):
    """``<path:name>``: like the default converter but also matches slashes,
    for file paths.  It takes the rest of the path, so it is tried after the
    single-segment converters.

    :param map: the :class:`Map`.
    """

    regex = "[^/].*?"
    weight = 200
    part_isolating = False


class AnyConverter(BaseConverter):
    """``<any(about, help):page>``: one of the listed items.

    :param map: the :class:`Map`.
    :param items: the accepted values.
    """

    def __init__(self, map: Map, *items: t.Any) -> None:
        super().__init__(map)
        if not items:
            raise ValueError("any() needs at least one item, as in any(a, b)")
        self.items = tuple(str(item) for item in items)
        for item in self.items:
            if not item or "/" in item:
                raise ValueError(
                    f"any() items must be non-empty and without '/', not {item!r}"
                )
        self.regex = "(?:" + "|".join(re.escape(item) for item in self.items) + ")"

    def to_url(self, value: t.Any) -> str:
        """Return ``value`` (percent-encoded) if it is one of the items.

        :param value: one of the items.
        :raises ValueError: when ``value`` is not one of the items.
        """
        text = str(value)
        if text not in self.items:
            choices = ", ".join(repr(item) for item in self.items)
            raise ValueError(f"{value!r} is not one of {choices}")
        return quote(text, safe=_PATH_SAFE)


class NumberConverter(BaseConverter):
    """Shared behaviour of :class:`IntegerConverter` and :class:`FloatConverter`.

    :param map: the :class:`Map`.
    :param fixed_digits: the exact number of integer digits, zero-padded
        (``int`` only); ``0`` for any.
    :param min: the smallest accepted value.
    :param max: the largest accepted value.
    :param signed: accept negative values.
    """

    weight = 50
    #: The regex used when ``signed=True``.
    signed_regex: str = ""

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: float | None = None,
        max: float | None = None,
        signed: bool = False,
    ) -> None:
        super().__init__(map)
        self.fixed_digits = _int_arg("fixed_digits", fixed_digits, 0)
        if min is not None and max is not None and min > max:
            raise ValueError(f"min ({min}) is greater than max ({max})")
        self.min = min
        self.max = max
        self._bounded = min is not None or max is not None
        self.signed = signed
        if signed:
            self.regex = self.signed_regex

    def _check_range(self, number: float) -> None:
        if (self.min is not None and number < self.min) or (
            self.max is not None and number > self.max
        ):
            raise ValidationError()


class IntegerConverter(NumberConverter):
    """``<int:name>``: a non-negative integer (negative too with
    ``signed=True``).

    Only canonical spellings match: ``/7`` but not ``/07`` (unless
    ``fixed_digits`` asks for zero padding), and ASCII digits only.

    :param map: the :class:`Map`.
    :param fixed_digits: the exact number of digits, zero-padded when built.
    :param min: the smallest accepted value.
    :param max: the largest accepted value.
    :param signed: accept a leading ``-``.
    """

    regex = r"[0-9]+"
    signed_regex = r"-?[0-9]+"

    def to_python(self, value: str) -> int:
        """Convert to ``int``.

        :param value: the matched digits.
        :raises ValidationError: for leading zeros, the wrong number of digits,
            a value outside ``min``/``max`` or absurdly many digits.
        """
        # PERF: this checks the whole format itself, so the matcher skips the
        # regex call for the built-in int converter (~0.1 us of ~1 us).
        digits = value
        if value[:1] == "-":
            if not self.signed:
                raise ValidationError()
            digits = value[1:]
        if not (digits.isdigit() and digits.isascii()) or len(digits) > _MAX_INT_DIGITS:
            raise ValidationError()
        if self.fixed_digits:
            if len(digits) != self.fixed_digits:
                raise ValidationError()
        elif digits[0] == "0" and len(value) > 1:
            # "07" and "-0" are not canonical; one URL per resource.
            raise ValidationError()
        number = int(value)
        if self._bounded:
            self._check_range(number)
        return number

    def to_url(self, value: t.Any) -> str:
        """Format an integer, zero-padded to ``fixed_digits``.

        :param value: an integer (or something ``int()`` accepts).
        """
        number = int(value)
        if self.fixed_digits:
            return f"{number:0{self.fixed_digits + (number < 0)}d}"
        return str(number)


class FloatConverter(NumberConverter):
    """``<float:name>``: a decimal number with a point, as in ``1.5``
    (negative too with ``signed=True``).  No leading zeros (``01.5``), no
    exponent, and the value must be finite.

    :param map: the :class:`Map`.
    :param min: the smallest accepted value.
    :param max: the largest accepted value.
    :param signed: accept a leading ``-``.
    """

    regex = r"[0-9]+\.[0-9]+"
    signed_regex = r"-?[0-9]+\.[0-9]+"

    def __init__(
        self,
        map: Map,
        min: float | None = None,
        max: float | None = None,
        signed: bool = False,
    ) -> None:
        super().__init__(map, min=min, max=max, signed=signed)

    def to_python(self, value: str) -> float:
        """Convert to ``float``.

        :param value: the matched text.
        :raises ValidationError: for leading zeros, an infinite value or a
            value outside ``min``/``max``.
        """
        digits = value[1:] if value[:1] == "-" else value
        if digits[:1] == "0" and digits[1:2] != ".":
            raise ValidationError()
        try:
            number = float(value)
        except ValueError:
            raise ValidationError() from None
        if not math.isfinite(number):
            raise ValidationError()
        self._check_range(number)
        return number

    def to_url(self, value: t.Any) -> str:
        """Format a float.

        :param value: a number.
        """
        return str(float(value))


class UUIDConverter(BaseConverter):
    """``<uuid:name>``: a UUID in its canonical hex form, either case;
    converted to :class:`uuid.UUID`.

    :param map: the :class:`Map`.
    """

    regex = (
        r"[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-"
        r"[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}"
    )

    def to_python(self, value: str) -> uuid.UUID:
        """Convert to :class:`uuid.UUID`.

        :param value: the matched text.
        """
        return uuid.UUID(value)

    def to_url(self, value: t.Any) -> str:
        """Format a UUID in lowercase hex.

        :param value: a :class:`uuid.UUID` or its string form.
        """
        return quote(str(value), safe=_PATH_SAFE)


#: The converters every :class:`Map` starts with, by name.
DEFAULT_CONVERTERS: dict[str, type[BaseConverter]] = {
    "default": UnicodeConverter,
    "string": UnicodeConverter,
    "any": AnyConverter,
    "path": PathConverter,
    "int": IntegerConverter,
    "float": FloatConverter,
    "uuid": UUIDConverter,
}


# --------------------------------------------------------------------------
# Rule parsing
# --------------------------------------------------------------------------


class _Var(t.NamedTuple):
    name: str
    converter: str
    args: str | None


def _tokenize(template: str, what: str) -> list[str | _Var]:
    """Split ``template`` into static text and variables."""
    tokens: list[str | _Var] = []
    pos = 0
    for m in _VAR_RE.finditer(template):
        static = template[pos : m.start()]
        if "<" in static:
            _malformed(template, what, static[static.index("<") :])
        if static:
            tokens.append(static)
        tokens.append(_Var(m["name"], m["converter"] or "default", m["args"]))
        pos = m.end()
    rest = template[pos:]
    if "<" in rest:
        _malformed(template, what, rest[rest.index("<") :])
    if rest:
        tokens.append(rest)
    return tokens


def _malformed(template: str, what: str, near: str) -> t.NoReturn:
    raise ValueError(
        f"Malformed variable in {what} {template!r} near {near[:20]!r}. Write"
        " variables as '<name>', '<converter:name>' or"
        " '<converter(arguments):name>', with names that are Python identifiers."
    )


def _parse_args(text: str) -> tuple[tuple[t.Any, ...], dict[str, t.Any]]:
    """Parse converter arguments such as ``a, 'b c', min=1, signed=True``."""
    args: list[t.Any] = []
    kwargs: dict[str, t.Any] = {}
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _ARG_RE.match(text, pos)
        if m is None or m.end() == pos:
            raise ValueError(
                f"cannot parse converter arguments {text!r} at {text[pos:]!r};"
                " use comma-separated Python literals or bare words, with"
                " quotes around values that contain spaces or commas"
            )
        raw = m["value"]
        value: t.Any
        if raw[0] in "\"'":
            try:
                value = literal_eval(raw)
            except (SyntaxError, ValueError):
                raise ValueError(f"cannot parse the string {raw}") from None
        elif raw in ("True", "False", "None"):
            value = {"True": True, "False": False, "None": None}[raw]
        else:
            value = raw
            for convert in (int, float):
                try:
                    value = convert(raw)
                    break
                except ValueError:
                    pass
        if m["name"] is None:
            if kwargs:
                raise ValueError(
                    f"positional converter argument {raw!r} follows a keyword"
                    f" argument in {text!r}"
                )
            args.append(value)
        else:
            kwargs[m["name"]] = value
        pos = m.end()
    return tuple(args), kwargs


def _merge_slashes(text: str) -> str:
    return _MULTI_SLASH_RE.sub("/", text)


def _location(path: str) -> str:
    """A decoded path as a safe, percent-encoded relative ``Location``."""
    location = quote(path, safe=_PATH_SAFE)
    if location.startswith("//"):
        # A Location of "//host/..." would send the browser to another site.
        location = "/" + location.lstrip("/")
    return location


# A piece of a parsed rule: static text, or a variable name and its converter.
_Piece = str | tuple[str, BaseConverter]


class _SegmentSpec(t.NamedTuple):
    """What the matcher needs to know about one dynamic segment (or tail)."""

    key: tuple[t.Any, ...]
    weight: tuple[t.Any, ...]
    pieces: tuple[_Piece, ...]


def _weight(pieces: Sequence[_Piece]) -> tuple[t.Any, ...]:
    # Compared ascending: more static pieces first, then longer static text,
    # then more variables, then lighter converters (Werkzeug's ordering).
    statics = [-len(p) for p in pieces if isinstance(p, str)]
    weights = [p[1].weight for p in pieces if not isinstance(p, str)]
    return (-len(statics), tuple(statics), -len(weights), tuple(weights))


def _spec(
    pieces: list[_Piece], specs: Mapping[str, tuple[str, str | None]], tail: bool
) -> _SegmentSpec:
    key: list[t.Any] = ["tail" if tail else "segment"]
    for piece in pieces:
        if isinstance(piece, str):
            key.append(piece)
        else:
            conv = piece[1]
            key.append((type(conv), conv.regex, specs[piece[0]]))
    return _SegmentSpec(tuple(key), _weight(pieces), tuple(pieces))


def _join_static(pieces: Iterable[_Piece]) -> list[_Piece]:
    out: list[_Piece] = []
    for piece in pieces:
        if isinstance(piece, str) and out and isinstance(out[-1], str):
            out[-1] = out[-1] + piece
        elif piece != "":
            out.append(piece)
    return out


# --------------------------------------------------------------------------
# Rule
# --------------------------------------------------------------------------


class Rule:
    """One URL pattern and what it leads to.

    ``Rule("/user/<int:id>", endpoint="user")`` matches ``/user/42`` and gives
    ``{"id": 42}``.  Variables are written ``<name>``, ``<converter:name>`` or
    ``<converter(arguments):name>``; see :data:`DEFAULT_CONVERTERS`.

    :param string: the pattern; must start with ``/``.
    :param endpoint: the name the rule is matched to and built from.
    :param methods: the HTTP methods it accepts (``None``: any).  ``HEAD`` is
        added when ``GET`` is present, and ``OPTIONS`` when
        ``provide_automatic_options`` is true.
    :param defaults: values passed to the view that are not in the URL.
        Another rule of the same endpoint that has the same values in its URL
        redirects here (``/page/1`` to ``/page/`` for
        ``defaults={"page": 1}``).
    :param subdomain: the subdomain pattern (may contain variables), when the
        map does not use host matching.  Defaults to the map's
        ``default_subdomain``.
    :param host: the host pattern (may contain variables), when the map uses
        host matching.
    :param strict_slashes: redirect ``/x`` to ``/x/`` for a rule ending in a
        slash, and do not match ``/x/`` for one that does not.  ``None``: the
        map's setting.
    :param merge_slashes: redirect a path with repeated slashes to the merged
        path.  ``None``: the map's setting.
    :param redirect_to: redirect every match: a URL pattern such as
        ``"/new/<id>"`` filled with the matched values, or a callable
        ``redirect_to(map, **values)`` returning the URL.
    :param websocket: match only websocket requests.
    :param provide_automatic_options: the app answers ``OPTIONS`` itself; the
        rule then accepts ``OPTIONS``.
    """

    #: Set by the app for routes registered with ``stream_body=True``: under
    #: ASGI the body is not received before the view, which reads it with
    #: ``async for chunk in request.stream``.
    stream_body = False

    def __init__(
        self,
        string: str,
        *,
        endpoint: str | None = None,
        methods: Iterable[str] | None = None,
        defaults: Mapping[str, t.Any] | None = None,
        subdomain: str | None = None,
        host: str | None = None,
        strict_slashes: bool | None = None,
        merge_slashes: bool | None = None,
        redirect_to: str | Callable[..., str] | None = None,
        websocket: bool = False,
        provide_automatic_options: bool | None = None,
    ) -> None:
        if not isinstance(string, str):
            raise TypeError(f"A URL rule must be a string, not {string!r}.")
        if not string.startswith("/"):
            raise ValueError(
                f"URL rule {string!r} must start with a slash; did you mean"
                f" '/{string}'?"
            )
        #: The pattern as given.
        self.rule = string
        #: The endpoint name.
        self.endpoint = endpoint
        #: Values for the view that are not in the URL.
        self.defaults: dict[str, t.Any] | None = (
            dict(defaults) if defaults is not None else None
        )
        #: The subdomain pattern; the map's default once added.
        self.subdomain = subdomain
        #: The host pattern (host matching only).
        self.host = host
        #: Strict slashes; the map's setting once added if ``None``.
        self.strict_slashes = strict_slashes
        #: Merge slashes; the map's setting once added if ``None``.
        self.merge_slashes = merge_slashes
        #: Where every match redirects, if set.
        self.redirect_to = redirect_to
        #: Whether this is a websocket rule.
        self.websocket = bool(websocket)
        #: Whether the app answers ``OPTIONS`` for this rule.
        self.provide_automatic_options = provide_automatic_options
        #: The :class:`Map` the rule was added to.
        self.map: Map | None = None

        #: The uppercase methods the rule accepts, ``None`` for any.
        self.methods: frozenset[str] | None = self._methods(methods)
        if websocket and self.methods is not None:
            extra = self.methods - {"GET", "HEAD", "OPTIONS"}
            if extra:
                raise ValueError(
                    f"Websocket rule {string!r} cannot accept {sorted(extra)}: a"
                    " websocket opens with GET, so use only GET (HEAD and"
                    " OPTIONS are allowed)."
                )

        self._path_tokens = _tokenize(string, "URL rule")
        self._domain_tokens: list[str | _Var] = []
        if subdomain is not None and host is not None:
            raise ValueError(
                f"Rule {string!r} sets both subdomain and host; use subdomain"
                " without host matching, host with host_matching=True."
            )
        if subdomain or host:
            self._domain_tokens = _tokenize(
                subdomain or host or "", "subdomain" if subdomain else "host"
            )
        names = [
            tok.name
            for tok in (*self._domain_tokens, *self._path_tokens)
            if isinstance(tok, _Var)
        ]
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise ValueError(
                    f"URL rule {string!r} uses the variable {name!r} twice; give"
                    " each variable its own name."
                )
            seen.add(name)
        #: The variable names, domain first, in order.
        self._names: tuple[str, ...] = tuple(names)
        #: Every name the rule provides: its variables and its defaults.
        self.arguments: set[str] = set(names) | set(self.defaults or ())

        # Filled in by _bind when the rule is added to a map.
        self._converters: dict[str, BaseConverter] = {}
        self._domain: str | _SegmentSpec = ""
        self._segments: list[str | _SegmentSpec] = []
        self._tail: _SegmentSpec | None = None
        self._static_path: str | None = None
        # URL building: (static text, variable, converter) steps, then the
        # text after the last variable.
        self._path_ops: tuple[tuple[str, str, BaseConverter], ...] = ()
        self._path_end = ""
        self._domain_ops: tuple[tuple[str, str, BaseConverter], ...] = ()
        self._domain_end = ""
        # Defaults of variables that are in the URL (rare, but allowed).
        self._url_defaults: dict[str, t.Any] = {}
        self._required: tuple[str, ...] = ()
        self._redirect_tokens: list[str | _Var] | None = None
        # Set by the map's compiler: rules of the same endpoint before this
        # one in build order whose defaults this rule's URL can spell (a
        # match redirects to them).
        self._default_providers: tuple[Rule, ...] = ()
        # PERF: one flag on the hot path instead of two checks.
        self._special = redirect_to is not None

    def _methods(self, methods: Iterable[str] | None) -> frozenset[str] | None:
        if methods is None:
            return None
        if isinstance(methods, str):
            raise TypeError(
                f"methods must be a list of strings such as [{methods!r}], not"
                f" the string {methods!r}."
            )
        result = {str(m).upper() for m in methods}
        for method in result:
            if not _HTTP_METHOD_RE.fullmatch(method):
                raise ValueError(f"{method!r} is not an HTTP method name.")
        if not result:
            raise ValueError(
                f"Rule {self.rule!r} accepts no methods; pass methods=None to"
                " accept every method."
            )
        if "GET" in result:
            result.add("HEAD")
        if self.provide_automatic_options:
            result.add("OPTIONS")
        return frozenset(result)

    def __str__(self) -> str:
        return self.rule

    def __repr__(self) -> str:
        methods = ""
        if self.methods is not None:
            methods = f" ({', '.join(sorted(self.methods))})"
        return f"<{type(self).__name__} {self.rule!r}{methods} -> {self.endpoint}>"

    # -- binding -----------------------------------------------------------

    def _bind(self, map: Map) -> None:
        """Resolve converters and map defaults and precompute what matching
        and building need.  Nothing on the rule changes if this raises."""
        if self.map is not None:
            raise RuntimeError(
                f"{self!r} is already added to {self.map!r}; create a new Rule"
                " for each Map."
            )
        strict = (
            map.strict_slashes if self.strict_slashes is None else self.strict_slashes
        )
        merge = map.merge_slashes if self.merge_slashes is None else self.merge_slashes
        subdomain = self.subdomain
        domain_tokens = self._domain_tokens
        if map.host_matching:
            if subdomain is not None:
                raise ValueError(
                    f"Rule {self.rule!r} sets subdomain={subdomain!r} but the"
                    " map uses host matching; set host= instead."
                )
        elif self.host is not None:
            raise ValueError(
                f"Rule {self.rule!r} sets host={self.host!r} but the map does not"
                " use host matching; create it with host_matching=True or use"
                " subdomain= instead."
            )
        elif subdomain is None:
            subdomain = map.default_subdomain
            domain_tokens = [subdomain]

        converters: dict[str, BaseConverter] = {}
        specs: dict[str, tuple[str, str | None]] = {}
        for tok in (*domain_tokens, *self._path_tokens):
            if isinstance(tok, _Var):
                converters[tok.name] = self._make_converter(map, tok)
                specs[tok.name] = (tok.converter, tok.args)

        def resolve(tok: str | _Var, *, in_domain: bool) -> _Piece:
            if isinstance(tok, _Var):
                return (tok.name, converters[tok.name])
            if in_domain:
                return tok.lower()
            return _merge_slashes(tok) if merge else tok

        domain = _join_static(resolve(tok, in_domain=True) for tok in domain_tokens)
        path = _join_static(resolve(tok, in_domain=False) for tok in self._path_tokens)

        # The domain is matched as one piece.
        domain_spec: str | _SegmentSpec = ""
        if len(domain) == 1 and isinstance(domain[0], str):
            domain_spec = domain[0]
        elif domain:
            domain_spec = _spec(domain, specs, tail=False)

        # Split the path into segments; the first segment with a converter
        # that may span slashes starts the tail, matched as one piece.
        segments: list[list[_Piece]] = [[]]
        for piece in path:
            if isinstance(piece, str):
                first, *rest = piece.split("/")
                if first:
                    segments[-1].append(first)
                segments.extend([p] if p else [] for p in rest)
            else:
                segments[-1].append(piece)
        del segments[0]  # the empty text before the leading slash
        segment_specs: list[str | _SegmentSpec] = []
        tail_spec: _SegmentSpec | None = None
        for index, segment in enumerate(segments):
            if any(not isinstance(p, str) and not p[1].part_isolating for p in segment):
                tail: list[_Piece] = []
                for seg in segments[index:]:
                    if tail:
                        tail.append("/")
                    tail.extend(seg)
                tail_spec = _spec(_join_static(tail), specs, tail=True)
                break
            if all(isinstance(p, str) for p in segment):
                segment_specs.append("".join(t.cast(list[str], segment)))
            else:
                segment_specs.append(_spec(segment, specs, tail=False))

        redirect_tokens = None
        if isinstance(self.redirect_to, str):
            redirect_tokens = _tokenize(self.redirect_to, "redirect_to")
            unknown = [
                tok.name
                for tok in redirect_tokens
                if isinstance(tok, _Var) and tok.name not in self.arguments
            ]
            if unknown:
                raise ValueError(
                    f"redirect_to {self.redirect_to!r} of rule {self.rule!r} uses"
                    f" {unknown} which the rule does not provide; use only"
                    f" {sorted(self.arguments)}."
                )

        # Nothing below raises.
        self.strict_slashes = strict
        self.merge_slashes = merge
        self.subdomain = subdomain
        self._converters = converters
        self._domain = domain_spec
        self._segments = segment_specs
        self._tail = tail_spec
        if tail_spec is None and all(isinstance(s, str) for s in segment_specs):
            self._static_path = "/" + "/".join(t.cast(list[str], segment_specs))
        self._domain_ops, self._domain_end = _build_ops(domain, quoted=False)
        self._path_ops, self._path_end = _build_ops(path, quoted=True)
        defaults = self.defaults or {}
        self._url_defaults = {k: v for k, v in defaults.items() if k in self._names}
        self._required = tuple(n for n in self._names if n not in defaults)
        self._redirect_tokens = redirect_tokens
        self.map = map

    def _make_converter(self, map: Map, var: _Var) -> BaseConverter:
        cls = map.converters.get(var.converter)
        if cls is None:
            raise ValueError(
                f"unknown converter {var.converter!r} in rule {self.rule!r};"
                " register it in app.url_map.converters first (before adding"
                f" rules that use it), e.g. app.url_map.converters"
                f"[{var.converter!r}] = MyConverter."
            )
        try:
            args, kwargs = _parse_args(var.args) if var.args else ((), {})
            return cls(map, *args, **kwargs)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"invalid arguments for converter {var.converter!r} in rule"
                f" {self.rule!r}: {exc}"
            ) from exc

    # -- building ----------------------------------------------------------

    def _suitable(self, values: Mapping[str, t.Any]) -> bool:
        for name in self._required:
            if name not in values:
                return False
        defaults = self.defaults
        if defaults:
            for key, value in defaults.items():
                if key in values and values[key] != value:
                    return False
        return True

    def _build(
        self, values: Mapping[str, t.Any], append_unknown: bool
    ) -> tuple[str, str]:
        if self._url_defaults:
            values = {**self._url_defaults, **values}
        # PERF: plain concatenation beats a list and join for these few parts.
        path = ""
        for static, name, conv in self._path_ops:
            path += static
            path += conv.to_url(values[name])
        path += self._path_end
        domain = ""
        for static, name, conv in self._domain_ops:
            domain += static
            domain += conv.to_url(values[name])
        domain += self._domain_end
        # PERF: the subset test is one C call; most URLs have no query.
        if append_unknown and not values.keys() <= self.arguments:
            arguments = self.arguments
            query = _urlencode((k, v) for k, v in values.items() if k not in arguments)
            if query:
                path = f"{path}?{query}"
        return domain, path


def _build_ops(
    pieces: list[_Piece], quoted: bool
) -> tuple[tuple[tuple[str, str, BaseConverter], ...], str]:
    ops: list[tuple[str, str, BaseConverter]] = []
    static = ""
    for piece in pieces:
        if isinstance(piece, str):
            static += quote(piece, safe=_PATH_SAFE) if quoted else piece
        else:
            ops.append((static, piece[0], piece[1]))
            static = ""
    return tuple(ops), static


def _urlencode(items: Iterable[tuple[str, t.Any]]) -> str:
    pairs: list[tuple[str, t.Any]] = []
    for key, value in items:
        if isinstance(value, (list, tuple, set, frozenset)):
            pairs.extend((key, v) for v in value if v is not None)
        elif value is not None:
            pairs.append((key, value))
    return urlencode(pairs, safe=_QUERY_SAFE, quote_via=quote_plus)


# --------------------------------------------------------------------------
# The compiled matcher
# --------------------------------------------------------------------------


class _Node:
    """A trie node: the rules ending here and the ways to go on."""

    __slots__ = ("static", "dynamic", "by_key", "rules")

    def __init__(self) -> None:
        self.static: dict[str, _Node] = {}
        self.dynamic: list[_Dynamic] = []
        #: The same entries by their key, to share them while compiling.
        self.by_key: dict[tuple[t.Any, ...], _Dynamic] = {}
        self.rules: list[Rule] = []


class _Dynamic:
    """A dynamic segment (or the tail of a rule) and the node it leads to."""

    __slots__ = (
        "key",
        "weight",
        "order",
        "tail",
        "pattern",
        "single",
        "groups",
        "node",
    )

    def __init__(self, spec: _SegmentSpec, order: int, tail: bool) -> None:
        self.key = spec.key
        self.weight = spec.weight
        self.order = order
        self.tail = tail
        self.node = _Node()
        pieces = spec.pieces
        #: The converter when the segment is exactly one variable.
        self.single: BaseConverter | None = None
        #: Group name and converter for each variable, in order.
        self.groups: tuple[tuple[str, BaseConverter], ...] = ()
        self.pattern: re.Pattern[str] | None = None
        if len(pieces) == 1 and not isinstance(pieces[0], str) and not tail:
            conv = pieces[0][1]
            self.single = conv
            # PERF: a segment never contains "/", so the default "[^/]+" only
            # needs a non-empty check, not a regex call; the built-in int
            # converter validates its input in to_python.
            if conv.regex not in ("[^/]+", "[^/]{1,}") and not (
                type(conv).to_python is IntegerConverter.to_python
                and conv.regex
                in (IntegerConverter.regex, IntegerConverter.signed_regex)
            ):
                self.pattern = re.compile(conv.regex, re.DOTALL)
        else:
            parts: list[str] = []
            groups: list[tuple[str, BaseConverter]] = []
            for piece in pieces:
                if isinstance(piece, str):
                    parts.append(re.escape(piece))
                else:
                    group = f"g{len(groups)}"
                    groups.append((group, piece[1]))
                    parts.append(f"(?P<{group}>{piece[1].regex})")
            self.pattern = re.compile("".join(parts), re.DOTALL)
            self.groups = tuple(groups)

    def convert(self, match: re.Match[str]) -> list[t.Any]:
        """Convert the groups of ``match``; may raise ValidationError."""
        return [conv.to_python(match.group(group)) for group, conv in self.groups]


class _SlashRequired(Exception):
    """Internal: the path matches a strict rule once a slash is appended."""


def _failure(misses: list[Rule], method: str, websocket: bool) -> HTTPException:
    """The error of a failed match, from the rules at the path's end that
    refused ``method`` (405, with the methods they allow) or the protocol
    (400 :class:`WebsocketMismatch`); none: 404."""
    methods: set[str] = set()
    other_protocol = False
    for rule in misses:
        if rule.methods is not None and method not in rule.methods:
            methods.update(rule.methods)
        elif rule.websocket != websocket:
            other_protocol = True
    if methods:
        return MethodNotAllowed(valid_methods=methods)
    if other_protocol:
        if websocket:
            return WebsocketMismatch(
                "This URL serves plain HTTP requests, not websockets; request"
                " it over HTTP, or route the websocket to a rule declared"
                " with websocket=True."
            )
        return WebsocketMismatch(
            "This URL is a websocket endpoint; connect to it with a websocket"
            " (ws:// or wss://), not a plain HTTP request."
        )
    return NotFound()


_Found = tuple[Rule, list[t.Any]]


class _Matcher:
    """The compiled form of a map's rules."""

    def __init__(self, rules: list[Rule], default_domain: str) -> None:
        #: The domain matched when the request gives none.
        self.default_domain = default_domain
        #: PERF: rules without variables, by domain then exact path.
        self.static: dict[str, dict[str, list[Rule]]] = {}
        #: The trie; its first level is the domain.
        self.domains = _Node()
        for order, rule in enumerate(rules):
            if rule._static_path is not None and isinstance(rule._domain, str):
                by_path = self.static.setdefault(rule._domain, {})
                by_path.setdefault(rule._static_path, []).append(rule)
            node = _step(self.domains, rule._domain, order, tail=False)
            for segment in rule._segments:
                node = _step(node, segment, order, tail=False)
            if rule._tail is not None:
                node = _step(node, rule._tail, order, tail=True)
            node.rules.append(rule)
        _sort(self.domains)
        self.default_static = self.static.get(default_domain, {})

    def find(
        self,
        domain: str,
        path: str,
        method: str,
        websocket: bool,
        misses: list[Rule],
    ) -> _Found | None:
        """Find the rule for ``path``; ``None`` if there is none.  The rules
        met at the path's end that refused the method or protocol are
        appended to ``misses`` (a failed match's diagnosis).

        :raises _SlashRequired: when a strict rule matches ``path + "/"``.
        """
        parts = path.split("/")
        n = len(parts)
        root = self.domains.static.get(domain)
        if root is not None:
            found = _walk(root, parts, 1, n, method, websocket, [], misses)
            if found is not None:
                return found
        for entry in self.domains.dynamic:
            values = _match_dynamic(entry, domain)
            if values is not None:
                found = _walk(
                    entry.node, parts, 1, n, method, websocket, values, misses
                )
                if found is not None:
                    return found
        return None


def _step(node: _Node, segment: str | _SegmentSpec, order: int, tail: bool) -> _Node:
    if isinstance(segment, str):
        child = node.static.get(segment)
        if child is None:
            child = node.static[segment] = _Node()
        return child
    entry = node.by_key.get(segment.key)
    if entry is None:
        entry = node.by_key[segment.key] = _Dynamic(segment, order, tail)
        node.dynamic.append(entry)
    return entry.node


def _sort(node: _Node) -> None:
    node.dynamic.sort(key=lambda entry: (entry.weight, entry.order))
    for child in node.static.values():
        _sort(child)
    for entry in node.dynamic:
        _sort(entry.node)


def _walk(
    node: _Node,
    parts: list[str],
    i: int,
    n: int,
    method: str,
    websocket: bool,
    values: list[t.Any],
    misses: list[Rule],
) -> _Found | None:
    """Depth-first search of the trie from ``node`` for ``parts[i:]``: the
    static child first, then the dynamic entries in priority order.  Values
    converted on the way are appended to ``values`` (and removed again when a
    branch fails).  Near misses are appended to ``misses``.
    """
    if i == n:
        for rule in node.rules:
            methods = rule.methods
            if (methods is None or method in methods) and rule.websocket == websocket:
                return rule, values
            misses.append(rule)
        # The rule may end in a slash that the path lacks.
        child = node.static.get("")
        if child is not None:
            for rule in child.rules:
                methods = rule.methods
                if (
                    methods is None or method in methods
                ) and rule.websocket == websocket:
                    if rule.strict_slashes:
                        raise _SlashRequired()
                    return rule, values
        return None

    part = parts[i]
    child = node.static.get(part)
    if child is not None:
        found = _walk(child, parts, i + 1, n, method, websocket, values, misses)
        if found is not None:
            return found
    if not part and i == n - 1 and node.rules:
        # A trailing slash the rule does not have: fine if not strict.
        for rule in node.rules:
            if rule.strict_slashes:
                continue
            methods = rule.methods
            if (methods is None or method in methods) and rule.websocket == websocket:
                return rule, values
            misses.append(rule)

    for entry in node.dynamic:
        single = entry.single
        if single is not None:
            # PERF: one variable spanning the segment needs no match groups.
            pattern = entry.pattern
            if pattern is None:
                if not part:
                    continue
            elif pattern.fullmatch(part) is None:
                continue
            try:
                value = single.to_python(part)
            except ValidationError:
                continue
            values.append(value)
            found = _walk(
                entry.node, parts, i + 1, n, method, websocket, values, misses
            )
            if found is not None:
                return found
            values.pop()
        elif entry.tail:
            found = _tail(entry, parts, i, method, websocket, values, misses)
            if found is not None:
                return found
        else:
            converted = _match_dynamic(entry, part)
            if converted is None:
                continue
            size = len(values)
            values.extend(converted)
            found = _walk(
                entry.node, parts, i + 1, n, method, websocket, values, misses
            )
            if found is not None:
                return found
            del values[size:]
    return None


def _tail(
    entry: _Dynamic,
    parts: list[str],
    i: int,
    method: str,
    websocket: bool,
    values: list[t.Any],
    misses: list[Rule],
) -> _Found | None:
    """Match the rest of the path against a tail (a rule's part from its
    first slash-spanning converter on)."""
    rest = "/".join(parts[i:])
    converted = _match_dynamic(entry, rest)
    slash_missing = False
    candidates = entry.node.rules
    if converted is None:
        if rest.endswith("/"):
            # A trailing slash the rule does not have: fine if not strict.
            converted = _match_dynamic(entry, rest[:-1])
            candidates = [r for r in candidates if not r.strict_slashes]
        else:
            converted = _match_dynamic(entry, rest + "/")
            slash_missing = True
        if converted is None:
            return None
    for rule in candidates:
        methods = rule.methods
        if (methods is None or method in methods) and rule.websocket == websocket:
            if slash_missing and rule.strict_slashes:
                raise _SlashRequired()
            return rule, values + converted
        if not slash_missing:
            misses.append(rule)
    return None


def _match_dynamic(entry: _Dynamic, text: str) -> list[t.Any] | None:
    """Match ``text`` against ``entry`` and convert; ``None`` if no match."""
    if entry.single is not None:
        if entry.pattern is None:
            if not text:
                return None
        elif entry.pattern.fullmatch(text) is None:
            return None
        try:
            return [entry.single.to_python(text)]
        except ValidationError:
            return None
    match = entry.pattern.fullmatch(text) if entry.pattern is not None else None
    if match is None:
        return None
    try:
        return entry.convert(match)
    except ValidationError:
        return None


# --------------------------------------------------------------------------
# Map
# --------------------------------------------------------------------------


class Map:
    """The URL rules of an app, compiled for matching and building.

    :param rules: rules to add now.
    :param strict_slashes: the default for :attr:`Rule.strict_slashes`.
    :param merge_slashes: the default for :attr:`Rule.merge_slashes`.
    :param host_matching: match rules' ``host`` against the request host
        instead of their ``subdomain`` against the request subdomain.
    :param default_subdomain: the subdomain of rules that do not set one.
    :param redirect_defaults: redirect a URL that spells a rule's defaults to
        that rule (``/page/1`` to ``/page/``).
    :param converters: converters to add to (or replace in)
        :data:`DEFAULT_CONVERTERS` for this map.
    """

    #: The converters a new map starts with.
    default_converters: Mapping[str, type[BaseConverter]] = DEFAULT_CONVERTERS

    def __init__(
        self,
        rules: Iterable[Rule] = (),
        *,
        strict_slashes: bool = True,
        merge_slashes: bool = True,
        host_matching: bool = False,
        default_subdomain: str = "",
        redirect_defaults: bool = True,
        converters: Mapping[str, type[BaseConverter]] | None = None,
    ) -> None:
        #: Converters by name.  Register custom ones here before adding the
        #: rules that use them.
        self.converters: dict[str, type[BaseConverter]] = dict(self.default_converters)
        if converters:
            self.converters.update(converters)
        #: The default for rules' ``strict_slashes``, applied when added.
        self.strict_slashes = strict_slashes
        #: The default for rules' ``merge_slashes``, applied when added.
        self.merge_slashes = merge_slashes
        #: Match ``host`` rather than ``subdomain``.
        self.host_matching = host_matching
        #: The subdomain of rules that do not set one.
        self.default_subdomain = default_subdomain
        #: Redirect URLs that spell another rule's defaults to that rule.
        self.redirect_defaults = redirect_defaults
        self._rules: list[Rule] = []
        self._by_endpoint: dict[str, list[Rule]] = {}
        self._version = 0
        self._matcher: _Matcher | None = None
        self._build_cache: dict[tuple[str, str | None], tuple[Rule, ...]] = {}
        for rule in rules:
            self.add(rule)

    def add(self, rule: Rule) -> None:
        """Add a rule.  The matcher is recompiled on the next match.

        :param rule: the rule; a rule can belong to one map only.
        :raises ValueError: for an unknown converter, bad converter arguments
            or a subdomain/host that does not fit the map.
        """
        rule._bind(self)
        self._rules.append(rule)
        if rule.endpoint is not None:
            self._by_endpoint.setdefault(rule.endpoint, []).append(rule)
        self._version += 1
        # PERF: recompiled once on the next match, not on every add.
        self._matcher = None
        self._build_cache.clear()

    def iter_rules(self, endpoint: str | None = None) -> Iterator[Rule]:
        """Iterate over the rules in the order they were added.

        :param endpoint: only the rules of this endpoint (none if unknown).
        """
        if endpoint is None:
            return iter(list(self._rules))
        return iter(list(self._by_endpoint.get(endpoint, ())))

    def is_endpoint_expecting(self, endpoint: str, *arguments: str) -> bool:
        """Whether a rule of ``endpoint`` provides all of ``arguments``
        (as variables or defaults).

        :param endpoint: the endpoint.
        :param arguments: argument names.
        """
        wanted = set(arguments)
        return any(
            wanted <= rule.arguments for rule in self._by_endpoint.get(endpoint, ())
        )

    def __repr__(self) -> str:
        rules = ",\n ".join(repr(rule) for rule in self._rules)
        return f"{type(self).__name__}([{rules}])"

    # -- matching ----------------------------------------------------------

    def _compile(self) -> _Matcher:
        version = self._version
        default_domain = "" if self.host_matching else self.default_subdomain
        matcher = _Matcher(list(self._rules), default_domain)
        for endpoint_rules in self._by_endpoint.values():
            ordered = sorted(endpoint_rules, key=_build_order)
            for index, rule in enumerate(ordered):
                # Rules before this one in build order supply the defaults a
                # URL spelling them out redirects to (as in Werkzeug); never
                # later ones, so two rules with defaults cannot redirect to
                # each other in a loop.
                providers = tuple(
                    r
                    for r in ordered[:index]
                    if r.defaults and r.arguments == rule.arguments
                )
                rule._default_providers = providers
                rule._special = bool(providers) or rule.redirect_to is not None
        if self._version == version:  # else a rule was added meanwhile
            self._matcher = matcher
        return matcher

    def match(
        self,
        path: str,
        method: str = "GET",
        *,
        subdomain: str | None = None,
        host: str | None = None,
        websocket: bool = False,
    ) -> tuple[Rule, dict[str, t.Any]]:
        """Find the rule for a request and the values from its URL.

        :param path: the decoded request path, starting with ``/``.
        :param method: the request method, uppercase.
        :param subdomain: the request's subdomain (without host matching);
            ``None`` means the map's default subdomain.
        :param host: the request's host (with host matching).
        :param websocket: whether this is a websocket request.
        :return: the rule and its values (converted, with the rule's defaults).
        :raises NotFound: when no rule matches the path.
        :raises MethodNotAllowed: when rules match the path but not the method.
        :raises WebsocketMismatch: when only rules of the other protocol match.
        :raises RequestRedirect: with a relative, percent-encoded ``new_url``
            (append the query string and the script root): for a missing
            trailing slash, repeated slashes, a rule's ``redirect_to`` or a
            URL that spells another rule's defaults.
        """
        found = self._match(path, method, subdomain, host, websocket)
        if isinstance(found, tuple):
            return found
        raise found

    def _match(
        self,
        path: str,
        method: str,
        subdomain: str | None,
        host: str | None,
        websocket: bool,
    ) -> tuple[Rule, dict[str, t.Any]] | HTTPException:
        """:meth:`match`, with the error of a failed match returned, not
        raised (redirects are still raised).  PERF: the request's matcher
        stores a 404 or 405 for later without raising and catching it
        (~0.4 us of a 404)."""
        matcher = self._matcher
        if matcher is None:
            matcher = self._compile()
        if subdomain is None and host is None:
            domain = matcher.default_domain
            by_path = matcher.default_static
        else:
            if self.host_matching:
                domain = host.lower() if host else ""
            elif subdomain is None:
                domain = matcher.default_domain
            else:
                domain = subdomain.lower()
            by_path = matcher.static.get(domain, {})

        # PERF: a rule without variables is one dict lookup away.
        rules = by_path.get(path)
        if rules is not None:
            for rule in rules:
                methods = rule.methods
                if (
                    methods is None or method in methods
                ) and rule.websocket == websocket:
                    result = dict(rule.defaults) if rule.defaults else {}
                    if rule._special:
                        self._redirect(rule, result, method)
                    return rule, result

        if path[:1] != "/":
            path = "/" + path
        # PERF: the walk notes the rules that refused the method or protocol
        # as it goes, so a failed match needs no second walk to tell a 405
        # from a 404 (~0.8 us of a 404; a list more for a dynamic route).
        misses: list[Rule] = []
        try:
            found = matcher.find(domain, path, method, websocket, misses)
        except _SlashRequired:
            raise RequestRedirect(_location(path + "/")) from None
        if found is None and self.merge_slashes and "//" in path:
            merged = _merge_slashes(path)
            try:
                again = matcher.find(domain, merged, method, websocket, misses)
            except _SlashRequired:
                raise RequestRedirect(_location(merged + "/")) from None
            if again is not None and again[0].merge_slashes:
                raise RequestRedirect(_location(merged))
        if found is None:
            return _failure(misses, method, websocket)

        rule, values = found
        # PERF: dict(zip(...)) costs ~0.25 us; most rules have one variable.
        if len(values) == 1:
            result = {rule._names[0]: values[0]}
        elif values:
            result = dict(zip(rule._names, values, strict=True))
        else:
            result = {}
        if rule.defaults:
            result = {**rule.defaults, **result}
        if rule._special:
            self._redirect(rule, result, method)
        return rule, result

    def _redirect(self, rule: Rule, values: dict[str, t.Any], method: str) -> None:
        redirect_to = rule.redirect_to
        if redirect_to is not None:
            if callable(redirect_to):
                raise RequestRedirect(redirect_to(self, **values))
            raise RequestRedirect(self._fill_redirect(rule, values))
        if self.redirect_defaults:
            for other in rule._default_providers:
                if (
                    other.methods is None or method in other.methods
                ) and other._suitable(values):
                    _, path = other._build(values, append_unknown=False)
                    raise RequestRedirect(_location_from_built(path))

    @staticmethod
    def _fill_redirect(rule: Rule, values: Mapping[str, t.Any]) -> str:
        out: list[str] = []
        for tok in rule._redirect_tokens or ():
            if isinstance(tok, str):
                out.append(tok)
                continue
            conv = rule._converters.get(tok.name)
            value = values[tok.name]
            out.append(
                conv.to_url(value) if conv else quote(str(value), safe=_PATH_SAFE)
            )
        target = "".join(out)
        tokens = rule._redirect_tokens or [""]
        prefix = tokens[0] if isinstance(tokens[0], str) else ""
        if prefix.startswith("//") or _SCHEME_RE.match(prefix):
            # The rule's author wrote an absolute URL: keep it.
            return target
        if not target.startswith("/"):
            target = "/" + target
        # A matched value must not turn "/<x>" into "//host", another site.
        return _location_from_built(target)

    # -- building ----------------------------------------------------------

    def is_websocket_endpoint(self, endpoint: str) -> bool:
        """Whether ``endpoint``'s rules are websocket rules."""
        rules = self._by_endpoint.get(endpoint, ())
        # PERF: a loop, not all() over a generator closed early (url_for
        # asks it each time it builds a URL: 0.5 -> 0.1 us).
        for rule in rules:
            if not rule.websocket:
                return False
        return bool(rules)

    def build(
        self,
        endpoint: str,
        values: Mapping[str, t.Any] | None = None,
        method: str | None = None,
        *,
        append_unknown: bool = True,
    ) -> tuple[str, str]:
        """Build the URL of an endpoint.

        The first rule of the endpoint (in the order added; rules that accept
        ``GET`` first when ``method`` is not given) whose variables are all in
        ``values`` or its defaults, and whose defaults agree with ``values``,
        is used.

        :param endpoint: the endpoint.
        :param values: values for the rule's variables; the others become the
            query string.  ``None`` values are dropped, lists and tuples give
            repeated keys.
        :param method: only rules that accept this method.
        :param append_unknown: add values the rule does not use as the query
            string.
        :return: ``(subdomain_or_host, path)``, the path percent-encoded and
            with the query string.
        :raises BuildError: when no rule fits; the message says why.
        """
        vals = _build_values(values)
        key = (endpoint, method)
        candidates = self._build_cache.get(key)
        if candidates is None:
            candidates = self._build_cache[key] = self._candidates(endpoint, method)
        for rule in candidates:
            if rule._suitable(vals):
                return rule._build(vals, append_unknown)
        suggested = None
        if endpoint not in self._by_endpoint:
            close = difflib.get_close_matches(endpoint, list(self._by_endpoint), n=1)
            suggested = close[0] if close else None
        raise BuildError(
            endpoint,
            vals,
            method,
            suggested,
            rules=self._by_endpoint.get(endpoint, ()),
        )

    def _candidates(self, endpoint: str, method: str | None) -> tuple[Rule, ...]:
        rules = sorted(self._by_endpoint.get(endpoint, []), key=_build_order)
        if method is not None:
            return tuple(r for r in rules if r.methods is None or method in r.methods)
        first = [r for r in rules if r.methods is None or "GET" in r.methods]
        return (*first, *(r for r in rules if r not in first))


def _build_order(rule: Rule) -> tuple[int, int]:
    """Rules with more variables first, then more defaults (so
    ``url_for("page", n=1)`` gives ``/page/`` for a rule with defaults
    ``n=1``, whichever rule was added first, as Werkzeug does); stable
    otherwise."""
    defaults = rule.defaults or ()
    return (-len(rule.arguments | set(defaults)), -len(defaults))


def _build_values(values: Mapping[str, t.Any] | None) -> dict[str, t.Any]:
    if not values:
        return {}
    if type(values) is dict:
        try:
            # PERF: no copy in the usual case of no None values.
            if None not in values.values():
                return values
        except (TypeError, ValueError):  # a value with an odd __eq__
            pass
    elif hasattr(values, "lists"):
        # A multi-dict: one value stays a value, several become a list.
        lists: Iterable[tuple[str, list[t.Any]]] = t.cast(t.Any, values).lists()
        return {
            k: (v[0] if len(v) == 1 else v)
            for k, v in lists
            if v and not (len(v) == 1 and v[0] is None)
        }
    return {k: v for k, v in values.items() if v is not None}


def _location_from_built(path: str) -> str:
    """A built (already encoded) path made safe to send as ``Location``."""
    if path.startswith("//") or path.startswith("/\\"):
        return "/" + path.lstrip("/\\")
    return path
