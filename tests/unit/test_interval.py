"""The interval method: per-tick throughput samples, Student's t, and when a window is sure."""

from __future__ import annotations

import math
import statistics

import pytest

from tunicorn import interval
from tunicorn.record import Tick
from tunicorn.run.capacity import ENOUGH_REQUESTS, MAX_WINDOW_S, UntilSure, window_s


def ticks(per_tick: list[int], errors: int = 0, dt: float = 1.0) -> list[Tick]:
    out, total = [], 0
    for i, n in enumerate(per_tick, start=1):
        total += n
        out.append(Tick(t=i * dt, requests=total + errors, errors=errors, p50_ms=1.0, p95_ms=2.0))
    return out


def test_samples_are_completed_requests_per_second_per_tick() -> None:
    assert interval.samples(ticks([100, 110, 90])) == (100.0, 110.0, 90.0)
    assert interval.samples(ticks([50, 55], dt=0.5)) == (100.0, 110.0)
    assert interval.samples(ticks([100, 100], errors=3)) == (100.0, 100.0)  # errors excluded
    # A stopped window's short remainder is rounding, not a sample.
    short = [*ticks([100, 100]), Tick(t=2.05, requests=209, errors=0, p50_ms=1.0, p95_ms=2.0)]
    assert interval.samples(short) == (100.0, 100.0)
    # Locust's opening tick at t = 0 is no sample either.
    opening = [Tick(t=0.0, requests=0, errors=0, p50_ms=0.0, p95_ms=0.0), *ticks([100, 90])]
    assert interval.samples(opening) == (100.0, 90.0)


def test_the_t_interval_is_mean_plus_minus_t_s_over_root_n() -> None:
    values = [100.0, 110.0, 90.0, 105.0, 95.0]
    low, high = interval.t_interval(values)
    half = 2.776 * statistics.stdev(values) / math.sqrt(5)
    assert low == pytest.approx(100.0 - half) and high == pytest.approx(100.0 + half)
    assert interval.t_interval([]) == (0.0, 0.0)
    assert interval.t_interval([7.0]) == (7.0, 7.0)
    # Few samples widen it sharply: two give t = 12.7.
    assert interval.t975(1) > 12 and interval.t975(30) == pytest.approx(2.042)
    assert interval.t975(200) == pytest.approx(1.972)


def test_around_centres_the_interval_on_the_runs_own_figure() -> None:
    low, high = interval.around(102.0, [100.0, 110.0, 90.0])
    assert (low + high) / 2 == pytest.approx(102.0, abs=0.01)
    assert interval.around(102.0, [100.0]) == (0.0, 0.0)  # one tick says nothing of spread
    assert interval.around(0.0, [1.0, 2.0]) == (0.0, 0.0)


def test_sure_within_five_percent_and_the_text() -> None:
    assert interval.sure(100.0, (96.0, 104.0))
    assert not interval.sure(100.0, (90.0, 110.0))
    assert not interval.sure(100.0, (0.0, 0.0))
    assert interval.text(1023.4, (983.0, 1063.0)) == "1,023 ± 40"
    assert interval.text(87.0, (0.0, 0.0)) == "87.0"
    assert interval.text(11.04, (9.9, 12.2)) == "11.0 ± 1.2"
    assert interval.overlap((1.0, 2.0), (2.0, 3.0)) and not interval.overlap((1.0, 2.0), (2.1, 3))


def test_a_window_stops_once_sure_or_with_enough_requests_never_before_its_minimum() -> None:
    seen: list[Tick] = []
    steady = UntilSure(3.0, seen.append, None)
    for t in ticks([100, 101, 99, 100]):
        steady(t)
        if steady.event.is_set():
            break
    assert steady.event.is_set() and steady.ticks[-1].t == 3.0  # at its minimum, not before
    assert len(seen) == 3  # the caller's own callback saw every tick

    noisy = UntilSure(3.0, None, None)
    for t in ticks([10, 30, 5, 25, 12, 28, 9, 31, 11, 27, 10, 30, 5, 25, 12, 28, 9]):
        noisy(t)
        if noisy.event.is_set():
            break
    assert noisy.event.is_set()
    done = noisy.ticks[-1]
    assert done.requests >= ENOUGH_REQUESTS or interval.sure(
        done.requests / done.t, interval.around(done.requests / done.t,
                                                interval.samples(noisy.ticks))
    )  # fmt: skip
    assert done.t > 3.0  # a noisy slow page ran past its minimum


def test_errors_a_spent_budget_or_a_stop_end_a_window_at_once() -> None:
    failing = UntilSure(3.0, None, None)
    for t in ticks([10, 30, 5], errors=2):
        failing(t)
    assert failing.event.is_set()
    spent = UntilSure(3.0, None, None, spent=lambda: True)
    for t in ticks([10, 30, 5]):
        spent(t)
    assert spent.event.is_set()
    import threading

    outer = threading.Event()
    outer.set()
    stopped = UntilSure(3.0, None, outer)
    stopped(ticks([10])[0])
    assert stopped.event.is_set()


def test_slow_pages_get_longer_windows_fast_pages_stay_short() -> None:
    assert window_s(3.0, 2000.0) == 3.0
    assert window_s(3.0, 25.0) == ENOUGH_REQUESTS / 25.0
    assert window_s(3.0, 1.0) == MAX_WINDOW_S
