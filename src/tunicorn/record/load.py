"""What one load run saw from the client's side: latency, ticks, errors, stalled requests."""

from __future__ import annotations

import dataclasses


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
