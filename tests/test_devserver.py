"""The development server: the real ``erlen run`` in a subprocess, reloading,
and the pieces that decide what it serves and watches."""

from __future__ import annotations

import asyncio
import http.client
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import textwrap
import time
import typing as t
from pathlib import Path

import pytest

from erlen import Erlen
from erlen.devserver import (
    SOURCE_ENV,
    AppSource,
    ServerError,
    _source_for,
    _WatchSpec,
    load_app_for_reload,
    run_app,
    run_server,
)

# -- a real server in a subprocess ------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A server process started in its own process group, with its output in
    a file; :meth:`stop` kills the whole group."""

    def __init__(self, args: list[str], cwd: Path, port: int) -> None:
        self.port = port
        self.log_path = cwd / "server.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ERLEN_")}
        # Same-size edits within one second must not be served from a stale
        # .pyc; and see the output as it comes.
        env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                args,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def fetch(
        self, path: str = "/", headers: dict[str, str] | None = None, tls: bool = False
    ) -> tuple[int, str]:
        conn: http.client.HTTPConnection
        if tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            conn = http.client.HTTPSConnection(
                "127.0.0.1", self.port, timeout=5, context=context
            )
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("GET", path, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            conn.close()

    def wait_for(
        self,
        check: t.Callable[[int, str], bool],
        path: str = "/",
        timeout: float = 15,
        tls: bool = False,
    ) -> tuple[int, str]:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                status, body = self.fetch(path, tls=tls)
            except (OSError, http.client.HTTPException) as e:
                last = e
            else:
                last = (status, body[:300])
                if check(status, body):
                    return status, body
            time.sleep(0.05)
        raise AssertionError(
            f"The server did not answer as expected in {timeout}s (exit code"
            f" {self.process.poll()}); last answer: {last!r}\n--- server"
            f" output ---\n{self.log}"
        )

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        # The reloader's server process is in the group too.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())


RELOAD_APP = """
import os
from erlen import Erlen

app = Erlen(__name__)
app.config["SECRET_KEY"] = "dev-server-secret-value"

@app.route("/")
def index():
    return f"{version} {{os.getpid()}}"

@app.route("/boom")
def boom():
    raise ValueError("<script>alert('boom')</script>")
"""


def _version_and_pid(body: str) -> tuple[str, str]:
    version, _, pid = body.partition(" ")
    return version, pid


def test_erlen_run_reloads_on_changes_and_survives_syntax_errors(
    tmp_path: Path,
) -> None:
    app_py = tmp_path / "app.py"
    write(app_py, RELOAD_APP.format(version="v1"))
    write(tmp_path / "templates" / "page.html", "<p>one</p>")
    write(tmp_path / "settings.toml", "a = 1")
    write(tmp_path / "ignored_helper.py", "X = 1")
    port = free_port()
    server = Server(
        [
            sys.executable,
            "-m",
            "erlen",
            "--app",
            "app",
            "--debug",
            "run",
            "--port",
            str(port),
            "--extra-files",
            "settings.toml",
            "--exclude-patterns",
            "*ignored_*",
        ],
        tmp_path,
        port,
    )
    try:
        _, body = server.wait_for(lambda s, b: b.startswith("v1 "))
        pid = _version_and_pid(body)[1]
        log = server.log
        assert " * Serving Erlen app 'app'" in log
        assert " * Debug mode: on" in log
        assert f" * Running on http://127.0.0.1:{port}" in log
        assert "WARNING: This is a development server." in log
        assert "gunicorn, uvicorn or granian" in log

        # A saved .py file: the new code is served within about a second.
        started = time.monotonic()
        write(app_py, RELOAD_APP.format(version="v2"))
        _, body = server.wait_for(lambda s, b: b.startswith("v2 "))
        elapsed = time.monotonic() - started
        assert elapsed < 3, f"reloaded after {elapsed:.2f}s"
        pid, old = _version_and_pid(body)[1], pid
        assert pid != old

        # A template and an --extra-files file restart the server too.
        for changed in (
            tmp_path / "templates" / "page.html",
            tmp_path / "settings.toml",
        ):
            changed.write_text(changed.read_text() + "\n")
            _, body = server.wait_for(lambda s, b, p=pid: _version_and_pid(b)[1] != p)
            pid = _version_and_pid(body)[1]

        # An excluded file does not.
        (tmp_path / "ignored_helper.py").write_text("X = 2\n")
        time.sleep(1.0)
        assert server.fetch()[1] == f"v2 {pid}"

        # The debug page, over the real server.
        status, page = server.fetch("/boom", headers={"Accept": "text/html"})
        assert status == 500
        assert "&lt;script&gt;alert(&#x27;boom&#x27;)&lt;/script&gt;" in page
        assert "<script>" not in page
        assert "dev-server-secret-value" not in page
        assert "Traceback" in server.log  # the terminal has it too

        # A syntax error: the reloader stays up and shows the error...
        write(app_py, RELOAD_APP.format(version="v3") + "\ndef broken(:\n")
        status, body = server.wait_for(lambda s, b: s == 500 and "SyntaxError" in b)
        assert "The app failed to load" in body
        assert "app.py" in body
        time.sleep(0.3)
        assert server.fetch()[0] == 500
        # ...until the next save fixes it.
        write(app_py, RELOAD_APP.format(version="v3"))
        server.wait_for(lambda s, b: b.startswith("v3 "))
        assert server.process.poll() is None
    finally:
        server.stop()


MAIN_APP = """
import os
from erlen import Erlen
from erlen.devserver import run_app

app = Erlen(__name__)

@app.route("/")
def index():
    return f"{version} {{os.getpid()}} debug={{app.debug}}"

if __name__ == "__main__":
    run_app(app, port={port}, debug=True)
"""


def test_app_run_reloads_the_script(tmp_path: Path) -> None:
    port = free_port()
    script = tmp_path / "serve_me.py"
    write(script, MAIN_APP.format(version="one", port=port))
    server = Server([sys.executable, str(script)], tmp_path, port)
    try:
        _, body = server.wait_for(lambda s, b: b.startswith("one "))
        assert body.endswith("debug=True")
        assert " * Serving Erlen app 'serve_me'" in server.log
        write(script, MAIN_APP.format(version="two", port=port))
        _, body = server.wait_for(lambda s, b: b.startswith("two "))
        assert body.endswith("debug=True")
    finally:
        server.stop()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_erlen_run_with_tls_and_no_reload(tmp_path: Path) -> None:
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=60,
    )
    write(tmp_path / "wsgi.py", RELOAD_APP.format(version="tls"))
    port = free_port()
    server = Server(
        [
            sys.executable,
            "-m",
            "erlen",
            "run",
            "--port",
            str(port),
            "--cert",
            "cert.pem",
            "--key",
            "key.pem",
        ],
        tmp_path,
        port,
    )
    try:
        server.wait_for(lambda s, b: b.startswith("tls "), tls=True)
        assert f" * Running on https://127.0.0.1:{port}" in server.log
        assert " * Debug mode: off" in server.log
        assert "Reloading" not in server.log
        # Debug off: the 500 page says nothing about the error.
        conn = http.client.HTTPSConnection(
            "127.0.0.1", port, timeout=5, context=ssl._create_unverified_context()
        )
        try:
            conn.request("GET", "/boom")
            response = conn.getresponse()
            page = response.read().decode()
        finally:
            conn.close()
        assert response.status == 500
        assert "boom" not in page and "ValueError" not in page
    finally:
        server.stop()


# -- in process -------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("ERLEN_") or key == SOURCE_ENV:
            monkeypatch.delenv(key)


def test_port_in_use_and_tls_errors(tmp_path: Path, clean_env: None) -> None:
    app = Erlen("busy")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServerError, match=f"Port {port} is in use"):
            run_server(app, port=port)
    with pytest.raises(ServerError, match="needs both a certificate and its"):
        run_server(app, port=0, cert="cert.pem")
    (tmp_path / "cert.pem").write_text("not a certificate")
    (tmp_path / "key.pem").write_text("not a key")
    with pytest.raises(ServerError, match="Could not load the TLS certificate"):
        run_server(
            app, port=0, cert=str(tmp_path / "cert.pem"), key=str(tmp_path / "key.pem")
        )
    with pytest.raises(ServerError, match="not a known host name"):
        run_server(app, host="no-such-host.invalid", port=0)


def test_watch_filter(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    extra = tmp_path / "conf" / "settings.toml"
    extra.parent.mkdir()
    extra.write_text("")
    app = Erlen("watched", root_path=str(tmp_path))
    spec = _WatchSpec.for_app(app, [str(extra)], ["*generated*"])
    assert tmp_path.resolve() in spec.roots or any(
        root in tmp_path.resolve().parents for root in spec.roots
    )
    root = tmp_path.resolve()
    assert spec(root / "views.py")
    assert spec(root / "pkg" / "models.py")
    assert spec(root / "templates" / "index.html")
    assert spec(root / "templates" / "mail" / "welcome.txt")
    assert spec(extra.resolve())
    assert not spec(root / "README.md")
    assert not spec(root / "notes.txt")
    assert not spec(root / "generated_code.py")
    assert not spec(root / "__pycache__" / "views.cpython-311.pyc")
    assert not spec(root / ".venv" / "lib" / "x.py")
    assert not spec(root / "venv" / "lib" / "site-packages" / "x.py")
    assert not spec(root / ".views.py.swp")


async def _request(asgi: t.Any, accept: str) -> tuple[int, str]:
    sent: list[dict[str, t.Any]] = []

    async def receive() -> dict[str, t.Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, t.Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "query_string": b"",
        "headers": [(b"host", b"localhost"), (b"accept", accept.encode())],
    }
    await asgi(scope, receive, send)
    return sent[0]["status"], sent[1]["body"].decode()


def test_reloaded_process_serves_load_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None, capsys: t.Any
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    (tmp_path / "flaky.py").write_text("from erlen import Erlen\napp = Erlen(\n")
    source = AppSource(import_path="flaky", show_load_errors=True)
    monkeypatch.setenv(SOURCE_ENV, source.to_env())
    asgi = load_app_for_reload()
    status, body = asyncio.run(_request(asgi, "text/html"))
    assert status == 500
    assert "The app failed to load" in body and "SyntaxError" in body
    assert "flaky.py" in body
    assert "Error loading the app" in capsys.readouterr().err
    # Without debug, the page says nothing.
    monkeypatch.setenv(SOURCE_ENV, AppSource(import_path="flaky").to_env())
    status, body = asyncio.run(_request(load_app_for_reload(), "text/html"))
    assert status == 500 and "SyntaxError" not in body and "flaky" not in body
    sys.modules.pop("flaky", None)
    # A working app, in debug mode, is wrapped in the debug page.
    (tmp_path / "fine.py").write_text(
        "from erlen import Erlen\napp = Erlen(__name__)\n"
    )
    monkeypatch.setenv(SOURCE_ENV, AppSource(import_path="fine", debug=True).to_env())
    wrapped = load_app_for_reload()
    assert type(wrapped).__name__ == "DebugMiddleware"
    monkeypatch.setenv(SOURCE_ENV, AppSource(import_path="fine", debug=False).to_env())
    assert type(load_app_for_reload()).__name__ == "ASGIApp"
    sys.modules.pop("fine", None)


def test_load_app_for_reload_needs_its_environment(clean_env: None) -> None:
    with pytest.raises(ServerError, match="is not set"):
        load_app_for_reload()


def test_run_app_options(monkeypatch: pytest.MonkeyPatch, clean_env: None) -> None:
    import erlen.devserver

    calls: list[dict[str, t.Any]] = []

    def fake(app: Erlen, **kwargs: t.Any) -> None:
        calls.append(kwargs)

    monkeypatch.setattr(erlen.devserver, "run_server", fake)
    app = Erlen("options_app")
    run_app(app, load_dotenv=False)
    assert calls[-1]["host"] == "127.0.0.1" and calls[-1]["port"] == 5000
    assert calls[-1]["reload"] is False and calls[-1]["debugger"] is False
    run_app(
        app,
        port=0,
        debug=True,
        use_reloader=False,
        threaded=True,
        ssl_context=("c.pem", "k.pem"),
        log_level="warning",
    )
    call = calls[-1]
    assert app.debug and call["port"] == 0 and call["reload"] is False
    assert call["debugger"] is True
    assert (call["cert"], call["key"]) == ("c.pem", "k.pem")
    assert call["log_level"] == "warning"
    with pytest.raises(ServerError, match="ssl_context must be a"):
        run_app(app, ssl_context="adhoc")
    app.config["SERVER_NAME"] = "dev.local:8123"
    run_app(app, debug=False)
    assert (calls[-1]["host"], calls[-1]["port"]) == ("dev.local", 8123)
    monkeypatch.setenv("ERLEN_RUN_FROM_CLI", "true")
    count = len(calls)
    run_app(app)
    assert len(calls) == count


module_level_app = Erlen(__name__)


def test_source_for_finds_the_app_again() -> None:
    assert _source_for(module_level_app, True) == AppSource(
        import_path=f"{__name__}:module_level_app", debug=True
    )
    assert _source_for(Erlen(__name__), None) is None
    assert _source_for(Erlen("not_imported_anywhere"), None) is None


def test_reload_needs_a_source(capsys: t.Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    served: list[t.Any] = []

    class FakeServer:
        def __init__(self, config: t.Any) -> None:
            served.append(config)

        def run(self, sockets: t.Any = None) -> None:
            served.append(sockets)

    monkeypatch.setattr(uvicorn, "Server", FakeServer)
    app = Erlen("no_source")
    app.debug = True
    run_server(app, port=0, reload=True, source=None)
    err = capsys.readouterr().err
    assert "Reloading is off" in err
    assert "Debug mode: on" in err and "Debug page is on" in err
    config, sockets = served
    assert type(config.app).__name__ == "DebugMiddleware"
    assert config.ws == "auto" and config.interface == "asgi3"
    assert len(sockets) == 1 and sockets[0].fileno() == -1  # closed afterwards


def test_missing_server_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    app = Erlen("no_uvicorn")
    monkeypatch.setitem(sys.modules, "watchfiles", None)
    with pytest.raises(ServerError, match="needs watchfiles, which is not installed"):
        run_server(app, port=0, reload=True, source=AppSource())
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    with pytest.raises(ServerError, match=r"pip install 'erlen\[dev-server\]'"):
        run_server(app, port=0)
