"""Fixtures shared by the tests: real gunicorn servers on loopback, stopped whatever happens."""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

APPS_DIR = Path(__file__).parent / "apps"
READY_S = 15.0
STOP_S = 5.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclasses.dataclass
class GunicornServer:
    url: str
    pid: int
    log_path: Path
    proc: subprocess.Popen[bytes]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _ready(port: int, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + READY_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"gunicorn exited with {proc.returncode}:\n{log_path.read_text()}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            conn.request("GET", "/")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.05)
        finally:
            conn.close()
    pytest.fail(f"gunicorn not ready after {READY_S} s:\n{log_path.read_text()}")


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the whole process group, then SIGKILL to what is left."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(STOP_S)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # workers orphaned by a dead master, too
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(STOP_S)


@pytest.fixture
def gunicorn_server(tmp_path: Path) -> Iterator[Callable[..., GunicornServer]]:
    """Factory: `gunicorn_server("basic:app", "--threads", "4")` → a ready server."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(app: str = "basic:app", *args: str) -> GunicornServer:
        port = free_port()
        log_path = tmp_path / f"gunicorn-{port}.log"
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--chdir",
            str(APPS_DIR),
            "--log-level",
            "warning",
            *args,
            app,
        ]
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        procs.append(proc)
        _ready(port, proc, log_path)
        return GunicornServer(f"http://127.0.0.1:{port}", proc.pid, log_path, proc)

    try:
        yield start
    finally:
        for proc in procs:
            stop_group(proc)


@pytest.fixture(scope="session", autouse=True)
def session_tmp() -> Iterator[Path]:
    """Every temporary folder the code under test makes (a server's log folder kept because an
    error named it, a Locust run's logs, a child process's) goes in one folder, removed when
    the session ends: the tests leave nothing in /tmp."""
    folder = Path(tempfile.mkdtemp(prefix="tunicorn-tests-"))
    folder.chmod(0o711)  # the test database runs as `nobody` (initdb refuses root): let it through
    before_dir, before_env = tempfile.tempdir, os.environ.get("TMPDIR")
    tempfile.tempdir, os.environ["TMPDIR"] = str(folder), str(folder)
    try:
        yield folder
    finally:
        tempfile.tempdir = before_dir
        if before_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = before_env
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """A PostgreSQL server on 127.0.0.1 for the session (its URL), stopped at the end.

    Not skipped when PostgreSQL is missing: the pool tests are the point. scripts/test (the
    README's test command) installs Debian's postgresql.
    """
    from tests.postgres import Postgres, PostgresUnavailable

    try:
        server = Postgres().start()
    except PostgresUnavailable as exc:
        pytest.fail(f"{exc} (the pool tests need a real database)")
    try:
        yield server.url
    finally:
        server.stop()
