"""One measurement: launch a configuration, load it, sample it, stop it, return a BenchResult.

`bench` runs this once; `tune` runs it per trial. The load generator runs in this process
and, with `cpus`, on the cores the server does not have (DESIGN.md, "Emulating a plan").
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from tunicorn.launch import Server
from tunicorn.load import LoadSpec, run_load
from tunicorn.record import BenchResult, LoadResult, ServerConfig, ServerStats, Tick
from tunicorn.sample import Sampler
from tunicorn.target import Target

TickCallback = Callable[[Tick], None]


@dataclasses.dataclass(frozen=True)
class CorePlan:
    """Which cores the server gets and which the load generator keeps."""

    server: tuple[int, ...]
    client: tuple[int, ...]
    warning: str = ""


def split_cores(cpus: int | None, available: tuple[int, ...] | None = None) -> CorePlan:
    """Give the server the last `cpus` cores and the load generator the rest."""
    cores = tuple(sorted(available if available is not None else os.sched_getaffinity(0)))
    if not cpus:
        return CorePlan(server=(), client=())
    if cpus >= len(cores):
        have = len(cores)
        return CorePlan(
            server=cores,
            client=cores,
            warning=(
                f"--cpus {cpus} needs {cpus + 1} cores (the server's and one for the load "
                f"generator) but this machine has {have}: the server gets {min(cpus, have)} and "
                "shares them with the load generator, so the figures are only a rough bound."
            ),
        )
    return CorePlan(server=cores[-cpus:], client=cores[:-cpus])


@contextlib.contextmanager
def pinned(cores: tuple[int, ...]) -> Iterator[None]:
    """Pin this thread (and the threads it starts) to `cores` for the duration."""
    if not cores:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cores)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def load_warnings(load: LoadResult) -> list[str]:
    found = []
    if load.client.saturated:
        found.append(
            f"The load generator kept its core {load.client.busy_fraction:.0%} busy: it may be the "
            "bottleneck, so these figures understate the server. Give it a free core (--cpus)."
        )
    if load.rate_missed:
        found.append(
            f"The load generator could not keep the rate of {load.rate:g}/s "
            f"({load.late_fraction:.0%} of requests went out late, and count as waiting)."
        )
    if load.requests == 0:
        found.append("No request completed in the measured window: lengthen --duration.")
    return found


def to_bench(
    target: Target,
    url: str,
    config: ServerConfig | None,
    load: LoadResult,
    server: ServerStats | None,
    *,
    cpus: tuple[int, ...] = (),
    warnings: list[str] | tuple[str, ...] = (),
) -> BenchResult:
    return BenchResult(
        target=target.label or target.app or target.url,
        url=url,
        config=config,
        mode=load.mode,
        concurrency=load.concurrency,
        rate=load.rate,
        duration_s=load.duration_s,
        throughput_rps=load.throughput_rps,
        requests=load.requests,
        errors=load.errors,
        errors_by_kind=dict(load.errors_by_kind),
        latency_ms=load.latency_ms,
        server=server,
        client=load.client,
        cpus=cpus,
        timeline=load.timeline,
        status_counts=dict(load.status_counts),
        rate_missed=load.rate_missed,
        histogram=load.histogram,
        warnings=tuple(warnings),
    )


def sampled_load(
    server: Server,
    spec: LoadSpec,
    *,
    on_tick: TickCallback | None = None,
    stop: threading.Event | None = None,
) -> tuple[LoadResult, ServerStats]:
    """Load `server` per `spec` while sampling its process tree; CPU counts after warm-up."""
    sampler = Sampler(server.pid).start()
    timer = threading.Timer(spec.warmup_s, sampler.mark)
    timer.daemon = True
    timer.start()
    try:
        load = run_load(dataclasses.replace(spec, url=server.url), on_tick=on_tick, stop=stop)
    finally:
        timer.cancel()
        stats = sampler.stop()
    return load, stats


def measure_url(
    target: Target,
    spec: LoadSpec,
    *,
    on_tick: TickCallback | None = None,
    stop: threading.Event | None = None,
) -> BenchResult:
    """Load a server that is already running: no launch, no server metrics."""
    load = run_load(spec, on_tick=on_tick, stop=stop)
    return to_bench(target, spec.url, None, load, None, warnings=load_warnings(load))


def measure(
    target: Target,
    config: ServerConfig,
    spec: LoadSpec,
    *,
    cpus: int | None = None,
    log_dir: str | Path | None = None,
    on_tick: TickCallback | None = None,
    on_ready: Callable[[Server], None] | None = None,
    stop: threading.Event | None = None,
    ready_path: str = "/",
    port: int = 0,
) -> BenchResult:
    """Start `config`, load it per `spec` (its url is replaced), and stop it, whatever happens."""
    cores = split_cores(cpus)
    warnings = [cores.warning] if cores.warning else []
    server = Server(
        target, config, cpus=cores.server, log_dir=log_dir, ready_path=ready_path, port=port
    )
    with server:
        if on_ready:
            on_ready(server)
        with pinned(cores.client):
            load, stats = sampled_load(server, spec, on_tick=on_tick, stop=stop)
        server.check_alive()
        running = dataclasses.replace(server.config, worker_class=server.running_worker_class())
        if config.worker_class == "sync" and config.threads > 1:
            warnings.append(
                f"--threads {config.threads} with the sync worker runs as gthread "
                "(gunicorn switches silently); reported as gthread."
            )
        warnings += load_warnings(load)
        warnings += [w[0].upper() + w[1:] + "." for w in server.log_warnings()]
        if stats.memory_source != "pss":
            warnings.append("PSS could not be read, so memory is summed RSS (an overstatement).")
    return to_bench(
        target, server.url, running, load, stats, cpus=cores.server, warnings=warnings
    )
