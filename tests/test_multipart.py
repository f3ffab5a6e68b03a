"""Tests of Erlen's ``multipart/form-data`` parser (``erlen.multipart``).

- differential: generated bodies (well-formed, with CRLF/LF/CR line breaks,
  preambles, epilogues, padding after boundaries, folded headers and data
  that looks like a boundary, then sometimes truncated or mangled) are fed to
  :class:`MultipartParser` in random pieces and to Werkzeug's parser whole:
  both give the same fields and files, or both fail with the same status;
- differential: :func:`disposition_params` against Werkzeug's
  ``parse_options_header`` on random ``Content-Disposition`` values;
- the limits: ``max_form_memory_size`` per field, ``max_form_parts``,
  :data:`MAX_HEADER_SIZE`; a large file streamed in pieces with a small
  buffer; ``discard()`` closing files after an error; truncated and empty
  bodies; field charsets; :func:`parse_multipart`.

The edge cases the differential tests found while the parser was written
stay as named cases (``test_edge_cases_as_werkzeug``).  Where Erlen differs
on purpose (a field's limit counts its value only; part headers and the
whitespace after a boundary are bounded), the targeted tests say so.
"""

from __future__ import annotations

import io
import random
import typing as t
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug import formparser
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge as WerkzeugTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import MultipartDecoder

from erlen import multipart
from erlen.exceptions import BadRequest, HTTPException, RequestEntityTooLarge
from erlen.multipart import (
    MAX_HEADER_SIZE,
    MultipartParser,
    disposition_params,
    parse_multipart,
)

#: Deterministic, no deadline, enough examples to find the interesting
#: cases while the file runs in seconds.
PROPERTY = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow],
)

Outcome = int | tuple[list[t.Any], list[t.Any]]


# -- running both parsers ------------------------------------------------------


class _PerFieldDecoder(MultipartDecoder):
    """Werkzeug's decoder without its read-buffer check.

    Werkzeug checks ``max_form_memory_size`` twice: per field in its parse
    loop, and against each read buffer (64 KiB) in the decoder, which for a
    small body read in one piece means the whole body.  Erlen's limit is the
    per-field one, so the reference keeps only that.
    """

    def __init__(
        self, boundary: bytes, max_form_memory_size: int | None = None, **kw: t.Any
    ) -> None:
        super().__init__(boundary, None, **kw)


def _file(name: str, f: t.Any) -> tuple[t.Any, ...]:
    try:
        return (name, f.filename, f.read(), list(f.headers.items()))
    finally:
        f.close()


def _grouped(fields: t.Any, files: t.Any) -> tuple[list[t.Any], list[t.Any]]:
    """As ``MultiDict.items(multi=True)`` orders them (grouped by name)."""
    fields = [(k, v) for k, v in fields if k is not None]
    files = [(k, _file(k, f)) for k, f in files]
    files = [(k, f) for k, f in files if k is not None]
    return (
        list(MultiDict(fields).items(multi=True)),
        list(MultiDict(files).items(multi=True)),
    )


def werkzeug_outcome(
    body: bytes, boundary: bytes, mem: int | None = None, parts: int | None = None
) -> Outcome:
    parser = formparser.MultiPartParser(
        lambda **kw: io.BytesIO(), max_form_memory_size=mem, max_form_parts=parts
    )
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(formparser, "MultipartDecoder", _PerFieldDecoder)
            form, files = parser.parse(io.BytesIO(body), boundary, len(body))
    except WerkzeugTooLarge:
        return 413
    except (ValueError, KeyError):  # UnicodeDecodeError is a ValueError
        return 400
    return _grouped(form.items(multi=True), files.items(multi=True))


def erlen_outcome(
    pieces: t.Iterable[bytes],
    boundary: bytes,
    mem: int | None = None,
    parts: int | None = None,
) -> Outcome:
    parser = MultipartParser(boundary, max_form_memory_size=mem, max_form_parts=parts)
    try:
        for piece in pieces:
            parser.feed(piece)
        fields, files = parser.close()
    except HTTPException as e:
        parser.discard()
        return e.code
    return _grouped(fields, files)


def split(body: bytes, cuts: t.Iterable[int]) -> list[bytes]:
    return [body[a:b] for a, b in pairwise([0, *sorted(cuts), len(body)])]


# -- generated bodies --------------------------------------------------------------

BOUNDARIES = [b"B", b"xyz", b"----WebKitFormBoundary7MA4YWxk", b"a'()+_,-./:=?z"]
NAME_PIECES = ["a", "b.txt", '"', "%22", "é", "\\", ";", " ", "'", "日", "=", "%"]
TOKEN_CHARS = frozenset("ab.txt%'")
NAMES = st.lists(st.sampled_from(NAME_PIECES), max_size=4).map("".join)
HEADER_VALUE_CHARS = 'ab :;="é\xa0\x1c\x0c\t'
CONTENT_TYPES = [
    "text/plain",
    "text/plain; charset=utf-8",
    "text/plain; charset=iso-8859-1",
    "text/plain; charset=ISO-8859-1",
    'text/plain; charset="us-ascii"',
    "text/plain; charset=koi8-r",
    "application/octet-stream",
]
BREAKS = [b"\r\n", b"\n", b"\r"]
PADDING = [b"", b"", b" ", b"\t", b" \t\x0b\x0c", b" " * 300]


def data_tokens(boundary: bytes) -> list[bytes]:
    delim = b"--" + boundary
    return [
        *(b"a", b"xyz", b" ", b"\t", b"-", b"--", b"\x00", b"\xff", "é".encode()),
        *(b"\r", b"\n", b"\r\n", b"\r\r\n", b"\n\n", boundary, delim, delim + b"--"),
        *(b"\r\n" + delim, b"\n" + delim, b"\r" + delim, b"\r\n" + delim + b"-"),
        b"\r\n" + delim + b"x",
    ]


@st.composite
def param(draw: st.DrawFn, key: str, value: str) -> str:
    """``key=value`` as a client might write it."""
    style = draw(st.sampled_from(["quoted", "quoted", "token", "escaped", "2231"]))
    if style == "token" and value and set(value) <= TOKEN_CHARS:
        return f"{key}={value}"
    if style == "escaped":
        return '{}="{}"'.format(key, value.replace("\\", "\\\\").replace('"', '\\"'))
    if style == "2231":
        return f"{key}*=UTF-8''" + "".join(f"%{b:02X}" for b in value.encode())
    return '{}="{}"'.format(key, value.replace('"', "%22"))


@st.composite
def part_headers(draw: st.DrawFn) -> list[str]:
    name = draw(st.none() | NAMES)
    filename = draw(st.none() | NAMES)
    params = [draw(st.sampled_from(["form-data", "form-data", "attachment", ""]))]
    if name is not None:
        params.append(draw(param("name", name)))
    if filename is not None:
        params.append(draw(param("filename", filename)))
    sep = draw(st.sampled_from(["; ", "; ", ";", ";  ", " ; ", ";\t"]))
    key = draw(st.sampled_from(["Content-Disposition", "content-disposition"]))
    lines = [f"{key}: {sep.join(params)}"]
    if draw(st.booleans()):
        lines.append("Content-Type: " + draw(st.sampled_from(CONTENT_TYPES)))
    if draw(st.booleans()):
        lines.append("X-Extra: " + draw(st.text(HEADER_VALUE_CHARS, max_size=6)))
    return draw(st.permutations(lines))


@st.composite
def header_block(draw: st.DrawFn, nl: t.Callable[[], bytes]) -> bytes:
    out = b""
    for line in draw(part_headers()):
        raw = line.encode()
        spaces = [i for i, c in enumerate(raw) if c == 32]
        if spaces and draw(st.integers(0, 4)) == 0:  # fold at a space
            i = draw(st.sampled_from(spaces))
            fold = draw(st.sampled_from([b" ", b"\t", b" \t", b"  "]))
            raw = raw[:i] + nl() + fold + raw[i + 1 :]
        out += raw + nl()
    return out + nl()


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """A boundary and a body for it: well-formed, then maybe mangled."""
    boundary = draw(st.sampled_from(BOUNDARIES))
    delim = b"--" + boundary
    tokens = data_tokens(boundary)
    style = draw(st.sampled_from([*BREAKS, None]))  # None: mixed

    def nl() -> bytes:
        return style or draw(st.sampled_from(BREAKS))

    def pad() -> bytes:
        return draw(st.sampled_from(PADDING))

    body = draw(st.sampled_from([b"", b"", b"preamble", b"x\r\n--y\r\n"]))
    if body or draw(st.booleans()):
        body += nl()
    for _ in range(draw(st.sampled_from([0, 1, 2, 2, 3, 4]))):
        body += delim + pad() + nl() + draw(header_block(nl))
        body += b"".join(draw(st.lists(st.sampled_from(tokens), max_size=8))) + nl()
    close = delim + b"--" + pad() + draw(st.sampled_from([b"", nl()]))
    body += close + draw(st.sampled_from([b"", b"", b"epilogue", b"\r\n--x"]))

    mutation = draw(st.sampled_from(["none"] * 4 + ["cut", "del", "ins", "open"]))
    at = draw(st.integers(0, len(body)))
    if mutation == "cut":
        body = body[:at]
    elif mutation == "del":
        body = body[:at] + body[at + draw(st.integers(1, 4)) :]
    elif mutation == "ins":
        body = body[:at] + draw(st.sampled_from(tokens)) + body[at:]
    elif mutation == "open":
        body = body[: body.rindex(close)]
    return boundary, body


# -- the differential tests ------------------------------------------------------


@PROPERTY
@given(
    case=bodies(),
    mem=st.none() | st.integers(0, 24),
    parts=st.none() | st.integers(0, 4),
    data=st.data(),
)
def test_same_as_werkzeug(
    case: tuple[bytes, bytes], mem: int | None, parts: int | None, data: t.Any
) -> None:
    boundary, body = case
    cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=6), label="cuts")
    expected = werkzeug_outcome(body, boundary, mem, parts)
    outcome = erlen_outcome(split(body, cuts), boundary, mem, parts)
    if isinstance(outcome, int) and isinstance(expected, int):
        # A body both malformed and over a limit may get either status:
        # which one depends on where each parser notices first.
        if werkzeug_outcome(body, boundary) == 400:
            expected = outcome
    assert outcome == expected


@st.composite
def dispositions(draw: st.DrawFn) -> str:
    """``form-data; name="x"; filename="y.txt"`` and the like."""
    keys = st.sampled_from(["name", "filename", "NAME"])
    params = [
        draw(param(key, draw(NAMES)))
        for key in draw(st.lists(keys, min_size=1, max_size=3))
    ]
    sep = draw(st.sampled_from(["; ", ";", ";  ", " ; ", ";\t"]))
    kind = draw(st.sampled_from(["form-data", "attachment", "", " "]))
    return sep.join([kind, *params]) + draw(st.sampled_from(["", " ", ";"]))


SYNTAX = [*"=;\"\\*' \t,%namefilé", "form-data", "; ", "name=", '="', "%22", "*="]
DISPOSITION_VALUES = (
    dispositions()
    | st.lists(st.sampled_from(SYNTAX), max_size=16).map("".join)
    | st.text(max_size=12)
)


@PROPERTY
@given(DISPOSITION_VALUES)
def test_disposition_params_same_as_werkzeug(value: str) -> None:
    assert disposition_params(value) == parse_options_header(value)[1]


def case(id: str, body: bytes, **limits: int) -> t.Any:
    return pytest.param(body, limits, id=id)


CD = b'Content-Disposition: form-data; name="a"'


# Minimal bodies on which a first version of the parser and Werkzeug's
# disagreed (what Werkzeug does in the comment).
@pytest.mark.parametrize(
    "body, limits",
    [
        # ([("a", "")], []): the blank line's break also starts the boundary.
        case("boundary-after-blank-line", b"--B\r\n" + CD + b"\r\n\r\n--B--"),
        # ([("a", "v")], []): an empty line may start a header block.
        case("empty-line-first", b"--B\r\n\r\n" + CD + b"\r\n\r\nv\r\n--B--"),
        # "v": a CR CR blank line followed by LF; the LF is not data.
        case("cr-cr-lf", b"--B\r\n" + CD + b"\r\r\nv\r\n--B--"),
        # name 'a"': %22 in a parameter is a quote.
        case(
            "percent-22",
            b'--B\r\nContent-Disposition: form-data; name="a%22"\r\n\r\nv\r\n--B--',
        ),
        # ([], []): no disposition type, so no parameters, so no name.
        case(
            "no-disposition-type",
            b'--B\r\nContent-Disposition: ; name="a"\r\n\r\nv\r\n--B--',
        ),
        # 400: only space and tab are stripped, so the header is "\x0cContent-...".
        case("form-feed-before-name", b"--B\r\n\x0c" + CD + b"\r\n\r\nv\r\n--B--"),
        # header ("\x0bb", ""): likewise a line of its own, not a folded one.
        case(
            "vtab-fold",
            b"--B\r\n" + CD + b"; filename=f\r\nX: a\r\n\x0bb\r\n\r\nv\r\n--B--",
        ),
        # 'a  b': a fold's line break and first space become one space.
        case(
            "fold-two-spaces",
            b'--B\r\nContent-Disposition: form-data; name="a\r\n  b"\r\n\r\nv\r\n--B--',
        ),
        # filename 'f\xa0': U+00A0 (or \x1c, \x0c...) at the end of a value stays.
        case(
            "nbsp-at-end",
            b"--B\r\nContent-Disposition: form-data; name=a; filename=f\xc2\xa0"
            b"\r\n\r\nv\r\n--B--",
        ),
        # ([("a", "v")], []): whitespace after a boundary (Erlen: up to 1 KiB).
        case(
            "long-padding", b"--B" + b" " * 257 + b"\r\n" + CD + b"\r\n\r\nv\r\n--B--"
        ),
        # 400: the headers are checked before the part is counted (Erlen: 413).
        case("parts-no-disposition", b"--B\r\nX: y\r\n\r\nv\r\n--B--", parts=0),
        case("parts-bad-utf8", b"--B\r\nX: \xff\r\n\r\nv\r\n--B--", parts=0),
        # 400: a truncated field counts only up to its last line break
        # (Erlen counts "x\r" and gives 413).
        case("truncated-field-limit", b"--B\r\n" + CD + b"\r\n\r\nx\r", mem=1),
    ],
)
def test_edge_cases_as_werkzeug(body: bytes, limits: dict[str, int]) -> None:
    assert erlen_outcome([body], b"B", **limits) == werkzeug_outcome(
        body, b"B", **limits
    )


@pytest.mark.parametrize(
    "value",
    [
        '; name="a"',
        ' ; name="a"',
        'form-data; name="a%22"',
        "form-data; name=a%22b",
        'form-data; name="a"; filename="b.txt"',
        'form-data;name="a";  filename=b.txt',
        'form-data; name*=UTF-8\'\'%C3%A9; filename="a\\"b"',
    ],
)
def test_disposition_params_cases(value: str) -> None:
    assert disposition_params(value) == parse_options_header(value)[1]


# -- targeted tests ----------------------------------------------------------------


def encode(
    *parts: tuple[str, bytes] | tuple[str, bytes, str], b: bytes = b"B"
) -> bytes:
    """A CRLF body of fields ``(name, value)`` and files ``(name, data,
    filename)``."""
    out = b""
    for name, value, *filename in parts:
        disposition = f'form-data; name="{name}"'
        if filename:
            disposition += f'; filename="{filename[0]}"'
        out += b"--%s\r\nContent-Disposition: %s\r\n\r\n" % (b, disposition.encode())
        out += value + b"\r\n"
    return out + b"--%s--\r\n" % b


def parse(pieces: t.Iterable[bytes], **kw: t.Any) -> tuple[list[t.Any], list[t.Any]]:
    """``(fields, files)``, each file as ``(name, filename, data)``."""
    parser = MultipartParser(b"B", **kw)
    try:
        for piece in pieces:
            parser.feed(piece)
        fields, files = parser.close()
    except HTTPException:
        parser.discard()
        raise
    return fields, [_file(name, f)[:3] for name, f in files]


def in_pieces(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


def test_field_limit() -> None:
    assert parse([encode(("a", b"x" * 10))], max_form_memory_size=10)[0] == [
        ("a", "x" * 10)
    ]
    assert parse(in_pieces(encode(("a", b"x" * 10)), 1), max_form_memory_size=10)
    for pieces in ([encode(("a", b"x" * 11))], in_pieces(encode(("a", b"x" * 11)), 1)):
        with pytest.raises(RequestEntityTooLarge) as e:
            parse(pieces, max_form_memory_size=10)
        assert e.value.code == 413
    # Each field is counted alone; files are not counted.
    body = encode(("a", b"x" * 10), ("b", b"y" * 10), ("f", b"z" * 5000, "f.bin"))
    assert parse(in_pieces(body, 3), max_form_memory_size=10) == (
        [("a", "x" * 10), ("b", "y" * 10)],
        [("f", "f.bin", b"z" * 5000)],
    )


def test_parts_limit() -> None:
    body = encode(("a", b"1"), ("f", b"2", "f.txt"), ("b", b"3"))
    assert parse([body], max_form_parts=3) == (
        [("a", "1"), ("b", "3")],
        [("f", "f.txt", b"2")],
    )
    more = encode(("a", b"1"), ("f", b"2", "f.txt"), ("b", b"3"), ("g", b"", "g"))
    with pytest.raises(RequestEntityTooLarge):
        parse([more], max_form_parts=3)


def header_body(block_size: int) -> bytes:
    """A field whose header block (up to its blank line) has that size."""
    block = b'Content-Disposition: form-data; name="a"\r\nX-Pad: '
    block += b"p" * (block_size - len(block))
    return b"--B\r\n" + block + b"\r\n\r\nv\r\n--B--\r\n"


@pytest.mark.parametrize("size", [1, 7, 1000, None])
def test_header_block_over_limit(size: int | None) -> None:
    body = header_body(MAX_HEADER_SIZE + 1)
    with pytest.raises(RequestEntityTooLarge):
        parse(in_pieces(body, size or len(body)))


@pytest.mark.parametrize(
    "block, size",
    [
        (MAX_HEADER_SIZE, None),
        (MAX_HEADER_SIZE, 100),
        (MAX_HEADER_SIZE - 3, 1),
        (MAX_HEADER_SIZE, 1),
        (MAX_HEADER_SIZE - 2, 1),
    ],
)
def test_header_block_at_limit(block: int, size: int | None) -> None:
    body = header_body(block)
    assert parse(in_pieces(body, size or len(body))) == ([("a", "v")], [])


def test_header_block_at_limit_cut_in_blank_line() -> None:
    body = header_body(MAX_HEADER_SIZE)
    cut = body.index(b"\r\n\r\n") + 3  # "...\r\n\r" | "\nv\r\n--B--"
    assert parse(split(body, [cut])) == ([("a", "v")], [])


@pytest.mark.parametrize("pad, outcome", [(1024, 200), (1025, 400)])
def test_padding_after_a_boundary_is_bounded(pad: int, outcome: int) -> None:
    # Werkzeug accepts any amount; Erlen keeps a boundary's line undecided
    # in its buffer only while it may still be one, so it bounds it.
    body = b"--B" + b" " * pad + b"\r\n" + CD + b"\r\n\r\nv\r\n--B--"
    for pieces in ([body], in_pieces(body, 100)):
        result = erlen_outcome(pieces, b"B")
        assert (200 if result == ([("a", "v")], []) else result) == outcome


def test_large_file_streams() -> None:
    # Random bytes (without "B") and lookalikes of the boundary.
    rng = random.Random(0)
    data = b"".join(
        rng.randbytes(rng.randrange(2000)).replace(b"B", b"b")
        + rng.choice([b"\r\n--Bx", b"\n--B-x", b"x--B\r\n", b"\r"])
        for _ in range(600)
    )
    assert len(data) > 500 * 1024
    body = encode(("f", data, "big.bin"))
    parser = MultipartParser(b"B")
    for piece in in_pieces(body, 64 * 1024):
        parser.feed(piece)
        if parser._state == multipart._DATA:
            assert len(parser._buf) < len(b"B") + 300
    fields, [(name, f)] = parser.close()
    assert (fields, _file(name, f)[:3]) == ([], ("f", "big.bin", data))


class Recorder:
    def __init__(self) -> None:
        self.streams: list[io.BytesIO] = []

    def __call__(self) -> io.BytesIO:
        self.streams.append(io.BytesIO())
        return self.streams[-1]


@pytest.mark.parametrize(
    "tail, error",
    [
        (b"--B\r\nX-No-Disposition: 1\r\n\r\nv\r\n--B--", BadRequest),
        (
            b'--B\r\nContent-Disposition: form-data; name="c"; filename="c"\r\n\r\nab',
            BadRequest,
        ),
        (
            b'--B\r\nContent-Disposition: form-data; name="c"\r\n\r\n' + b"x" * 50,
            RequestEntityTooLarge,
        ),
    ],
)
def test_discard_closes_files(tail: bytes, error: type[HTTPException]) -> None:
    head = encode(("a", b"1", "a.txt"), ("b", b"2", "b.txt"))
    body = head[: head.rindex(b"--B--")] + tail
    recorder = Recorder()
    parser = MultipartParser(b"B", stream_factory=recorder, max_form_memory_size=10)
    with pytest.raises(error):
        for piece in in_pieces(body, 5):
            parser.feed(piece)
        parser.close()
    parser.discard()
    assert len(recorder.streams) >= 2
    assert all(s.closed for s in recorder.streams)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"preamble only",
        b"--B\r\nContent-Disposition: form-da",
        b'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue',
        b'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue\r\n--B',
        b'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue\r\n--B\r\n',
    ],
)
def test_truncated_body(body: bytes) -> None:
    with pytest.raises(BadRequest) as e:
        parse(in_pieces(body, 3) or [b""])
    assert e.value.code == 400


@pytest.mark.parametrize("body", [b"--B--", b"--B--\r\n", b"pre\r\n--B--\r\nepi"])
def test_only_closing_boundary(body: bytes) -> None:
    assert parse([body]) == ([], [])


def field_with_type(content_type: bytes, value: bytes) -> bytes:
    return (
        b'--B\r\nContent-Disposition: form-data; name="a"\r\n'
        b"Content-Type: %s\r\n\r\n%s\r\n--B--\r\n" % (content_type, value)
    )


@pytest.mark.parametrize(
    "content_type, value, text",
    [
        (b"text/plain; charset=iso-8859-1", b"caf\xe9", "café"),
        (b"text/plain; charset=ISO-8859-1", b"\xff", "ÿ"),
        (b"text/plain; charset=utf-8", "café".encode(), "café"),
        (b"text/plain; charset=koi8-r", b"caf\xe9 \xc3\xa9", "caf\ufffd é"),
        (b"text/plain", b"\xff", "\ufffd"),
    ],
)
def test_field_charset(content_type: bytes, value: bytes, text: str) -> None:
    assert parse([field_with_type(content_type, value)]) == ([("a", text)], [])


def test_parse_multipart() -> None:
    body = encode(("a", b"1"), ("f", b"data", "f.txt"))
    fields, [(name, f)] = parse_multipart(io.BytesIO(body).read, b"B")
    assert (fields, _file(name, f)[:3]) == ([("a", "1")], ("f", "f.txt", b"data"))
    with pytest.raises(RequestEntityTooLarge):
        parse_multipart(io.BytesIO(body).read, b"B", max_form_parts=1)
