"""Kept-alive hands: which configurations are dealt again, how hands are judged, and the
record's round trip. No network, no clock."""

from __future__ import annotations

import threading

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
from tunicorn.run.deal import dealt_by_race, summarise


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
    assert summarise(32, (even, missed), 8.0).low_rps == 0.0
    assert summarise(32, (), 1.0).low_rps == 0.0


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
