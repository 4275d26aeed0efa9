"""The rank stage's comparisons: better, tie and worse by intervals, the tie-break, the
rules, and the guard against a pick below a rule of thumb."""

from __future__ import annotations

import dataclasses

from tests.reportdata import flat_profile
from tunicorn.decide import rank, recommend
from tunicorn.decide.settle import pooled
from tunicorn.machine import emulate
from tunicorn.record import (
    ClientStats,
    Constraints,
    Latency,
    Recommendation,
    Rules,
    ServerConfig,
    ServerStats,
    Settlement,
    Trial,
)


def trial(workers: int, threads: int, capacity: float, half: float = 0.0, *, p95: float = 50.0,
          pss: float = 40.0, cls: str = "", feasible: bool = True,
          source: str = "search") -> Trial:  # fmt: skip
    config = ServerConfig(workers, threads, cls or ("sync" if threads == 1 else "gthread"))
    ci = (capacity - half, capacity + half) if half else (0.0, 0.0)
    return Trial(
        config=config, source=source, feasible=feasible, reason="" if feasible else "slo",
        capacity_rps=capacity, throughput_rps=capacity * 1.15, requests=100, errors=0,
        latency_ms=Latency(p50=p95 / 2, p95=p95, p99=p95, mean=p95 / 2, max=p95), server=None,
        client=ClientStats(), predicted_pss_mib=pss, capacity_ci=ci,
    )  # fmt: skip


def test_better_and_worse_only_when_the_intervals_do_not_overlap() -> None:
    a, b = trial(2, 1, 110.0, 4.0), trial(1, 1, 100.0, 4.0)
    assert rank.compare(a, b) == "better" and rank.compare(b, a) == "worse"
    wide = trial(1, 1, 100.0, 7.0)  # 93-107 meets 106-114
    assert rank.compare(a, wide) == "tie" and rank.compare(wide, a) == "tie"
    # Without an interval a trial stands on its figure alone.
    assert rank.compare(trial(1, 1, 100.0), trial(1, 2, 100.5)) == "worse"
    assert rank.compare(trial(1, 1, 100.0), trial(1, 2, 100.0)) == "tie"


def test_a_tie_goes_to_more_slots_then_less_memory_then_fewer_processes() -> None:
    few, many = trial(2, 1, 100.0, 5.0), trial(2, 4, 97.0, 5.0)
    assert rank.best([few, many]) is many  # overlapping: the more robust one
    assert rank.best([few, trial(2, 4, 80.0, 5.0)]) is few  # separated: capacity decides
    light, heavy = trial(4, 1, 100.0, 5.0, pss=40.0), trial(2, 2, 99.0, 5.0, pss=70.0)
    assert rank.best([heavy, light]) is light  # same slots: less memory
    fewer = trial(2, 2, 99.0, 5.0, pss=40.0)
    assert rank.best([trial(4, 1, 100.0, 5.0, pss=40.0), fewer]) is fewer


def test_p95_does_not_decide_a_tie() -> None:
    low_p95, high_p95 = trial(1, 6, 122.5, 4.0, p95=8.5), trial(2, 2, 122.7, 4.0, p95=33.1)
    assert rank.best([low_p95, high_p95]) is low_p95  # 6 slots against 4, whatever the p95
    assert rank.best([trial(1, 6, 122.5, 4.0, p95=80.0), high_p95]).config.threads == 6


def test_pairs_settled_within_five_percent_are_tied_though_their_intervals_part() -> None:
    """Settle stops measuring a pair whose runs put both within ±5% of their middle (a third
    run cannot resolve it): rank must then call it a tie too, and the tie-break decides.
    One run each with the same intervals stays separated: one window understates the drift."""
    from tunicorn.record import Run

    def settled(t: Trial) -> Trial:
        run = Run(capacity_rps=t.capacity_rps, throughput_rps=t.capacity_rps, p95_ms=50.0,
                  pss_mib_peak=40.0)  # fmt: skip
        return dataclasses.replace(t, runs=(run, run))

    higher, more_slots = trial(1, 32, 378.0, 5.0), trial(1, 1, 366.0, 5.0, cls="gevent")
    assert rank.compare(higher, more_slots) == "better"  # 373-383 against 361-371
    assert rank.best([higher, more_slots]) is higher  # one run each: separated
    both = [settled(higher), settled(more_slots)]
    assert rank.settled_tie(*both) and rank.best(both) is both[1]  # the more slots
    far = settled(trial(1, 1, 330.0, 5.0, cls="gevent"))  # 14% apart: not equivalent
    assert not rank.settled_tie(both[0], far) and rank.best([both[0], far]) is both[0]


def test_the_tie_break_is_a_hook() -> None:
    few, many = trial(2, 1, 100.0, 5.0), trial(2, 4, 97.0, 5.0)

    def fewest_slots(t: Trial) -> tuple[float, ...]:
        return (-t.config.slots,)

    assert rank.best([few, many], tie_break=fewest_slots) is few


def test_rules_and_unusable_trials() -> None:
    assert rank.best([trial(1, 1, 500.0, feasible=False), trial(2, 1, 0.0)]) is None
    single = trial(1, 1, 120.0, 2.0)
    two = trial(2, 1, 100.0, 2.0)
    assert rank.best([single, two], rules=Rules(min_slots=2)) is two
    assert rank.best([trial(1, 16, 150.0, 2.0), two], rules=Rules(max_threads=8)) is two
    assert rank.best([trial(1, 1, 150.0, 2.0, cls="gevent"), two], rules=Rules(max_threads=8))


def test_cpu_bound_needs_the_server_cores_busy() -> None:
    def busy(x: float) -> Trial:
        return dataclasses.replace(trial(1, 1, 100.0), server=ServerStats(cpu_cores_busy=x))

    assert not rank.cpu_bound(busy(1.7), cores=2)
    assert rank.cpu_bound(busy(1.85), cores=2)
    assert not rank.cpu_bound(busy(1.85), cores=0)


def test_a_close_rival_is_one_the_pick_cannot_be_told_from() -> None:
    pick, close, far = trial(2, 4, 100.0, 5.0), trial(2, 1, 96.0, 3.0), trial(1, 1, 60.0, 3.0)
    assert rank.close_rivals([pick, close, far], pick) == [close]


def test_a_baseline_wholly_above_is_found_and_overrides_a_lower_settled_pick() -> None:
    lower = trial(2, 2, 100.0, 4.0)
    seed = trial(3, 6, 150.0, 5.0, source="baseline")
    one = trial(1, 1, 60.0, 3.0, source="baseline")
    multi = trial(3, 1, 101.0, 5.0, source="baseline")
    assert rank.baseline_above([lower, seed, one, multi], lower) is seed
    assert rank.baseline_above([lower, one, multi], lower) is None  # overlapping is a tie
    trials = {t.key: t for t in (lower, seed, one, multi)}
    result = recommend.decide(
        target="t", app="m:app", trials=trials, profile=flat_profile(1.0, 50.0),
        constraints=Constraints.of(emulate(1, 1792.0, available=(0, 1)), slo_p95_ms=100.0),
        settlement=Settlement(key=lower.key, note="settled"), elapsed_s=1.0,
    )  # fmt: skip
    rec = result.recommendation
    assert rec is not None and (rec.workers, rec.threads) == (3, 6)
    assert rec.capacity_ci == seed.capacity_ci


def test_pooled_runs_put_every_tick_in_one_series() -> None:
    a = dataclasses.replace(
        trial(2, 1, 100.0), capacity_samples=(96.0, 100.0, 104.0), capacity_ci=(95.0, 105.0)
    )
    b = dataclasses.replace(
        trial(2, 1, 80.0), capacity_samples=(78.0, 80.0, 82.0), capacity_ci=(77.0, 83.0)
    )
    both = pooled([a, b])
    assert both.capacity_samples == a.capacity_samples + b.capacity_samples
    low, high = both.capacity_ci
    assert low < 90.0 < high  # the mean of two runs, 90, with the drift between them
    assert high - low > 10.0  # wider than either run alone
    same = pooled([a, a, a])
    assert same.capacity_ci[1] - same.capacity_ci[0] < a.capacity_ci[1] - a.capacity_ci[0]
    assert [r.capacity_ci for r in both.runs] == [a.capacity_ci, b.capacity_ci]


def test_holds_up_switches_only_beyond_the_picks_interval() -> None:
    from tunicorn.record import ClientModelRun

    def other(t: Trial, cap: float) -> Trial:
        run = ClientModelRun(keepalive=True, capacity_rps=cap, throughput_rps=cap, p95_ms=50.0,
                             feasible=True)  # fmt: skip
        return dataclasses.replace(t, other_model=run)

    pick = other(trial(4, 4, 200.0, 10.0), 90.0)
    steady = other(trial(1, 1, 180.0, 9.0, cls="gevent"), 170.0)
    assert rank.holds_up(pick, [pick, steady], Rules()) is steady
    near = other(trial(1, 1, 180.0, 9.0, cls="gevent"), 93.0)  # 93 within 90 × (1 + 5%)
    assert rank.holds_up(pick, [pick, near], Rules()) is pick
    # 96 is past the pick's interval (94.5) but its own (±5%: 91.2 up) still meets it.
    overlapping = other(trial(1, 1, 180.0, 9.0, cls="gevent"), 96.0)
    assert rank.holds_up(pick, [pick, overlapping], Rules()) is pick
    clear = other(trial(1, 1, 180.0, 9.0, cls="gevent"), 100.0)  # 95 up: clear of 94.5
    assert rank.holds_up(pick, [pick, clear], Rules()) is clear


def test_the_interval_travels_through_json_and_an_unsure_pick_is_flagged() -> None:
    from tunicorn import record

    t = dataclasses.replace(trial(2, 4, 100.0, 6.0), capacity_samples=(95.0, 100.0, 105.0))
    back = record.from_json(record.to_json(t), Trial)
    assert back.capacity_ci == t.capacity_ci and back.capacity_samples == t.capacity_samples
    assert '"capacity_ci"' in record.to_json(t)
    assert recommend.unstable_warning(t) == []
    wide = trial(2, 4, 100.0, 30.0)
    (line,) = recommend.unstable_warning(wide)
    assert "100 ± 30" in line and "±30%" in line


def test_a_ratio_to_a_baseline_the_intervals_cannot_separate_says_so() -> None:
    pick = trial(2, 2, 100.0, 10.0)
    default = trial(1, 1, 95.0, 8.0, source="baseline")
    far = trial(1, 1, 20.0, 2.0, source="baseline")
    rec = dataclasses.replace(_rec(pick), capacity_ci=pick.capacity_ci)
    near = recommend.verdict(rec, (recommend.baseline("d", "app-service-default", default),), 100.0)
    assert "1.1× App Service's default" in near and "intervals overlap" in near
    clear = recommend.verdict(rec, (recommend.baseline("d", "app-service-default", far),), 100.0)
    assert "5.0× App Service's default" in clear and "overlap" not in clear


def _rec(t: Trial) -> Recommendation:
    return Recommendation(
        workers=t.config.workers, threads=t.config.threads, worker_class=t.config.worker_class,
        throughput_rps=t.throughput_rps, capacity_rps=t.capacity_rps, latency_ms=t.latency_ms,
        pss_mib_peak=0.0, app="m:app", trial=t.key,
    )  # fmt: skip


def test_a_dealt_kept_alive_capacity_is_judged_by_its_low_end() -> None:
    from tunicorn.record import Deal, Deals

    hands = (Deal(154.0, 90.0, True), Deal(305.0, 60.0, True), Deal(290.0, 60.0, True))
    dealt = dataclasses.replace(
        trial(4, 1, 290.0, 10.0, cls="gevent"),
        deals=Deals(clients=32, deals=hands, low_rps=154.0, median_rps=290.0, high_rps=305.0,
                    seconds=12.0),
    )  # fmt: skip
    assert rank.figure(dealt) == 154.0
    low, high = rank.ci(dealt)  # the window's own ±10 of 290, scaled to the low end
    assert low < 154.0 < high and high - low < 20.0 / 290.0 * 154.0 + 0.02
    steady = trial(8, 1, 250.0, 10.0, cls="gevent")
    assert rank.compare(dealt, steady) == "worse"  # its lucky hands do not make it better
    assert rank.best([dealt, steady]) is steady
    assert rank.luck(dealt) and "judged by its low end 154" in rank.dealt_text(dealt)
    calm = dataclasses.replace(
        dealt, deals=Deals(32, (Deal(288.0, 60.0, True), Deal(295.0, 60.0, True)), 288.0,
                           291.5, 295.0, 8.0),
    )  # fmt: skip
    assert not rank.luck(calm) and "no hand below its own window" in rank.dealt_text(calm)
    missed = dataclasses.replace(
        dealt, deals=Deals(32, (Deal(160.0, 900.0, False), *hands[1:]), 0.0, 290.0, 305.0, 8.0)
    )
    assert rank.figure(missed) == 0.0 and rank.ci(missed) == (0.0, 0.0)
    assert "1 missed the SLO at 32 clients" in rank.dealt_text(missed)
    assert rank.best([missed, steady]) is steady


def test_the_mean_of_two_runs_spans_both_even_where_their_ticks_are_steady() -> None:
    # Two fresh servers, each steady within its window, 240 and 174 req/s apart: the ticks
    # alone would say 207 ± 5 or so; the interval must reach both runs' figures.
    a = dataclasses.replace(
        trial(1, 1, 240.0), capacity_samples=(239.0, 240.0, 241.0) * 4, capacity_ci=(239.0, 241.0)
    )
    b = dataclasses.replace(
        trial(1, 1, 174.0), capacity_samples=(173.0, 174.0, 175.0) * 4, capacity_ci=(173.0, 175.0)
    )
    low, high = pooled([a, b]).capacity_ci
    assert low <= 174.0 and high >= 240.0
    # Of three, the median stands on the two that agree; the outlier is the ticks' to weigh.
    low3, high3 = pooled([a, b, b]).capacity_ci
    assert low3 <= 174.0 < high3 < 240.0


def test_runs_farther_apart_than_their_intervals_warn_of_drift() -> None:
    a = dataclasses.replace(trial(3, 6, 413.0), capacity_ci=(405.0, 421.0))
    b = dataclasses.replace(trial(3, 6, 328.0), capacity_ci=(320.0, 336.0))
    (said,) = recommend.drift_warning([pooled([a, a, b])])
    assert "differed by 21%" in said and "3×6 gthread: 328 to 413 req/s" in said
    steady = dataclasses.replace(trial(3, 6, 405.0), capacity_ci=(397.0, 413.0))
    assert recommend.drift_warning([pooled([a, steady])]) == []  # within their intervals
    wide = dataclasses.replace(trial(3, 6, 340.0), capacity_ci=(250.0, 430.0))
    assert recommend.drift_warning([pooled([a, wide])]) == []  # its own window swung as much
    assert recommend.drift_warning([a, b]) == []  # measured once each: nothing to compare


def test_a_machine_that_changed_speed_during_the_tune_is_named() -> None:
    fast = dataclasses.replace(trial(1, 1, 4300.0), speed_ms=5.0)
    slow = dataclasses.replace(trial(2, 1, 2760.0), speed_ms=10.2)
    (said,) = recommend.speed_warning([fast, slow])
    assert "5.0 to 10.2 ms (2.0×)" in said
    steady = dataclasses.replace(trial(2, 1, 4200.0), speed_ms=5.6)
    assert recommend.speed_warning([fast, steady]) == []  # within 25%
    assert recommend.speed_warning([trial(1, 1, 1.0), trial(2, 1, 2.0)]) == []  # not timed
    # A pooled trial's runs each count.
    again = dataclasses.replace(trial(1, 1, 2760.0), speed_ms=10.2)
    (pooled_said,) = recommend.speed_warning([pooled([fast, again])])
    assert "(2.0×)" in pooled_said
