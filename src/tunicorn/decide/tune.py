"""Tune: the driver. Profile, measure the opening, climb, settle, decide.

Each step is a call into its stage (DESIGN.md, "Pipeline"): the profile says where time and
memory go; the search (`search.opening`, `search.climb`) names the next configuration; the
measure stage (`measure.TrialMeter`) finds its capacity on a real server; the settle stage
measures close calls again; `recommend.decide` turns the trials into the answer. The
startup command is written afterwards by the emit stage (the CLI wires it), so nothing
here imports a later stage.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tunicorn import model, settings
from tunicorn.app.target import Target
from tunicorn.decide import rank, recommend, search, settle, stall
from tunicorn.decide.settle import Settler
from tunicorn.load import LocustOptions, Request
from tunicorn.record import (
    Constraints,
    Machine,
    Profile,
    ServerConfig,
    Settlement,
    Tick,
    Trial,
    TuneResult,
)
from tunicorn.run.capacity import MAX_WINDOW_S, window_s
from tunicorn.run.deal import Dealer, TrialDealer, dealt_by_race
from tunicorn.run.measure import Confirm, Measure, TrialMeter, TrialPlan, unmeasured
from tunicorn.run.profile import gevent_applies
from tunicorn.run.profile import profile as run_profile
from tunicorn.supervise import settles


@dataclasses.dataclass(frozen=True)
class TuneSettings:
    """What one tune is asked; every default is declared once, in settings.py."""

    machine: Machine  # the plan's cores and memory, resolved once (machine.emulate)
    slo_p95_ms: float | None = settings.SLO_P95.default  # None: derived from the profile
    budget_s: float | None = settings.BUDGET.default  # None: derived from the profile
    warmup_s: float = settings.WARMUP.default
    saturate_s: float = settings.SATURATE.default
    verify_s: float = settings.VERIFY.default
    max_threads: int = settings.MAX_THREADS.default
    max_workers_per_core: int = settings.MAX_WORKERS_PER_CORE.default
    gevent: bool | None = settings.GEVENT.default  # None: when installed and the app mostly waits
    keepalive: bool = settings.KEEPALIVE.default  # False: a new connection per request
    prune: bool = settings.PRUNE.default  # stop a trial's SLO checks once it cannot win
    runoff: bool = settings.RUNOFF.default  # measure close calls again (settle.py)
    single_slot: bool = settings.SINGLE_SLOT.default  # allow a pick that serves one at a time
    both_models: bool = settings.BOTH_MODELS.default  # finalists under both client models
    locust: LocustOptions | None = None  # load with a locustfile's users on Locust instead
    stall: stall.Stall = stall.DEFAULT  # the stalled upstream the finalists are checked under
    stall_check: bool = settings.STALL_CHECK.default  # False: skip that check
    expected_rps: float | None = settings.EXPECTED_RPS.default  # the check's load; None: a share


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


# What a derived budget pays for after the profile, besides the reserve the search keeps for
# settling (reserve_trials) and the stall check: the opening (three baselines, the model's
# start, one gevent worker) and a short climb.
EXPECTED_TRIALS = 7
SEARCH_TRIALS = 2  # of them, the search's own (the opening measures five)
BUDGET_MIN_S, BUDGET_MAX_S = 60.0, 1200.0
# Kept-alive capacities dealt again (deal.py), each about one trial more: with --keep-alive
# about half the configurations tried have several workers that race to accept (otherwise
# the finalists under the other, kept-alive, client model: reserve_trials counts those).
KEEPALIVE_DEALS = 3
DEAL_LEADS = 2  # leads dealt after the search, where it had no room to deal them


def search_deals(s: TuneSettings) -> int:
    """How many kept-alive capacities a --keep-alive search expects to deal again (each about
    one trial): the budget pays for them, so judging by the low end does not starve it."""
    return KEEPALIVE_DEALS if s.keepalive else 0


START_STOP_S = 1.5  # a server's start and stop around a trial's windows, as the budget estimates it
LONGEST = 1.5  # a window runs at most this many times its expected length while not yet sure


def longest_window(s: TuneSettings, rate_rps: float) -> float:
    """The longest a window runs while not yet sure: half as long again as the windows the
    budget was derived for at this app's expected rate (a 1 ms page: its minimum and a half;
    an 80 ms page: tens of seconds)."""
    return min(MAX_WINDOW_S, LONGEST * window_s(s.verify_s, rate_rps))


def expected_rate(profile: Profile, cpus: int) -> float:
    """About what one trial serves, from the profile's service time: the CPU bound (cores /
    CPU per request), or for a page that mostly waits, one request per slot of Little's law."""
    if profile.cpu_ms > 0:
        return model.cpu_bound_or_zero(cpus, profile.cpu_ms)
    return 1000.0 * max(1, cpus) / profile.wall_ms if profile.wall_ms > 0 else 0.0


def per_trial_s(s: TuneSettings, rate_rps: float = 0.0) -> float:
    """A typical trial at this app's windows: its peak, one step of the capacity ladder, a
    server start and stop. Each window runs until sure (capacity.UntilSure), so a slow page's
    windows are longer: about ENOUGH_REQUESTS at the expected rate."""
    sat = window_s(s.saturate_s, rate_rps) if rate_rps > 0 else s.saturate_s
    step = window_s(s.verify_s, rate_rps) if rate_rps > 0 else s.verify_s
    return s.warmup_s + sat + step + 0.3 + START_STOP_S


def reserve_trials(s: TuneSettings) -> int:
    """The trials the search leaves room for: a round of close calls and the finalists under
    the other client model (dealt again under kept-alive connections: about one trial each)."""
    finalists = settle.FINALISTS * (1 if s.keepalive else 2) if s.both_models else 0
    return (2 if s.runoff else 0) + finalists


def derived_budget(
    s: TuneSettings, profile: Profile, profiled_s: float = 0.0, stall_s: float = 0.0
) -> float:
    """The default budget: the profile's time, then EXPECTED_TRIALS at this app's window
    lengths and the stall check's finalists (`stall_s`), within sane bounds (a 1 ms page and
    an 80 ms page cannot share one figure); the kept-alive deals a --keep-alive search makes
    count too (`search_deals`)."""
    rate = expected_rate(profile, s.machine.cpus)
    trials = EXPECTED_TRIALS + reserve_trials(s) + search_deals(s)
    enough = profiled_s + trials * per_trial_s(s, rate) + stall_s
    return budget_figure(enough)


def budget_figure(seconds: float) -> float:
    """A budget as tune states it: `seconds` rounded up to ten, within BUDGET_MIN_S-BUDGET_MAX_S."""
    return float(min(BUDGET_MAX_S, max(BUDGET_MIN_S, math.ceil(seconds / 10.0) * 10)))


class Budget:
    """The time a tune may spend; the search keeps room for settling close calls."""

    def __init__(
        self, s: TuneSettings, stop: threading.Event | None, *, stall_check: bool = False
    ) -> None:
        self.started = time.monotonic()
        self.settings = s
        self.budget_s = s.budget_s if s.budget_s is not None else BUDGET_MAX_S
        self.per_trial_s = self.estimate_s = per_trial_s(s)
        self.reserve_s = 0.0
        self.reserve_trials = 0
        self.taken: list[float] = []
        # The finalists under a stall, where they will run, keep their own room.
        self.stall_s = stall.reserve_s(s.stall) if stall_check else 0.0
        self.stop = stop
        self.fit(0.0)

    def fit(self, rate_rps: float, budget_s: float | None = None) -> None:
        """Size trials for this app's expected rate (after the profile), and take the derived
        budget where none was given (`--budget` caps it otherwise)."""
        s = self.settings
        self.per_trial_s = self.estimate_s = per_trial_s(s, rate_rps)
        if budget_s is not None:
            self.budget_s = budget_s
        self.reserve_trials = reserve_trials(s)
        self.reserve_s = self.per_trial_s * self.reserve_trials + self.stall_s

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def observe(self, seconds: float) -> None:
        """A trial took `seconds` of this budget: from the second trial on, the trials measured
        so far (their mean, at least half the estimate) size what is left."""
        self.taken.append(seconds)
        if len(self.taken) >= 2:
            mean = sum(self.taken) / len(self.taken)
            self.per_trial_s = max(0.5 * self.estimate_s, mean)
            self.reserve_s = self.per_trial_s * self.reserve_trials + self.stall_s

    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def room(self, trials: int, *, stalling: bool = False, over_s: float = 0.0) -> bool:
        """Is there time for `trials` more (settling spends the reserve the search keeps, but
        not the stall check's, which only the check itself spends: `stalling`), `over_s` past
        the budget allowed?"""
        keep = 0.0 if stalling else self.stall_s
        return not self.stopped() and (
            self.elapsed() + trials * self.per_trial_s + keep <= self.budget_s + over_s
        )

    def stretch_s(self) -> float:
        """How far the stall check may run past a derived budget while no finalist has held
        (its point is a pick that holds): its own reserve again. None past a --budget."""
        return self.stall_s if self.settings.budget_s is None else 0.0

    def searching(self) -> bool:
        """Is there time for one more search trial, keeping the reserve?"""
        return self.room(1) and self.elapsed() + self.per_trial_s + self.reserve_s <= self.budget_s

    def keep_search(self) -> bool:
        """A derived budget promises the search SEARCH_TRIALS of its own: where the opening
        left no room for one (its trials ran longer than estimated: a database page's 1×1
        sync baseline, six closed loops for one gevent shape), it grows to pay for them at the
        trials' measured length, up to BUDGET_MAX_S; True if it grew. A --budget stays."""
        if self.settings.budget_s is not None or self.stopped() or self.searching():
            return False
        grown = budget_figure(self.elapsed() + SEARCH_TRIALS * self.per_trial_s + self.reserve_s)
        if grown <= self.budget_s:
            return False
        self.budget_s = grown
        return True

    def expect_s(self) -> float:
        """How long this tune expects to take in all: the time so far, then EXPECTED_TRIALS
        and the kept-alive deals of a --keep-alive search at this app's trial length and the
        reserve for settling and the stall check, within the budget."""
        trials = EXPECTED_TRIALS + search_deals(self.settings)
        return min(self.budget_s, self.elapsed() + trials * self.per_trial_s + self.reserve_s)


class Trials:
    """The trials measured so far, by configuration key, and the one door a trial comes in by:
    memory is checked before a server starts, events go out, each key is measured once."""

    def __init__(
        self,
        measure: Measure,
        predict: Callable[[ServerConfig], float],
        budget_mib: float,
        events: TuneEvents,
        other: Measure | None = None,
        timed: Callable[[float], None] = lambda seconds: None,
        dealer: Dealer | None = None,
        deal_other: Dealer | None = None,
        confirm: Confirm | None = None,
    ) -> None:
        self.by_key: dict[str, Trial] = {}
        # A configuration measured again at its capacity's clients (settling); without one
        # (formulas in tests), measured again in full.
        self._confirm = confirm or (lambda config, source, clients: measure(config, source, 0.0))
        # Kept-alive capacities on workers that race to accept are dealt again (deal.py), while
        # `may_deal` says the budget has room for it (about one trial each).
        self._deal, self._deal_other = dealer, deal_other
        self.may_deal: Callable[[], bool] = lambda: True
        self.timed = timed  # told how long each measured trial took (the budget learns)
        self._measure = measure
        self._other = other
        self._predict = predict
        self.budget_mib = budget_mib
        self._events = events
        self._started = 0

    @classmethod
    def on_servers(
        cls,
        target: Target,
        requests: tuple[Request, ...],
        s: TuneSettings,
        profile: Profile,
        *,
        events: TuneEvents,
        log_dir: str | Path | None = None,
        stop: threading.Event | None = None,
        out_of_time: Callable[[], bool] = lambda: False,
        spent: Callable[[], bool] = lambda: False,
        measure: Measure | None = None,
        other: Measure | None = None,
        longest_s: float = 0.0,
        dealer: Dealer | None = None,
        deal_other: Dealer | None = None,
    ) -> Trials:
        """A store whose trials run on real servers (or on `measure`, where one is given) on
        `s`'s machine and within its SLO (tune resolves it; unset, the profile's default);
        `other` measures with the other client model (on servers too, unless `measure` is
        given: then only where `other` is)."""
        m = s.machine
        budget_mib = m.memory_budget_mib
        confirm: Confirm | None = None
        if measure is None:
            plan = TrialPlan(
                target=target, requests=requests, cores=m.cores,
                slo_p95_ms=s.slo_p95_ms or default_slo(profile), budget_mib=budget_mib,
                gevent_clients=model.slots_at_load(
                    m.cpus, profile.wall_ms, profile.cpu_ms, profile.gevent_process),
                single_ms=profile.wall_ms,
                warmup_s=s.warmup_s, saturate_s=s.saturate_s, verify_s=s.verify_s,
                keepalive=s.keepalive, log_dir=log_dir, locust=s.locust,
                loop_limit=search.asgi_slots(profile) if target.is_asgi else 0.0,
                longest_s=longest_s,
            )  # fmt: skip
            meter = TrialMeter(
                plan, on_tick=events.tick, stop=stop, out_of_time=out_of_time, spent=spent
            )
            measure, confirm = meter, meter.confirm
            flipped = dataclasses.replace(plan, keepalive=not plan.keepalive)
            other = other or TrialMeter(flipped, on_tick=events.tick, stop=stop, spent=spent)
            dealer = dealer or TrialDealer(plan, on_tick=events.tick, stop=stop)
            deal_other = deal_other or TrialDealer(flipped, on_tick=events.tick, stop=stop)
        return cls(
            measure, lambda c: model.predict_pss(profile.memory, c), budget_mib, events, other,
            dealer=dealer, deal_other=deal_other, confirm=confirm,
        )  # fmt: skip

    @property
    def other(self) -> Measure | None:
        """One measurement with the other client model (a `Measure`), where there is one."""
        if self._other is None:
            return None
        other = self._other

        def measure(config: ServerConfig, source: str, beat_rps: float = 0.0) -> Trial:
            return self._run(other, config, source, beat_rps, self._deal_other)

        return measure

    def known(self, trial: Trial) -> Trial:
        """A trial decided without a server (a configuration that cannot serve the app)."""
        self._started += 1
        self._events.trial_start(trial.config, trial.source, self._started)
        self.by_key.setdefault(trial.key, trial)
        self._events.trial_done(trial)
        return self.by_key[trial.key]

    def measure(self, config: ServerConfig, source: str, beat_rps: float = 0.0) -> Trial:
        """Measure `config` unless it already has a trial (then that trial stands)."""
        config = config.effective()
        if config.key in self.by_key:
            return self.by_key[config.key]
        trial = self.run(config, source, beat_rps)
        self.by_key[config.key] = trial
        return trial

    def run(self, config: ServerConfig, source: str, beat_rps: float = 0.0) -> Trial:
        """One measurement of `config`, whether or not it was measured before (a `Measure`)."""
        return self._run(self._measure, config, source, beat_rps, self._deal)

    def again(self, config: ServerConfig, source: str, clients: int) -> Trial:
        """`config` measured once more at the `clients` that showed its capacity (a
        `Confirm`), whether or not it was measured before."""
        confirm = self._confirm

        def measure(config: ServerConfig, source: str, beat_rps: float) -> Trial:
            return confirm(config, source, clients)

        return self._run(measure, config, source, 0.0, self._deal)

    def _run(
        self,
        measure: Measure,
        config: ServerConfig,
        source: str,
        beat_rps: float,
        dealer: Dealer | None = None,
    ) -> Trial:
        config = config.effective()
        predicted = self._predict(config)
        self._started += 1
        self._events.trial_start(config, source, self._started)
        if predicted > self.budget_mib:
            trial = unmeasured(
                config, source, "memory", predicted,
                f"predicted {predicted:.0f} MiB PSS is over the {self.budget_mib:.0f} MiB "
                "budget; not started",
            )  # fmt: skip
        else:
            began = time.monotonic()
            trial = dataclasses.replace(
                measure(config, source, beat_rps), predicted_pss_mib=round(predicted, 1)
            )
            trial = self._dealt(dealer, trial)
            self.timed(time.monotonic() - began)
        self._events.trial_done(trial)
        return trial

    def deal_lead(self, sp: search.Space) -> None:
        """Deal the best trial again where its kept-alive capacity is luck but was measured
        when the budget had no room to deal it: the pick never stands on one lucky hand while
        there is time to deal it. The lead may change with it, so up to DEAL_LEADS times."""
        for _ in range(DEAL_LEADS):
            lead = rank.best(self.by_key.values(), sp.machine.server_cores, sp.rules)
            if lead is None or lead.deals is not None or self._deal is None:
                return
            if not dealt_by_race(lead.config, self._deal.keepalive) or not self.may_deal():
                return
            self._events.say(f"dealing {lead.config.label}'s kept-alive connections again")
            key = next(k for k, t in self.by_key.items() if t is lead)
            self.by_key[key] = self._dealt(self._deal, lead)

    def _dealt(self, dealer: Dealer | None, trial: Trial) -> Trial:
        """`trial` dealt again where its kept-alive capacity is luck (several workers racing
        to accept) and the budget has room: rank then judges it by the low end of its hands.
        Where there is no room it stands on one hand, and says so."""
        if dealer is None or not trial.feasible or trial.capacity_rps <= 0:
            return trial
        if not dealt_by_race(trial.config, dealer.keepalive):
            return trial
        if not self.may_deal():
            self._events.say(
                f"no time left to deal {trial.config.label}'s kept-alive connections again: "
                "its capacity stands on one hand of the accept race"
            )
            return trial
        return dealer(trial)


@settles
def tune(
    target: Target,
    requests: tuple[Request, ...],
    s: TuneSettings,
    *,
    events: TuneEvents | None = None,
    log_dir: str | Path | None = None,
    stop: threading.Event | None = None,
    profile: Profile | None = None,
    measure: Measure | None = None,
    measure_other: Measure | None = None,
    deal: Dealer | None = None,
    deal_other: Dealer | None = None,
) -> TuneResult:
    """Profile `target`, search its configurations on `s`'s plan, and decide.

    `measure` (and `measure_other`, with the other client model) replace the real measurement
    (formulas, in the search's tests), and `deal` (`deal_other`) the kept-alive hands dealt
    again; `profile` skips profiling (the zoo benchmark shares one between the tuner and its
    grid).
    """
    events = events or TuneEvents()
    stall_check = s.stall_check and s.locust is None and measure is None
    budget = Budget(s, stop, stall_check=stall_check)
    m = s.machine
    if profile is None:
        events.say("profiling the app (CPU vs waiting per route, memory per worker/thread)")
        profile = run_profile(
            target, requests, cores=m.cores, log_dir=log_dir, say=events.say,
            keepalive=s.keepalive, gevent=s.gevent, locust=s.locust,
        )  # fmt: skip
    slo = s.slo_p95_ms or default_slo(profile)
    s = dataclasses.replace(s, slo_p95_ms=slo)  # the SLO resolved, for the trials and the record
    rate = expected_rate(profile, m.cpus)
    derived = derived_budget(s, profile, budget.elapsed(), budget.stall_s)
    budget.fit(rate, derived if s.budget_s is None else s.budget_s)  # --budget: the user's cap
    events.say(
        f"expect about {budget.expect_s():.0f} s for this app: about {rate:,.0f} req/s at "
        f"{profile.wall_ms:.1f} ms a request, so trials of about {budget.per_trial_s:.0f} s "
        f"(budget {budget.budget_s:.0f} s"
        + (", derived from the profile)" if s.budget_s is None else f", --budget; {derived:.0f} s "
           "would be derived)")
    )
    trials = Trials.on_servers(
        target, requests, s, profile, events=events, log_dir=log_dir, stop=stop,
        out_of_time=lambda: not budget.searching(), spent=lambda: not budget.searching(),
        measure=measure, other=measure_other, longest_s=longest_window(s, rate),
        dealer=deal, deal_other=deal_other,
    )  # fmt: skip
    trials.may_deal = budget.searching  # a deal costs about one trial: keep the reserve
    if measure is None:  # formulas take no time: the budget learns only from real trials
        trials.timed = budget.observe

    def fits(config: ServerConfig) -> bool:
        return model.fits(profile.memory, config, m.memory_budget_mib)

    sp = search.space(
        profile, m, fits,
        max_threads=s.max_threads, max_workers_per_core=s.max_workers_per_core,
        single_slot=s.single_slot,
    )  # fmt: skip
    asgi = target.is_asgi
    if asgi:
        start = search.asgi_start(profile, m.cpus, sp.max_workers, fits)
    else:
        start = search.model_start(profile, m.cpus, fits, sp.max_workers, sp.rules.min_slots)

    def beat(source: str) -> float:
        """The capacity a trial must beat to matter; 0 measures it in full (baselines are
        part of the answer, and the search may be told not to prune)."""
        lead = rank.top(trials.by_key.values(), sp.rules)
        if lead and lead.deals is None and dealt_by_race(lead.config, s.keepalive):
            return 0.0  # one hand of the accept race, perhaps a lucky one: it prunes nothing
        return rank.ci(lead)[0] if lead and s.prune and source != "baseline" else 0.0

    reference = search.simple(sp).key  # the compute-bound answer: measured in full, like a baseline

    # 1. What every tune measures: the baselines and the model's start.
    if asgi:
        opening = _asgi_opening(trials, sp, start)
    else:
        opening = search.opening(
            trials.by_key, profile, sp, start, gevent_applies(s.gevent, profile.wait_compute_ratio)
        )
    for config, source in opening:
        trials.measure(config, source, 0.0 if config.key == reference else beat(source))
    fixed_s = budget.elapsed()
    derived_s = budget.budget_s
    if budget.keep_search():
        events.say(
            f"the opening took {fixed_s:.0f} s (trials of about {budget.per_trial_s:.0f} s): "
            f"the derived budget grows from {derived_s:.0f} to {budget.budget_s:.0f} s so the "
            f"search gets its {SEARCH_TRIALS} trials"
        )
    starved = not budget.searching() and not budget.stopped()

    # 2. The climb, while there is time.
    if search.compute_bound(trials.by_key, sp):
        events.say(
            "one request per process already keeps the CPU busy: more slots cannot add capacity, "
            "so there is nothing to climb"
        )
    for config in _while(budget.searching, search.climb(trials.by_key, sp, start)):
        trials.measure(config, "search", beat("search"))

    # 3. Close calls measured again, the lead first dealt where it was not (settling spends
    # the reserve, deals included).
    trials.may_deal = lambda: budget.room(1)
    trials.deal_lead(sp)
    settled = Settlement()
    if s.runoff or s.both_models:
        settler = Settler(trials.by_key, trials.again, sp, budget, events.say)
        if s.runoff:
            settled = settler.close_calls()
        if s.both_models and trials.other is not None:
            settler.client_models(trials.other, not s.keepalive, settled)

    # 4. The decision.
    warnings = list(profile.warnings)
    if m.warning:
        warnings.append(m.warning)
    if starved:
        # Room for a few search trials and the settling reserve after the fixed part.
        enough = int(math.ceil((fixed_s + 5 * budget.per_trial_s + budget.reserve_s) / 10.0) * 10)
        warnings.append(recommend.starved_warning(budget.budget_s, fixed_s, enough))
    constraints = Constraints.of(m, slo, sp.rules)

    def decide(allowed: frozenset[str] | None = None) -> TuneResult:
        return recommend.decide(
            target=target.label, app=target.app, trials=trials.by_key,
            profile=profile, constraints=constraints, settlement=settled,
            elapsed_s=budget.elapsed(), run_warnings=warnings,
            baselines=search.asgi_baselines(m.cpus) if asgi else None, allowed=allowed,
        )  # fmt: skip

    result = decide()

    # 5. The finalists under a stalled upstream (--stall): the pick is one that holds.
    if stall_check and result.recommendation:
        events.say(f"the finalists under a stalled upstream ({s.stall.words()})")
        runner = stall.server_runner(target, m.cpus, log_dir=log_dir, stop=stop)
        check = stall.check(
            result, s.stall, requests, runner,
            expected_rps=s.expected_rps, keepalive=s.keepalive, say=events.say,
            go=lambda looking: not budget.stopped() and budget.elapsed()
            < budget.budget_s + (budget.stretch_s() if looking else 0.0),
        )  # fmt: skip
        # None held: the pick's workers with the slots the model asks for, if there is time.
        cap = min(s.max_threads, sp.rules.max_threads or s.max_threads)
        shapes: list[ServerConfig] = []
        if check.runs and not stall.holding(check) and result.pick is not None:
            shapes = stall.wider(
                check, result.pick.config, fits, cap, m.cpus, search.threads_safe(trials.by_key)
            )
        for wide in shapes:
            if stall.holding(check) or not budget.room(
                2, stalling=True, over_s=budget.stretch_s()
            ):
                break
            wider = trials.measure(wide, "stall")
            if wider.feasible:
                check = stall.extended(check, wider, requests, runner, keepalive=s.keepalive)
        allowed = recommend.stall_allowed(check)
        repicked = decide(allowed) if allowed is not None else None
        if repicked is not None and repicked.recommendation is not None:
            result = repicked
        result = recommend.under_stall(result, check)
        result = dataclasses.replace(result, elapsed_s=round(budget.elapsed(), 1))
    return result


def _asgi_opening(
    trials: Trials, sp: search.Space, start: ServerConfig
) -> Iterator[tuple[ServerConfig, str]]:
    """An ASGI app's opening, with App Service's default recorded as the trial it would be
    (sync gunicorn cannot serve it) instead of a server started to show it."""
    default = next(
        c for _, role, c in search.asgi_baselines(sp.machine.cpus) if role == "app-service-default"
    )
    trials.known(unmeasured(default, "baseline", "interface", 0.0, search.ASGI_DEFAULT_NOTE))
    yield from search.asgi_opening(trials.by_key, sp, start)


def _while(go: Callable[[], bool], configs: Iterator[ServerConfig]) -> Iterator[ServerConfig]:
    """The search's configurations for as long as `go()` holds (checked before each)."""
    while go():
        config = next(configs, None)
        if config is None:
            return
        yield config
