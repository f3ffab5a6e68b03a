"""Erlen: Flask's API on one fast pipeline served by WSGI and ASGI.

Everything a typical app imports is here; the names and their meaning are
Flask's, so a Flask app ports by renaming ``flask`` to ``erlen`` and
``Flask`` to ``Erlen``.
"""

import typing as _t

from markupsafe import Markup, escape

from . import json
from .app import Erlen
from .blueprints import Blueprint
from .config import Config
from .ctx import (
    after_this_request,
    copy_current_app_context,
    copy_current_request_context,
    has_app_context,
    has_request_context,
)
from .exceptions import abort
from .globals import current_app, g, request, session, websocket
from .helpers import (
    flash,
    get_flashed_messages,
    make_response,
    redirect,
    send_file,
    send_from_directory,
    stream_with_context,
    url_for,
)
from .json import jsonify
from .signals import (
    appcontext_popped,
    appcontext_pushed,
    appcontext_tearing_down,
    before_render_template,
    got_request_exception,
    message_flashed,
    request_finished,
    request_started,
    request_tearing_down,
    template_rendered,
)
from .wrappers import Request, Response

if _t.TYPE_CHECKING:
    from .templating import (
        get_template_attribute,
        render_template,
        render_template_async,
        render_template_string,
        render_template_string_async,
        stream_template,
        stream_template_string,
    )

# PERF: the template functions load Jinja2 (~12 ms of `import erlen`) on
# first use: an API that renders no template never imports it.
_LAZY = {
    name: ".templating"
    for name in (
        "get_template_attribute",
        "render_template",
        "render_template_async",
        "render_template_string",
        "render_template_string_async",
        "stream_template",
        "stream_template_string",
    )
}


def __getattr__(name: str) -> _t.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'erlen' has no attribute {name!r}")
    import sys
    from importlib import import_module

    value = getattr(import_module(module, __name__), name)
    # ("globals" here is the erlen.globals submodule, not the builtin.)
    setattr(sys.modules[__name__], name, value)
    return value


__version__ = "0.1.0.dev0"

__all__ = [
    "Blueprint",
    "Config",
    "Erlen",
    "Markup",
    "Request",
    "Response",
    "abort",
    "after_this_request",
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
    "copy_current_app_context",
    "copy_current_request_context",
    "current_app",
    "escape",
    "flash",
    "g",
    "get_flashed_messages",
    "get_template_attribute",
    "has_app_context",
    "has_request_context",
    "json",
    "jsonify",
    "make_response",
    "redirect",
    "render_template",
    "render_template_async",
    "render_template_string",
    "render_template_string_async",
    "request",
    "send_file",
    "send_from_directory",
    "session",
    "stream_template",
    "stream_template_string",
    "stream_with_context",
    "url_for",
    "websocket",
]
