"""The models against figures worked out by hand (in the comments)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tunicorn import model
from tunicorn.record import LadderStep


def test_littles_law() -> None:
    # 50 req/s × 0.2 s = 10 in flight.
    assert model.concurrency(50, 0.2) == pytest.approx(10.0)
    # The seed's default: 1 slot, 0.2 s per request → at most 5 req/s.
    assert model.slots_bound_rps(1, 0.2) == pytest.approx(5.0)
    # 3 × 6 = 18 slots at 0.2 s → 90 req/s.
    assert model.slots_bound_rps(18, 0.2) == pytest.approx(90.0)
    # 1 core, 20 ms CPU per request → 50 req/s, whatever the slots.
    assert model.cpu_bound_rps(1, 0.02) == pytest.approx(50.0)
    assert model.throughput_bound_rps(18, 0.2, 1, 0.02) == pytest.approx(50.0)
    assert model.throughput_bound_rps(1, 0.2, 1, 0.02) == pytest.approx(5.0)


def test_wait_compute_ratio_and_threads() -> None:
    # 200 ms wall, 40 ms CPU → 160 ms waiting → W/C = 4 → 5 threads per core.
    assert model.wait_compute_ratio(0.2, 0.04) == pytest.approx(4.0)
    assert model.threads_per_core(4.0) == pytest.approx(5.0)
    # CPU-bound: no waiting, one thread per core; latency below CPU time is clamped to 0.
    assert model.wait_compute_ratio(0.01, 0.02) == 0.0
    assert model.threads_per_core(0.0) == 1.0
    # 2 cores × (1 + 4) = 10 requests in flight keep both busy.
    assert model.slots_needed(2, 4.0) == pytest.approx(10.0)


def test_memory_cap() -> None:
    # 1792 MiB × 0.75 = 1344 MiB; minus a 24 MiB master = 1320 MiB.
    assert model.usable_memory_mib(1792, 0.25, 24) == pytest.approx(1320.0)
    # A worker: 60 MiB + 2 MiB × 5 extra threads = 70 MiB → 1320 / 70 = 18.86 → 18 workers.
    assert model.worker_memory_mib(60, 2, 6) == pytest.approx(70.0)
    assert model.memory_cap_workers(1792, 60, 2, 6, headroom=0.25, master_mib=24) == 18
    # Exactly on the boundary still fits: 1000 × 0.5 = 500 = 5 × 100.
    assert model.memory_cap_workers(1000, 100, 0, 1, headroom=0.5) == 5
    # Not even one: 100 × 0.75 = 75 < 80.
    assert model.memory_cap_workers(100, 80, 1, 1, headroom=0.25) == 0
    # Threads for 4 workers in 1000 MiB at no headroom: 250 each, 60 base, 10 per thread
    # → 1 + floor(190 / 10) = 20.
    assert model.memory_cap_threads(1000, 60, 10, 4, headroom=0.0) == 20
    assert model.memory_cap_threads(100, 60, 10, 4, headroom=0.0) == 0


def test_memory_inputs_are_checked() -> None:
    with pytest.raises(ValueError, match="headroom"):
        model.usable_memory_mib(1000, 1.0)
    with pytest.raises(ValueError, match="threads"):
        model.worker_memory_mib(60, 2, 0)
    with pytest.raises(ValueError, match="cores"):
        model.cpu_bound_rps(0, 0.1)


def test_usl_formula_and_peak() -> None:
    # λ = 100, σ = 0.1, κ = 0.01 at N = 4: 400 / (1 + 0.3 + 0.12) = 281.69…
    assert model.usl_throughput(4, 100, 0.1, 0.01) == pytest.approx(400 / 1.42)
    # N* = √(0.9 / 0.01) = √90 = 9.4868…
    assert model.usl_peak(0.1, 0.01) == pytest.approx(math.sqrt(90))
    assert model.usl_peak(0.1, 0.0) == math.inf
    assert model.usl_peak(1.0, 0.01) == 1.0


def test_usl_fit_recovers_known_parameters() -> None:
    lam, sigma, kappa = 120.0, 0.05, 0.002
    n = [1, 2, 4, 8, 16, 32, 64]
    x = [model.usl_throughput(v, lam, sigma, kappa) for v in n]
    fit = model.fit_usl(n, x)
    assert fit.lam == pytest.approx(lam, rel=1e-4)
    assert fit.sigma == pytest.approx(sigma, rel=1e-3)
    assert fit.kappa == pytest.approx(kappa, rel=1e-3)
    # N* = √(0.95 / 0.002) = 21.79…
    assert fit.n_star == pytest.approx(math.sqrt(0.95 / 0.002), rel=1e-3)
    assert fit.rmse < 1e-6 * lam
    assert fit.predict(8) == pytest.approx(x[3], rel=1e-6)


def test_usl_fit_with_noise_stays_close() -> None:
    rng = np.random.default_rng(7)
    n = np.array([1, 2, 3, 4, 6, 8, 12, 16, 24, 32], dtype=float)
    x = np.array([model.usl_throughput(v, 50.0, 0.1, 0.005) for v in n])
    fit = model.fit_usl(n, x * rng.normal(1.0, 0.01, size=n.size))
    assert fit.lam == pytest.approx(50.0, rel=0.05)
    assert fit.sigma == pytest.approx(0.1, abs=0.03)
    assert fit.n_star == pytest.approx(math.sqrt(0.9 / 0.005), rel=0.2)


def test_usl_fit_keeps_sigma_and_kappa_non_negative() -> None:
    # Superlinear data (X/N rising) would need σ < 0; the fit clamps to 0 instead.
    fit = model.fit_usl([1, 2, 4], [10.0, 21.0, 44.0])
    assert fit.sigma >= 0 and fit.kappa >= 0


def test_usl_fit_linear_data_has_no_peak() -> None:
    fit = model.fit_usl([1, 2, 4, 8], [10.0, 20.0, 40.0, 80.0])
    assert fit.lam == pytest.approx(10.0)
    assert fit.sigma == pytest.approx(0.0, abs=1e-9)
    assert fit.kappa == pytest.approx(0.0, abs=1e-9)
    assert fit.n_star == math.inf
    assert "not peaked" in fit.note


def test_usl_fit_two_concurrencies_falls_back_to_amdahl() -> None:
    # λ = 10, σ = 0.25: X(1) = 10, X(5) = 50 / (1 + 0.25 × 4) = 25.
    fit = model.fit_usl([1, 5], [10.0, 25.0])
    assert fit.kappa == 0.0
    assert fit.sigma == pytest.approx(0.25, rel=1e-4)
    assert fit.x_max == pytest.approx(10 / 0.25, rel=1e-3)
    assert "κ = 0" in fit.note


@pytest.mark.parametrize(
    ("n", "x", "message"),
    [
        ([4], [10.0], "at least two"),
        ([4, 4, 4], [10.0, 11.0, 9.0], "two or more different"),
        ([1, 2], [10.0, 0.0], "more than zero"),
        ([0, 2], [10.0, 20.0], "1 or more"),
        ([1, 2], [10.0, float("nan")], "finite"),
        ([1, 2, 3], [10.0, 20.0], "same length"),
    ],
)
def test_usl_fit_refuses_degenerate_data(n: list[float], x: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        model.fit_usl(n, x)


def test_baselines() -> None:
    assert model.multiworkers_count(1) == 3
    assert model.multiworkers_count(4) == 9
    by_name = {b.name: b for b in model.baselines(2)}
    assert (by_name["app-service-default"].workers, by_name["app-service-default"].threads) == (
        1,
        1,
    )
    assert (by_name["multiworkers"].workers, by_name["multiworkers"].threads) == (5, 1)
    assert (by_name["seed-3x6"].workers, by_name["seed-3x6"].threads) == (3, 6)
    assert by_name["seed-3x6"].worker_class == "gthread"


def _steps(points: list[tuple[int, float, float]]) -> list[LadderStep]:
    return [LadderStep(n, throughput_rps=x, p95_ms=50.0, cpu_cores_busy=b) for n, x, b in points]


def test_a_pool_of_four_is_the_process_limit() -> None:
    # 30 ms a request, 4 connections: 33 req/s at one client, 133 at four, no more after.
    steps = _steps([(1, 33.0, 0.05), (2, 66.0, 0.1), (4, 131.0, 0.2), (8, 133.0, 0.2)])
    limit = model.process_limit(steps, "gthread", 64)
    assert limit.bounded and limit.cause == "pool" and limit.knee == 4
    assert limit.limit == pytest.approx(4.0, abs=0.1)
    assert limit.usl is not None and limit.usl.n_star is not None  # the fitted curve bends


def test_the_gil_is_the_limit_of_a_compute_bound_process() -> None:
    steps = _steps([(1, 140.0, 0.95), (2, 142.0, 0.97), (4, 141.0, 0.98), (8, 139.0, 0.98)])
    limit = model.process_limit(steps, "gthread", 64)
    assert limit.bounded and limit.cause == "cpu" and limit.knee == 1
    assert limit.limit == pytest.approx(1.0, abs=0.05)


def test_a_process_that_keeps_scaling_has_no_limit_within_the_ladder() -> None:
    steps = _steps([(2**i, 10.0 * 2**i, 0.01 * 2**i) for i in range(7)])  # 1 … 64 clients
    assert model.ladder_stopped(steps[:3]) is False
    limit = model.process_limit(steps, "gthread", 64)
    assert not limit.bounded and limit.cause == "" and limit.limit == pytest.approx(64.0)


def test_cpu_per_request_at_load_is_the_ladders_where_it_measured_less() -> None:
    # The zoo's database app: 2.3 ms a request at one client, 0.149 cores at 126.6 req/s.
    steps = _steps([(1, 29.3, 0.068), (2, 60.0, 0.099), (4, 120.0, 0.116), (8, 126.6, 0.149)])
    ladder = model.process_limit(steps, "gthread", 64)
    assert model.cpu_ms_at_load(2.3, ladder) == pytest.approx(1000 * 0.149 / 126.6)
    assert model.cpu_ms_at_load(2.3, None) == 2.3  # no ladder: the one-client figure
    assert model.cpu_ms_at_load(0.5, ladder) == 0.5  # never more than the one-client figure
    assert model.cpu_ms_at_load(0.0, ladder) == 0.0  # no CPU measured: still none
    unsampled = model.process_limit(_steps([(1, 29.3, 0.068), (4, 120.0, 0.0)]), "gthread", 64)
    assert model.cpu_ms_at_load(2.3, unsampled) == 2.3  # no CPU sampled at the top step


def test_a_busy_core_past_the_knee_is_the_cpu_not_a_pool() -> None:
    # A 3 ms page, most of it CPU: its one thread served the most; two or more threads fought
    # for the GIL and served less, with the core busy. That is the CPU, not a pool of one.
    steps = _steps([(1, 265.4, 0.814), (2, 203.3, 0.939), (4, 226.3, 0.986), (8, 211.5, 1.0)])
    limit = model.process_limit(steps, "gthread", 64)
    assert limit.bounded and limit.knee == 1 and limit.cause == "cpu"


def test_a_pool_of_one_leaves_the_core_idle_at_every_step() -> None:
    steps = _steps([(1, 40.0, 0.1), (2, 41.0, 0.11), (4, 40.5, 0.12), (8, 40.2, 0.12)])
    limit = model.process_limit(steps, "gthread", 64)
    assert limit.bounded and limit.cause == "pool" and limit.limit == pytest.approx(1.0, abs=0.05)
