"""Signals sent during a request and an app context's life (blinker).

Connect a receiver with ``request_started.connect(func, app)``; each is sent
with the app as sender.
"""

from __future__ import annotations

from blinker import Namespace

__all__ = [
    "appcontext_popped",
    "appcontext_pushed",
    "appcontext_tearing_down",
    "before_render_template",
    "got_request_exception",
    "message_flashed",
    "request_finished",
    "request_started",
    "request_tearing_down",
    "template_rendered",
]

_signals = Namespace()

#: Sent when a request starts, before any hook.
request_started = _signals.signal("request-started")
#: Sent with ``response=`` once the response is ready, before it is sent.
request_finished = _signals.signal("request-finished")
#: Sent with ``exc=`` when the request is torn down.
request_tearing_down = _signals.signal("request-tearing-down")
#: Sent with ``exception=`` when an exception was not handled.
got_request_exception = _signals.signal("got-request-exception")
#: Sent with ``exc=`` when an app context is torn down.
appcontext_tearing_down = _signals.signal("appcontext-tearing-down")
#: Sent when an app context is pushed.
appcontext_pushed = _signals.signal("appcontext-pushed")
#: Sent when an app context is popped.
appcontext_popped = _signals.signal("appcontext-popped")
#: Sent with ``template=`` and ``context=`` after a template was rendered.
template_rendered = _signals.signal("template-rendered")
#: Sent with ``template=`` and ``context=`` before a template is rendered.
before_render_template = _signals.signal("before-render-template")
#: Sent with ``message=`` and ``category=`` when a message is flashed.
message_flashed = _signals.signal("message-flashed")
