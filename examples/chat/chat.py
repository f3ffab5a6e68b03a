"""A chat room: every message sent by one page shows up on every open page.

Browsers talk to the room over a websocket (``/ws``); clients without
websockets can follow it as Server-Sent Events (``/events``) and post with
``POST /messages``.  Serve it with the development server (it runs the app
under ASGI, which websockets need)::

    erlen --app examples/chat/chat.py run --port 5000

``GET /stats`` tells how many websockets are connected and how many have
gone away, which is what the browser test watches.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import typing as t
from collections.abc import AsyncIterator

from erlen import Erlen, render_template, request
from erlen.globals import websocket
from erlen.websockets import WebSocketDisconnect

app = Erlen(__name__)
log = logging.getLogger("erlen.examples.chat")

#: Longest name and message text kept; longer ones are cut.
MAX_NAME = 40
MAX_TEXT = 2000
#: Messages a slow subscriber may fall behind by before it misses some.
QUEUE_SIZE = 100
#: Seconds between the comment lines that keep an idle event stream open
#: through proxies.
KEEPALIVE = 15.0


class Subscriber:
    """One listener: a websocket or an event stream.

    Its queue belongs to the event loop it was made on.  Under uvicorn there
    is one loop, but a server (or the test client) may run connections on
    loops in other threads, so a message from another thread is handed over
    with ``call_soon_threadsafe``.
    """

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self.dropped = 0

    def _put(self, message: str) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            # A stuck client must not hold up the room: it misses messages.
            self.dropped += 1

    def put(self, message: str) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self._put(message)
        elif not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._put, message)


class Room:
    """The module-level registry of who is listening, and a few counters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._websockets: set[Subscriber] = set()
        self._streams: set[Subscriber] = set()
        self.disconnects = 0
        self.messages = 0

    def join(self, *, stream: bool = False) -> Subscriber:
        subscriber = Subscriber()
        with self._lock:
            (self._streams if stream else self._websockets).add(subscriber)
        return subscriber

    def leave(self, subscriber: Subscriber) -> None:
        with self._lock:
            if subscriber in self._websockets:
                self._websockets.discard(subscriber)
                self.disconnects += 1
            else:
                self._streams.discard(subscriber)

    def publish(self, message: dict[str, str]) -> None:
        text = json.dumps(message)
        with self._lock:
            self.messages += 1
            subscribers = [*self._websockets, *self._streams]
        for subscriber in subscribers:
            subscriber.put(text)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "connected": len(self._websockets),
                "disconnects": self.disconnects,
                "streams": len(self._streams),
                "messages": self.messages,
            }


room = Room()


def clean(data: t.Any) -> dict[str, str] | None:
    """The ``{"name", "text"}`` message to broadcast, or None if ``data`` is
    not one.  Text is passed on as it is: pages must insert it as text."""
    if not isinstance(data, dict):
        return None
    name, text = data.get("name"), data.get("text")
    if not isinstance(name, str) or not isinstance(text, str):
        return None
    name, text = name.strip()[:MAX_NAME] or "anonymous", text.strip()[:MAX_TEXT]
    if not text:
        return None
    return {"name": name, "text": text}


@app.get("/")
def index() -> str:
    return render_template("index.html")


@app.get("/stats")
def stats() -> dict[str, int]:
    return room.stats()


@app.websocket("/ws")
async def ws() -> None:
    # Join before accepting: once the client sees the socket open, it is
    # already in the room and gets every later message.
    subscriber = room.join()
    log.info("websocket connected (%d open)", room.stats()["connected"])

    async def forward() -> None:
        while True:
            await websocket.send_text(await subscriber.queue.get())

    sender: asyncio.Task[None] | None = None
    try:
        await websocket.accept()
        sender = asyncio.create_task(forward())
        async for raw in websocket:
            try:
                message = clean(json.loads(raw))
            except ValueError:
                message = None
            if message is None:
                await websocket.send_text(
                    json.dumps({"error": 'Send JSON: {"name": ..., "text": ...}'})
                )
                continue
            room.publish(message)
    except WebSocketDisconnect:
        pass  # `async for` ends on a disconnect; a send may raise it too
    finally:
        if sender is not None:
            sender.cancel()
            await asyncio.wait({sender})
            if not sender.cancelled():
                sender.exception()  # a failed send: the client is gone anyway
        room.leave(subscriber)
        log.info("websocket disconnected (%d open)", room.stats()["connected"])


@app.get("/events")
async def events() -> tuple[AsyncIterator[str], dict[str, str]]:
    """The room as Server-Sent Events: one ``data: {json}`` event a message."""

    async def stream() -> AsyncIterator[str]:
        subscriber = room.join(stream=True)
        try:
            # Sent at once so the client sees the stream open.
            yield ": connected\n\n"
            while True:
                try:
                    message = await asyncio.wait_for(subscriber.queue.get(), KEEPALIVE)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                yield f"data: {message}\n\n"
        finally:
            # Runs when the client goes away: the driver closes the generator.
            room.leave(subscriber)

    return stream(), {
        "Content-Type": "text/event-stream",
        "Cache-Control": "no-cache",
    }


@app.post("/messages")
def post_message() -> tuple[dict[str, str], int]:
    """Send a message without a websocket: ``{"name": ..., "text": ...}``."""
    message = clean(request.get_json(silent=True))
    if message is None:
        return {"error": 'Send JSON: {"name": ..., "text": ...}'}, 400
    room.publish(message)
    return message, 201
