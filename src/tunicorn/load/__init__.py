"""The load stage: drive real HTTP/1.1 load at a URL and summarise what came back.

`run_load(LoadSpec)` is the one entry point; it returns a `record.LoadResult`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tunicorn.load.scenario import LoadSpec, Request

if TYPE_CHECKING:
    import threading

    from tunicorn.record import LoadResult, Tick

__all__ = ["LoadSpec", "Request", "run_load"]


def run_load(
    spec: LoadSpec,
    *,
    on_tick: Callable[[Tick], None] | None = None,
    stop: threading.Event | None = None,
) -> LoadResult:
    from tunicorn.load.engine import run_load as _run

    return _run(spec, on_tick=on_tick, stop=stop)
