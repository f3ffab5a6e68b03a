"""Helpers for tests that build the same app with Flask and with Erlen and
compare what each sends."""

from __future__ import annotations

import typing as t

from erlen.security import DEFAULT_SECURITY_HEADERS


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
