"""The runner: one server process group for one configuration — start, wait until ready, stop.

The listening socket is bound here and handed to the server by its file descriptor, so a
port in use is found before anything starts and the port is known without reading logs.
The server is a `supervise.Group`: its own session (process group), so that stopping it
reaches every worker, and a parent-death signal, so that even a `kill -9` of tunicorn does not
orphan it. What to run, and how to read what it says, is the `ServerProgram`'s (gunicorn today).
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import psutil

from tunicorn.app.target import Target
from tunicorn.errors import ServerError, UsageError
from tunicorn.launch import gunicorn
from tunicorn.launch.interface import ServerProgram
from tunicorn.record import ServerConfig
from tunicorn.supervise import Group, checkpoint, log_tail, settle, stop_later

READY_TIMEOUT_S = 60.0
# After the first answer, every worker is waited for until the server has gone quiet: its
# process tree under QUIET_CORES of a core for QUIET_S, for at most BOOTED_MAX_S. Importing
# an app is CPU work: 24 sync workers booting on one core took seconds, and a run started
# meanwhile measured the boot (p50 1.4 s in its first second, 22 ms after).
QUIET_S, QUIET_CORES, BOOTED_MAX_S = 0.1, 0.1, 10.0
# Its stop signal → SIGKILL. Every run's figures are taken before the stop, and a healthy
# server stops in about 0.4 s; what a worker still does later is a backlog nobody waits for:
# a gthread worker's quick exit serves every request queued on its threads (Python joins them
# at exit), and gunicorn's arbiter then waits its graceful timeout (3 s) before SIGKILL. That
# wait came after every stalled-upstream finalist and every profile ladder with a backlog.
STOP_GRACE_S = 1.0


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
        raise UsageError(
            f"Cannot listen on {host}:{port}: {exc.strerror}; pick another --port (0 picks a free "
            "one) or a host this machine has."
        ) from None
    sock.set_inheritable(True)
    return sock


class Server:
    """A running server for one configuration: gunicorn unless `program` says otherwise.
    Use as a context manager, so the group is stopped whatever happens."""

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
        program: ServerProgram = gunicorn.PROGRAM,
        background_stop: bool = False,
    ) -> None:
        if target.kind != "app":
            raise ValueError("Server needs an app target, not a URL")
        self.target = target
        self.program = program
        self.config = config.effective()
        self.cpus = tuple(cpus)
        self.host = host
        self.port = port
        self.ready_path = ready_path
        self.ready_timeout = ready_timeout
        self._log_dir = Path(log_dir) if log_dir else None
        self._own_dir: Path | None = None
        self.log_path: Path | None = None
        self.group: Group | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_s = 0.0
        self.ready_s = 0.0  # seconds from start until the first answered request
        # A clean exit from its `with` stops it on a thread of its own (supervise.stop_later):
        # for a server whose figures are all taken by then, as a trial's are.
        self.background_stop = background_stop

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Server:
        sock = bind_socket(self.host, self.port)
        self.port = sock.getsockname()[1]
        if self._log_dir is None:
            # Its own folder, removed when it stops cleanly; kept where an error names its log.
            self._own_dir = log_dir = Path(tempfile.mkdtemp(prefix="tunicorn-"))
        else:
            log_dir = self._log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / (
            f"{self.program.name}-{self.config.workers}x{self.config.threads}"
            f"-{self.config.worker_class}-{self.port}.log"
        )
        argv = self.program.argv(self.target, self.config, sock.fileno(), self.log_path)
        self.started_s = time.monotonic()
        self.group = Group(
            argv, log_path=self.log_path, cwd=self.target.chdir or None,
            env={**self.program.env(os.environ), **dict(self.target.env)},
            pass_fds=(sock.fileno(),), cpus=self.cpus, grace_s=STOP_GRACE_S,
            stop_signal=self.program.stop_signal(self.config),
        )  # fmt: skip
        try:
            self.proc = self.group.start().proc
        finally:
            sock.close()
        try:
            self._wait_ready()
            self.ready_s = time.monotonic() - self.started_s
            self._wait_booted()
            settle()  # a server stopping meanwhile (stop_later) is gone before any load
        except BaseException as exc:
            self.stop(keep_log=self.names_log(exc))
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            reason = self.died()
            if reason:
                raise ServerError(
                    f"{self._name} stopped before it was ready, with {reason}.",
                    log_path=str(self.log_path),
                )
            if self.program.ready(self.host, self.port, self.ready_path):
                return
            checkpoint()  # a stop asked for meanwhile: no need to wait any longer
            time.sleep(0.05)
        raise ServerError(
            f"{self._name} did not answer GET {self.ready_path} within "
            f"{self.ready_timeout:.0f} s: make sure the app answers that path quickly (or pick "
            "another with --path), and see its log for what it was doing.",
            log_path=str(self.log_path),
        )

    def _wait_booted(self) -> None:
        """Until every worker has booted: gunicorn's tree holds its workers, and the tree
        has gone quiet (see QUIET_S). Bounded; a server that stays busy is measured as it is."""
        assert self.proc is not None
        deadline = time.monotonic() + BOOTED_MAX_S
        want = self.program.workers(self.config)
        before = -1.0
        while time.monotonic() < deadline:
            try:
                root = psutil.Process(self.proc.pid)
                tree = [root, *root.children(recursive=True)]
                used = sum(sum(p.cpu_times()[:2]) for p in tree)
            except psutil.Error:
                return  # it stopped: the caller's next check says why
            if len(tree) - 1 >= want and 0 <= used - before < QUIET_CORES * QUIET_S:
                return
            before = used
            checkpoint()
            time.sleep(QUIET_S)

    @property
    def _name(self) -> str:
        return f"{self.program.name} for {self.target.app} ({self.config.label})"

    def died(self) -> str | None:
        """None while the server runs, else why it stopped ("exit status 4 (APP_LOAD_ERROR):
        …", "signal SIGKILL: …"): its exit status first, its log as the evidence."""
        if self.proc is None or self.proc.poll() is None:
            return None
        return str(self.program.explain_exit(self.proc.returncode, self.log_text()))

    def check_alive(self) -> None:
        reason = self.died()
        if reason:
            raise ServerError(
                f"{self._name} died during the run, with {reason}.",
                log_path=str(self.log_path),
            )

    def log_text(self, limit: int = 200_000) -> str:
        return log_tail(self.log_path, limit)

    def log_warnings(self) -> list[str]:
        """Things the server said during a run that change how its figures read."""
        return self.program.log_warnings(self.config, self.log_text())

    def running_worker_class(self) -> str:
        """The worker class that really runs, as the server reports it."""
        return self.program.running_class(self.config, self.log_text())

    def stop(self, *, keep_log: bool = False) -> None:
        """SIGTERM to the whole group, a grace period, then SIGKILL. Safe to call twice. The
        log's own temporary folder goes with it unless `keep_log` (an error names the log) or
        the server died; a --log-dir folder is the user's and stays."""
        dead = self.died() is not None  # before the stop, which ends it either way
        if self.group is not None:
            self.group.stop()
        own, self._own_dir = self._own_dir, None
        if own is not None:
            if keep_log or dead:
                self._own_dir = own
            else:
                shutil.rmtree(own, ignore_errors=True)

    def names_log(self, exc: BaseException) -> bool:
        """Does `exc` send the user to this server's log (keep it then; another error, a
        Locust refusal or a Ctrl-C, leaves nothing behind)?"""
        return self.log_path is not None and getattr(exc, "log_path", None) == str(self.log_path)

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
        if exc is None and self.background_stop:
            stop_later(self.stop)
            return
        self.stop(keep_log=exc is not None and self.names_log(exc))
