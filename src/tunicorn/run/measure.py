"""The measure stage: launch a configuration, load it, sample it, stop it, return a record.

`measure` is bench's (one load, a BenchResult); `TrialMeter` is tune's (one configuration's
capacity, a Trial). The load generator runs in this process and, with `cpus`, on the cores
the server does not have (DESIGN.md, "Emulating a plan").

Capacity of a configuration (DESIGN.md, "Definitions") is the highest request rate it
sustains with p95 within the SLO and no errors. A trial finds it in two phases on one
server: a closed loop with one client per slot shows the most it can do (saturation),
then an open loop at a share of that rate checks the SLO with requests arriving on their
own schedule, as real users do; the first rate that passes is the capacity.

Each window runs until it is sure (`UntilSure`): past its minimum, until its throughput's
95% interval (interval.py) is within ±5% of its figure or a few hundred requests have
completed, at most the plan's longest window. The trial records the interval of the run
that showed its capacity (`Trial.capacity_ci`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tunicorn import interval, settings
from tunicorn.app.target import Target
from tunicorn.classes import event_loop, running_class
from tunicorn.errors import ServerError
from tunicorn.launch import Server, ServerName
from tunicorn.launch import program as server_program
from tunicorn.load import LoadSpec, LocustOptions, Request, run_load
from tunicorn.machine import split_cores
from tunicorn.record import (
    BenchResult,
    ClientStats,
    CorePlan,
    Latency,
    LoadResult,
    ServerConfig,
    ServerStats,
    Tick,
    Trial,
)
from tunicorn.run.balance import ConnectionCounter
from tunicorn.run.capacity import (
    MAX_CLIENTS,
    MAX_WINDOW_S,
    SAMPLE_TICK_S,
    TickCallback,
    UntilSure,
    busy,
    find_capacity,
    passes,
    slots_full,
)
from tunicorn.run.sample import Sampler


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


SPEED_LOOP = 100_000  # iterations of the fixed loop that times the machine (a few ms here)


def speed_ms(cores: tuple[int, ...]) -> float:
    """The machine's speed now: the median of three timings of a fixed pure-Python loop on
    `cores`, in ms. Taken before each trial, a later figure well above an earlier one says the
    machine itself slowed (other virtual machines on its host, its clock), not the server."""
    times = []
    with pinned(cores):
        for _ in range(3):
            began = time.perf_counter()
            x = 0
            for i in range(SPEED_LOOP):
                x += i * i % 7
            times.append(time.perf_counter() - began)
    return round(statistics.median(times) * 1000, 3)


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
    program: str = "",
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
        program=program,
        load=load.load,
        stalled=load.stalled,
    )


def sampled_load(
    server: Server,
    spec: LoadSpec,
    *,
    on_tick: TickCallback | None = None,
    stop: threading.Event | None = None,
) -> tuple[LoadResult, ServerStats]:
    """Load `server` per `spec` while sampling its process tree; CPU counts after warm-up, and
    the connections each worker holds are counted once, halfway through the window."""
    sampler = Sampler(server.pid).start()
    counter = ConnectionCounter(server.pid, server.port, spec.warmup_s + spec.duration_s / 2)
    timer = threading.Timer(spec.warmup_s, sampler.mark)
    timer.daemon = True
    tick = on_tick
    if spec.engine == "locust":
        # Locust's window opens once its processes run and its users have spawned; it says so
        # with a tick at t = 0, and the server's CPU counts from there.
        def tick(t: Tick) -> None:
            if t.t == 0.0:
                sampler.mark()
            if on_tick is not None:
                on_tick(t)
    else:
        timer.start()
    counter.start()
    try:
        load = run_load(dataclasses.replace(spec, url=server.url), on_tick=tick, stop=stop)
    finally:
        timer.cancel()
        stats = sampler.stop()
        counts = counter.result()
    return load, dataclasses.replace(stats, worker_connections=counts)


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
    server_name: ServerName = "gunicorn",
    background_stop: bool = False,
) -> BenchResult:
    """Start `config`, load it per `spec` (its url is replaced), and stop it, whatever happens
    (`background_stop`: on a thread of its own once its figures are taken, Server's)."""
    cores = split_cores(cpus)
    warnings = [cores.warning] if cores.warning else []
    server = Server(
        target, config, cpus=cores.server, log_dir=log_dir, ready_path=ready_path, port=port,
        program=server_program(server_name), background_stop=background_stop,
    )  # fmt: skip
    with server:
        if on_ready:
            on_ready(server)
        with pinned(cores.client):
            load, stats = sampled_load(server, spec, on_tick=on_tick, stop=stop)
        server.check_alive()
        running = dataclasses.replace(server.config, worker_class=server.running_worker_class())
        if running_class(config.worker_class, config.threads) != config.worker_class:
            warnings.append(
                f"--threads {config.threads} with the sync worker runs as gthread "
                "(gunicorn switches silently); reported as gthread."
            )
        warnings += load_warnings(load)
        warnings += [w[0].upper() + w[1:] + "." for w in server.log_warnings()]
        if stats.memory_source != "pss":
            warnings.append("PSS could not be read, so memory is summed RSS (an overstatement).")
    return to_bench(
        target, server.url, running, load, stats, cpus=cores.server, warnings=warnings,
        program=server_name,
    )  # fmt: skip


# -- one trial of tune: a configuration's capacity -----------------------------------------

LOCUST_DOUBLINGS = 4  # Locust users doubled at most this often before the ladder
LOCUST_USERS_MAX = 4096

# What the tuner asks of one measurement: the configuration, why it is measured (baseline,
# model, search, …) and the capacity it must beat to matter (0: measure it in full).
Measure = Callable[[ServerConfig, str, float], Trial]
# A configuration measured again at the closed-loop clients that showed its capacity.
Confirm = Callable[[ServerConfig, str, int], Trial]


@dataclasses.dataclass(frozen=True)
class TrialPlan:
    """How every trial of one tune is measured: the same app, load, cores, SLO and phases."""

    target: Target
    requests: tuple[Request, ...]
    cores: CorePlan
    slo_p95_ms: float
    budget_mib: float  # a trial whose measured PSS exceeds this is ruled out ("memory")
    gevent_clients: int  # closed-loop clients for a gevent trial (Little's slots, doubled)
    single_ms: float = 0.0  # one request's latency alone (the profile's), for Little's bound
    warmup_s: float = settings.WARMUP.default
    saturate_s: float = settings.SATURATE.default
    verify_s: float = settings.VERIFY.default
    keepalive: bool = False
    log_dir: str | Path | None = None
    # Requests one uvicorn worker served at once on the profile's ladder (a route that blocks
    # its event loop: about 1; a full thread pool: about 40); 0: unknown, saturate like gevent.
    loop_limit: float = 0.0
    locust: LocustOptions | None = None  # the users of a locustfile instead of `requests`
    # The longest a window runs while it is not yet sure (UntilSure); 0: MAX_WINDOW_S. The
    # driver sizes it from the profile's service time, so a slow page's windows run longer.
    longest_s: float = 0.0


def unmeasured(
    config: ServerConfig, source: str, reason: str, predicted: float, note: str
) -> Trial:
    """A trial that never got a figure: ruled out before it started, or its server failed."""
    return Trial(
        config=config, source=source, feasible=False, reason=reason, capacity_rps=0.0,
        throughput_rps=0.0, requests=0, errors=0, latency_ms=Latency(), server=None,
        client=ClientStats(), predicted_pss_mib=round(predicted, 1), note=note,
    )  # fmt: skip


class TrialMeter:
    """Measures one configuration's capacity on a fresh server: a `Measure`.

    A saturating closed loop, then `find_capacity`'s ladder of closed loops; a trial whose
    next step could no longer beat `beat_rps` stops there as "slower", keeping the most it
    could have reached. A server that fails is a trial too ("failed"), never an error.
    """

    def __init__(
        self,
        plan: TrialPlan,
        *,
        on_tick: TickCallback | None = None,
        stop: threading.Event | None = None,
        out_of_time: Callable[[], bool] = lambda: False,
        spent: Callable[[], bool] = lambda: False,
    ) -> None:
        self.plan = plan
        self.on_tick = on_tick
        self.stop = stop
        self.out_of_time = out_of_time  # the refining check is skipped once the budget is spent
        self.spent = spent  # no room left in the budget: windows run no longer than their minimum

    def __call__(self, config: ServerConfig, source: str, beat_rps: float = 0.0) -> Trial:
        config = config.effective()
        try:
            return self._measure(config, source, beat_rps)
        except ServerError as exc:
            return unmeasured(config, source, "failed", 0.0, str(exc))

    def confirm(self, config: ServerConfig, source: str, clients: int) -> Trial:
        """`config` measured again where its capacity was found: one closed loop of `clients`
        on a fresh server (down the ladder only if it now misses the SLO), not a whole ladder
        from saturation: a close call's second run asks "does that figure hold?", and at the
        same load the two runs' intervals compare like with like (a `Confirm`)."""
        config = config.effective()
        if clients <= 0:
            return self(config, source)
        try:
            return self._measure(config, source, 0.0, clients=clients)
        except ServerError as exc:
            return unmeasured(config, source, "failed", 0.0, str(exc))

    def saturation_clients(self, config: ServerConfig) -> int:
        if config.worker_class == "uvicorn" and self.plan.loop_limit > 0:
            slots = math.ceil(config.workers * self.plan.loop_limit)
            return min(slots + max(1, math.ceil(slots / 4)), MAX_CLIENTS)
        if event_loop(config.worker_class):
            return max(4 * config.workers, min(2 * self.plan.gevent_clients, MAX_CLIENTS))
        # One client per slot leaves a slot idle while its client reconnects: a quarter more
        # (at least one) keeps a request waiting in the backlog, so the server never idles.
        return min(config.slots + max(1, math.ceil(config.slots / 4)), MAX_CLIENTS)

    def _measure(
        self, config: ServerConfig, source: str, beat_rps: float, *, clients: int = 0
    ) -> Trial:
        p = self.plan
        confirming = clients > 0
        clients = clients or self.saturation_clients(config)
        timeout = max(10.0, 4 * p.slo_p95_ms / 1000)
        speed = speed_ms(p.cores.server)
        with (
            Server(
                p.target, config, cpus=p.cores.server, log_dir=p.log_dir, background_stop=True
            ) as server,
            pinned(p.cores.client),
        ):
            until = UntilSure(p.saturate_s, self.on_tick, self.stop, self.spent)
            sat, stats = sampled_load(
                server,
                LoadSpec(url=server.url, requests=p.requests, concurrency=clients,
                         duration_s=self.longest(p.saturate_s), warmup_s=p.warmup_s,
                         timeout_s=timeout, keepalive=p.keepalive,
                         tick_s=SAMPLE_TICK_S).using(p.locust),
                on_tick=until, stop=until.event,
            )  # fmt: skip
            server.check_alive()
            phases: list[LoadResult] = [sat]
            if p.locust is not None:
                sat = self._more_users(server.url, sat, timeout, phases)
            capacity = bound = 0.0
            at: LoadResult | None = None
            reason = ""
            if stats.pss_mib_peak > p.budget_mib and not sat.errors:
                reason = "memory"
            else:
                # On "slower", the figure is the most the trial could still have reached.
                def closed(n: int) -> LoadResult | None:
                    return self._closed(server.url, n, timeout, phases)

                # Where the saturating loop already kept the server's cores busy, or this is
                # a second look at a known capacity, more clients only queue: no doubled run.
                # A second look stops at its first pass down the ladder.
                double = not (
                    confirming or busy(stats, p.cores.server)
                    or slots_full(config, sat.throughput_rps, p.single_ms)
                )  # fmt: skip
                bound, at, reason = find_capacity(
                    sat, closed, p.slo_p95_ms, p.single_ms, beat_rps,
                    (lambda: True) if confirming else self.out_of_time, double=double,
                )  # fmt: skip
                capacity = 0.0 if reason else bound
            server.check_alive()
            running = dataclasses.replace(config, worker_class=server.running_worker_class())
            log_notes = server.log_warnings()
        benches = tuple(
            to_bench(p.target, server.url, running, ph, stats if i == 0 else None,
                     cpus=p.cores.server, warnings=load_warnings(ph))  # fmt: skip
            for i, ph in enumerate(phases)
        )
        note = "; ".join(log_notes)
        shown = interval.samples(at.timeline) if at is not None else ()
        if reason == "errors":
            bad = next(ph for ph in phases if ph.errors)
            kinds = ", ".join(f"{k} {v}" for k, v in sorted(bad.errors_by_kind.items()) if v)
            note = f"errors under load ({kinds})" + (f"; {note}" if note else "")
        elif reason == "slo":
            fewest = min(ph.concurrency for ph in phases)
            note = f"p95 over {p.slo_p95_ms:.0f} ms even with {fewest} client(s) in a closed loop"
        elif reason == "slower":
            note = (
                f"at most {bound:.1f} req/s within the SLO (peak {sat.throughput_rps:.1f}), "
                f"under the best so far ({beat_rps:.1f} req/s)"
            )
        return Trial(
            config=running,
            source=source,
            feasible=not reason,
            reason=reason,
            capacity_rps=round(capacity, 2),
            throughput_rps=sat.throughput_rps,
            requests=sat.requests,
            errors=sat.errors,
            latency_ms=(at or sat).latency_ms,
            capacity_clients=at.concurrency if at is not None and not reason else 0,
            server=stats,
            client=sat.client,
            predicted_pss_mib=0.0,
            note=note,
            phases=benches,
            worker_balance=tuple(int(1000 * x) for x in stats.worker_cpu_s),
            reachable_rps=round(bound, 2) if reason == "slower" else 0.0,
            engine=sat.load.engine,
            worker_connections=stats.worker_connections,
            capacity_ci=interval.around(capacity, shown) if not reason else (0.0, 0.0),
            capacity_samples=shown if not reason else (),
            speed_ms=speed,
        )

    def _closed(
        self, url: str, clients: int, timeout: float, phases: list[LoadResult]
    ) -> LoadResult | None:
        """One step of the capacity ladder: a closed loop of `clients`; None when stopped."""
        p = self.plan
        if self._stopped():
            return None
        shortest = min(8.0, max(p.verify_s, 20 * p.single_ms / 1000))
        until = UntilSure(shortest, self.on_tick, self.stop, self.spent)
        run = run_load(
            LoadSpec(url=url, requests=p.requests, concurrency=clients,
                     duration_s=self.longest(shortest), warmup_s=0.3,
                     timeout_s=timeout, keepalive=p.keepalive,
                     tick_s=SAMPLE_TICK_S).using(p.locust),
            on_tick=until, stop=until.event,
        )  # fmt: skip
        phases.append(run)
        return run

    def _more_users(
        self, url: str, sat: LoadResult, timeout: float, phases: list[LoadResult]
    ) -> LoadResult:
        """Locust's users think between requests, so one user per slot may leave the server
        idle: double them while the SLO holds and throughput still grows, and hand the ladder
        the first run past the SLO (the users stepped until p95 leaves it)."""
        run = sat
        for _ in range(LOCUST_DOUBLINGS):
            if not passes(run, self.plan.slo_p95_ms) or run.concurrency >= LOCUST_USERS_MAX:
                break
            more = self._closed(url, min(2 * run.concurrency, LOCUST_USERS_MAX), timeout, phases)
            if more is None:
                break
            grew = more.throughput_rps >= run.throughput_rps * 1.05
            if passes(more, self.plan.slo_p95_ms) and not grew:
                return run if run.throughput_rps >= more.throughput_rps else more
            run = more
        return run

    def longest(self, shortest: float) -> float:
        """A window's longest run: the plan's (MAX_WINDOW_S at most), never under its shortest."""
        return max(shortest, min(MAX_WINDOW_S, self.plan.longest_s or MAX_WINDOW_S))

    def _stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()
