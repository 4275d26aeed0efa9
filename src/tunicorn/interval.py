"""How sure a capacity is: a 95% interval from the throughput samples of the run that showed it.

The method is pyperf's (mean ± standard deviation over calibrated samples), made into an
interval with Student's t because a window holds only a few samples: each tick of the load
engine (a quarter of a second in a trial) is one sample of throughput, so a run is a series
of batch means, and the interval is mean ± t(0.975, n-1) × s / √n. criterion's bootstrap
needs tens of samples to cover; with 8 to 120 ticks, most windows near the low end, a
t-interval is the honest one (it widens sharply for few samples instead of pretending).
Runs of one configuration pooled after a second look put all their ticks into one series,
so the drift between runs widens it and more runs narrow it.

Pure functions only: the measure stage feeds ticks in, rank compares what comes out.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from tunicorn.record import Tick

SURE = 0.05  # a rung is sure once its interval is within ±5% of its figure
# Student's t at 97.5% for 1..30 degrees of freedom; beyond, 1.96 plus a little.
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip

Interval = tuple[float, float]


def t975(dof: int) -> float:
    """Student's t quantile at 97.5% (a two-sided 95% interval) for `dof` degrees of freedom."""
    if dof < 1:
        return math.inf
    return _T975[dof - 1] if dof <= len(_T975) else 1.96 + 2.4 / dof


def samples(timeline: Sequence[Tick]) -> tuple[float, ...]:
    """Completed requests per second in each tick of a window (errors excluded).

    Ticks carry running totals from the window's start; a tick shorter than a fifth of the
    usual one (the remainder when a window is stopped) is left out: its rate is mostly
    rounding.
    """
    out: list[float] = []
    prev_t, prev_ok = 0.0, 0
    steps = [b.t - a.t for a, b in zip(timeline, timeline[1:], strict=False)]
    usual = statistics.median(steps) if steps else (timeline[0].t if timeline else 0.0)
    for tick in timeline:
        ok = tick.requests - tick.errors
        dt = tick.t - prev_t
        if dt > 0 and dt >= 0.2 * usual:
            out.append((ok - prev_ok) / dt)
        prev_t, prev_ok = tick.t, ok
    return tuple(out)


def t_interval(values: Sequence[float]) -> Interval:
    """Mean ± t × s / √n over `values`; (0, 0) for none, the value itself for one
    (a single sample says nothing about its spread: callers treat it as unknown)."""
    if not values:
        return 0.0, 0.0
    mean = statistics.fmean(values)
    if len(values) == 1:
        return mean, mean
    half = t975(len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return max(0.0, mean - half), mean + half


def around(figure: float, values: Sequence[float]) -> Interval:
    """The interval of `values`, moved to be centred on `figure` (the capacity as the run
    counted it: completed requests over the whole window, which the ticks' mean only
    approximates), rounded to hundredths. (0, 0) when there are fewer than two samples."""
    if len(values) < 2 or figure <= 0:
        return 0.0, 0.0
    low, high = t_interval(values)
    half = (high - low) / 2
    return round(max(0.0, figure - half), 2), round(figure + half, 2)


def spanning(ci: Interval, figures: Sequence[float]) -> Interval:
    """`ci` widened to take in every one of `figures` (runs of one configuration on fresh
    servers: a 95% interval that one of its own runs falls outside of claims too much)."""
    if not figures:
        return ci
    low, high = (ci if ci[1] > 0 else (min(figures), max(figures)))
    return round(min(low, *figures), 2), round(max(high, *figures), 2)


def half_width(ci: Interval) -> float:
    return (ci[1] - ci[0]) / 2


def sure(figure: float, ci: Interval, within: float = SURE) -> bool:
    """Is the interval within ±`within` of the figure?"""
    return figure > 0 and ci[1] > 0 and half_width(ci) <= within * figure


def relative(figure: float, ci: Interval) -> float:
    """The interval's half-width as a share of the figure (inf when there is none)."""
    if figure <= 0 or ci[1] <= 0:
        return math.inf
    return half_width(ci) / figure


def overlap(a: Interval, b: Interval) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def text(figure: float, ci: Interval) -> str:
    """A figure with its interval's larger half, as the trials table shows it: 1,023 ± 40
    (11.0 ± 1.2 under 100); the figure alone without an interval."""
    places = 0 if figure >= 100 else 1
    low, high = ci
    if high <= 0 or figure <= 0:
        return f"{figure:,.{places}f}"
    half = max(high - figure, figure - low)
    return f"{figure:,.{places}f} ± {half:,.{places}f}"
