"""Over the wire: the same apps under real servers, one worker each, loaded
by ``wrk`` on 127.0.0.1 (and nothing else: every address here is loopback).

* throughput: gunicorn (sync worker) and granian (WSGI) for the WSGI apps,
  uvicorn (httptools + uvloop) and granian (ASGI) for the ASGI apps;
  ``wrk -t1 -c64`` for a few seconds per route, requests/s and p99 latency;
  the whole matrix is run twice (the second pass in reverse order) so the
  difference between the two passes shows the noise.
* side by side: the issue's over-the-wire targets (Erlen against Falcon
  under granian's WSGI interface, against Starlette under uvicorn and
  granian's ASGI one), the two servers loaded in turns, round by round;
  the median of the rounds' ratios is the figure to read.
* concurrency: a view that waits 100 ms (``await asyncio.sleep`` in async
  views, ``time.sleep`` in ``def`` ones), 1 000 connections; ASGI apps under
  one uvicorn process, WSGI apps under gunicorn's gthread worker with 8
  threads.

The server is pinned to CPU 1 and wrk to CPU 0 when ``taskset`` exists and
the machine has two CPUs or more, so they do not fight for one core.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import typing as t
import urllib.error
import urllib.request
from pathlib import Path

from . import spec
from .apps import BY_LABEL, FRAMEWORKS

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

#: Server name -> (interface, command line after the binary's path).
SERVERS: dict[str, tuple[str, t.Callable[[int], list[str]]]] = {
    "gunicorn-sync": (
        "wsgi",
        lambda port: [
            str(BIN / "gunicorn"),
            "--workers=1",
            "--worker-class=sync",
            f"--bind=127.0.0.1:{port}",
            "--backlog=2048",
            "--log-level=warning",
            "bench.apps.serve:app",
        ],
    ),
    "granian-wsgi": (
        "wsgi",
        lambda port: [
            str(BIN / "granian"),
            "--interface=wsgi",
            "--workers=1",
            "--host=127.0.0.1",
            f"--port={port}",
            "--log-level=warning",
            "bench.apps.serve:app",
        ],
    ),
    "uvicorn": (
        "asgi",
        lambda port: [
            str(BIN / "uvicorn"),
            "--http=httptools",
            "--loop=uvloop",
            "--host=127.0.0.1",
            f"--port={port}",
            "--no-access-log",
            "--log-level=warning",
            "bench.apps.serve:app",
        ],
    ),
    "granian-asgi": (
        "asgi",
        lambda port: [
            str(BIN / "granian"),
            "--interface=asgi",
            "--workers=1",
            "--host=127.0.0.1",
            f"--port={port}",
            "--log-level=warning",
            "bench.apps.serve:app",
        ],
    ),
}

GTHREAD = (
    "wsgi",
    lambda port: [
        str(BIN / "gunicorn"),
        "--workers=1",
        "--worker-class=gthread",
        "--threads=8",
        f"--bind=127.0.0.1:{port}",
        "--backlog=2048",
        "--log-level=warning",
        "bench.apps.serve:app",
    ],
)

#: The routes loaded over the wire by default (cases of spec.MAIN_CASES).
DEFAULT_ROUTES = ("text", "json")

#: (app, server) pairs of the concurrency test.
CONCURRENCY = [
    ("erlen-asgi", "uvicorn"),
    ("erlen-asgi-def", "uvicorn"),
    ("starlette", "uvicorn"),
    ("erlen", "gunicorn-gthread"),
    ("flask", "gunicorn-gthread"),
]


def _pin(cpu: int) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(cpu)]
    return []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One server process serving one app on 127.0.0.1."""

    def __init__(self, app: str, server: str) -> None:
        self.port = _free_port()
        if server == "gunicorn-gthread":
            _, command = GTHREAD
        else:
            _, command = SERVERS[server]
        env = {
            **os.environ,
            "BENCH_APP": app,
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p
            ),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        self.proc = subprocess.Popen(
            _pin(1) + command(self.port),
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: workers end with it
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = (
                    self.proc.stderr.read().decode(errors="replace")
                    if self.proc.stderr
                    else ""
                )
                raise RuntimeError(f"server exited: {err[-1500:]}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2) as r:
                    r.read()
                return
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
        raise RuntimeError("server not ready after 30 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if self.proc.stderr:
            self.proc.stderr.close()


def case_url(base: str, case: spec.Case) -> str:
    """The URL of ``case``'s request on the server at ``base``."""
    req = case.request
    return base + req.path + (f"?{req.query}" if req.query else "")


def check_route(url: str, case: spec.Case) -> None:
    """The route answers what the in-process check expects."""
    req = case.request
    full = case_url(url, case)
    try:
        with urllib.request.urlopen(full, timeout=10) as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    if status != case.status or not case.check(body):
        raise RuntimeError(f"{req.path}: status {status}, body {body[:120]!r}")


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(value: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", value.strip())
    if not m:
        raise ValueError(f"unreadable latency {value!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_wrk(output: str) -> dict[str, t.Any]:
    result: dict[str, t.Any] = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", output)
    result["rps"] = float(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in ([\d.]+\w+)", output)
    result["requests"] = int(m.group(1)) if m else None
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", output, re.MULTILINE)
        result[f"p{pct}_ms"] = _ms(m.group(1)) if m else None
    m = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    result["socket_errors"] = (
        dict(
            zip(
                ("connect", "read", "write", "timeout"),
                map(int, m.groups()),
                strict=True,
            )
        )
        if m
        else {}
    )
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["non_2xx"] = int(m.group(1)) if m else 0
    return result


def wrk(
    url: str, seconds: float, connections: int, timeout_s: int = 10
) -> dict[str, t.Any]:
    command = _pin(0) + [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        f"--timeout={timeout_s}s",
        "--latency",
        url,
    ]
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + timeout_s + 60
    )
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed: {proc.stderr.strip()[-500:]}")
    return parse_wrk(proc.stdout)


#: The over-the-wire targets of the benchmark issue, measured side by side:
#: (server, Erlen's row, the peer's row).
PAIRED = [
    ("granian-wsgi", "erlen", "falcon"),
    ("uvicorn", "erlen-asgi", "starlette"),
    ("granian-asgi", "erlen-asgi", "starlette"),
]


def paired(
    cases: list[spec.Case],
    rounds: int,
    seconds: float,
    log: t.Callable[[str], None] = print,
    frameworks: list[str] | None = None,
) -> dict[str, t.Any]:
    """Erlen against one peer under one server, both servers running (pinned
    to the same CPU, only one loaded at a time), loaded in turns: A B, B A,
    A B... for ``rounds`` rounds.  Each round's ratio compares two runs a few
    seconds apart, so the machine's drift (on the 2-core VM, the same app
    varies by a third between the passes of the matrix) mostly cancels."""
    found: dict[str, t.Any] = {}
    for server_name, ours, theirs in PAIRED:
        if frameworks and not {ours, theirs} <= set(frameworks):
            continue
        key = f"{server_name}: {ours} / {theirs}"
        entry = found[key] = {"server": server_name, "ours": ours, "theirs": theirs}
        servers = {ours: Server(ours, server_name), theirs: Server(theirs, server_name)}
        try:
            for server in servers.values():
                server.wait_ready()
                for case in cases:
                    check_route(server.url, case)
            for case in cases:
                urls = {
                    label: case_url(server.url, case)
                    for label, server in servers.items()
                }
                for url in urls.values():
                    wrk(url, 1, 64)  # warm up
                rps: dict[str, list[float]] = {ours: [], theirs: []}
                for round_no in range(rounds):
                    order = (ours, theirs) if round_no % 2 == 0 else (theirs, ours)
                    for label in order:
                        rps[label].append(wrk(urls[label], seconds, 64)["rps"] or 0.0)
                ratios = [
                    a / b if b else 0.0
                    for a, b in zip(rps[ours], rps[theirs], strict=True)
                ]
                entry[case.name] = {
                    "ours_rps": rps[ours],
                    "theirs_rps": rps[theirs],
                    "ratios": ratios,
                    "median_ratio": statistics.median(ratios),
                }
                log(
                    f"    {key:40} {case.name:5} ratio"
                    f" {statistics.median(ratios):.2f} (rounds: "
                    + " ".join(f"{r:.2f}" for r in ratios)
                    + ")"
                )
        except Exception as e:
            entry["error"] = str(e)[:500]
            log(f"    {key} ERROR {e}")
        finally:
            for server in servers.values():
                server.stop()
    return found


def _brief(result: dict[str, t.Any]) -> str:
    errors = sum(result["socket_errors"].values()) + result["non_2xx"]
    return (
        f"{result['rps'] or 0:9.0f} req/s  p50 {result['p50_ms'] or 0:8.2f} ms"
        f"  p99 {result['p99_ms'] or 0:8.2f} ms"
        + (f"  ({errors} errors)" if errors else "")
    )


def _cases(routes: t.Iterable[str]) -> list[spec.Case]:
    by_name = {c.name: c for c in spec.MAIN_CASES}
    return [by_name[name] for name in routes]


def run(
    frameworks: list[str] | None = None,
    routes: t.Iterable[str] = DEFAULT_ROUTES,
    quick: bool = False,
    log: t.Callable[[str], None] = print,
) -> dict[str, t.Any]:
    """Both tests; the JSON-ready results."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk")
    seconds = 2 if quick else 5
    cases = _cases(routes)
    labels = frameworks or [fw.label for fw in FRAMEWORKS]
    pairs = [
        (label, server)
        for server, (interface, _) in SERVERS.items()
        for label in labels
        if BY_LABEL[label].interface == interface
    ]
    throughput: dict[str, t.Any] = {}
    for pass_no, order in enumerate((pairs, pairs[::-1]), 1):
        log(f"  pass {pass_no} of 2: {len(order)} servers x {len(cases)} routes")
        for label, server_name in order:
            entry = throughput.setdefault(server_name, {}).setdefault(label, {})
            server = Server(label, server_name)
            try:
                server.wait_ready()
                for case in cases:
                    check_route(server.url, case)
                for case in cases:
                    url = case_url(server.url, case)
                    wrk(url, 1, 64)  # warm up
                    result = wrk(url, seconds, 64)
                    entry.setdefault(case.name, []).append(result)
                    name = f"{server_name} {label} {case.name}"
                    log(f"    {name:40} {_brief(result)}")
            except Exception as e:
                entry["error"] = str(e)[:500]
                log(f"    {server_name:14} {label:15} ERROR {e}")
            finally:
                server.stop()

    rounds = 3 if quick else 7
    paired_seconds = 1 if quick else 3
    log(f"  side by side: Erlen and a peer in turns, {rounds} x {paired_seconds} s")
    side_by_side = paired(cases, rounds, paired_seconds, log, frameworks)

    concurrency: dict[str, t.Any] = {}
    seconds_c = 4 if quick else 10
    log(f"  concurrency: 100 ms view, 1000 connections, {seconds_c} s, twice")
    for run_no in range(2):
        for label, server_name in CONCURRENCY:
            if frameworks and label not in frameworks:
                continue
            key = f"{label} @ {server_name}"
            entry = concurrency.setdefault(key, {"app": label, "server": server_name})
            # A fresh server for each run: requests still queued from an
            # earlier run (8 threads take 12 s to answer 1 000 of them)
            # would count against the next one.
            server = Server(label, server_name)
            try:
                server.wait_ready()
                for _ in range(3):
                    with urllib.request.urlopen(server.url + "/sleep", timeout=30) as r:
                        r.read()
                result = wrk(server.url + "/sleep", seconds_c, 1000, timeout_s=30)
                entry.setdefault("runs", []).append(result)
                log(f"    run {run_no + 1} {key:32} {_brief(result)}")
            except Exception as e:
                entry["error"] = str(e)[:500]
                log(f"    {key} ERROR {e}")
            finally:
                server.stop()

    return {
        "settings": {
            "seconds": seconds,
            "connections": 64,
            "threads": 1,
            "concurrency_seconds": seconds_c,
            "concurrency_connections": 1000,
            "paired_rounds": rounds,
            "paired_seconds": paired_seconds,
            "pinned": bool(_pin(0)),
            "routes": [c.name for c in cases],
        },
        "throughput": throughput,
        "paired": side_by_side,
        "concurrency": concurrency,
    }
