"""Which configurations to try: a start from the models, then each family's climb.

The models only choose where to look; every answer comes from a measurement. A
configuration is a point (workers, threads, class) on a lattice: workers one by one,
threads on a ladder that doubles roughly every two steps.

The search never measures: `opening` and `climb` are generators that yield the next
configuration and read the trials the driver has measured so far (a mapping from a
configuration's key to its trial) when they resume, so the whole search can be driven by
a formula in place of a server.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping

from tunicorn import model
from tunicorn.classes import class_for_threads, event_loop
from tunicorn.decide import rank
from tunicorn.record import Machine, Profile, Rules, ServerConfig, Trial

THREAD_LADDER = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
TRAILING_FAMILY = 0.4  # a family under 40% of the best score stops climbing
CLIMB_STEP = 0.02  # the climb moves only for a gain over 2%: a flat plateau is not walked


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
    return ServerConfig(workers, threads, class_for_threads(threads))


def model_start(
    profile: Profile,
    cpus: int,
    fits: Callable[[ServerConfig], bool],
    max_workers: int = 0,
    min_slots: int = 0,
) -> ServerConfig:
    """Little's law's guess: enough slots to keep every core busy.

    A request holds a slot for its whole wall time but a core only for its CPU time, so
    cores × wall / cpu slots keep the cores busy (threads ≈ 1 + W/C per core), one worker per
    core. When the profile found that one process serves fewer requests at once than that (a
    pool or a lock), threads stay near that limit and workers make up the slots.
    """
    workers = max(1, cpus)
    max_workers = max_workers or 8 * workers
    if profile.cpu_ms <= 0 or profile.wait_compute_ratio < 0.25:
        # Compute-bound: threads only add GIL contention; processes make up the minimum slots.
        start = ServerConfig(max(workers, min_slots), 1, "sync")
    else:
        slots = model.slots_at_load(cpus, profile.wall_ms, profile.cpu_ms, profile.process)
        limit = per_process_limit(profile)
        if limit is not None and limit < math.ceil(slots / workers):
            threads = ladder_nearest(limit)
            workers = min(max_workers, max(workers, math.ceil(slots / threads)))
            start = with_threads(workers, threads)
        else:
            start = with_threads(workers, ladder_at_least(math.ceil(slots / workers)))
    if start.slots < min_slots:
        start = with_threads(start.workers, ladder_at_least(math.ceil(min_slots / start.workers)))
    while not fits(start) and (start.threads > 1 or start.workers > 1):
        if start.workers > max(1, cpus) and start.threads > 1:
            start = with_threads(start.workers - 1, start.threads)  # keep threads at the limit
        else:
            start = _smaller(start)
    return start


def per_process_limit(profile: Profile, worker_class: str = "gthread") -> float | None:
    """Requests one process serves at once when something in it (a pool, a lock) bounds it;
    None when the profile found no such limit (or the CPU is what bounds it)."""
    found = profile.gevent_process if worker_class == "gevent" else profile.process
    if found is None or not found.bounded or found.cause != "pool" or found.limit < 1:
        return None
    return found.limit


def gevent_start(profile: Profile, cpus: int, max_workers: int) -> ServerConfig:
    """One gevent worker per core, or, when one gevent process is bounded by a pool or a lock,
    as many as the slots need at that limit."""
    limit = per_process_limit(profile, "gevent")
    workers = max(1, cpus)
    if limit is not None and profile.cpu_ms > 0:
        slots = model.slots_at_load(cpus, profile.wall_ms, profile.cpu_ms, profile.gevent_process)
        workers = min(max_workers, max(workers, math.ceil(slots / limit)))
    return ServerConfig(workers, 1, "gevent")


def ladder_nearest(n: float) -> int:
    """The thread-ladder value nearest to `n` (at least 1)."""
    return min(THREAD_LADDER, key=lambda t: (abs(t - n), t))


def _smaller(config: ServerConfig) -> ServerConfig:
    if config.threads > 1:
        i = THREAD_LADDER.index(ladder_at_least(config.threads))
        return with_threads(config.workers, THREAD_LADDER[max(0, i - 1)])
    return ServerConfig(config.workers - 1, 1, "sync")


def neighbours(config: ServerConfig, max_workers: int, max_threads: int) -> list[ServerConfig]:
    """One step in each direction on the lattice, keeping the worker class family."""
    out: list[ServerConfig] = []
    if event_loop(config.worker_class):  # gevent, uvicorn: only the workers move
        for w in (config.workers - 1, config.workers + 1):
            if 1 <= w <= max_workers:
                out.append(ServerConfig(w, 1, config.worker_class))
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
    if family(before) != family(after):
        return None
    i_before = THREAD_LADDER.index(ladder_at_least(before.threads))
    i_after = THREAD_LADDER.index(ladder_at_least(after.threads))
    top = max(j for j, t in enumerate(THREAD_LADDER) if t <= max(1, max_threads))
    workers = min(max(1, after.workers + 2 * (after.workers - before.workers)), max_workers)
    index = min(max(0, i_after + 2 * (i_after - i_before)), top)
    if event_loop(after.worker_class):
        index = 0
    nxt = (
        ServerConfig(workers, 1, after.worker_class)
        if event_loop(after.worker_class)
        else with_threads(workers, THREAD_LADDER[index])
    )
    return None if key(nxt) == key(after) else nxt


def family(config: ServerConfig) -> str:
    """The lattice a configuration climbs on: processes × threads, gevent processes, or
    uvicorn processes (an ASGI app: "asgi")."""
    if config.worker_class == "uvicorn":
        return "asgi"
    return "gevent" if config.worker_class == "gevent" else "threads"


def climb_score(trial: Trial) -> float:
    """What the climb follows: capacity, or for a trial stopped as slower, what it could reach.

    The pick only ever uses measured capacity (`rank.best`); the climb may step through trials
    that could not win yet, or a family that starts behind could never catch up. A kept-alive
    capacity dealt again is followed by its low end, as rank judges it.
    """
    if trial.feasible:
        return rank.figure(trial)
    return trial.reachable_rps if trial.reason == "slower" else 0.0


def leader(trials: Iterable[Trial], fam: str) -> Trial | None:
    """The trial the climb continues from in one family: the highest climb score,
    fewer slots first."""
    scored = [t for t in trials if family(t.config) == fam and climb_score(t) > 0]
    if not scored:
        return None
    return max(scored, key=lambda t: (climb_score(t), -t.config.slots))


def key(config: ServerConfig) -> str:
    return config.key


# -- the search itself ----------------------------------------------------------------------

Trials = Mapping[str, Trial]


@dataclasses.dataclass(frozen=True)
class Space:
    """Where the search may go and what it knows before measuring: the machine (the plan's
    cores, for "one sync worker per core" and the CPU bound; the server's cores, for "the CPU
    is busy"), the lattice's bounds, and the memory model's verdict on a configuration."""

    machine: Machine
    max_workers: int
    max_threads: int
    fits: Callable[[ServerConfig], bool]
    wall_ms: float = 0.0  # the profile's latency at concurrency 1 (for ordering only)
    cpu_ms: float = 0.0  # the profile's CPU per request (for ordering only)
    rules: Rules = Rules()  # what the pick must be, beyond its capacity


def space(
    profile: Profile,
    machine: Machine,
    fits: Callable[[ServerConfig], bool],
    *,
    max_threads: int,
    max_workers_per_core: int,
    single_slot: bool = False,
) -> Space:
    """The search space. Memory (fits) and the climb bound workers: a step up is taken only
    while it beats the best, so a wide cap costs trials only on apps that keep scaling with
    processes (a per-process lock or pool, code that is unsafe under threads). Threads stop
    near one process's limit when the profile found a pool or a lock: beyond it they queue.
    Unless `single_slot`, the pick keeps two requests in flight per core."""
    cpus = machine.cpus
    max_workers = max(2 * cpus + 2, cpus + 3, max_workers_per_core * cpus)
    limit = per_process_limit(profile)
    cap = 0
    if limit is not None:
        cap = ladder_nearest(limit)
        max_threads = min(max_threads, cap)
    rules = Rules(min_slots=0 if single_slot else 2 * cpus, max_threads=cap)
    return Space(
        machine, max_workers, max_threads, fits, profile.wall_ms, profile.cpu_ms, rules
    )


def simple(sp: Space) -> ServerConfig:
    """The answer for a compute-bound app: one sync worker per core, or as many as the pick
    needs to keep two requests in flight per core (one slow request must not stop everyone)."""
    return ServerConfig(max(sp.machine.cpus, sp.rules.min_slots), 1, "sync")


def compute_bound(trials: Trials, sp: Space) -> bool:
    """Did one request per process (`simple`), measured and usable, keep the cores busy?"""
    one = trials.get(simple(sp).key)
    return one is not None and one.feasible and rank.cpu_bound(one, sp.machine.server_cores)


def opening(
    trials: Trials, profile: Profile, sp: Space, start: ServerConfig, gevent: bool
) -> Iterator[tuple[ServerConfig, str]]:
    """What every tune measures before searching: the three baselines, the model's start and,
    where gevent is tried, one gevent worker per core (unless the app broke under threads)."""
    for _name, config in baselines(sp.machine.cpus):
        yield config, "baseline"
    yield start, "model"
    one_gevent = gevent_start(profile, sp.machine.cpus, sp.max_workers)
    if gevent and worth(trials, one_gevent):
        yield one_gevent, "model"


def climb(trials: Trials, sp: Space, start: ServerConfig) -> Iterator[ServerConfig]:
    """Each worker-class family (processes × threads, gevent) climbs from its own leader.

    A family that starts behind may still overtake (many workers × many threads can outrun
    gevent). Nothing is climbed when one request per core already keeps the CPU busy: more
    slots cannot add capacity, and what is left to settle is settle's job.
    """
    if compute_bound(trials, sp):
        return
    families = sorted({family(t.config) for t in trials.values()})
    came_from: dict[str, ServerConfig] = {}  # where each family's last paying step started
    climbing = set(families)
    while climbing:
        for fam in families:
            if fam not in climbing:
                continue
            if far_behind(trials, fam):
                climbing.discard(fam)
                continue
            stepped = yield from _step(trials, sp, fam, start, came_from)
            if not stepped:
                climbing.discard(fam)


def _step(
    trials: Trials, sp: Space, fam: str, start: ServerConfig, came_from: dict[str, ServerConfig]
) -> Generator[ServerConfig, None, bool]:
    """One step of one family's hill-climb; returns False when it has nowhere better to go."""
    current = leader(trials.values(), fam)
    before = came_from.get(fam)
    # A leader that keeps the CPU busy gains nothing from more slots (they only queue
    # requests for the same cores): its family steps only to as many slots or fewer, unless
    # its slots, not the latency target, bounded what it served.
    ceiling: float = math.inf
    if (
        current is not None and rank.cpu_bound(current, sp.machine.server_cores)
        and not rank.backlog_within_slo(current)
    ):  # fmt: skip
        ceiling = current.config.slots
    if current is not None and before is not None:
        # The last step paid off: try one twice as long in the same direction first.
        jump = extend(before, current.config, sp.max_workers, sp.max_threads)
        if (
            jump is not None and jump.slots <= ceiling and jump.key not in trials
            and sp.fits(jump) and worth(trials, jump)
        ):  # fmt: skip
            yield jump
            if moved(trials, fam, current):
                came_from[fam] = current.config
                return True
    if current is None and fam != family(start):
        return False
    # With nothing scoring yet, walk down from the model's start towards fewer slots.
    around = start if current is None else current.config
    fresh = [
        c for c in neighbours(around, sp.max_workers, sp.max_threads)
        if c.slots <= ceiling and c.key not in trials and worth(trials, c)
    ]  # fmt: skip
    if not fresh:
        return False  # every neighbour is measured: more trials cannot move this family
    fresh.sort(key=lambda c: -promise(c, sp))
    for config in fresh:
        if config.effective().key not in trials:
            yield config
    if current is not None and not moved(trials, fam, current):
        return False
    if current is not None:
        came_from[fam] = current.config
    return True


def worth(trials: Trials, config: ServerConfig) -> bool:
    """False for a candidate with threads or greenlets once two such trials have broken the
    app (it answered 5xx under load) and none has passed: the app is not safe with two
    requests in one process, so the search stays with one request per process."""
    if config.threads == 1 and config.worker_class != "gevent":
        return True
    shared = [t for t in trials.values() if t.config.slots > t.config.workers]
    broke = [t for t in shared if t.reason == "errors" and server_errors(t)]
    return len(broke) < 2 or any(t.feasible or t.reason == "slower" for t in shared)


def threads_safe(trials: Trials) -> bool:
    """May one process serve two requests at once (threads, greenlets)? `worth` for a shape
    that shares a process: False once two such trials broke the app and none passed."""
    return worth(trials, ServerConfig(1, 2, "gthread"))


def server_errors(trial: Trial) -> bool:
    """Did the app itself answer errors (5xx), as opposed to timeouts or resets under overload?"""
    if not trial.phases:
        return True  # no phase record (made up in tests): take the reason at its word
    return any(p.errors_by_kind.get("http_5xx", 0) for p in trial.phases)


def far_behind(trials: Trials, fam: str) -> bool:
    """A family whose leader is under TRAILING_FAMILY of the best score is not climbed on.

    In the zoo benchmark, gthread started at 68% of one gevent worker on the pure-wait app
    and in two runs of three ended above it (3×64 and 5×64); on the per-process-lock app
    gevent started at 34% of the best and its best on the whole grid was under a third.
    """
    top = max((climb_score(t) for t in trials.values()), default=0.0)
    lead = leader(trials.values(), fam)
    if lead is None:
        return False  # nothing scores yet: the climb walks down from the model's start
    return climb_score(lead) < TRAILING_FAMILY * top


def moved(trials: Trials, fam: str, current: Trial) -> bool:
    """Did the family's leader change by more than noise (CLIMB_STEP) since `current`?"""
    new = leader(trials.values(), fam)
    return new is not None and new is not current and (
        climb_score(new) > climb_score(current) * (1 + CLIMB_STEP)
    )


def promise(config: ServerConfig, sp: Space) -> float:
    """Little's law and the CPU bound, for ordering trials only (never for choosing)."""
    wall_s = max(sp.wall_ms, 0.001) / 1000
    bound = model.cpu_bound_or_zero(sp.machine.cpus, sp.cpu_ms) or math.inf
    return min(min(config.slots, 512) / wall_s, bound) - 0.001 * config.slots


# -- an ASGI app: uvicorn workers -------------------------------------------------------------

# Why App Service's default is not started for an ASGI app; "interface" is its trial's reason.
ASGI_DEFAULT_NOTE = "sync gunicorn cannot serve an ASGI app (every request fails); not started"


def asgi_baselines(cpus: int) -> list[tuple[str, str, ServerConfig]]:
    """(name, role, configuration) an ASGI pick is compared against: App Service's default
    (sync, which cannot serve it), Microsoft's FastAPI quickstart (`gunicorn -w 2 -k
    uvicorn.workers.UvicornWorker`, run with uvicorn-worker's identical class) and one worker."""
    return [
        ("App Service default", "app-service-default", ServerConfig(1, 1, "sync")),
        ("quickstart -w 2 -k uvicorn.workers.UvicornWorker", "quickstart",
         ServerConfig(2, 1, "uvicorn")),
        ("one uvicorn worker", "one-worker", ServerConfig(1, 1, "uvicorn")),
    ]  # fmt: skip


def asgi_start(
    profile: Profile, cpus: int, max_workers: int, fits: Callable[[ServerConfig], bool]
) -> ServerConfig:
    """One uvicorn worker per core, or, when one event loop serves few requests at once (a
    route that blocks it, a full thread pool), as many as Little's slots need at that limit."""
    limit = per_process_limit(profile)
    workers = max(1, cpus)
    if limit is not None and profile.cpu_ms > 0:
        slots = model.slots_at_load(cpus, profile.wall_ms, profile.cpu_ms, profile.process)
        workers = min(max_workers, max(workers, math.ceil(slots / limit)))
    while workers > 1 and not fits(ServerConfig(workers, 1, "uvicorn")):
        workers -= 1
    return ServerConfig(workers, 1, "uvicorn")


def asgi_opening(
    trials: Trials, sp: Space, start: ServerConfig
) -> Iterator[tuple[ServerConfig, str]]:
    """What every tune of an ASGI app measures before searching: the baselines that can run
    (App Service's default cannot, and is recorded unmeasured), then the model's start."""
    for _name, role, config in asgi_baselines(sp.machine.cpus):
        if role != "app-service-default":
            yield config, "baseline"
    yield start, "model"


def asgi_slots(profile: Profile) -> float:
    """Requests one uvicorn worker served at once on the profile's ladder (Little's law at its
    best step), so a trial's closed loop sends one client per such slot: a few at a loop that
    a route blocks, hundreds at one that awaits (Little's slots from the CPU per request at
    one client undercount those: one request alone costs several times its share under load)."""
    found = profile.process
    if found is None or found.worker_class != "uvicorn":
        return 0.0
    return max(found.limit, 1.0)
