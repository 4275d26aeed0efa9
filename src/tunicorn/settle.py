"""Settle close calls: when a configuration is measured again, and how its runs are pooled.

Single runs of one configuration differ by a third on a shared host, whose speed drifts
over tens of seconds (the demo's /cpu on 1×1 sync measured 72 and 112 req/s minutes
apart), so a pick made on single runs among near-equals can be one lucky run. Two
policies measure again, both on fresh servers and in full (never cut short as "slower"):

- a *final* settles the pick against one rival single runs cannot separate from it: the
  two are measured alternately until each stands on the median of FINAL_RUNS runs;
- a *runoff* measures the pick once more while another trial is within RUNOFF_BAND of it,
  and keeps the mean; if that drops it, the next pick gets the same (RUNOFF_MAX times).
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable
from typing import Protocol

from tunicorn import search
from tunicorn.measure import Measure
from tunicorn.record import ClientModelRun, Run, Settlement, Trial

FINALISTS = 2  # the pick and its strongest rival are measured with the other client model
FINALIST_BAND = 0.75  # a rival within 75% of the pick's capacity is a finalist
RUNOFF_BAND = 0.06  # while a rival is within 6% of the pick, the pick is measured once more
RUNOFF_MAX = 3
FINAL_RUNS = 3  # a pick and a rival single runs cannot separate stand on the median of 3
NEAR_MISS = 0.85  # a trial whose peak, at this share, beats the pick may have missed by chance


class Clock(Protocol):
    """What settling asks of the driver's budget."""

    def room(self, trials: int) -> bool:
        """Is there time for `trials` more full trials (False once stopped)?"""

    def stopped(self) -> bool: ...


def pooled(runs: list[Trial]) -> Trial:
    """One trial from several runs of a configuration: the median capacity (the mean of two)
    and the median run's p95 (the worse of two), the most memory any run used; unusable if
    any run was (only usable trials are measured again)."""
    summary = tuple(
        Run(
            capacity_rps=t.capacity_rps,
            throughput_rps=t.throughput_rps,
            p95_ms=t.latency_ms.p95,
            pss_mib_peak=t.server.pss_mib_peak if t.server else 0.0,
            cpu_cores_busy=t.server.cpu_cores_busy if t.server else 0.0,
        )
        for t in runs
    )
    how = "mean" if len(runs) == 2 else "median"
    failed = next((t for t in runs if not t.feasible), None)
    if failed is not None:
        return dataclasses.replace(
            failed, note=f"a later run: {failed.note or failed.reason}", runs=summary, pooled=how
        )
    last = runs[-1]
    middle = sorted(runs, key=lambda t: t.latency_ms.p95)[len(runs) // 2]
    server = last.server
    if server is not None:
        stats = [t.server for t in runs if t.server is not None]
        server = dataclasses.replace(
            server,
            pss_mib_peak=max(x.pss_mib_peak for x in stats),
            cpu_cores_busy=statistics.median(x.cpu_cores_busy for x in stats),
        )
    return dataclasses.replace(
        last,
        capacity_rps=round(statistics.median(t.capacity_rps for t in runs), 2),
        throughput_rps=round(statistics.median(t.throughput_rps for t in runs), 2),
        requests=sum(t.requests for t in runs),
        latency_ms=middle.latency_ms,  # no credit for one lucky run's p95
        server=server,
        phases=tuple(p for t in runs for p in t.phases),
        runs=summary,
        pooled=how,
    )


def runs_text(trial: Trial) -> str:
    """"median of 3 runs: 131.0, 146.0, 136.0 req/s", from the trial's own runs."""
    figures = ", ".join(f"{r.capacity_rps:.1f}" for r in trial.runs)
    return f"{trial.pooled} of {len(trial.runs)} runs: {figures} req/s"


def rival(trials: search.Trials, pick: Trial, sp: search.Space) -> tuple[str, str] | None:
    """The trial a final should settle the pick against, and why; None when there is none.

    - one sync worker per core, when it and the pick both keep the CPU busy: more slots
      only queue more requests for the same CPU, so a lead over it is likely one run (when
      it is the pick, its strongest CPU-busy challenger gets the final instead);
    - a trial whose peak would have beaten the pick (even at 85% of it) but whose latency
      missed the SLO up there: at the knee one short run passes or fails by chance (on the
      zoo's mixed app, one gevent worker once measured 225 req/s, against 342 on the grid).
    """
    simple_key = search.simple(sp).key
    if search.compute_bound(trials, sp) and search.cpu_bound(pick, sp.cores):
        if trials[simple_key] is not pick:
            return simple_key, "one request per process already keeps the CPU busy"
        # The pick is one request per process: its strongest challenger gets the final.
        others = [
            (k, t) for k, t in trials.items()
            if t is not pick and t.feasible and search.cpu_bound(t, sp.cores)
        ]  # fmt: skip
        if others:
            k, _ = max(others, key=lambda kt: kt[1].capacity_rps)
            return k, "the strongest challenger to one request per process"
    # A near miss measured in full. One stopped as "slower" is left alone: in the zoo (run G)
    # such a final cost the pure-wait app 5 runs, 40 s, and the pick stayed the same (a
    # stopped trial needs three new full runs).
    near = [
        (k, t) for k, t in trials.items()
        if t is not pick and t.feasible
        and t.capacity_rps < pick.capacity_rps * (1 - RUNOFF_BAND)
        and NEAR_MISS * t.throughput_rps >= pick.capacity_rps
    ]  # fmt: skip
    if not near:
        return None
    k, _ = max(near, key=lambda kt: kt[1].throughput_rps)
    return k, "its peak would have beaten the pick, but its latency missed the SLO up there"


def compute_bound_verdict(
    trials: search.Trials, simple_key: str, other_key: str
) -> Settlement | None:
    """More slots on a busy CPU must beat one request per process in every run to be picked.

    With the cores already busy, more slots cannot add capacity, so a lead of a few percent
    between medians is the host's drift, not the configuration (the demo's /cpu: medians of
    75 against 73 req/s from runs spread over 69-91). Only if every run of the other beat
    every run of one request per process (by chance one time in 20 with three runs each) is
    it picked; otherwise one request per process is, as the tie rule would for a tie.
    """
    one, other = trials[simple_key], trials[other_key]
    if not (one.feasible and other.feasible):
        return None
    mine = [r.capacity_rps for r in one.runs] or [one.capacity_rps]
    theirs = [r.capacity_rps for r in other.runs] or [other.capacity_rps]
    if min(theirs) > max(mine):
        return None  # a clear win: the pick stands on its measurements
    low, high = min(mine + theirs), max(mine + theirs)
    above = [
        t for k, t in trials.items()
        if k not in (simple_key, other_key) and t.feasible and t.capacity_rps > one.capacity_rps
    ]  # fmt: skip
    note = (
        f"One request per process ({one.config.label}) kept the CPU busy, so more slots could "
        f"not add capacity; {other.config.label} did not beat it in every one of "
        f"{len(theirs)} runs (its {', '.join(f'{c:.0f}' for c in theirs)} against "
        f"{', '.join(f'{c:.0f}' for c in mine)} req/s), so the pick is one request per process. "
        f"Runs of one configuration spread over {low:.0f}-{high:.0f} req/s here"
        + (
            "; above the pick, "
            + ", ".join(f"{t.config.label} ({t.capacity_rps:.0f})" for t in above)
            + f" {'was' if len(above) == 1 else 'were'} measured once."
            if above
            else "."
        )
    )
    return Settlement(key=simple_key, note=note)


class Settler:
    """Measures configurations again in `trials` (the driver's store, updated in place)."""

    def __init__(
        self,
        trials: dict[str, Trial],
        measure: Measure,
        sp: search.Space,
        clock: Clock,
        say: Callable[[str], None],
    ) -> None:
        self.trials = trials
        self.measure = measure
        self.sp = sp
        self.clock = clock
        self.say = say
        self.runs: dict[str, list[Trial]] = {}  # every full run of a configuration measured again

    def settle(self) -> Settlement:
        """The final, then (unless the final settled the pick) the runoff."""
        settled = self.final()
        if not settled.key:
            self.runoff()
        return settled

    def client_models(self, other: Measure, other_keepalive: bool, settled: Settlement) -> None:
        """Measure the finalists with the other client model, each once and in full.

        Which model the platform's front end presents is not known here: kept-alive
        connections pile onto gthread workers unevenly, new ones cost a handshake each. The
        pick and its strongest rival (another family first) get the other model's figure;
        recommend.decide then picks what holds up under both.
        """
        cores, low = self.sp.cores, self.sp.rules
        pick = self.trials.get(settled.key) if settled.key else None
        pick = pick or search.best(self.trials.values(), cores, low)
        if pick is None:
            return
        rivals = sorted(
            (t for t in self.trials.values() if t is not pick and search.eligible(t, low)
             and t.capacity_rps >= FINALIST_BAND * pick.capacity_rps),
            key=lambda t: (search.family(t.config) == search.family(pick.config), -t.capacity_rps),
        )  # fmt: skip
        finalists = [pick, *rivals[: FINALISTS - 1]]
        if not self.clock.room(len(finalists)):
            self.say("no time left to measure the finalists with the other client model")
            return
        model = "kept-alive connections" if other_keepalive else "a new connection per request"
        self.say(f"the finalists with {model}: " + ", ".join(t.config.label for t in finalists))
        for trial in finalists:
            if self.clock.stopped():
                return
            run = other(trial.config, "other client model", 0.0)
            key = self.key_of(trial)
            self.trials[key] = dataclasses.replace(
                self.trials[key],
                other_model=ClientModelRun(
                    keepalive=other_keepalive, capacity_rps=run.capacity_rps,
                    throughput_rps=run.throughput_rps, p95_ms=run.latency_ms.p95,
                    feasible=run.feasible, reason=run.reason,
                ),  # fmt: skip
            )

    def again(self, key: str) -> Trial:
        """Measure a configuration once more on a fresh server; it then stands on all its runs."""
        trial = self.trials.pop(key)
        runs = self.runs.setdefault(key, [trial])
        runs.append(self.measure(trial.config, trial.source, 0.0))  # in full, never cut short
        self.trials[key] = pooled(runs)
        return self.trials[key]

    def key_of(self, trial: Trial) -> str:
        """The key a trial is stored under (its config records the class that ran)."""
        return next(k for k, t in self.trials.items() if t is trial)

    def runs_of(self, key: str) -> int:
        return len(self.runs.get(key, [self.trials[key]]))

    def final(self) -> Settlement:
        """Settle the pick against a rival single runs cannot separate from it (one final per
        tune); a final that does not fit in the budget is not started: half of one would favour
        one side."""
        pick = search.best(self.trials.values(), self.sp.cores, self.sp.rules)
        found = rival(self.trials, pick, self.sp) if pick is not None else None
        if pick is None or found is None:
            return Settlement()
        rival_key, why = found
        pick_key, other = self.key_of(pick), self.trials[rival_key]
        compute_bound = search.compute_bound(self.trials, self.sp)  # on the first runs
        need = sum(FINAL_RUNS - self.runs_of(k) for k in (rival_key, pick_key))
        if not self.clock.room(need):
            self.say(
                f"no time left for a final between {pick.config.label} and {other.config.label} "
                f"({need} more runs)"
            )
            return Settlement()
        self.say(
            f"final: {other.config.label} ({why}) against {pick.config.label}, measured "
            f"alternately until each has {FINAL_RUNS} runs"
        )
        while not self.clock.stopped():
            pending = [k for k in (rival_key, pick_key) if self.runs_of(k) < FINAL_RUNS]
            if not pending:
                break
            for k in pending:
                if not self.again(k).feasible:
                    return Settlement()  # a run that fails rules it out: nothing to settle
        else:
            return Settlement()  # stopped (Ctrl-C): the final is not complete
        simple_key = search.simple(self.sp).key
        if simple_key in (rival_key, pick_key) and compute_bound:
            other_key = pick_key if rival_key == simple_key else rival_key
            verdict = compute_bound_verdict(self.trials, simple_key, other_key)
            if verdict is not None:
                self.say(verdict.note)
                return verdict
        return Settlement()

    def runoff(self) -> None:
        """Measure the pick once more while a rival is close, and keep the mean of the runs."""
        for _ in range(RUNOFF_MAX):
            pick = search.best(self.trials.values(), self.sp.cores, self.sp.rules)
            if pick is None or self.key_of(pick) in self.runs:
                return
            band = pick.capacity_rps * (1 - RUNOFF_BAND)
            rivals = [
                t for t in self.trials.values()
                if t is not pick and t.feasible and t.capacity_rps >= band
            ]  # fmt: skip
            if not rivals or not self.clock.room(1):
                return
            self.say(
                f"runoff: {pick.config.label} once more ({len(rivals)} rival(s) within "
                f"{RUNOFF_BAND:.0%})"
            )
            self.again(self.key_of(pick))
