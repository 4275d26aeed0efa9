"""Profile an app before tuning it: where each request's time goes, and what memory costs.

Per route, at concurrency 1 on a 1 worker × 1 thread server: mean latency (wall) and the
server's CPU per request; the rest of the wall time is waiting (I/O, sleeps, locks), and
the ratio W/C says how many threads a core can keep busy. Memory: the PSS of a 1×1
server, then the growth per extra worker (2×1) and per extra thread (1×8), so tune can
predict any configuration's footprint before starting it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

from tunicorn.launch import Server
from tunicorn.load import LoadSpec, Request, run_load
from tunicorn.measure import CorePlan, pinned, split_cores
from tunicorn.record import MemoryProfile, Profile, RouteProfile, ServerConfig
from tunicorn.sample import TreeReader
from tunicorn.target import Target

Say = Callable[[str], None]

PER_ROUTE_S = 1.5
PER_ROUTE_MAX = 300
THREADS_PROBE = 8
MEMORY_LOAD_S = 0.6  # long enough for every slot to serve requests and touch its stack


def _quiet(_: str) -> None:
    pass


def profile(
    target: Target,
    requests: tuple[Request, ...],
    *,
    cpus: int | None = None,
    log_dir: str | Path | None = None,
    say: Say = _quiet,
    keepalive: bool = False,
) -> Profile:
    cores = split_cores(cpus)
    routes: list[RouteProfile] = []
    with Server(target, ServerConfig(1, 1, "sync"), cpus=cores.server, log_dir=log_dir) as server:
        startup_s = server.ready_s
        reader = TreeReader(server.pid)
        with pinned(cores.client):
            for req in requests:
                say(f"profiling {req.method} {req.path} at concurrency 1")
                one = (dataclasses.replace(req, weight=1.0),)
                # Warm the route up (imports, caches) before the CPU window opens.
                run_load(LoadSpec(url=server.url, requests=one, concurrency=1, duration_s=0.3,
                                  warmup_s=0.0, max_requests=3, timeout_s=60.0,
                                  keepalive=keepalive))  # fmt: skip
                before = reader.read(0.0)
                load = run_load(
                    LoadSpec(
                        url=server.url, requests=one, concurrency=1, duration_s=PER_ROUTE_S,
                        warmup_s=0.0, max_requests=PER_ROUTE_MAX, timeout_s=60.0,
                        keepalive=keepalive,
                    )  # fmt: skip
                )
                after = reader.read(0.0)
                cpu_s = (after.cpu_seconds - before.cpu_seconds) if before and after else 0.0
                cpu_ms = 1000.0 * cpu_s / max(load.requests, 1)  # `requests` includes errors
                routes.append(
                    RouteProfile(
                        method=req.method, path=req.path, weight=req.weight,
                        wall_ms=round(load.latency_ms.mean, 3),
                        cpu_ms=round(min(cpu_ms, load.latency_ms.mean or cpu_ms), 3),
                        requests=load.requests, errors=load.errors,
                    )  # fmt: skip
                )
            if len(requests) > 1:
                say("profiling the mixed workload at concurrency 1")
                mix = run_load(
                    LoadSpec(url=server.url, requests=requests, concurrency=1, duration_s=2.0,
                             warmup_s=0.2, max_requests=PER_ROUTE_MAX, timeout_s=60.0,
                             keepalive=keepalive)  # fmt: skip
                )
            else:
                mix = load  # one route: the mix is that route's run
        base = reader.read(0.0)
        memory_source = reader.memory_source
    base_mib = base.pss_mib if base else 0.0
    say("measuring memory of 2 workers")
    two = _loaded_pss(target, ServerConfig(2, 1, "sync"), requests, 2, cores, log_dir, keepalive)
    say(f"measuring memory of {THREADS_PROBE} threads")
    many = _loaded_pss(
        target, ServerConfig(1, THREADS_PROBE, "gthread"), requests, THREADS_PROBE, cores, log_dir,
        keepalive,
    )
    weights = sum(r.weight for r in routes) or 1.0
    ok_routes = [r for r in routes if r.requests]
    cpu_ms = sum(r.cpu_ms * r.weight for r in ok_routes) / weights
    wall_ms = sum(r.wall_ms * r.weight for r in ok_routes) / weights
    return Profile(
        target=target.label,
        app=target.app,
        routes=tuple(routes),
        memory=MemoryProfile(
            base_mib=round(base_mib, 2),
            per_worker_mib=round(max(0.0, two - base_mib), 2),
            per_thread_mib=round(max(0.0, (many - base_mib) / (THREADS_PROBE - 1)), 3),
            source=memory_source,
        ),
        startup_s=round(startup_s, 3),
        cpu_ms=round(cpu_ms, 3),
        wall_ms=round(wall_ms, 3),
        p95_ms=round(mix.latency_ms.p95, 3),
        cores_here=len(os.sched_getaffinity(0)),
    )


def _loaded_pss(
    target: Target,
    config: ServerConfig,
    requests: tuple[Request, ...],
    concurrency: int,
    cores: CorePlan,
    log_dir: str | Path | None,
    keepalive: bool,
) -> float:
    """PSS of a server after it has served some of the workload with every slot busy."""
    with Server(target, config, cpus=cores.server, log_dir=log_dir) as server:
        with pinned(cores.client):
            run_load(
                LoadSpec(url=server.url, requests=requests, concurrency=concurrency,
                         duration_s=MEMORY_LOAD_S, warmup_s=0.0, max_requests=400, timeout_s=60.0,
                         keepalive=keepalive)  # fmt: skip
            )
        sample = TreeReader(server.pid).read(0.0)
    return sample.pss_mib if sample else 0.0
