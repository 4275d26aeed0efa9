"""One gunicorn process group for one configuration: start, wait until ready, stop.

The listening socket is bound here and handed to gunicorn as `fd://N`, so a port in use
is found before anything starts and the port is known without reading logs. gunicorn
runs in its own session (process group) so that stopping it reaches every worker, and
with a parent-death signal so that even a `kill -9` of tunicorn does not orphan it.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from tunicorn.errors import ServerError, UsageError
from tunicorn.record import ServerConfig
from tunicorn.target import Target

READY_TIMEOUT_S = 60.0
STOP_GRACE_S = 8.0

# Every server started and not yet stopped, for the last-resort cleanup at exit.
_live: weakref.WeakSet[Server] = weakref.WeakSet()


def _child_setup(cpus: tuple[int, ...]) -> None:
    """Runs in the child between fork and exec: pin cores, die with the parent."""
    if cpus:
        os.sched_setaffinity(0, cpus)
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: tunicorn died, so stop too


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket on host:port; a clear UsageError if the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)  # gunicorn's default backlog
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(
                f"Port {port} on {host} is in use: stop what listens there or pick another --port "
                "(0 picks a free one)."
            ) from None
        raise UsageError(f"Cannot listen on {host}:{port}: {exc.strerror}.") from None
    sock.set_inheritable(True)
    return sock


def gunicorn_argv(target: Target, config: ServerConfig, bind: str, log_path: Path) -> list[str]:
    argv = [
        sys.executable, "-m", "gunicorn",
        "--bind", bind,
        "--workers", str(config.workers),
        "--threads", str(config.threads),
        "--worker-class", config.worker_class,
        "--timeout", str(config.timeout),
        "--graceful-timeout", "3",
        "--error-logfile", str(log_path),
        "--log-level", "info",
    ]  # fmt: skip
    if target.chdir:
        argv += ["--chdir", target.chdir]
    return [*argv, target.app]


def _clean_env() -> dict[str, str]:
    # The user's own gunicorn settings in the environment would silently change the trial.
    env = {k: v for k, v in os.environ.items() if k not in ("GUNICORN_CMD_ARGS", "WEB_CONCURRENCY")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


_BOOT_FAILURES = (
    (re.compile(r"(ModuleNotFoundError|ImportError|SyntaxError|NameError|AttributeError)[^\n]*"),
     "the app failed to import in the worker"),
    (re.compile(r"Failed to find (attribute|application object)[^\n]*"),
     "the app object was not found"),
    (re.compile(r"Worker failed to boot"), "a worker failed to boot"),
    (re.compile(r"App failed to load"), "the app failed to load"),
    (re.compile(r"Address already in use"), "the port is in use"),
    (re.compile(r"Error: class uri '[^']*' invalid or not found[^\n]*"),
     "the worker class is not installed"),
)  # fmt: skip


def explain_log(text: str) -> str | None:
    """The first cause of a boot failure found in a gunicorn log, with the line it came from."""
    for pattern, meaning in _BOOT_FAILURES:
        match = pattern.search(text)
        if match:
            return f"{meaning} ({match.group(0).strip()[:200]})"
    return None


class Server:
    """A running gunicorn for one configuration. Use as a context manager."""

    def __init__(
        self,
        target: Target,
        config: ServerConfig,
        *,
        cpus: Sequence[int] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        ready_path: str = "/",
        ready_timeout: float = READY_TIMEOUT_S,
        log_dir: str | Path | None = None,
    ) -> None:
        if target.kind != "app":
            raise ValueError("Server needs an app target, not a URL")
        self.target = target
        self.config = config.effective()
        self.cpus = tuple(cpus)
        self.host = host
        self.port = port
        self.ready_path = ready_path
        self.ready_timeout = ready_timeout
        self._log_dir = Path(log_dir) if log_dir else None
        self.log_path: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_s = 0.0
        self.ready_s = 0.0  # seconds from start until the first answered request

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Server:
        sock = bind_socket(self.host, self.port)
        self.port = sock.getsockname()[1]
        log_dir = self._log_dir or Path(tempfile.mkdtemp(prefix="tunicorn-"))
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / (
            f"gunicorn-{self.config.workers}x{self.config.threads}"
            f"-{self.config.worker_class}-{self.port}.log"
        )
        argv = gunicorn_argv(self.target, self.config, f"fd://{sock.fileno()}", self.log_path)
        cpus = self.cpus
        self.started_s = time.monotonic()
        try:
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=(sock.fileno(),),
                    start_new_session=True,
                    preexec_fn=lambda: _child_setup(cpus),
                    cwd=self.target.chdir or None,
                    env=_clean_env(),
                )
        finally:
            sock.close()
        _live.add(self)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self.ready_s = time.monotonic() - self.started_s
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            reason = self.died()
            if reason:
                raise ServerError(
                    f"gunicorn for {self.target.app} ({self.config.label}) exited before it was "
                    f"ready: {reason}.",
                    log_path=str(self.log_path),
                )
            if _answers(self.host, self.port, self.ready_path):
                return
            time.sleep(0.05)
        raise ServerError(
            f"gunicorn for {self.target.app} ({self.config.label}) did not answer GET "
            f"{self.ready_path} within {self.ready_timeout:.0f} s; see its log.",
            log_path=str(self.log_path),
        )

    def died(self) -> str | None:
        """None while the master runs, else why it stopped (from its exit and its log)."""
        if self.proc is None or self.proc.poll() is None:
            return None
        code = self.proc.returncode
        cause = explain_log(self.log_text())
        if code is not None and code < 0:
            name = signal.Signals(-code).name
            what = (
                "killed by SIGKILL (out of memory?)"
                if -code == signal.SIGKILL
                else f"killed by {name}"
            )
            return f"{what}" + (f"; {cause}" if cause else "")
        return cause or f"exit code {code}"

    def check_alive(self) -> None:
        reason = self.died()
        if reason:
            raise ServerError(
                f"gunicorn for {self.target.app} ({self.config.label}) "
                f"died during the run: {reason}.",
                log_path=str(self.log_path),
            )

    def log_text(self, limit: int = 200_000) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - limit))
            return f.read().decode("utf-8", "replace")

    def log_warnings(self) -> list[str]:
        """Things gunicorn said during a run that change how its figures read."""
        text = self.log_text()
        found = []
        timeouts = text.count("WORKER TIMEOUT")
        if timeouts:
            found.append(
                f"{timeouts} worker(s) hit the {self.config.timeout} s timeout and were killed"
            )
        oom = len(re.findall(r"was sent SIGKILL|Perhaps out of memory", text))
        if oom:
            found.append(f"{oom} worker(s) were killed by SIGKILL (out of memory?)")
        boots = len(re.findall(r"Booting worker with pid", text))
        if boots > self.config.workers:
            found.append(
                f"workers were restarted {boots - self.config.workers} time(s) during the run"
            )
        return found

    def running_worker_class(self) -> str:
        """The worker class from gunicorn's own log line `Using worker: …`."""
        match = re.search(r"Using worker: (\S+)", self.log_text())
        if not match:
            return self.config.worker_class
        name = match.group(1)
        return {"ThreadWorker": "gthread", "SyncWorker": "sync", "GeventWorker": "gevent"}.get(
            name.rsplit(".", 1)[-1], name.rsplit(".", 1)[-1]
        )

    def stop(self) -> None:
        """SIGTERM to the whole group, a grace period, then SIGKILL. Safe to call twice."""
        proc = self.proc
        if proc is None:
            return
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        # Workers that outlived their master (rare) are still in the group.
        _signal_group(proc.pid, signal.SIGKILL)
        _live.discard(self)

    # -- facts -------------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        assert self.proc is not None, "server not started"
        return self.proc.pid

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _answers(host: str, port: int, path: str) -> bool:
    """True once the server answers an HTTP request with any status."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(2.0)
            s.connect((host, port))
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            return s.recv(16).startswith(b"HTTP/")
    except OSError:
        return False


def stop_all() -> None:
    for server in list(_live):
        server.stop()


import atexit  # noqa: E402

atexit.register(stop_all)
