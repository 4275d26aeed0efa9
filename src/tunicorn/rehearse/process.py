"""A child process group the rehearsal starts (pip, gunicorn), stopped whatever happens.

Each child runs in its own session, so Ctrl-C in the terminal reaches tunicorn alone and
tunicorn decides how everything stops: SIGTERM to the whole group (pip's builds, gunicorn's
workers), a grace period, then SIGKILL. A parent-death signal stops the child even when
tunicorn itself is killed outright. Output goes to a file, never a pipe: a full pipe that
nobody reads stalls the child.
"""

from __future__ import annotations

import atexit
import contextlib
import signal
import subprocess
import weakref
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType

from tunicorn.children import die_with_parent, log_tail, signal_group

STOP_GRACE_S = 8.0
_live: weakref.WeakSet[Group] = weakref.WeakSet()


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM while cleaning up, so a second one cannot cut the cleanup short;
    a signal that came meanwhile is delivered (as KeyboardInterrupt) once it is done."""
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class Group:
    """One command in its own process group, its output appended to `log_path`."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        log_path: Path,
    ) -> None:
        self.argv = list(argv)
        self.cwd = cwd
        self.env = dict(env)
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Group:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        _live.add(self)
        return self

    def poll(self) -> int | None:
        return self.proc.poll() if self.proc is not None else None

    def stop(self) -> None:
        """SIGTERM to the group, a grace period, SIGKILL to what is left. Safe to call twice."""
        proc = self.proc
        if proc is None:
            return
        with signals_held():
            if proc.poll() is None:
                signal_group(proc.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=STOP_GRACE_S)
            signal_group(proc.pid, signal.SIGKILL)  # what outlived its leader, too
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
            _live.discard(self)

    def log_text(self, limit: int = 200_000) -> str:
        return log_tail(self.log_path, limit)

    def __enter__(self) -> Group:
        return self if self.proc is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def stop_all() -> None:
    for group in list(_live):
        group.stop()


atexit.register(stop_all)
