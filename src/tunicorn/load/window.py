"""The built-in engine's measured window in figures: latencies per tick, the histogram, the
LoadResult.

`load.engine` drives the connections and counts each outcome as it happens; what those
counts come to (a tick's p50 and p95, the histogram fed once per distinct microsecond, the
client's own CPU, an open loop that fell behind its rate, the stalled requests apart) is
worked out here, once per tick and once at the end, off the hot path. `_Engine` inherits it.
"""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING

from tunicorn.load.wire import HIST_HIGHEST_US, HIST_LOWEST_US
from tunicorn.record import ClientStats, Latency, LoadResult, StalledStats, Tick

if TYPE_CHECKING:
    from hdrh.histogram import HdrHistogram

    from tunicorn.load.scenario import LoadSpec

LATE_FRACTION_MAX = 0.05
RATE_FRACTION_MIN = 0.95
SATURATED_BUSY = 0.9
MAX_DISTINCT = 100_000  # latencies counted by microsecond before they go into the histogram


class Window:
    """The counts of the measured window (set by `_Engine.__init__`) and what they come to."""

    spec: LoadSpec
    latencies: list[float]  # seconds, this tick; flushed into the histogram
    by_us: collections.Counter[int]
    hist: HdrHistogram
    latency_sum_us: int
    ok: int
    errors: dict[str, int]
    status: collections.Counter[int]
    sent_measured: int
    late: int
    timeline: list[Tick]
    stalled_ok: int
    stalled_errors: dict[str, int]
    stalled_latencies: list[float]
    t_measure: float
    t_stopped: float
    cpu_begin: float
    cpu_end: float

    def stalled_answer(self, status: int, latency: float) -> None:
        if status < 400:
            self.stalled_ok += 1
            self.stalled_latencies.append(latency)
        else:
            self.stalled_errors["http_4xx" if status < 500 else "http_5xx"] += 1

    def close_tick(self, now: float) -> Tick:
        """This tick's record, kept in the timeline."""
        p50, p95 = self.flush()
        errors = sum(self.errors.values())
        t = Tick(
            t=round(now - self.t_measure, 3),
            requests=self.ok + errors,
            errors=errors,
            p50_ms=round(p50, 3),
            p95_ms=round(p95, 3),
        )
        self.timeline.append(t)
        return t

    def flush(self) -> tuple[float, float]:
        """Count this tick's latencies by microsecond; their p50 and p95 in ms."""
        values = self.latencies
        self.latencies = []
        if not values:
            return 0.0, 0.0
        values.sort()
        self.by_us.update([int(v * 1_000_000) for v in values])
        if len(self.by_us) > MAX_DISTINCT:
            self.drain()
        n = len(values)
        return values[min(n - 1, n // 2)] * 1000, values[min(n - 1, int(n * 0.95))] * 1000

    def drain(self) -> None:
        """Record the counts into the histogram, each distinct microsecond once: hdrh records
        in Python (about 1.5 µs a call) and its mean walks every bucket, so the sum of the
        values is kept here instead."""
        record = self.hist.record_value
        total = 0
        for us, count in self.by_us.items():
            us = HIST_LOWEST_US if us < HIST_LOWEST_US else min(us, HIST_HIGHEST_US)
            record(us, count)
            total += us * count
        self.latency_sum_us += total
        self.by_us.clear()

    def result(self) -> LoadResult:
        spec = self.spec
        wall = max(0.0, self.t_stopped - self.t_measure)
        cpu = max(0.0, self.cpu_end - self.cpu_begin)
        errors = {k: v for k, v in self.errors.items()}
        requests = self.ok + sum(errors.values())
        self.drain()
        hist = self.hist
        if hist.get_total_count():
            at = hist.get_percentile_to_value_dict([50, 90, 95, 99])  # one pass, not four
            latency = Latency(
                p50=at[50] / 1000,
                p90=at[90] / 1000,
                p95=at[95] / 1000,
                p99=at[99] / 1000,
                max=hist.get_max_value() / 1000,
                mean=round(self.latency_sum_us / hist.get_total_count() / 1000, 3),
            )
        else:
            latency = Latency()
        busy = cpu / wall if wall > 0 else 0.0
        client = ClientStats(
            cpu_seconds=round(cpu, 4),
            cpu_ms_per_request=round(cpu * 1000 / requests, 4) if requests else 0.0,
            busy_fraction=round(busy, 3),
            saturated=busy >= SATURATED_BUSY,
        )
        rate_missed = False
        late_fraction = 0.0
        if spec.rate is not None and wall > 0:
            late_fraction = self.late / self.sent_measured if self.sent_measured else 0.0
            sent_rate = self.sent_measured / wall
            rate_missed = (
                late_fraction > LATE_FRACTION_MAX or sent_rate < RATE_FRACTION_MIN * spec.rate
            )
        return LoadResult(
            mode=spec.mode,
            concurrency=spec.concurrency,
            rate=spec.rate,
            duration_s=round(wall, 3),
            requests=requests,
            ok=self.ok,
            errors_by_kind=errors,
            latency_ms=latency,
            throughput_rps=round(self.ok / wall, 2) if wall > 0 else 0.0,
            client=client,
            status_counts={str(k): v for k, v in sorted(self.status.items())},
            timeline=tuple(self.timeline),
            rate_missed=rate_missed,
            late_fraction=round(late_fraction, 4),
            histogram=hist.encode().decode("ascii"),
            stalled=self.stalled_result(),
        )

    def stalled_result(self) -> StalledStats | None:
        """The stalled requests' own figures (--stall), or None when none were asked for."""
        spec = self.spec
        if not (spec.stall_share > 0 and spec.stall_s > 0):
            return None
        values = sorted(self.stalled_latencies)
        latency = Latency()
        if values:
            n = len(values)

            def at(q: float) -> float:
                return round(values[min(n - 1, int(n * q))] * 1000, 3)

            latency = Latency(
                p50=at(0.5), p90=at(0.9), p95=at(0.95), p99=at(0.99), max=at(1.0),
                mean=round(sum(values) / n * 1000, 3),
            )  # fmt: skip
        errors = {k: v for k, v in self.stalled_errors.items() if v}
        return StalledStats(
            share=spec.stall_share,
            stall_s=spec.stall_s,
            requests=self.stalled_ok + sum(errors.values()),
            ok=self.stalled_ok,
            errors_by_kind=errors,
            latency_ms=latency,
        )
