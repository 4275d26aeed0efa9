"""The load stage: drive real HTTP/1.1 load at a URL and summarise what came back.

`run_load(LoadSpec)` is the one entry point; it returns a `record.LoadResult`. The engine
that drives the load is the spec's `engine`, mapped to its module by `engine_for` with
`assert_never`, so an engine added to `EngineName` without an implementation is a type
error, not a silent fallthrough.

It may import the shared modules, `tunicorn.app` and `tunicorn.launch` (the stall wrapper's
header); never `run` or a later stage. Inside it the imports go one way (docs/layout.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tunicorn._typing import assert_never
from tunicorn.errors import UsageError
from tunicorn.load.interface import ENGINES, Engine, EngineName, TickCallback
from tunicorn.load.scenario import LoadSpec, LocustOptions, Request
from tunicorn.supervise import checkpoint

if TYPE_CHECKING:
    import threading

    from tunicorn.record import LoadResult

__all__ = [
    "ENGINES",
    "Engine",
    "EngineName",
    "LoadSpec",
    "LocustOptions",
    "Request",
    "TickCallback",
    "engine_for",
    "run_load",
]


def engine_for(name: EngineName) -> Engine:
    """The implementation of one engine, imported only when it is asked for (the built-in
    one loads httptools and hdrh, which the rest of the CLI does not need; the locust one
    imports no Locust at all: Locust runs in its own processes)."""
    if name == "builtin":
        from tunicorn.load import engine

        return engine.ENGINE
    elif name == "locust":
        from tunicorn.load import locust

        return locust.ENGINE
    else:
        assert_never(name)


def run_load(
    spec: LoadSpec,
    *,
    on_tick: TickCallback | None = None,
    stop: threading.Event | None = None,
) -> LoadResult:
    """Drive `spec` with its engine and summarise the measured window (see `Engine`).

    A window that Ctrl-C or SIGTERM cut short is no result: it ends in `Interrupted`."""
    if spec.engine not in ENGINES:
        raise UsageError(f"Unknown load engine {spec.engine!r}: use one of {', '.join(ENGINES)}.")
    engine = engine_for(spec.engine)
    engine.check(spec)
    checkpoint()
    result = engine.run(spec, on_tick, stop)
    checkpoint()
    return result
