"""One bench: a configuration under one load, with the server's side beside the client's."""

from __future__ import annotations

import dataclasses

from tunicorn.record.io import SCHEMA_VERSION
from tunicorn.record.load import ClientStats, Latency, LoadInfo, StalledStats, Tick
from tunicorn.record.server import ServerConfig, ServerStats


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
