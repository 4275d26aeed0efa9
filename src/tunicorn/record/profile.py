"""The profile before tuning: where each route's time goes, memory, one process's limit."""

from __future__ import annotations

import dataclasses

from tunicorn.record.bench import UpstreamDelay
from tunicorn.record.io import SCHEMA_VERSION
from tunicorn.record.workload import Workload


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
        from tunicorn import model  # the formula's one home; model imports the records

        return model.wait_compute_or_inf(self.wall_ms, self.cpu_ms)


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
        from tunicorn import model  # the formula's one home; model imports the records

        return model.wait_compute_or_inf(self.wall_ms, self.cpu_ms)
