"""Profile an app before tuning it: where each request's time goes, what memory costs, and
how many requests one process can usefully serve at once.

Per route, at concurrency 1 on a 1 worker × 1 thread server: mean latency (wall) and the
server's CPU per request; the rest of the wall time is waiting (I/O, sleeps, locks), and
the ratio W/C says how many threads a core can keep busy. The per-process limit: one
worker with many threads under closed loops of 2, 4, 8, … clients until throughput stops
growing (`model.process_limit`), and the same for one gevent worker where gevent is tried.
Memory: the PSS of the 1×1 server, the growth per extra worker (2×1) and per extra thread
(the ladder's server, once its threads have served), so tune can predict any
configuration's footprint before starting it.

An ASGI app is profiled the same way on uvicorn workers (gunicorn with
uvicorn_worker.UvicornWorker), its ladder on one event loop; each route is also run with
several clients at once on the one worker, which shows a route that blocks the event loop
(eventloop.py).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import time
from collections.abc import Callable
from pathlib import Path

from tunicorn import model, settings
from tunicorn.app import redact
from tunicorn.app.target import Target, discover_routes
from tunicorn.launch import Server
from tunicorn.load import LoadSpec, LocustOptions, Request, run_load
from tunicorn.record import (
    CorePlan,
    LadderStep,
    LoadResult,
    MemoryProfile,
    ProcessLimit,
    Profile,
    RouteProfile,
    ServerConfig,
)
from tunicorn.run import eventloop
from tunicorn.run.eventloop import ANYIO_THREADS, PARALLEL_CLIENTS
from tunicorn.run.measure import pinned, sampled_load
from tunicorn.run.sample import TreeReader

Say = Callable[[str], None]

PER_ROUTE_S = 1.5
PER_ROUTE_MAX = 300
MEMORY_LOAD_S = 0.6  # long enough for every slot to serve requests and touch its stack
LADDER_MIN = 8  # the ladder always reaches 8 clients: the per-thread memory is read there
GEVENT_TOP = 256  # one gevent worker's ladder goes further: greenlets cost no thread


def _quiet(_: str) -> None:
    pass


def gevent_available() -> bool:
    return importlib.util.find_spec("gevent") is not None


def gevent_applies(choice: bool | None, wait_compute_ratio: float) -> bool:
    """gevent when asked, or by default when installed and the app waits more than it computes."""
    if choice is not None:
        return choice and gevent_available()
    return gevent_available() and wait_compute_ratio >= 1.0


def profile(
    target: Target,
    requests: tuple[Request, ...],
    *,
    cores: CorePlan,
    log_dir: str | Path | None = None,
    say: Say = _quiet,
    keepalive: bool = False,
    gevent: bool | None = False,
    locust: LocustOptions | None = None,
) -> Profile:
    """`gevent` as tune's --gevent/--no-gevent (None: when installed and the app mostly
    waits) decides whether one gevent worker's limit is measured too. With `locust`, the
    locustfile's users are the load everywhere, and its whole flow is the one "route". The
    server runs on `cores.server` and the load on `cores.client` (machine.split_cores)."""
    routes: list[RouteProfile] = []
    asgi = target.is_asgi
    one_worker = ServerConfig(1, 1, "uvicorn" if asgi else "sync")
    handlers = route_handlers(target) if asgi else {}
    if locust is not None:
        requests = (Request(path=Path(locust.locustfile).name, method="USERS"),)
    # Setup requests (`once`: a login) go with every route's run and are not routes themselves.
    setup = tuple(r for r in requests if r.once)
    with Server(
        target, one_worker, cpus=cores.server, log_dir=log_dir, background_stop=True
    ) as server:
        startup_s = server.ready_s
        reader = TreeReader(server.pid)
        with pinned(cores.client):
            for req in (r for r in requests if not r.once):
                route, load = _route(
                    server.url, reader, req, setup, handlers.get(req.path, ""), asgi=asgi,
                    keepalive=keepalive, locust=locust, say=say,
                )  # fmt: skip
                routes.append(route)
            if len(requests) - len(setup) > 1:
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
    cpu_ms, wall_ms = _weighted(routes)
    # One request at a time keeps a core busy for its CPU share of the wall time.
    busy = min(1.0, cpu_ms / wall_ms) if wall_ms > 0 else 0.0
    single = LadderStep(1, mix.throughput_rps, mix.latency_ms.p95, round(busy, 3), mix.errors)
    say("measuring memory of 2 workers")
    two_workers = ServerConfig(2, 1, one_worker.worker_class)
    two = _loaded_pss(target, two_workers, requests, 2, cores, log_dir, keepalive, locust)
    top = GEVENT_TOP if asgi else settings.MAX_THREADS.default
    threaded, many, touched = _ladder(
        target, one_worker if asgi else ServerConfig(1, top, "gthread"), requests, single, top,
        cores, log_dir, keepalive, say, locust,
    )  # fmt: skip
    if asgi:
        many, touched = base_mib, 1  # one event loop: no thread stacks to count
    gevent_limit = None
    # A gevent worker's own limit matters only where threads found a pool or a lock: where
    # the CPU (or nothing) bounds one process, greenlets meet the same bound.
    wc = model.wait_compute_or_inf(wall_ms, cpu_ms)
    if not asgi and threaded.cause == "pool" and gevent_applies(gevent, wc):
        gevent_limit, _, _ = _ladder(
            target, ServerConfig(1, 1, "gevent"), requests, single, GEVENT_TOP, cores, log_dir,
            keepalive, say, locust,
        )  # fmt: skip
    found = Profile(
        target=target.label,
        app=target.app,
        routes=tuple(routes),
        memory=MemoryProfile(
            base_mib=round(base_mib, 2),
            per_worker_mib=round(max(0.0, two - base_mib), 2),
            per_thread_mib=round(max(0.0, (many - base_mib) / max(1, touched - 1)), 3),
            source=memory_source,
        ),
        startup_s=round(startup_s, 3),
        cpu_ms=round(cpu_ms, 3),
        wall_ms=round(wall_ms, 3),
        p95_ms=round(mix.latency_ms.p95, 3),
        cores_here=len(os.sched_getaffinity(0)),
        process=threaded,
        gevent_process=gevent_limit,
        interface="asgi" if asgi else "wsgi",
        framework=target.framework,
        thread_pool=ANYIO_THREADS if "sync" in handlers.values() else 0,
    )
    return dataclasses.replace(found, warnings=tuple(eventloop.warnings(found))) if asgi else found


def _route(
    url: str,
    reader: TreeReader,
    req: Request,
    setup: tuple[Request, ...],
    handler: str,
    *,
    asgi: bool,
    keepalive: bool,
    locust: LocustOptions | None,
    say: Say,
) -> tuple[RouteProfile, LoadResult]:
    """One route at concurrency 1 on the running server at `url`, after the `setup` requests
    (a login): its wall time and the server's CPU time per request, read around the run; for
    an ASGI app, also with parallel clients. Returns the route and its run's load."""
    say(f"profiling {req.method} {redact.path(req.path)} at concurrency 1")
    one = (*setup, dataclasses.replace(req, weight=1.0))
    # Warm the route up (imports, caches) before the CPU window opens.
    if locust is None:
        run_load(LoadSpec(url=url, requests=one, concurrency=1, duration_s=0.3,
                          warmup_s=0.0, max_requests=3, timeout_s=60.0,
                          keepalive=keepalive))  # fmt: skip
    before = reader.read(0.0)
    load = run_load(
        LoadSpec(
            url=url, requests=one, concurrency=1, duration_s=PER_ROUTE_S,
            warmup_s=0.0, max_requests=PER_ROUTE_MAX, timeout_s=60.0,
            keepalive=keepalive,
        ).using(locust)  # fmt: skip
    )
    after = reader.read(0.0)
    cpu_s = (after.cpu_seconds - before.cpu_seconds) if before and after else 0.0
    cpu_ms = 1000.0 * cpu_s / max(load.requests, 1)  # `requests` includes errors
    route = RouteProfile(
        method=req.method, path=redact.path(req.path), weight=req.weight,
        wall_ms=round(load.latency_ms.mean, 3),
        cpu_ms=round(min(cpu_ms, load.latency_ms.mean or cpu_ms), 3),
        requests=load.requests, errors=load.errors, handler=handler,
    )  # fmt: skip
    if asgi:
        shown = f"{req.method} {redact.path(req.path)}"
        say(f"profiling {shown} with {PARALLEL_CLIENTS} at once")
        route = _parallel(url, route, one, keepalive)
    return route, load


def _weighted(routes: list[RouteProfile]) -> tuple[float, float]:
    """The workload's CPU and wall time per request: each route's, weighted by its share
    (routes that served nothing count in the weights, not the times)."""
    weights = sum(r.weight for r in routes) or 1.0
    ok_routes = [r for r in routes if r.requests]
    cpu_ms = sum(r.cpu_ms * r.weight for r in ok_routes) / weights
    wall_ms = sum(r.wall_ms * r.weight for r in ok_routes) / weights
    return cpu_ms, wall_ms


def route_handlers(target: Target) -> dict[str, str]:
    """Path → "async" or "sync" for a Starlette or FastAPI app (a plain def runs in a thread
    pool); {} where the router does not say."""
    return {r.path: r.handler for r in discover_routes(target).found if r.handler}


def _parallel(
    url: str, route: RouteProfile, one: tuple[Request, ...], keepalive: bool
) -> RouteProfile:
    """The route again with PARALLEL_CLIENTS at once on the same one worker: an event loop
    that is free serves them together, one that the route blocks serves them one by one."""
    rounds = PARALLEL_CLIENTS * route.wall_ms / 1000.0  # one round if served one at a time
    load = run_load(
        LoadSpec(url=url, requests=one, concurrency=PARALLEL_CLIENTS,
                 duration_s=min(2.0, max(0.6, 1.5 * rounds)), warmup_s=0.2,
                 timeout_s=60.0, keepalive=keepalive)  # fmt: skip
    )
    measured = dataclasses.replace(
        route, parallel_clients=PARALLEL_CLIENTS, parallel_rps=round(load.throughput_rps, 2)
    )
    # The clients stop with requests still queued on the worker; a blocked loop serves them one
    # by one after the load has gone, and would slow the next route's run.
    backlog_s = PARALLEL_CLIENTS * route.wall_ms / 1000.0 / max(1.0, eventloop.in_service(measured))
    time.sleep(min(backlog_s, 5.0))
    return measured


def _ladder(
    target: Target,
    config: ServerConfig,
    requests: tuple[Request, ...],
    one: LadderStep,
    top: int,
    cores: CorePlan,
    log_dir: str | Path | None,
    keepalive: bool,
    say: Say,
    locust: LocustOptions | None = None,
) -> tuple[ProcessLimit, float, int]:
    """Closed loops of 2, 4, 8, … clients on one worker until throughput stops growing (and at
    least LADDER_MIN), then the limit, the server's PSS and the most clients it served."""
    steps = [one]
    # Enough time for a few requests per client at one request's latency, within 0.6-2 s.
    duration = min(2.0, max(0.6, 4.0 / max(one.throughput_rps, 0.5)))
    with Server(
        target, config, cpus=cores.server, log_dir=log_dir, background_stop=True
    ) as server:
        with pinned(cores.client):
            clients = 2
            while clients <= top:
                say(f"one {config.worker_class} worker at {clients} requests at once")
                load, stats = sampled_load(
                    server,
                    LoadSpec(url=server.url, requests=requests, concurrency=clients,
                             duration_s=duration, warmup_s=0.2, timeout_s=60.0,
                             keepalive=keepalive).using(locust),
                )  # fmt: skip
                steps.append(
                    LadderStep(clients, load.throughput_rps, load.latency_ms.p95,
                               stats.cpu_cores_busy, load.errors)  # fmt: skip
                )
                if load.errors or (clients >= LADDER_MIN and model.ladder_stopped(steps)):
                    break
                clients *= 2
        sample = TreeReader(server.pid).read(0.0)
    reached = max(st.clients for st in steps)
    return model.process_limit(steps, config.worker_class, top), (
        sample.pss_mib if sample else 0.0
    ), reached


def _loaded_pss(
    target: Target,
    config: ServerConfig,
    requests: tuple[Request, ...],
    concurrency: int,
    cores: CorePlan,
    log_dir: str | Path | None,
    keepalive: bool,
    locust: LocustOptions | None = None,
) -> float:
    """PSS of a server after it has served some of the workload with every slot busy."""
    with Server(
        target, config, cpus=cores.server, log_dir=log_dir, background_stop=True
    ) as server:
        with pinned(cores.client):
            run_load(
                LoadSpec(url=server.url, requests=requests, concurrency=concurrency,
                         duration_s=MEMORY_LOAD_S, warmup_s=0.0, max_requests=400, timeout_s=60.0,
                         keepalive=keepalive).using(locust)  # fmt: skip
            )
        sample = TreeReader(server.pid).read(0.0)
    return sample.pss_mib if sample else 0.0
