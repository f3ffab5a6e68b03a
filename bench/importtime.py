"""Import cost: ``python -X importtime -c "import PKG"``, the cumulative time
of the top-level package (everything it imports), median of several fresh
interpreters.  The first run of each is discarded (it may write ``.pyc``
files)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import typing as t

#: What an app imports, per package (``import starlette`` alone imports
#: nothing; an app imports ``starlette.applications``).
PACKAGES = {
    "erlen": "erlen",
    "flask": "flask",
    "bottle": "bottle",
    "falcon": "falcon",
    "starlette": "starlette.applications",
    "fastapi": "fastapi",
    "quart": "quart",
    "blacksheep": "blacksheep",
}


#: The environment of the measured interpreters. Without bytecode writing
#: (PYTHONDONTWRITEBYTECODE, set on some machines), a package installed in
#: editable mode - Erlen here - would be compiled from source on every
#: import while the peers load the .pyc files pip wrote: 40 ms of
#: difference that no deployment has.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def cumulative_us(module: str, python: str = sys.executable) -> int:
    """One fresh interpreter's cumulative import time of ``module``, in µs:
    the sum of the top-level lines of its package (``import a.b`` prints a
    line for ``a`` and one for ``a.b``; nested imports are indented)."""
    proc = subprocess.run(
        [python, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
        env=_ENV,
    )
    root = module.partition(".")[0]
    total = None
    for line in proc.stderr.splitlines():
        # "import time:      self [us] | cumulative | imported package"
        if not line.startswith("import time:"):
            continue
        fields = line[len("import time:") :].split("|")
        if len(fields) != 3 or fields[2].startswith("  "):
            continue  # a header, or a nested import
        name = fields[2].strip()
        if name == root or name.startswith(root + "."):
            total = (total or 0) + int(fields[1])
    if total is None:
        raise RuntimeError(
            f"no import time line for {module!r}:\n{proc.stderr[-2000:]}"
        )
    return total


def run(
    packages: t.Iterable[str] = tuple(PACKAGES),
    runs: int = 9,
    log: t.Callable[[str], None] = print,
) -> dict[str, t.Any]:
    out: dict[str, t.Any] = {}
    packages = list(packages)
    for package in packages:
        try:
            cumulative_us(PACKAGES[package])  # warm: .pyc written, files cached
        except (subprocess.CalledProcessError, RuntimeError) as e:
            out[package] = {"error": str(e)[:300]}
    samples: dict[str, list[int]] = {p: [] for p in packages if p not in out}
    for _ in range(runs):
        for package in samples:  # alternate packages, as the timing does
            samples[package].append(cumulative_us(PACKAGES[package]))
    for package, us in samples.items():
        out[package] = {
            "module": PACKAGES[package],
            "median_ms": statistics.median(us) / 1000,
            "min_ms": min(us) / 1000,
            "max_ms": max(us) / 1000,
            "runs_ms": [u / 1000 for u in us],
        }
        log(f"  import {package}: {out[package]['median_ms']:.1f} ms")
    return out
