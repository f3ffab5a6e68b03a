"""Sending files: :func:`send_file`, :func:`send_from_directory`, and
:func:`make_conditional` for ``304``, ``412``, ``206`` and ``416`` answers.

A file is never read into memory: the response body is a :class:`FileBody`
that reads one block at a time while the server sends it.  Under WSGI the
server's thread reads; under ASGI the driver advances a sync body in the
app's thread pool, so reading a block never blocks the event loop.  The file
is closed when the body is exhausted or the response is closed, whichever
comes first: after the last block, after a ``HEAD`` or ``304``, or when the
client goes away.
"""

from __future__ import annotations

import errno
import io
import mimetypes
import os
import stat
import threading
import time
import typing as t
import unicodedata
import zlib
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime, timedelta
from urllib.parse import quote

from werkzeug.http import (
    dump_options_header,
    http_date,
    parse_date,
    parse_etags,
    quote_etag,
    unquote_etag,
)

from .datastructures import Headers
from .exceptions import NotFound, PreconditionFailed, RequestedRangeNotSatisfiable
from .globals import _cv_request, current_app
from .security import safe_join

if t.TYPE_CHECKING:
    from .app import Erlen
    from .wrappers import Request, Response

__all__ = [
    "FileBody",
    "config_max_age",
    "make_conditional",
    "send_file",
    "send_from_directory",
]

#: Bytes read per block.  Big enough that a thread hop per block (ASGI) costs
#: little, small enough that many concurrent downloads stay cheap in memory.
BLOCK_SIZE = 64 * 1024

#: ``max_age``: seconds, or a function of the file's path (``None`` for a
#: file object) returning seconds; ``None`` for no caching.
MaxAge = int | Callable[[str | None], int | None] | None

# A range bound with more digits than this is beyond any file's length; it is
# never converted, so a 5 000-digit number costs no more than its length.
_MAX_DIGITS = 18
_HUGE: t.Final[int] = 10**_MAX_DIGITS

# os.open flags for a file from a URL: never block on a FIFO planted in the
# folder (it is then refused as not a regular file); refuse a last component
# that became a symlink after the path was resolved; binary on Windows.
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_BINARY", 0)
)
# Errors that mean "there is no such file here": a 404, not a 500.
_MISSING_ERRNOS = frozenset(
    {errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.ELOOP, errno.ENAMETOOLONG}
)


class FileBody:
    """A response body that reads a binary file in blocks.

    It is a plain sync iterator, so both drivers send it like any streamed
    body (the ASGI driver produces each block in a worker thread).  Reading
    starts at ``start`` bytes past the file's position when the body was
    made and stops after ``length`` bytes (at EOF when ``None``).  The file
    is closed at the end of the data and by :meth:`close`.

    :param file: a file object opened in binary mode.
    :param start: bytes to skip before the first block.
    :param length: bytes to send; ``None`` for all of the rest.
    :param block_size: the most bytes read at once.
    """

    def __init__(
        self,
        file: t.IO[bytes],
        start: int = 0,
        length: int | None = None,
        block_size: int = BLOCK_SIZE,
    ) -> None:
        #: The file being sent.
        self.file = file
        self.start = start
        self.length = length
        self.block_size = block_size
        self._position: int | None = None
        self._closed = False
        self._lock = threading.Lock()

    def __iter__(self) -> FileBody:
        return self

    def __next__(self) -> bytes:
        # The lock makes close() wait for a read in progress: under ASGI a
        # client that goes away has the response closed in one worker thread
        # while another may still be reading a block.
        with self._lock:
            if self._closed:
                raise StopIteration
            if self._position is None:
                # Seek lazily: the first read happens where blocks are read
                # (a worker thread under ASGI), not in the view.
                self._position = 0
                if self.start:
                    self.file.seek(self.start, os.SEEK_CUR)
            size = self.block_size
            if self.length is not None:
                size = min(size, self.length - self._position)
            chunk = self.file.read(size) if size > 0 else b""
            if not chunk:
                self._close()
                raise StopIteration
            self._position += len(chunk)
            return chunk

    def close(self) -> None:
        """Close the file (idempotent, thread-safe)."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            self.file.close()

    @property
    def closed(self) -> bool:
        """Whether the file has been closed."""
        return self._closed


def config_max_age(filename: str | None = None) -> int | None:
    """``SEND_FILE_MAX_AGE_DEFAULT`` of the current app in seconds, or
    ``None`` (the default: browsers revalidate each time, cheaply, with the
    ``ETag``).  A ``timedelta`` is converted to seconds.

    :param filename: the file being sent; unused here, present so the
        function fits the ``max_age`` callable signature.
    """
    value = current_app.config["SEND_FILE_MAX_AGE_DEFAULT"]
    if value is None:
        return None
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    return int(value)


def send_file(
    path_or_file: str | os.PathLike[str] | t.IO[bytes],
    mimetype: str | None = None,
    as_attachment: bool = False,
    download_name: str | None = None,
    conditional: bool = True,
    etag: bool | str = True,
    last_modified: datetime | int | float | None = None,
    max_age: MaxAge = None,
) -> Response:
    """Send the contents of a file to the client, streamed in blocks.

    Pass a path when you can: the size, modification time and ETag come from
    the file, so the response answers conditional and range requests.  A
    relative path is relative to the app's :attr:`~erlen.Erlen.root_path`.
    Never pass a path built from user input; use
    :func:`send_from_directory` for that.

    A binary file object (``open(..., "rb")``, :class:`io.BytesIO`) is sent
    from its current position; it is closed after the response.

    :param path_or_file: the file's path, or a binary file object.
    :param mimetype: the ``Content-Type``; guessed from ``download_name``
        (or the path) when not given, ``application/octet-stream`` if the
        name says nothing.
    :param as_attachment: ask the browser to save the file instead of
        showing it (``Content-Disposition: attachment``).
    :param download_name: the file name the browser shows or saves under;
        the path's base name by default.  Non-ASCII names are sent as
        RFC 5987 ``filename*`` with an ASCII ``filename`` fallback.
    :param conditional: answer ``If-None-Match``, ``If-Modified-Since``,
        ``If-Match``, ``If-Unmodified-Since``, ``Range`` and ``If-Range``
        (see :func:`make_conditional`).
    :param etag: ``True`` computes an ETag from the path's modification
        time, size and name; a string is used as the ETag; ``False`` sends
        none.
    :param last_modified: the ``Last-Modified`` time; the file's
        modification time by default when a path is given.
    :param max_age: seconds a browser may cache the file without asking
        again, or a function of the path returning them.  By default the
        app's ``get_send_file_max_age`` (``SEND_FILE_MAX_AGE_DEFAULT``,
        ``None``: ``Cache-Control: no-cache``).
    :raises TypeError: a file object with neither ``mimetype`` nor
        ``download_name``, or ``as_attachment`` without a name.
    :raises ValueError: a file opened in text mode.

    .. versionadded:: 0.1
    """
    app: Erlen = current_app._get_current_object()  # type: ignore[attr-defined]
    if isinstance(path_or_file, (str, os.PathLike)):
        path = os.path.join(app.root_path, os.fspath(path_or_file))
        file: t.IO[bytes] = open(path, "rb")  # noqa: SIM115 - closed by the body
        with _closed_on_error(file):
            info = os.fstat(file.fileno())
        return _file_response(
            app,
            file,
            path,
            info.st_size,
            info.st_mtime,
            mimetype=mimetype,
            as_attachment=as_attachment,
            download_name=download_name,
            conditional=conditional,
            etag=etag,
            last_modified=last_modified,
            max_age=max_age,
        )
    file = path_or_file
    if isinstance(file, io.TextIOBase):
        raise ValueError(
            "Files must be opened in binary mode ('rb') or be an io.BytesIO;"
            " send_file got a text file."
        )
    return _file_response(
        app,
        file,
        None,
        _remaining_size(file),
        None,
        mimetype=mimetype,
        as_attachment=as_attachment,
        download_name=download_name,
        conditional=conditional,
        etag=etag,
        last_modified=last_modified,
        max_age=max_age,
    )


def send_from_directory(
    directory: str | os.PathLike[str],
    path: str | os.PathLike[str],
    **kwargs: t.Any,
) -> Response:
    """Send a file from inside ``directory``, with ``path`` taken from the
    URL: the safe way to serve user-chosen files.

    ``path`` is refused with a 404, before anything is opened, when it
    would leave ``directory`` (``..``, an absolute path, a backslash, a
    drive, a NUL byte), and the file is refused with the same 404 when it
    resolves, through symlinks, outside ``directory``, or is not a regular
    file (a folder, a FIFO, a device).

    ::

        @app.get("/uploads/<path:name>")
        def download_file(name):
            return send_from_directory(
                app.config["UPLOAD_FOLDER"], name, as_attachment=True
            )

    :param directory: the folder files are served from; relative to the
        app's :attr:`~erlen.Erlen.root_path` unless absolute.
    :param path: the file's path below ``directory``, ``/``-separated.
    :param kwargs: passed to :func:`send_file`.
    :raises erlen.exceptions.NotFound: no such file inside ``directory``.

    .. versionadded:: 0.1
    """
    app: Erlen = current_app._get_current_object()  # type: ignore[attr-defined]
    directory = os.path.join(app.root_path, os.fspath(directory))
    joined = safe_join(directory, os.fspath(path))
    if joined is None:
        raise NotFound()
    file, info, real = _open_inside(directory, joined)
    return _file_response(
        app, file, joined, info.st_size, info.st_mtime, real_path=real, **kwargs
    )


def _open_inside(directory: str, path: str) -> tuple[t.IO[bytes], os.stat_result, str]:
    """Open ``path`` if it is a regular file that resolves inside
    ``directory``; raise :class:`NotFound` otherwise."""
    root = os.path.realpath(directory)
    real = os.path.realpath(path)
    # commonpath, not startswith: "/srv/static2/x" is not inside "/srv/static".
    try:
        inside = real != root and os.path.commonpath((root, real)) == root
    except ValueError:  # different drives on Windows
        inside = False
    if not inside:
        raise NotFound()
    try:
        fd = os.open(real, _OPEN_FLAGS)
    except OSError as e:
        if e.errno in _MISSING_ERRNOS:
            raise NotFound() from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotFound()
        return os.fdopen(fd, "rb"), info, real
    except BaseException:
        os.close(fd)
        raise


def _remaining_size(file: t.IO[bytes]) -> int | None:
    """Bytes from a file object's position to its end, when that can be
    known without reading: a ``BytesIO``, or a seekable regular file."""
    try:
        if hasattr(file, "getbuffer"):
            return int(file.getbuffer().nbytes - file.tell())
        if not file.seekable():
            return None
        info = os.fstat(file.fileno())
    except (AttributeError, OSError, ValueError):
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return max(0, info.st_size - file.tell())


@contextmanager
def _closed_on_error(file: t.IO[bytes]) -> t.Iterator[None]:
    """Close ``file`` if the block raises: a response that is not returned
    cannot close it."""
    try:
        yield
    except BaseException:
        file.close()
        raise


def _file_response(
    app: Erlen,
    file: t.IO[bytes],
    path: str | None,
    size: int | None,
    mtime: float | None,
    *,
    mimetype: str | None = None,
    as_attachment: bool = False,
    download_name: str | None = None,
    conditional: bool = True,
    etag: bool | str = True,
    last_modified: datetime | int | float | None = None,
    max_age: MaxAge = None,
    real_path: str | None = None,
) -> Response:
    """The response sending ``file``, which it owns.

    :param path: the path as asked for (names the download, keys the ETag).
    :param real_path: the resolved path, sent as ``X-Sendfile``.
    """
    real_path = real_path or path
    with _closed_on_error(file):
        if download_name is None and path is not None:
            download_name = os.path.basename(path)
        encoding = None
        if mimetype is None:
            if download_name is None:
                raise TypeError(
                    "Unable to detect the MIME type because a file name is not"
                    " available. Either set 'download_name', pass a path instead"
                    " of a file, or set 'mimetype'."
                )
            mimetype, encoding = mimetypes.guess_type(download_name)
            mimetype = mimetype or "application/octet-stream"
        if as_attachment and download_name is None:
            raise TypeError(
                "No name provided for attachment. Either set 'download_name' or"
                " pass a path instead of a file."
            )

        x_sendfile = real_path is not None and app.config["USE_X_SENDFILE"]
        if x_sendfile:
            # The front server (Apache, lighttpd; nginx: X-Accel-Redirect)
            # reads the file and answers ranges itself.
            file.close()
            body: t.Any = []
        else:
            body = FileBody(file)
        response = app.response_class(body, mimetype=mimetype, direct_passthrough=True)
        headers = response.headers
        if download_name is not None:
            headers["Content-Disposition"] = content_disposition(
                "attachment" if as_attachment else "inline", download_name
            )
        if encoding is not None and not as_attachment:
            # "page.html.gz" shown inline is HTML the browser should decompress.
            headers["Content-Encoding"] = encoding
        if x_sendfile:
            headers["X-Sendfile"] = t.cast(str, real_path)
            # Without Content-Length: if no front server answers X-Sendfile, the
            # client gets an empty body instead of waiting for missing bytes.
            headers.pop("Content-Length", None)
        elif size is not None:
            headers["Content-Length"] = str(size)

        if last_modified is None and mtime is not None:
            last_modified = mtime
        if last_modified is not None:
            headers["Last-Modified"] = http_date(last_modified)

        _set_caching(headers, app, path, max_age)

        if isinstance(etag, str):
            headers["ETag"] = quote_etag(etag)
        elif etag and path is not None and mtime is not None:
            check = zlib.adler32(os.fsencode(path)) & 0xFFFFFFFF
            headers["ETag"] = quote_etag(f"{mtime}-{size}-{check}")

        if conditional:
            ctx = _cv_request.get(None)
            if ctx is not None:
                make_conditional(
                    response,
                    ctx.request,
                    accept_ranges=not x_sendfile,
                    complete_length=size,
                )
        return response


def _set_caching(
    headers: Headers, app: Erlen, path: str | None, max_age: MaxAge
) -> None:
    """``Cache-Control`` and ``Expires`` as Flask sends them: ``no-cache``
    (revalidate each time) without a max age, ``public, max-age=N`` with
    one."""
    if max_age is None:
        max_age = getattr(app, "get_send_file_max_age", config_max_age)
    if callable(max_age):
        max_age = max_age(path)
    if max_age is None:
        headers["Cache-Control"] = "no-cache"
        return
    max_age = int(max_age)
    if max_age > 0:
        headers["Cache-Control"] = f"public, max-age={max_age}"
    else:
        headers["Cache-Control"] = f"no-cache, max-age={max_age}"
    headers["Expires"] = http_date(time.time() + max_age)


def content_disposition(kind: str, filename: str) -> str:
    """A ``Content-Disposition`` value: ``kind`` (``"inline"`` or
    ``"attachment"``) and ``filename``.

    An ASCII name is sent as ``filename`` (quoted when needed).  Any other
    name is sent as RFC 5987 ``filename*=UTF-8''...`` (percent-encoded
    UTF-8, which browsers prefer) plus an ASCII ``filename`` fallback for
    old clients: the name decomposed (NFKD) with what is left non-ASCII
    dropped, so ``"Ñandú.txt"`` falls back to ``"Nandu.txt"``.
    """
    if filename.isascii():
        params = {"filename": filename}
    else:
        fallback = unicodedata.normalize("NFKD", filename)
        params = {
            "filename": fallback.encode("ascii", "ignore").decode("ascii"),
            # RFC 5987 attr-char: what quote() keeps plus these.
            "filename*": "UTF-8''" + quote(filename, safe="!#$&+^`|~"),
        }
    return dump_options_header(kind, params)


# -- conditional requests ------------------------------------------------------


def make_conditional(
    response: Response,
    request: Request | t.Mapping[str, t.Any],
    accept_ranges: bool = False,
    complete_length: int | None = None,
) -> Response:
    """Answer a ``GET`` or ``HEAD`` request's preconditions and range from
    ``response``'s ``ETag`` and ``Last-Modified`` headers, as RFC 9110
    §13.2.2 orders them.

    * ``If-Match`` without the ETag (strong comparison), or else
      ``If-Unmodified-Since`` older than ``Last-Modified``: raises
      :class:`~erlen.exceptions.PreconditionFailed` (412).
    * ``If-None-Match`` with the ETag (weak comparison, or ``*``), or else
      ``If-Modified-Since`` not older than ``Last-Modified``: the response
      becomes a ``304 Not Modified`` without a body.
    * With ``accept_ranges``, one satisfiable byte range (``bytes=0-99``,
      ``bytes=-500``, ``bytes=9500-``) makes a ``206 Partial Content`` with
      ``Content-Range``; a range that starts past the end raises
      :class:`~erlen.exceptions.RequestedRangeNotSatisfiable` (416, with
      ``Content-Range: bytes */length``).  An ``If-Range`` that does not
      match (a weak ETag never does) sends the whole body.  Several ranges
      (multipart/byteranges), another unit, or an invalid range are
      ignored: the whole body is sent with ``200``, as RFC 9110 allows.

    The response's body is closed when it will not be sent (``304`` and the
    errors).  Ranges apply to a :class:`FileBody` or an in-memory body;
    other streamed bodies are always sent whole.  Other methods are left
    alone.

    :param response: the response to change in place; also returned.
    :param request: the :class:`~erlen.Request`, or a WSGI environ.
    :param accept_ranges: answer ``Range`` and send ``Accept-Ranges: bytes``.
    :param complete_length: the body's length in bytes; taken from an
        in-memory body when not given.  Ranges need it.

    .. versionadded:: 0.1
    """
    if isinstance(request, t.Mapping):
        environ = request
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()

        def header(name: str) -> str | None:
            key = "HTTP_" + name.upper().replace("-", "_")
            value = environ.get(key)
            return None if value is None else str(value)

    else:
        method = request.method
        # PERF: one header's value without building request.headers.
        raw_header = request._header

        def header(name: str) -> str | None:
            return raw_header(name.lower())

    if method not in ("GET", "HEAD"):
        return response

    headers = response.headers
    body = response.response
    if accept_ranges and complete_length is None and isinstance(body, list):
        complete_length = len(response.get_data())
    # Ranges of a FileBody or an in-memory body, whose length is known.
    rangeable = (
        accept_ranges
        and complete_length is not None
        and isinstance(body, (FileBody, list))
    )
    if rangeable:
        headers["Accept-Ranges"] = "bytes"

    etag_value = headers.get("ETag")
    etag, weak = unquote_etag(etag_value) if etag_value else (None, False)
    last_modified = _second(parse_date(headers.get("Last-Modified")))

    if_match = header("If-Match")
    if if_match is not None:
        tags = parse_etags(if_match)
        if not (tags.star_tag or (etag is not None and not weak and etag in tags)):
            _fail(response, PreconditionFailed())
    else:
        since = _second(parse_date(header("If-Unmodified-Since")))
        if since is not None and last_modified is not None and last_modified > since:
            _fail(response, PreconditionFailed())

    if_none_match = header("If-None-Match")
    if if_none_match is not None:
        tags = parse_etags(if_none_match)
        if tags.star_tag or (etag is not None and tags.contains_weak(etag)):
            return _not_modified(response)
    else:
        since = _second(parse_date(header("If-Modified-Since")))
        if since is not None and last_modified is not None and last_modified <= since:
            return _not_modified(response)

    range_header = header("Range")
    if (
        not rangeable
        or range_header is None
        or not _if_range_holds(header("If-Range"), etag, weak, last_modified)
    ):
        return response
    length = t.cast(int, complete_length)
    span = parse_byte_range(range_header, length)
    if span is None:
        return response
    if isinstance(span, _Unsatisfiable):
        _fail(response, RequestedRangeNotSatisfiable(length=length))
    start, stop = span
    if isinstance(body, FileBody):
        body.start += start
        body.length = stop - start
    else:
        response.response = [response.get_data()[start:stop]]
    response.status_code = 206
    headers["Content-Range"] = f"bytes {start}-{stop - 1}/{length}"
    headers["Content-Length"] = str(stop - start)
    return response


def _second(value: datetime | None) -> datetime | None:
    """HTTP dates have one-second precision: compare at that precision."""
    # werkzeug's parse_date gives aware UTC datetimes.
    return None if value is None else value.replace(microsecond=0)


def _if_range_holds(
    value: str | None, etag: str | None, weak: bool, last_modified: datetime | None
) -> bool:
    """Whether a ``Range`` applies given ``If-Range`` (RFC 9110 §13.1.5):
    absent, the current strong ETag, or exactly the ``Last-Modified`` date."""
    if value is None:
        return True
    value = value.strip()
    if value.startswith(('"', "W/")):
        tag, tag_weak = unquote_etag(value)
        return etag is not None and not weak and not tag_weak and tag == etag
    date = _second(parse_date(value))
    return date is not None and date == last_modified


class _Unsatisfiable:
    """The type of :data:`_UNSATISFIABLE`."""


#: :func:`parse_byte_range`'s answer for a range that starts past the end.
_UNSATISFIABLE: t.Final = _Unsatisfiable()


def parse_byte_range(
    value: str, length: int
) -> tuple[int, int] | _Unsatisfiable | None:
    """The one byte range a ``Range`` header asks of ``length`` bytes, as
    ``(start, stop)`` with ``stop`` exclusive and clamped to ``length``.

    ``None`` means "ignore the header and send everything": another unit,
    invalid syntax, or several ranges.  ``_UNSATISFIABLE`` means a ``416``:
    the range starts at or past the end (or is an empty suffix).  The work
    is linear in the header's length, whatever it holds.
    """
    unit, eq, spec = value.partition("=")
    if not eq or unit.strip().lower() != "bytes":
        return None
    specs = [s for s in spec.split(",") if s.strip()]
    if len(specs) != 1:
        return None
    first, dash, last = specs[0].strip().partition("-")
    if not dash:
        return None
    if not first:
        suffix = _number(last)
        if suffix is None:
            return None
        if suffix == 0 or length == 0:
            return _UNSATISFIABLE
        return (max(0, length - suffix), length)
    start = _number(first)
    if start is None:
        return None
    if last:
        end = _number(last)
        if end is None or end < start:
            return None
    else:
        end = _HUGE
    if start >= length:
        return _UNSATISFIABLE
    return (start, min(end + 1, length))


def _number(text: str) -> int | None:
    """A range bound: ASCII digits only; anything too long for a real file
    is :data:`_HUGE`, without converting it."""
    if not (text.isascii() and text.isdigit()):
        return None
    text = text.lstrip("0") or "0"
    if len(text) > _MAX_DIGITS:
        return _HUGE
    return int(text)


def _fail(response: Response, error: Exception) -> t.NoReturn:
    """Close ``response``'s body, which will not be sent, and raise."""
    _close_body(response)
    raise error


def _not_modified(response: Response) -> Response:
    """Turn ``response`` into a body-less ``304`` keeping the validators and
    caching headers (RFC 9110 §15.4.5)."""
    _close_body(response)
    response.response = []
    response.status_code = 304
    headers = response.headers
    for name in (
        "Content-Length",
        "Content-Type",
        "Content-Range",
        "Content-Encoding",
    ):
        headers.pop(name, None)
    if "ETag" in headers:
        # Last-Modified only guides a cache that has no ETag to go by.
        headers.pop("Last-Modified", None)
    return response


def _close_body(response: Response) -> None:
    close = getattr(response.response, "close", None)
    if close is not None:
        close()
