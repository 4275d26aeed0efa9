"""uvicorn on its own as a server program: `uvicorn --fd N --workers N module:app`.

uvicorn's own supervisor (`--workers`, since 0.30 it restarts workers that die) serves ASGI
apps without gunicorn; gunicorn with `uvicorn_worker.UvicornWorker` is the other way and the
one App Service documents. Both run the same uvicorn server in each worker. uvicorn takes a
factory with `--factory module:name`, not gunicorn's `module:name()`, and writes its log to
stderr only, which the runner sends to the log file.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from pathlib import Path

from tunicorn.app.target import Target
from tunicorn.errors import UsageError
from tunicorn.launch.gunicorn import _clip, _traceback_evidence
from tunicorn.launch.interface import ExitReason, ServerProgram, died_warnings, killed
from tunicorn.record import ServerConfig

STARTUP_FAILURE = 3  # uvicorn.server: the app's lifespan startup failed


def app_args(app: str) -> list[str]:
    """`module:factory()` as uvicorn takes it (`--factory module:factory`)."""
    if not app.endswith(")"):
        return [app]
    module, _, call = app.partition(":")
    name, _, rest = call.partition("(")
    if rest.rstrip(")").strip():
        raise UsageError(
            f"uvicorn calls a factory without arguments (--factory), so it cannot run {app}: "
            "give the factory defaults, or use gunicorn (the default --server)."
        )
    return ["--factory", f"{module}:{name}"]


def argv(target: Target, config: ServerConfig, fd: int, log_path: Path) -> list[str]:
    args = [
        sys.executable, "-m", "uvicorn",
        "--fd", str(fd),
        "--workers", str(config.workers),
        "--timeout-graceful-shutdown", "3",
        "--log-level", "info",
        "--no-access-log",  # gunicorn writes none by default either: the log stays small
    ]  # fmt: skip
    if target.chdir:
        args += ["--app-dir", target.chdir]
    return [*args, *app_args(target.app)]


def env(parent: Mapping[str, str]) -> dict[str, str]:
    # uvicorn reads WEB_CONCURRENCY and UVICORN_* as defaults: they would change the trial.
    out = {
        k: v for k, v in parent.items()
        if k not in ("WEB_CONCURRENCY", "GUNICORN_CMD_ARGS") and not k.startswith("UVICORN_")
    }  # fmt: skip
    out["PYTHONUNBUFFERED"] = "1"
    return out


def running_class(config: ServerConfig, log: str) -> str:
    return "uvicorn"


def log_warnings(config: ServerConfig, log: str) -> list[str]:
    return died_warnings(len(re.findall(r"Child process \[\d+\] died", log)), log)


_LOAD_ERROR = re.compile(r"Error loading ASGI app[^\n]*")


def explain_exit(code: int, log: str) -> ExitReason:
    """Why uvicorn stopped: its log's "Error loading ASGI app" or the app's traceback."""
    if code < 0:
        return killed(code, "")
    if re.search(r"No module named '?uvicorn'?", log) and "Error loading" not in log:
        return ExitReason(
            f"exit status {code}", "uvicorn is not installed where tunicorn runs",
            "pip install uvicorn (or tunicorn[asgi]) and run again",
        )  # fmt: skip
    load = _LOAD_ERROR.search(log)
    if load:
        return ExitReason(
            f"exit status {code}", "uvicorn could not load the app",
            "point the target at the module's ASGI callable (module:NAME) and run again",
            _clip(load.group(0)),
        )  # fmt: skip
    evidence, _, in_app = _traceback_evidence(log)
    if code == STARTUP_FAILURE:
        return ExitReason(
            f"exit status {code} (startup failed)",
            "the app's lifespan startup raised, so uvicorn stopped before serving",
            "fix what the startup handler raised and run again", evidence,
        )  # fmt: skip
    return ExitReason(
        f"exit status {code}",
        "the app raised while uvicorn imported it" if in_app else "uvicorn stopped",
        "fix the app's error at that line and run again" if in_app else "read its log",
        evidence,
    )


PROGRAM = ServerProgram(
    name="uvicorn",
    argv=argv,
    env=env,
    running_class=running_class,
    explain_exit=explain_exit,
    log_warnings=log_warnings,
)
