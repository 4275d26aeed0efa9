"""The one supervisor of every process group tunicorn starts (servers, pip, Locust, the upstream
proxy): how a child starts, how it stops, and how a signal to tunicorn reaches them all.

A child starts in its own session (setsid), so Ctrl-C in the terminal reaches tunicorn alone
and tunicorn decides how everything stops, and with a parent-death signal, so even a `kill -9`
of tunicorn orphans nothing. Stopping it is SIGTERM to the whole group (gunicorn's workers,
pip's builds, Locust's greenlets), a grace period, then SIGKILL to whatever is left. Every
started group sits in one registry until it is stopped; the registry is emptied at exit.

Signals follow gunicorn's arbiter: the handler only queues the signal and writes a byte to a
pipe; it raises nothing in the middle of whatever was running. A watcher thread wakes on that
byte and sets `STOP`, which the running loops read (the load engines end their window, the
waits for a server or a build end) and which `checkpoint()` turns into `Interrupted` at a
point where stopping is clean; the `with` blocks then stop their groups. A wait that reads no
flag is not trusted to come back: if nothing noticed the stop within NOTICE_S, or a second
signal comes, the main thread is interrupted where it stands (KeyboardInterrupt), which every
group's `with` and the exit's cleanup also handle.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import functools
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

PR_SET_PDEATHSIG = 1
STOP_GRACE_S = 8.0  # SIGTERM → SIGKILL: gunicorn's workers finish the request they hold
KILL_WAIT_S = 5.0
NOTICE_S = 2.0  # how long a running loop has to notice a stop before it is interrupted
SIGNALS = (signal.SIGINT, signal.SIGTERM)

STOP = threading.Event()  # set once a stop was asked for: every loop that runs long reads it
SIG_QUEUE: list[int] = []  # the signals received, in order (at most 5 kept, as gunicorn)


class Interrupted(KeyboardInterrupt):
    """A stop that was asked for (Ctrl-C, SIGTERM), raised where the loop could stop cleanly;
    a KeyboardInterrupt, so it takes the road Ctrl-C always took."""


# -- one child ---------------------------------------------------------------------------------


def die_with_parent() -> None:
    """Runs in the child between fork and exec: SIGTERM when tunicorn dies, even by kill -9."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def signal_group(pgid: int, sig: int) -> None:
    """`sig` to every process of the group; nothing when it is already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def log_tail(path: Path | None, limit: int = 200_000) -> str:
    """The last `limit` bytes of a child's log as text; "" when there is none to read."""
    if path is None:
        return ""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - limit))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


_live: set[Group] = set()
_live_lock = threading.Lock()


class Group:
    """One command in its own process group. Its output is appended to `log_path` (a file,
    never a pipe nobody reads: a full pipe stalls the child); with `pipe_stdout` its stdout is
    a pipe instead, read whole by `stop` into `output`. Use as a context manager, so the group
    is stopped whatever happens."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        log_path: Path,
        cwd: Path | str | None = None,
        env: Mapping[str, str] | None = None,
        pass_fds: Sequence[int] = (),
        cpus: Sequence[int] = (),
        pipe_stdout: bool = False,
        stderr_path: Path | None = None,
        log_mode: str = "ab",
        grace_s: float = STOP_GRACE_S,
        stop_signal: int = signal.SIGTERM,
    ) -> None:
        self.argv = list(argv)
        self.log_path = log_path
        self.cwd = cwd
        self.env = dict(env) if env is not None else None
        self.pass_fds = tuple(pass_fds)
        self.cpus = tuple(cpus)
        self.pipe_stdout = pipe_stdout
        self.stderr_path = stderr_path
        self.log_mode = log_mode
        self.grace_s = grace_s
        self.stop_signal = stop_signal
        self.proc: subprocess.Popen[bytes] | None = None
        self.output = b""

    def start(self) -> Group:
        """Start the command (refused once a stop was asked for: nothing new starts then)."""
        checkpoint()
        cpus = self.cpus

        def child() -> None:
            # The mask is inherited across exec: a child started while signals are held
            # would otherwise ignore the SIGTERM that stops it.
            signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
            if cpus:
                os.sched_setaffinity(0, cpus)
            die_with_parent()

        with contextlib.ExitStack() as files:
            log = files.enter_context(open(self.log_path, self.log_mode))
            if self.stderr_path is not None:
                err: IO[bytes] | int = files.enter_context(open(self.stderr_path, "wb"))
            else:
                err = log if self.pipe_stdout else subprocess.STDOUT
            files.enter_context(signals_held())
            self.proc = subprocess.Popen(
                self.argv, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if self.pipe_stdout else log, stderr=err,
                pass_fds=self.pass_fds, start_new_session=True, preexec_fn=child,
            )  # fmt: skip
            with _live_lock:
                _live.add(self)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None, "group not started"
        return self.proc.pid

    def poll(self) -> int | None:
        return self.proc.poll() if self.proc is not None else None

    def signal(self, sig: int) -> None:
        """`sig` to the whole group while it runs (after that its id may be another's)."""
        if self.proc is not None and self.proc.returncode is None:
            signal_group(self.proc.pid, sig)

    def stop(self) -> None:
        """Its stop signal (SIGTERM unless told) to the group, a grace period, SIGKILL to what
        is left. Safe to call twice."""
        stop_groups([self], self.grace_s)

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


def stop_groups(groups: Iterable[Group], grace_s: float = STOP_GRACE_S) -> None:
    """Stop several groups together, in order (Locust's master first: it tells its workers to
    quit): its stop signal to each (SIGTERM unless told), one shared grace period, then SIGKILL
    to every group, also to what outlived its leader. Signals are held meanwhile, so a second
    Ctrl-C cannot cut it short."""
    started = [g for g in groups if g.proc is not None]
    with signals_held():
        for g in started:
            g.signal(g.stop_signal)
        deadline = time.monotonic() + grace_s
        for g in started:
            _reap(g, max(0.0, deadline - time.monotonic()))
        for g in started:
            assert g.proc is not None
            signal_group(g.proc.pid, signal.SIGKILL)  # what ignored SIGTERM, and its children
            _reap(g, KILL_WAIT_S)
            with _live_lock:
                _live.discard(g)


def _reap(group: Group, timeout: float) -> None:
    proc = group.proc
    assert proc is not None
    with contextlib.suppress(subprocess.TimeoutExpired):
        if group.pipe_stdout and proc.stdout is not None and not proc.stdout.closed:
            out, _ = proc.communicate(timeout=timeout)
            group.output += out or b""
        else:
            proc.wait(timeout=timeout)


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    grace_s: float = STOP_GRACE_S,
) -> subprocess.CompletedProcess[str]:
    """`subprocess.run(argv, capture_output=True, text=True)` as a supervised group: its own
    session, dies with tunicorn, stopped whole (what it started too) on a timeout
    (subprocess.TimeoutExpired) or a stop asked for (Interrupted)."""
    folder = Path(tempfile.mkdtemp(prefix="tunicorn-run-"))
    out, err = folder / "stdout", folder / "stderr"
    try:
        with Group(
            argv, log_path=out, stderr_path=err, cwd=cwd, env=env, log_mode="wb", grace_s=grace_s
        ) as group:
            assert group.proc is not None
            deadline = time.monotonic() + timeout
            while True:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    group.proc.wait(timeout=min(0.05, max(0.0, deadline - time.monotonic())))
                if group.proc.returncode is not None:
                    break
                checkpoint()
                if time.monotonic() >= deadline:
                    raise subprocess.TimeoutExpired(list(argv), timeout)
        return subprocess.CompletedProcess(
            list(argv), group.proc.returncode, out.read_text(errors="replace"),
            err.read_text(errors="replace"),
        )  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)


_stopping: list[threading.Thread] = []  # stops under way on threads of their own (stop_later)


def stop_later(stop: Callable[[], None]) -> None:
    """Run `stop` (a server's, whose figures are taken) on a thread of its own, so the next
    server boots while it ends: a measured gunicorn takes about 0.37 s to stop (its workers
    sleep 0.1 s on SIGQUIT, its arbiter polls every 0.1 s) and as long again to boot, on every
    trial. `settle()` waits for every such stop; the next server calls it once it has booted,
    before any load, so no measured window shares the server's cores with one still ending."""
    thread = threading.Thread(target=stop, name="tunicorn-stop", daemon=True)
    with _live_lock:
        _stopping.append(thread)
    thread.start()


def settle() -> None:
    """Wait until every stop started by `stop_later` has finished."""
    with _live_lock:
        pending = list(_stopping)
        _stopping.clear()
    for thread in pending:
        thread.join()


def settles(fn: Callable[P, R]) -> Callable[P, R]:
    """`fn`, returning (or raising) only once every stop it left under way has finished."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        finally:
            settle()

    return wrapper


def live() -> list[Group]:
    """The groups started and not yet stopped."""
    with _live_lock:
        return list(_live)


def stop_all() -> None:
    """The last resort at exit: every group still registered is stopped."""
    stop_groups(live())
    settle()


atexit.register(stop_all)


# -- signals -----------------------------------------------------------------------------------

_wake: int | None = None  # the write end of the watcher's pipe while signals are handled
_active = False  # between handling_signals' entry and exit: the watcher may interrupt
_active_lock = threading.Lock()
_held = 0
_noticed = False
_insist = False


def stopping() -> bool:
    """Was a stop asked for? (Read by loops that end early rather than raise.)"""
    return STOP.is_set() or bool(SIG_QUEUE)


def checkpoint() -> None:
    """Raise Interrupted if a stop was asked for: called where a loop can stop cleanly."""
    global _noticed
    if stopping():
        _noticed = True
        raise Interrupted


def _handler(signum: int, frame: FrameType | None) -> None:
    # Only queue and wake, as gunicorn's arbiter does; interrupt where the main thread stands
    # only when asked twice (or the watcher found that nothing noticed the first).
    if (_insist or SIG_QUEUE) and not _held:
        raise KeyboardInterrupt
    if len(SIG_QUEUE) < 5:
        SIG_QUEUE.append(signum)
    if _wake is not None:
        with contextlib.suppress(OSError):
            os.write(_wake, b".")


def _watch(read_fd: int) -> None:
    """Wakes on the handler's byte: sets STOP, and interrupts the main thread if no loop
    noticed the stop within NOTICE_S (a wait that reads no flag)."""
    global _insist
    while os.read(read_fd, 1):
        STOP.set()
        deadline = time.monotonic() + NOTICE_S
        while _active and not _noticed and time.monotonic() < deadline:
            time.sleep(0.05)
        with _active_lock:
            if _active and not _noticed and not _insist:
                _insist = True
                # A real signal, so a blocking call (sleep, wait) returns with EINTR and
                # _handler raises there; interrupt_main() would wait for it to return.
                signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
    os.close(read_fd)


@contextlib.contextmanager
def handling_signals() -> Iterator[None]:
    """Ctrl-C and SIGTERM ask for a stop (see the module's docstring) while this is entered;
    the previous handlers are back afterwards. The CLI wraps every command in it."""
    global _wake, _noticed, _insist, _active
    STOP.clear()
    SIG_QUEUE.clear()
    _noticed = _insist = False
    _active = True
    read_fd, _wake = os.pipe()
    watcher = threading.Thread(target=_watch, args=(read_fd,), name="supervise", daemon=True)
    watcher.start()
    previous = {sig: signal.signal(sig, _handler) for sig in SIGNALS}
    try:
        yield
    finally:
        settle()  # a command returns once every server it stopped on a thread has ended
        with signals_held():  # what comes now is queued, then handled by the handlers restored
            with _active_lock:
                _active = False
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            wake, _wake = _wake, None
            os.close(wake)  # the watcher reads the end of its pipe and quits
        watcher.join(timeout=1.0)
        STOP.clear()  # the stop was this command's; what runs next in this process starts afresh
        SIG_QUEUE.clear()


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM while starting or cleaning up, so a second one cannot cut it
    short; what came meanwhile stays queued, and the next checkpoint acts on it."""
    global _held
    held = set(SIGNALS)
    main = _is_main()  # a stop on its own thread (stop_later) holds nothing of the main one's
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held) if main else None
    _held += main
    try:
        yield
    finally:
        _held -= main
        if previous is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _is_main() -> bool:
    return threading.current_thread() is threading.main_thread()
