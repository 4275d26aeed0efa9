"""The capacity rule of one trial (`capacity.find_capacity`): a ladder of closed loops, with
the server made up as a queue: C clients at a peak rate X wait C / X, and p95 is twice that."""

from __future__ import annotations

import dataclasses

import pytest

from tunicorn.record import ClientStats, Latency, LoadResult, Tick
from tunicorn.run.capacity import LADDER_STEPS, find_capacity

PEAK = 200.0  # req/s the server reaches once it has enough clients
SINGLE_MS = 20.0  # one request alone: 50 req/s from one client
SLO = 100.0


def run(clients: int, *, errors: bool = False) -> LoadResult:
    """A closed loop of `clients` on the made-up server."""
    rate = min(PEAK, clients * 1000.0 / SINGLE_MS)
    mean = 1000.0 * clients / rate
    return LoadResult(
        mode="closed", concurrency=clients, rate=None, duration_s=2.0, requests=int(2 * rate),
        ok=int(2 * rate), errors_by_kind={"http_5xx": 2} if errors else {},
        latency_ms=Latency(mean=mean, p95=2 * mean), throughput_rps=rate, client=ClientStats(),
    )  # fmt: skip


def ladder(errors_from: int = 10**6) -> tuple[list[int], object]:
    asked: list[int] = []

    def closed(clients: int) -> LoadResult:
        asked.append(clients)
        return run(clients, errors=clients >= errors_from)

    return asked, closed


def saturated(rates: tuple[float, ...], tick_s: float) -> LoadResult:
    """The saturating run of 40 clients, its window ticking every `tick_s` at `rates` req/s."""
    total, ticks = 0, []
    for i, r in enumerate(rates, 1):
        total += int(r * tick_s)
        ticks.append(Tick(t=tick_s * i, requests=total, errors=0, p50_ms=100.0, p95_ms=400.0))
    return dataclasses.replace(run(40), timeline=tuple(ticks))


def test_a_saturating_run_within_the_slo_is_tried_once_with_twice_the_clients() -> None:
    asked, closed = ladder()
    sat = run(2)  # 100 req/s, p95 40 ms: within, and one request's worth below the peak
    capacity, at, reason = find_capacity(sat, closed, SLO, SINGLE_MS)  # type: ignore[arg-type]
    assert asked == [4] and reason == "" and capacity == pytest.approx(PEAK)
    assert at is not None and at.concurrency == 4
    asked, closed = ladder()
    sat = run(5)  # already the peak: twice the clients (p95 100 ms) add nothing
    assert find_capacity(sat, closed, SLO, SINGLE_MS) == (PEAK, sat, "")  # type: ignore[arg-type]
    assert asked == [10]
    assert find_capacity(sat, closed, SLO, SINGLE_MS, out_of_time=lambda: True)[1] is sat


def test_the_ladder_starts_at_the_knee_littles_law_puts_it_at() -> None:
    asked, closed = ladder()
    sat = run(40)  # 200 req/s, mean 200 ms, p95 400 ms: over
    capacity, at, reason = find_capacity(sat, closed, SLO, SINGLE_MS)  # type: ignore[arg-type]
    # The knee: 200 req/s × 20 ms = 4 clients; then up by half while within the target
    # (6: p95 60 ms, 9: 90 ms), a miss at 14 (140 ms), and one bisection (11: 110 ms).
    assert reason == "" and at is not None and at.latency_ms.p95 <= SLO
    assert asked == [4, 6, 9, 14] and len(asked) <= LADDER_STEPS
    assert capacity == pytest.approx(PEAK)


def test_a_miss_steps_down_and_nothing_within_the_slo_is_a_miss() -> None:
    asked, closed = ladder()
    slo = 30.0  # even one client waits 20 ms (p95 40 ms): nothing passes
    assert find_capacity(run(40), closed, slo, SINGLE_MS) == (0.0, None, "slo")  # type: ignore[arg-type]
    assert asked == sorted(asked, reverse=True) and asked[-1] == 1


def test_errors_rule_a_trial_out() -> None:
    _, closed = ladder()
    assert find_capacity(run(40, errors=True), closed, SLO, SINGLE_MS)[2] == "errors"  # type: ignore[arg-type]
    _, closed = ladder(errors_from=5)
    assert find_capacity(run(40), closed, SLO, SINGLE_MS)[2] == "errors"  # type: ignore[arg-type]


def test_a_trial_that_cannot_beat_the_best_stops_as_slower() -> None:
    asked, closed = ladder()
    # No step can reach more than the peak (200 req/s); the best so far is 250.
    figure, at, reason = find_capacity(run(40), closed, SLO, SINGLE_MS, beat_rps=250.0)  # type: ignore[arg-type]
    assert reason == "slower" and at is None and figure == pytest.approx(PEAK) and asked == []
    # Nothing to beat: measured in full.
    assert find_capacity(run(40), closed, SLO, SINGLE_MS)[2] == ""  # type: ignore[arg-type]


def test_a_noisy_peak_is_a_bound_only_up_to_its_windows_interval() -> None:
    # The saturating window read 200 req/s on average, but its half-second ticks spread
    # 170–230: it might reach more than the 215 to beat. It is measured on.
    noisy = saturated((170.0, 230.0, 185.0, 215.0), 0.5)
    asked, closed = ladder()
    assert find_capacity(noisy, closed, SLO, SINGLE_MS, beat_rps=215.0)[2] == ""  # type: ignore[arg-type]
    assert asked
    # Steady ticks: the same figure to beat stops it as before.
    asked, closed = ladder()
    flat = saturated((200.0,) * 4, 0.5)
    assert find_capacity(flat, closed, SLO, SINGLE_MS, beat_rps=250.0)[2] == "slower"  # type: ignore[arg-type]
    assert asked == []


def test_the_ladder_stops_at_a_pass_that_reaches_the_peaks_interval() -> None:
    # The saturating window read 200 req/s, its ticks 195-205. The knee (4 clients) passes at
    # 200 req/s with p95 40 ms: that is the peak, and more clients would only queue.
    sat = saturated((195.0, 205.0, 198.0, 202.0), 0.25)
    asked, closed = ladder()
    capacity, at, reason = find_capacity(sat, closed, SLO, SINGLE_MS)  # type: ignore[arg-type]
    assert asked == [4] and reason == "" and capacity == pytest.approx(PEAK)
    assert at is not None and at.concurrency == 4
    # A noisy peak (ticks 100-300 req/s): its interval's low end is far under 200, so a pass
    # at 150 req/s does not end the ladder; only one within 5% of the peak would.
    noisy = saturated((100.0, 300.0, 120.0, 280.0), 0.25)
    steps: list[int] = []

    def short_of_the_peak(clients: int) -> LoadResult:
        steps.append(clients)
        return dataclasses.replace(run(clients), throughput_rps=150.0)

    find_capacity(noisy, short_of_the_peak, SLO, SINGLE_MS)  # type: ignore[arg-type]
    assert len(steps) > 1
    # Without the peak's interval (no ticks), the ladder climbs on to bound it from above.
    asked, closed = ladder()
    find_capacity(run(40), closed, SLO, SINGLE_MS)  # type: ignore[arg-type]
    assert asked == [4, 6, 9, 14]


def test_no_doubled_run_where_the_caller_knows_more_clients_only_queue() -> None:
    asked, closed = ladder()
    sat = run(2)  # within the SLO below the peak: a doubled run would find more …
    capacity, at, _ = find_capacity(sat, closed, SLO, SINGLE_MS, double=False)  # type: ignore[arg-type]
    assert asked == [] and at is sat and capacity == sat.throughput_rps  # … but is not asked for


def test_slots_are_full_by_littles_law_at_one_requests_latency() -> None:
    from tunicorn.record import ServerConfig, ServerStats
    from tunicorn.run.capacity import busy, slots_full

    one = ServerConfig(1, 1, "sync")
    assert slots_full(one, 14.0, 76.5)  # 1.07 requests in service on one slot
    assert not slots_full(ServerConfig(1, 16, "gthread"), 137.0, 76.5)  # 10.5 of 16
    assert not slots_full(ServerConfig(1, 1, "gevent"), 1000.0, 76.5)  # no slot count to fill
    assert not slots_full(one, 14.0, 0.0)  # no latency alone to go by
    assert busy(ServerStats(cpu_cores_busy=0.95), (0,))
    assert not busy(ServerStats(cpu_cores_busy=0.95), (0, 1))
