"""The emit stage: one module per output format behind one interface.

`render(fmt, spec)` maps the user's choice to its module with `assert_never`, so adding a
format to `Format` without a module is a type error, not a silent fallthrough.
"""

from __future__ import annotations

from typing import Literal, get_args

from tunicorn._typing import assert_never
from tunicorn.emit import appsettings, az, azure, conf, dockerfile, procfile
from tunicorn.emit.interface import (
    APP_SERVICE_TIMEOUT,
    DEFAULT_APP,
    WORKER_CLASSES,
    EmitSpec,
    Emitter,
    WorkerClass,
    make_spec,
)

Format = Literal["azure", "az", "appsettings", "conf", "procfile", "dockerfile"]
FORMATS: tuple[Format, ...] = get_args(Format)

__all__ = [
    "APP_SERVICE_TIMEOUT",
    "DEFAULT_APP",
    "FORMATS",
    "WORKER_CLASSES",
    "EmitSpec",
    "Emitter",
    "Format",
    "WorkerClass",
    "emitter",
    "make_spec",
    "render",
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
