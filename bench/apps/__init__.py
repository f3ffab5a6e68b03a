"""The benchmark apps: one module per framework, each with a
``make_app(routes=None, hooks=0)`` that builds the routes of
:mod:`bench.spec` and returns the callable a server would be given.

``FRAMEWORKS`` is the table of what is measured: one row per (framework,
interface, variant), in display order.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import typing as t
from dataclasses import dataclass, field
from types import ModuleType


@dataclass(frozen=True)
class Framework:
    #: The name in tables and on the command line.
    label: str
    #: The module in this package that builds its app.
    module: str
    interface: str  # "wsgi" | "asgi"
    #: Extra keyword arguments of ``make_app``.
    options: dict[str, t.Any] = field(default_factory=dict)
    #: The distribution whose version is reported ("" for the floors).
    package: str = ""
    #: A peer (not Erlen, not a floor).
    peer: bool = True
    note: str = ""

    def load(self) -> ModuleType:
        return importlib.import_module(f"{__name__}.{self.module}")

    @property
    def features(self) -> set[str]:
        return set(self.load().FEATURES)

    def make_app(self, **kwargs: t.Any) -> t.Any:
        return self.load().make_app(**self.options, **kwargs)

    def version(self) -> str:
        if not self.package:
            return ""
        try:
            return importlib.metadata.version(self.package)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"


FRAMEWORKS: list[Framework] = [
    Framework("floor-wsgi", "floor_wsgi", "wsgi", peer=False, note="bare callable"),
    Framework("erlen", "erlen_app", "wsgi", {"interface": "wsgi"}, "erlen", False),
    Framework("flask", "flask_app", "wsgi", package="flask"),
    Framework("bottle", "bottle_app", "wsgi", package="bottle"),
    Framework("falcon", "falcon_wsgi", "wsgi", package="falcon"),
    Framework("floor-asgi", "floor_asgi", "asgi", peer=False, note="bare callable"),
    Framework(
        "erlen-asgi",
        "erlen_app",
        "asgi",
        {"interface": "asgi", "async_views": True},
        "erlen",
        False,
        "async def views",
    ),
    Framework(
        "erlen-asgi-def",
        "erlen_app",
        "asgi",
        {"interface": "asgi", "async_views": False},
        "erlen",
        False,
        "def views, thread pool",
    ),
    Framework("starlette", "starlette_app", "asgi", package="starlette"),
    Framework("fastapi", "fastapi_app", "asgi", package="fastapi"),
    Framework("falcon-asgi", "falcon_asgi", "asgi", package="falcon"),
    Framework("blacksheep", "blacksheep_app", "asgi", package="blacksheep"),
    Framework("quart", "quart_app", "asgi", package="quart"),
]

BY_LABEL = {fw.label: fw for fw in FRAMEWORKS}

#: The rows the target ratios compare.
ERLEN_WSGI = "erlen"
ERLEN_ASGI = "erlen-asgi"
ERLEN_ASGI_DEF = "erlen-asgi-def"
FLOOR = {"wsgi": "floor-wsgi", "asgi": "floor-asgi"}
