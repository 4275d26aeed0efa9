"""Plain records that the pipeline stages hand each other, with a JSON round trip.

Every stage returns one of these frozen dataclasses and never a live object (a process,
a socket, a histogram), so a run can be saved with `save` and re-rendered with `load`
long after the servers are gone.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from tunicorn.settings import GUNICORN_TIMEOUT, event_loop, running_class

SCHEMA_VERSION = 1

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    """One gunicorn configuration; `worker_class` is the class gunicorn really runs."""

    workers: int = 1
    threads: int = 1
    worker_class: str = "sync"
    timeout: int = GUNICORN_TIMEOUT

    def effective(self) -> ServerConfig:
        """The configuration as the server really runs it (`settings.running_class`)."""
        running = running_class(self.worker_class, self.threads)
        if running == self.worker_class:
            return self
        return dataclasses.replace(self, worker_class=running)

    @property
    def key(self) -> str:
        """The one name of a configuration as it runs, e.g. "3x6-gthread": trials are stored
        under it, and the recommendation and the baselines point at their trial by it."""
        c = self.effective()
        return f"{c.workers}x{c.threads}-{c.worker_class}"

    @property
    def slots(self) -> int:
        """Requests the server can work on at once (gevent and uvicorn: as many connections
        as one event loop takes)."""
        if event_loop(self.worker_class):
            return self.workers * max(self.threads, 1000)
        return self.workers * self.threads

    @property
    def label(self) -> str:
        return f"{self.workers}×{self.threads} {self.worker_class}"


@dataclasses.dataclass(frozen=True)
class Latency:
    """Latency percentiles in milliseconds."""

    p50: float = 0.0
    p90: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    max: float = 0.0
    mean: float = 0.0


@dataclasses.dataclass(frozen=True)
class Tick:
    """One second (or so) of a load run, for progress lines and plots over time."""

    t: float
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float


@dataclasses.dataclass(frozen=True)
class ClientStats:
    """What the load generator itself spent: it must stay light, or it measures itself."""

    cpu_seconds: float = 0.0
    cpu_ms_per_request: float = 0.0
    busy_fraction: float = 0.0
    saturated: bool = False


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """One request name of a Locust run as Locust's statistics name it (query values redacted);
    latency is over the successful requests, as for the whole run."""

    method: str
    name: str
    requests: int
    failures: int
    latency_ms: Latency
    throughput_rps: float


@dataclasses.dataclass(frozen=True)
class LoadInfo:
    """Which engine drove the load, and what only that engine knows: for Locust its version,
    the locustfile, the users and workers that ran, and a row per request name."""

    engine: str = "builtin"
    version: str = ""
    locustfile: str = ""
    users: int = 0
    workers: int = 0
    master: str = ""  # host:port of a master that workers elsewhere joined
    endpoints: tuple[Endpoint, ...] = ()


@dataclasses.dataclass(frozen=True)
class StalledStats:
    """The requests the load engine made wait on an injected stalled upstream (`--stall`),
    counted apart from the others: the others' figures are the record's own."""

    share: float  # of the requests sent, marked to stall
    stall_s: float  # how long each waits inside the app
    requests: int = 0  # stalled requests that ended in the window (ok or not)
    ok: int = 0
    errors_by_kind: dict[str, int] = dataclasses.field(default_factory=dict)
    latency_ms: Latency = Latency()

    @property
    def errors(self) -> int:
        return sum(self.errors_by_kind.values())


@dataclasses.dataclass(frozen=True)
class LoadResult:
    """The outcome of the load stage over its measured window (warm-up excluded)."""

    mode: str  # "closed" or "open"
    concurrency: int
    rate: float | None
    duration_s: float
    requests: int
    ok: int
    errors_by_kind: dict[str, int]
    latency_ms: Latency
    throughput_rps: float
    client: ClientStats
    status_counts: dict[str, int] = dataclasses.field(default_factory=dict)
    timeline: tuple[Tick, ...] = ()
    rate_missed: bool = False
    late_fraction: float = 0.0
    histogram: str = ""  # base64 HDR histogram of latency in µs, for re-rendering
    load: LoadInfo = LoadInfo()
    stalled: StalledStats | None = None  # with --stall: those requests, apart from the above

    @property
    def errors(self) -> int:
        return sum(self.errors_by_kind.values())


@dataclasses.dataclass(frozen=True)
class Sample:
    """One look at the server's process tree."""

    t: float
    cpu_seconds: float
    pss_mib: float
    uss_mib: float
    rss_mib: float
    processes: int


@dataclasses.dataclass(frozen=True)
class ServerStats:
    """CPU and memory of the server's process tree over the measured window."""

    cpu_seconds: float = 0.0
    cpu_cores_busy: float = 0.0
    pss_mib_peak: float = 0.0
    uss_mib_peak: float = 0.0
    rss_mib_peak: float = 0.0
    memory_source: str = "pss"  # "pss", or "rss" where PSS could not be read
    processes_peak: int = 0
    samples: tuple[Sample, ...] = ()
    worker_cpu_s: tuple[float, ...] = ()  # CPU per worker over the window: balance across workers
    # Established connections per worker (by pid) halfway through the window (`balance`): with
    # kept-alive connections, how the accept race dealt them.
    worker_connections: tuple[int, ...] = ()


@dataclasses.dataclass(frozen=True)
class UpstreamDelay:
    """A round trip added in front of one of the app's upstreams (--upstream): what the server
    saw of production's network, so a figure is read with it."""

    variable: str  # "DATABASE_URL", or "DB_HOST,DB_PORT"
    upstream: str  # host:port the variable named
    listen: str  # the proxy's address the server was given instead
    added_ms: float  # per round trip: half on the way there, half on the way back
    connections: int = 0  # the app's connections that went through it
    chunks: int = 0  # chunks of data it delayed
    refused: int = 0  # connections turned away at its bound


@dataclasses.dataclass(frozen=True)
class BenchResult:
    """One configuration under one load: the unit that bench prints and tune compares."""

    target: str
    url: str
    config: ServerConfig | None  # None when the server was already running
    mode: str
    concurrency: int
    rate: float | None
    duration_s: float
    throughput_rps: float
    requests: int
    errors: int
    errors_by_kind: dict[str, int]
    latency_ms: Latency
    server: ServerStats | None
    client: ClientStats
    cpus: tuple[int, ...] = ()
    timeline: tuple[Tick, ...] = ()
    status_counts: dict[str, int] = dataclasses.field(default_factory=dict)
    rate_missed: bool = False
    histogram: str = ""
    warnings: tuple[str, ...] = ()
    program: str = ""  # the server program that ran it ("gunicorn", "uvicorn"); "" for a URL
    load: LoadInfo = LoadInfo()
    upstream: tuple[UpstreamDelay, ...] = ()  # round trips added in front of its upstreams
    stalled: StalledStats | None = None  # with --stall: those requests, apart from the above
    kind: str = "bench"
    schema: int = SCHEMA_VERSION


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


@dataclasses.dataclass(frozen=True)
class ModelBaseline:
    """A rule-of-thumb configuration a model-only answer is compared with (not measured)."""

    name: str
    workers: int
    threads: int
    worker_class: str
    source: str = ""
    throughput_rps: float | None = None
    latency_ms: Latency | None = None


@dataclasses.dataclass(frozen=True)
class Assumptions:
    """The figures a model-only answer rests on; `assumed` names those not given by the user."""

    worker_memory_mib: float
    thread_memory_mib: float
    master_memory_mib: float
    io_wait_ratio: float
    headroom: float
    assumed: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class RecommendedConfig:
    """The chosen configuration and the startup command that runs it."""

    workers: int
    threads: int
    worker_class: str
    startup_command: str
    slots: int
    memory_mib_estimate: float


@dataclasses.dataclass(frozen=True)
class ModelRecommendation:
    """`tunicorn recommend`: an answer from the models alone, labelled as such."""

    recommendation: RecommendedConfig
    constraints: Machine  # the plan's cores and memory: no SLO, nothing measured
    assumptions: Assumptions
    reasons: tuple[str, ...]
    baselines: tuple[ModelBaseline, ...]
    warnings: tuple[str, ...] = ()
    measured: bool = False
    note: str = "model only — not measured; run tunicorn tune to measure"
    kind: str = "recommend"
    schema: int = SCHEMA_VERSION


def to_builtins(record: Any) -> Any:
    """A record as JSON-ready dicts and lists (properties are not included)."""
    return msgspec.to_builtins(record)


def to_json(record: Any, *, indent: int = 2) -> str:
    data = msgspec.json.encode(record)
    return msgspec.json.format(data, indent=indent).decode()


def from_json(text: str | bytes, cls: type[T]) -> T:
    """Rebuild a record of `cls`; unknown keys (from newer versions) are ignored."""
    return msgspec.json.decode(text, type=cls)


def from_builtins(data: Any, cls: type[T]) -> T:
    return msgspec.convert(data, type=cls)


def save(record: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_json(record) + "\n", encoding="utf-8")
    return path


def load_kind(path: str | Path) -> str:
    """The `kind` of a saved run ("bench", "tune", "probe", …) without decoding it whole."""
    data = msgspec.json.decode(Path(path).read_bytes())
    if not isinstance(data, dict) or "kind" not in data:
        raise ValueError(f"{path} is not a tunicorn run (no 'kind' key)")
    return str(data["kind"])


# -- profile and tune -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class WorkloadRoute:
    """One request of the load and where it came from: `source` is "router", "crawl",
    "given", "scenario" or "locustfile" (more as sources are added); `status` is what the
    pre-flight got (0: not checked), `via` the path that redirected here; `cpu_ms` and
    `wait_ms` come from the profile once it has run (None before)."""

    path: str
    source: str
    method: str = "GET"
    status: int = 0
    share: float = 0.0
    via: str = ""
    cpu_ms: float | None = None
    wait_ms: float | None = None
    seen: str = ""  # what an access log or HAR file shows it answered: "200 (91%), 304"


@dataclasses.dataclass(frozen=True)
class LeftOut:
    """A route or page kept out of the load, and why (`reason` groups them: "Django's admin",
    "401 Unauthorized — needs credentials", …)."""

    path: str
    reason: str
    source: str = ""
    status: int = 0


@dataclasses.dataclass(frozen=True)
class Workload:
    """What the load sends, checked at pre-flight, and what was left out; `notes` say what to
    give where the app needs more than anonymous GETs (a login)."""

    routes: tuple[WorkloadRoute, ...]
    left_out: tuple[LeftOut, ...] = ()
    notes: tuple[str, ...] = ()
    crawled: int = 0  # pages the crawl fetched
    preflight_s: float = 0.0


@dataclasses.dataclass(frozen=True)
class RouteProfile:
    """One route measured alone at concurrency 1 on a 1×1 server."""

    method: str
    path: str
    weight: float
    wall_ms: float  # mean latency
    cpu_ms: float  # server CPU per request
    requests: int
    errors: int = 0
    handler: str = ""  # "async" or "sync" (a thread pool runs it) where the framework says
    # An ASGI route again with `parallel_clients` at once on the same one worker: an event loop
    # serves many waiting requests at once, unless the route blocks it (eventloop.py).
    parallel_clients: int = 0
    parallel_rps: float = 0.0

    @property
    def wait_ms(self) -> float:
        return max(0.0, self.wall_ms - self.cpu_ms)

    @property
    def wait_compute_ratio(self) -> float:
        return self.wait_ms / self.cpu_ms if self.cpu_ms > 0 else float("inf")


@dataclasses.dataclass(frozen=True)
class MemoryProfile:
    """PSS of small servers, to predict any workers × threads before starting it."""

    base_mib: float  # a 1-worker, 1-thread server (master + worker), after serving
    per_worker_mib: float  # growth per extra worker
    per_thread_mib: float  # growth per extra thread in one worker
    source: str = "pss"


@dataclasses.dataclass(frozen=True)
class LadderStep:
    """One closed loop on a one-worker server: `clients` requests in flight at once."""

    clients: int
    throughput_rps: float
    p95_ms: float
    cpu_cores_busy: float
    errors: int = 0


@dataclasses.dataclass(frozen=True)
class Usl:
    """The Universal Scalability Law fitted to a ladder: X(N) = λN / (1 + σ(N−1) + κN(N−1))."""

    lam: float  # one request's throughput with nothing shared
    sigma: float  # contention: the serial share (a lock, a pool, the GIL)
    kappa: float  # coherency: a cost that grows with pairs of requests
    n_star: float | None  # concurrency of peak throughput; None when nothing bends it down
    rmse: float
    points: int


@dataclasses.dataclass(frozen=True)
class ProcessLimit:
    """How many requests one process serves usefully at once (the profile's ladder).

    `limit` is the most throughput the ladder reached over one request's throughput (Little's
    law: requests really in service); `bounded` when throughput stopped growing before the
    ladder's top; `cause` is "cpu" when the process kept a core busy there (the GIL), "pool"
    when it did not (something in it holds a pool or a lock of about `limit`), "" when no
    limit showed within the ladder.
    """

    worker_class: str  # the class the ladder ran ("gthread": threads, "gevent": greenlets)
    steps: tuple[LadderStep, ...]
    limit: float
    knee: int  # the fewest clients within 10% of the most throughput
    bounded: bool
    cause: str
    usl: Usl | None = None


@dataclasses.dataclass(frozen=True)
class Profile:
    target: str
    app: str
    routes: tuple[RouteProfile, ...]
    memory: MemoryProfile
    startup_s: float
    cpu_ms: float  # weighted mean CPU per request of the workload
    wall_ms: float  # weighted mean latency at concurrency 1
    p95_ms: float  # p95 at concurrency 1 over the mixed workload
    cores_here: int
    process: ProcessLimit | None = None  # one worker, threads 1, 2, 4, … (the ladder)
    gevent_process: ProcessLimit | None = None  # one gevent worker, where gevent is tried
    interface: str = "wsgi"  # "asgi": profiled on uvicorn workers, `process` is one event loop
    framework: str = ""
    thread_pool: int = 0  # threads per worker for plain def routes (anyio's 40), 0 if none
    warnings: tuple[str, ...] = ()  # what the profile found that the user must fix
    upstream: tuple[UpstreamDelay, ...] = ()  # round trips added in front of its upstreams
    workload: Workload | None = None  # `tunicorn profile`'s own run: what it loaded
    kind: str = "profile"
    schema: int = SCHEMA_VERSION

    @property
    def wait_ms(self) -> float:
        return max(0.0, self.wall_ms - self.cpu_ms)

    @property
    def wait_compute_ratio(self) -> float:
        return self.wait_ms / self.cpu_ms if self.cpu_ms > 0 else float("inf")


@dataclasses.dataclass(frozen=True)
class Run:
    """One full measurement of a configuration that was measured more than once."""

    capacity_rps: float
    throughput_rps: float
    p95_ms: float
    pss_mib_peak: float
    cpu_cores_busy: float = 0.0
    capacity_ci: tuple[float, float] = (0.0, 0.0)


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
class Rules:
    """What a configuration must be to be picked, beyond its measured capacity."""

    # Never one slot: at least this many requests in flight (2 per core; 0: any).
    min_slots: int = 0
    # Threads per worker at most this when one process's limit is a pool or a lock: more only
    # queue behind it (0: any).
    max_threads: int = 0


@dataclasses.dataclass(frozen=True)
class CorePlan:
    """Which cores the server gets and which the load generator keeps (machine.split_cores)."""

    server: tuple[int, ...]
    client: tuple[int, ...]
    warning: str = ""


@dataclasses.dataclass(frozen=True)
class Machine:
    """The plan a run emulates and how this machine holds it, resolved once from --plan or
    --cpus/--memory (machine.emulate), so no stage works the cores or the budget out again:
    the plan's cores and memory, the share of that memory a configuration may fill
    (model.memory_budget_mib), the cores the server is pinned to and those the load
    generator keeps, and how many cores this machine has."""

    cpus: int
    memory_mib: float
    memory_budget_mib: float = 0.0
    plan: str = ""
    cores: CorePlan = CorePlan(server=(), client=())
    cores_here: int = 0

    @property
    def server_cores(self) -> int:
        """How many cores the server runs on, for "the CPU is busy": the plan's, or fewer
        where this machine has fewer."""
        return len(self.cores.server) or self.cpus

    @property
    def warning(self) -> str:
        """Why this machine cannot emulate the plan faithfully ("" where it can)."""
        return self.cores.warning


@dataclasses.dataclass(frozen=True, kw_only=True)
class Constraints(Machine):
    """What the configuration must fit: the machine (the plan's cores and memory, its memory
    budget), tune's SLO as resolved (given, or derived from the profile) and its rules. The
    machine's fields stay at the top level of the JSON (`constraints.cpus`, DESIGN.md)."""

    slo_p95_ms: float
    rules: Rules = dataclasses.field(default_factory=Rules)

    @classmethod
    def of(cls, machine: Machine, slo_p95_ms: float, rules: Rules | None = None) -> Constraints:
        """`machine` with tune's resolved SLO and rules."""
        fields = {f.name: getattr(machine, f.name) for f in dataclasses.fields(Machine)}
        return cls(**fields, slo_p95_ms=slo_p95_ms, rules=rules or Rules())


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


# -- probe ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Wave:
    """k requests started at one instant on k fresh connections, and when each came back.

    `completion_ms` (ok answers, sorted, from the wave's start) keeps the evidence: the
    answers cluster in rounds of one service time, and `first_round` counts the first.
    `busy_slots` is Little's law, throughput × single-request latency.
    """

    concurrency: int
    wall_ms: float
    throughput_rps: float
    latency_ms: Latency
    completion_ms: tuple[float, ...]
    first_round: int = 0
    busy_slots: float = 0.0
    errors: dict[str, int] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class StackTest:
    """The fast-page probe (`stacking.py`): rounds of one request alone then a wave of k, and
    whether the k were served together; `agree` is the bootstrap's share behind it."""

    k: int
    rounds: int  # rounds that counted
    ratio: float  # median stacking ratio (≈1 one at a time, ≈0 all k at once)
    ratio_low: float  # 5th percentile of the resampled medians
    ratio_high: float  # 95th percentile
    service_ms: float  # median service time of a lone request (its latency less the network)
    together: bool
    agree: float  # share of resampled medians on the same side of the line as `ratio`
    confidence: str  # "high", "medium", "low"
    slots: int  # the slots the median ratio implies (k when together)


@dataclasses.dataclass(frozen=True)
class ProbeResult:
    """`tunicorn probe`: how many requests a running server really handles at once.

    `effective_concurrency` is None when the endpoint is too fast for a firm answer;
    with `at_least` it is a lower bound (every wave was served at once).
    """

    url: str
    effective_concurrency: int | None
    serial: bool
    server: str
    single_latency_ms: float
    verdict: str
    at_least: bool = False
    confidence: str = ""  # "high", "medium", "low", or "none" (too fast to tell)
    hint: str = ""  # what the Server header suggests
    next_step: str = ""
    waves: tuple[Wave, ...] = ()
    requests: int = 0  # sent in all, the warm-up included
    loopback: bool = True
    max_concurrency: int = 32
    elapsed_s: float = 0.0
    warnings: tuple[str, ...] = ()
    method: str = "rounds"  # "rounds" (slow pages: clusters of answers) or "stacking" (fast)
    stacking: StackTest | None = None  # the fast-page test, where it ran
    sureness: str = ""  # how sure the answer is, in a sentence
    expect: int | None = None  # --expect N: the requests at once the server must serve
    meets_expectation: bool | None = None  # None: no --expect, or the probe could not tell
    kind: str = "probe"
    schema: int = SCHEMA_VERSION
