"""The one interface every server program implements: what to run for one configuration.

The runner (`launch.server.Server`) owns everything that is the same for any server: the
socket bound before anything starts, the process group, the parent-death signal, the log
file, the stop. What differs from one server to the next is here, as plain functions, so a
program is added beside gunicorn (uvicorn, gunicorn with an ASGI worker class) without
touching the runner or anything that calls it, and each piece is tested without a process.
"""

from __future__ import annotations

import dataclasses
import re
import signal
import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tunicorn.app.target import Target
    from tunicorn.record import ServerConfig


# The phrases a run's notes use for workers that died, read back by `unmet` to say why no
# configuration met the target: one place writes and reads them.
RESTARTED = "workers were restarted {n} time(s) during the run"
LAST_ERROR = "the server log's last error: "
# A line logged at WARNING or above, by gunicorn ("[…] [pid] [ERROR] …") or uvicorn ("ERROR: …").
_LOUD = re.compile(
    r"^(?:(?:\[[^\]]*\]\s*)*\[(?:WARNING|ERROR|CRITICAL)\]|(?:WARNING|ERROR|CRITICAL):)\s*(\S.*)$",
    re.MULTILINE,
)


def died_warnings(restarts: int, log: str) -> list[str]:
    """Workers that died during a run, and the log's last error line, which says how (a signal
    such as SIGSEGV, an exit code, an exception): the first thing to read when every trial
    fails."""
    if restarts <= 0:
        return []
    found = [RESTARTED.format(n=restarts)]
    lines = [m.group(1).strip() for m in _LOUD.finditer(log)]
    lines = [ln for ln in lines if "SIGTERM" not in ln and "Handling signal" not in ln]
    if lines:
        found.append(f'{LAST_ERROR}"{lines[-1][:200]}"')  # quoted: it ends as the log says
    return found


@dataclasses.dataclass(frozen=True)
class ExitReason:
    """Why a server stopped, in the words a user acts on: what its exit status means, what
    to do about it, and the log line that shows it (so the guess can be checked)."""

    status: str  # "exit status 4 (APP_LOAD_ERROR)", "signal SIGKILL"
    meaning: str  # what went wrong, e.g. "gunicorn imported the module but found no app in it"
    action: str  # what the user should do next, e.g. "name the app as module:NAME"
    evidence: str = ""  # the first relevant line of the server's log, "" if none was found

    def __str__(self) -> str:
        text = f"{self.status}: {self.meaning}"
        if self.evidence:
            text += f" ({self.evidence})"
        if self.action:
            text += f"; {self.action}"
        return text.rstrip(".")


def answers_http(host: str, port: int, path: str) -> bool:
    """True once the server answers an HTTP request with any status: a status line means the
    app is loaded and serving, which is what a trial needs before load starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(2.0)
            s.connect((host, port))
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            return s.recv(16).startswith(b"HTTP/")
    except OSError:
        return False


def killed(code: int, evidence: str = "") -> ExitReason:
    """A server ended by a signal (a negative Popen return code): the same for every program,
    since the kernel, not the server, chose the code."""
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = str(-code)
    if -code == signal.SIGKILL:
        return ExitReason(
            f"signal {name}",
            "something killed it outright, most often the kernel's out-of-memory killer",
            "give it more memory or run fewer workers",
            evidence,
        )
    return ExitReason(
        f"signal {name}",
        "it was stopped by a signal it did not handle",
        "see its log, and stop whatever sent the signal",
        evidence,
    )


@dataclasses.dataclass(frozen=True)
class ServerProgram:
    """One server program, as pure functions of the configuration and of what the program
    wrote to its log; the runner calls them and holds no knowledge of any one server."""

    name: str
    # The command line for `config`, serving `target` on the already listening socket `fd`,
    # writing its own log (if it can name one) to `log_path`.
    argv: Callable[[Target, ServerConfig, int, Path], list[str]]
    # The environment the program runs with, from the caller's: settings the user left in
    # the environment (GUNICORN_CMD_ARGS, WEB_CONCURRENCY) would silently change the trial.
    env: Callable[[Mapping[str, str]], dict[str, str]]
    # The worker class that really runs, read back from the log where the program says it
    # (gunicorn: "Using worker: …"), else from the configuration.
    running_class: Callable[[ServerConfig, str], str]
    # Why it stopped, from its exit status first (a negative one is a signal) and the log
    # as evidence; for codes the program gives no meaning, from the log alone.
    explain_exit: Callable[[int, str], ExitReason]
    # What the program said during a run that changes how its figures read (timeouts,
    # restarted workers), one phrase each.
    log_warnings: Callable[[ServerConfig, str], list[str]]
    # Readiness: whether the server on host:port serves `path` yet.
    ready: Callable[[str, int, str], bool] = answers_http
    # The worker processes it forks for `config` (its process tree's children once booted;
    # 0: none to wait for).
    workers: Callable[[ServerConfig], int] = lambda config: 0
    # The signal that stops it once its figures are taken (SIGKILL follows a grace period).
    stop_signal: Callable[[ServerConfig], int] = lambda config: signal.SIGTERM
