"""The app's logger: :attr:`erlen.Erlen.logger`.

It is the standard :mod:`logging` logger named after the app
(``logging.getLogger(app.name)``), so configure it, or the root logger, the
usual way.  Erlen adds :data:`default_handler` only when nothing would show
the logger's records, and sets the level to ``DEBUG`` in debug mode when no
level was set.
"""

from __future__ import annotations

import logging
import sys
import typing as t

if t.TYPE_CHECKING:
    from .app import Erlen

__all__ = ["create_logger", "default_handler", "has_level_handler"]


class _ErrorStream:
    """Where the default handler writes: the WSGI server's error stream
    (``wsgi.errors``) during a WSGI request, else ``sys.stderr``.  Looked up
    at each write, so a later redirection of ``sys.stderr`` (test capture,
    a daemonizing server) is followed."""

    def _stream(self) -> t.TextIO:
        from .globals import _cv_request

        ctx = _cv_request.get(None)
        if ctx is not None:
            environ = ctx.request.environ
            if environ is not None:
                errors = environ.get("wsgi.errors")
                if errors is not None:
                    return t.cast(t.TextIO, errors)
        return sys.stderr

    def write(self, text: str) -> int | None:
        return self._stream().write(text)

    def flush(self) -> None:
        self._stream().flush()


#: The handler Erlen adds to the app's logger when no handler would take its
#: records.  Remove it to configure logging yourself before the logger is
#: first used::
#:
#:     from erlen.logging import default_handler
#:     app.logger.removeHandler(default_handler)
default_handler: logging.StreamHandler[t.Any] = logging.StreamHandler(_ErrorStream())
default_handler.setFormatter(
    logging.Formatter("[%(asctime)s] %(levelname)s in %(module)s: %(message)s")
)


def has_level_handler(logger: logging.Logger) -> bool:
    """Whether a handler of ``logger`` or of the ancestors its records
    propagate to would emit a record at the logger's effective level.

    :param logger: the logger to check.
    """
    level = logger.getEffectiveLevel()
    node: logging.Logger | None = logger
    while node is not None:
        if any(handler.level <= level for handler in node.handlers):
            return True
        node = node.parent if node.propagate else None
    return False


def create_logger(app: Erlen) -> logging.Logger:
    """The logger of ``app``, named after it.

    In debug mode its level becomes ``DEBUG`` if none was set; the
    :data:`default_handler` is added only if no handler would emit its
    records (see :func:`has_level_handler`), so logging configured before
    the app is used (``logging.basicConfig``, ``dictConfig``) is kept.

    :param app: the application.
    """
    logger = logging.getLogger(app.name)
    if app.debug and logger.level == logging.NOTSET:
        logger.setLevel(logging.DEBUG)
    if not has_level_handler(logger):
        logger.addHandler(default_handler)
    return logger
