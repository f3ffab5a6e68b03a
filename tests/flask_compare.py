"""Helpers for tests that build the same app with Flask and with Erlen and
compare what each sends.

- :func:`comparable_headers`: a response's headers, ready to compare.
- :func:`both`: the same request through a Flask and an Erlen test client.
- :class:`FlaskPair`: the same app built with both frameworks, and
  :meth:`FlaskPair.check` to send a request to both and compare.
- :func:`pair_builder`: the body of a ``pair`` fixture that closes the
  pairs it builds.
"""

from __future__ import annotations

import os
import typing as t
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import flask
import pytest

from erlen import Erlen
from erlen.security import DEFAULT_SECURITY_HEADERS
from erlen.testing import ErlenClient

#: The tests folder, the default root of a :class:`FlaskPair`'s apps.
TESTS = os.path.dirname(os.path.abspath(__file__))


def comparable_headers(response: t.Any) -> dict[str, str]:
    """A response's headers, lowercased, without what Erlen sends on
    purpose and Flask does not: its default security headers (tested in
    test_security_defaults.py), and with ``Allow`` sorted (Flask's order
    follows a set's, random per process; Erlen sorts)."""
    headers = {k.lower(): v for k, v in response.headers.items()}
    for name in DEFAULT_SECURITY_HEADERS:
        headers.pop(name.lower(), None)
    if "allow" in headers:
        headers["allow"] = ", ".join(sorted(headers["allow"].split(", ")))
    return headers


def both(
    client: ErlenClient, flask_client: t.Any, *args: t.Any, **kwargs: t.Any
) -> tuple[t.Any, t.Any]:
    """``open(*args, **kwargs)`` on Flask's test client, then on Erlen's
    ``client``: ``(flask_response, erlen_response)``.  Flask's response is
    read and closed (its client leaves a sent file open otherwise)."""
    theirs = flask_client.open(*args, **kwargs)
    theirs.get_data()
    theirs.close()
    return theirs, client.open(*args, **kwargs)


class FlaskPair:
    """The same app built with Flask and with Erlen (``flask_app`` and
    ``erlen_app``), with a test client for each (``flask``, and ``erlen``
    through ``driver``).

    Both apps are ``name`` rooted at ``root_path``, made with
    ``app_options`` (keyword arguments of the app class); each gets
    ``config``, then ``setup(app)`` adds what the test needs.

    :param names: ``(flask_names, erlen_names)``, a namespace of each
        framework's names: then each app is set up with
        ``setup(app, names)``, its framework's namespace.
    :param log: each namespace is a copy with ``log``, an empty list for
        recording calls; :meth:`check` compares the two logs.
    :param headers: how :meth:`check` prepares headers for comparison.
    """

    def __init__(
        self,
        setup: Callable[..., None],
        driver: str,
        *,
        name: str = "cmp_app",
        root_path: str = TESTS,
        app_options: dict[str, t.Any] | None = None,
        config: dict[str, t.Any] | None = None,
        names: tuple[SimpleNamespace, SimpleNamespace] | None = None,
        log: bool = False,
        headers: Callable[[t.Any], dict[str, str]] = comparable_headers,
    ) -> None:
        self.flask_app = flask.Flask(name, root_path=root_path, **(app_options or {}))
        self.erlen_app = Erlen(name, root_path=root_path, **(app_options or {}))
        if names is not None and log:
            names = (
                SimpleNamespace(**vars(names[0]), log=[]),
                SimpleNamespace(**vars(names[1]), log=[]),
            )
        self.flask_ns, self.erlen_ns = names or (None, None)
        self.log = log
        self.headers = headers
        for app, ns in (
            (self.flask_app, self.flask_ns),
            (self.erlen_app, self.erlen_ns),
        ):
            app.config.update(config or {})
            if ns is None:
                setup(app)
            else:
                setup(app, ns)
        self.flask = self.flask_app.test_client()
        self.erlen: ErlenClient = self.erlen_app.test_client(driver=driver)  # type: ignore[arg-type]

    def check(self, *args: t.Any, all_headers: bool = True, **kwargs: t.Any) -> t.Any:
        """Send the request to both; assert the same status, body, headers
        (only ``Content-Type`` with ``all_headers=False``) and, with
        ``log``, calls logged.  Returns Erlen's response (with ``log``, its
        log is in ``response.log``)."""
        if self.log:
            self.flask_ns.log.clear()
            self.erlen_ns.log.clear()
        theirs, ours = both(self.erlen, self.flask, *args, **kwargs)
        request = (args, kwargs)
        assert (ours.status, ours.data) == (theirs.status, theirs.data), request
        if all_headers:
            assert self.headers(ours) == self.headers(theirs), request
        else:
            assert ours.content_type == theirs.content_type, request
        if self.log:
            assert self.erlen_ns.log == self.flask_ns.log, request
            ours.log = list(self.erlen_ns.log)
        return ours

    def both_raise(
        self,
        exc_type: type[BaseException],
        *args: t.Any,
        ours: type[BaseException] | None = None,
    ) -> None:
        """The request raises ``exc_type`` out of both test clients (``ours``
        out of Erlen's, when it is Erlen's own class)."""
        with pytest.raises(exc_type):
            self.flask.open(*args)
        with pytest.raises(ours or exc_type):
            self.erlen.open(*args)

    def close(self) -> None:
        self.erlen.close()


P = t.TypeVar("P", bound=FlaskPair)


def pair_builder(make: Callable[..., P]) -> Iterator[Callable[..., P]]:
    """The body of a ``pair`` fixture, ``yield from pair_builder(make)``:
    the test gets ``make``, and every pair it made is closed afterwards."""
    made: list[P] = []

    def build(*args: t.Any, **kwargs: t.Any) -> P:
        made.append(make(*args, **kwargs))
        return made[-1]

    yield build
    for p in made:
        p.close()
