"""Erlen against an earlier Erlen: the work tree's request path timed side
by side with a git revision's, for the before/after figures of a change.

    bench/.venv/bin/python -m bench.ab HEAD                  # text,json,user,404
    bench/.venv/bin/python -m bench.ab main~3 --cases form,upload --runs 6

The revision's ``src/`` is exported (``git archive``) to a temporary folder
and put first on ``PYTHONPATH``; the work tree is the editable install.
Each side runs in fresh interpreters, the two taking turns (A B, B A,
A B...) so that a slow moment of the machine lands on both; each run times the
``erlen`` (WSGI) and ``erlen-asgi`` rows of the cases with the in-process
harness (checked responses, calibrated batches) and reports the median
µs/request.  The table gives the median of the runs' medians of each side.

A change of 1-3% shows as a ratio that stays on one side of 1.00 across
runs: B/A is the median of the ratios of each pair of runs (the pairs
take turns at going first), which a machine whose speed drifts between
pairs moves far less than a ratio of medians; the ratios are printed.  Whole
interpreters are compared, not functions: a shortcut that wins in a tight
loop often does not in a request.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import typing as t
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROWS = ("erlen", "erlen-asgi")


def _measure(cases: list[str], repeats: int) -> dict[str, t.Any]:
    """One run: the rows' median µs/request per case (in this process),
    timed as ``make bench`` times them, in turns."""
    import erlen

    from . import spec
    from .apps import BY_LABEL
    from .inprocess import Runner

    by_name = {case.name: case for case in spec.all_cases()}
    runner = Runner([BY_LABEL[row] for row in ROWS], 10.0, repeats, log=_stderr)
    try:
        timed = runner.run_group(
            [by_name[name] for name in cases], {name: set(ROWS) for name in cases}
        )
    finally:
        runner.close()
    results = {}
    for name, by_row in timed.items():
        for row, result in by_row.items():
            if "error" in result:
                raise SystemExit(f"{row}/{name}: {result['error']}")
            results[f"{row}/{name}"] = result["median_us"]
    return {"erlen": erlen.__file__, "results": results}


def _stderr(text: str) -> None:
    print(text, file=sys.stderr)


def _export(rev: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def _run(src: Path | None, cases: list[str], repeats: int) -> dict[str, t.Any]:
    env = dict(os.environ, PYTHONHASHSEED="0")
    env.pop("PYTHONPATH", None)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.ab",
            "--worker",
            "--cases",
            ",".join(cases),
            "--repeats",
            str(repeats),
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, t.Any] = json.loads(out)
    expected = str(src if src is not None else ROOT / "src")
    if not result["erlen"].startswith(expected):
        raise SystemExit(f"imported {result['erlen']}, expected Erlen from {expected}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__)
    parser.add_argument("rev", nargs="?", default="HEAD", help="the base (A)")
    parser.add_argument("--cases", default="text,json,user,404")
    parser.add_argument("--runs", type=int, default=4, help="runs of each side")
    parser.add_argument("--repeats", type=int, default=25, help="batches a run")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    cases = [c for c in args.cases.split(",") if c]

    if args.worker:
        print(json.dumps(_measure(cases, args.repeats)))
        return 0

    runs: dict[str, dict[str, list[float]]] = {"A": {}, "B": {}}
    with tempfile.TemporaryDirectory() as tmp:
        base = _export(args.rev, Path(tmp))
        for i in range(args.runs):
            sides = (("A", base), ("B", None))
            # A first, then B first: a machine slowing down or speeding up
            # during a pair does not favour one side.
            for side, src in sides if i % 2 == 0 else sides[::-1]:
                result = _run(src, cases, args.repeats)
                for key, value in result["results"].items():
                    runs[side].setdefault(key, []).append(value)
            print(f"run {i + 1} of {args.runs} done", file=sys.stderr)

    print(f"A = {args.rev}, B = the work tree; median µs/request of {args.runs} runs")
    print("B/A: the median of the runs' ratios (each pair of runs taken together)")
    print(f"{'row/case':24} {'A':>8} {'B':>8} {'B/A':>6}   B/A of each pair")
    for key, a_values in runs["A"].items():
        b_values = runs["B"][key]
        ratios = [b / a for a, b in zip(a_values, b_values, strict=True)]
        a, b = statistics.median(a_values), statistics.median(b_values)
        spread = " ".join(f"{r:.3f}" for r in ratios)
        print(f"{key:24} {a:8.2f} {b:8.2f} {statistics.median(ratios):6.3f}   {spread}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
