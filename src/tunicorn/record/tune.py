"""One tune: its trials, how they were settled, the baselines, the recommendation."""

from __future__ import annotations

import dataclasses

from tunicorn.record.bench import BenchResult, UpstreamDelay
from tunicorn.record.deploy import Package
from tunicorn.record.io import SCHEMA_VERSION
from tunicorn.record.load import ClientStats, Latency
from tunicorn.record.machine import Constraints
from tunicorn.record.profile import Profile
from tunicorn.record.server import ServerConfig, ServerStats
from tunicorn.record.stall import StallCheck
from tunicorn.record.workload import Workload


@dataclasses.dataclass(frozen=True)
class Run:
    """One full measurement of a configuration that was measured more than once."""

    capacity_rps: float
    throughput_rps: float
    p95_ms: float
    pss_mib_peak: float
    cpu_cores_busy: float = 0.0
    capacity_ci: tuple[float, float] = (0.0, 0.0)
    speed_ms: float = 0.0  # the machine's fixed loop before it (Trial.speed_ms)


@dataclasses.dataclass(frozen=True)
class ClientModelRun:
    """The same configuration measured with the other client model: kept-alive connections
    (what a front end that pools connections sends) if the trial opened one per request, or
    the reverse."""

    keepalive: bool
    capacity_rps: float
    throughput_rps: float
    p95_ms: float
    feasible: bool
    reason: str = ""
    # Kept-alive connections on workers that race to accept: the closed loop dealt again
    # (`deal`); rank judges this run by the low end of its hands.
    deals: Deals | None = None


@dataclasses.dataclass(frozen=True)
class Deal:
    """One closed loop on kept-alive connections opened afresh on the same server: one hand
    of the accept race (`deal`)."""

    throughput_rps: float
    p95_ms: float
    passed: bool  # p95 within the SLO and no errors
    worker_connections: tuple[int, ...] = ()  # per worker, halfway through the window
    errors: int = 0
    clients: int = 0  # the closed loop's connections (0: an older record; see Deals.clients)


@dataclasses.dataclass(frozen=True)
class Deals:
    """A kept-alive capacity measured over several hands: where connections landed decides it,
    so it is judged by its low end (`low_rps`: the worst hand; one that missed the SLO counts
    the rate that Little's law says would meet it, one with errors 0)."""

    clients: int
    deals: tuple[Deal, ...]
    low_rps: float
    median_rps: float
    high_rps: float
    seconds: float  # what the deals cost, server start included
    slo_p95_ms: float = 0.0  # the latency target the hands were held to (0: an older record)


@dataclasses.dataclass(frozen=True)
class Trial:
    """One configuration measured by tune: its capacity, or why it cannot be used.

    The top-level keys mirror a bench result (config, throughput_rps, latency_ms, server,
    client…) taken from the saturating phase; `capacity_rps` is the highest rate that met
    the SLO with no errors.
    """

    config: ServerConfig
    source: str  # "baseline", "model", "search", "grid"
    feasible: bool
    reason: str  # "" when feasible, else why not: "memory", "errors", "slo", "failed", "slower"
    capacity_rps: float
    throughput_rps: float
    requests: int
    errors: int
    latency_ms: Latency
    server: ServerStats | None
    client: ClientStats
    predicted_pss_mib: float = 0.0
    note: str = ""
    phases: tuple[BenchResult, ...] = ()  # the saturating closed loop, then the ladder's
    capacity_clients: int = 0  # the closed loop's clients that showed capacity_rps (0: none)
    # CPU ms per worker over the saturating window (not connections, whatever the name says:
    # those are `worker_connections`); recommend reads its shares.
    worker_balance: tuple[int, ...] = ()
    reachable_rps: float = 0.0  # a "slower" trial: the most its SLO checks could have found
    # Measured more than once (a final or a runoff): every run, and how they were pooled
    # ("mean" of two, "median" of more); the figures above are the pooled ones.
    runs: tuple[Run, ...] = ()
    pooled: str = ""
    other_model: ClientModelRun | None = None  # a finalist, measured with the other client model
    engine: str = "builtin"  # the load engine that measured it ("builtin" or "locust")
    # Established connections per worker halfway through the saturating window (`balance`).
    worker_connections: tuple[int, ...] = ()
    deals: Deals | None = None  # kept-alive: the capacity's closed loop re-dealt (`deal`)
    # How sure capacity_rps is: a 95% interval (low, high) from the per-tick throughput of
    # the run that showed it (interval.py); (0, 0) where unknown (no capacity, or one tick).
    capacity_ci: tuple[float, float] = (0.0, 0.0)
    # The per-tick throughput samples behind capacity_ci (all runs' ticks once pooled).
    capacity_samples: tuple[float, ...] = ()
    # The machine's speed just before the trial: a fixed pure-Python loop on the server's
    # cores, in ms (run.measure.speed_ms; 0: not timed). Trials far apart in it ran on a
    # machine that changed speed between them.
    speed_ms: float = 0.0

    @property
    def key(self) -> str:
        return self.config.key


@dataclasses.dataclass(frozen=True)
class Settlement:
    """What a final decided: the key of the trial it settled the pick on ("" when the pick
    stands on the usual rule) and the sentence that says why."""

    key: str = ""
    note: str = ""


@dataclasses.dataclass(frozen=True)
class Baseline:
    """A rule-of-thumb configuration measured in the same run; `trial` is its trial's key and
    `role` says which rule it is ("app-service-default", "multiworkers", "seed-3x6")."""

    name: str
    workers: int
    threads: int
    worker_class: str
    throughput_rps: float
    capacity_rps: float
    latency_ms: Latency
    pss_mib_peak: float
    feasible: bool
    reason: str = ""
    trial: str = ""
    role: str = ""
    capacity_ci: tuple[float, float] = (0.0, 0.0)  # its trial's interval (see Trial)


@dataclasses.dataclass(frozen=True)
class ModelFigures:
    """What the models say about the profiled app on the plan (model.py computed them)."""

    cpu_ms: float = 0.0
    wall_ms: float = 0.0
    wait_compute_ratio: float = -1.0  # -1 when no CPU time was measured (W/C unbounded)
    cpu_bound_rps: float = 0.0  # cores / CPU per request; 0 when unknown
    slots_to_saturate: float = 0.0  # Little's law: requests in flight that keep the cores busy
    memory_budget_mib: float = 0.0  # the share of the plan's memory a configuration may fill
    memory_share: float = 0.0


@dataclasses.dataclass(frozen=True)
class Recommendation:
    """The pick; `trial` is the key of the trial that measured it. The startup command, az line
    and app settings are written by the emit stage after the decision (the CLI wires it)."""

    workers: int
    threads: int
    worker_class: str
    throughput_rps: float
    capacity_rps: float
    latency_ms: Latency
    pss_mib_peak: float
    app: str
    trial: str = ""
    reasons: tuple[str, ...] = ()
    startup_command: str = ""
    az_command: str = ""
    app_settings: str = ""
    # What it needs installed where it is deployed, against the project's requirements
    # (emit.with_packages): the file compared ("" for none) and the lines to add to it.
    packages: tuple[Package, ...] = ()
    requirements_file: str = ""
    requirements_add: tuple[str, ...] = ()
    capacity_ci: tuple[float, float] = (0.0, 0.0)  # its trial's interval (see Trial)


@dataclasses.dataclass(frozen=True)
class TuneResult:
    target: str
    app: str
    recommendation: Recommendation | None
    baselines: tuple[Baseline, ...]
    trials: tuple[Trial, ...]
    constraints: Constraints
    profile: Profile | None
    elapsed_s: float
    model: ModelFigures | None = None
    warnings: tuple[str, ...] = ()
    verdict: str = ""
    upstream: tuple[UpstreamDelay, ...] = ()  # round trips added in front of its upstreams
    workload: Workload | None = None  # what was loaded, from where, and what was left out
    stall: StallCheck | None = None  # the finalists under a stalled upstream (--stall)
    kind: str = "tune"
    schema: int = SCHEMA_VERSION

    def trial(self, key: str) -> Trial | None:
        """The trial stored under `key` (a recommendation's or a baseline's `trial`)."""
        return next((t for t in self.trials if t.key == key), None)

    @property
    def pick(self) -> Trial | None:
        return self.trial(self.recommendation.trial) if self.recommendation else None

    def baseline(self, role: str) -> Baseline | None:
        return next((b for b in self.baselines if b.role == role), None)
