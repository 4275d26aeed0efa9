"""The finalists under a stalled upstream (`--stall`): each one's run and the verdict."""

from __future__ import annotations

import dataclasses

from tunicorn.record.load import Latency, StalledStats
from tunicorn.record.server import ServerConfig


@dataclasses.dataclass(frozen=True)
class StallRun:
    """One finalist at the stall check's offered load with the stall on (`stall.check`):
    whether it holds, and the figures that say so. The latency and counts are the other
    requests'; the stalled ones are in `stalled`."""

    config: ServerConfig
    role: str  # "pick", "rival", "most-slots", or a baseline's role
    trial: str  # the key of its trial in the run
    holds: bool
    reason: str  # why it does not hold, in a phrase ("" when it holds)
    rate_rps: float  # offered
    throughput_rps: float  # of the others
    requests: int  # the others that ended in the window
    errors: int  # every error, stalled requests' too
    latency_ms: Latency
    within_slo: float  # share of the others answered within the SLO
    stalled: StalledStats
    model_holds: bool  # what the stall model says for its slots (model.stall_holds)
    gives_way_rps: float | None  # where the model says its slots give way (None: never)
    histogram: str = ""  # the others' latency (base64 HDR, µs)
    rate_missed: bool = False


@dataclasses.dataclass(frozen=True)
class StallCheck:
    """The finalists under a stalled upstream: `share` of requests wait `stall_s` inside
    the app while the finalists each serve `rate_rps` (open loop); the pick is chosen among
    those that hold."""

    share: float
    stall_s: float
    rate_rps: float
    rate_basis: str  # how the rate was chosen, in words
    slo_p95_ms: float
    duration_s: float  # each finalist's measured window
    runs: tuple[StallRun, ...] = ()
    picked: str = ""  # the trial key picked after the check ("" when none was picked)
    first: str = ""  # the trial key picked by capacity before the check
    note: str = ""  # where none holds: what would
    skipped: str = ""  # why the check did not run, "" when it did
    service_ms: float = 0.0  # the others' time in the app, one at a time, that the model used

    def run(self, key: str) -> StallRun | None:
        return next((r for r in self.runs if r.trial == key), None)
