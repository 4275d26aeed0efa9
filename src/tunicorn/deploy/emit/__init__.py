"""The emit stage: one module per output format behind one interface.

`render(fmt, spec)` maps the user's choice to its module with `assert_never`, so adding a
format to `Format` without a module is a type error, not a silent fallthrough.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal, get_args

from tunicorn._typing import assert_never
from tunicorn.classes import APP_SERVICE_TIMEOUT, FRONTEND_TIMEOUT, WORKER_CLASSES, WorkerClass
from tunicorn.deploy import packages
from tunicorn.deploy.emit import appsettings, az, azure, conf, dockerfile, procfile
from tunicorn.deploy.emit.interface import DEFAULT_APP, EmitSpec, Emitter, make_spec
from tunicorn.deploy.requirements import read_project
from tunicorn.errors import UsageError
from tunicorn.record import Recommendation, TuneResult

Format = Literal["azure", "az", "appsettings", "conf", "procfile", "dockerfile"]
FORMATS: tuple[Format, ...] = get_args(Format)

__all__ = [
    "APP_SERVICE_TIMEOUT",
    "DEFAULT_APP",
    "FORMATS",
    "FRONTEND_TIMEOUT",
    "WORKER_CLASSES",
    "EmitSpec",
    "Emitter",
    "Format",
    "WorkerClass",
    "emitter",
    "make_spec",
    "render",
    "with_commands",
    "with_packages",
]


def emitter(fmt: Format) -> Emitter:
    """The implementation of one output format."""
    if fmt == "azure":
        return azure.EMITTER
    elif fmt == "az":
        return az.EMITTER
    elif fmt == "appsettings":
        return appsettings.EMITTER
    elif fmt == "conf":
        return conf.EMITTER
    elif fmt == "procfile":
        return procfile.EMITTER
    elif fmt == "dockerfile":
        return dockerfile.EMITTER
    else:
        assert_never(fmt)


def render(fmt: Format, spec: EmitSpec) -> str:
    return emitter(fmt).render(spec)


def with_commands(result: TuneResult) -> TuneResult:
    """A tune's result with the pick's startup command, az line and app settings written.

    The decision is made first (recommend.decide); writing it out is this stage's job. App
    settings are left empty where they cannot express the pick (a worker class).
    """
    rec = result.recommendation
    if rec is None:
        return result
    spec = make_spec(rec.workers, rec.threads, rec.worker_class, app=rec.app)
    try:
        app_settings = render("appsettings", spec).strip()
    except UsageError:
        app_settings = ""
    written: Recommendation = dataclasses.replace(
        rec,
        startup_command=spec.command(),
        az_command=render("az", spec).strip(),
        app_settings=app_settings,
    )
    return dataclasses.replace(result, recommendation=written)


def with_packages(result: TuneResult, project: Path | None) -> TuneResult:
    """A tune's result with the packages the pick needs where it is deployed, against the
    project's requirements (App Service installs nothing else), and the lines to add.

    `project` is the app's folder; None (the bundled demo) lists every package as to add.
    """
    rec = result.recommendation
    if rec is None:
        return result
    reqs = read_project(project) if project is not None else None
    needed = packages.resolve(packages.for_server("gunicorn", rec.worker_class), reqs)
    written: Recommendation = dataclasses.replace(
        rec,
        packages=needed,
        requirements_file=reqs.source if reqs is not None else "",
        requirements_add=packages.to_add(needed),
    )
    return dataclasses.replace(result, recommendation=written)
