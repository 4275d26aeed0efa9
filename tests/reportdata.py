"""Synthetic but realistic records for the report tests, built from the real record types.

They describe the bundled demo app (mostly waiting on a 200 ms "external API") on a B1
plan, so the numbers tell the seed's story: App Service's 1 × 1 default serves a few
requests per second with a flat CPU graph, while a measured workers × threads pick serves
~25× more. Everything is deterministic (seeded), so a golden file can depend on it.

What tune and probe write themselves is taken from them, not copied here: the baselines'
configurations, display names and roles (`search.baselines`, `model.baselines`), the model
figures (`model`), predicted memory (`model.predict_pss`) and the probe's reading of its
waves (`probe.infer`, `verdict_text`, …). If tune and the report drift apart, a test fails.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from hdrh.histogram import HdrHistogram

from tunicorn import model
from tunicorn.decide import recommend, search
from tunicorn.deploy.emit import make_spec
from tunicorn.record import (
    BenchResult,
    ClientStats,
    Constraints,
    LadderStep,
    Latency,
    LeftOut,
    MemoryProfile,
    ModelFigures,
    ProbeResult,
    Profile,
    Recommendation,
    RouteProfile,
    Run,
    Sample,
    ServerConfig,
    ServerStats,
    Tick,
    Trial,
    TuneResult,
    Wave,
    Workload,
    WorkloadRoute,
)
from tunicorn.run import probe as probing

# The demo workload: /io ×3, /cpu ×1, / ×1 (weighted means below match the routes).
ROUTES = (
    RouteProfile("GET", "/io", 3.0, wall_ms=201.6, cpu_ms=1.2, requests=60),
    RouteProfile("GET", "/cpu", 1.0, wall_ms=26.1, cpu_ms=25.0, requests=20),
    RouteProfile("GET", "/", 1.0, wall_ms=0.9, cpu_ms=0.7, requests=20),
)
CPU_MS = 5.86
WALL_MS = 126.3
MEMORY = MemoryProfile(base_mib=95.0, per_worker_mib=140.0, per_thread_mib=1.8)
CPUS = 1  # B1
PLAN_MIB = 1792.0
SLO_MS = 500.0


def made_up_throughput(slots: float) -> float:
    """Throughput against slots for these fixtures: a curve invented to rise, flatten near 40
    slots and dip a little after. Not a model, and not part of any record."""
    return 7.9 * slots / (1 + 0.03 * (slots - 1) + 0.0006 * slots * (slots - 1))


def baselines(cpus: int = CPUS) -> list[tuple[str, str, ServerConfig]]:
    """(role, display name, configuration) of each baseline, as tune measures and names them."""
    return [
        (rule.name, name, config)
        for (name, config), rule in zip(search.baselines(cpus), model.baselines(cpus), strict=True)
    ]


def predicted_pss(config: ServerConfig) -> float:
    return model.predict_pss(MEMORY, config)


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
    runs: int = 0  # measured this many times and pooled (mean of two, median of more)


SPECS = (
    *(
        TrialSpec(c.workers, c.threads, "baseline", worker_class=c.worker_class)
        for _role, _name, c in baselines()
    ),
    TrialSpec(2, 8, "model", jitter=0.98),
    TrialSpec(4, 6, "model", jitter=1.01),
    TrialSpec(4, 8, "model", jitter=1.02, runs=2),  # the pick, measured again for a close rival
    TrialSpec(2, 16, "search", jitter=0.97),
    TrialSpec(3, 12, "search", jitter=0.99, runs=3),
    TrialSpec(6, 8, "search", jitter=0.97),
    TrialSpec(4, 12, "search", jitter=0.98),
    TrialSpec(6, 16, "search", reason="errors", note="worker timeouts under load (502)"),
    TrialSpec(14, 4, "model", reason="memory"),
    TrialSpec(16, 8, "model", reason="memory"),
    TrialSpec(2, 1, "grid", reason="failed", worker_class="gevent", note="gevent is not installed"),
)


def pooled_runs(capacity: float, throughput: float, pss: float, n: int) -> tuple[Run, ...]:
    """n runs around the pooled figures: the middle one (or the two, for a mean) at them."""
    spread = [1.0] if n == 1 else [1 - 0.02 * (n - 1) + 0.04 * i for i in range(n)]
    return tuple(
        Run(
            capacity_rps=round(capacity * f, 1),
            throughput_rps=round(throughput * f, 1),
            p95_ms=round(200.0 / f, 1),
            pss_mib_peak=round(pss, 1),
            cpu_cores_busy=0.6,
        )
        for f in spread
    )


def make_trial(spec: TrialSpec, clients: int = 64) -> Trial:
    config = ServerConfig(
        workers=spec.workers,
        threads=spec.threads,
        worker_class=spec.worker_class or ("gthread" if spec.threads > 1 else "sync"),
        timeout=30,
    )
    pss = predicted_pss(config)
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
    throughput = round(made_up_throughput(slots) * spec.jitter, 1)
    capacity = round(throughput * 0.92, 1)
    if slots == 1:
        capacity = 4.0  # one slot: the mix's 200 ms waits blow p95 past the SLO early
    errors = 0
    if spec.reason == "errors":
        errors, capacity = 37, 0.0
    requests = int(throughput * 10)
    runs = pooled_runs(capacity, throughput, pss, spec.runs) if spec.runs else ()
    return Trial(
        config=config,
        source=spec.source,
        feasible=not spec.reason,
        reason=spec.reason,
        capacity_rps=capacity,
        throughput_rps=throughput,
        requests=requests * max(1, spec.runs),
        errors=errors,
        latency_ms=latency_at(slots, clients),
        server=server_stats(throughput, pss, spec.workers + 1),
        client=ClientStats(
            cpu_seconds=round(requests * 0.00006, 3), cpu_ms_per_request=0.06, busy_fraction=0.05
        ),
        predicted_pss_mib=round(pss, 1),
        note=spec.note,
        runs=runs,
        pooled=("mean" if spec.runs == 2 else "median") if spec.runs else "",
        # A 95% interval of ±4%, as a fast page's per-second throughput gives one.
        capacity_ci=(round(capacity * 0.96, 2), round(capacity * 1.04, 2)) if capacity else (0, 0),
    )


def make_profile() -> Profile:
    # One worker under 1, 2, 4, … requests at once, until the core is busy (as the profile
    # measures it; the limit and the USL fit come from the same model function).
    ladder = [
        LadderStep(n, throughput_rps=min(n * 1000 / WALL_MS, 1000 / CPU_MS) * 0.97,
                   p95_ms=WALL_MS * 1.3, cpu_cores_busy=min(1.0, n * CPU_MS / WALL_MS))
        for n in (1, 2, 4, 8, 16, 32, 64)
    ]  # fmt: skip
    return Profile(
        target="demo",
        app="tunicorn.demo.app:app",
        routes=ROUTES,
        memory=MEMORY,
        startup_s=0.8,
        cpu_ms=CPU_MS,
        wall_ms=WALL_MS,
        p95_ms=203.0,
        cores_here=2,
        process=model.process_limit(ladder, "gthread", 64),
    )


def model_figures(profile: Profile, cpus: int = CPUS, plan_mib: float = PLAN_MIB) -> ModelFigures:
    """What tune writes under `model`, from the same model functions."""
    return ModelFigures(
        cpu_ms=profile.cpu_ms,
        wall_ms=profile.wall_ms,
        wait_compute_ratio=round(profile.wait_compute_ratio, 3) if profile.cpu_ms > 0 else -1.0,
        cpu_bound_rps=round(model.cpu_bound_or_zero(cpus, profile.cpu_ms), 2),
        slots_to_saturate=float(model.slots_to_saturate(cpus, profile.wall_ms, profile.cpu_ms)),
        memory_budget_mib=round(model.memory_budget_mib(plan_mib), 1),
        memory_share=model.MEMORY_SHARE,
    )


def make_tune(*, with_profile: bool = True, specs: tuple[TrialSpec, ...] = SPECS) -> TuneResult:
    trials = tuple(make_trial(s) for s in specs)
    feasible = [t for t in trials if t.feasible]
    pick = max(feasible, key=lambda t: t.capacity_rps) if feasible else None
    by_key = {t.key: t for t in trials}
    named = tuple(
        recommend.baseline(name, role, by_key[config.key])
        for role, name, config in baselines()
        if config.key in by_key
    )
    rec = None
    verdict = "No configuration met the SLO."
    if pick is not None:
        c = pick.config
        rec = Recommendation(
            workers=c.workers,
            threads=c.threads,
            worker_class=c.worker_class,
            startup_command=(
                f"gunicorn --bind=0.0.0.0 --timeout 230 --workers {c.workers} "
                f"--threads {c.threads} app:app"
            ),
            throughput_rps=pick.throughput_rps,
            capacity_rps=pick.capacity_rps,
            capacity_ci=pick.capacity_ci,
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
        default = next((b for b in named if b.role == "app-service-default"), None)
        verdict = (
            f"Use {c.workers} workers × {c.threads} threads: {pick.capacity_rps:.0f} req/s within "
            f"p95 ≤ 500 ms"
            + (
                f", {pick.capacity_rps / default.capacity_rps:.0f}× App Service's default "
                f"({default.capacity_rps:.1f} req/s)."
                if default is not None and default.capacity_rps > 0
                else "."
            )
        )
    profile = make_profile() if with_profile else None
    return TuneResult(
        target="demo",
        app="tunicorn.demo.app:app",
        recommendation=rec,
        baselines=named,
        trials=trials,
        constraints=Constraints(
            cpus=CPUS, memory_mib=PLAN_MIB, slo_p95_ms=SLO_MS, plan="B1", cores_here=2
        ),
        profile=profile,
        elapsed_s=143.2,
        model=model_figures(profile) if profile is not None else None,
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


def nearest_rank(times: list[float]) -> Latency:
    s = sorted(times)

    def pct(p: float) -> float:
        return s[min(len(s) - 1, max(0, math.ceil(p * len(s)) - 1))]

    return Latency(
        p50=pct(0.5), p90=pct(0.9), p95=pct(0.95), p99=pct(0.99), max=s[-1],
        mean=round(sum(s) / len(s), 3),
    )  # fmt: skip


def make_wave(k: int, completion_ms: list[float], single_ms: float) -> Wave:
    wall = max(completion_ms) + 1.5
    throughput = round(len(completion_ms) / (wall / 1000), 2)
    return Wave(
        concurrency=k,
        wall_ms=wall,
        throughput_rps=throughput,
        latency_ms=nearest_rank(completion_ms),
        completion_ms=tuple(sorted(completion_ms)),
        first_round=probing.first_round(completion_ms, single_ms),
        busy_slots=round(throughput * single_ms / 1000, 2),
    )


def make_probe(*, slots: int = 1, warnings: tuple[str, ...] = ()) -> ProbeResult:
    """An App Service app probed from outside: `slots` requests served at once, each 205 ms.

    The waves stop where the probe stops (two saturated waves agree, the largest four times
    the answer), and what it says of them is what `probe` itself says.
    """
    single = 204.8
    sizes = [k for k in probing.plan_waves(32) if k <= max(4, 4 * slots)]
    waves = [
        make_wave(k, [205.0 * math.ceil((i + 1) / slots) + 0.7 * (i % 3) for i in range(k)], single)
        for k in sizes
    ]
    inf = probing.infer([(w.concurrency, w.completion_ms) for w in waves], single)
    server = "gunicorn"
    return ProbeResult(
        url="http://myapp.azurewebsites.net/io",
        effective_concurrency=inf.effective,
        serial=inf.effective == 1,
        server=server,
        single_latency_ms=single,
        verdict=probing.verdict_text(inf, single, waves[-1].concurrency),
        at_least=inf.at_least,
        confidence=inf.confidence,
        hint=probing.server_hint(server),
        next_step=probing.next_step_text(inf, server, make_spec(3, 6).command()),
        waves=tuple(waves),
        requests=1 + sum(sizes),
        loopback=False,
        max_concurrency=32,
        elapsed_s=round(sum(w.wall_ms for w in waves) / 1000 + 0.3, 3),
        warnings=warnings,
    )


def flat_profile(cpu_ms: float, wall_ms: float) -> Profile:
    """A one-route profile with a small app's memory: for tests of the search's logic."""
    return Profile(
        target="t", app="m:app", routes=(), startup_s=0.5, cpu_ms=cpu_ms, wall_ms=wall_ms,
        p95_ms=wall_ms, cores_here=2,
        memory=MemoryProfile(base_mib=40.0, per_worker_mib=15.0, per_thread_mib=0.1, source="pss"),
    )  # fmt: skip


def make_workload() -> Workload:
    """The demo's workload as the workload stage records it: its three routes from the
    router, all 200 at pre-flight, and a few routes left out as a Django project's would be."""
    from tunicorn.run import workload

    return Workload(
        routes=tuple(
            WorkloadRoute(r.path, "router", status=200, share=round(r.weight / 5.0, 4))
            for r in ROUTES
        ),
        left_out=(
            LeftOut("/admin/", workload.ADMIN, "router"),
            LeftOut("/__debug__/render_panel/", workload.DEBUG, "router"),
            LeftOut("/__debug__/history_sidebar/", workload.DEBUG, "router"),
            LeftOut("/api/users", workload.status_reason(401), "router", 401),
        ),
        notes=(),
        preflight_s=0.4,
    )


def make_built() -> object:
    """What the workload stage returns for the demo (requests and record), for CLI tests
    that replace the measurement."""
    from tunicorn.load import Request
    from tunicorn.run.workload import Built

    wl = make_workload()
    return Built(tuple(Request(r.path, weight=r.share) for r in wl.routes), wl)
def with_stall(result: TuneResult, *, holding: int = 2) -> TuneResult:
    """`result` after a stall check in which the pick and the finalists after the first
    `holding` - 1 others hold, and App Service's 1×1 gives way (its model edge finite, an
    event loop's None), as `recommend.under_stall` records it."""
    from tunicorn.decide import stall
    from tunicorn.record import StallCheck, StalledStats, StallRun

    pick = result.pick
    assert pick is not None
    share, wait, rate = 0.05, 2.0, round(pick.capacity_rps / 2, 1)
    runs = []
    for i, (role, t) in enumerate(stall.finalists(result)):
        holds = i < holding and role != "app-service-default"
        p95 = 180.0 + 10 * i if holds else 2300.0 + 100 * i
        runs.append(
            StallRun(
                config=t.config, role=role, trial=t.key, holds=holds,
                reason="" if holds else f"others' p95 {p95:,.0f} ms > {SLO_MS:.0f} ms",
                rate_rps=rate, throughput_rps=round(rate * 0.95, 1), requests=int(rate * 8),
                errors=0, latency_ms=Latency(p50=p95 / 3, p90=p95 * 0.8, p95=p95, p99=p95 * 1.2,
                                             max=p95 * 1.5),
                within_slo=0.995 if holds else 0.6 - 0.01 * i,
                stalled=StalledStats(share=share, stall_s=wait, requests=int(rate * 0.4), ok=int(
                    rate * 0.4), latency_ms=Latency(p50=2003, p95=2010, max=2020)),
                model_holds=holds, gives_way_rps=stall.gives_way(t.config, stall.Stall(
                    share, wait), 0.2),
                histogram=histogram_b64([p95 / 3] * 90 + [p95] * 10),
            )
        )  # fmt: skip
    check = StallCheck(
        share=share, stall_s=wait, rate_rps=rate, rate_basis="50% of the pick's capacity",
        slo_p95_ms=SLO_MS, duration_s=8.0, runs=tuple(runs), first=pick.key, picked=pick.key,
    )  # fmt: skip
    return recommend.under_stall(result, check)
