"""Tables, target ratios and the chart, from the results JSON.

``python -m bench.report bench/results/inprocess.json`` prints the tables of
a saved run again (and redraws the chart).
"""

from __future__ import annotations

import functools
import json
import sys
import typing as t
from pathlib import Path

from . import spec
from .apps import ERLEN_ASGI, ERLEN_WSGI, FLOOR, FRAMEWORKS
from .inprocess import JINJA2

WSGI_COLUMNS = [fw.label for fw in FRAMEWORKS if fw.interface == "wsgi"]
ASGI_COLUMNS = [fw.label for fw in FRAMEWORKS if fw.interface == "asgi"]
ASGI_PEERS = [fw.label for fw in FRAMEWORKS if fw.interface == "asgi" and fw.peer]

#: The issue's targets.
TARGET_VS_FLASK = 0.20  # Erlen WSGI time / Flask's, and Erlen ASGI / Quart's
TARGET_VS_PEER = 1.0  # / Falcon (WSGI) and / the fastest ASGI peer
#: Within this of Falcon / the fastest ASGI peer: the floor for resolving
#: the issue (the lead, TARGET_VS_PEER, is the goal).
TARGET_RESOLVE = 1.25
TARGET_TEMPLATE = 1.15  # template route / Jinja2's render alone
TARGET_ROUTES_1K = 1.2  # 1 000 routes / 10 routes
TARGET_ROUTES_10K = 1.5  # 10 000 routes / 10 routes
TARGET_IMPORT = 1.0  # import erlen / import flask
TARGET_WIRE = 1.0  # Erlen's req/s / Falcon's (granian WSGI), Starlette's (uvicorn)
WIRE_TARGET_SERVERS = ("granian-wsgi", "uvicorn")


def _median(cases: dict[str, t.Any], case: str, label: str) -> float | None:
    r = cases.get(case, {}).get("results", {}).get(label, {})
    return r.get("median_us")


def _cell(r: dict[str, t.Any] | None, width: int) -> str:
    if not r:
        return "-".rjust(width)
    if "error" in r:
        return "ERROR".rjust(width)
    med = r["median_us"]
    # Half the interquartile range: one batch slowed by another process on
    # the machine moves the min–max range a lot and the quartiles little.
    spread = (r["q3_us"] - r["q1_us"]) / 2 / med * 100 if med else 0
    return f"{_num(med)} ±{spread:.0f}%".rjust(width)


def _num(x: float) -> str:
    if x >= 1000:
        return f"{x:,.0f}"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def _mark(value: float | None, limit: float) -> str:
    if value is None:
        return "   -   "
    return f"{value:5.2f}{' ok' if value <= limit else ' NO'}"


def _table(title: str, header: list[str], rows: list[list[str]], first: int) -> str:
    widths = [
        max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))
    ]
    widths[0] = max(widths[0], first)
    line = lambda cells: "  ".join(  # noqa: E731
        c.ljust(widths[i]) if i == 0 else c.rjust(widths[i])
        for i, c in enumerate(cells)
    )
    out = [title, line(header), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


def framework_table(results: dict[str, t.Any], columns: list[str], title: str) -> str:
    cases = results["cases"]
    names = [c.name for c in spec.MAIN_CASES if c.name in cases]
    extra = [JINJA2] if columns is WSGI_COLUMNS else []
    header = ["µs/request (median ±IQR/2)"] + columns + extra
    rows = []
    for name in names:
        res = cases[name]["results"]
        row = [cases[name]["title"]] + [_cell(res.get(label), 12) for label in columns]
        if extra:
            row.append(_cell(res.get(JINJA2), 12))
        rows.append(row)
    return _table(title, header, rows, 28)


def targets(results: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    """Every target ratio of the issue: what it compares, its value, its limit."""
    cases = results["cases"]
    out: list[dict[str, t.Any]] = []

    def add(
        name: str,
        case: str,
        a: float | None,
        b: float | None,
        limit: float | None,
        vs: str,
        kind: str = "target",
    ) -> None:
        # kind: "target" (the issue's), "floor" (the 1.25x bound for
        # resolving it) or "info" (a bare callable: a reference, no limit).
        value = _ratio(a, b)
        out.append(
            {
                "target": name,
                "case": case,
                "vs": vs,
                "value": value,
                "limit": limit,
                "kind": kind,
                "met": None if value is None or limit is None else value <= limit,
            }
        )

    for c in spec.MAIN_CASES:
        if c.name not in cases:
            continue
        m = functools.partial(_median, cases, c.name)
        add(
            "WSGI vs Flask", c.name, m(ERLEN_WSGI), m("flask"), TARGET_VS_FLASK, "flask"
        )
        for limit, name, kind in (
            (TARGET_VS_PEER, "WSGI vs Falcon", "target"),
            (TARGET_RESOLVE, "WSGI vs Falcon, floor", "floor"),
        ):
            add(name, c.name, m(ERLEN_WSGI), m("falcon"), limit, "falcon", kind)
        add(
            "WSGI vs bare callable",
            c.name,
            m(ERLEN_WSGI),
            m(FLOOR["wsgi"]),
            None,
            FLOOR["wsgi"],
            "info",
        )
        add(
            "ASGI vs Quart", c.name, m(ERLEN_ASGI), m("quart"), TARGET_VS_FLASK, "quart"
        )
        peers = [(m(p), p) for p in ASGI_PEERS if m(p) is not None]
        best = min(peers) if peers else (None, "-")
        for limit, name, kind in (
            (TARGET_VS_PEER, "ASGI vs fastest ASGI peer", "target"),
            (TARGET_RESOLVE, "ASGI vs fastest ASGI peer, floor", "floor"),
        ):
            add(name, c.name, m(ERLEN_ASGI), best[0], limit, best[1], kind)
        add(
            "ASGI vs bare callable",
            c.name,
            m(ERLEN_ASGI),
            m(FLOOR["asgi"]),
            None,
            FLOOR["asgi"],
            "info",
        )
    for label in (ERLEN_WSGI, ERLEN_ASGI):
        add(
            f"{label} template vs Jinja2 alone",
            "template",
            _median(cases, "template", label),
            _median(cases, "template", JINJA2),
            TARGET_TEMPLATE,
            JINJA2,
        )
        base = _median(cases, "routes:10", label)
        add(
            f"{label} 1 000 vs 10 routes",
            "routes:1000",
            _median(cases, "routes:1000", label),
            base,
            TARGET_ROUTES_1K,
            "routes:10",
        )
        add(
            f"{label} 10 000 vs 10 routes",
            "routes:10000",
            _median(cases, "routes:10000", label),
            base,
            TARGET_ROUTES_10K,
            "routes:10",
        )
    imports = results.get("import", {})
    add(
        "import erlen vs import flask",
        "import",
        imports.get("erlen", {}).get("median_ms"),
        imports.get("flask", {}).get("median_ms"),
        TARGET_IMPORT,
        "flask",
    )
    return out


def _target_of(
    by: dict[tuple[str, str], dict[str, t.Any]], case: str, name: str
) -> dict[str, t.Any]:
    return by.get((name, case), {})


def ratio_table(results: dict[str, t.Any], found: list[dict[str, t.Any]]) -> str:
    by = {(r["target"], r["case"]): r for r in found}
    cases = results["cases"]
    header = [
        "Erlen time / peer time",
        "/flask≤.20",
        "/falcon≤1",
        "≤1.25",
        "/bare",
        "ASGI /quart≤.20",
        "/fastest ASGI≤1",
        "≤1.25",
        "(which)",
        "/bare",
    ]
    rows = []
    for c in spec.MAIN_CASES:
        if c.name not in cases:
            continue
        g = functools.partial(_target_of, by, c.name)
        rows.append(
            [
                cases[c.name]["title"],
                _mark(g("WSGI vs Flask").get("value"), TARGET_VS_FLASK),
                _mark(g("WSGI vs Falcon").get("value"), TARGET_VS_PEER),
                _verdict(g("WSGI vs Falcon, floor").get("met")),
                _plain(g("WSGI vs bare callable").get("value")),
                _mark(g("ASGI vs Quart").get("value"), TARGET_VS_FLASK),
                _mark(g("ASGI vs fastest ASGI peer").get("value"), TARGET_VS_PEER),
                _verdict(g("ASGI vs fastest ASGI peer, floor").get("met")),
                g("ASGI vs fastest ASGI peer").get("vs", "-"),
                _plain(g("ASGI vs bare callable").get("value")),
            ]
        )
    return _table(
        "Target ratios (Erlen WSGI = 'erlen', Erlen ASGI = 'erlen-asgi', async views;"
        " lower is better; 'ok' = target met; ≤1.25: within the floor for resolving"
        " the issue, 1.25x Falcon / the fastest ASGI peer; /bare: a bare callable,"
        " for reference)",
        header,
        rows,
        28,
    )


def _verdict(met: bool | None) -> str:
    return "-" if met is None else ("ok" if met else "NO")


def _plain(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def other_targets(found: list[dict[str, t.Any]]) -> str:
    lines = ["Other targets"]
    for r in found:
        if r["target"].startswith(("WSGI ", "ASGI ")):
            continue  # in the ratio table
        value = "    -" if r["value"] is None else f"{r['value']:.2f}"
        verdict = "" if r["met"] is None else ("ok" if r["met"] else "NO")
        lines.append(
            f"  {r['target']:42} {value:>6}  (target ≤ {r['limit']})  {verdict}"
        )
    return "\n".join(lines)


def series_table(results: dict[str, t.Any], series: str, title: str) -> str:
    cases = [c for c in spec.series_cases(series) if c.name in results["cases"]]
    if not cases:
        return ""
    labels = [
        fw.label
        for fw in FRAMEWORKS
        if any(fw.label in results["cases"][c.name]["results"] for c in cases)
    ]
    header = [
        "µs/request",
        *[f"{c.x:,}" for c in cases],
        f"x{cases[-1].x:,}/x{cases[0].x:,}",
    ]
    rows = []
    for label in labels:
        values = [results["cases"][c.name]["results"].get(label) for c in cases]
        row = [label] + [_cell(v, 11) for v in values]
        first, last = values[0], values[-1]
        growth = _ratio((last or {}).get("median_us"), (first or {}).get("median_us"))
        row.append("-" if growth is None else f"{growth:.2f}")
        rows.append(row)
    return _table(title, header, rows, 16)


def import_table(results: dict[str, t.Any]) -> str:
    imports = results.get("import")
    if not imports:
        return ""
    flask = imports.get("flask", {}).get("median_ms")
    rows = []
    for name, r in imports.items():
        if "error" in r:
            rows.append([name, r.get("module", ""), "ERROR", "", ""])
            continue
        rows.append(
            [
                name,
                r["module"],
                f"{r['median_ms']:.1f}",
                f"{r['min_ms']:.1f}–{r['max_ms']:.1f}",
                "-" if not flask else f"{r['median_ms'] / flask:.2f}",
            ]
        )
    return _table(
        "Import time: python -X importtime -c 'import M', cumulative,"
        " median of fresh interpreters",
        ["package", "module", "ms", "min–max", "/flask"],
        rows,
        10,
    )


def machine_header(machine: dict[str, t.Any]) -> str:
    versions = ", ".join(
        f"{k} {v}" for k, v in machine.get("packages", {}).items() if v
    )
    return (
        f"{machine.get('date', '')}  {machine.get('cpu', '')}"
        f" ({machine.get('cores')} cores), Python {machine.get('python', '')}\n"
        f"erlen {machine.get('erlen_commit', '')}\n{versions}"
    )


def inprocess_text(results: dict[str, t.Any]) -> str:
    settings = results.get("settings", {})
    found = targets(results)
    results.setdefault("targets", found)
    parts = [
        machine_header(results.get("machine", {})),
        f"In-process: {settings.get('repeats')} batches of"
        f" ~{settings.get('batch_ms')} ms per (framework, case), round-robin.",
        framework_table(results, WSGI_COLUMNS, "WSGI"),
        framework_table(
            results,
            ASGI_COLUMNS,
            "ASGI (erlen-asgi: async def views;"
            " erlen-asgi-def: def views in the thread pool)",
        ),
        ratio_table(results, found),
        other_targets(found),
        series_table(
            results,
            "routes",
            "Cost growth: routes (/r{i}/<int:id>, the last one requested)",
        ),
        series_table(
            results,
            "hooks",
            "Cost growth: before_request hooks"
            " (GET /; Falcon: middleware process_request)",
        ),
        series_table(
            results, "form", "Cost growth: urlencoded form fields (POST, len(form))"
        ),
        import_table(results),
    ]
    errors = [
        f"  {case} / {label}: {r['error']}"
        for case, c in results["cases"].items()
        for label, r in c["results"].items()
        if "error" in r
    ]
    if errors:
        parts.append("Errors (not timed):\n" + "\n".join(errors))
    judged = [r for r in found if r["met"] is not None and r["kind"] == "target"]
    met = [r for r in judged if r["met"]]
    floors = [r for r in found if r["met"] is not None and r["kind"] == "floor"]
    parts.append(
        f"Targets met: {len(met)} of {len(judged)}; within the floor for resolving"
        f" the issue (1.25x Falcon / the fastest ASGI peer):"
        f" {sum(1 for r in floors if r['met'])} of {len(floors)}"
    )
    return "\n\n".join(p for p in parts if p) + "\n"


def _join_runs(runs: list[dict[str, t.Any]], key: str, fmt: str) -> str:
    return " / ".join(fmt.format(x[key] or 0) for x in runs)


def wire_text(results: dict[str, t.Any]) -> str:
    s = results.get("settings", {})
    parts = [
        f"Over the wire: wrk -t1 -c{s.get('connections')} -d{s.get('seconds')}s,"
        f" one worker, two passes (run 1 / run 2)"
        f"{'; server and wrk pinned to separate CPUs' if s.get('pinned') else ''}"
    ]
    for server, apps in results.get("throughput", {}).items():
        routes = s.get("routes", [])
        header = (
            ["app"] + [f"{r} req/s" for r in routes] + [f"{r} p99 ms" for r in routes]
        )
        rows = []
        for label, entry in apps.items():
            if "error" in entry and not any(r in entry for r in routes):
                rows.append(
                    [label, "ERROR " + entry["error"][:60]]
                    + [""] * (2 * len(routes) - 1)
                )
                continue
            row = [label]
            for r in routes:
                runs = entry.get(r, [])
                row.append(" / ".join(f"{x['rps'] or 0:,.0f}" for x in runs) or "-")
            for r in routes:
                runs = entry.get(r, [])
                row.append(" / ".join(f"{x['p99_ms'] or 0:.2f}" for x in runs) or "-")
            errs = sum(
                sum(x.get("socket_errors", {}).values()) + x.get("non_2xx", 0)
                for r in routes
                for x in entry.get(r, [])
            )
            if errs:
                row[0] += f" ({errs} socket errors/non-2xx)"
            rows.append(row)
        parts.append(_table(server, header, rows, 12))
    side = results.get("paired", {})
    if side:
        routes = s.get("routes", [])
        rows = []
        for key, entry in side.items():
            if "error" in entry:
                rows.append([key, "ERROR " + entry["error"][:60]] + [""] * len(routes))
                continue
            row = [key]
            medians = []
            for r in routes:
                found = entry.get(r)
                if found:
                    medians.append(found["median_ratio"])
                row.append(
                    f"{found['median_ratio']:.2f}"
                    f" ({min(found['ratios']):.2f}-{max(found['ratios']):.2f})"
                    if found
                    else "-"
                )
            if entry.get("server") in WIRE_TARGET_SERVERS and medians:
                met = min(medians) >= TARGET_WIRE
                row.append("ok" if met else "no")
            else:
                row.append("-")
            rows.append(row)
        parts.append(
            _table(
                f"Side by side: Erlen's req/s / the peer's, the two loaded in turns,"
                f" {s.get('paired_rounds')} rounds of {s.get('paired_seconds')} s;"
                f" median (range) of the rounds' ratios, higher is better;"
                f" target: at least {TARGET_WIRE:.2f} under granian WSGI and"
                " uvicorn",
                ["server: erlen / peer"] + [f"{r} ratio" for r in routes] + ["target"],
                rows,
                12,
            )
        )
    conc = results.get("concurrency", {})
    if conc:
        rows = []
        for key, entry in conc.items():
            runs = entry.get("runs", [])
            if not runs:
                rows.append(
                    [key, "ERROR " + entry.get("error", "")[:60], "", "", "", ""]
                )
                continue
            f = functools.partial(_join_runs, runs)
            timeouts = sum(x.get("socket_errors", {}).get("timeout", 0) for x in runs)
            rows.append(
                [
                    key,
                    f("rps", "{:,.0f}"),
                    f("p50_ms", "{:.0f}"),
                    f("p90_ms", "{:.0f}"),
                    f("p99_ms", "{:.0f}"),
                    str(timeouts),
                ]
            )
        parts.append(
            _table(
                f"Concurrency: view waits {spec.SLEEP_SECONDS * 1000:.0f} ms,"
                f" {s.get('concurrency_connections')} connections,"
                f" {s.get('concurrency_seconds')} s, run 1 / run 2",
                ["app @ server", "req/s", "p50 ms", "p90 ms", "p99 ms", "timeouts"],
                rows,
                12,
            )
        )
    return "\n\n".join(parts) + "\n"


# -- chart ---------------------------------------------------------------------

COLORS = {
    "floor-wsgi": "#9e9e9e",
    "floor-asgi": "#9e9e9e",
    "erlen": "#d62728",
    "erlen-asgi": "#d62728",
    "erlen-asgi-def": "#ff9896",
    "flask": "#1f77b4",
    "quart": "#1f77b4",
    "bottle": "#2ca02c",
    "falcon": "#9467bd",
    "falcon-asgi": "#9467bd",
    "starlette": "#ff7f0e",
    "fastapi": "#17becf",
    "blacksheep": "#8c564b",
    JINJA2: "#000000",
}


def chart(results: dict[str, t.Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = results["cases"]
    main = [c for c in spec.MAIN_CASES if c.name in cases]
    fig = plt.figure(figsize=(18, 15), layout="constrained")
    grid = fig.add_gridspec(2, 3, height_ratios=[1.5, 1])

    for col, (columns, title) in enumerate(
        ((WSGI_COLUMNS, "WSGI"), (ASGI_COLUMNS, "ASGI"))
    ):
        ax = fig.add_subplot(grid[0, 0] if col == 0 else grid[0, 1:])
        n = len(columns)
        height = 0.8 / n
        for j, label in enumerate(columns):
            ys, xs, lo, hi = [], [], [], []
            for i, c in enumerate(main):
                r = cases[c.name]["results"].get(label)
                if not r or "median_us" not in r:
                    continue
                ys.append(i + (j - (n - 1) / 2) * height)
                xs.append(r["median_us"])
                lo.append(r["median_us"] - r["q1_us"])
                hi.append(r["q3_us"] - r["median_us"])
            ax.barh(
                ys,
                xs,
                height=height,
                xerr=[lo, hi],
                color=COLORS.get(label, "#333333"),
                hatch="//" if label == "erlen-asgi-def" else None,
                label=label,
                error_kw={"elinewidth": 0.6, "capsize": 0},
            )
        ax.set_yticks(range(len(main)), [c.title for c in main])
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlabel("µs per request (log; median, whisker = quartiles)")
        ax.set_title(f"In-process, {title}")
        ax.grid(axis="x", which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")

    for col, (series, title, xlabel) in enumerate(
        (
            ("routes", "Routes (the last one requested)", "routes"),
            ("hooks", "before_request hooks", "hooks"),
            ("form", "Form fields", "fields"),
        )
    ):
        ax = fig.add_subplot(grid[1, col])
        scases = [c for c in spec.series_cases(series) if c.name in cases]
        for fw in FRAMEWORKS:
            pts = [
                (c.x, cases[c.name]["results"][fw.label]["median_us"])
                for c in scases
                if "median_us" in cases[c.name]["results"].get(fw.label, {})
            ]
            if len(pts) < 2:
                continue
            xs, ys = zip(*pts, strict=True)
            ax.plot(
                xs,
                ys,
                marker="o",
                color=COLORS.get(fw.label),
                linestyle="--" if fw.interface == "asgi" else "-",
                linewidth=2.5 if fw.label.startswith("erlen") else 1.2,
                label=fw.label,
            )
        if series == "hooks":
            ax.set_xscale("symlog", linthresh=1)
        else:
            ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("µs per request")
        ax.set_title(f"Cost growth: {title}")
        ax.grid(which="both", alpha=0.3)
        ax.legend(fontsize=7, ncol=2)

    machine = results.get("machine", {})
    fig.suptitle(
        f"Erlen in-process benchmark — {machine.get('date', '')[:10]},"
        f" {machine.get('cpu', '')}, Python {machine.get('python', '')}"
        " (dashed: ASGI; lower is better)"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".png.tmp")
    fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
    tmp.replace(path)


def main(argv: list[str]) -> int:
    for name in argv or ["bench/results/inprocess.json"]:
        results = json.loads(Path(name).read_text())
        if "cases" in results:
            print(inprocess_text(results))
        if "throughput" in results:
            print(wire_text(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
