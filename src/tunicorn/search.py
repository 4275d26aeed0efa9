"""Which configurations to try: a start from the models, then neighbours of the best so far.

The models only choose where to look; every answer comes from a measurement. A
configuration is a point (workers, threads, class) on a lattice: workers one by one,
threads on a ladder that doubles roughly every two steps.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable

from tunicorn import model
from tunicorn.record import Profile, ServerConfig, Trial

THREAD_LADDER = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
TIE = 0.03  # configurations within 3% of the best capacity are ties (DESIGN.md, "Definitions")
# A closed loop that keeps the server's cores 90% busy is limited by the CPU. One sync worker
# per core reads 0.94-0.97 on the demo's /cpu (it idles while the next connection is accepted).
CPU_BOUND = 0.9


BASELINE_ROLES = tuple(b.name for b in model.baselines(1))


def baselines(cpus: int) -> list[tuple[str, ServerConfig]]:
    """The three configurations every recommendation is compared against, with display names."""
    names = {
        "app-service-default": "App Service default",
        "multiworkers": f"MULTIWORKERS (2×{cpus}+1)",
        "seed-3x6": "the seed's 3×6",
    }
    return [
        (names.get(b.name, b.name), ServerConfig(b.workers, b.threads, b.worker_class))
        for b in model.baselines(cpus)
    ]


def ladder_at_least(n: int) -> int:
    i = bisect.bisect_left(THREAD_LADDER, n)
    return THREAD_LADDER[min(i, len(THREAD_LADDER) - 1)]


def with_threads(workers: int, threads: int) -> ServerConfig:
    return ServerConfig(workers, threads, "sync" if threads == 1 else "gthread")


def model_start(profile: Profile, cpus: int, fits: Callable[[ServerConfig], bool]) -> ServerConfig:
    """Little's law's guess: enough slots to keep every core busy, one worker per core.

    A request holds a slot for its whole wall time but a core only for its CPU time, so
    cores × wall / cpu slots keep the cores busy (threads ≈ 1 + W/C per core).
    """
    workers = max(1, cpus)
    if profile.cpu_ms <= 0 or profile.wait_compute_ratio < 0.25:
        start = ServerConfig(workers, 1, "sync")  # compute-bound: threads only add GIL contention
    else:
        slots = math.ceil(cpus * profile.wall_ms / profile.cpu_ms)
        start = with_threads(workers, ladder_at_least(math.ceil(slots / workers)))
    while not fits(start) and (start.threads > 1 or start.workers > 1):
        start = _smaller(start)
    return start


def _smaller(config: ServerConfig) -> ServerConfig:
    if config.threads > 1:
        i = THREAD_LADDER.index(ladder_at_least(config.threads))
        return with_threads(config.workers, THREAD_LADDER[max(0, i - 1)])
    return ServerConfig(config.workers - 1, 1, "sync")


def neighbours(config: ServerConfig, max_workers: int, max_threads: int) -> list[ServerConfig]:
    """One step in each direction on the lattice, keeping the worker class family."""
    out: list[ServerConfig] = []
    if config.worker_class == "gevent":
        for w in (config.workers - 1, config.workers + 1):
            if 1 <= w <= max_workers:
                out.append(ServerConfig(w, 1, "gevent"))
        return out
    i = THREAD_LADDER.index(ladder_at_least(config.threads))
    for w in (config.workers - 1, config.workers + 1):
        if 1 <= w <= max_workers:
            out.append(with_threads(w, config.threads))
    for j in (i - 1, i + 1):
        if 0 <= j < len(THREAD_LADDER) and THREAD_LADDER[j] <= max_threads:
            out.append(with_threads(config.workers, THREAD_LADDER[j]))
    # Trade a thread step for a worker: the same slots, less GIL contention per process.
    if i > 0 and config.workers + 1 <= max_workers:
        out.append(with_threads(config.workers + 1, THREAD_LADDER[i - 1]))
    return out


def extend(
    before: ServerConfig, after: ServerConfig, max_workers: int, max_threads: int
) -> ServerConfig | None:
    """The pattern move: after a step from `before` to `after` paid off, a step twice as long.

    Steps are counted in workers and in places on the thread ladder, so a climb that keeps
    paying doubles its stride (1, 2, 4… workers) instead of walking the lattice one by one.
    None when the move would leave the bounds' corner it is already in or change class family.
    """
    if (before.worker_class == "gevent") != (after.worker_class == "gevent"):
        return None
    i_before = THREAD_LADDER.index(ladder_at_least(before.threads))
    i_after = THREAD_LADDER.index(ladder_at_least(after.threads))
    top = max(j for j, t in enumerate(THREAD_LADDER) if t <= max(1, max_threads))
    workers = min(max(1, after.workers + 2 * (after.workers - before.workers)), max_workers)
    index = min(max(0, i_after + 2 * (i_after - i_before)), top)
    if after.worker_class == "gevent":
        index = 0
    nxt = (
        ServerConfig(workers, 1, "gevent")
        if after.worker_class == "gevent"
        else with_threads(workers, THREAD_LADDER[index])
    )
    return None if key(nxt) == key(after) else nxt


def family(config: ServerConfig) -> str:
    """The lattice a configuration climbs on: processes × threads, or gevent processes."""
    return "gevent" if config.worker_class == "gevent" else "threads"


def climb_score(trial: Trial) -> float:
    """What the climb follows: capacity, or for a trial stopped as slower, what it could reach.

    The pick only ever uses measured capacity (`best`); the climb may step through trials
    that could not win yet, or a family that starts behind could never catch up.
    """
    if trial.feasible:
        return trial.capacity_rps
    return trial.reachable_rps if trial.reason == "slower" else 0.0


def leader(trials: Iterable[Trial], fam: str) -> Trial | None:
    """The trial the climb continues from in one family: the highest climb score,
    fewer slots first."""
    scored = [t for t in trials if family(t.config) == fam and climb_score(t) > 0]
    if not scored:
        return None
    return max(scored, key=lambda t: (climb_score(t), -t.config.slots))


def key(config: ServerConfig) -> tuple[int, int, str]:
    c = config.effective()
    return (c.workers, c.threads, c.worker_class)


def cpu_bound(trial: Trial, cores: int) -> bool:
    """Did the trial's closed loop keep the server's `cores` busy (CPU_BOUND)?

    Then the CPU is what limits it: more slots only queue more requests for the same cores.
    """
    return (
        cores > 0 and trial.server is not None and trial.server.cpu_cores_busy >= CPU_BOUND * cores
    )


def ties(trials: Iterable[Trial]) -> list[Trial]:
    """The usable trials within TIE of the best capacity: what the pick is chosen among."""
    feasible = [t for t in trials if t.feasible and t.capacity_rps > 0]
    top = max((t.capacity_rps for t in feasible), default=0.0)
    return [t for t in feasible if t.capacity_rps >= top * (1 - TIE)]


def best(trials: Iterable[Trial], cores: int = 0) -> Trial | None:
    """The pick: most capacity; within 3% of it, lower p95, then less memory, then fewer processes.

    Each later criterion only separates what the earlier ones left within 5% of each other,
    so noise in p95 does not outvote a real memory saving. When every tie kept the server's
    `cores` busy, p95 is not compared: each one's p95 is queueing for the same saturated
    cores, and it swings by several times between runs (the demo's /cpu measured 8 ms on
    2×1 sync and 33 ms on 1×1 sync at about 121 req/s), so it would pick by chance.
    """
    pool = ties(trials)
    if not pool:
        return None
    if not all(cpu_bound(t, cores) for t in pool):
        low_p95 = min(t.latency_ms.p95 for t in pool)
        pool = [t for t in pool if t.latency_ms.p95 <= low_p95 * 1.05 + 0.5]
    low_mem = min(_pss(t) for t in pool)
    pool = [t for t in pool if _pss(t) <= low_mem * 1.05 + 0.5]
    return min(pool, key=lambda t: (t.config.workers, t.config.threads, -t.capacity_rps))


def _pss(trial: Trial) -> float:
    return trial.server.pss_mib_peak if trial.server else trial.predicted_pss_mib
