"""A stalled upstream on real gunicorn: the wrapper, the engine's marks, the verdict.

Structure, never times: the share of long requests, which requests are long, and whether a
configuration holds where the difference is one slot against many (not a close call).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tunicorn.app.target import Target
from tunicorn.decide import stall
from tunicorn.load.scenario import LoadSpec, Request
from tunicorn.record import ServerConfig

APPS = Path(__file__).resolve().parents[1] / "apps"
pytestmark = pytest.mark.integration


def test_a_stalled_share_is_that_share_of_long_requests_in_the_record(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    proc = subprocess.run(
        [sys.executable, "-m", "tunicorn", "bench", "hello:app", "--threads", "8",
         "--rate", "20", "--duration", "5", "--warmup", "1", "--stall", "20%:500ms",
         "--json", str(out), "--log-dir", str(tmp_path / "logs")],
        capture_output=True, text=True, timeout=120, cwd=APPS, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    run = json.loads(out.read_text())
    st = run["stalled"]
    assert st["share"] == 0.2 and st["stall_s"] == 0.5
    total = run["requests"] + st["requests"]
    assert total > 40
    # Stalls sent in the window's last half-second end after it: a little under the share.
    assert 0.12 <= st["requests"] / total <= 0.22
    assert st["latency_ms"]["p50"] >= 500  # each waited the stall inside the app
    assert run["latency_ms"]["p50"] < st["latency_ms"]["p50"]  # the others did not
    assert run["errors"] == 0 and not st["errors_by_kind"]
    assert "Stalled" in proc.stdout


def test_one_slot_gives_way_under_the_default_stall_where_many_slots_hold(tmp_path: Path) -> None:
    target = Target(kind="app", app="hello:app", chdir=str(APPS), interface="wsgi")
    run = stall.server_runner(target, 1, log_dir=tmp_path)
    d = stall.DEFAULT
    rate = 10.0  # a stall every 2 s, each 2 s long: one slot is never free for long
    spec = LoadSpec(
        url="", requests=(Request("/"),), rate=rate, concurrency=stall.clients(d, rate),
        duration_s=stall.window_s(d, rate), warmup_s=d.seconds,
        stall_share=d.share, stall_s=d.seconds,
    )  # fmt: skip
    slo_ms = 1000.0
    one = run(ServerConfig(1, 1, "sync"), spec)
    many = run(ServerConfig(2, 8, "gthread"), spec)
    assert one.stalled is not None and one.stalled.requests > 0
    assert many.stalled is not None and many.stalled.requests > 0
    held_one, why = stall.verdict(one, slo_ms)
    held_many, why_not = stall.verdict(many, slo_ms)
    assert not held_one and why
    assert held_many, why_not
