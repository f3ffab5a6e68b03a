"""Erlen's benchmark: ``make bench`` (or ``bench/.venv/bin/python -m bench.run``).

In-process timing of Erlen and its peers, cost growth series and import
time, printed as tables with the target ratios and written to
``bench/results/`` (JSON and a PNG chart).  ``--wire`` adds the over-the-wire
load tests (slow).  See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
import typing as t
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python bench/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "bench"

from bench import importtime, inprocess, report, spec, wire  # noqa: E402
from bench.apps import BY_LABEL, FRAMEWORKS  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

PACKAGES = (
    "erlen",
    "flask",
    "werkzeug",
    "bottle",
    "falcon",
    "starlette",
    "fastapi",
    "pydantic",
    "blacksheep",
    "quart",
    "jinja2",
    "gunicorn",
    "granian",
    "uvicorn",
    "uvloop",
    "httptools",
)

SECTIONS = ("import", "profile", "wire")


def machine_info() -> dict[str, t.Any]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    packages = {}
    for name in PACKAGES:
        try:
            packages[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            packages[name] = None
    commit = ""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src/erlen"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if dirty:
            commit += " + uncommitted changes in src/erlen"
    except (OSError, subprocess.CalledProcessError):
        pass
    wrk_version = ""
    try:
        out = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
        wrk_version = (out.stdout or out.stderr).split("\n", 1)[0].strip()
    except OSError:
        pass
    import erlen

    erlen_path = Path(erlen.__file__).resolve().parent
    if not erlen_path.is_relative_to(ROOT):
        commit = f"imported from {erlen_path}, not from this checkout"
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "loadavg_at_start": list(os.getloadavg()),
        "erlen_commit": commit,
        "packages": packages,
        "wrk": wrk_version,
    }


def write_json(path: Path, data: t.Any) -> None:
    """Write through a ``.tmp`` file, so a half-written file is never left."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    tmp.replace(path)


def parse_only(
    tokens: list[str],
) -> tuple[list[str] | None, list[spec.Case] | None, set[str]]:
    """``--only`` tokens: framework labels, case names, series names
    (routes, hooks, form) and sections (import, profile, wire)."""
    all_cases = spec.all_cases()
    case_names = {c.name for c in all_cases}
    series = {c.series for c in all_cases if c.series}
    frameworks, cases, sections = [], [], set()
    for token in tokens:
        if token in BY_LABEL:
            frameworks.append(token)
        elif token in case_names:
            cases += [c for c in all_cases if c.name == token]
        elif token in series:
            cases += [c for c in all_cases if c.series == token]
        elif token in SECTIONS:
            sections.add(token)
        else:
            raise SystemExit(
                f"--only: unknown {token!r}. Choose from frameworks"
                f" {sorted(BY_LABEL)}, cases {sorted(case_names)},"
                f" series {sorted(series)}, sections {list(SECTIONS)}."
            )
    unique = list({c.name: c for c in cases}.values())
    return frameworks or None, unique or None, sections


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="short batches and fewer rounds (about 2 minutes); slow-to-build"
        " peers skip the 10 000-route case",
    )
    parser.add_argument(
        "--wire",
        action="store_true",
        help="also run the over-the-wire load tests (gunicorn, granian, uvicorn + wrk)",
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated frameworks, cases, series (routes, hooks, form)"
        " and sections (import, profile, wire) to run",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="print cProfile of Erlen's GET / (WSGI and ASGI), top 15 by tottime",
    )
    parser.add_argument(
        "--wire-routes",
        default=",".join(wire.DEFAULT_ROUTES),
        help="cases loaded over the wire (default: %(default)s)",
    )
    args = parser.parse_args(argv)

    tokens = [x.strip() for x in args.only.split(",") if x.strip()]
    fw_labels, cases, sections = parse_only(tokens)
    frameworks = [BY_LABEL[x] for x in fw_labels] if fw_labels else FRAMEWORKS
    only_sections = bool(sections) and cases is None
    run_inprocess = not only_sections
    run_import = "import" in sections or (not tokens)
    run_wire = args.wire or "wire" in sections
    run_profile = args.profile or "profile" in sections
    partial = bool(tokens)
    suffix = ("-quick" if args.quick else "") + ("-partial" if partial else "")

    machine = machine_info()
    print(report.machine_header(machine))
    if machine["loadavg_at_start"][0] > 0.5 * (machine["cores"] or 1):
        print(
            f"Note: load average {machine['loadavg_at_start'][0]:.2f} at start;"
            " other work on this machine adds noise."
        )
    started = time.perf_counter()

    if run_inprocess:
        print("\nIn-process" + (" (quick)" if args.quick else ""))
        restrict = None
        if args.quick:
            # Bottle and Falcon take a minute each to add 10 000 routes.
            restrict = {
                "routes:10000": {fw.label for fw in FRAMEWORKS if not fw.peer}
                | {"flask", "starlette", "blacksheep", "quart"}
            }
        results = inprocess.run(frameworks, cases, quick=args.quick, restrict=restrict)
        results["machine"] = machine
        if run_import:
            print("\nImport time")
            results["import"] = importtime.run(runs=5 if args.quick else 11)
        text = report.inprocess_text(results)
        print("\n" + text)
        write_json(RESULTS / f"inprocess{suffix}.json", results)
        (RESULTS / f"inprocess{suffix}.txt").write_text(text)
        try:
            report.chart(results, RESULTS / f"inprocess{suffix}.png")
            print(f"Chart: {RESULTS / f'inprocess{suffix}.png'}")
        except ImportError:
            print("matplotlib is not installed: no chart")
        print(f"Results: {RESULTS / f'inprocess{suffix}.json'}")
    elif run_import:
        imports = importtime.run(runs=5 if args.quick else 11)
        print(report.import_table({"import": imports}))

    if run_profile:
        text = profiling_text()
        print("\n" + text)
        (RESULTS / "profile.txt").write_text(text)

    if run_wire:
        print("\nOver the wire" + (" (quick)" if args.quick else ""))
        routes = [x for x in args.wire_routes.split(",") if x]
        wire_results = wire.run(
            [fw.label for fw in frameworks] if fw_labels else None,
            routes,
            quick=args.quick,
        )
        wire_results["machine"] = machine
        text = report.wire_text(wire_results)
        print("\n" + text)
        write_json(RESULTS / f"wire{suffix}.json", wire_results)
        (RESULTS / f"wire{suffix}.txt").write_text(text)

    print(f"\nDone in {time.perf_counter() - started:.0f} s.")
    return 0


def profiling_text() -> str:
    from bench import profiling

    return profiling.profile()


if __name__ == "__main__":
    raise SystemExit(main())
