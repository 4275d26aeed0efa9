"""A kept-alive capacity dealt again: the same closed loop on fresh connections, k times.

gevent and gthread workers accept in a race and keep what they accepted, so with kept-alive
connections one run may put 8 of 32 connections on each of 4 workers and the next 22/10/0/0
(benchmarks/keepalive_balance.py: 4×1 gevent on a per-process pool of 4 served 154 req/s
with two workers holding all 32 connections and 305 with all four, wrk and our engine alike).
A front end will not deal the lucky hand every time, so such a capacity is measured over
several hands and judged by its low end. Each hand is one closed loop at the capacity's
clients, on one server (no restart between hands: the connections are closed and opened
again, which is all a front end's reconnect or restart does), with the connections per worker
counted halfway through (`balance`).

Cost: one server start plus k × (0.3 s warm-up + the ladder's window) — for k = 3 and the
default 3 s window, about 12 s per configuration, so the tuner deals again only where it can
matter: kept-alive connections, more than one worker, a class that accepts in a race.
"""

from __future__ import annotations

import dataclasses
import statistics
import threading
import time
from typing import Protocol

from tunicorn.launch import Server
from tunicorn.load import LoadSpec, run_load
from tunicorn.record import Deal, Deals, ServerConfig, Trial
from tunicorn.run.balance import ConnectionCounter
from tunicorn.run.capacity import TickCallback, passes
from tunicorn.run.measure import TrialPlan, pinned

__all__ = ["DEALS", "Dealer", "TrialDealer", "deal", "deal_trial", "dealt_by_race", "merged"]

DEALS = 3  # hands per configuration: the low end of three is what a front end can count on
WARMUP_S = 0.3


class Dealer(Protocol):
    """What tune asks of a dealer: its client model, and a measured trial dealt again
    (`deal_trial` on a real server; a formula in the search's tests)."""

    keepalive: bool

    def __call__(self, trial: Trial) -> Trial: ...


def dealt_by_race(config: ServerConfig, keepalive: bool) -> bool:
    """True when where kept-alive connections land can change the capacity: more than one
    worker of a class that keeps what it accepts. (sync closes every connection, so each
    request is dealt afresh and the hands average out within one window.)"""
    return keepalive and config.workers > 1 and config.effective().worker_class != "sync"


def credit(hand: Deal, slo_p95_ms: float = 0.0) -> float:
    """What one hand counts toward the low end: its throughput if it met the SLO; if only its
    latency missed, the throughput scaled by SLO / p95 (a saturated closed loop's latency
    grows with its clients at the same rate, so by Little's law fewer clients would have met
    the SLO at about this rate; scaling it down as well keeps it a lower bound when fewer
    clients also serve less); 0 with errors, or where no SLO was given."""
    if hand.passed:
        return hand.throughput_rps
    if hand.errors or slo_p95_ms <= 0 or hand.p95_ms <= slo_p95_ms:
        return 0.0
    return hand.throughput_rps * slo_p95_ms / hand.p95_ms


def summarise(
    clients: int, deals: tuple[Deal, ...], seconds: float, slo_p95_ms: float = 0.0
) -> Deals:
    """Low, median and high of the hands' throughput; the low end counts a hand that missed
    the SLO by `credit` (at these clients that hand did not meet it: it is worth at most the
    rate that would)."""
    rates = sorted(d.throughput_rps for d in deals)
    low = min(credit(d, slo_p95_ms) for d in deals) if deals else 0.0
    return Deals(
        clients=clients,
        deals=deals,
        low_rps=round(low, 2),
        median_rps=round(statistics.median(rates), 2) if rates else 0.0,
        high_rps=round(rates[-1], 2) if rates else 0.0,
        seconds=round(seconds, 1),
        slo_p95_ms=slo_p95_ms,
    )


def deal(
    plan: TrialPlan,
    config: ServerConfig,
    clients: int,
    k: int = DEALS,
    *,
    duration_s: float | None = None,
    on_tick: TickCallback | None = None,
    stop: threading.Event | None = None,
) -> Deals:
    """`k` closed loops of `clients` kept-alive connections, each opened afresh, on one server."""
    began = time.monotonic()
    window = (
        duration_s
        if duration_s is not None
        else min(8.0, max(plan.verify_s, 20 * plan.single_ms / 1000))
    )
    timeout = max(10.0, 4 * plan.slo_p95_ms / 1000)
    hands: list[Deal] = []
    with (
        Server(
            plan.target, config, cpus=plan.cores.server, log_dir=plan.log_dir,
            background_stop=True,
        ) as server,
        pinned(plan.cores.client),
    ):
        for _ in range(k):
            if stop is not None and stop.is_set():
                break
            counter = ConnectionCounter(server.pid, server.port, WARMUP_S + window / 2).start()
            run = run_load(
                LoadSpec(url=server.url, requests=plan.requests, concurrency=clients,
                         duration_s=window, warmup_s=WARMUP_S, timeout_s=timeout,
                         keepalive=True),
                on_tick=on_tick, stop=stop,
            )  # fmt: skip
            hands.append(
                Deal(
                    throughput_rps=run.throughput_rps,
                    p95_ms=run.latency_ms.p95,
                    passed=passes(run, plan.slo_p95_ms),
                    worker_connections=counter.result(),
                    errors=run.errors,
                    clients=clients,
                )
            )
        server.check_alive()
    return summarise(clients, tuple(hands), time.monotonic() - began, plan.slo_p95_ms)


def deal_trial(
    plan: TrialPlan,
    trial: Trial,
    k: int = DEALS,
    *,
    on_tick: TickCallback | None = None,
    stop: threading.Event | None = None,
) -> Trial:
    """`trial` with its capacity's closed loop dealt `k` times (`Trial.deals`), where kept-alive
    connections can land unevenly; unchanged otherwise. The capacity itself is left alone:
    the caller decides how to judge it by `deals.low_rps`."""
    if not trial.feasible or not dealt_by_race(trial.config, plan.keepalive):
        return trial
    clients = trial.capacity_clients or (trial.phases[0].concurrency if trial.phases else 0)
    if clients < 1:
        return trial
    return dataclasses.replace(
        trial, deals=deal(plan, trial.config, clients, k, on_tick=on_tick, stop=stop)
    )


class TrialDealer:
    """A `Dealer` on real servers: `deal_trial` with one plan (one client model)."""

    def __init__(
        self,
        plan: TrialPlan,
        k: int = DEALS,
        *,
        on_tick: TickCallback | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.plan = plan
        self.keepalive = plan.keepalive
        self.k = k
        self.on_tick = on_tick
        self.stop = stop

    def __call__(self, trial: Trial) -> Trial:
        return deal_trial(self.plan, trial, self.k, on_tick=self.on_tick, stop=self.stop)


def merged(runs: list[Deals]) -> Deals | None:
    """Several runs' hands as one spread (a configuration measured again by settle deals
    again each time: every hand it was dealt counts toward its low end)."""
    if not runs:
        return None
    hands = tuple(h for d in runs for h in d.deals)
    return summarise(runs[-1].clients, hands, sum(d.seconds for d in runs), runs[-1].slo_p95_ms)
