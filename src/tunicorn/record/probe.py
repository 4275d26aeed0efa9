"""A probe of a running server: its waves, its stacking tests, the slots it showed."""

from __future__ import annotations

import dataclasses

from tunicorn.record.io import SCHEMA_VERSION
from tunicorn.record.load import Latency


@dataclasses.dataclass(frozen=True)
class Wave:
    """k requests started at one instant on k fresh connections, and when each came back.

    `completion_ms` (ok answers, sorted, from the wave's start) keeps the evidence: the
    answers cluster in rounds of one service time, and `first_round` counts the first.
    `busy_slots` is Little's law, throughput × single-request latency.
    """

    concurrency: int
    wall_ms: float
    throughput_rps: float
    latency_ms: Latency
    completion_ms: tuple[float, ...]
    first_round: int = 0
    busy_slots: float = 0.0
    errors: dict[str, int] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class StackTest:
    """The fast-page probe (`stacking.py`): rounds of one request alone then a wave of k, and
    whether the k were served together; `agree` is the bootstrap's share behind it."""

    k: int
    rounds: int  # rounds that counted
    ratio: float  # median stacking ratio (≈1 one at a time, ≈0 all k at once)
    ratio_low: float  # 5th percentile of the resampled medians
    ratio_high: float  # 95th percentile
    service_ms: float  # median service time of a lone request (its latency less the network)
    together: bool
    agree: float  # share of resampled medians on the same side of the line as `ratio`
    confidence: str  # "high", "medium", "low"
    slots: int  # the slots the median ratio implies (k when together)


@dataclasses.dataclass(frozen=True)
class ProbeResult:
    """`tunicorn probe`: how many requests a running server really handles at once.

    `effective_concurrency` is None when the endpoint is too fast for a firm answer;
    with `at_least` it is a lower bound (every wave was served at once).
    """

    url: str
    effective_concurrency: int | None
    serial: bool
    server: str
    single_latency_ms: float
    verdict: str
    at_least: bool = False
    confidence: str = ""  # "high", "medium", "low", or "none" (too fast to tell)
    hint: str = ""  # what the Server header suggests
    next_step: str = ""
    waves: tuple[Wave, ...] = ()
    requests: int = 0  # sent in all, the warm-up included
    loopback: bool = True
    max_concurrency: int = 32
    elapsed_s: float = 0.0
    warnings: tuple[str, ...] = ()
    method: str = "rounds"  # "rounds" (slow pages: clusters of answers) or "stacking" (fast)
    stacking: StackTest | None = None  # the fast-page test, where it ran
    sureness: str = ""  # how sure the answer is, in a sentence
    expect: int | None = None  # --expect N: the requests at once the server must serve
    meets_expectation: bool | None = None  # None: no --expect, or the probe could not tell
    kind: str = "probe"
    schema: int = SCHEMA_VERSION
