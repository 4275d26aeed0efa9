"""A stalled upstream (`--stall FRACTION:SECONDS`): what it is, and the finalists under it.

The seed's app was slow because one slow call to an external API held its only slot while
everyone else waited. A developer's machine never shows that: the database is on localhost
and nothing upstream is slow. So tunicorn injects it: the app is wrapped in the worker
(`tunicorn.launch.stallwrap`, the user's code is not edited), the load engine marks an exact share
of requests with a header, and the wrapper makes those wait, the way a slow HTTP or database
call waits (the GIL released, gevent and asyncio yielding). The engine counts the stalled
requests apart from the others (`record.StalledStats`).

After the search, `check` runs the pick and the seed's two (App Service's 1×1 and the seed's
3×6) at one offered load, open loop, with the stall on; where the pick gives way, the other
finalists too (its rivals, the one with the most slots, the other baselines). A finalist *holds*
when the other requests keep p95 within the SLO with no error or timeout, stalled requests
included. The model that chose the default stall is `model.stall_holds` (docs/stalls.md,
"A stalled upstream").
"""

from __future__ import annotations

import dataclasses
import math
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from hdrh.histogram import HdrHistogram

from tunicorn import classes, model, settings
from tunicorn.app.target import Target
from tunicorn.decide import rank, search
from tunicorn.errors import ServerError, UsageError
from tunicorn.load.scenario import LoadSpec, Request
from tunicorn.record import (
    BenchResult,
    Latency,
    ServerConfig,
    StallCheck,
    StalledStats,
    StallRun,
    Trial,
    TuneResult,
)

# The offered load of the check, as a share of the pick's capacity, when --expected-rps is
# not given: an ordinary busy hour on a plan sized with room to spare. At half the capacity
# the others alone keep about half the slots busy (Little), so any stall tips a close fit over
# and the check says little beyond "more slots"; a quarter leaves the stall to decide.
LOAD_SHARE = settings.STALL_LOAD.default
WINDOW_MIN_S = 4.0  # each finalist's measured window, at least …
WINDOW_STALLS = 2.0  # … and this many stall lengths, so stalls start and end inside it
WINDOW_STALLED_MIN = 5  # … and long enough for this many stalled requests on average
WINDOW_MAX_S = 30.0  # … and at most this (the check counts in the budget)
START_S = 3.0  # a server's start and stop, for the budget
RIVALS = 2  # the pick's rivals (its ties, then the next by capacity) that run too
# The seed's story, run after the pick whatever happens: App Service's 1×1 (and a
# quickstart's default) gives way, its fix 3×6 holds. The other finalists run only where
# the pick gave way, to find one that holds.
SEED_ROLES = frozenset({"pick", "app-service-default", "seed-3x6", "quickstart"})
CLIENTS_MIN = 64  # open-loop connections at least (each stalled request holds one)
CLIENTS_MAX = 1024

_SPEC = re.compile(
    r"^\s*(?P<share>\d+(?:\.\d+)?)\s*(?P<pct>%?)\s*:\s*(?P<secs>\d+(?:\.\d+)?)\s*(?P<unit>ms|s)?\s*$"
)


@dataclasses.dataclass(frozen=True)
class Stall:
    """`share` of requests wait `seconds` inside the app."""

    share: float
    seconds: float

    @property
    def text(self) -> str:
        return f"{self.share * 100:g}%:{self.seconds:g}s"

    def words(self) -> str:
        return f"{self.share * 100:g}% of requests waiting {self.seconds:g} s on an upstream"


def parse(text: str) -> Stall:
    """`2%:5s`, `0.02:5`, `5%:500ms` → Stall; anything else is one sentence and exit 2."""
    match = _SPEC.match(text or "")
    if not match:
        raise UsageError(
            f"--stall {text!r} is not FRACTION:SECONDS: give the share of requests and how long "
            "each waits, e.g. --stall 5%:2s (or 0.05:2s, 2%:500ms)."
        )
    share = float(match["share"]) / (100 if match["pct"] else 1)
    seconds = float(match["secs"]) / (1000 if match["unit"] == "ms" else 1)
    if not 0 < share <= 1:
        raise UsageError(
            f"--stall {text!r}: the share must be above 0 and at most 100% (e.g. 5% or 0.05)."
        )
    if not 0 < seconds <= 300:
        raise UsageError(
            f"--stall {text!r}: the wait must be above 0 and at most 300 s (e.g. 2s or 500ms)."
        )
    return Stall(share, seconds)


DEFAULT = parse(settings.STALL.default)


def wrapped(target: Target) -> Target:
    """The target as gunicorn runs it with a stall: `tunicorn.launch.stallwrap`'s factory, called
    with the user's app spec, in place of the app (ASGI apps get the asyncio wrapper)."""
    factory = "asgi" if target.is_asgi else "wsgi"
    return dataclasses.replace(target, app=f"tunicorn.launch.stallwrap:{factory}({target.app!r})")


def load_spec(spec: LoadSpec, stall: Stall | None) -> LoadSpec:
    """`spec` with the stall's share of requests marked (unchanged without one)."""
    if stall is None:
        return spec
    return dataclasses.replace(spec, stall_share=stall.share, stall_s=stall.seconds)


# -- the check's shape ------------------------------------------------------------------------


def window_s(stall: Stall, rate_rps: float) -> float:
    """Each finalist's measured window: several stalls long, enough stalled requests."""
    enough = WINDOW_STALLED_MIN / (rate_rps * stall.share) if rate_rps > 0 else WINDOW_MAX_S
    return round(min(WINDOW_MAX_S, max(WINDOW_MIN_S, WINDOW_STALLS * stall.seconds, enough)), 1)


# The pick, App Service's 1×1 and the seed's 3×6 (where one gives way and the other holds is
# the check's story); the rest run while the budget lasts. The derived budget pays for them,
# and settling does not spend their room (tune.Budget.room).
RESERVED_FINALISTS = 3


def reserve_s(stall: Stall) -> float:
    """What the search leaves in the budget for the check: two finalists at the shortest
    window (more run while the budget lasts; the one under way when it ends finishes)."""
    return RESERVED_FINALISTS * (
        stall.seconds + max(WINDOW_MIN_S, WINDOW_STALLS * stall.seconds) + START_S
    )


def clients(stall: Stall, rate_rps: float) -> int:
    """Open-loop connections: each stalled request holds one for its wait (Little), and
    the others need a few; the rest queue in the client, timed from when they were due."""
    need = rate_rps * (stall.share * stall.seconds + 1.0) * 4
    return int(min(CLIENTS_MAX, max(CLIENTS_MIN, math.ceil(need))))


def rate(pick: Trial, expected_rps: float | None) -> tuple[float, str]:
    """The check's offered load, and how it was chosen, in words."""
    if expected_rps:
        return round(expected_rps, 1), "the expected load, --expected-rps"
    return (
        round(LOAD_SHARE * pick.capacity_rps, 1),
        f"{LOAD_SHARE:.0%} of the pick's {pick.capacity_rps:.0f} req/s capacity",
    )


def finalists(result: TuneResult) -> list[tuple[str, Trial]]:
    """(role, trial) that run under the stall, in the order they run (the budget may stop
    the later ones): the pick, the seed's two (App Service's 1×1 and its fix, 3×6), the
    pick's rivals by capacity, the measured trial with the most slots, the other baselines."""
    pick = result.pick
    if pick is None:
        return []
    out: list[tuple[str, Trial]] = [("pick", pick)]
    seen = {pick.key}
    roles = {b.trial: b.role for b in result.baselines}  # a baseline is named as one

    def add(role: str, trial: Trial | None) -> None:
        if trial is not None and trial.key not in seen and trial.feasible and trial.server:
            seen.add(trial.key)
            out.append((roles.get(trial.key, role), trial))

    rules = result.constraints.rules
    for b in result.baselines:
        if b.role in SEED_ROLES:
            add(b.role, result.trial(b.trial))
    rivals = sorted(
        (t for t in result.trials if rank.eligible(t, rules) and t.key != pick.key),
        key=lambda t: -t.capacity_rps,
    )
    for trial in rivals[:RIVALS]:
        add("rival", trial)
    usable = [t for t in result.trials if rank.eligible(t, rules)]
    if usable:
        add("most-slots", max(usable, key=lambda t: (t.config.slots, t.capacity_rps)))
    for b in result.baselines:
        add(b.role, result.trial(b.trial))
    return out


# -- one finalist's verdict (pure) ------------------------------------------------------------


def within(histogram: str, limit_ms: float) -> float:
    """The share of a run's recorded latencies (base64 HDR, µs) at or under `limit_ms`."""
    if not histogram:
        return 0.0
    hist = HdrHistogram.decode(histogram)
    total = hist.get_total_count()
    if not total:
        return 0.0
    limit_us = limit_ms * 1000
    under = 0
    for item in hist.get_recorded_iterator():
        if item.value_iterated_to <= limit_us:
            under += item.count_at_value_iterated_to
    return float(under) / float(total)


def verdict(bench: BenchResult, slo_p95_ms: float) -> tuple[bool, str]:
    """Does a finalist hold: the others' p95 within the SLO, no error or timeout (the
    stalled requests' included), and stalled requests seen in the window at all."""
    stalled = bench.stalled or StalledStats(share=0.0, stall_s=0.0)
    errors = dict(bench.errors_by_kind)
    for kind, n in stalled.errors_by_kind.items():
        errors[kind] = errors.get(kind, 0) + n
    bad = {k: v for k, v in errors.items() if v}
    if bad:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(bad.items()))
        return False, f"errors ({kinds})"
    if bench.requests == 0:
        return False, "no other request was answered in the window"
    if bench.latency_ms.p95 > slo_p95_ms:
        return False, f"others' p95 {bench.latency_ms.p95:,.0f} ms > {slo_p95_ms:.0f} ms"
    if stalled.requests == 0:
        return False, "no stalled request ended in the window, so the stall was not seen"
    return True, ""


def pools(config: ServerConfig) -> int:
    """The stall model's pools of slots: each gthread worker's threads are their own (it
    accepts connections whether or not a thread is free); other workers share one."""
    return config.workers if config.worker_class == "gthread" else 1


def model_holds(config: ServerConfig, stall: Stall, rate_rps: float, service_s: float) -> bool:
    """What the stall model says of `config` at `rate_rps`."""
    return model.stall_holds(
        config.slots, rate_rps, stall.share, stall.seconds, service_s, pools(config)
    )


def gives_way(config: ServerConfig, stall: Stall, service_s: float) -> float | None:
    """Where the model says `config` gives way under `stall`, to 0.1 req/s (None: never)."""
    edge = model.stall_gives_way_rps(
        config.slots, stall.share, stall.seconds, service_s, pools(config)
    )
    return round(edge, 1) if math.isfinite(edge) else None


def stall_run(
    role: str,
    trial: Trial,
    bench: BenchResult,
    stall: Stall,
    rate_rps: float,
    slo_p95_ms: float,
    service_s: float,
) -> StallRun:
    holds, reason = verdict(bench, slo_p95_ms)
    config = trial.config
    return StallRun(
        config=config,
        role=role,
        trial=trial.key,
        holds=holds,
        reason=reason,
        rate_rps=rate_rps,
        throughput_rps=bench.throughput_rps,
        requests=bench.requests,
        errors=bench.errors + (bench.stalled.errors if bench.stalled else 0),
        latency_ms=bench.latency_ms,
        within_slo=round(within(bench.histogram, slo_p95_ms), 4),
        stalled=bench.stalled or StalledStats(share=stall.share, stall_s=stall.seconds),
        model_holds=model_holds(config, stall, rate_rps, service_s),
        gives_way_rps=gives_way(config, stall, service_s),
        histogram=bench.histogram,
        rate_missed=bench.rate_missed,
    )


def failed_run(
    role: str, trial: Trial, stall: Stall, rate_rps: float, service_s: float, why: str
) -> StallRun:
    """A finalist whose server stopped under the stall: it does not hold."""
    config = trial.config
    return StallRun(
        config=config, role=role, trial=trial.key, holds=False, reason=why,
        rate_rps=rate_rps, throughput_rps=0.0, requests=0, errors=0, latency_ms=Latency(),
        within_slo=0.0, stalled=StalledStats(share=stall.share, stall_s=stall.seconds),
        model_holds=model_holds(config, stall, rate_rps, service_s),
        gives_way_rps=gives_way(config, stall, service_s),
    )  # fmt: skip


# A finalist whose trial served well under the check's offered load cannot keep up with it,
# stall or not: an open loop above a server's throughput queues without end, so the others'
# p95 passes any SLO within the window. It is not run (the run would only confirm that, at a
# finalist's cost: about 7 s with the default stall). Twice the most it served, so a machine
# faster at the check than during the trial still could not carry the load.
OVERLOAD = 2.0


def overloaded(trial: Trial, rate_rps: float) -> str:
    """Why `trial` need not run at `rate_rps` (it served less than half of it), or ""."""
    most = max(trial.throughput_rps, trial.capacity_rps, trial.capacity_ci[1])
    if most <= 0 or rate_rps < OVERLOAD * most:
        return ""
    return (
        f"not run: {rate_rps:g} req/s is over {OVERLOAD:g}× the most it served in its trial "
        f"({most:,.1f} req/s), so its queue grows without end, stall or not"
    )


# -- the check ------------------------------------------------------------------------------

# Runs one finalist's server with the stall at the offered load: (config, spec) → bench.
RunOne = Callable[[ServerConfig, LoadSpec], BenchResult]


def server_runner(
    target: Target,
    cpus: int,
    *,
    log_dir: str | Path | None = None,
    stop: threading.Event | None = None,
) -> RunOne:
    """Each finalist on a real server (gunicorn with the app wrapped), pinned like a trial."""
    from tunicorn.run.measure import measure

    served = wrapped(target)

    def run(config: ServerConfig, spec: LoadSpec) -> BenchResult:
        return measure(
            served, config, spec, cpus=cpus, log_dir=log_dir, stop=stop, background_stop=True
        )

    return run


def spec_for(check: StallCheck, requests: Sequence[Request], keepalive: bool) -> LoadSpec:
    """The open loop every finalist of `check` runs: its rate, its window, the stall on."""
    stall = Stall(check.share, check.stall_s)
    return LoadSpec(
        url="", requests=tuple(requests), concurrency=clients(stall, check.rate_rps),
        rate=check.rate_rps, duration_s=check.duration_s, warmup_s=stall.seconds,
        timeout_s=max(30.0, 4 * stall.seconds), keepalive=keepalive, stall_share=stall.share,
        stall_s=stall.seconds,
    )  # fmt: skip


def run_one(check: StallCheck, role: str, trial: Trial, spec: LoadSpec, run: RunOne) -> StallRun:
    """One finalist under the check's stall and load; a server that stops does not hold."""
    stall = Stall(check.share, check.stall_s)
    service_s = check.service_ms / 1000
    try:
        bench = run(trial.config, spec)
    except ServerError as exc:
        return failed_run(role, trial, stall, check.rate_rps, service_s, str(exc))
    return stall_run(role, trial, bench, stall, check.rate_rps, check.slo_p95_ms, service_s)


def check(
    result: TuneResult,
    stall: Stall,
    requests: Sequence[Request],
    run: RunOne,
    *,
    expected_rps: float | None = None,
    keepalive: bool = False,
    say: Callable[[str], None] = lambda message: None,
    go: Callable[[bool], bool] = lambda looking: True,
) -> StallCheck:
    """Each finalist at one offered load with the stall on; whether each holds. The pick runs
    first. Where it holds, the seed's two follow (their part of the story) and nothing else.
    Where it gives way, the others run until one holds, those the model holds at this load
    first, then the seed's two that have not run. `go(looking)` is asked before each (the
    budget, a Ctrl-C; `looking`: no finalist has held yet, so a derived budget may stretch);
    the pick is chosen afterwards (`recommend.under_stall`)."""
    slo = result.constraints.slo_p95_ms or 0.0
    pick = result.pick
    if pick is None:
        return StallCheck(
            share=stall.share, stall_s=stall.seconds, rate_rps=0.0, rate_basis="",
            slo_p95_ms=slo, duration_s=0.0, skipped="no configuration was picked",
        )  # fmt: skip
    rate_rps, basis = rate(pick, expected_rps)
    service_s = (result.profile.wall_ms if result.profile else 0.0) / 1000
    done = StallCheck(
        share=stall.share, stall_s=stall.seconds, rate_rps=rate_rps, rate_basis=basis,
        slo_p95_ms=slo, duration_s=window_s(stall, rate_rps), first=pick.key, picked=pick.key,
        service_ms=round(service_s * 1000, 3),
    )  # fmt: skip
    spec = spec_for(done, requests, keepalive)
    runs: list[StallRun] = []

    def one(role: str, trial: Trial) -> None:
        over = overloaded(trial, rate_rps)
        if over:
            say(f"under a stall, at {rate_rps:g} req/s: {trial.config.label} gives way, {over}")
            runs.append(failed_run(role, trial, stall, rate_rps, service_s, over))
            return
        say(f"under a stall ({stall.words()}), at {rate_rps:g} req/s: {trial.config.label}")
        runs.append(run_one(done, role, trial, spec, run))

    first, *rest = finalists(result)
    if go(True):
        one(*first)
    if runs and not runs[0].holds:
        # Those the model holds at this load first (sorted() is stable: otherwise in order).
        hopeful = sorted(rest, key=lambda rt: not model_holds(rt[1].config, stall, rate_rps,
                                                              service_s))  # fmt: skip
        for role, trial in hopeful:
            if any(r.holds for r in runs) or not go(True):
                break
            why = outdone(trial.config, runs, stall, rate_rps, service_s)
            if role not in SEED_ROLES and why:
                say(f"not under the stall: {why}")
                continue
            one(role, trial)
    ran = {r.trial for r in runs}
    for role, trial in rest:  # the seed's two, for their part of the story
        if role in SEED_ROLES and trial.key not in ran and runs and go(False):
            one(role, trial)
    skipped = "" if runs else "the budget ran out before it"
    return dataclasses.replace(done, runs=tuple(runs), skipped=skipped)


def outdone(
    config: ServerConfig, runs: Sequence[StallRun], stall: Stall, rate_rps: float, service_s: float
) -> str:
    """Why a finalist need not run under the stall (its time goes to a shape that may hold):
    a finalist with at least its slots gave way, and the model says it gives way too; ""
    where it should run."""
    gave = next((r for r in runs if not r.holds and r.config.slots >= config.slots), None)
    if gave is None or model_holds(config, stall, rate_rps, service_s):
        return ""
    edge = gives_way(config, stall, service_s)
    return (
        f"{config.label} has no more slots than {gave.config.label}, which gave way, and the "
        f"model gives way at {edge:g} req/s"
    )


def extended(
    check: StallCheck,
    trial: Trial,
    requests: Sequence[Request],
    run: RunOne,
    *,
    keepalive: bool = False,
) -> StallCheck:
    """`check` with one more finalist (`wider`'s, measured after none held) under the same
    stall and load."""
    spec = spec_for(check, requests, keepalive)
    return dataclasses.replace(
        check, runs=(*check.runs, run_one(check, "more-slots", trial, spec, run))
    )


SLOTS_MAX = 1 << 20  # the search for the slots the model needs stops here


def _fewest(holds: Callable[[int], bool]) -> int:
    """The fewest n ≥ 1 for which `holds(n)` (more only help: doubling, then bisection)."""
    low, high = 0, 1
    while not holds(high):
        if high >= SLOTS_MAX:
            return SLOTS_MAX
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        if holds(mid):
            high = mid
        else:
            low = mid
    return high


def slots_needed(check: StallCheck) -> int:
    """The fewest slots the model holds at the check's load and stall, in one pool (sync
    workers, or one gthread worker's threads): no shape holds with fewer."""
    return threads_needed(check, 1)


def threads_needed(check: StallCheck, workers: int) -> int:
    """The fewest threads per gthread worker for which `workers` of them hold in the model
    (each worker's threads are their own pool, taking 1/workers of the load)."""
    return _fewest(
        lambda threads: model.stall_holds(
            workers * threads, check.rate_rps, check.share, check.stall_s,
            check.service_ms / 1000, workers,
        )  # fmt: skip
    )


# Measured, gthread workers gave way short of the model (a fast page's 3×16, which the model
# holds; 2×24 held): the shape tried gets half as many threads again as the model asks for.
WIDER_MARGIN = 1.5


def wider(
    check: StallCheck,
    pick: ServerConfig,
    fits: Callable[[ServerConfig], bool],
    max_threads: int,
    cpus: int = 1,
    threads_ok: bool = True,
) -> list[ServerConfig]:
    """Where no finalist held: gthread shapes with the threads the model asks for and a
    margin, within memory and the thread cap, in the order to try them; none that has no more
    slots than every finalist had.

    Fewest workers first (one per core, at least two, no more than the pick's): each gthread
    worker's threads are their own pool, so the same slots in fewer, larger processes absorb
    more stalls. Then the pick's own workers. Where threads broke the app (`threads_ok`
    false), sync workers enough for the model's slots and the margin, in one accept queue."""
    if classes.event_loop(pick.worker_class):
        return []
    most = max((r.config.slots for r in check.runs), default=0)
    if not threads_ok:
        processes = max(math.ceil(slots_needed(check) * WIDER_MARGIN), most + 1)
        config = ServerConfig(processes, 1, "sync")
        return [config] if fits(config) else []
    out: list[ServerConfig] = []
    for workers in dict.fromkeys((min(pick.workers, max(2, cpus)), pick.workers)):
        want = max(math.ceil(threads_needed(check, workers) * WIDER_MARGIN), most // workers + 1)
        if want <= search.THREAD_LADDER[-1]:
            # Up to a power of two (on the search's ladder): the need follows the check's load,
            # a share of a capacity that moves with the machine's speed between runs (a fast
            # page asked 2×48 in one tune and 2×64 in the next); a coarse step keeps one shape.
            want = 1 << (want - 1).bit_length()
        threads = min(max_threads, want)
        config = ServerConfig(workers, threads, classes.class_for_threads(threads))
        if config.slots > most and fits(config):
            out.append(config)
    return out


def holding(check: StallCheck) -> list[str]:
    """The trial keys of the finalists that held."""
    return [r.trial for r in check.runs if r.holds]


def none_holds_note(check: StallCheck, slots_now: Iterable[int], threads_ok: bool = True) -> str:
    """Where no finalist holds: what would, from the model (slots), and the other ways out
    (not threads or gevent where threads broke the app)."""
    need = slots_needed(check)
    most = max(slots_now, default=0)
    more = (
        f"at least {need} slots for the others to get through (the finalists had at most {most})"
        if need > most
        else f"{need} slots, which some finalists had: measured, they still gave way (a gthread "
        "worker queues new connections behind its own stalled threads), so more than that"
    )
    return (
        f"No finalist held under the stall: at {check.rate_rps:g} req/s about "
        f"{model.stalled_in_flight(check.rate_rps, check.share, check.stall_s):.1f} requests "
        f"are stalled at once, and the model needs {more}. "
        + (
            "More threads or workers, the gevent worker (a stalled call then costs no slot), "
            if threads_ok
            else "More sync workers (threads and greenlets broke this app under load), "
        )
        + "or a timeout on the upstream call shorter than the SLO would hold."
    )
