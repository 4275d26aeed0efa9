"""What check and rehearse found: findings, the app's packages, a rehearsal as App Service
runs it."""

from __future__ import annotations

import dataclasses

from tunicorn.record.io import SCHEMA_VERSION


@dataclasses.dataclass(frozen=True)
class Finding:
    """One risk that `check` found: `code` is a stable identifier for scripts and CI gates."""

    level: str  # "error", "warning" or "info"
    code: str
    message: str


@dataclasses.dataclass(frozen=True)
class Package:
    """A package a configuration needs where it is deployed (packages.py's table).

    `tested` is the version installed where tunicorn ran it, "" when it is not installed here;
    `listed` is the project's requirement that installs it, "" when none does; `line` is the
    requirement to add for it, pinned to the version tested.
    """

    name: str
    why: str
    tested: str = ""
    listed: str = ""
    line: str = ""


@dataclasses.dataclass(frozen=True)
class Rehearsal:
    """`check --rehearse`: App Service's build and start, done here in a fresh environment.

    `stage` is where it stopped: "install", "boot" or "request" when it failed, "served" when
    the first route answered; `error` is the first line that shows why and `action` what to do.
    `notes` say where the rehearsal differs from the platform (the gunicorn that stands in for
    the image's, setup steps of a startup script it did not run, pip for a pyproject.toml).
    """

    ok: bool
    stage: str
    python: str = ""
    requirements: str = ""  # what was installed: "requirements.txt", "pyproject.toml", …, ""
    command: str = ""  # the server command as run here, bound to loopback
    installed_s: float | None = None
    booted_s: float | None = None
    path: str = "/"
    status: int | None = None
    latency_ms: float | None = None
    error: str = ""
    action: str = ""
    notes: tuple[str, ...] = ()
    log_tail: tuple[str, ...] = ()  # the last lines of the failing step's output
    env_kept: str = ""  # the environment's folder when it was kept (--keep-env)


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """What App Service will run for a folder, read from its files and settings, and the risks."""

    path: str
    platform_command: str
    workers: int
    threads: int
    worker_class: str  # the class gunicorn really runs (sync with threads > 1 is gthread)
    timeout: int
    module: str
    startup_source: str  # default, startup.txt, Dockerfile or settings
    findings: tuple[Finding, ...] = ()
    plan: str = ""
    cores: int | None = None  # None when no plan was given and 2 x cores + 1 needed a guess
    server: str = "gunicorn"  # gunicorn, or what the startup command runs instead
    rehearsal: Rehearsal | None = None  # check --rehearse: the build and start, done here
    kind: str = "check"
    schema: int = SCHEMA_VERSION
