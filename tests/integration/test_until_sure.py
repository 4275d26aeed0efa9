"""A trial's windows on a real server: a slow page runs past its minimum until sure (or its
longest), a fast one stops at its minimum, and the capacity carries its interval.

Structure only, never a timing: which bound ended each window is what is asserted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tunicorn.app.target import resolve
from tunicorn.load import Request
from tunicorn.record import ServerConfig
from tunicorn.run.capacity import ENOUGH_REQUESTS
from tunicorn.run.measure import TrialMeter, TrialPlan, split_cores

pytestmark = pytest.mark.integration


def meter(path: str, tmp_path: Path, longest_s: float, keepalive: bool = False) -> TrialMeter:
    plan = TrialPlan(
        target=resolve(None, demo=True), requests=(Request(path),), cores=split_cores(1),
        slo_p95_ms=2000.0, budget_mib=1e6, gevent_clients=4, single_ms=0.0,
        warmup_s=0.3, saturate_s=1.5, verify_s=1.5, log_dir=tmp_path, longest_s=longest_s,
        keepalive=keepalive,
    )  # fmt: skip
    return TrialMeter(plan)


def test_a_slow_page_runs_past_its_minimum_and_a_fast_one_stops_there(tmp_path: Path) -> None:
    # /io waits 200 ms: one sync worker serves 5 a second, far from 300 requests or ±5%
    # in 1.5 s, so its saturating window runs to its longest (6 s).
    slow = meter("/io", tmp_path, longest_s=6.0)(ServerConfig(1, 1, "sync"), "test")
    first = slow.phases[0]
    assert first.duration_s > 1.5 * 2  # well past its minimum: not sure, and too few requests
    assert first.requests < ENOUGH_REQUESTS
    # / answers in about a millisecond: hundreds of requests in its minimum, so it stops there.
    fast = meter("/", tmp_path, longest_s=6.0)(ServerConfig(1, 2, "gthread"), "test")
    assert fast.phases[0].requests >= ENOUGH_REQUESTS
    assert fast.phases[0].duration_s < 6.0
    # Kept-alive connections (a pool opened before the window) stop the same way.
    kept = meter("/", tmp_path, longest_s=6.0, keepalive=True)(ServerConfig(1, 2, "gthread"), "t")
    assert kept.phases[0].requests >= ENOUGH_REQUESTS and kept.phases[0].duration_s < 6.0
    for trial in (slow, fast, kept):
        assert trial.feasible, trial.note
        low, high = trial.capacity_ci
        assert 0 < low <= trial.capacity_rps <= high
        assert len(trial.capacity_samples) >= 3
