"""The app a server imports: ``BENCH_APP=flask gunicorn bench.apps.serve:app``.

``BENCH_APP`` names a row of :data:`bench.apps.FRAMEWORKS`; the module builds
its standard app at import.
"""

from __future__ import annotations

import os

from . import BY_LABEL

app = BY_LABEL[os.environ.get("BENCH_APP", "erlen")].make_app()
