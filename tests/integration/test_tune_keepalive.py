"""A kept-alive tune on real servers deals its racing configurations again and carries the
hands through the record, the terminal and the HTML page.

Structure only, never timings or which worker got which connection (that is the race)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from tunicorn import record
from tunicorn.app.target import Target
from tunicorn.decide import rank
from tunicorn.decide.tune import TuneEvents, TuneSettings, tune
from tunicorn.load import Request
from tunicorn.machine import emulate
from tunicorn.record import TuneResult
from tunicorn.report.html import render_tune
from tunicorn.report.terminal import print_tune
from tunicorn.run.deal import DEALS, dealt_by_race

APPS = Path(__file__).resolve().parents[1] / "apps"
pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]


def test_a_kept_alive_tune_deals_its_racing_configurations_and_records_the_hands(
    tmp_path: Path,
) -> None:
    target = Target(kind="app", app="pool_sem:app", chdir=str(APPS), label="pool")
    s = TuneSettings(
        machine=emulate(1, 1792.0), budget_s=120.0, gevent=False, keepalive=True,
        both_models=False, runoff=False, stall_check=False,
        warmup_s=0.5, saturate_s=1.5, verify_s=1.5,
    )  # fmt: skip
    said: list[str] = []
    events = TuneEvents(say=said.append)
    result = tune(target, (Request("/work"),), s, log_dir=tmp_path, events=events)

    dealt = [t for t in result.trials if t.deals is not None]
    assert dealt, [t.config.label for t in result.trials]
    for t in result.trials:
        usable = t.feasible and t.capacity_rps > 0
        if t.deals is not None:
            assert dealt_by_race(t.config, keepalive=True)  # several gthread workers
            assert len(t.deals.deals) == DEALS and t.deals.clients >= 1
            assert all(len(h.worker_connections) == t.config.workers for h in t.deals.deals)
            assert t.deals.low_rps <= t.deals.median_rps <= t.deals.high_rps
            assert rank.figure(t) <= t.capacity_rps
        elif usable and dealt_by_race(t.config, keepalive=True):  # no room left to deal it
            assert any(m.startswith(f"no time left to deal {t.config.label}'s") for m in said)

    back = record.from_json(record.to_json(result), TuneResult)
    assert back == result and [t.deals for t in back.trials] == [t.deals for t in result.trials]

    out = io.StringIO()
    print_tune(result, Console(file=out, width=200))
    text = out.getvalue()
    assert f"over {DEALS} deals" in text and "†" in text
    page = render_tune(result)
    assert f"over {DEALS} deals" in page

    rec = result.recommendation
    assert rec is not None
    pick = next(t for t in result.trials if t.key == rec.trial)
    assert rec.capacity_rps == rank.figure(pick)  # the verdict's figure is the judged one
    if pick.deals is not None:
        assert any("judged by" in r for r in rec.reasons)
