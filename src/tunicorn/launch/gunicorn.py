"""gunicorn as a server program: its command line, and how to read what it says and why it exits.

Why it stopped is read from its exit status first, because gunicorn's arbiter gives the two
boot failures their own codes (arbiter.py: `WORKER_BOOT_ERROR = 3`, `APP_LOAD_ERROR = 4`) and
its command-line front end exits 1 on a setting it refuses; the log only supplies the line
that shows it, and the whole explanation only for codes with no meaning of their own.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.metadata
import re
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

from tunicorn.app.target import Target
from tunicorn.classes import ASGI_CLASSES, CLASS_PATHS
from tunicorn.launch.interface import ExitReason, ServerProgram, died_warnings, killed
from tunicorn.record import ServerConfig

WORKER_BOOT_ERROR = 3  # a worker raised before it booted: the app's import, or the class's start
APP_LOAD_ERROR = 4  # gunicorn.errors.AppImportError: the module imported, the app was not in it
EVIDENCE_MAX = 300

# The packages that provide worker classes gunicorn does not ship, by top-level module.
WORKER_PACKAGES = {
    "gevent": "gevent",
    "eventlet": "eventlet",
    "tornado": "tornado",
    "uvicorn_worker": "uvicorn-worker",
    "uvicorn": "uvicorn",
}


@functools.cache
def _has_control_socket() -> bool:
    """gunicorn 25.1 and newer open a control socket shared by every gunicorn of the user
    (~/.gunicorn/gunicorn.ctl); a trial has no use for it and must not contend for it."""
    try:
        parts = importlib.metadata.version("gunicorn").split(".")
        return (int(parts[0]), int(parts[1])) >= (25, 1)
    except (importlib.metadata.PackageNotFoundError, ValueError, IndexError):
        return False


def argv(target: Target, config: ServerConfig, fd: int, log_path: Path) -> list[str]:
    args = [
        sys.executable, "-m", "gunicorn",
        "--bind", f"fd://{fd}",
        "--workers", str(config.workers),
        *(() if config.worker_class in ASGI_CLASSES else ("--threads", str(config.threads))),
        "--worker-class", CLASS_PATHS.get(config.worker_class, config.worker_class),
        "--timeout", str(config.timeout),
        "--graceful-timeout", "3",
        "--error-logfile", str(log_path),
        "--log-level", "info",
    ]  # fmt: skip
    if _has_control_socket():
        args.append("--no-control-socket")
    if target.chdir:
        args += ["--chdir", target.chdir]
    return [*args, target.app]


def env(parent: Mapping[str, str]) -> dict[str, str]:
    # The user's own gunicorn settings in the environment would silently change the trial.
    out = {k: v for k, v in parent.items() if k not in ("GUNICORN_CMD_ARGS", "WEB_CONCURRENCY")}
    out["PYTHONUNBUFFERED"] = "1"
    return out


_CLASS_NAMES = {
    "ThreadWorker": "gthread",
    "SyncWorker": "sync",
    "GeventWorker": "gevent",
    "UvicornWorker": "uvicorn",
}


def running_class(config: ServerConfig, log: str) -> str:
    """The worker class from gunicorn's own line `Using worker: …`: it names gthread when
    sync was asked for with threads, which is the switch that matters."""
    match = re.search(r"Using worker: (\S+)", log)
    if not match:
        return config.effective().worker_class
    name = match.group(1).rsplit(".", 1)[-1]
    return _CLASS_NAMES.get(name, name)


def log_warnings(config: ServerConfig, log: str) -> list[str]:
    found = []
    timeouts = log.count("WORKER TIMEOUT")
    if timeouts:
        found.append(f"{timeouts} worker(s) hit the {config.timeout} s timeout and were killed")
    # One line per kill ("Worker (pid:…) was sent SIGKILL! Perhaps out of memory?"): count lines.
    oom = len(re.findall(r"^.*(?:was sent SIGKILL|Perhaps out of memory).*$", log, re.MULTILINE))
    if oom:
        found.append(f"{oom} worker(s) were killed by SIGKILL (out of memory?)")
    boots = len(re.findall(r"Booting worker with pid", log))
    return found + died_warnings(boots - config.workers, log)


# -- why it stopped ------------------------------------------------------------------------------

# What gunicorn prints (bare, on stderr) when it raises AppImportError in a worker.
_APP_LOAD_LINE = re.compile(
    r"^(Failed to find attribute|Failed to find application object|Application object must be"
    r" callable|Failed to parse|Function reference must be)[^\n]*",
    re.MULTILINE,
)
_NO_MODULE = re.compile(r"No module named '([^']+)'")
_CLASS_URI = re.compile(r"class uri '([^']*)' invalid or not found")
# A frame of the interpreter or an installed package, not of the user's app.
_NOT_THE_APP = re.compile(
    r"^<|[/\\](site|dist)-packages[/\\]|[/\\]lib[/\\]python\d+(\.\d+)?t?[/\\]", re.IGNORECASE
)
_FRAME = re.compile(r'^\s+File "([^"]+)", line (\d+)')
# With several workers the arbiter can raise HaltServer again while it stops the others; Python
# then exits 1 with a traceback, and the worker's status in the log is the one that says why.
_HALTED = re.compile(r"Worker \(pid:\d+\) exited with code ([34])\.|<HaltServer '[^']*' ([34])>")


def _clip(text: str) -> str:
    """One line of bounded length, without its closing full stop (it is quoted mid-sentence)."""
    text = " ".join(text.split()).rstrip(".")
    return text if len(text) <= EVIDENCE_MAX else text[: EVIDENCE_MAX - 1] + "…"


def _first_traceback(log: str) -> tuple[str, str] | None:
    """The first traceback's exception line, and the app's last frame in it as `file:line —
    code` ("" when every frame is gunicorn's or Python's)."""
    lines = log.splitlines()
    try:
        start = lines.index("Traceback (most recent call last):")
    except ValueError:
        return None
    where = ""
    for i in range(start + 1, len(lines)):
        line = lines[i]
        frame = _FRAME.match(line)
        if frame:
            path, lineno = frame.groups()
            if not _NOT_THE_APP.search(path):
                code = lines[i + 1].strip() if i + 1 < len(lines) else ""
                code = "" if code.startswith(("File ", "^", "~")) else code
                where = f"{path}:{lineno}" + (f" — {code}" if code else "")
            continue
        if line and not line[0].isspace():
            return line.strip(), where
    return None


def _traceback_evidence(log: str) -> tuple[str, str, bool]:
    """The evidence a traceback gives: exception at the app's line, the exception line
    alone, and whether the app's own code raised it."""
    found = _first_traceback(log)
    if found is None:
        return "", "", False
    error, where = found
    return _clip(f"{error} at {where}" if where else error), error, bool(where)


def _first_line(log: str, pattern: str) -> str:
    match = re.search(pattern, log, re.MULTILINE)
    return _clip(match.group(0)) if match else ""


def _package_for(module: str) -> str:
    top = module.split(".")[0]
    return WORKER_PACKAGES.get(top, top.replace("_", "-"))


def explain_exit(code: int, log: str) -> ExitReason:
    """Why gunicorn stopped: the meaning of its exit status and what to do, with the log line
    that shows it; for a code gunicorn gives no meaning, the log alone."""
    if code < 0:
        return killed(code, _first_line(log, r"[^\n]*(Perhaps out of memory|was sent SIG)[^\n]*"))
    if code not in (WORKER_BOOT_ERROR, APP_LOAD_ERROR):
        halted = _HALTED.search(log)
        if halted:
            reason = _explain_status(int(halted.group(1) or halted.group(2)), log)
            return dataclasses.replace(
                reason, status=f"exit status {code}, after a worker's {reason.status}"
            )
    return _explain_status(code, log)


def _explain_status(code: int, log: str) -> ExitReason:
    if code == APP_LOAD_ERROR:
        match = _APP_LOAD_LINE.search(log)
        return ExitReason(
            f"exit status {code} (APP_LOAD_ERROR)",
            "the app failed to load, as the worker imported its module but found no app in it",
            "point the target at the module's WSGI or ASGI callable (module:NAME, or "
            "module:factory() for a factory) and run again",
            _clip(match.group(0)) if match else _traceback_evidence(log)[0],
        )
    if code == WORKER_BOOT_ERROR:
        evidence, error, in_app = _traceback_evidence(log)
        missing = _NO_MODULE.search(error)
        if missing and error.startswith(("ModuleNotFoundError", "ImportError")):
            action = (
                f"install the package that provides {missing.group(1)!r} where gunicorn runs, "
                "or fix the import, and run again"
            )
        elif in_app:
            action = "fix the app's error at that line (or set what it needs) and run again"
        else:
            action = "fix what the worker raised at start-up (see its log) and run again"
        meaning = (
            "a worker failed to boot, as the app raised while the worker imported it"
            if in_app
            else "a worker failed to boot, as it raised before it could serve"
        )
        return ExitReason(f"exit status {code} (WORKER_BOOT_ERROR)", meaning, action, evidence)
    if code == 1:
        uri = _CLASS_URI.search(log)
        if uri:
            missing = _NO_MODULE.search(log[uri.end() :])
            package = _package_for(missing.group(1)) if missing else ""
            return ExitReason(
                f"exit status {code}",
                f"gunicorn could not load the worker class {uri.group(1)!r}",
                f"install its package (pip install {package}) and run again"
                if package and package != "gunicorn"
                else "check its name (gunicorn's own are sync, gthread, gevent, eventlet, "
                "tornado) or install the package that provides it, and run again",
                _clip(missing.group(0)) if missing else _clip(uri.group(0)),
            )
        config_file = _first_line(log, r"^Failed to read config file: [^\n]*")
        if config_file:
            return ExitReason(
                f"exit status {code}",
                "gunicorn could not read its configuration file (a gunicorn.conf.py in the "
                "app's folder is read on start)",
                "fix or remove that file and run again",
                config_file,
            )
        refused = _first_line(log, r"^Error: [^\n]*")
        if refused:
            return ExitReason(
                f"exit status {code}",
                "gunicorn refused its settings or could not start",
                "fix what it names and run again",
                refused,
            )
    if code == 255:  # sys.exit(-1): the arbiter's main loop raised
        return ExitReason(
            f"exit status {code}",
            "gunicorn's master stopped on an error of its own",
            "read its log; if it happens again, report it with the log",
            _traceback_evidence(log)[0] or _first_line(log, r"[^\n]*Unhandled exception[^\n]*"),
        )
    if code == 0:
        return ExitReason(
            f"exit status {code}",
            "gunicorn shut down cleanly before it was asked to",
            "see its log for what stopped it (a signal from elsewhere, or a setting in a "
            "gunicorn.conf.py)",
            _first_line(log, r"[^\n]*(Reason: |Handling signal: )[^\n]*"),
        )
    cause = explain_log(log)
    if cause is not None:
        meaning, action, evidence = cause
        return ExitReason(f"exit status {code}", meaning, action, evidence)
    return ExitReason(
        f"exit status {code}",
        "gunicorn stopped and its log does not say why",
        "read its log and run again",
    )


_LOG_CAUSES = (
    (re.compile(r"(ModuleNotFoundError|ImportError|SyntaxError|NameError|AttributeError)[^\n]*"),
     "the app failed to import in the worker", "fix the app's import error and run again"),
    (re.compile(r"Failed to find (attribute|application object)[^\n]*"),
     "the app object was not found", "name the app's callable as module:NAME"),
    (re.compile(r"Worker failed to boot"), "a worker failed to boot",
     "fix what the worker raised at start-up (see its log) and run again"),
    (re.compile(r"App failed to load"), "the app failed to load",
     "fix the app's import error and run again"),
    (re.compile(r"Address already in use"), "the port is in use",
     "stop what listens there or pick another --port"),
    (re.compile(r"Error: class uri '[^']*' invalid or not found[^\n]*"),
     "the worker class is not installed", "install its package and run again"),
)  # fmt: skip


def explain_log(text: str) -> tuple[str, str, str] | None:
    """The first cause of a failure found in a gunicorn log alone: what it means, what to do,
    and the line it came from; for exit codes gunicorn gives no meaning."""
    for pattern, meaning, action in _LOG_CAUSES:
        match = pattern.search(text)
        if match:
            return meaning, action, _clip(match.group(0))
    return None


def stop_signal(config: ServerConfig) -> int:
    """gunicorn's quick shutdown (SIGQUIT) once a run's figures are taken: SIGTERM's graceful
    one waits for the requests in flight (a stalled one for its whole stall) and for a gevent
    worker's one-second loop. Not for uvicorn's worker, which leaves SIGQUIT at its default
    (a core dump): SIGTERM, which it handles."""
    return signal.SIGTERM if config.worker_class in ASGI_CLASSES else signal.SIGQUIT


PROGRAM = ServerProgram(
    name="gunicorn",
    argv=argv,
    env=env,
    running_class=running_class,
    explain_exit=explain_exit,
    log_warnings=log_warnings,
    stop_signal=stop_signal,
    workers=lambda config: config.workers,
)
