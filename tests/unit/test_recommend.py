"""The model-only recommendation, worked through by hand for a few plans."""

from __future__ import annotations

import pytest

from tunicorn.decide import modelonly
from tunicorn.errors import UsageError
from tunicorn.record import ModelRecommendation, from_json, to_json


def test_b1_defaults() -> None:
    # 1 core: 2 × 1 + 1 = 3 workers; W/C 4 → 5 threads; 3 × (60 + 2 × 4) + 25 = 229 MiB.
    result = modelonly.model_only(1, 1792.0, plan="B1")
    choice = result.recommendation
    assert (choice.workers, choice.threads, choice.worker_class) == (3, 5, "gthread")
    assert choice.slots == 15
    assert choice.memory_mib_estimate == pytest.approx(229.0)
    assert result.kind == "recommend" and result.measured is False
    assert "not measured" in result.note
    assert set(result.assumptions.assumed) == {
        "worker_memory_mib",
        "thread_memory_mib",
        "io_wait_ratio",
    }
    assert any("Assumed 60 MiB" in w for w in result.warnings)


def test_cpu_bound_app_gets_sync_workers() -> None:
    result = modelonly.model_only(2, 3584.0, io_wait_ratio=0.0, worker_memory_mib=80.0)
    choice = result.recommendation
    assert (choice.workers, choice.threads, choice.worker_class) == (5, 1, "sync")
    assert "io_wait_ratio" not in result.assumptions.assumed


def test_memory_caps_workers_and_threads_make_up_the_slots() -> None:
    # 1 core, 850 MiB: usable 850 × 0.9 − 25 = 740 MiB. 400 MiB workers (W/C 9 → 10 threads,
    # 400 + 2 × 9 = 418 MiB each) → 1 worker fits, not 3. Little's law needs 1 × 10 = 10 slots,
    # and the one worker already has 10 threads.
    result = modelonly.model_only(1, 850.0, worker_memory_mib=400.0, io_wait_ratio=9.0)
    choice = result.recommendation
    assert (choice.workers, choice.threads) == (1, 10)
    assert any("Memory caps workers at 1" in r for r in result.reasons)


def test_threads_raised_when_memory_leaves_fewer_workers_than_cores() -> None:
    # 4 cores, 1600 MiB: usable 1600 × 0.9 − 25 = 1415 MiB; 500 MiB workers with 2 threads
    # (W/C 1) → 2 fit. Little's law needs 4 × 2 = 8 slots → threads raised to 8 / 2 = 4
    # (memory: 2 × 506 + 25).
    result = modelonly.model_only(4, 1600.0, worker_memory_mib=500.0, io_wait_ratio=1.0)
    choice = result.recommendation
    assert (choice.workers, choice.threads) == (2, 4)
    assert choice.slots == 8
    assert any("cannot use every core" in w for w in result.warnings)


def test_threads_are_capped() -> None:
    result = modelonly.model_only(1, 4096.0, io_wait_ratio=100.0)
    assert result.recommendation.threads == modelonly.MAX_THREADS
    assert any("capped" in r for r in result.reasons)


def test_not_even_one_worker_fits() -> None:
    with pytest.raises(UsageError, match="cannot hold one 500 MiB worker"):
        modelonly.model_only(1, 512.0, worker_memory_mib=500.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cpus": 0, "memory_mib": 1000.0}, "--cpus"),
        ({"cpus": 1, "memory_mib": -1.0}, "--memory"),
        ({"cpus": 1, "memory_mib": 1000.0, "io_wait_ratio": -0.5}, "--io-wait-ratio"),
        ({"cpus": 1, "memory_mib": 1000.0, "io_wait_ratio": float("inf")}, "--io-wait-ratio"),
    ],
)
def test_bad_inputs(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        modelonly.model_only(**kwargs)  # type: ignore[arg-type]


def test_record_round_trips_through_json() -> None:
    result = modelonly.model_only(2, 3584.0, plan="B2")
    again = from_json(to_json(result), ModelRecommendation)
    assert again == result
    assert '"kind": "recommend"' in to_json(result)
