"""Settle close calls: what is measured again, and how a configuration's runs are pooled.

Single runs of one configuration differ by a third on a shared host, whose speed drifts
over tens of seconds (the demo's /cpu on 1×1 sync measured 72 and 112 req/s minutes
apart), so a pick among near-equals made on single runs can be one lucky run. What the
rank stage's intervals cannot separate from the pick is measured again, both on fresh
servers, at the closed-loop clients that showed each one's capacity (one window, down the
ladder only where it now misses the SLO; never cut short as "slower"), until the intervals
separate or each stands on MAX_RUNS runs (then it is a tie, and rank's tie-break decides);
a pair standing on two runs each whose intervals both lie within ±5% of their middle is a tie
already (`rank.settled_tie`: closer than a rung is measured to, which a third run cannot
resolve). A rival that could not change the pick is not measured again (`could_overturn`).
The same goes for a rule-of-thumb baseline whose interval lies wholly above the pick, and
for a near miss (a trial whose peak would have beaten the pick but whose latency missed the
SLO up there).
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable
from typing import Protocol

from tunicorn import interval
from tunicorn.decide import rank, search
from tunicorn.record import ClientModelRun, Run, Settlement, Trial
from tunicorn.run.deal import merged
from tunicorn.run.measure import Confirm, Measure

FINALISTS = 2  # the pick and its strongest rival are measured with the other client model
FINALIST_BAND = 0.75  # a rival within 75% of the pick's capacity is a finalist
MAX_RUNS = 3  # a close call still tied after 3 runs of each is a tie
MAX_ROUNDS = 2  # rounds of measuring again (each the pick and one challenger) per tune
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
            capacity_ci=t.capacity_ci,
            speed_ms=t.speed_ms,
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
    capacity = round(statistics.median(t.capacity_rps for t in runs), 2)
    # Every run's ticks in one series: the drift between runs widens the interval, more
    # runs narrow it (interval.py). The ticks of one run are alike, so that understates the
    # drift between fresh servers: the mean of two runs spans both (of three or more, the
    # median stands on the runs that agree, and an outlier is left to the ticks).
    samples = tuple(x for t in runs for x in t.capacity_samples)
    ci = interval.around(capacity, samples)
    if len(runs) == 2:
        ci = interval.spanning(ci, [t.capacity_rps for t in runs])
    return dataclasses.replace(
        last,
        capacity_rps=capacity,
        capacity_ci=ci,
        capacity_samples=samples,
        throughput_rps=round(statistics.median(t.throughput_rps for t in runs), 2),
        requests=sum(t.requests for t in runs),
        latency_ms=middle.latency_ms,  # no credit for one lucky run's p95
        server=server,
        phases=tuple(p for t in runs for p in t.phases),
        runs=summary,
        pooled=how,
        deals=merged([t.deals for t in runs if t.deals is not None]),  # every hand dealt
    )


def runs_text(trial: Trial) -> str:
    """"median of 3 runs: 131.0, 146.0, 136.0 req/s", from the trial's own runs."""
    figures = ", ".join(f"{r.capacity_rps:.1f}" for r in trial.runs)
    return f"{trial.pooled} of {len(trial.runs)} runs: {figures} req/s"


def near_miss(trials: search.Trials, pick: Trial) -> Trial | None:
    """A trial whose peak would have beaten the pick (even at 85% of it) but whose latency
    missed the SLO up there: at the knee one short run passes or fails by chance (on the
    zoo's mixed app, one gevent worker once measured 225 req/s, against 342 on the grid).
    One stopped as "slower" is left alone: in the zoo (run G) such a second look cost the
    pure-wait app 5 runs, 40 s, and the pick stayed the same."""
    near = [
        t for t in trials.values()
        if t is not pick and t.feasible and rank.compare(pick, t) == "better"
        and NEAR_MISS * t.throughput_rps >= pick.capacity_rps
    ]  # fmt: skip
    return max(near, key=lambda t: t.throughput_rps, default=None)


class Settler:
    """Measures configurations again in `trials` (the driver's store, updated in place)."""

    def __init__(
        self,
        trials: dict[str, Trial],
        confirm: Confirm,
        sp: search.Space,
        clock: Clock,
        say: Callable[[str], None],
        tie_break: rank.TieBreak = rank.robust,
    ) -> None:
        self.trials = trials
        self.confirm = confirm  # a configuration measured again at its capacity's clients
        self.sp = sp
        self.clock = clock
        self.say = say
        self.tie_break = tie_break  # how rank orders a tie (the pick among what cannot separate)
        self.runs: dict[str, list[Trial]] = {}  # every full run of a configuration measured again

    def settle(self) -> Settlement:
        """Measure close calls again (`close_calls`)."""
        return self.close_calls()

    def client_models(self, other: Measure, other_keepalive: bool, settled: Settlement) -> None:
        """Measure the finalists with the other client model, each once and in full.

        Which model the platform's front end presents is not known here: kept-alive
        connections pile onto gthread workers unevenly, new ones cost a handshake each. The
        pick and its strongest rival (another family first) get the other model's figure;
        recommend.decide then picks what holds up under both.
        """
        cores, low = self.sp.machine.server_cores, self.sp.rules
        pick = self.trials.get(settled.key) if settled.key else None
        pick = pick or rank.best(self.trials.values(), cores, low, self.tie_break)
        if pick is None:
            return
        rivals = sorted(
            (t for t in self.trials.values() if t is not pick and rank.eligible(t, low)
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
                    feasible=run.feasible, reason=run.reason, deals=run.deals,
                ),  # fmt: skip
            )

    def again(self, key: str, *, full: bool = False) -> Trial:
        """Measure a configuration once more on a fresh server, at the clients that showed its
        capacity (`full`: its whole ladder again), never cut short; it then stands on all its
        runs."""
        trial = self.trials.pop(key)
        runs = self.runs.setdefault(key, [trial])
        clients = 0 if full else trial.capacity_clients
        runs.append(self.confirm(trial.config, trial.source, clients))
        self.trials[key] = pooled(runs)
        return self.trials[key]

    def key_of(self, trial: Trial) -> str:
        """The key a trial is stored under (its config records the class that ran)."""
        return next(k for k, t in self.trials.items() if t is trial)

    def runs_of(self, key: str) -> int:
        return len(self.runs.get(key, [self.trials[key]]))

    def challenger(self, pick: Trial) -> tuple[Trial, str, bool] | None:
        """What the pick must be measured again against, and why; None when nothing is left:
        a baseline wholly above it first, then the closest call its interval cannot separate
        from it, then a near miss measured once (its whole ladder again: it missed the SLO
        above its capacity, where one second look may pass). Pairs that both stand on MAX_RUNS
        are done; the flag says whether to measure the challenger in full."""
        pick_runs = self.runs_of(self.key_of(pick))

        def open_(t: Trial) -> bool:
            if rank.settled_tie(t, pick):
                return False  # already a tie: closer than a rung is measured to
            return self.runs_of(self.key_of(t)) < MAX_RUNS or pick_runs < MAX_RUNS

        above = rank.baseline_above(self.trials.values(), pick)
        if above is not None and open_(above):
            return above, "a rule of thumb whose interval lies wholly above the pick", False
        for t in rank.close_rivals(self.trials.values(), pick, self.sp.rules):
            if open_(t) and self.could_overturn(pick, pick_runs, t):
                return t, "their intervals overlap", False
        near = near_miss(self.trials, pick)
        if near is not None and self.runs_of(self.key_of(near)) == 1:
            return near, "its peak would have beaten the pick, but its latency missed the SLO", True
        return None

    def could_overturn(self, pick: Trial, pick_runs: int, rival: Trial) -> bool:
        """Could measuring `rival` again change the pick? Not once the pick stands on two
        runs or more (no longer one lucky run) while the rival is both below its figure and
        below it in the tie-break: a tie would go to the pick anyway, and the rival would
        have to come out wholly above it."""
        return (
            pick_runs < 2 or rank.figure(rival) > rank.figure(pick)
            or self.tie_break(rival) > self.tie_break(pick)
        )  # fmt: skip

    def close_calls(self) -> Settlement:
        """Measure the pick and its challenger again, a round at a time, until nothing is left
        to challenge it (the intervals separated, or a pair stands on MAX_RUNS runs each: a
        tie, which rank's tie-break decides), MAX_ROUNDS rounds, or the budget. A round that
        does not fit in the budget is not started: half of one would favour one side."""
        for _ in range(MAX_ROUNDS):
            if self.clock.stopped():
                break
            pick = rank.best(
                self.trials.values(), self.sp.machine.server_cores, self.sp.rules, self.tie_break
            )
            found = self.challenger(pick) if pick is not None else None
            if pick is None or found is None:
                break
            other, why, full = found
            other_key = self.key_of(other)
            keys = [k for k in (other_key, self.key_of(pick)) if self.runs_of(k) < MAX_RUNS]
            if not self.clock.room(len(keys)):
                self.say(
                    f"no time left to measure {other.config.label} against "
                    f"{pick.config.label} again ({why})"
                )
                break
            self.say(
                f"measuring again: {other.config.label} "
                f"({interval.text(rank.figure(other), rank.ci(other))}) against "
                f"{pick.config.label} ({interval.text(rank.figure(pick), rank.ci(pick))}): {why}"
            )
            for k in keys:
                if not self.again(k, full=full and k == other_key).feasible:
                    break
        return Settlement()
