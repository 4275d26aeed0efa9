"""The one interface every load engine implements: a LoadSpec in, a LoadResult out.

An engine owns how requests are made and timed; what it is asked to do (the mix, the
concurrency or rate, the window) and what it must hand back (`record.LoadResult`, with
ticks while it runs and a stop it obeys) are the same for all, so the stages that load a
server (measure, tune, profile) never know which engine ran.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from tunicorn.load.scenario import ENGINES, EngineName, LoadSpec

if TYPE_CHECKING:
    from tunicorn.record import LoadResult, Tick

__all__ = ["ENGINES", "Engine", "EngineName", "TickCallback"]

TickCallback = Callable[["Tick"], None]


@dataclasses.dataclass(frozen=True)
class Engine:
    """One load engine: how it refuses a spec it cannot drive, and how it drives one.

    `run(spec, on_tick, stop)` blocks until the measured window ends or `stop` is set,
    calls `on_tick` about every `spec.tick_s` from the thread it runs in, and counts only
    the window after the warm-up. A window stopped early is a whole result over the time it
    ran, so `on_tick` may set `stop` to end a window on a condition (capacity.UntilSure: once
    its throughput is sure) without any engine knowing the condition. `check(spec)` raises
    UsageError for a spec it cannot drive, so the dispatcher can refuse it before any load
    is sent.
    """

    name: EngineName
    run: Callable[[LoadSpec, TickCallback | None, threading.Event | None], LoadResult]
    check: Callable[[LoadSpec], None]
