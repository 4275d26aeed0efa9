"""The tuner's search on made-up capacity surfaces: which trials it runs and what it picks.

Only the measurement is replaced, by a formula passed to `tune` as its `measure`; the
opening, the family climbs, pruning, the final, the runoff and the decision are the
tuner's own code.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable

from tests.reportdata import flat_profile
from tunicorn import interval, model
from tunicorn.app.target import Target
from tunicorn.decide import rank, search, settle
from tunicorn.decide.tune import TuneEvents, TuneSettings, per_trial_s, tune
from tunicorn.machine import emulate
from tunicorn.record import (
    ClientStats,
    Deal,
    Latency,
    MemoryProfile,
    Profile,
    ServerConfig,
    ServerStats,
    Trial,
    TuneResult,
)
from tunicorn.run.capacity import cannot_win
from tunicorn.run.deal import summarise
from tunicorn.run.measure import unmeasured

Surface = Callable[[ServerConfig], float]
WITHIN = 0.85  # the share of its peak a made-up trial sustains within the SLO
# A made-up trial's per-tick throughput around its capacity: a 95% interval of about ±4%,
# the within-window spread a real fast page shows on a quiet machine.
SPREAD = (-0.04, -0.02, 0.0, 0.02, 0.04)
Tweak = Callable[[ServerConfig, Trial], Trial]


class Formula:
    """A `Measure` that reads a configuration's peak rate off a formula instead of a server.

    Capacity is 85% of the peak, unless that cannot beat what the tuner asks it to (then it
    stops as "slower", as a real trial does); a negative peak means the app answers 5xx under
    that configuration.
    """

    def __init__(
        self,
        surface: Surface,
        busy: float | Callable[[ServerConfig], float] = 0.0,
        tweak: Tweak | None = None,
    ) -> None:
        self.surface = surface
        self.busy = busy  # cores the server keeps busy in a closed loop (or per configuration)
        self.tweak = tweak
        self.ran: list[str] = []
        self.memory = MemoryProfile(base_mib=40.0, per_worker_mib=20.0, per_thread_mib=1.0)

    def __call__(self, config: ServerConfig, source: str, beat_rps: float) -> Trial:
        self.ran.append(config.label)
        peak = self.surface(config)
        if peak < 0:  # the app breaks under this configuration
            return unmeasured(config, source, "errors", 0.0, "answered 5xx")
        reach = WITHIN * peak
        busy = self.busy(config) if callable(self.busy) else self.busy
        slower = cannot_win(reach, beat_rps)
        trial = Trial(
            config=config, source=source, feasible=not slower, reason="slower" if slower else "",
            capacity_rps=0.0 if slower else reach, throughput_rps=peak, requests=100, errors=0,
            latency_ms=Latency(p50=50.0, p95=80.0, p99=90.0, mean=55.0, max=100.0),
            server=ServerStats(
                cpu_cores_busy=busy, pss_mib_peak=model.predict_pss(self.memory, config)
            ),
            client=ClientStats(), reachable_rps=reach if slower else 0.0,
        )  # fmt: skip
        if not slower:
            samples = tuple(reach * (1 + d) for d in SPREAD)
            trial = dataclasses.replace(
                trial, capacity_samples=samples, capacity_ci=interval.around(reach, samples)
            )
        return self.tweak(config, trial) if self.tweak else trial


def run(formula: Formula, prof: Profile, **settings: object) -> TuneResult:
    base = {"machine": emulate(1, 1792.0), "gevent": True, "budget_s": 1e9, **settings}
    formula.memory = prof.memory  # a trial uses what the profile predicts for it
    return tune(
        Target(kind="app", app="m:app", label="t"), (), TuneSettings(**base),  # type: ignore[arg-type]
        profile=prof, measure=formula,
    )  # fmt: skip


def lock_like(c: ServerConfig) -> float:
    """One lock per process: only workers add capacity; threads and greenlets queue on it."""
    return 20.0 * c.workers * (1.0 if c.worker_class == "sync" else 0.9)


def wait_like(c: ServerConfig) -> float:
    """Pure waiting: gevent leads one process, a few gthread workers × many threads overtake
    it, until the core is busy (1100 req/s, a little less for every extra process)."""
    if c.worker_class == "gevent":
        return 800.0 + 5 * c.workers
    return min(c.slots * 10.0, 350.0 * c.workers, 1100.0 * (1 - 0.01 * c.workers))


def unsafe(c: ServerConfig) -> float:
    """Two requests in one process break it; processes scale."""
    return 40.0 * c.workers if c.slots == c.workers else -100.0


def flat_cpu(c: ServerConfig) -> float:
    """Compute-bound on one core: everything is within a percent of 150 req/s."""
    return 150.0 * (1 - 0.001 * c.slots)


def test_a_per_process_lock_climbs_to_the_worker_cap_in_doubling_steps() -> None:
    formula = Formula(lock_like)
    result = run(formula, flat_profile(1.0, 50.0))
    assert result.recommendation is not None
    assert (result.recommendation.workers, result.recommendation.threads) == (8, 1)
    workers_tried = sorted(
        {int(label.split("×")[0]) for label in formula.ran if label.endswith("sync")}
    )
    assert {6, 8} <= set(workers_tried) and 5 not in workers_tried  # 3 → 4 → 6 → 8, not one by one


def test_a_family_that_starts_behind_can_overtake() -> None:
    formula = Formula(wait_like)
    rec = run(formula, flat_profile(1.0, 100.0)).recommendation
    assert rec is not None and rec.worker_class == "gthread" and rec.workers >= 3
    assert any("gevent" in label for label in formula.ran)


def test_a_flat_surface_is_not_walked() -> None:
    result = run(Formula(flat_cpu), flat_profile(7.0, 7.2), gevent=False)
    searched = [t for t in result.trials if t.source == "search"]
    assert len(searched) <= 4  # one ring of neighbours around the start, then a stop
    rec = result.recommendation
    tied = rank.ties(result.trials, result.constraints.rules)
    assert rec is not None and len(tied) > 1  # a flat surface: the intervals cannot separate
    assert rec.workers * rec.threads == max(t.config.slots for t in tied)  # the more robust


def creeping(c: ServerConfig) -> float:
    """3% more for every doubling of slots: a climb that is not stopped walks up to 64 threads."""
    return 150.0 * (1 + 0.03 * math.log2(c.slots))


def test_a_leader_that_keeps_the_cpu_busy_is_not_given_more_slots() -> None:
    free = Formula(creeping)
    free_result = run(free, flat_profile(7.0, 7.2), gevent=False)
    # One request per core leaves the CPU idle (so there is something to climb), but from
    # four slots up the CPU is busy.
    busy = Formula(creeping, busy=lambda c: 0.99 if c.slots >= 4 else 0.3)
    busy_result = run(busy, flat_profile(7.0, 7.2), gevent=False)
    # The 3×6 baseline (18 slots) is the busy leader: its family only steps to as many or fewer.
    assert max(t.config.slots for t in busy_result.trials if t.server is not None) <= 18
    assert max(t.config.slots for t in free_result.trials if t.server is not None) > 18
    assert len(set(busy.ran)) < len(set(free.ran))


def test_when_one_request_per_core_keeps_the_cpu_busy_nothing_is_climbed() -> None:
    result = run(Formula(creeping, busy=0.97), flat_profile(7.0, 7.2), gevent=False)
    assert not [t for t in result.trials if t.source == "search"]


def test_a_busy_cpu_tie_goes_to_more_slots_whatever_the_p95() -> None:
    """Compute-bound on one core: every configuration within 2%, the CPU busy in all of them,
    and the one-thread ones happen to show the lower p95 (queueing noise at a saturated
    core). Their intervals overlap: a tie, which goes to the most slots, not the p95."""

    def noisy_p95(config: ServerConfig, trial: Trial) -> Trial:
        p95 = 33.0 if config.threads > 1 else 8.0
        return dataclasses.replace(trial, latency_ms=dataclasses.replace(trial.latency_ms, p95=p95))

    def flat(c: ServerConfig) -> float:
        return 150.0 * (1 - 0.02 * (c.threads > 1)) if c.slots <= 18 else 140.0

    result = run(Formula(flat, busy=1.0, tweak=noisy_p95), flat_profile(7.0, 7.2), gevent=False)
    rec = result.recommendation
    tied = rank.ties(result.trials, result.constraints.rules)
    assert rec is not None and rec.threads > 1
    assert rec.workers * rec.threads == max(t.config.slots for t in tied)


def test_the_search_runs_well_under_half_the_grid() -> None:
    grid = [search.with_threads(w, t) for w in range(1, 9) for t in (1, 2, 4, 8, 16, 32, 64)]
    for surface, prof in (
        (lock_like, flat_profile(1.0, 50.0)),
        (wait_like, flat_profile(1.0, 100.0)),
    ):
        formula = Formula(surface)
        run(formula, prof)
        assert len(formula.ran) < len(grid) / 2


def test_once_threads_break_the_app_the_search_stays_with_one_request_per_process() -> None:
    formula = Formula(unsafe)
    rec = run(formula, flat_profile(0.5, 20.0)).recommendation
    assert rec is not None and (rec.workers, rec.threads, rec.worker_class) == (8, 1, "sync")
    threaded = [label for label in formula.ran if not label.endswith("sync")]
    # The 3×6 baseline and the model's start break it; nothing threaded after that, not gevent.
    assert len(threaded) == 2


def test_a_lucky_first_run_is_measured_again_and_loses_the_pick() -> None:
    runs: dict[str, int] = {}

    def lucky_three(c: ServerConfig) -> float:
        """Two workers are the best (160); 3×1 measures 170 once by luck, then 140. Their
        intervals (±4%) overlap after the first runs: a close call, measured again."""
        runs[c.label] = runs.get(c.label, 0) + 1
        if c.label == "3×1 sync":
            return 170.0 if runs[c.label] == 1 else 140.0
        return {1: 150.0, 2: 160.0, 4: 155.0}.get(c.workers, 100.0) if c.threads == 1 else 50.0

    result = run(Formula(lucky_three), flat_profile(7.0, 7.2), gevent=False)
    assert runs["3×1 sync"] >= 2  # the lucky pick was measured again…
    rec = result.recommendation
    assert rec is not None and (rec.workers, rec.threads) == (2, 1)  # …and the real best won
    three = result.trial("3x1-sync")
    assert three is not None and three.runs and three.runs[0].capacity_rps == 0.85 * 170.0
    assert all(r.capacity_rps == 0.85 * 140.0 for r in three.runs[1:])
    two = result.trial("2x1-sync")
    assert two is not None and rank.compare(two, three) == "better"  # separated by the runs


def test_a_close_call_within_what_a_rung_resolves_is_a_tie_after_two_runs() -> None:
    """2×1 sync and 2×2 gthread measure within 2% of each other run after run: once each
    stands on two runs, both intervals lie within ±5% of their middle (closer than a rung is
    measured to), so the call is a tie without a third run, and it goes to the one with more
    slots; a configuration far behind is measured once."""
    runs: dict[str, int] = {}

    def close(c: ServerConfig) -> float:
        runs[c.label] = runs.get(c.label, 0) + 1
        return {"2×1 sync": 100.0, "2×2 gthread": 98.0}.get(c.label, 50.0)

    result = run(Formula(close, busy=0.5), flat_profile(7.0, 7.2), gevent=False)
    assert runs["2×1 sync"] == 2 and runs["2×2 gthread"] == 2
    assert max(n for label, n in runs.items() if label not in ("2×1 sync", "2×2 gthread")) == 1
    rec = result.recommendation
    assert rec is not None and (rec.workers, rec.threads) == (2, 2)
    assert any("could not be told apart" in line for line in rec.reasons)


def counted(runs: dict[str, int], peaks: dict[str, float]) -> Surface:
    """A surface of `peaks` (50 req/s for any other configuration) that counts in `runs` how
    often each configuration was measured."""

    def surface(c: ServerConfig) -> float:
        runs[c.label] = runs.get(c.label, 0) + 1
        return peaks.get(c.label, 50.0)

    return surface


NOISY = (-0.15, -0.08, 0.0, 0.08, 0.15)  # ticks spread ±15% around a window's capacity


def noisy(c: ServerConfig, t: Trial) -> Trial:
    """A Tweak: a usable trial's ticks spread NOISY instead of SPREAD."""
    if not t.feasible:
        return t
    samples = tuple(t.capacity_rps * (1 + d) for d in NOISY)
    ci = interval.around(t.capacity_rps, samples)
    return dataclasses.replace(t, capacity_samples=samples, capacity_ci=ci)


def test_a_noisy_close_call_is_measured_until_each_stands_on_max_runs() -> None:
    """The same pair with ticks spread ±15% in each window: after two runs each their
    intervals still reach past ±5% of their middle, so both are measured a third time
    (MAX_RUNS) before the tie is declared."""
    runs: dict[str, int] = {}
    close = counted(runs, {"2×1 sync": 100.0, "2×2 gthread": 98.0})
    result = run(Formula(close, busy=0.5, tweak=noisy), flat_profile(7.0, 7.2), gevent=False)
    assert runs["2×1 sync"] == settle.MAX_RUNS and runs["2×2 gthread"] == settle.MAX_RUNS
    rec = result.recommendation
    assert rec is not None and (rec.workers, rec.threads) == (2, 2)


def test_a_rival_that_could_not_change_the_pick_is_not_measured_a_third_time() -> None:
    """Noisy ticks again, but now the configuration with more slots also measures higher:
    once the pick stands on two runs, a rival below it in both figure and tie-break could
    only confirm it, so neither is measured a third time."""
    runs: dict[str, int] = {}
    close = counted(runs, {"2×2 gthread": 100.0, "2×1 sync": 98.0})
    result = run(Formula(close, busy=0.5, tweak=noisy), flat_profile(7.0, 7.2), gevent=False)
    assert runs["2×2 gthread"] == 2 and runs["2×1 sync"] == 2
    rec = result.recommendation
    assert rec is not None and (rec.workers, rec.threads) == (2, 2)


def test_a_budget_spent_before_the_search_says_so_and_what_would_search() -> None:
    starved = run(Formula(lock_like), flat_profile(1.0, 50.0), budget_s=5.0)
    advice = [w for w in starved.warnings if "ran out before the search began" in w]
    assert advice and {t.source for t in starved.trials} <= {"baseline", "model"}
    enough = float(re.search(r"--budget (\d+)", advice[0]).group(1))  # type: ignore[union-attr]
    searched = run(Formula(lock_like), flat_profile(1.0, 50.0), budget_s=enough)
    assert not any("ran out" in w for w in searched.warnings)
    assert any(t.source == "search" for t in searched.trials)


def test_a_run_that_fails_ends_the_final() -> None:
    """A near miss whose second run answers 5xx is ruled out; the final stops there."""
    runs: dict[str, int] = {}

    def surface(c: ServerConfig) -> float:
        if c.worker_class == "gevent":
            runs[c.label] = runs.get(c.label, 0) + 1
            if c.workers == 1:
                return -1.0 if runs[c.label] == 2 else 400.0
            return 300.0
        return min(c.slots * 15.0, 353.0)

    def knee_miss(config: ServerConfig, trial: Trial) -> Trial:
        if config.label == "1×1 gevent" and runs[config.label] == 1:
            return dataclasses.replace(trial, capacity_rps=0.6 * trial.throughput_rps)
        return trial

    result = run(Formula(surface, tweak=knee_miss), flat_profile(1.0, 60.0))
    assert runs["1×1 gevent"] == 2
    gevent = result.trial("1x1-gevent")
    assert gevent is not None and not gevent.feasible and gevent.reason == "errors"
    assert result.recommendation is not None and result.recommendation.worker_class == "gthread"


def test_a_rival_whose_first_check_failed_at_the_knee_gets_a_fair_final() -> None:
    """One gevent worker peaks at 400 req/s (340 within the SLO), but its first run fails the
    85% check and measures 240; gthread tops out at 300. The gevent run is a near miss: it and
    the pick are measured until each has three runs, and the medians give gevent the pick."""
    runs: dict[str, int] = {}

    def surface(c: ServerConfig) -> float:
        runs[c.label] = runs.get(c.label, 0) + 1
        if c.worker_class == "gevent":
            return 400.0 if c.workers == 1 else 300.0
        return min(c.slots * 15.0, 353.0)

    def knee_miss(config: ServerConfig, trial: Trial) -> Trial:
        if config.label == "1×1 gevent" and runs[config.label] == 1:
            return dataclasses.replace(trial, capacity_rps=0.6 * trial.throughput_rps)
        return trial

    result = run(Formula(surface, tweak=knee_miss), flat_profile(1.0, 60.0))
    assert runs["1×1 gevent"] == 3
    rec = result.recommendation
    assert rec is not None and rec.worker_class == "gevent" and rec.workers == 1
    gevent = result.trial(rec.trial)
    assert gevent is not None and gevent.pooled == "median" and len(gevent.runs) == 3


def test_a_near_miss_stopped_as_slower_gets_no_final() -> None:
    """4×64 peaks at 1800 req/s but is stopped early as "slower" (it could reach 60% of it): a
    final would need three new full runs, so it is left alone and the pick stands."""
    runs: dict[str, int] = {}

    def surface(c: ServerConfig) -> float:
        runs[c.label] = runs.get(c.label, 0) + 1
        return 1800.0 if c.label == "4×64 gthread" else min(c.slots * 10.0, 1500.0)

    def stopped_early(config: ServerConfig, trial: Trial) -> Trial:
        if config.label == "4×64 gthread" and runs[config.label] == 1:
            reach = 0.6 * trial.throughput_rps
            return dataclasses.replace(
                trial, feasible=False, reason="slower", capacity_rps=0.0, reachable_rps=reach
            )
        return trial

    run(Formula(surface, tweak=stopped_early), flat_profile(1.0, 100.0), gevent=False)
    assert runs["4×64 gthread"] == 1


def test_the_pick_holds_up_under_both_client_models() -> None:
    """Several gthread workers lead with a new connection per request, but kept-alive
    connections pile onto one of them and halve what they serve; one gevent process is a
    little behind and does not mind. The finalists are measured both ways, and the pick is
    what holds up under both; the reasons give both figures."""
    new = Formula(wait_like)
    kept = Formula(
        wait_like,
        tweak=lambda c, t: dataclasses.replace(t, capacity_rps=t.capacity_rps * 0.5)
        if c.worker_class == "gthread" and c.workers > 1 else t,
    )  # fmt: skip
    prof = flat_profile(1.0, 100.0)
    result = run(new, prof)  # no second measure: one client model, the gthread lead stands
    assert result.recommendation is not None and result.recommendation.worker_class == "gthread"
    both = tune(
        Target(kind="app", app="m:app", label="t"), (),
        TuneSettings(machine=emulate(1, 1792.0), gevent=True, budget_s=1e9),
        profile=prof, measure=new, measure_other=kept,
    )  # fmt: skip
    rec = both.recommendation
    assert rec is not None and rec.worker_class == "gevent"
    measured_both = [t for t in both.trials if t.other_model is not None]
    assert len(measured_both) == 2 and all(t.other_model.keepalive for t in measured_both)  # type: ignore[union-attr]
    assert any(r.startswith("Picked for holding up under both") for r in rec.reasons)
    assert any("kept-alive connections" in r for r in rec.reasons)


class Hands:
    """A `Dealer` on a formula: several gthread workers are dealt a wide spread (one hand puts
    most kept-alive connections on one worker and serves 40% of the best window; the others
    a little more than it), anything else a steady one. Records what it was asked to deal."""

    keepalive = True

    def __init__(self) -> None:
        self.dealt: list[str] = []

    def __call__(self, trial: Trial) -> Trial:
        self.dealt.append(trial.config.label)
        cap = trial.capacity_rps
        wide = trial.config.worker_class == "gthread"
        shares = (0.4, 1.05, 1.1) if wide else (0.97, 1.0, 1.02)
        hands = tuple(Deal(cap * x, 80.0, True, ()) for x in shares)
        return dataclasses.replace(
            trial, deals=summarise(trial.capacity_clients or 8, hands, 9.0)
        )


def test_a_wide_kept_alive_spread_loses_to_a_steadier_configuration_with_a_lower_median() -> None:
    """With kept-alive connections, several gthread workers measure the most in their best
    window, but where the connections land decides what they serve: dealt again, their low
    end is 40% of it. One gevent process (a single worker: nothing to deal) serves less than
    their median, every time. The pick is judged by the low end, so the steadier one wins;
    without dealing, the lucky window would."""
    prof = flat_profile(1.0, 100.0)
    settings = TuneSettings(machine=emulate(1, 1792.0), gevent=True, budget_s=1e9, keepalive=True)
    target = Target(kind="app", app="m:app", label="t")
    lucky = tune(target, (), settings, profile=prof, measure=Formula(wait_like))
    assert lucky.recommendation is not None and lucky.recommendation.worker_class == "gthread"

    hands = Hands()
    result = tune(target, (), settings, profile=prof, measure=Formula(wait_like), deal=hands)
    rec = result.recommendation
    assert rec is not None and rec.worker_class == "gevent"
    # Only what the accept race deals: several gevent/gthread workers, never sync or one worker.
    assert hands.dealt and all(
        not c.startswith("1×") and "sync" not in c for c in hands.dealt
    ), hands.dealt
    wide = [t for t in result.trials if t.deals is not None and t.config.worker_class == "gthread"]
    assert wide
    pick = next(t for t in result.trials if t.key == rec.trial)
    assert max(t.deals.median_rps for t in wide) > rank.figure(pick)  # type: ignore[union-attr]
    assert rec.capacity_rps == rank.figure(pick)
    assert all(rank.figure(t) < rank.figure(pick) for t in wide)
    assert any("judged by its low end" in r for r in rec.reasons), rec.reasons
    assert any(r.startswith("Judged by the low end of their kept-alive hands") for r in rec.reasons)


def test_a_lead_the_search_had_no_room_to_deal_is_dealt_before_it_is_picked() -> None:
    """A budget with room for the opening but not for its deals: the baselines stand on one
    hand while searching, then the lead (several gthread workers) is dealt with the reserve
    before settling, and loses to what is steady."""

    def racing(c: ServerConfig) -> float:
        return 350.0 if c.worker_class == "gevent" else min(30.0 * c.slots, 250.0 * c.workers)

    s = TuneSettings(machine=emulate(1, 1792.0), gevent=True, keepalive=True, budget_s=1e9)
    said: list[str] = []
    hands = Hands()
    result = tune(
        Target(kind="app", app="m:app", label="t"), (),
        dataclasses.replace(s, budget_s=2 * per_trial_s(s)),  # room for a trial, no reserve
        profile=flat_profile(1.0, 100.0), measure=Formula(racing), deal=hands,
        events=TuneEvents(say=said.append),
    )  # fmt: skip
    assert any(m.startswith("no time left to deal 3×6 gthread") for m in said), said
    assert "dealing 3×6 gthread's kept-alive connections again" in said
    assert hands.dealt == ["3×6 gthread"]
    rec = result.recommendation
    assert rec is not None and rec.worker_class == "gevent", result.verdict


def test_the_finalists_under_kept_alive_connections_are_dealt_and_judged_by_the_low_end() -> None:
    """A tune with new connections measures its finalists with kept-alive ones as well; where
    that model deals connections by the accept race, those runs are dealt again too, and the
    worse model is judged by the low end."""
    prof = flat_profile(1.0, 100.0)
    hands = Hands()
    result = tune(
        Target(kind="app", app="m:app", label="t"), (),
        TuneSettings(machine=emulate(1, 1792.0), gevent=True, budget_s=1e9),
        profile=prof, measure=Formula(wait_like), measure_other=Formula(wait_like),
        deal_other=hands,
    )  # fmt: skip
    both = [t for t in result.trials if t.other_model is not None]
    assert both and hands.dealt
    dealt = [t for t in both if t.other_model.deals is not None]  # type: ignore[union-attr]
    assert dealt and all(t.deals is None for t in result.trials)  # the main model: none
    rec = result.recommendation
    assert rec is not None and rec.worker_class == "gevent"  # gthread's kept-alive low end lost
    assert any("Under kept-alive connections it was dealt again" in r for r in rec.reasons)
    assert any(r.startswith("Picked for holding up under both") for r in rec.reasons)


# -- an ASGI app: uvicorn workers -----------------------------------------------------------


def asgi_profile(limit: float | None, cpu_ms: float = 1.0, wall_ms: float = 200.0) -> Profile:
    """One event loop's profile; `limit` is how many requests one worker served at once when
    something bounded it (a route that blocks the loop: 1)."""
    from tunicorn.record import LadderStep, ProcessLimit

    steps = (LadderStep(1, 5.0, wall_ms, 0.01), LadderStep(8, 5.0 * (limit or 8), wall_ms, 0.01))
    process = ProcessLimit(
        "uvicorn", steps, limit=limit or 8.0, knee=8, bounded=limit is not None,
        cause="pool" if limit is not None else "",
    )  # fmt: skip
    return dataclasses.replace(flat_profile(cpu_ms, wall_ms), interface="asgi", process=process)


def run_asgi(formula: Formula, prof: Profile, **settings: object) -> TuneResult:
    base = {"machine": emulate(1, 1792.0), "gevent": True, "budget_s": 1e9, **settings}
    formula.memory = prof.memory
    target = Target(kind="app", app="main:app", label="t", interface="asgi", framework="fastapi")
    return tune(target, (), TuneSettings(**base), profile=prof, measure=formula)  # type: ignore[arg-type]


def test_an_asgi_app_is_searched_over_uvicorn_workers_only() -> None:
    formula = Formula(lambda c: 900.0 - 20 * c.workers)  # one event loop is enough
    result = run_asgi(formula, asgi_profile(None))
    assert all(t.config.worker_class == "uvicorn" for t in result.trials if t.server is not None)
    assert all(label.endswith("uvicorn") for label in formula.ran)
    rec = result.recommendation
    assert rec is not None and rec.worker_class == "uvicorn" and rec.threads == 1
    roles = {b.role: b for b in result.baselines}
    assert set(roles) == {"app-service-default", "quickstart", "one-worker"}
    assert roles["quickstart"].workers == 2 and roles["one-worker"].workers == 1
    default = roles["app-service-default"]
    assert not default.feasible and "cannot serve an ASGI app" in default.reason
    assert "1x1-sync" not in formula.ran and "1×1 sync" not in formula.ran  # never started
    assert "Microsoft's documented -w 2" in result.verdict


def test_a_blocked_event_loop_starts_with_more_workers_and_climbs_on_them() -> None:
    formula = Formula(lambda c: 5.0 * c.workers)  # each worker serves one request at a time
    result = run_asgi(formula, asgi_profile(1.0, cpu_ms=0.5))
    start = next(t for t in result.trials if t.source == "model")
    assert start.config.workers > 2  # Little's slots at one request per worker
    rec = result.recommendation
    assert rec is not None and rec.worker_class == "uvicorn"
    assert rec.workers == max(t.config.workers for t in result.trials)


def test_uvicorn_neighbours_and_jumps_move_workers_only() -> None:
    c = ServerConfig(3, 1, "uvicorn")
    assert search.neighbours(c, 8, 64) == [
        ServerConfig(2, 1, "uvicorn"), ServerConfig(4, 1, "uvicorn"),
    ]  # fmt: skip
    assert search.extend(ServerConfig(2, 1, "uvicorn"), c, 8, 64) == ServerConfig(5, 1, "uvicorn")
    assert search.extend(ServerConfig(2, 4, "gthread"), c, 8, 64) is None
    assert search.family(c) == "asgi"


def test_an_event_loops_trial_sends_one_client_per_request_it_served_at_once() -> None:
    from tunicorn.run.measure import CorePlan, TrialMeter, TrialPlan

    blocked, free = asgi_profile(1.0), asgi_profile(None)
    assert search.asgi_slots(blocked) == 1.0 and search.asgi_slots(free) == 8.0
    plan = TrialPlan(
        target=Target(kind="app", app="m:app"), requests=(), cores=CorePlan((), ()),
        slo_p95_ms=500.0, budget_mib=1000.0, gevent_clients=64, loop_limit=1.0,
    )  # fmt: skip
    assert TrialMeter(plan).saturation_clients(ServerConfig(4, 1, "uvicorn")) == 5
    wide = TrialMeter(dataclasses.replace(plan, loop_limit=300.0))
    assert wide.saturation_clients(ServerConfig(2, 1, "uvicorn")) == 512


def test_a_busy_leader_whose_slots_filled_within_the_target_may_still_get_more() -> None:
    """The CPU busy from four slots up, as above, but each trial's capacity was measured with
    more clients than it has slots (a backlog, and p95 still within the target): its slots,
    not the target, bounded it, so the family may step up (the zoo's mixed app: 1×24 gthread
    busy at 30 clients, 1×32 7–16% more)."""

    def backlog(config: ServerConfig, trial: Trial) -> Trial:
        return dataclasses.replace(trial, capacity_clients=config.slots + 2)

    busy = lambda c: 0.99 if c.slots >= 4 else 0.3  # noqa: E731
    held = run(Formula(creeping, busy=busy), flat_profile(7.0, 7.2), gevent=False)
    freed = run(Formula(creeping, busy=busy, tweak=backlog), flat_profile(7.0, 7.2), gevent=False)
    assert max(t.config.slots for t in held.trials if t.server is not None) <= 18
    assert max(t.config.slots for t in freed.trials if t.server is not None) > 18
