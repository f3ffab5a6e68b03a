"""The app's logger."""

from __future__ import annotations

import logging
import sys
import typing as t

if t.TYPE_CHECKING:
    from .app import Erlen

__all__ = ["create_logger", "default_handler"]

#: The handler Erlen adds when no handler is configured: writes to
#: ``sys.stderr`` (the WSGI server's error stream in production).
default_handler = logging.StreamHandler(sys.stderr)
default_handler.setFormatter(
    logging.Formatter("[%(asctime)s] %(levelname)s in %(module)s: %(message)s")
)


def _has_level_handler(logger: logging.Logger) -> bool:
    level = logger.getEffectiveLevel()
    current: logging.Logger | None = logger
    while current is not None:
        if any(handler.level <= level for handler in current.handlers):
            return True
        if not current.propagate:
            break
        current = current.parent
    return False


def create_logger(app: Erlen) -> logging.Logger:
    """The logger named after the app.  In debug mode its level is ``DEBUG``
    if none was set; :data:`default_handler` is added only if no handler
    would take its records."""
    logger = logging.getLogger(app.name)
    if app.debug and not logger.level:
        logger.setLevel(logging.DEBUG)
    if not _has_level_handler(logger):
        logger.addHandler(default_handler)
    return logger
