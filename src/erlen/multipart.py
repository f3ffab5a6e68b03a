"""Erlen's ``multipart/form-data`` parser.

A small incremental parser: :meth:`MultipartParser.feed` takes the body in
pieces of any size and :meth:`MultipartParser.close` returns the fields and
files.  It finds boundaries in C (``bytes.find``, or the regex engine for
short buffers), writes file data straight to its spooled temporary file and
keeps little between pieces (what may still turn out to be a boundary, or a
part's headers until their blank line), so memory stays bounded whatever the
upload's size:

- a field's value may hold at most ``max_form_memory_size`` bytes (413);
- a body may have at most ``max_form_parts`` parts (413);
- a part's headers may take at most :data:`MAX_HEADER_SIZE` bytes (413);
- anything malformed (no boundary, no ``Content-Disposition``, headers that
  are not UTF-8, over 1 KiB of whitespace after a boundary, a body that ends
  before its closing boundary) is a 400.

What it accepts is what Werkzeug's decoder accepts, with the same fields and
files (the tests compare the two on generated bodies): CRLF, LF or CR line
breaks, a preamble and an epilogue, whitespace after a boundary, folded
header lines, HTML's ``%22`` in a name.  A part without a ``name`` is read
and dropped.  A field's text is UTF-8 unless its ``Content-Type`` names
``us-ascii`` or ``iso-8859-1``; undecodable bytes become U+FFFD.
"""

from __future__ import annotations

import functools
import re
import tempfile
import typing as t

from werkzeug.http import parse_options_header

from . import exceptions as exc
from .datastructures import FileStorage, _headers_from

__all__ = ["MAX_HEADER_SIZE", "MultipartParser", "parse_multipart"]

#: Bytes read from the body at a time by :func:`parse_multipart`.
CHUNK_SIZE = 64 * 1024
#: The most bytes one part's header block may take.
MAX_HEADER_SIZE = 16 * 1024
#: Uploaded files larger than this are spooled to a temporary file on disk.
SPOOL_SIZE = 500 * 1024
# The most whitespace accepted between a boundary and its line break.
_MAX_PADDING = 1024

_PREAMBLE, _HEADERS, _DATA, _EPILOGUE = range(4)
# What follows a boundary found in the buffer (see _after_boundary).
_UNDECIDED, _CLOSE, _NOT_A_BOUNDARY = -1, -2, -3

_CR, _LF = 13, 10
_PADDING = frozenset(b" \t\x0b\x0c")
_FOLDED = re.compile(rb"(?:\r\n|\n|\r)[ \t]")
# Charsets a field may name; anything else is read as UTF-8 (as Werkzeug).
_CHARSETS = frozenset({"ascii", "us-ascii", "utf-8", "iso-8859-1"})
# A plain Content-Disposition parameter: a token name, then a quoted string
# without escapes or a token value.
_PARAM = re.compile(r'([A-Za-z0-9_.-]+)=(?:"([^"\\]*)"|([A-Za-z0-9_.!#$%&\'+^`|~-]+))')


def _malformed(what: str) -> exc.BadRequest:
    return exc.BadRequest(f"The multipart body could not be parsed: {what}.")


def disposition_params(value: str) -> dict[str, str]:
    """The parameters of a ``Content-Disposition`` value (``name``,
    ``filename``, ...), as :func:`werkzeug.http.parse_options_header` reads
    them."""
    # PERF: Werkzeug's parser takes 6.0 us for the form every client sends,
    # `form-data; name="a"; filename="b.txt"`; this split takes 1.2 (the
    # upload bench reads two).  Anything else (escapes, RFC 2231 `name*=`,
    # odd spacing) goes to Werkzeug's parser; the tests compare the two.
    params: dict[str, str] = {}
    kind, sep, rest = value.partition(";")
    if "%" in rest or not kind.strip():
        # Percent escapes (HTML's "%22" for a quote) and a missing type
        # are Werkzeug's to read.
        return parse_options_header(value)[1]
    while sep:
        if rest[:1] == " ":
            rest = rest[1:]
        m = _PARAM.match(rest)
        if m is None:
            return parse_options_header(value)[1]
        quoted = m.group(2)
        params[m.group(1).lower()] = m.group(3) if quoted is None else quoted
        rest = rest[m.end() :]
        if rest and rest[0] != ";":
            return parse_options_header(value)[1]
        sep, rest = rest[:1], rest[1:]
    return params


def _after_boundary(buf: bytes, j: int, final: bool) -> int:
    """Classify what follows a ``--boundary`` that ends at ``j``: the start
    of the next part's headers, :data:`_CLOSE` for the closing boundary,
    :data:`_UNDECIDED` when the buffer ends too soon to tell, or
    :data:`_NOT_A_BOUNDARY` (the bytes are data that looks like one)."""
    n = len(buf)
    if j + 2 <= n:
        if buf[j] == 45 and buf[j + 1] == 45:  # "--"
            return _CLOSE
    elif j < n and buf[j] == 45:
        return _NOT_A_BOUNDARY if final else _UNDECIDED
    k = j
    while k < n and buf[k] in _PADDING:
        k += 1
        if k - j > _MAX_PADDING:
            raise _malformed("too much whitespace after a boundary")
    if k == n:
        return _NOT_A_BOUNDARY if final else _UNDECIDED
    c = buf[k]
    if c == _LF:
        return k + 1
    if c == _CR:
        if k + 1 < n:
            return k + 2 if buf[k + 1] == _LF else k + 1
        return k + 1 if final else _UNDECIDED
    return _NOT_A_BOUNDARY


class MultipartParser:
    """Parse a ``multipart/form-data`` body fed in pieces.

    ``feed(data)`` for each piece, then ``close()`` for the ``(fields,
    files)`` lists of ``(name, value)`` pairs, in body order.  On an error
    (an :class:`~erlen.exceptions.HTTPException`), or to give up, call
    :meth:`discard` to close the files made so far.
    """

    def __init__(
        self,
        boundary: bytes,
        *,
        max_form_memory_size: int | None = None,
        max_form_parts: int | None = None,
        stream_factory: t.Callable[[], t.IO[bytes]] | None = None,
    ) -> None:
        self._delim = delim = b"--" + boundary
        self._search = _searcher(delim)
        self._max_field = max_form_memory_size
        self._max_parts = max_form_parts
        self._stream_factory = stream_factory or _spooled_file
        self._buf = b""
        self._state = _PREAMBLE
        self._parts = 0
        self.fields: list[tuple[str, str]] = []
        self.files: list[tuple[str, FileStorage]] = []
        # The part being read: its field name, and where its data goes.
        self._name: str | None = None
        self._chunks: list[bytes] | None = None  # a field's value
        self._size = 0
        self._file: t.IO[bytes] | None = None  # or a file's stream
        self._file_part: tuple[str | None, t.Any] = (None, None)
        self._open: list[t.IO[bytes]] = []
        # Whether the current part's data has not started yet.
        self._fresh = False

    def feed(self, data: bytes) -> None:
        """Parse the next piece of the body."""
        buf = self._buf + data if self._buf else data
        self._buf = buf[self._run(buf, False) :]

    def close(self) -> tuple[list[tuple[str, str]], list[tuple[str, FileStorage]]]:
        """The body is complete: return ``(fields, files)``."""
        buf = self._buf
        self._buf = b""
        self._run(buf, True)
        if self._state != _EPILOGUE:
            raise _malformed("it ends before its closing boundary")
        return self.fields, self.files

    def discard(self) -> None:
        """Close every file opened so far (after an error)."""
        for f in self._open:
            f.close()
        self._open.clear()

    # -- the state machine ---------------------------------------------------

    def _run(self, buf: bytes, final: bool) -> int:
        """Consume ``buf`` as far as it can be; return where it stopped."""
        pos = 0
        while True:
            state = self._state
            if state == _DATA:
                new = self._data(buf, pos, final)
            elif state == _HEADERS:
                new = self._headers(buf, pos)
            elif state == _PREAMBLE:
                new = self._preamble(buf, pos, final)
            else:
                return len(buf)  # the epilogue is ignored
            if new < 0:
                return ~new  # stop; keep the buffer from there
            pos = new

    def _find(self, buf: bytes, start: int) -> int:
        """Where the next ``--boundary`` in ``buf`` starts, or -1."""
        # PERF: under 30 000 bytes CPython 3.11's bytes.find takes its
        # simple search, which slows to ~2 ns a byte on data made of the
        # boundary's own characters (upload bench, 8 KiB of "a": 17 us);
        # the regex engine scans it in 2 us.  Longer buffers get find's
        # two-way search, faster than the regex on any data.
        if len(buf) - start < 30_000:
            m = self._search(buf, start)
            return -1 if m is None else m.start()
        return buf.find(self._delim, start)

    def _preamble(self, buf: bytes, pos: int, final: bool) -> int:
        # Werkzeug finds the first boundary anywhere, even mid-line.
        delim = self._delim
        i = self._find(buf, pos)
        while i != -1:
            nxt = _after_boundary(buf, i + len(delim), final)
            if nxt == _UNDECIDED:
                return ~i  # keep from i, wait for more
            if nxt == _CLOSE:
                self._state = _EPILOGUE
                return len(buf)
            if nxt >= 0:
                self._state = _HEADERS
                return nxt
            i = self._find(buf, i + 1)
        # Keep only what could be the start of a boundary.
        return ~max(pos, len(buf) - len(delim) + 1)

    def _headers(self, buf: bytes, pos: int) -> int:
        # The block ends at the first blank line: CRLF CRLF, LF LF or CR CR
        # (leading line breaks are skipped with the empty lines).
        n = len(buf)
        end = buf.find(b"\r\n\r\n", pos, pos + MAX_HEADER_SIZE + 4)
        blank = 4
        limit = end if end != -1 else n
        for bare in (b"\n\n", b"\r\r"):
            other = buf.find(bare, pos, min(limit + 1, pos + MAX_HEADER_SIZE + 2))
            if other != -1:
                end = limit = other
                blank = 2
        if end == -1:
            # Up to 3 bytes of a blank line may already be here.
            if n - pos > MAX_HEADER_SIZE + 3:
                raise exc.RequestEntityTooLarge(
                    f"A multipart part's headers are larger than"
                    f" {MAX_HEADER_SIZE} bytes."
                )
            return ~pos
        self._start_part(buf[pos:end])
        self._state = _DATA
        self._fresh = True
        # The blank line's second line break starts the data (and may be
        # the line break of a boundary right after it: an empty value).
        return end + blank // 2

    def _start_part(self, block: bytes) -> None:
        if b"\n " in block or b"\n\t" in block or b"\r " in block or b"\r\t" in block:
            block = _FOLDED.sub(b" ", block)
        items: list[tuple[str, str]] = []
        disposition = content_type = None
        for raw in block.splitlines():
            raw = raw.strip(b" \t")
            if not raw:
                continue
            try:
                line = raw.decode()
            except UnicodeDecodeError:
                raise _malformed("a part's headers are not UTF-8") from None
            key, _, value = line.partition(":")
            key, value = key.strip(" \t"), value.strip(" \t")
            items.append((key, value))
            lower = key.lower()
            if lower == "content-disposition":
                if disposition is None:
                    disposition = value
            elif lower == "content-type" and content_type is None:
                content_type = value
        if disposition is None:
            raise _malformed("a part has no Content-Disposition header")
        params = disposition_params(disposition)
        self._parts += 1
        if self._max_parts is not None and self._parts > self._max_parts:
            raise exc.RequestEntityTooLarge(
                f"The multipart body has more than {self._max_parts} parts."
            )
        name = params.get("name")
        filename = params.get("filename")
        self._name = name
        if filename is None:
            self._chunks, self._size, self._file = [], 0, None
            self._charset = _field_charset(content_type)
        elif name is None:
            self._chunks = self._file = None  # a nameless file: dropped
        else:
            self._chunks = None
            f = self._stream_factory()
            self._open.append(f)
            self._file = f
            self._file_part = (filename, _headers_from(items))

    def _data(self, buf: bytes, pos: int, final: bool) -> int:
        n = len(buf)
        start = pos  # where the data starts
        if self._fresh:
            # The part's data starts after the line break that ended its
            # headers (CRLF, LF or CR; a CR waits to see if an LF follows).
            if pos >= n or (buf[pos] == _CR and pos + 1 == n and not final):
                return ~pos
            start += 2 if buf[pos] == _CR and pos + 1 < n and buf[pos + 1] == _LF else 1
        i = self._find(buf, pos)
        while i != -1:
            # A boundary starts a line: the CRLF, LF or CR before it is the
            # boundary's, not the data's.
            if i - 2 >= pos and buf[i - 2] == _CR and buf[i - 1] == _LF:
                end = i - 2
            elif i - 1 >= pos and buf[i - 1] in (_CR, _LF):
                end = i - 1
            else:
                i = self._find(buf, i + 1)
                continue
            nxt = _after_boundary(buf, i + len(self._delim), final)
            if nxt == _NOT_A_BOUNDARY:
                i = self._find(buf, i + 1)
                continue
            if nxt == _UNDECIDED:
                if end > start:
                    self._write(buf, start, end)
                    self._fresh = False
                    return ~end  # the line break onwards waits
                return ~pos
            self._write(buf, start, end)
            self._end_part()
            if nxt == _CLOSE:
                self._state = _EPILOGUE
                return n
            self._state = _HEADERS
            return nxt
        if final:
            return ~pos  # no closing boundary: close() refuses the body
        # No boundary: write all but what could be the start of one, a line
        # break (the last CR or LF, if within a boundary's length of the end).
        keep = n
        window = max(pos, n - len(self._delim) - 2)
        for line_break in (b"\r", b"\n"):
            j = buf.rfind(line_break, window)
            if j != -1 and j < keep:
                keep = j
        if keep > start:
            self._write(buf, start, keep)
            self._fresh = False
            return ~keep
        return ~pos

    def _write(self, buf: bytes, start: int, end: int) -> None:
        if end <= start:
            return
        if self._file is not None:
            self._file.write(memoryview(buf)[start:end])
        elif self._chunks is not None:
            self._size += end - start
            if self._max_field is not None and self._size > self._max_field:
                raise exc.RequestEntityTooLarge(
                    f"A multipart field is larger than {self._max_field} bytes."
                )
            self._chunks.append(buf[start:end])

    def _end_part(self) -> None:
        name = self._name
        if name is None:
            return
        if self._file is not None:
            f = self._file
            f.seek(0)
            filename, headers = self._file_part
            self.files.append((name, FileStorage(f, filename, name, headers=headers)))
        elif self._chunks is not None:
            value = b"".join(self._chunks).decode(self._charset, "replace")
            self.fields.append((name, value))

    _charset = "utf-8"


@functools.lru_cache(maxsize=64)
def _searcher(delim: bytes) -> t.Callable[[bytes, int], re.Match[bytes] | None]:
    return re.compile(re.escape(delim)).search


def _spooled_file() -> t.IO[bytes]:
    return t.cast(
        t.IO[bytes], tempfile.SpooledTemporaryFile(max_size=SPOOL_SIZE, mode="rb+")
    )


def _field_charset(content_type: str | None) -> str:
    if content_type is None or "charset" not in content_type.lower():
        return "utf-8"
    charset = parse_options_header(content_type)[1].get("charset", "").lower()
    return charset if charset in _CHARSETS else "utf-8"


def parse_multipart(
    read: t.Callable[[int], bytes],
    boundary: bytes,
    *,
    max_form_memory_size: int | None = None,
    max_form_parts: int | None = None,
) -> tuple[list[tuple[str, str]], list[tuple[str, FileStorage]]]:
    """Read a whole ``multipart/form-data`` body through ``read`` (a
    stream's ``read``) and return ``(fields, files)``; on an error every file
    made is closed before the exception propagates."""
    parser = MultipartParser(
        boundary,
        max_form_memory_size=max_form_memory_size,
        max_form_parts=max_form_parts,
    )
    try:
        while True:
            chunk = read(CHUNK_SIZE)
            if not chunk:
                break
            parser.feed(chunk)
        return parser.close()
    except BaseException:
        parser.discard()
        raise
