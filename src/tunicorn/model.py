"""Pure functions: the bounds and fits that turn a few figures into expectations.

Nothing here measures, sleeps or prints. The measured stages use these to say what a
configuration *should* reach (Little's law), how many threads a core can keep busy (W/C),
what fits in memory, and where adding concurrency stops helping (the Universal
Scalability Law); `recommend` uses them alone when nothing has been measured.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from tunicorn import settings
from tunicorn.record import (
    LadderStep,
    MemoryProfile,
    ModelBaseline,
    ProcessLimit,
    ServerConfig,
    Usl,
)

FloatArray = npt.NDArray[np.float64]

# Configurations within 3% of the best capacity are ties (DESIGN.md, "Definitions").
TIE = 0.03

# --- Little's law ---------------------------------------------------------------------------


def concurrency(throughput_rps: float, latency_s: float) -> float:
    """Requests in flight on average: L = λ × W."""
    _check_non_negative(throughput_rps=throughput_rps, latency_s=latency_s)
    return throughput_rps * latency_s


def slots_bound_rps(slots: int, service_time_s: float) -> float:
    """C slots that each hold a request for R seconds cannot serve more than C / R per second."""
    _check_positive(slots=slots, service_time_s=service_time_s)
    return slots / service_time_s


def cpu_bound_rps(cores: float, cpu_s_per_request: float) -> float:
    """N cores that spend c CPU seconds per request cannot serve more than N / c per second."""
    _check_positive(cores=cores, cpu_s_per_request=cpu_s_per_request)
    return cores / cpu_s_per_request


def throughput_bound_rps(
    slots: int, service_time_s: float, cores: float, cpu_s_per_request: float
) -> float:
    """The lower of the two ceilings: whichever runs out first, slots or CPU."""
    return min(slots_bound_rps(slots, service_time_s), cpu_bound_rps(cores, cpu_s_per_request))


def slots_needed(cores: float, wc_ratio: float) -> float:
    """Requests in flight that keep `cores` busy when each waits W for every C it computes."""
    _check_positive(cores=cores)
    _check_non_negative(wc_ratio=wc_ratio)
    return cores * (1.0 + wc_ratio)


def slots_to_saturate(cores: int, wall_ms: float, cpu_ms: float) -> int:
    """Requests in flight that keep `cores` busy when each takes `wall_ms` and computes
    `cpu_ms` of it: cores × wall / cpu (64 when no CPU time was measured)."""
    if cpu_ms <= 0:
        return 64
    return max(1, math.ceil(cores * wall_ms / cpu_ms))


def cpu_ms_at_load(cpu_ms: float, ladder: ProcessLimit | None) -> float:
    """CPU per request when the process is busy: the profile's one-client figure, or less
    where the per-process ladder measured less at its most throughput (cores busy /
    throughput there). A process spends CPU by the second as well as by the request (its
    loop, heartbeats, a core's slower clock when mostly idle), which the one-client figure
    puts on each request; under load it is spread over many. The zoo's database app: 2.3 ms
    at one client, 1.2 ms at one gthread worker's most throughput, and 8 gevent workers served
    about 600 req/s on one core (at most 1.7 ms each)."""
    if ladder is None or cpu_ms <= 0:
        return cpu_ms
    usable = [st for st in ladder.steps if st.throughput_rps > 0 and not st.errors]
    if not usable:
        return cpu_ms
    top = max(usable, key=lambda st: st.throughput_rps)
    if top.cpu_cores_busy <= 0 or top.clients < 2:
        return cpu_ms
    at_load = 1000.0 * top.cpu_cores_busy / top.throughput_rps
    return min(cpu_ms, at_load)


def slots_at_load(cores: int, wall_ms: float, cpu_ms: float, ladder: ProcessLimit | None) -> int:
    """Little's slots (`slots_to_saturate`) at the CPU a busy process spends (`cpu_ms_at_load`)."""
    return slots_to_saturate(cores, wall_ms, cpu_ms_at_load(cpu_ms, ladder))


def cpu_bound_or_zero(cores: float, cpu_ms: float) -> float:
    """The CPU bound in requests per second from milliseconds of CPU per request; 0 when no
    CPU time was measured (no bound is known)."""
    return cpu_bound_rps(cores, cpu_ms / 1000.0) if cpu_ms > 0 and cores > 0 else 0.0


# --- wait / compute --------------------------------------------------------------------------


def wait_compute_ratio(latency_s: float, cpu_s: float) -> float:
    """W/C from one request's wall time and CPU time (waiting = the rest of the wall time)."""
    _check_positive(cpu_s=cpu_s)
    _check_non_negative(latency_s=latency_s)
    return max(latency_s - cpu_s, 0.0) / cpu_s


def wait_compute_or_inf(wall: float, cpu: float) -> float:
    """W/C as a profile records it: unbounded (inf) where no CPU time was measured. The one
    home of the ratio the records, the profile and the reports read (any one unit)."""
    return wait_compute_ratio(wall, cpu) if cpu > 0 else math.inf


def threads_per_core(wc_ratio: float) -> float:
    """≈ 1 + W/C: while one thread computes, W/C others can be waiting."""
    _check_non_negative(wc_ratio=wc_ratio)
    return 1.0 + wc_ratio


# --- memory ----------------------------------------------------------------------------------

# The share of a plan's memory a configuration may fill: the rest is for the OS, the
# platform's own processes and spikes (a large response). tune, recommend and check all use it.
MEMORY_SHARE = 0.9


def memory_budget_mib(memory_mib: float) -> float:
    """What a configuration may use of a plan's memory (MEMORY_SHARE of it)."""
    _check_non_negative(memory_mib=memory_mib)
    return memory_mib * MEMORY_SHARE


def predict_pss(memory: MemoryProfile, config: ServerConfig) -> float:
    """PSS of any configuration from the profile: a base, plus workers, plus threads (a
    gevent worker's greenlets cost no thread stacks)."""
    config = config.effective()
    extra_threads = 0 if config.worker_class == "gevent" else max(config.threads, 1) - 1
    return (
        memory.base_mib
        + (config.workers - 1) * memory.per_worker_mib
        + config.workers * extra_threads * memory.per_thread_mib
    )


def fits(memory: MemoryProfile, config: ServerConfig, budget_mib: float) -> bool:
    return predict_pss(memory, config) <= budget_mib



def worker_memory_mib(base_mib: float, thread_mib: float, threads: int) -> float:
    """PSS of one worker: what it holds once loaded, plus what each extra thread adds."""
    _check_non_negative(base_mib=base_mib, thread_mib=thread_mib)
    _check_positive(threads=threads)
    return base_mib + thread_mib * (threads - 1)


def usable_memory_mib(
    budget_mib: float, headroom: float = 1 - MEMORY_SHARE, master_mib: float = 0.0
) -> float:
    """The share of the budget that workers may fill: less the headroom and the master."""
    _check_non_negative(budget_mib=budget_mib, master_mib=master_mib)
    if not 0.0 <= headroom < 1.0:
        raise ValueError(f"headroom must be from 0 up to (not including) 1, got {headroom}")
    return max(budget_mib * (1.0 - headroom) - master_mib, 0.0)


def memory_cap_workers(
    budget_mib: float,
    base_mib: float,
    thread_mib: float,
    threads: int,
    *,
    headroom: float = 1 - MEMORY_SHARE,
    master_mib: float = 0.0,
) -> int:
    """How many workers of `threads` threads fit in the budget (0 when not even one does)."""
    per_worker = worker_memory_mib(base_mib, thread_mib, threads)
    usable = usable_memory_mib(budget_mib, headroom, master_mib)
    if per_worker <= 0:
        raise ValueError("a worker must take some memory (base_mib > 0)")
    return math.floor(usable / per_worker + 1e-9)


def memory_cap_threads(
    budget_mib: float,
    base_mib: float,
    thread_mib: float,
    workers: int,
    *,
    headroom: float = 1 - MEMORY_SHARE,
    master_mib: float = 0.0,
    cap: int = settings.MAX_THREADS.default,
) -> int:
    """How many threads per worker fit for `workers` workers (0 when the workers alone do not),
    at most `cap`: long before memory runs out, the GIL and the app's locks are the limit."""
    _check_positive(workers=workers)
    usable = usable_memory_mib(budget_mib, headroom, master_mib) / workers
    if usable < base_mib:
        return 0
    if thread_mib <= 0:
        return cap
    return min(1 + math.floor((usable - base_mib) / thread_mib + 1e-9), cap)


# --- Universal Scalability Law ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class UslFit:
    """X(N) = λN / (1 + σ(N−1) + κN(N−1)), fitted to measured (N, X) points."""

    lam: float  # throughput of one unit of concurrency with no contention
    sigma: float  # contention: the serial share (queueing on a lock, the GIL, one DB row)
    kappa: float  # coherency: cost growing with pairs of workers (crosstalk, cache churn)
    n_star: float  # concurrency of peak throughput; inf when nothing bends the curve down
    x_max: float  # throughput predicted at the peak (the limit λ/σ when n_star is inf)
    rmse: float  # root mean square error of the fit, in the units of X
    points: int
    note: str = ""

    def predict(self, n: float) -> float:
        return usl_throughput(n, self.lam, self.sigma, self.kappa)


def usl_throughput(n: float, lam: float, sigma: float, kappa: float) -> float:
    return lam * n / (1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0))


def usl_peak(sigma: float, kappa: float) -> float:
    """N* = √((1−σ)/κ): where coherency costs outgrow what one more unit adds."""
    if sigma >= 1.0:
        return 1.0
    if kappa <= 0.0:
        return math.inf
    return max(math.sqrt((1.0 - sigma) / kappa), 1.0)


def fit_usl(n: Sequence[float], x: Sequence[float]) -> UslFit:
    """Least-squares fit of λ, σ, κ (σ, κ ≥ 0) to throughput X measured at concurrency N.

    For a given λ the law is linear in σ and κ: λN/X − 1 = σ(N−1) + κN(N−1), solved as a
    two-variable non-negative least squares. λ is then chosen to minimise the error in X
    itself (golden-section search), since X, not the linearised form, is what was measured.
    """
    ns = np.asarray(n, dtype=float)
    xs = np.asarray(x, dtype=float)
    if ns.shape != xs.shape or ns.ndim != 1:
        raise ValueError("n and x must be two sequences of the same length")
    if ns.size < 2:
        raise ValueError("a USL fit needs at least two (N, X) points")
    if not (np.all(np.isfinite(ns)) and np.all(np.isfinite(xs))):
        raise ValueError("N and X must be finite numbers")
    if np.any(ns < 1) or np.any(xs <= 0):
        raise ValueError("N must be 1 or more and X more than zero at every point")
    distinct = np.unique(ns).size
    if distinct < 2:
        raise ValueError("a USL fit needs throughput at two or more different concurrencies")

    # X(N) ≤ λN whenever σ, κ ≥ 0, so λ is at least the best throughput per unit.
    low = float((xs / ns).max())
    high = low * 4.0
    # Two concurrencies cannot tell σ from κ apart: keep the simpler Amdahl form (κ = 0).
    coherency = ns * (ns - 1.0) if distinct >= 3 else np.zeros_like(ns)

    def solve(lam: float) -> tuple[float, float, float]:
        sigma, kappa = _nnls2(ns - 1.0, coherency, lam * ns / xs - 1.0)
        predicted = lam * ns / (1.0 + sigma * (ns - 1.0) + kappa * ns * (ns - 1.0))
        return float(np.sum((predicted - xs) ** 2)), sigma, kappa

    lam = _golden_min(lambda v: solve(v)[0], low, high)
    error, sigma, kappa = solve(lam)
    note = "two concurrencies only: fitted with κ = 0 (Amdahl)" if distinct < 3 else ""
    n_star = usl_peak(sigma, kappa)
    if math.isinf(n_star):
        x_max = lam / sigma if sigma > 0 else math.inf
        note = note or "no retrograde region in the data: throughput has not peaked yet"
    else:
        x_max = usl_throughput(n_star, lam, sigma, kappa)
    return UslFit(
        lam=lam,
        sigma=sigma,
        kappa=kappa,
        n_star=n_star,
        x_max=x_max,
        rmse=math.sqrt(error / ns.size),
        points=int(ns.size),
        note=note,
    )


def _nnls2(a: FloatArray, b: FloatArray, y: FloatArray) -> tuple[float, float]:
    """min ‖s·a + k·b − y‖² with s, k ≥ 0, by trying each active set (two unknowns only)."""
    candidates: list[tuple[float, float]] = [(0.0, 0.0)]
    matrix = np.column_stack([a, b])
    solution, *_ = np.linalg.lstsq(matrix, y, rcond=None)
    if solution[0] >= 0 and solution[1] >= 0:
        candidates.append((float(solution[0]), float(solution[1])))
    for column, place in ((a, 0), (b, 1)):
        denom = float(column @ column)
        if denom > 0:
            value = max(float(column @ y) / denom, 0.0)
            candidates.append((value, 0.0) if place == 0 else (0.0, value))

    def residual(c: tuple[float, float]) -> float:
        return float(np.sum((c[0] * a + c[1] * b - y) ** 2))

    return min(candidates, key=residual)


def _golden_min(fn: Callable[[float], float], low: float, high: float) -> float:
    """The minimum of a one-dimensional function on [low, high] (golden-section search)."""
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = low, high
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = fn(c), fn(d)
    for _ in range(200):
        if b - a <= 1e-12 * max(abs(b), 1.0):
            break
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = fn(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = fn(d)
    return (a + b) / 2.0


# --- one process's limit ----------------------------------------------------------------------

LADDER_GROWTH = 1.15  # a doubling of requests in flight that adds less than 15% is the knee
ONE_CORE_BUSY = 0.9  # one process (one GIL) keeping 90% of a core busy is limited by the CPU


def ladder_stopped(steps: Sequence[LadderStep]) -> bool:
    """Has throughput stopped growing: did the last doubling add less than LADDER_GROWTH?"""
    if len(steps) < 2:
        return False
    last, before = steps[-1], steps[-2]
    return last.throughput_rps < before.throughput_rps * LADDER_GROWTH


def process_limit(steps: Sequence[LadderStep], worker_class: str, top: int) -> ProcessLimit:
    """How many requests one process serves usefully at once, from a ladder of closed loops
    at 1, 2, 4, … clients on one worker (the first step at one client).

    Little's law: at one client a request is served in 1 / X(1); at the best step, X_max
    requests per second are served, so X_max / X(1) requests were really in service at once.
    That is the GIL for compute and a pool or a lock for the rest (DESIGN.md, "Per-process
    limit"); threads beyond it only queue.
    """
    usable = [st for st in steps if st.throughput_rps > 0 and not st.errors]
    if not usable:
        return ProcessLimit(worker_class, tuple(steps), 0.0, 0, False, "")
    one = usable[0].throughput_rps
    best = max(usable, key=lambda st: st.throughput_rps)
    plateau = [st for st in usable if st.throughput_rps >= 0.9 * best.throughput_rps]
    knee = min(st.clients for st in plateau)
    bounded = ladder_stopped(usable) or usable[-1].clients < top
    cause = ""
    if bounded:
        # The CPU bounds the process where its core was busy at the knee or anywhere past it,
        # not only on the plateau: threads that fight for the GIL can serve less at 2, 4 or 8
        # at once than one request alone did (a 3 ms page with a 1 ms database call: 265 req/s
        # at one client and a core 81% busy, 211 at eight and the core 100% busy). Only a
        # process that stops growing with its core not busy waits on a pool or a lock.
        busy = max(st.cpu_cores_busy for st in usable if st.clients >= knee)
        cause = "cpu" if busy >= ONE_CORE_BUSY else "pool"
    usl = None
    if len({st.clients for st in usable}) >= 2:
        fit = fit_usl([st.clients for st in usable], [st.throughput_rps for st in usable])
        usl = Usl(
            lam=round(fit.lam, 3), sigma=round(fit.sigma, 4), kappa=round(fit.kappa, 6),
            n_star=None if math.isinf(fit.n_star) else round(fit.n_star, 2),
            rmse=round(fit.rmse, 3), points=fit.points,
        )  # fmt: skip
    return ProcessLimit(
        worker_class=worker_class,
        steps=tuple(steps),
        limit=round(best.throughput_rps / one, 2),
        knee=knee,
        bounded=bounded,
        cause=cause,
        usl=usl,
    )


# --- rules of thumb ---------------------------------------------------------------------------


def multiworkers_count(cores: int) -> int:
    """gunicorn's and App Service's PYTHON_ENABLE_GUNICORN_MULTIWORKERS rule: 2 × cores + 1."""
    _check_positive(cores=cores)
    return 2 * cores + 1


def baselines(cores: int) -> tuple[ModelBaseline, ...]:
    """The configurations every recommendation is compared with (DESIGN.md, Definitions)."""
    return (
        ModelBaseline(
            name="app-service-default",
            workers=1,
            threads=1,
            worker_class="sync",
            source="App Service with no startup command",
        ),
        ModelBaseline(
            name="multiworkers",
            workers=multiworkers_count(cores),
            threads=1,
            worker_class="sync",
            source="PYTHON_ENABLE_GUNICORN_MULTIWORKERS=true",
        ),
        ModelBaseline(
            name="seed-3x6",
            workers=3,
            threads=6,
            worker_class="gthread",
            source="the seed article's fixed choice",
        ),
    )


# --- a stalled upstream (--stall) -----------------------------------------------------------
# The stall model (docs/stalls.md): a share s of requests waits D seconds on an
# upstream; at an offered load of λ req/s, Little's law puts λ·s·D of them in flight on average,
# and with arrivals that are independent (production's users) their number at any instant is
# Poisson with that mean (an M/G/∞ queue: exact whatever the waits' spread). Each holds a slot.
# The others keep their p95 within the SLO only while (1) at most 5% of them arrive to find
# every slot held by a stalled request, and (2) the slots left free are not overrun by the
# others' own work (Little again: λ·(1−s)·R of them in flight, R their time in the app).
# Slots shared by one accept queue are one pool: sync workers (a worker accepts only when it is
# free). gthread workers accept whether or not their threads are free, so a connection waits for
# a thread of the worker that won it: each worker is a pool of its threads, taking its share
# λ/W of the arrivals (a random split of independent arrivals is again Poisson).
STALL_BLOCKED_MAX = 0.05  # the p95's 5%: the others that may find every slot stalled
STALL_FREE_BUSY_MAX = 0.8  # the others' use of the free slots past which queues build
STALL_RATE_MAX = 1e6  # the search for where a configuration gives way stops here


def stalled_in_flight(rate_rps: float, share: float, stall_s: float) -> float:
    """Little's law: stalled requests in flight at `rate_rps`, `share` of them waiting `stall_s`."""
    _check_non_negative(rate_rps=rate_rps, share=share, stall_s=stall_s)
    return rate_rps * share * stall_s


def poisson_at_least(mean: float, k: int) -> float:
    """P(N ≥ k) for N Poisson with `mean`: the chance that k or more stalls overlap."""
    _check_non_negative(mean=mean)
    if k <= 0:
        return 1.0
    if mean == 0:
        return 0.0
    # P(N < k) summed in logs: e^-mean underflows past a mean of about 745 (an event loop's
    # thousands of slots at a high load).
    logs = [i * math.log(mean) - mean - math.lgamma(i + 1) for i in range(k)]
    top = max(logs)
    below = math.exp(top) * math.fsum(math.exp(x - top) for x in logs)
    return min(1.0, max(0.0, 1.0 - below))


def stall_holds(
    slots: int,
    rate_rps: float,
    share: float,
    stall_s: float,
    service_s: float,
    pools: int = 1,
) -> bool:
    """Does a server of `slots` keep the other requests' p95 within the SLO at `rate_rps` while
    `share` of requests wait `stall_s` (the model above; `service_s`: the others' time in the
    app, one at a time)? The slots are split evenly into `pools` that each take their share of
    the load (gthread's workers; 1 for one accept queue)."""
    _check_non_negative(service_s=service_s)
    _check_positive(pools=pools)
    slots, rate_rps = slots // pools, rate_rps / pools
    mean = stalled_in_flight(rate_rps, share, stall_s)
    if poisson_at_least(mean, slots) > STALL_BLOCKED_MAX:
        return False
    others = rate_rps * (1 - share) * service_s
    return others <= STALL_FREE_BUSY_MAX * max(0.0, slots - mean)


def stall_gives_way_rps(
    slots: int, share: float, stall_s: float, service_s: float, pools: int = 1
) -> float:
    """The offered load at which `slots` (in `pools`) stop holding under the stall (req/s, to
    0.1%): `stall_holds` only turns false as the load grows, so bisection finds the edge."""
    low, high = 0.0, 1.0
    while stall_holds(slots, high, share, stall_s, service_s, pools):
        low, high = high, high * 2
        if high > STALL_RATE_MAX:
            return math.inf
    while high - low > max(1e-3, low * 1e-3):
        mid = (low + high) / 2
        if stall_holds(slots, mid, share, stall_s, service_s, pools):
            low = mid
        else:
            high = mid
    return low


# --- checks ------------------------------------------------------------------------------------


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0 or math.isinf(value):
            raise ValueError(f"{name} must be a finite number above zero, got {value}")


def _check_non_negative(**values: float) -> None:
    for name, value in values.items():
        if not value >= 0 or math.isinf(value):
            raise ValueError(f"{name} must be a finite number of zero or more, got {value}")
