"""Kept-alive hands: which configurations are dealt again, how hands are judged, and the
record's round trip. No network, no clock."""

from __future__ import annotations

import threading

from tunicorn.decide.rank import hands_text
from tunicorn.record import (
    ClientStats,
    Deal,
    Deals,
    Latency,
    ServerConfig,
    Trial,
    from_json,
    to_json,
)
from tunicorn.run.balance import ConnectionCounter, imbalance
from tunicorn.run.deal import credit, dealt_by_race, merged, summarise


def test_only_several_workers_that_keep_what_they_accept_are_dealt_again() -> None:
    assert dealt_by_race(ServerConfig(4, 1, "gevent"), keepalive=True)
    assert dealt_by_race(ServerConfig(2, 4, "gthread"), keepalive=True)
    assert dealt_by_race(ServerConfig(2, 4, "sync"), keepalive=True)  # runs as gthread
    assert not dealt_by_race(ServerConfig(4, 1, "sync"), keepalive=True)  # closes each one
    assert not dealt_by_race(ServerConfig(1, 8, "gthread"), keepalive=True)  # one worker
    assert not dealt_by_race(ServerConfig(4, 1, "gevent"), keepalive=False)


def test_the_low_end_is_the_worst_hand_and_a_missed_slo_counts_nothing() -> None:
    even = Deal(305.0, 80.0, True, (8, 8, 8, 8))
    lopsided = Deal(154.0, 90.0, True, (22, 10, 0, 0))
    spread = summarise(32, (even, lopsided, even), 12.3)
    assert (spread.low_rps, spread.median_rps, spread.high_rps) == (154.0, 305.0, 305.0)
    missed = Deal(160.0, 900.0, False, (32, 0, 0, 0))
    assert summarise(32, (even, missed), 8.0).low_rps == 0.0  # no SLO given: nothing
    assert summarise(32, (), 1.0).low_rps == 0.0


def test_a_hand_that_only_missed_the_latency_target_counts_the_rate_that_would_meet_it() -> None:
    """All 32 connections on one worker: 160 req/s with p95 900 ms against a 300 ms target.
    By Little's law a third of the clients would have met it at about that rate; the hand
    counts a third of it, never more than it served. A hand with errors counts nothing."""
    even = Deal(305.0, 80.0, True, (8, 8, 8, 8))
    missed = Deal(160.0, 900.0, False, (32, 0, 0, 0))
    spread = summarise(32, (even, missed), 8.0, slo_p95_ms=300.0)
    assert spread.low_rps == round(160.0 * 300.0 / 900.0, 2) and spread.slo_p95_ms == 300.0
    assert 0 < credit(missed, 300.0) < missed.throughput_rps
    assert credit(even, 300.0) == 305.0
    assert credit(Deal(160.0, 900.0, False, (32, 0, 0, 0), errors=3), 300.0) == 0.0
    assert credit(Deal(160.0, 250.0, False, (32, 0, 0, 0), errors=3), 300.0) == 0.0


def test_imbalance_is_the_busiest_share_over_an_even_one() -> None:
    assert imbalance((8, 8, 8, 8)) == 1.0
    assert imbalance((32, 0, 0, 0)) == 4.0
    assert imbalance((22, 10, 0, 0)) == 2.75
    assert imbalance(()) == 0.0 and imbalance((0, 0)) == 0.0


def test_the_counter_reads_once_when_its_time_comes() -> None:
    calls: list[tuple[int, int]] = []
    fired = threading.Event()

    def read(pid: int, port: int) -> tuple[int, ...]:
        calls.append((pid, port))
        fired.set()
        return (3, 1)

    counter = ConnectionCounter(41, 8000, 0.0, read=read).start()
    assert fired.wait(5)
    assert counter.result() == (3, 1) and calls == [(41, 8000)]
    never = ConnectionCounter(41, 8000, 60.0, read=read).start()
    assert never.result() == ()  # stopped before its time: nothing read
    assert len(calls) == 1


def test_trial_keeps_connections_and_deals_through_json() -> None:
    deals = Deals(32, (Deal(305.0, 80.0, True, (8, 8, 8, 8)),), 305.0, 305.0, 305.0, 5.0)
    trial = Trial(
        config=ServerConfig(4, 1, "gevent"), source="search", feasible=True, reason="",
        capacity_rps=300.0, throughput_rps=310.0, requests=900, errors=0, latency_ms=Latency(),
        server=None, client=ClientStats(),
        worker_balance=(120, 118, 130, 125), worker_connections=(9, 7, 8, 8), deals=deals,
    )  # fmt: skip
    back = from_json(to_json(trial), Trial)
    assert back == trial
    assert back.worker_connections == (9, 7, 8, 8) and back.deals == deals
    old = from_json(to_json(trial).replace('"worker_connections"', '"unknown_key"'), Trial)
    assert old.worker_connections == ()  # a record from before the field reads as unknown


def test_hands_pooled_over_runs_keep_their_own_clients() -> None:
    """settle measures a configuration again and deals it again; the hands pool, and a hand
    that missed is named at the clients it ran with, not the last run's."""
    first = summarise(10, (Deal(78.0, 165.0, False, (10, 0), clients=10),), 9.0, 140.0)
    second = summarise(4, (Deal(77.0, 55.0, True, (4, 0), clients=4),), 9.0, 140.0)
    both = merged([first, second])
    assert both is not None and len(both.deals) == 2 and both.seconds == 18.0
    assert both.low_rps == first.low_rps < second.low_rps
    text = hands_text(both, both.low_rps, lucky=True)
    assert "1 missed the SLO at 10 clients" in text and "over 2 deals" in text
    assert merged([]) is None
