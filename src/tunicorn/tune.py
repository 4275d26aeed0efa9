"""Tune: profile, measure the baselines, search the lattice, and pick by measured capacity.

Capacity of a configuration (DESIGN.md, "Definitions") is the highest request rate it
sustains with p95 within the SLO and no errors. Each trial finds it in two phases on one
server: a closed loop with one client per slot shows the most it can do (saturation),
then an open loop at a share of that rate checks the SLO with requests arriving on their
own schedule, as real users do; the first rate that passes is the capacity.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from tunicorn import model, search
from tunicorn.errors import ServerError, UsageError
from tunicorn.launch import Server
from tunicorn.load import LoadSpec, Request, run_load
from tunicorn.measure import load_warnings, pinned, sampled_load, split_cores, to_bench
from tunicorn.model import predict_pss
from tunicorn.profile import profile as run_profile
from tunicorn.record import (
    Baseline,
    ClientStats,
    Constraints,
    Latency,
    LoadResult,
    ModelFigures,
    Profile,
    Recommendation,
    ServerConfig,
    ServerStats,
    Tick,
    Trial,
    TuneResult,
)
from tunicorn.target import Target

if TYPE_CHECKING:
    from tunicorn.emit import EmitSpec

VERIFY_SHARES = (0.85, 0.6, 0.35)
RUNOFF_BAND = 0.06  # while a rival is within 6% of the pick, the pick is measured once more
RUNOFF_MAX = 3
FINAL_RUNS = 3  # a pick and a rival single runs cannot separate stand on the median of 3
TRAILING_FAMILY = 0.4  # a family under 40% of the best score stops climbing
CLIMB_STEP = 0.02  # the climb moves only for a gain over 2%: a flat plateau is not walked
MAX_WORKERS_PER_CORE = 8  # the search's ceiling on workers; memory usually binds first


@dataclasses.dataclass(frozen=True)
class TuneSettings:
    cpus: int
    memory_mib: float
    slo_p95_ms: float | None = None  # None: derived from the profile
    budget_s: float = 150.0
    plan: str = ""
    warmup_s: float = 1.0
    saturate_s: float = 3.0
    verify_s: float = 3.0
    max_threads: int = 64
    gevent: bool | None = None  # None: when installed and the app waits more than it computes
    keepalive: bool = False  # False: a new connection per request, like many separate users
    prune: bool = True  # skip the SLO check of a trial whose peak cannot reach the best so far
    runoff: bool = True  # re-measure the pick while a rival is close, and keep the mean


@dataclasses.dataclass
class TuneEvents:
    """What the CLI subscribes to; the tuner itself never prints."""

    say: Callable[[str], None] = lambda message: None
    trial_start: Callable[[ServerConfig, str, int], None] = lambda config, source, n: None
    trial_done: Callable[[Trial], None] = lambda trial: None
    tick: Callable[[Tick], None] | None = None


def default_slo(profile: Profile) -> float:
    """2.5 × the p95 of one user alone, at least 100 ms: 'no slower than 2.5× unloaded'."""
    return float(max(100.0, round(2.5 * profile.p95_ms / 10.0) * 10.0))


def gevent_available() -> bool:
    return importlib.util.find_spec("gevent") is not None


class Tuner:
    def __init__(
        self,
        target: Target,
        requests: tuple[Request, ...],
        settings: TuneSettings,
        *,
        events: TuneEvents | None = None,
        log_dir: str | Path | None = None,
        stop: threading.Event | None = None,
        profile: Profile | None = None,
    ) -> None:
        self.target = target
        self.requests = requests
        self.settings = settings
        self.events = events or TuneEvents()
        self.log_dir = log_dir
        self.stop = stop
        self.profile = profile
        self.trials: dict[tuple[int, int, str], Trial] = {}
        self.cores = split_cores(settings.cpus)
        self.server_cores = len(self.cores.server) or settings.cpus  # for "the CPU is busy"
        self.started = 0.0
        self.slo = settings.slo_p95_ms or 0.0
        self.budget_mib = model.memory_budget_mib(settings.memory_mib)
        self._in_runoff = False
        self._runs: dict[tuple[int, int, str], list[Trial]] = {}  # configurations measured again
        self._started_trials = 0
        self._fixed_s = 0.0
        self._starved = False  # the budget ran out before the search could start
        self._settled: tuple[int, int, str] | None = None  # a pick a final settled
        self._settled_note = ""

    # -- the run -------------------------------------------------------------------------------

    def run(self) -> TuneResult:
        self.started = time.monotonic()
        if self.profile is None:
            self.events.say(
                "profiling the app (CPU vs waiting per route, memory per worker/thread)"
            )
            self.profile = run_profile(
                self.target, self.requests, cpus=self.settings.cpus, log_dir=self.log_dir,
                say=self.events.say, keepalive=self.settings.keepalive,
            )  # fmt: skip
        prof = self.profile
        self.slo = self.settings.slo_p95_ms or default_slo(prof)
        cpus = self.settings.cpus

        named = search.baselines(cpus)
        for _name, config in named:
            self.measure(config, "baseline")

        fits = self.fits
        start = search.model_start(prof, cpus, fits)
        self.measure(start, "model")
        if self._try_gevent(prof) and self._worth(ServerConfig(cpus, 1, "gevent")):
            self.measure(ServerConfig(cpus, 1, "gevent"), "model")
        self._fixed_s = time.monotonic() - self.started  # what every run spends before searching
        self._starved = self._out_of_time() and not (self.stop is not None and self.stop.is_set())

        # Memory (fits) and the climb bound workers: a step up is taken only while it beats the
        # best, so a wide cap costs trials only on apps that keep scaling with processes (a
        # per-process lock or pool, code that is unsafe under threads).
        max_workers = max(2 * cpus + 2, cpus + 3, MAX_WORKERS_PER_CORE * cpus)
        max_threads = self.settings.max_threads
        # Each family (processes × threads, gevent) climbs from its own leader: a family that
        # starts behind may still overtake (many workers × many threads can outrun gevent).
        families = sorted({search.family(t.config) for t in self.trials.values()})
        came_from: dict[str, ServerConfig] = {}  # where each family's last paying step started
        climbing = set(families)
        if self._compute_bound():
            # One request per core keeps every core busy: more slots cannot add capacity, and
            # what is left to settle (one request per core, or a baseline's lucky run) is the
            # final's job.
            self.events.say(
                "one request per core already keeps the CPU busy: more slots cannot add "
                "capacity, so there is nothing to climb"
            )
            climbing.clear()
        while climbing and not self._out_of_time():
            for fam in families:
                if fam in climbing and (
                    self._far_behind(fam)
                    or not self._climb(fam, start, came_from, max_workers, max_threads)
                ):
                    climbing.discard(fam)
        if self.settings.runoff:
            self._contest()
            self._runoff()
        return self._result(named)

    def _climb(
        self,
        fam: str,
        start: ServerConfig,
        came_from: dict[str, ServerConfig],
        max_workers: int,
        max_threads: int,
    ) -> bool:
        """One step of one family's hill-climb; False when it has nowhere better to go."""
        current = search.leader(self.trials.values(), fam)
        before = came_from.get(fam)
        # A leader that keeps the CPU busy gains nothing from more slots (they only queue
        # requests for the same cores): its family steps only to as many slots or fewer.
        ceiling = (
            current.config.slots
            if current is not None and search.cpu_bound(current, self.server_cores)
            else math.inf
        )
        if current is not None and before is not None:
            # The last step paid off: try one twice as long in the same direction first.
            jump = search.extend(before, current.config, max_workers, max_threads)
            if (
                jump is not None and jump.slots <= ceiling and search.key(jump) not in self.trials
                and self.fits(jump) and self._worth(jump)
            ):  # fmt: skip
                self.measure(jump, "search")
                if self._moved(fam, current):
                    came_from[fam] = current.config
                    return True
        if current is None and fam != search.family(start):
            return False
        # With nothing scoring yet, walk down from the model's start towards fewer slots.
        around = start if current is None else current.config
        candidates = search.neighbours(around, max_workers, max_threads)
        fresh = [
            c for c in candidates
            if c.slots <= ceiling and search.key(c) not in self.trials and self._worth(c)
        ]  # fmt: skip
        if not fresh:
            return False  # every neighbour is measured: more trials cannot move this family
        fresh.sort(key=lambda c: -self._promise(c))
        for config in fresh:
            if self._out_of_time():
                return False
            self.measure(config, "search")
        if current is not None and not self._moved(fam, current):
            return False
        if current is not None:
            came_from[fam] = current.config
        return True

    def _worth(self, config: ServerConfig) -> bool:
        """False for a candidate with threads or greenlets once two such trials have broken the
        app (it answered 5xx under load) and none has passed: the app is not safe with two
        requests in one process, so the search stays with one request per process."""
        if config.threads == 1 and config.worker_class != "gevent":
            return True
        shared = [t for t in self.trials.values() if t.config.slots > t.config.workers]
        broke = [t for t in shared if t.reason == "errors" and _server_errors(t)]
        return len(broke) < 2 or any(t.feasible or t.reason == "slower" for t in shared)

    def _far_behind(self, fam: str) -> bool:
        """A family whose leader is under TRAILING_FAMILY of the best score is not climbed on.

        In the zoo benchmark, gthread started at 68% of one gevent worker on the pure-wait app
        and in two runs of three ended above it (3×64 and 5×64); on the per-process-lock app
        gevent started at 34% of the best and its best on the whole grid was under a third.
        """
        top = max((search.climb_score(t) for t in self.trials.values()), default=0.0)
        lead = search.leader(self.trials.values(), fam)
        if lead is None:
            return False  # nothing scores yet: the climb walks down from the model's start
        return search.climb_score(lead) < TRAILING_FAMILY * top

    def _moved(self, fam: str, current: Trial) -> bool:
        """Did the family's leader change by more than noise (CLIMB_STEP) since `current`?"""
        new = search.leader(self.trials.values(), fam)
        return new is not None and new is not current and (
            search.climb_score(new) > search.climb_score(current) * (1 + CLIMB_STEP)
        )

    def _runoff(self) -> None:
        """Measure the pick once more while a rival is close, and keep the mean of the runs.

        One trial's capacity moves by several percent between runs on a shared machine, so
        a pick made on single runs among near-equals can be one lucky run. While the pick
        rests on one run and another trial is within RUNOFF_BAND of it, the pick is measured
        again on a fresh server and its mean replaces it; if the mean drops it, the next pick
        gets the same treatment (at most RUNOFF_MAX times).
        """
        if self._settled is not None:
            return
        for _ in range(RUNOFF_MAX):
            pick = search.best(self.trials.values(), self.server_cores)
            if pick is None or self._key_of(pick) in self._runs:
                return
            band = pick.capacity_rps * (1 - RUNOFF_BAND)
            rivals = [
                t for t in self.trials.values()
                if t is not pick and t.feasible and t.capacity_rps >= band
            ]  # fmt: skip
            if not rivals or self._out_of_time(runoff=True):
                return
            self.events.say(
                f"runoff: {pick.config.label} once more ({len(rivals)} rival(s) within "
                f"{RUNOFF_BAND:.0%})"
            )
            self._again(self._key_of(pick))

    def _contest(self) -> None:
        """Settle the pick against a rival that single runs cannot separate from it.

        Single runs of one configuration differ by a third on a shared host, whose speed
        drifts over tens of seconds (the demo's /cpu on 1×1 sync measured 72 and 112 req/s
        minutes apart). Two kinds of rival deserve more than one run (one final per tune):

        - one sync worker per core, when it and the pick both keep the CPU busy: more slots
          only queue more requests for the same CPU, so a lead over it is likely one run
          (when it is the pick, its strongest CPU-busy challenger gets the final instead);
        - a trial whose first SLO check, at 85% of its peak, would have beaten the pick but
          failed: at the knee one 2-second check passes or fails by chance (on the zoo's
          mixed app, one gevent worker once measured 225 req/s, against 342 on the grid).

        The pick and the rival are measured again, alternately, until each stands on the
        median of FINAL_RUNS runs; the usual tie rule then decides between them. A final that
        does not fit in the budget is not started: half of one would favour one side.
        """
        pick = search.best(self.trials.values(), self.server_cores)
        if pick is None:
            return
        found = self._rival(pick)
        if found is None:
            return
        rival_key, why = found
        pick_key, rival = self._key_of(pick), self.trials[rival_key]
        compute_bound = self._compute_bound()  # decided on the first runs, before the final
        need = sum(FINAL_RUNS - self._runs_of(k) for k in (rival_key, pick_key))
        if self._out_of_time(runoff=True, trials=need):
            self.events.say(
                f"no time left for a final between {pick.config.label} and {rival.config.label} "
                f"({need} more runs)"
            )
            return
        self.events.say(
            f"final: {rival.config.label} ({why}) against {pick.config.label}, measured "
            f"alternately until each has {FINAL_RUNS} runs"
        )
        while not (self.stop is not None and self.stop.is_set()):
            pending = [k for k in (rival_key, pick_key) if self._runs_of(k) < FINAL_RUNS]
            if not pending:
                break
            for k in pending:
                if not self._again(k).feasible:
                    return  # a run that fails rules the configuration out: nothing to settle
        else:
            return  # stopped (Ctrl-C): the final is not complete
        simple_key = self._simple_key()
        if simple_key in (rival_key, pick_key) and compute_bound:
            other = pick_key if rival_key == simple_key else rival_key
            self._settle_compute_bound(simple_key, other)

    def _settle_compute_bound(
        self, simple_key: tuple[int, int, str], other_key: tuple[int, int, str]
    ) -> None:
        """More slots on a busy CPU must beat one request per core in every run to be picked.

        With the cores already busy, more slots cannot add capacity, so a lead of a few percent
        between medians is the host's drift, not the configuration (the demo's /cpu: medians of
        75 against 73 req/s from runs spread over 69-91). Only if every run of the other beat
        every run of one request per core (by chance one time in 20 with three runs each) is
        it picked; otherwise one request per core is, as the tie rule would for a tie.
        """
        simple, other = self.trials[simple_key], self.trials[other_key]
        if not (simple.feasible and other.feasible):
            return
        mine = [t.capacity_rps for t in self._runs[simple_key]]
        theirs = [t.capacity_rps for t in self._runs[other_key]]
        if min(theirs) > max(mine):
            return  # a clear win: the pick stands on its measurements
        self._settled = simple_key
        low, high = min(mine + theirs), max(mine + theirs)
        above = [
            t for k, t in self.trials.items()
            if k not in (simple_key, other_key) and t.feasible
            and t.capacity_rps > simple.capacity_rps
        ]  # fmt: skip
        self._settled_note = (
            f"One request per core ({simple.config.label}) kept the CPU busy, so more slots could "
            f"not add capacity; {other.config.label} did not beat it in every one of "
            f"{len(theirs)} runs (its {', '.join(f'{c:.0f}' for c in theirs)} against "
            f"{', '.join(f'{c:.0f}' for c in mine)} req/s), so the pick is one request per core. "
            f"Runs of one configuration spread over {low:.0f}-{high:.0f} req/s here"
            + (
                "; above the pick, "
                + ", ".join(f"{t.config.label} ({t.capacity_rps:.0f})" for t in above)
                + f" {'was' if len(above) == 1 else 'were'} measured once."
                if above
                else "."
            )
        )
        self.events.say(self._settled_note)

    def _simple_key(self) -> tuple[int, int, str]:
        """One sync worker per core: the answer for a compute-bound app."""
        return search.key(ServerConfig(self.settings.cpus, 1, "sync"))

    def _compute_bound(self) -> bool:
        """Did one sync worker per core, measured and usable, keep the cores busy?"""
        simple = self.trials.get(self._simple_key())
        return (
            simple is not None and simple.feasible and search.cpu_bound(simple, self.server_cores)
        )

    def _rival(self, pick: Trial) -> tuple[tuple[int, int, str], str] | None:
        """The trial a final should settle the pick against, and why; None when there is none."""
        cores = self.server_cores
        simple_key = self._simple_key()
        if self._compute_bound() and search.cpu_bound(pick, cores):
            if self.trials[simple_key] is not pick:
                return simple_key, "one request per core already keeps the CPU busy"
            # The pick is one request per core: its strongest challenger gets the final.
            others = [
                (k, t) for k, t in self.trials.items()
                if t is not pick and t.feasible and search.cpu_bound(t, cores)
            ]  # fmt: skip
            if others:
                k, _ = max(others, key=lambda kt: kt[1].capacity_rps)
                return k, "the strongest challenger to one request per core"
        # A near miss measured in full. One stopped as "slower" after its 85% check failed is
        # left alone: in the zoo (run G) such a final cost the pure-wait app 5 runs, 40 s, and
        # the pick stayed the same (a stopped trial needs three new full runs).
        near = [
            (k, t) for k, t in self.trials.items()
            if t is not pick and t.feasible
            and t.capacity_rps < pick.capacity_rps * (1 - RUNOFF_BAND)
            and VERIFY_SHARES[0] * t.throughput_rps >= pick.capacity_rps
        ]  # fmt: skip
        if not near:
            return None
        k, _ = max(near, key=lambda kt: kt[1].throughput_rps)
        return k, "its first SLO check, at 85% of its peak, would have beaten the pick but failed"

    def _key_of(self, trial: Trial) -> tuple[int, int, str]:
        """The key a trial is stored under (its config records the class that ran)."""
        return next(k for k, t in self.trials.items() if t is trial)

    def _runs_of(self, k: tuple[int, int, str]) -> int:
        """How many times a configuration has been measured."""
        return len(self._runs.get(k, [self.trials[k]]))

    def _again(self, k: tuple[int, int, str]) -> Trial:
        """Measure a configuration once more on a fresh server; it then stands on all its runs."""
        trial = self.trials.pop(k)
        runs = self._runs.setdefault(k, [trial])
        self._in_runoff = True  # a run that confirms is measured in full, never cut short
        try:
            runs.append(self.measure(ServerConfig(*k), trial.source))
        finally:
            self._in_runoff = False
        self.trials[k] = _pooled(runs)
        return self.trials[k]

    def fits(self, config: ServerConfig) -> bool:
        assert self.profile is not None
        return predict_pss(self.profile.memory, config) <= self.budget_mib

    def _try_gevent(self, prof: Profile) -> bool:
        if self.settings.gevent is not None:
            return self.settings.gevent and gevent_available()
        return gevent_available() and prof.wait_compute_ratio >= 1.0

    def _promise(self, config: ServerConfig) -> float:
        """Little's law and the CPU bound, for ordering trials only (never for choosing)."""
        assert self.profile is not None
        prof = self.profile
        wall_s = max(prof.wall_ms, 0.001) / 1000
        cpu_bound = self.settings.cpus * 1000 / prof.cpu_ms if prof.cpu_ms > 0 else math.inf
        return min(min(config.slots, 512) / wall_s, cpu_bound) - 0.001 * config.slots

    def _per_trial_s(self) -> float:
        """What one trial is budgeted at: its load phases plus starting and stopping a server."""
        return self.settings.warmup_s + self.settings.saturate_s + self.settings.verify_s + 3

    def _out_of_time(self, runoff: bool = False, trials: int = 1) -> bool:
        """True when `trials` more would overrun the budget (the search keeps room for a runoff)."""
        if self.stop is not None and self.stop.is_set():
            return True
        per_trial = self._per_trial_s()
        reserve = 0 if runoff or not self.settings.runoff else 2 * per_trial
        return (
            time.monotonic() - self.started + trials * per_trial + reserve > self.settings.budget_s
        )

    # -- one trial -----------------------------------------------------------------------------

    def measure(self, config: ServerConfig, source: str) -> Trial:
        config = config.effective()
        k = search.key(config)
        if k in self.trials:
            return self.trials[k]
        assert self.profile is not None
        predicted = predict_pss(self.profile.memory, config)
        self._started_trials += 1
        self.events.trial_start(config, source, self._started_trials)
        if predicted > self.budget_mib:
            trial = _unmeasured(
                config, source, "memory", predicted,
                f"predicted {predicted:.0f} MiB PSS is over the {self.budget_mib:.0f} MiB budget; "
                "not started",
            )  # fmt: skip
        else:
            try:
                trial = self._measure(config, source, predicted)
            except ServerError as exc:
                trial = _unmeasured(config, source, "failed", predicted, str(exc))
        self.trials[k] = trial
        self.events.trial_done(trial)
        return trial

    def _saturation_clients(self, config: ServerConfig) -> int:
        assert self.profile is not None
        if config.worker_class == "gevent":
            prof = self.profile
            need = model.slots_to_saturate(self.settings.cpus, prof.wall_ms, prof.cpu_ms)
            return max(4 * config.workers, min(2 * need, 512))
        # One client per slot leaves a slot idle while its client reconnects: a quarter more
        # (at least one) keeps a request waiting in the backlog, so the server never idles.
        return min(config.slots + max(1, math.ceil(config.slots / 4)), 512)

    def _measure(self, config: ServerConfig, source: str, predicted: float) -> Trial:
        s = self.settings
        clients = self._saturation_clients(config)
        timeout = max(10.0, 4 * self.slo / 1000)
        with (
            Server(self.target, config, cpus=self.cores.server, log_dir=self.log_dir) as server,
            pinned(self.cores.client),
        ):
            sat, stats = sampled_load(
                server,
                LoadSpec(url=server.url, requests=self.requests, concurrency=clients,
                         duration_s=s.saturate_s, warmup_s=s.warmup_s, timeout_s=timeout,
                         keepalive=s.keepalive),
                on_tick=self.events.tick, stop=self.stop,
            )  # fmt: skip
            server.check_alive()
            phases: list[LoadResult] = [sat]
            capacity = bound = 0.0
            at: LoadResult | None = None
            reason = ""
            if sat.errors:
                reason = "errors"
            elif stats.pss_mib_peak > self.budget_mib:
                reason = "memory"
            else:
                # On "slower", the figure is the most the trial could still have reached.
                bound, at, reason = self._find_capacity(
                    server.url, sat, clients, timeout, phases, source
                )
                capacity = 0.0 if reason else bound
            server.check_alive()
            running = dataclasses.replace(config, worker_class=server.running_worker_class())
            log_notes = server.log_warnings()
        benches = tuple(
            to_bench(self.target, server.url, running, p, stats if i == 0 else None,
                     cpus=self.cores.server, warnings=load_warnings(p))  # fmt: skip
            for i, p in enumerate(phases)
        )
        note = "; ".join(log_notes)
        if reason == "errors":
            bad = next(p for p in phases if p.errors)
            kinds = ", ".join(f"{k} {v}" for k, v in sorted(bad.errors_by_kind.items()) if v)
            note = f"errors under load ({kinds})" + (f"; {note}" if note else "")
        elif reason == "slo":
            note = f"p95 over {self.slo:.0f} ms even at {VERIFY_SHARES[-1]:.0%} of its peak rate"
        elif reason == "slower":
            best = search.best(self.trials.values(), self.server_cores)
            note = (
                f"at most {bound:.1f} req/s within the SLO (peak {sat.throughput_rps:.1f}), "
                f"under the best so far ({best.capacity_rps if best else 0:.1f} req/s)"
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
            server=stats,
            client=sat.client,
            predicted_pss_mib=round(predicted, 1),
            note=note,
            phases=benches,
            worker_balance=_worker_balance(stats),
            reachable_rps=round(bound, 2) if reason == "slower" else 0.0,
        )

    def _cannot_win(self, source: str, reachable_rps: float) -> bool:
        """True when the most a trial can still reach is under the best capacity, less the tie.

        Capacity is the rate of the first open-loop check that passes, and checks start at
        85% of the closed loop's peak and go down, so a trial whose next check is already
        under the best cannot become the pick: its remaining checks would only spend time.
        Baselines are always checked in full: their capacity is part of the answer.
        """
        if not self.settings.prune or source == "baseline" or self._in_runoff:
            return False
        best = search.best(self.trials.values(), self.server_cores)
        return best is not None and reachable_rps * 1.02 < best.capacity_rps * (1 - search.TIE)

    def _find_capacity(
        self,
        url: str,
        sat: LoadResult,
        clients: int,
        timeout: float,
        phases: list[LoadResult],
        source: str = "",
    ) -> tuple[float, LoadResult | None, str]:
        """The highest open-loop rate (as a share of the saturation rate) that meets the SLO.

        Try 85% first; on a miss, step down and then bisect once between the last miss and
        the first pass, so capacity is not rounded down to a coarse ladder. A step that
        could no longer beat the best so far ends the search ("slower").
        """
        best: tuple[float, LoadResult | None] = (0.0, None)
        lo, hi = 0.0, 1.0
        for share in VERIFY_SHARES:
            if self._cannot_win(source, share * sat.throughput_rps):
                return share * sat.throughput_rps, None, "slower"
            ok, check = self._verify(url, share * sat.throughput_rps, clients, timeout, phases)
            if check is None:
                break
            if check.errors:
                return 0.0, None, "errors"
            if ok:
                best, lo = (check.throughput_rps, check), share
                break
            hi = share
        if best[1] is None:
            return 0.0, None, "slo"
        mid = (lo + hi) / 2
        if lo < VERIFY_SHARES[0] and not self._out_of_time() and not self._cannot_win(
            source, mid * sat.throughput_rps
        ):
            ok, check = self._verify(url, mid * sat.throughput_rps, clients, timeout, phases)
            if check is not None and check.errors:
                return 0.0, None, "errors"
            if ok and check is not None and check.throughput_rps > best[0]:
                best = (check.throughput_rps, check)
        return best[0], best[1], ""

    def _verify(
        self, url: str, rate: float, clients: int, timeout: float, phases: list[LoadResult]
    ) -> tuple[bool, LoadResult | None]:
        s = self.settings
        if rate <= 0 or (self.stop is not None and self.stop.is_set()):
            return False, None
        duration = min(max(s.verify_s, 30 / rate), 8.0)
        check = run_load(
            LoadSpec(url=url, requests=self.requests, rate=rate,
                     concurrency=max(2 * clients, 32), duration_s=duration,
                     warmup_s=0.5, timeout_s=timeout, keepalive=s.keepalive),
            on_tick=self.events.tick, stop=self.stop,
        )  # fmt: skip
        phases.append(check)
        return (not check.errors and check.latency_ms.p95 <= self.slo), check

    # -- the answer ----------------------------------------------------------------------------

    def _result(self, named: list[tuple[str, ServerConfig]]) -> TuneResult:
        assert self.profile is not None
        prof = self.profile
        trials = tuple(self.trials.values())
        pick = search.best(trials, self.server_cores)
        settled = self.trials.get(self._settled) if self._settled is not None else None
        if settled is not None and settled.feasible:
            pick = settled
        baselines = tuple(
            self._baseline(name, config, role)
            for (name, config), role in zip(named, search.BASELINE_ROLES, strict=True)
        )
        constraints = Constraints(
            cpus=self.settings.cpus, memory_mib=round(self.settings.memory_mib, 1),
            slo_p95_ms=self.slo, plan=self.settings.plan, cores_here=prof.cores_here,
        )  # fmt: skip
        figures = ModelFigures(
            cpu_ms=prof.cpu_ms,
            wall_ms=prof.wall_ms,
            wait_compute_ratio=round(prof.wait_compute_ratio, 3) if prof.cpu_ms > 0 else -1.0,
            cpu_bound_rps=round(model.cpu_bound_or_zero(self.settings.cpus, prof.cpu_ms), 2),
            slots_to_saturate=float(
                model.slots_to_saturate(self.settings.cpus, prof.wall_ms, prof.cpu_ms)
            ),
            memory_budget_mib=round(self.budget_mib, 1),
            memory_share=model.MEMORY_SHARE,
        )
        recommendation = None
        if pick is not None:
            from tunicorn.emit import make_spec, render

            spec = make_spec(
                pick.config.workers, pick.config.threads, pick.config.worker_class,
                app=self.target.app,
            )  # fmt: skip
            recommendation = Recommendation(
                startup_command=spec.command(),
                workers=pick.config.workers,
                threads=pick.config.threads,
                worker_class=pick.config.worker_class,
                throughput_rps=pick.throughput_rps,
                capacity_rps=pick.capacity_rps,
                latency_ms=pick.latency_ms,
                pss_mib_peak=pick.server.pss_mib_peak if pick.server else 0.0,
                app=self.target.app,
                trial=pick.key,
                reasons=tuple(
                    reasons(
                        pick,
                        trials,
                        prof,
                        self.settings,
                        self.slo,
                        self.budget_mib,
                        self.server_cores,
                    )
                    + ([self._settled_note] if pick is settled else [])
                ),
                az_command=render("az", spec).strip(),
                app_settings=_app_settings(spec),
            )
        return TuneResult(
            target=self.target.label,
            app=self.target.app,
            recommendation=recommendation,
            baselines=baselines,
            trials=trials,
            constraints=constraints,
            profile=prof,
            elapsed_s=round(time.monotonic() - self.started, 1),
            model=figures,
            warnings=tuple(self._warnings(trials)),
            verdict=verdict(recommendation, baselines, self.slo),
        )

    def _baseline(self, name: str, config: ServerConfig, role: str) -> Baseline:
        trial = self.trials[search.key(config)]
        return Baseline(
            name=name,
            workers=trial.config.workers,
            threads=trial.config.threads,
            worker_class=trial.config.worker_class,
            throughput_rps=trial.throughput_rps,
            capacity_rps=trial.capacity_rps,
            latency_ms=trial.latency_ms,
            pss_mib_peak=trial.server.pss_mib_peak if trial.server else trial.predicted_pss_mib,
            feasible=trial.feasible,
            reason=trial.note if not trial.feasible else "",
            trial=trial.key,
            role=role,
        )

    def _warnings(self, trials: tuple[Trial, ...]) -> list[str]:
        out = []
        cores_here = self.profile.cores_here if self.profile else 0
        if self.cores.warning:
            out.append(self.cores.warning)
        elif cores_here and cores_here < self.settings.cpus + 1:
            out.append(
                f"This machine has {cores_here} cores, "
                f"fewer than the plan's {self.settings.cpus} + 1 "
                "for the load generator: the figures are an upper bound."
            )
        if self._starved:
            # Room for a few search trials and the runoff's reserve after the fixed part.
            enough = _round_up(self._fixed_s + 5 * self._per_trial_s())
            out.append(
                f"The budget ({self.settings.budget_s:g} s) ran out before the search began: "
                f"the profile, the three baselines and the model's start come first and took "
                f"{self._fixed_s:.0f} s here. The pick is the best of those; give --budget "
                f"{enough} or more to search."
            )
        saturated = [t for t in trials if t.client.saturated]
        if saturated:
            out.append(
                f"The load generator saturated its core in {len(saturated)} trial(s): those "
                "figures understate the server."
            )
        for t in trials:
            if t.config.worker_class == "gthread" and t.config.workers > 1 and t.worker_balance:
                share = max(t.worker_balance) / max(1, sum(t.worker_balance))
                if share > 1.5 / t.config.workers:
                    out.append(
                        f"{t.config.label}: one worker did {share:.0%} of the work (keep-alive "
                        "connections pile onto gthread workers unevenly)."
                    )
                    break
        return out


def _round_up(seconds: float) -> int:
    return int(math.ceil(seconds / 10.0) * 10)


def _app_settings(spec: EmitSpec) -> str:
    """App settings that run the pick, or "" where they cannot (gevent: only a startup
    command can)."""
    from tunicorn.emit import render

    try:
        return render("appsettings", spec).strip()
    except UsageError:
        return ""


def _unmeasured(
    config: ServerConfig, source: str, reason: str, predicted: float, note: str
) -> Trial:
    return Trial(
        config=config, source=source, feasible=False, reason=reason, capacity_rps=0.0,
        throughput_rps=0.0, requests=0, errors=0, latency_ms=Latency(), server=None,
        client=ClientStats(), predicted_pss_mib=round(predicted, 1), note=note,
    )  # fmt: skip


def _server_errors(trial: Trial) -> bool:
    """Did the app itself answer errors (5xx), as opposed to timeouts or resets under overload?"""
    if not trial.phases:
        return True  # no phase record (made up in tests): take the reason at its word
    return any(p.errors_by_kind.get("http_5xx", 0) for p in trial.phases)


def _pooled(runs: list[Trial]) -> Trial:
    """One trial from several runs of a configuration: the median capacity (the mean of two)
    and the median run's p95 (the worse of two), the most memory any run used; unusable if
    any run was (only usable trials are measured again)."""
    failed = next((t for t in runs if not t.feasible), None)
    if failed is not None:
        return dataclasses.replace(failed, note=f"a later run: {failed.note or failed.reason}")
    last = runs[-1]
    caps = [t.capacity_rps for t in runs]
    middle = sorted(runs, key=lambda t: t.latency_ms.p95)[len(runs) // 2]
    server = last.server
    if server is not None:
        stats = [t.server for t in runs if t.server is not None]
        server = dataclasses.replace(
            server,
            pss_mib_peak=max(x.pss_mib_peak for x in stats),
            cpu_cores_busy=statistics.median(x.cpu_cores_busy for x in stats),
        )
    figures = ", ".join(f"{c:.1f}" for c in caps)
    how = "mean of 2 runs" if len(runs) == 2 else f"median of {len(runs)} runs"
    return dataclasses.replace(
        last,
        capacity_rps=round(statistics.median(caps), 2),
        throughput_rps=round(statistics.median(t.throughput_rps for t in runs), 2),
        requests=sum(t.requests for t in runs),
        latency_ms=middle.latency_ms,  # no credit for one lucky run's p95
        server=server,
        note="; ".join(x for x in (f"{how}: {figures} req/s", last.note) if x),
        phases=tuple(p for t in runs for p in t.phases),
    )


def _worker_balance(stats: ServerStats) -> tuple[int, ...]:
    """CPU milliseconds each worker spent: a lopsided split means an idle worker beside a
    busy one."""
    return tuple(int(1000 * x) for x in stats.worker_cpu_s)


def ratio(a: float, b: float) -> str:
    if b <= 0:
        return "∞×" if a > 0 else "—"
    return f"{a / b:.1f}×"


def verdict(rec: Recommendation | None, baselines: tuple[Baseline, ...], slo: float) -> str:
    if rec is None:
        return (
            f"No configuration met p95 ≤ {slo:.0f} ms without errors: raise --slo-p95, give the "
            "plan more memory, or look at the trials' errors."
        )
    default = baselines[0] if baselines else None
    vs = (
        f", {ratio(rec.capacity_rps, default.capacity_rps)} App Service's default 1×1"
        if default
        else ""
    )
    return (
        f"Run {rec.workers} worker{'s' if rec.workers > 1 else ''} × {rec.threads} "
        f"thread{'s' if rec.threads > 1 else ''} ({rec.worker_class}): "
        f"{rec.capacity_rps:.0f} req/s "
        f"within p95 ≤ {slo:.0f} ms{vs}."
    )


def reasons(
    pick: Trial,
    trials: tuple[Trial, ...],
    prof: Profile,
    settings: TuneSettings,
    slo: float,
    budget_mib: float,
    cores: int = 0,
) -> list[str]:
    """Why this configuration: which bound or measurement decided."""
    out = []
    wc = prof.wait_compute_ratio
    if prof.cpu_ms > 0:
        out.append(
            f"Each request computes {prof.cpu_ms:.1f} ms and waits {prof.wait_ms:.1f} ms "
            f"(W/C = {wc:.1f}): about {1 + wc:.0f} requests in flight keep one core busy."
        )
        bound = model.cpu_bound_or_zero(settings.cpus, prof.cpu_ms)
        share = pick.capacity_rps / bound if bound else 0
        line = (
            f"CPU bound: {settings.cpus} core{'s' if settings.cpus > 1 else ''} / "
            f"{prof.cpu_ms:.1f} ms = {bound:.0f} req/s; the pick reaches {share:.0%} of it"
        )
        if share > 1.05:
            line += (
                " (the CPU per request was measured on one sync worker, one request at a time; "
                f"{pick.config.worker_class} under load spends less per request)"
            )
        out.append(line + ".")
    mem = prof.memory
    out.append(
        f"Memory: {mem.base_mib:.0f} MiB for 1×1, +{mem.per_worker_mib:.0f} MiB per worker, "
        f"+{mem.per_thread_mib:.1f} MiB per thread; budget {budget_mib:.0f} MiB "
        f"({model.MEMORY_SHARE:.0%} of {settings.memory_mib:.0f}); the pick peaked at "
        f"{pick.server.pss_mib_peak if pick.server else pick.predicted_pss_mib:.0f} MiB."
    )
    over = [t for t in trials if t.reason == "memory"]
    if over:
        out.append(f"{len(over)} configuration(s) were ruled out by memory.")
    broke = [t for t in trials if t.reason in ("errors", "failed")]
    if broke:
        labels = ", ".join(t.config.label for t in broke[:4])
        out.append(f"Errors under load ruled out {labels}.")
    slow = [t for t in trials if t.reason == "slo"]
    if slow:
        out.append(f"{len(slow)} configuration(s) could not keep p95 ≤ {slo:.0f} ms.")
    pruned = [t for t in trials if t.reason == "slower"]
    if pruned:
        out.append(
            f"{len(pruned)} configuration(s) stopped early (\"slower\"): even their next SLO check "
            "could not beat the best capacity so far."
        )
    pooled = [t for t in trials if t.note.startswith(("mean of 2 runs:", "median of "))]
    if pooled:
        out.append(
            "Measured more than once, each standing on the median (or mean) of its runs: "
            + ", ".join(f"{t.config.label} ({t.note.split(';')[0]})" for t in pooled) + "."
        )
    measured = [t for t in trials if t.server is not None]
    ties = search.ties(trials)
    if len(ties) > 1 and all(search.cpu_bound(t, cores) for t in ties):
        out.append(
            f"Measured {len(measured)} configurations; {len(ties)} were within 3% of the best "
            f"capacity and all kept the CPU busy, so more slots could not add capacity: the tie "
            "went to less memory, then fewer processes and threads (p95 at a saturated CPU is "
            "queueing, not the configuration)."
        )
    else:
        out.append(
            f"Measured {len(measured)} configurations; every one within 3% of the best capacity "
            "was a tie, decided by lower p95, then less memory, then fewer processes."
        )
    return out
