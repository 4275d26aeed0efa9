"""Synthetic but realistic records for the report tests, built from pure constructors.

They describe the bundled demo app (mostly waiting on a 200 ms "external API") on a B1
plan, so the numbers tell the seed's story: App Service's 1 × 1 default serves a few
requests per second with a flat CPU graph, while a measured workers × threads pick serves
~25× more. Everything is deterministic (seeded), so a golden file can depend on it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram

from tunicorn.record import (
    Baseline,
    BenchResult,
    ClientStats,
    Constraints,
    Latency,
    MemoryProfile,
    ModelFigures,
    Profile,
    Recommendation,
    RouteProfile,
    Sample,
    ServerConfig,
    ServerStats,
    Tick,
    Trial,
    TuneResult,
)

# The demo workload: /io ×3, /cpu ×1, / ×1 (weighted means below match the routes).
ROUTES = (
    RouteProfile("GET", "/io", 3.0, wall_ms=201.6, cpu_ms=1.2, requests=60),
    RouteProfile("GET", "/cpu", 1.0, wall_ms=26.1, cpu_ms=25.0, requests=20),
    RouteProfile("GET", "/", 1.0, wall_ms=0.9, cpu_ms=0.7, requests=20),
)
CPU_MS = 5.86
WALL_MS = 126.3
USL = {"usl_lambda": 7.9, "usl_sigma": 0.03, "usl_kappa": 0.0006}
MEMORY = MemoryProfile(base_mib=95.0, per_worker_mib=140.0, per_thread_mib=1.8)
BUDGET_MIB = 1792.0
SLO_MS = 500.0


def usl(n: float) -> float:
    lam, sig, kap = USL["usl_lambda"], USL["usl_sigma"], USL["usl_kappa"]
    return lam * n / (1 + sig * (n - 1) + kap * n * (n - 1))


def predicted_pss(workers: int, threads: int) -> float:
    return (
        MEMORY.base_mib
        + (workers - 1) * MEMORY.per_worker_mib
        + workers * (threads - 1) * MEMORY.per_thread_mib
    )


def samples(rps: float, pss: float, processes: int, *, seconds: float = 12.0) -> tuple[Sample, ...]:
    """Cumulative CPU at rps × CPU_MS with a little jitter, PSS settling after warm-up."""
    rng = random.Random(int(rps * 1000) + processes)
    out, cpu, t = [], 0.4 * processes, 0.0
    while t <= seconds + 1e-9:
        busy = rps * CPU_MS / 1000 * (0.85 + 0.3 * rng.random()) if t > 0 else 0.0
        cpu += busy * 0.25
        mem = pss * (0.96 + 0.04 * min(1.0, t / 2.0)) + rng.random() * 0.4
        out.append(
            Sample(
                t=round(t, 2),
                cpu_seconds=round(cpu, 4),
                pss_mib=round(mem, 2),
                uss_mib=round(mem * 0.8, 2),
                rss_mib=round(mem * 1.6, 2),
                processes=processes,
            )
        )
        t += 0.25
    return tuple(out)


def server_stats(rps: float, pss: float, processes: int) -> ServerStats:
    ss = samples(rps, pss, processes)
    window = ss[4:]
    cpu = window[-1].cpu_seconds - window[0].cpu_seconds
    wall = window[-1].t - window[0].t
    return ServerStats(
        cpu_seconds=round(cpu, 3),
        cpu_cores_busy=round(cpu / wall, 3),
        pss_mib_peak=max(s.pss_mib for s in ss),
        uss_mib_peak=max(s.uss_mib for s in ss),
        rss_mib_peak=max(s.rss_mib for s in ss),
        processes_peak=processes,
        samples=ss,
    )


def latency_at(slots: int, clients: int) -> Latency:
    """Closed-loop latency with `clients` users on `slots` slots: queueing beyond the slots."""
    queue = max(1.0, clients / slots)
    p50 = 110.0 * queue
    return Latency(
        p50=round(p50, 1),
        p90=round(p50 * 1.7, 1),
        p95=round(p50 * 1.9, 1),
        p99=round(p50 * 2.3, 1),
        max=round(p50 * 3.1, 1),
        mean=round(p50 * 1.1, 1),
    )


@dataclass(frozen=True)
class TrialSpec:
    workers: int
    threads: int
    source: str
    reason: str = ""
    worker_class: str = ""
    jitter: float = 1.0
    note: str = ""
    extra: dict[str, float] = field(default_factory=dict)


SPECS = (
    TrialSpec(1, 1, "baseline", worker_class="sync"),
    TrialSpec(3, 1, "baseline", worker_class="sync"),
    TrialSpec(3, 6, "baseline"),
    TrialSpec(2, 8, "model", jitter=0.98),
    TrialSpec(4, 6, "model", jitter=1.01),
    TrialSpec(4, 8, "model", jitter=1.02),
    TrialSpec(2, 16, "search", jitter=0.97),
    TrialSpec(3, 12, "search", jitter=0.99),
    TrialSpec(6, 8, "search", jitter=0.97),
    TrialSpec(4, 12, "search", jitter=0.98),
    TrialSpec(6, 16, "search", reason="errors", note="worker timeouts under load (502)"),
    TrialSpec(14, 4, "model", reason="memory"),
    TrialSpec(16, 8, "model", reason="memory"),
    TrialSpec(2, 1, "grid", reason="failed", worker_class="gevent", note="gevent is not installed"),
)


def make_trial(spec: TrialSpec, clients: int = 64) -> Trial:
    config = ServerConfig(
        workers=spec.workers,
        threads=spec.threads,
        worker_class=spec.worker_class or ("gthread" if spec.threads > 1 else "sync"),
        timeout=30,
    )
    pss = predicted_pss(spec.workers, spec.threads)
    if spec.reason in ("memory", "failed"):
        return Trial(
            config=config,
            source=spec.source,
            feasible=False,
            reason=spec.reason,
            capacity_rps=0.0,
            throughput_rps=0.0,
            requests=0,
            errors=0,
            latency_ms=Latency(),
            server=None,
            client=ClientStats(),
            predicted_pss_mib=round(pss, 1),
            note=spec.note,
        )
    slots = config.slots
    throughput = round(usl(slots) * spec.jitter, 1)
    capacity = round(throughput * 0.92, 1)
    if slots == 1:
        capacity = 4.0  # one slot: the mix's 200 ms waits blow p95 past the SLO early
    errors = 0
    if spec.reason == "errors":
        errors, capacity = 37, 0.0
    requests = int(throughput * 10)
    return Trial(
        config=config,
        source=spec.source,
        feasible=not spec.reason,
        reason=spec.reason,
        capacity_rps=capacity,
        throughput_rps=throughput,
        requests=requests,
        errors=errors,
        latency_ms=latency_at(slots, clients),
        server=server_stats(throughput, pss, spec.workers + 1),
        client=ClientStats(
            cpu_seconds=round(requests * 0.00006, 3), cpu_ms_per_request=0.06, busy_fraction=0.05
        ),
        predicted_pss_mib=round(pss, 1),
        note=spec.note,
    )


BASELINE_NAMES = {
    (1, 1): "App Service default",
    (3, 1): "MULTIWORKERS (2 × cores + 1)",
    (3, 6): "seed article (3 × 6)",
}
BASELINE_ROLES = {(1, 1): "app-service-default", (3, 1): "multiworkers", (3, 6): "seed-3x6"}


def make_tune(*, with_profile: bool = True, specs: tuple[TrialSpec, ...] = SPECS) -> TuneResult:
    trials = tuple(make_trial(s) for s in specs)
    feasible = [t for t in trials if t.feasible]
    pick = max(feasible, key=lambda t: t.capacity_rps) if feasible else None
    baselines = tuple(
        Baseline(
            name=BASELINE_NAMES[(t.config.workers, t.config.threads)],
            workers=t.config.workers,
            threads=t.config.threads,
            worker_class=t.config.worker_class,
            throughput_rps=t.throughput_rps,
            capacity_rps=t.capacity_rps,
            latency_ms=t.latency_ms,
            pss_mib_peak=t.server.pss_mib_peak if t.server else 0.0,
            feasible=t.feasible,
            trial=t.key,
            role=BASELINE_ROLES[(t.config.workers, t.config.threads)],
        )
        for t in trials
        if t.source == "baseline"
    )
    rec = None
    verdict = "No configuration met the SLO."
    if pick is not None:
        c = pick.config
        default = baselines[0]
        rec = Recommendation(
            workers=c.workers,
            threads=c.threads,
            worker_class=c.worker_class,
            startup_command=(
                f"gunicorn --bind=0.0.0.0 --timeout 600 --workers {c.workers} "
                f"--threads {c.threads} app:app"
            ),
            throughput_rps=pick.throughput_rps,
            capacity_rps=pick.capacity_rps,
            latency_ms=pick.latency_ms,
            pss_mib_peak=pick.server.pss_mib_peak if pick.server else 0,
            app="app:app",
            trial=pick.key,
            reasons=(
                "Requests spend 95% of their time waiting (W/C 20.6), so threads help.",
                f"{c.workers} workers × {c.threads} threads served the most within p95 ≤ 500 ms.",
                "Memory stays far under the 1,792 MiB of a B1 plan.",
            ),
            az_command='az webapp config set --startup-file "gunicorn …"',
        )
        verdict = (
            f"Use {c.workers} workers × {c.threads} threads: {pick.capacity_rps:.0f} req/s within "
            f"p95 ≤ 500 ms, {pick.capacity_rps / default.capacity_rps:.0f}× App Service's default "
            f"({default.capacity_rps:.1f} req/s)."
        )
    profile = None
    if with_profile:
        profile = Profile(
            target="demo",
            app="tunicorn.demo.app:app",
            routes=ROUTES,
            memory=MEMORY,
            startup_s=0.8,
            cpu_ms=CPU_MS,
            wall_ms=WALL_MS,
            p95_ms=203.0,
            cores_here=2,
        )
    model = ModelFigures(cpu_bound_rps=round(1000 / CPU_MS, 1), cpu_ms=CPU_MS, wall_ms=WALL_MS)
    return TuneResult(
        target="demo",
        app="tunicorn.demo.app:app",
        recommendation=rec,
        baselines=baselines,
        trials=trials,
        constraints=Constraints(
            cpus=1, memory_mib=BUDGET_MIB, slo_p95_ms=SLO_MS, plan="B1", cores_here=2
        ),
        profile=profile,
        elapsed_s=143.2,
        model=model if with_profile else None,
        warnings=(
            "This machine has 2 cores for 1 server core + load: figures are an upper bound.",
        ),
        verdict=verdict,
    )


def histogram_b64(values_ms: list[float]) -> str:
    h = HdrHistogram(1, 60_000_000, 3)
    for v in values_ms:
        h.record_value(max(1, int(v * 1000)))
    return h.encode().decode("ascii")


def make_bench(*, with_server: bool = True, with_histogram: bool = True) -> BenchResult:
    """1 × 1 sync with 18 clients on /io: the seed's slow app, measured."""
    rng = random.Random(7)
    # 18 clients queue behind one slot: each waits ~18 × 200 ms.
    values = [3600 + rng.gauss(0, 120) for _ in range(450)] + [
        200 + rng.random() * 5 for _ in range(18)
    ]
    ticks, total = [], 0
    for i in range(1, 11):
        total += 5 if i % 3 else 4
        ticks.append(
            Tick(
                t=float(i),
                requests=total,
                errors=0,
                p50_ms=round(3590 + 15 * math.sin(i), 1),
                p95_ms=round(3790 + 25 * math.cos(i), 1),
            )
        )
    return BenchResult(
        target="tunicorn.demo.app:app",
        url="http://127.0.0.1:39211",
        config=ServerConfig(workers=1, threads=1, worker_class="sync"),
        mode="closed",
        concurrency=18,
        rate=None,
        duration_s=10.0,
        throughput_rps=4.7,
        requests=47,
        errors=0,
        errors_by_kind={},
        latency_ms=Latency(p50=3605.2, p90=3752.9, p95=3801.1, p99=3899.6, max=3950.3, mean=3401.7),
        server=server_stats(4.7, 62.4, 2) if with_server else None,
        client=ClientStats(cpu_seconds=0.021, cpu_ms_per_request=0.447, busy_fraction=0.002),
        timeline=tuple(ticks),
        status_counts={"200": 47},
        histogram=histogram_b64(values) if with_histogram else "",
        warnings=("The first 18 requests waited less: they started while the queue was empty.",),
    )


@dataclass(frozen=True)
class Wave:
    """The probe wave shape that render_probe expects (duck-typed)."""

    concurrency: int
    wall_ms: float
    throughput_rps: float
    latency_ms: Latency


@dataclass(frozen=True)
class ProbeLike:
    url: str
    effective_concurrency: float
    serial: bool
    server: str
    single_latency_ms: float
    verdict: str
    waves: tuple[Wave, ...]
    kind: str = "probe"


def make_probe() -> ProbeLike:
    waves = []
    for c in (1, 2, 4, 8):
        wall = 205.0 * c  # serial: each wave takes c × one request
        lat = Latency(
            p50=105.0 * (c + 1),
            p90=190.0 * c,
            p95=200.0 * c,
            p99=204.0 * c,
            max=205.0 * c,
            mean=105.0 * (c + 1),
        )
        waves.append(Wave(c, wall, round(c / (wall / 1000), 2), lat))
    return ProbeLike(
        url="https://myapp.azurewebsites.net/io",
        effective_concurrency=1.0,
        serial=True,
        server="gunicorn",
        single_latency_ms=204.8,
        verdict="The server handles one request at a time: 8 at once took 8× as long as one.",
        waves=tuple(waves),
    )


def flat_profile(cpu_ms: float, wall_ms: float) -> Profile:
    """A one-route profile with a small app's memory: for tests of the search's logic."""
    return Profile(
        target="t", app="m:app", routes=(), startup_s=0.5, cpu_ms=cpu_ms, wall_ms=wall_ms,
        p95_ms=wall_ms, cores_here=2,
        memory=MemoryProfile(base_mib=40.0, per_worker_mib=15.0, per_thread_mib=0.1, source="pss"),
    )  # fmt: skip
