"""Security helpers: ``safe_join`` and password hashing."""

from __future__ import annotations

import os
import posixpath

from werkzeug.security import check_password_hash, generate_password_hash

__all__ = ["check_password_hash", "generate_password_hash", "safe_join"]


def safe_join(directory: str, *pathnames: str) -> str | None:
    """Join ``pathnames`` under ``directory``, or return ``None`` if the
    result could be outside it.

    Each path is ``/``-separated, as in a URL.  Refused: ``..`` segments that
    climb out, absolute paths, NUL bytes, and on every platform backslashes
    (a separator on Windows; refusing them everywhere keeps an app tested on
    Linux safe when deployed on Windows), as well as drives and UNC paths
    where the platform has them.  The check is on the text only: symlinks are
    followed by whoever opens the result (``send_from_directory`` resolves
    them and refuses a file that ends up outside the folder).

    :param directory: the trusted base folder.
    :param pathnames: untrusted parts, e.g. from the URL.

    .. versionchanged:: 0.1
        Backslashes are refused on every platform, unlike Werkzeug's, which
        refuses them only on Windows.
    """
    if not directory:
        directory = "."
    parts = [directory]
    for filename in pathnames:
        if filename != "":
            filename = posixpath.normpath(filename)
        if (
            "\x00" in filename
            or "\\" in filename
            or filename.startswith("/")
            or os.path.isabs(filename)
            or os.path.splitdrive(filename)[0]
            or filename == ".."
            or filename.startswith("../")
        ):
            return None
        parts.append(filename)
    return posixpath.join(*parts)
