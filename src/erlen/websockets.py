"""Websockets (ASGI only).

A websocket route is an ``async def`` view registered with
``@app.websocket(rule)``.  Inside it, :data:`erlen.websocket` is the
connection::

    @app.websocket("/ws/<int:room>")
    async def chat(room):
        async for message in websocket:
            await websocket.send_text(f"{room}: {message}")

The handshake is accepted on the first ``send``/``receive`` (or explicitly
with :meth:`WebSocket.accept`).  Returning a response or calling ``abort``
before that rejects the handshake with that HTTP status.
"""

from __future__ import annotations

import contextlib
import json
import typing as t

if t.TYPE_CHECKING:
    from .datastructures import Headers, ImmutableMultiDict
    from .sessions import SessionMixin
    from .wrappers import Request, Response

__all__ = ["WebSocket", "WebSocketDisconnect", "WebSocketError"]

Receive = t.Callable[[], t.Awaitable[dict[str, t.Any]]]
Send = t.Callable[[dict[str, t.Any]], t.Awaitable[None]]

CONNECTING, CONNECTED, CLOSED = "connecting", "connected", "closed"


class WebSocketError(RuntimeError):
    """A websocket used the wrong way, e.g. sending after it was closed."""


class WebSocketDisconnect(Exception):
    """The client went away (or the connection was closed).

    :param code: the close code (1000 normal, 1001 going away, 1009 message
        too big, ...).
    :param reason: the close reason, if the client gave one.
    """

    def __init__(self, code: int = 1000, reason: str = "") -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        return f"websocket closed with code {self.code}" + (
            f": {self.reason}" if self.reason else ""
        )


class WebSocket:
    """One websocket connection; ``erlen.websocket`` in a websocket view.

    ``headers``, ``args``, ``cookies``, ``path`` and the other request
    attributes of the handshake are available as on ``request``; the
    ``session`` can be read (it cannot be saved: there is no response).
    """

    def __init__(
        self,
        request: Request,
        scope: dict[str, t.Any],
        receive: Receive,
        send: Send,
        max_message_size: int | None = None,
    ) -> None:
        self.request = request
        self.scope = scope
        self._receive = receive
        self._send = send
        #: Largest incoming message in bytes; bigger closes with 1009.
        self.max_message_size = max_message_size
        self.state = CONNECTING
        #: The subprotocols the client offered.
        self.subprotocols: list[str] = list(scope.get("subprotocols") or ())
        #: The close code once closed.
        self.close_code: int | None = None

    # -- the handshake's request data --------------------------------------

    @property
    def headers(self) -> Headers:
        """The handshake's headers."""
        return self.request.headers

    @property
    def args(self) -> ImmutableMultiDict[str, str]:
        """The handshake's query string."""
        return self.request.args

    @property
    def cookies(self) -> ImmutableMultiDict[str, str]:
        """The handshake's cookies."""
        return self.request.cookies

    @property
    def path(self) -> str:
        """The path the client connected to."""
        return self.request.path

    @property
    def url(self) -> str:
        """The full ``ws://`` / ``wss://`` URL."""
        return self.request.url

    @property
    def session(self) -> SessionMixin:
        """The session from the handshake's cookie (read-only: a websocket
        has no response to save it in)."""
        from .globals import _cv_request

        ctx = _cv_request.get()
        return ctx.session

    def __getattr__(self, name: str) -> t.Any:
        # Everything else the handshake request has (host, remote_addr, ...).
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.request, name)

    # -- the connection ------------------------------------------------------

    @property
    def accepted(self) -> bool:
        """Whether the handshake was accepted."""
        return self.state != CONNECTING or self.close_code is not None

    async def accept(
        self,
        subprotocol: str | None = None,
        headers: t.Iterable[tuple[str, str]] | dict[str, str] | None = None,
    ) -> None:
        """Accept the handshake.

        :param subprotocol: one of :attr:`subprotocols` to select.
        :param headers: extra headers for the handshake response.
        """
        if self.state != CONNECTING:
            raise WebSocketError("The websocket was already accepted or closed.")
        if subprotocol is not None and subprotocol not in self.subprotocols:
            raise WebSocketError(
                f"Subprotocol {subprotocol!r} was not offered by the client"
                f" (it offered {self.subprotocols!r})."
            )
        message: dict[str, t.Any] = {"type": "websocket.accept"}
        if subprotocol is not None:
            message["subprotocol"] = subprotocol
        if headers:
            items = headers.items() if isinstance(headers, dict) else headers
            message["headers"] = [
                (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in items
            ]
        await self._send(message)
        self.state = CONNECTED

    async def _ensure_accepted(self) -> None:
        if self.state == CONNECTING:
            await self.accept()
        elif self.state == CLOSED:
            raise WebSocketError(
                f"The websocket is closed (code {self.close_code}); it cannot be"
                " used any more."
            )

    async def receive(self) -> str | bytes:
        """The next message, as ``str`` (text frame) or ``bytes`` (binary).

        :raises WebSocketDisconnect: the client closed the connection.
        """
        await self._ensure_accepted()
        message = await self._receive()
        kind = message["type"]
        if kind == "websocket.disconnect":
            self.state = CLOSED
            self.close_code = message.get("code", 1005)
            raise WebSocketDisconnect(self.close_code, message.get("reason") or "")
        if kind != "websocket.receive":
            raise WebSocketError(f"Unexpected ASGI message {kind!r}.")
        data: str | bytes | None = message.get("text")
        if data is None:
            data = message.get("bytes") or b""
        limit = self.max_message_size
        if limit is not None and _size_over(data, limit):
            await self.close(1009, "Message too big")
            raise WebSocketDisconnect(1009, "Message too big")
        return data

    async def receive_text(self) -> str:
        """The next message as text (a binary message is decoded as UTF-8)."""
        data = await self.receive()
        return data if isinstance(data, str) else data.decode()

    async def receive_bytes(self) -> bytes:
        """The next message as bytes (a text message is encoded as UTF-8)."""
        data = await self.receive()
        return data if isinstance(data, bytes) else data.encode()

    async def receive_json(self) -> t.Any:
        """The next message parsed as JSON."""
        from .globals import _find_app_ctx

        data = await self.receive()
        ctx = _find_app_ctx()
        if ctx is not None:
            return ctx.app.json.loads(data)
        return json.loads(data)

    async def send(self, data: str | bytes | t.Any) -> None:
        """Send ``str`` as a text message, ``bytes`` as a binary one, and
        anything else as JSON text.

        :raises WebSocketDisconnect: the client has gone (code 1006).
        :raises WebSocketError: the websocket was closed already.
        """
        if isinstance(data, str):
            await self.send_text(data)
        elif isinstance(data, (bytes, bytearray, memoryview)):
            await self.send_bytes(bytes(data))
        else:
            await self.send_json(data)

    async def send_text(self, data: str) -> None:
        """Send a text message."""
        await self._send_message({"type": "websocket.send", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary message."""
        await self._send_message({"type": "websocket.send", "bytes": data})

    async def _send_message(self, message: dict[str, t.Any]) -> None:
        await self._ensure_accepted()
        try:
            await self._send(message)
        except OSError as e:
            # ASGI servers raise an OSError (uvicorn: ClientDisconnected) when
            # the connection is gone; a handler that only sends learns here
            # that its client left, the same way a receiving one does.
            self.state = CLOSED
            self.close_code = 1006
            raise WebSocketDisconnect(1006, "The client went away.") from e

    async def send_json(self, data: t.Any) -> None:
        """Send ``data`` as JSON text."""
        from .globals import _find_app_ctx

        ctx = _find_app_ctx()
        text = ctx.app.json.dumps(data) if ctx is not None else json.dumps(data)
        await self.send_text(text)

    def __aiter__(self) -> WebSocket:
        return self

    async def __anext__(self) -> str | bytes:
        try:
            return await self.receive()
        except WebSocketDisconnect:
            raise StopAsyncIteration from None

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection (before accepting: refuse the handshake).
        Closing a closed websocket, or one whose client has gone, does
        nothing."""
        if self.state == CLOSED:
            return
        message: dict[str, t.Any] = {"type": "websocket.close", "code": code}
        if reason:
            message["reason"] = reason
        self.state = CLOSED
        self.close_code = code
        with contextlib.suppress(OSError):  # the client already went away
            await self._send(message)

    async def _reject(self, response: Response) -> None:
        """Refuse the handshake with an HTTP response: sent as it is where the
        server supports ASGI's denial response, else as a 403 close."""
        extensions = self.scope.get("extensions") or {}
        self.state = CLOSED
        self.close_code = 1008
        if "websocket.http.response" in extensions:
            await self._send(
                {
                    "type": "websocket.http.response.start",
                    "status": response.status_code,
                    "headers": [
                        (k.lower().encode("latin-1"), v.encode("latin-1"))
                        for k, v in response.headers.items()
                    ],
                }
            )
            body = response.get_data() if not response.is_streamed else b""
            await self._send({"type": "websocket.http.response.body", "body": body})
        else:
            await self._send({"type": "websocket.close", "code": 1008})


def _size_over(data: str | bytes, limit: int) -> bool:
    """Whether ``data`` is over ``limit`` bytes (text counted as UTF-8)."""
    size = len(data)
    if isinstance(data, str) and size <= limit < size * 4:
        # PERF: a character is 1 to 4 bytes, so only a text whose length is
        # near the limit needs encoding to be measured.
        size = len(data.encode("utf-8", "surrogatepass"))
    return size > limit
