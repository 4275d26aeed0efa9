"""`tunicorn check PATH --rehearse`: App Service's build and start, done here before a deploy.

A configuration that ran under tunicorn can still fail on App Service, because the platform
builds the project afresh from its requirements and starts it with its own command. The
rehearsal does the same, in this order, and stops at the first step that fails with the line
that shows why: a fresh virtual environment in a temporary folder (`build`), the project's
requirements installed into it with pip and the user's own index settings (`build`), then the
command `check` found, bound to a free loopback port, until one GET answers (`start`).

Everything it starts runs in its own process group and is stopped on success, failure,
Ctrl-C and SIGTERM (`tunicorn.supervise`); the temporary folder goes too unless `keep_env`. The core
never prints: progress goes to `say`, and the outcome is a `record.Rehearsal`.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from tunicorn.deploy.rehearse import build, start
from tunicorn.deploy.requirements import read_project
from tunicorn.record import CheckResult, Rehearsal
from tunicorn.supervise import signals_held

__all__ = ["rehearse"]

VENV_NAME = "antenv"  # what Oryx calls the environment it builds
# The user's shell settings App Service would not have; app settings are passed instead.
_HOST_ONLY = ("GUNICORN_CMD_ARGS", "WEB_CONCURRENCY")


def rehearse(
    root: Path,
    result: CheckResult,
    *,
    settings: Mapping[str, str] | None = None,
    path: str = "/",
    keep_env: bool = False,
    install_timeout_s: float = 600.0,
    boot_timeout_s: float = 230.0,
    say: Callable[[str], None] = lambda text: None,
    shown_root: Path | None = None,
) -> Rehearsal:
    """Build and start `root` as App Service would run `result.platform_command`.

    `settings` are the site's app settings (they are the app's environment there); `shown_root`
    is the folder named in messages where `root` is a temporary view of it.
    """
    root = root.resolve()  # gunicorn's --chdir and the app's tracebacks name it so
    work = Path(tempfile.mkdtemp(prefix="tunicorn-rehearse-"))
    try:
        outcome = _rehearse(root, work, result, dict(settings or {}), path,
                            install_timeout_s, boot_timeout_s, say)  # fmt: skip
    finally:
        with signals_held():
            if not keep_env:
                shutil.rmtree(work, ignore_errors=True)
    if keep_env:
        outcome = dataclasses.replace(outcome, env_kept=str(work / VENV_NAME))
    return _shown(outcome, root, shown_root) if shown_root is not None else outcome


def _rehearse(
    root: Path,
    work: Path,
    result: CheckResult,
    settings: dict[str, str],
    path: str,
    install_timeout_s: float,
    boot_timeout_s: float,
    say: Callable[[str], None],
) -> Rehearsal:
    venv = work / VENV_NAME
    reqs = read_project(root)
    base = build.environment(os.environ)
    # pip's build environments and gunicorn's worker files go where the cleanup reaches them,
    # even when pip is stopped before it could remove its own.
    (work / "tmp").mkdir()
    base["TMPDIR"] = str(work / "tmp")
    server_env = {k: v for k, v in base.items() if k not in _HOST_ONLY}
    server_env.update({k: v for k, v in settings.items() if k != "appCommandLine"})
    server_env["PATH"] = build.bin_path(venv, base)
    server_env["VIRTUAL_ENV"] = str(venv)
    # gunicorn ≥ 25.1 opens a control socket in $XDG_RUNTIME_DIR, else ~/.gunicorn: one per
    # rehearsal, inside its folder, so it neither outlives it nor meets another gunicorn's.
    server_env["XDG_RUNTIME_DIR"] = str(work / "tmp")
    launch = start.launch_for(result.platform_command, root, venv, server_env, 0)
    if isinstance(launch, str):
        return Rehearsal(False, "skipped", requirements=reqs.source, error=launch,
                         action="rehearse a gunicorn startup command, or start this one "
                         "yourself to try it")  # fmt: skip
    built = build.build(root, venv, reqs, env=base, needs_gunicorn=True,
                        timeout_s=install_timeout_s, say=say)  # fmt: skip
    done = Rehearsal(False, "install", python=build.python_version(venv),
                     requirements=reqs.source, path=path,
                     installed_s=built.seconds, notes=built.notes)  # fmt: skip
    if not built.ok:
        return dataclasses.replace(done, error=built.error, action=built.action,
                                   log_tail=built.log_tail)  # fmt: skip
    # The port is taken just before the start, so that the install's minutes cannot lose it.
    launch = start.launch_for(result.platform_command, root, venv, server_env, start.free_port())
    assert isinstance(launch, start.Launch)
    done = dataclasses.replace(done, command=launch.shown)
    say(f"installed in {built.seconds:.1f} s; starting {launch.shown}")
    booted = start.boot(launch, work / "server.log", timeout_s=boot_timeout_s, path=path, say=say)
    return dataclasses.replace(
        done, ok=booted.ok, stage=booted.stage, booted_s=booted.booted_s, status=booted.status,
        latency_ms=booted.latency_ms, error=booted.error, action=booted.action,
        notes=built.notes + launch.notes, log_tail=booted.log_tail,
    )  # fmt: skip


def _shown(outcome: Rehearsal, root: Path, shown: Path) -> Rehearsal:
    """Messages with the temporary view's paths replaced: each file by the one it links to (the
    project's app.py, the emitted startup.txt), the view itself by the folder the user named."""
    pairs = [(f"{root}/{e.name}", str(e.resolve())) for e in root.iterdir() if e.is_symlink()]
    pairs.append((str(root), str(shown)))

    def fix(text: str) -> str:
        for old, new in pairs:
            text = text.replace(old, new)
        return text

    return dataclasses.replace(
        outcome,
        command=fix(outcome.command),
        error=fix(outcome.error),
        action=fix(outcome.action),
        notes=tuple(fix(n) for n in outcome.notes),
        log_tail=tuple(fix(line) for line in outcome.log_tail),
    )
