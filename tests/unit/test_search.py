"""The search's pure logic: the pick's tie rule, the lattice, the model's start,
pruning and runoff."""

from __future__ import annotations

import dataclasses

from tests.reportdata import flat_profile
from tunicorn import model
from tunicorn.app.target import Target
from tunicorn.decide import rank, search
from tunicorn.decide.settle import pooled as pool_runs
from tunicorn.decide.tune import TuneSettings, tune
from tunicorn.machine import emulate
from tunicorn.record import ClientStats, LadderStep, Latency, ServerConfig, ServerStats, Trial
from tunicorn.run.capacity import cannot_win


def trial(workers: int, threads: int, capacity: float, *, p95: float = 50.0, pss: float = 40.0,
          cls: str = "", feasible: bool = True, source: str = "search") -> Trial:  # fmt: skip
    config = ServerConfig(workers, threads, cls or ("sync" if threads == 1 else "gthread"))
    return Trial(
        config=config, source=source, feasible=feasible, reason="" if feasible else "slo",
        capacity_rps=capacity, throughput_rps=capacity * 1.15, requests=100, errors=0,
        latency_ms=Latency(p50=p95 / 2, p95=p95, p99=p95, mean=p95 / 2, max=p95), server=None,
        client=ClientStats(), predicted_pss_mib=pss,
    )  # fmt: skip


def test_neighbours_stay_on_the_lattice_and_within_bounds() -> None:
    around = {search.key(c) for c in search.neighbours(ServerConfig(1, 4, "gthread"), 8, 64)}
    assert around == {"2x4-gthread", "1x3-gthread", "1x6-gthread", "2x3-gthread"}
    assert {search.key(c) for c in search.neighbours(ServerConfig(1, 1, "gevent"), 8, 64)} == {
        "2x1-gevent"
    }
    edge = search.neighbours(ServerConfig(8, 64, "gthread"), 8, 64)
    assert all(c.workers <= 8 and c.threads <= 64 for c in edge)


def test_a_pool_bound_start_counts_slots_at_the_cpu_a_busy_process_spends() -> None:
    # One process serves 4 at once (a pool); 33 ms a request, 2.3 ms of CPU at one client but
    # 1.2 ms at the ladder's top: Little's slots at 1.2 ms are 28, so 8 workers of 4 threads
    # (at 2.3 ms: 15 slots, 4 workers, which left the zoo's database app short of its best).
    steps = tuple(
        LadderStep(n, throughput_rps=x, p95_ms=40.0, cpu_cores_busy=b)
        for n, x, b in [(1, 29.3, 0.068), (2, 60.0, 0.099), (4, 120.0, 0.116), (8, 126.6, 0.149)]
    )
    ladder = model.process_limit(steps, "gthread", 64)
    profile = dataclasses.replace(flat_profile(2.3, 33.35), process=ladder, gevent_process=ladder)
    assert search.model_start(profile, 1, lambda c: True) == ServerConfig(8, 4, "gthread")
    assert search.gevent_start(profile, 1, 8) == ServerConfig(7, 1, "gevent")


def test_model_starts_compute_single_threaded_and_waiting_with_many_threads() -> None:
    assert search.model_start(flat_profile(10.0, 10.5), 1, lambda c: True) == ServerConfig(
        1, 1, "sync"
    )
    waiting = search.model_start(flat_profile(1.0, 100.0), 1, lambda c: True)
    assert waiting.workers == 1 and waiting.threads >= 64
    # Memory shrinks the start until it fits.
    small = search.model_start(flat_profile(1.0, 100.0), 1, lambda c: c.threads <= 8)
    assert small.threads == 8


def test_a_trial_that_peaks_under_the_best_less_the_tie_cannot_win() -> None:
    assert cannot_win(150.0, 200.0)
    assert not cannot_win(199.0, 200.0)  # within the tie: it could still win
    assert not cannot_win(1.0, 0.0)  # nothing to beat: measured in full


def test_baselines_are_measured_in_full_and_prune_off_measures_everything_in_full() -> None:
    asked: list[tuple[str, float]] = []

    def measure(config: ServerConfig, source: str, beat_rps: float) -> Trial:
        asked.append((source, beat_rps))
        return trial(config.workers, config.threads, 10.0 * config.slots, source=source)

    def go(**settings: object) -> None:
        asked.clear()
        base = {"machine": emulate(1, 1792.0), "gevent": False, "budget_s": 1e9, **settings}
        tune(
            Target(kind="app", app="m:app", label="t"), (), TuneSettings(**base),  # type: ignore[arg-type]
            profile=flat_profile(1.0, 100.0), measure=measure,
        )  # fmt: skip

    go()
    assert all(beat == 0.0 for source, beat in asked if source == "baseline")
    assert any(beat > 0 for source, beat in asked if source == "search")
    go(prune=False)
    assert all(beat == 0.0 for _, beat in asked)


def test_pooling_two_runs_keeps_the_mean_capacity_and_the_worse_p95() -> None:
    first, again = trial(2, 1, 100.0, p95=40.0), trial(2, 1, 90.0, p95=60.0)
    pooled = pool_runs([first, again])
    assert pooled.capacity_rps == 95.0 and pooled.latency_ms.p95 == 60.0
    assert pooled.feasible and pooled.pooled == "mean"
    assert [r.capacity_rps for r in pooled.runs] == [100.0, 90.0]


def test_pooling_three_runs_keeps_the_medians_so_one_dip_does_not_count() -> None:
    runs = [trial(1, 1, 72.0, p95=13.0), trial(1, 1, 112.0, p95=30.0), trial(1, 1, 110.0, p95=20.0)]
    pooled = pool_runs(runs)
    assert pooled.capacity_rps == 110.0 and pooled.latency_ms.p95 == 20.0
    assert pooled.pooled == "median"
    assert [r.capacity_rps for r in pooled.runs] == [72.0, 112.0, 110.0]


def test_a_contender_that_fails_its_second_run_is_not_usable() -> None:
    failed = dataclasses.replace(
        trial(2, 4, 0.0), feasible=False, reason="errors", server=ServerStats(pss_mib_peak=50.0)
    )
    pooled = pool_runs([trial(2, 4, 100.0), failed])
    assert not pooled.feasible and pooled.reason == "errors"


def test_a_step_that_paid_off_is_tried_again_twice_as_long() -> None:
    def ext(a: ServerConfig, b: ServerConfig) -> str | None:
        nxt = search.extend(a, b, 8, 64)
        return None if nxt is None else search.key(nxt)

    assert ext(ServerConfig(3, 1, "sync"), ServerConfig(4, 1, "sync")) == "6x1-sync"
    assert ext(ServerConfig(4, 1, "sync"), ServerConfig(6, 1, "sync")) == "8x1-sync"  # clamped
    assert ext(ServerConfig(6, 1, "sync"), ServerConfig(8, 1, "sync")) is None  # already at the cap
    assert ext(ServerConfig(1, 4, "gthread"), ServerConfig(1, 6, "gthread")) == "1x12-gthread"
    assert ext(ServerConfig(1, 1, "gevent"), ServerConfig(2, 1, "gevent")) == "4x1-gevent"
    assert ext(ServerConfig(1, 1, "sync"), ServerConfig(1, 1, "gevent")) is None


def test_the_climb_follows_what_a_stopped_trial_could_reach_but_the_pick_does_not() -> None:
    stopped = dataclasses.replace(
        trial(4, 32, 0.0), feasible=False, reason="slower", reachable_rps=700.0
    )
    verified = trial(1, 48, 400.0)
    gevent = trial(1, 1, 770.0, cls="gevent")
    pool = [stopped, verified, gevent]
    lead = search.leader(pool, "threads")
    assert lead is not None and search.key(lead.config) == "4x32-gthread"
    assert search.key(search.leader(pool, "gevent").config) == "1x1-gevent"
    assert rank.best(pool) is gevent  # only measured capacity can be picked
    failed = dataclasses.replace(
        trial(8, 64, 0.0), feasible=False, reason="errors", reachable_rps=900.0
    )
    assert search.climb_score(failed) == 0.0
