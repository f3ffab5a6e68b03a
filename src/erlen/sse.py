"""Server-sent events: a response that pushes events to a browser's
``EventSource`` over one long HTTP response.

A view returns :func:`event_stream` of an iterable of events; each event is
sent as soon as the iterable produces it::

    from erlen.sse import ServerSentEvent, event_stream

    @app.get("/clock")
    async def clock():
        async def ticks():
            while True:
                yield ServerSentEvent({"now": time.time()}, event="tick")
                await asyncio.sleep(1)

        return event_stream(ticks())

An item may be a :class:`ServerSentEvent`, a ``str`` (the data of an
unnamed event) or anything JSON can encode (a ``dict``, a ``list``, ...),
sent as JSON data.

While an *async* iterable has nothing to send for ``keep_alive`` seconds, a
comment line is sent so proxies and the browser keep the connection open.
A *sync* iterable gets no keep-alive: it runs in a thread that nothing can
interrupt while it waits, so it should yield an event (or a
``ServerSentEvent(comment=...)``) often enough itself.

The wire format is the WHATWG HTML standard's ``text/event-stream``
(section 9.2, "Server-sent events").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import typing as t
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator

from .wrappers import Response

__all__ = ["KEEP_ALIVE", "EventStream", "ServerSentEvent", "event_stream"]

#: The comment sent when an async stream has been quiet for ``keep_alive``
#: seconds.  A comment is ignored by ``EventSource`` but keeps proxies from
#: timing the connection out.
KEEP_ALIVE = b": keep-alive\n\n"

# The standard ends a line at CRLF, a lone CR or a lone LF (and nothing
# else: ``str.splitlines`` would also split at U+2028 and friends, which a
# browser keeps inside the data).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")

Dumps = t.Callable[[t.Any], str]


class ServerSentEvent:
    """One event of an event stream.

    :param data: the event's data.  A ``str`` is sent as it is (a multi-line
        string as several ``data:`` lines, which the browser joins with
        ``\\n``); ``bytes`` are decoded as UTF-8; anything else is encoded as
        JSON.  ``None`` sends no data (an event that only sets ``id`` or
        ``retry``).
    :param event: the event type; the browser dispatches the event to
        ``addEventListener(event, ...)`` listeners instead of ``onmessage``.
    :param id: the event's id; a reconnecting browser sends it back in the
        ``Last-Event-ID`` header.
    :param retry: how long the browser waits before reconnecting, in
        milliseconds.
    :param comment: a comment line, ignored by the browser.

    :raises ValueError: an ``event`` or ``id`` holding a line break (it
        would inject fields into the stream), an ``id`` holding NUL (the
        browser would ignore it), a negative ``retry``, or an event with
        nothing to send.
    """

    __slots__ = ("data", "event", "id", "retry", "comment")

    def __init__(
        self,
        data: t.Any = None,
        event: str | None = None,
        id: str | int | None = None,
        retry: int | None = None,
        comment: str | None = None,
    ) -> None:
        if event is not None and _LINE_BREAK.search(event):
            raise ValueError(f"An event type cannot contain a line break: {event!r}.")
        if id is not None:
            id = str(id)
            if _LINE_BREAK.search(id) or "\0" in id:
                raise ValueError(
                    f"An event id cannot contain a line break or NUL: {id!r}."
                )
        if retry is not None and (
            isinstance(retry, bool) or not isinstance(retry, int) or retry < 0
        ):
            raise ValueError(
                f"'retry' is a number of milliseconds (an int >= 0), not {retry!r}."
            )
        if data is None and event is None and id is None and retry is None:
            if comment is None:
                raise ValueError(
                    "An event needs data, an id, a retry time or a comment."
                )
        self.data = data
        self.event = event
        self.id = id
        self.retry = retry
        self.comment = comment

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={getattr(self, name)!r}"
            for name in self.__slots__
            if getattr(self, name) is not None
        )
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ServerSentEvent):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    __hash__ = None  # type: ignore[assignment]

    def encode(self, dumps: Dumps = json.dumps) -> bytes:
        """The event in the wire format: comment lines, then ``event:``,
        ``id:``, ``retry:`` and ``data:`` lines, then a blank line.

        :param dumps: encodes data that is neither ``str`` nor ``bytes``.
        """
        lines: list[str] = []
        if self.comment is not None:
            lines.extend(f": {line}" for line in _LINE_BREAK.split(self.comment))
        if self.event is not None:
            lines.append(f"event: {self.event}")
        if self.id is not None:
            lines.append(f"id: {self.id}")
        if self.retry is not None:
            lines.append(f"retry: {self.retry}")
        data = self.data
        if data is not None:
            if isinstance(data, (bytes, bytearray, memoryview)):
                text = bytes(data).decode()
            elif isinstance(data, str):
                text = data
            else:
                text = dumps(data)
            lines.extend(f"data: {line}" for line in _LINE_BREAK.split(text))
        lines.append("\n")
        return "\n".join(lines).encode()


def _to_event(item: t.Any) -> ServerSentEvent:
    if isinstance(item, ServerSentEvent):
        return item
    return ServerSentEvent(item)


def _encode_sync(
    events: Iterable[t.Any], dumps: Dumps, first: bytes | None
) -> Iterator[bytes]:
    iterator = iter(events)
    try:
        if first is not None:
            yield first
        for item in iterator:
            yield _to_event(item).encode(dumps)
    finally:
        # The server closes the body when the client went away: pass that on
        # so the events' generator runs its ``finally``.
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


async def _encode_async(
    events: AsyncIterable[t.Any],
    dumps: Dumps,
    first: bytes | None,
    keep_alive: float | None,
) -> AsyncIterator[bytes]:
    iterator = events.__aiter__()
    # The next item is awaited in a task of its own so that waiting for it
    # can time out (and send a keep-alive) without cancelling it: cancelling
    # ``__anext__`` would end the events' generator.
    pending: asyncio.Future[t.Any] | None = None
    try:
        if first is not None:
            yield first
        while True:
            if keep_alive is None:
                try:
                    item = await iterator.__anext__()
                except StopAsyncIteration:
                    return
            else:
                if pending is None:
                    pending = asyncio.ensure_future(iterator.__anext__())
                done, _ = await asyncio.wait({pending}, timeout=keep_alive)
                if not done:
                    yield KEEP_ALIVE
                    continue
                finished, pending = pending, None
                try:
                    item = finished.result()
                except StopAsyncIteration:
                    return
            yield _to_event(item).encode(dumps)
    finally:
        if pending is not None:
            # Cancelling the task throws CancelledError into the events'
            # generator where it waits, so its ``finally`` runs now.
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await pending
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()


class EventStream(Response):
    """A ``text/event-stream`` response sending ``events`` as they are
    produced; see :func:`event_stream`.

    :param events: an iterable or async iterable of events: each a
        :class:`ServerSentEvent`, a ``str`` (data) or a JSON-encodable
        value (data as JSON).
    :param keep_alive: for an async iterable, send :data:`KEEP_ALIVE` after
        this many seconds without an event; ``None`` or ``0`` disables it.
        Sync iterables get none (see the module's documentation).
    :param retry: sent first, as the browser's reconnection delay in
        milliseconds.
    :param status: the response status.
    :param headers: more headers for the response.

    .. versionadded:: 0.1
    """

    default_mimetype = "text/event-stream"

    def __init__(
        self,
        events: Iterable[t.Any] | AsyncIterable[t.Any],
        *,
        keep_alive: float | None = 15.0,
        retry: int | None = None,
        status: int | None = None,
        headers: t.Any = None,
    ) -> None:
        if isinstance(events, (str, bytes, bytearray, dict, ServerSentEvent)):
            raise TypeError(
                "event_stream() takes an iterable of events, such as a"
                f" generator, not a single {type(events).__name__}. To send one"
                " event, pass a list: event_stream([event])."
            )
        if keep_alive is not None and keep_alive < 0:
            raise ValueError(f"'keep_alive' must be >= 0 seconds, not {keep_alive}.")
        first = ServerSentEvent(retry=retry).encode() if retry is not None else None
        dumps = _json_dumps()
        body: Iterator[bytes] | AsyncIterator[bytes]
        if hasattr(events, "__aiter__"):
            body = _encode_async(
                t.cast(AsyncIterable[t.Any], events),
                dumps,
                first,
                keep_alive or None,
            )
        elif hasattr(events, "__iter__"):
            body = _encode_sync(events, dumps, first)
        else:
            raise TypeError(
                "event_stream() takes an iterable or async iterable of events,"
                f" not {type(events).__name__}."
            )
        super().__init__(
            body, status=status, headers=headers, content_type="text/event-stream"
        )
        # Intermediaries must neither cache nor buffer the stream (nginx
        # buffers a proxied response unless told not to).
        self.headers.setdefault("Cache-Control", "no-cache")
        self.headers.setdefault("X-Accel-Buffering", "no")


def event_stream(
    events: Iterable[t.Any] | AsyncIterable[t.Any],
    *,
    keep_alive: float | None = 15.0,
    retry: int | None = None,
) -> EventStream:
    """Return a response streaming ``events`` as server-sent events::

        @app.get("/updates")
        async def updates():
            async def generate():
                async for change in watch_changes():
                    yield ServerSentEvent(change, event="change", id=change["id"])

            return event_stream(generate())

    :param events: a generator (sync or async) or other iterable of
        :class:`ServerSentEvent`, ``str`` (data) or JSON-encodable values.
    :param keep_alive: seconds without an event after which an async stream
        sends the comment :data:`KEEP_ALIVE`; ``None`` disables it.
    :param retry: the browser's reconnection delay in milliseconds, sent
        first.

    The generator runs after the view has returned, so ``request`` and
    ``session`` are not available in it unless it is wrapped in
    :func:`~erlen.stream_with_context`.

    .. versionadded:: 0.1
    """
    return EventStream(events, keep_alive=keep_alive, retry=retry)


def _json_dumps() -> Dumps:
    """The current app's JSON encoder (taken now: the stream is encoded
    after the view's context has ended), or the standard library's."""
    from .globals import _find_app_ctx

    ctx = _find_app_ctx()
    if ctx is None:
        return json.dumps
    return ctx.app.json.dumps
