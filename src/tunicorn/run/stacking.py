"""Do requests to a fast page stack? The probe's answer where rounds are too short to see.

A page answered in 1 ms cannot show rounds of service from outside: the rounds are lost in
connection set-up and scheduling noise, one wave at a time. But a server that serves one
request at a time still leaves a trace in every wave: its answers come back one service
time apart, so the last of a wave of k lands (k − 1) service times after the first, while a
server that serves k at once answers them together. Each *round* of the probe is one
request alone (its latency, less the connection's round trips, estimates the service time
T) followed at once by a wave of k; its stacking ratio is

    r = (last answer − first answer) / ((k − 1) · T)

about 1 when the k were served one after another, about 0 when together, and
(⌈k/S⌉ − 1)/(k − 1) with S slots. T is the lone request's latency less two connection times
(the handshake and the request's own trip); on loopback a "connection time" is mostly the
client's own work, so T comes out low and a serial server's ratio above 1: the error leans
toward "one at a time", the safe side for a check that gates a deploy. The rounds' median
ratio is the estimate; how sure it is comes from a bootstrap over rounds (criterion.rs's
method: resample the rounds with replacement, take each resample's median, and count how
many land on the estimate's side of the decision line). Rounds are paired, so a drift in
the machine's load over the probe moves a round's T and its spread together and cancels
in the ratio.

The decision line is half a round: the wave is served together when the last answer lands
within half a service time of the first (the rule the slow-page rounds use, ROUND_SLACK).
A page whose time is all CPU on a host with fewer free cores than k stacks too, however
many slots the server has: the result says so, and a page that waits tells them apart.
Pure functions of completion times: no network, no clock.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from tunicorn.record import StackTest

__all__ = ["BOOTSTRAP", "MIN_ROUNDS", "Round", "StackTest", "ratio", "stack_test"]

BOOTSTRAP = 2000  # resamples of the rounds
MIN_ROUNDS = 8  # fewer paired rounds than this say nothing firm
HIGH = 0.95  # share of resamples that agree, for "high" confidence
MEDIUM = 0.80
MIN_SERVICE_MS = 0.02  # a service time below this is clock noise: the round is dropped
SEED = 20  # resampling is seeded: the same rounds give the same confidence


@dataclasses.dataclass(frozen=True)
class Round:
    """One request alone, then a wave of k: what the stacking ratio is computed from."""

    single_ms: float  # the lone request's latency, connection included
    connect_ms: float  # its TCP connect: one network round trip
    wave_ms: tuple[float, ...]  # the wave's answers, from its start
    wave_connect_ms: tuple[float, ...] = ()  # when each of the wave's connections was open


def service_ms(single_ms: float, connect_ms: float) -> float:
    """The server's time for one request: its latency less two network round trips (the
    connection's handshake, and the request there and the answer back)."""
    return single_ms - 2.0 * connect_ms


def ratio(r: Round) -> float | None:
    """How far the wave's answers stacked, in rounds of service per extra request; None
    when the round cannot say (a failed answer, or a service time lost in clock noise)."""
    k = len(r.wave_ms)
    t = service_ms(r.single_ms, r.connect_ms)
    if k < 2 or t < MIN_SERVICE_MS:
        return None
    times = sorted(r.wave_ms)
    return (times[-1] - times[0]) / ((k - 1) * t)


def line(k: int) -> float:
    """The decision line on the ratio: half a service time of spread over the whole wave."""
    return 0.5 / (k - 1)


def slots_from(r: float, k: int) -> int:
    """Slots that stack a wave of k by a ratio r: k answers in 1 + r(k − 1) rounds."""
    if r < line(k):
        return k
    rounds = 1.0 + r * (k - 1)
    return max(1, min(k - 1, math.floor(k / rounds + 0.5)))


def stack_test(rounds: Sequence[Round], k: int, *, resamples: int = BOOTSTRAP) -> StackTest | None:
    """The verdict of the rounds of waves of k, or None with fewer than MIN_ROUNDS usable."""
    ratios = [x for x in (ratio(r) for r in rounds) if x is not None]
    if len(ratios) < MIN_ROUNDS or k < 2:
        return None
    values = np.asarray(ratios, dtype=float)
    median = float(np.median(values))
    rng = np.random.default_rng(SEED)
    picks = rng.integers(0, len(values), size=(resamples, len(values)))
    medians = np.median(values[picks], axis=1)
    cut = line(k)
    together = median < cut
    agree = float(np.mean((medians < cut) == together))
    confidence = "high" if agree >= HIGH else "medium" if agree >= MEDIUM else "low"
    service = float(np.median([service_ms(r.single_ms, r.connect_ms) for r in rounds]))
    return StackTest(
        k=k, rounds=len(ratios), ratio=round(median, 3),
        ratio_low=round(float(np.percentile(medians, 5)), 3),
        ratio_high=round(float(np.percentile(medians, 95)), 3),
        service_ms=round(service, 3), together=together, agree=round(agree, 3),
        confidence=confidence, slots=slots_from(median, k),
    )  # fmt: skip


def sureness(test: StackTest) -> str:
    """How sure, in a sentence a user can weigh."""
    side = "together" if test.together else "one after another"
    return (
        f"{test.agree:.0%} of {BOOTSTRAP} resamples of the {test.rounds} rounds agree that "
        f"waves of {test.k} were served {side} (stacking ratio {test.ratio:.2f}, 90% interval "
        f"{test.ratio_low:.2f}–{test.ratio_high:.2f}; about 1 or more: one at a time, "
        "0: all at once)"
    )
