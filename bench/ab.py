"""Erlen against an earlier Erlen: the work tree's request path timed side
by side with a git revision's, for the before/after figures of a change.

    bench/.venv/bin/python -m bench.ab HEAD                  # text,json,user,404
    bench/.venv/bin/python -m bench.ab main~3 --cases form,upload --runs 6

The revision's ``src/`` is exported (``git archive``) to a temporary folder
and put first on ``PYTHONPATH``; the work tree is the editable install.
A run starts one interpreter of each side; each builds the ``erlen``
(WSGI) and ``erlen-asgi`` rows of the cases with the in-process harness
(checked responses, calibrated ~10 ms batches), both pinned to the same
CPU (see bench/inprocess.py for why).  Then they take turns,
batch by batch: A times one batch of every case, then B, then B, then A
(the order alternates, so a machine slowing down does not favour a side).
Each round gives the ratio of B's µs/request to A's, the two measured
within milliseconds of each other; this machine's speed drifts by up to
50% within minutes, and such a pair drifts far less than two whole runs
taken in turn.

The table gives each side's median µs/request, B/A as the median of all
rounds' ratios, and each run's median ratio.  A change of 1-3% shows as
run ratios that stay on one side of 1.00.  Whole interpreters are
compared, not functions: a shortcut that wins in a tight loop often does
not in a request.
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


def _worker(cases: list[str]) -> None:
    """One side of a run: build and calibrate the slots, print ``ready`` and
    where Erlen was imported from; then time one batch of each slot per
    ``go`` read from stdin, answering with their µs/request."""
    import erlen

    from . import spec
    from .apps import BY_LABEL
    from .inprocess import Runner, pin_to_one_cpu

    pin_to_one_cpu()  # the same CPU for both sides
    by_name = {case.name: case for case in spec.all_cases()}
    runner = Runner([BY_LABEL[row] for row in ROWS], 10.0, 0, log=_stderr)
    try:
        slots = [
            slot
            for name in cases
            for slot in runner._slots(by_name[name], set(ROWS))  # noqa: SLF001
        ]
        for slot in slots:
            if slot.error is not None:
                raise SystemExit(f"{slot.label}/{slot.case.name}: {slot.error}")
        keys = [f"{slot.label}/{slot.case.name}" for slot in slots]
        _answer({"erlen": erlen.__file__, "keys": keys})
        for line in sys.stdin:
            if line.strip() != "go":
                break
            for slot in slots:
                slot.run_batch()
            _answer([slot.samples[-1] / 1000 for slot in slots])
    finally:
        runner.close()


def _answer(message: t.Any) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


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


class _Side:
    """A worker interpreter: the revision's Erlen (``src``) or the work
    tree's (``None``)."""

    def __init__(self, src: Path | None, cases: list[str]) -> None:
        env = dict(os.environ, PYTHONHASHSEED="0")
        env.pop("PYTHONPATH", None)
        if src is not None:
            env["PYTHONPATH"] = str(src)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.ab", "--worker", "--cases", ",".join(cases)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        hello = self._read()
        expected = str(src if src is not None else ROOT / "src")
        if not hello["erlen"].startswith(expected):
            self.close()
            raise SystemExit(
                f"imported {hello['erlen']}, expected Erlen from {expected}"
            )
        self.keys: list[str] = hello["keys"]

    def _read(self) -> t.Any:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"a worker stopped (exit code {self.process.wait()})")
        return json.loads(line)

    def batch(self) -> list[float]:
        """One batch of every slot: their µs/request."""
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        return t.cast(list[float], self._read())

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait()


def _run(
    base: Path, cases: list[str], rounds: int
) -> tuple[list[str], list[list[float]], list[list[float]]]:
    """One run: each round's µs/request of every slot, for A and for B."""
    a = _Side(base, cases)
    try:
        b = _Side(None, cases)
        try:
            if a.keys != b.keys:
                raise SystemExit(f"the sides time different slots: {a.keys} {b.keys}")
            a_rounds, b_rounds = [], []
            for i in range(rounds):
                if i % 2 == 0:
                    a_rounds.append(a.batch())
                    b_rounds.append(b.batch())
                else:
                    b_rounds.append(b.batch())
                    a_rounds.append(a.batch())
        finally:
            b.close()
    finally:
        a.close()
    return a.keys, a_rounds, b_rounds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__)
    parser.add_argument("rev", nargs="?", default="HEAD", help="the base (A)")
    parser.add_argument("--cases", default="text,json,user,404")
    parser.add_argument("--runs", type=int, default=4, help="pairs of interpreters")
    parser.add_argument("--rounds", type=int, default=25, help="batches a run")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    cases = [c for c in args.cases.split(",") if c]

    if args.worker:
        _worker(cases)
        return 0

    a_us: dict[str, list[float]] = {}
    b_us: dict[str, list[float]] = {}
    ratios: dict[str, list[float]] = {}
    run_ratios: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = _export(args.rev, Path(tmp))
        for i in range(args.runs):
            keys, a_rounds, b_rounds = _run(base, cases, args.rounds)
            for k, key in enumerate(keys):
                pairs = [(a[k], b[k]) for a, b in zip(a_rounds, b_rounds, strict=True)]
                a_us.setdefault(key, []).extend(a for a, _ in pairs)
                b_us.setdefault(key, []).extend(b for _, b in pairs)
                these = [b / a for a, b in pairs]
                ratios.setdefault(key, []).extend(these)
                run_ratios.setdefault(key, []).append(statistics.median(these))
            print(f"run {i + 1} of {args.runs} done", file=sys.stderr)

    print(
        f"A = {args.rev}, B = the work tree; median µs/request,"
        f" {args.runs} runs of {args.rounds} rounds"
    )
    print("B/A: the median of the rounds' ratios (A and B timed back to back)")
    print(f"{'row/case':24} {'A':>8} {'B':>8} {'B/A':>6}   B/A of each run")
    for key, values in ratios.items():
        a, b = statistics.median(a_us[key]), statistics.median(b_us[key])
        spread = " ".join(f"{r:.3f}" for r in run_ratios[key])
        print(f"{key:24} {a:8.2f} {b:8.2f} {statistics.median(values):6.3f}   {spread}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
