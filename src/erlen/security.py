"""Security helpers: ``safe_join`` and password hashing."""

from __future__ import annotations

import os
import posixpath

from werkzeug.security import check_password_hash, generate_password_hash

__all__ = ["check_password_hash", "generate_password_hash", "safe_join"]

_os_alt_seps = [sep for sep in (os.sep, os.path.altsep) if sep not in (None, "/")]


def safe_join(directory: str, *pathnames: str) -> str | None:
    """Join ``pathnames`` under ``directory``, or return ``None`` if the
    result would be outside it (``..``, absolute paths, backslashes on
    Windows, NUL bytes, drive or UNC paths)."""
    if not directory:
        directory = "."
    parts = [directory]
    for filename in pathnames:
        if filename != "":
            filename = posixpath.normpath(filename)
        if (
            "\x00" in filename
            or any(sep in filename for sep in _os_alt_seps)
            or os.path.isabs(filename)
            or filename.startswith("/")
            or filename == ".."
            or filename.startswith("../")
        ):
            return None
        parts.append(filename)
    return posixpath.join(*parts)
