"""A trial's capacity ladder and its windows: the rules of one measurement, without a server.

`find_capacity` walks closed loops of more or fewer clients to the most a configuration
sustains within the SLO; `UntilSure` ends each window once its throughput's interval is
within ±5% (or enough requests completed); `busy` and `slots_full` say when more clients
could only queue. `run/measure.py` runs them against a real server.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable

from tunicorn import interval, model
from tunicorn.classes import event_loop
from tunicorn.record import LoadResult, ServerConfig, ServerStats, Tick

TickCallback = Callable[[Tick], None]

LADDER_STEPS = 4  # closed loops after the saturating one, at most
ENOUGH_REQUESTS = 300  # a window with this many completed requests is long enough, sure or not
MAX_WINDOW_S = 30.0  # no window runs longer, however slow the page
# A trial's windows tick four times a second: a 2 s window gives 8 throughput samples, not 2,
# and Student's t for 7 degrees of freedom is 2.36 where for 1 it is 12.7 (interval.py).
SAMPLE_TICK_S = 0.25
MAX_CLIENTS = 512  # the most closed-loop clients a trial runs


def cannot_win(reachable_rps: float, beat_rps: float) -> bool:
    """True when the most a trial can still reach is under the capacity it must beat (the low
    end of the best's interval, rank.ci) by more than a sure interval's half-width
    (interval.SURE): it could not even tie, so its remaining SLO checks would only spend time."""
    return beat_rps > 0 and reachable_rps * (1 + interval.SURE) < beat_rps


BUSY = 0.9  # a server whose cores ran this busy in a closed loop has no capacity left to show


def busy(stats: ServerStats, cores: tuple[int, ...]) -> bool:
    """Did the server keep its cores (`cores`; none: unpinned, all of this machine's) at
    least BUSY busy?"""
    return stats.cpu_cores_busy >= BUSY * (len(cores) or os.cpu_count() or 1)


def slots_full(config: ServerConfig, throughput_rps: float, single_ms: float) -> bool:
    """Were a sync or gthread configuration's slots all but full? By Little's law at one
    request's latency alone, `throughput_rps` × `single_ms` requests were in service at once
    (under load a request takes longer, so this undercounts); at BUSY of the slots, more
    clients only queue. Event loops have no slot count to fill (never full)."""
    if event_loop(config.worker_class) or single_ms <= 0:
        return False
    return model.concurrency(throughput_rps, single_ms / 1000.0) >= BUSY * config.slots


def passes(result: LoadResult, slo_p95_ms: float) -> bool:
    return not result.errors and result.requests > 0 and result.latency_ms.p95 <= slo_p95_ms


def find_capacity(
    sat: LoadResult,
    closed: Callable[[int], LoadResult | None],
    slo_p95_ms: float,
    single_ms: float,
    beat_rps: float = 0.0,
    out_of_time: Callable[[], bool] = lambda: False,
    *,
    double: bool = True,
) -> tuple[float, LoadResult | None, str]:
    """The most requests per second a closed loop sustains with p95 within the SLO and no
    errors: (capacity, the run that showed it, "") or (figure, None, reason).

    `sat` is the saturating closed loop (one client per slot and a quarter more): if it meets
    the SLO, the capacity is it or, where higher and also within the SLO, one closed loop at
    twice its clients (unless not `double`: the caller knows more clients would only queue).
    Otherwise the ladder starts at the knee Little's law puts at peak × one request's latency
    (fewer clients leave the server idle between requests, more only queue), steps up by half
    after a pass and down after a miss, bisecting once it has both (at most LADDER_STEPS
    runs), and stops at a pass within the peak's interval and ±5% of it (it found the peak).
    `closed(c)` runs one closed loop of c clients (None when stopped). A step that could no
    longer beat `beat_rps` ends it as "slower", with the most it could have reached: c
    clients serve at most c / `single_ms` (Little's law at one request's latency) and never
    more than the peak (its window's interval's high end).
    """
    if sat.errors:
        return 0.0, None, "errors"
    if passes(sat, slo_p95_ms):
        # Within the target even at its peak: twice the clients, once, may still find more
        # (a deeper backlog leaves no worker idle between requests; greenlets and event loops
        # have no slot count to fill). A capacity is never below what a closed loop sustains.
        if not double or out_of_time() or sat.concurrency >= MAX_CLIENTS:
            return sat.throughput_rps, sat, ""
        more = closed(min(2 * sat.concurrency, MAX_CLIENTS))
        if more is not None and more.errors:
            return 0.0, None, "errors"
        higher = more is not None and more.throughput_rps > sat.throughput_rps
        if more is not None and higher and passes(more, slo_p95_ms):
            return more.throughput_rps, more, ""
        return sat.throughput_rps, sat, ""
    top = sat.concurrency
    peak = sat.throughput_rps
    # What the peak could have been: its window's interval's high end. One short window under
    # overload reads low now and then (a database app's 4×1 gevent: 1,314 req/s in one tune,
    # 1,529 and 1,552 in two others, then 1,592 within the SLO), and a bound is only a bound
    # if the window's own noise cannot put the trial above it.
    spread = interval.around(peak, interval.samples(sat.timeline))  # (0, 0): none
    ceiling = max(peak, spread[1])
    # A pass that reaches the peak's interval has found it: more clients can only queue
    # behind the same busy server, adding latency and no throughput (no interval: not known).
    # Within a sure interval's width of the figure too, so a noisy peak's wide interval (its
    # low end far under its figure) does not end the ladder at a pass well below the peak.
    at_peak = max(spread[0], peak * (1 - interval.SURE)) if spread[1] > 0 else math.inf

    def reachable(c: int) -> float:
        return min(ceiling, c * 1000.0 / single_ms) if single_ms > 0 else ceiling

    if single_ms > 0:
        clients = round(model.concurrency(peak, single_ms / 1000.0))
    else:  # no latency alone to go by: Little's law at the peak's own mean/p95
        ratio = sat.latency_ms.mean / sat.latency_ms.p95 if sat.latency_ms.p95 > 0 else 0.5
        clients = math.floor(model.concurrency(peak, slo_p95_ms / 1000.0) * ratio)
    clients = min(top - 1, max(1, clients))
    best: LoadResult | None = None
    low_pass, high_miss = 0, top  # the most clients that passed, the fewest that missed
    for _ in range(LADDER_STEPS):
        if clients <= low_pass or clients >= high_miss:
            break
        if cannot_win(reachable(high_miss - 1), beat_rps):  # the most any step left can reach
            if best is None:
                return reachable(high_miss - 1), None, "slower"
            break
        if best is not None and out_of_time():
            break
        result = closed(clients)
        if result is None:
            break
        if result.errors:
            return 0.0, None, "errors"
        if passes(result, slo_p95_ms):
            low_pass = clients
            if best is None or result.throughput_rps > best.throughput_rps:
                best = result
            if result.throughput_rps >= at_peak:
                break
            step_up = max(clients + 1, math.ceil(clients * 1.5))
            clients = step_up if step_up < high_miss else (clients + high_miss) // 2
        else:
            high_miss = clients
            if best is not None:
                clients = (low_pass + clients) // 2
            else:  # no pass yet: as far below as the miss overshot, and a little more
                over = slo_p95_ms / result.latency_ms.p95 if result.latency_ms.p95 > 0 else 0.5
                clients = min(clients - 1, max(1, math.floor(clients * over * 0.9)))
    if best is None:
        return 0.0, None, "slo"
    return best.throughput_rps, best, ""


def window_s(min_s: float, rate_rps: float) -> float:
    """How long one window is expected to run at `rate_rps`: until ENOUGH_REQUESTS complete,
    at least `min_s`, at most MAX_WINDOW_S (a window that is sure sooner stops sooner)."""
    if rate_rps <= 0:
        return MAX_WINDOW_S
    return min(MAX_WINDOW_S, max(min_s, ENOUGH_REQUESTS / rate_rps))


class UntilSure:
    """A tick callback that ends a window once it is sure: after `min_s`, as soon as its
    throughput's 95% interval is within ±interval.SURE of its figure or ENOUGH_REQUESTS have
    completed (a run with errors is not measured further; once `spent()`, the budget has no
    room for longer windows and it ends at `min_s`). The window's own duration is its longest.

    It sets its own `event`, which the engine obeys as its stop (load's interface: a run
    ends when `stop` is set), so no engine needs to know the condition; the outer `stop`
    (Ctrl-C) is passed through.
    """

    def __init__(
        self,
        min_s: float,
        on_tick: TickCallback | None,
        stop: threading.Event | None,
        spent: Callable[[], bool] = lambda: False,
    ) -> None:
        self.min_s = min_s
        self.on_tick = on_tick
        self.outer = stop
        self.spent = spent
        self.event = threading.Event()
        self.ticks: list[Tick] = []

    def __call__(self, tick: Tick) -> None:
        if self.on_tick is not None:
            self.on_tick(tick)
        if self.outer is not None and self.outer.is_set():
            self.event.set()
            return
        self.ticks.append(tick)
        if tick.t >= self.min_s - 1e-6 and self.enough(tick):
            self.event.set()

    def enough(self, last: Tick) -> bool:
        ok = last.requests - last.errors
        if last.errors or self.spent() or ok >= ENOUGH_REQUESTS:
            return True
        figure = ok / last.t if last.t > 0 else 0.0
        values = interval.samples(self.ticks)
        return len(values) >= 3 and interval.sure(figure, interval.around(figure, values))
