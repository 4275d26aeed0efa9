"""The capacity rule of one trial (`measure.find_capacity`), with an SLO check made up from a
knee: below a rate the p95 is within the target, above it it is not."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tunicorn.measure import VERIFY_SHARES, find_capacity
from tunicorn.record import ClientStats, Latency, LoadResult

PEAK = 200.0
SLO = 100.0


def knee(at_rps: float, *, errors_from: float = float("inf")) -> tuple[
    Callable[[float], LoadResult], list[float]
]:  # fmt: skip
    """A check that passes below `at_rps`, answers 5xx from `errors_from`, and records rates."""
    asked: list[float] = []

    def check(rate: float) -> LoadResult:
        asked.append(rate)
        errors = {"http_5xx": 3} if rate >= errors_from else {}
        return LoadResult(
            mode="open", concurrency=32, rate=rate, duration_s=2.0, requests=int(2 * rate),
            ok=int(2 * rate), errors_by_kind=errors,
            latency_ms=Latency(p95=50.0 if rate < at_rps else 300.0), throughput_rps=rate,
            client=ClientStats(),
        )  # fmt: skip

    return check, asked


def test_a_pass_at_the_first_check_is_the_capacity() -> None:
    check, asked = knee(190.0)
    capacity, at, reason = find_capacity(PEAK, check, SLO)
    assert reason == "" and capacity == pytest.approx(0.85 * PEAK) and at is not None
    assert asked == [pytest.approx(0.85 * PEAK)]


def test_a_miss_steps_down_then_bisects_once_towards_the_miss() -> None:
    check, asked = knee(0.75 * PEAK)  # 85% misses, 60% passes, the midpoint 72.5% passes
    capacity, _, reason = find_capacity(PEAK, check, SLO)
    assert reason == "" and capacity == pytest.approx(0.725 * PEAK)
    assert asked == [pytest.approx(s * PEAK) for s in (0.85, 0.6, 0.725)]
    check, _ = knee(0.7 * PEAK)  # the midpoint misses: the 60% check stands
    assert find_capacity(PEAK, check, SLO)[0] == pytest.approx(0.6 * PEAK)


def test_no_bisection_once_the_budget_is_spent() -> None:
    check, asked = knee(0.75 * PEAK)
    capacity, _, _ = find_capacity(PEAK, check, SLO, out_of_time=lambda: True)
    assert capacity == pytest.approx(0.6 * PEAK) and len(asked) == 2


def test_every_check_over_the_slo_is_a_miss_and_errors_rule_a_trial_out() -> None:
    check, asked = knee(0.1 * PEAK)
    assert find_capacity(PEAK, check, SLO) == (0.0, None, "slo")
    assert len(asked) == len(VERIFY_SHARES)
    check, _ = knee(PEAK, errors_from=0.0)
    assert find_capacity(PEAK, check, SLO) == (0.0, None, "errors")
    check, _ = knee(0.75 * PEAK, errors_from=0.7 * PEAK)  # errors only at the bisection
    assert find_capacity(PEAK, check, SLO)[2] == "errors"


def test_a_trial_stops_as_slower_once_its_next_check_cannot_beat_the_best() -> None:
    check, asked = knee(0.5 * PEAK)
    # The best so far is 150: the 85% check (170) could win, the 60% one (120) could not.
    figure, at, reason = find_capacity(PEAK, check, SLO, beat_rps=150.0)
    assert reason == "slower" and at is None and figure == pytest.approx(0.6 * PEAK)
    assert asked == [pytest.approx(0.85 * PEAK)]
    # Nothing to beat: measured in full.
    assert find_capacity(PEAK, check, SLO)[2] == ""
