"""Plain records that the pipeline stages hand each other, with a JSON round trip.

Every stage returns one of these frozen dataclasses and never a live object (a process,
a socket, a histogram), so a run can be saved with `save` and re-rendered with `load`
long after the servers are gone.

One module per stage's records (server, load, bench, workload, profile, machine, tune,
stall, probe, deploy, recommend) and the JSON I/O in `io`; every name is re-exported here,
so `from tunicorn.record import Trial` and `record.save(...)` read as before. It imports
settings (and `model`, on use, for W/C: the formula's one home): every stage may import it.
"""

from __future__ import annotations

from tunicorn.record.bench import BenchResult, UpstreamDelay
from tunicorn.record.deploy import CheckResult, Finding, Package, Rehearsal
from tunicorn.record.io import (
    SCHEMA_VERSION,
    from_builtins,
    from_json,
    load_kind,
    save,
    to_builtins,
    to_json,
)
from tunicorn.record.load import (
    ClientStats,
    Endpoint,
    Latency,
    LoadInfo,
    LoadResult,
    StalledStats,
    Tick,
)
from tunicorn.record.machine import Constraints, CorePlan, Machine, Rules
from tunicorn.record.probe import ProbeResult, StackTest, Wave
from tunicorn.record.profile import (
    LadderStep,
    MemoryProfile,
    ProcessLimit,
    Profile,
    RouteProfile,
    Usl,
)
from tunicorn.record.recommend import (
    Assumptions,
    ModelBaseline,
    ModelRecommendation,
    RecommendedConfig,
)
from tunicorn.record.server import Sample, ServerConfig, ServerStats
from tunicorn.record.stall import StallCheck, StallRun
from tunicorn.record.tune import (
    Baseline,
    ClientModelRun,
    Deal,
    Deals,
    ModelFigures,
    Recommendation,
    Run,
    Settlement,
    Trial,
    TuneResult,
)
from tunicorn.record.workload import LeftOut, Workload, WorkloadRoute

__all__ = [
    "Assumptions",
    "Baseline",
    "BenchResult",
    "CheckResult",
    "ClientModelRun",
    "ClientStats",
    "Constraints",
    "CorePlan",
    "Deal",
    "Deals",
    "Endpoint",
    "Finding",
    "LadderStep",
    "Latency",
    "LeftOut",
    "LoadInfo",
    "LoadResult",
    "Machine",
    "MemoryProfile",
    "ModelBaseline",
    "ModelFigures",
    "ModelRecommendation",
    "Package",
    "ProbeResult",
    "ProcessLimit",
    "Profile",
    "Recommendation",
    "RecommendedConfig",
    "Rehearsal",
    "RouteProfile",
    "Rules",
    "Run",
    "SCHEMA_VERSION",
    "Sample",
    "ServerConfig",
    "ServerStats",
    "Settlement",
    "StackTest",
    "StallCheck",
    "StallRun",
    "StalledStats",
    "Tick",
    "Trial",
    "TuneResult",
    "UpstreamDelay",
    "Usl",
    "Wave",
    "Workload",
    "WorkloadRoute",
    "from_builtins",
    "from_json",
    "load_kind",
    "save",
    "to_builtins",
    "to_json",
]
