"""The tuner on real servers: structure of its answers, never their timings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tunicorn import record
from tunicorn.app.target import Target, resolve
from tunicorn.decide import rank, search
from tunicorn.decide.tune import TuneSettings, tune
from tunicorn.deploy.emit import with_commands
from tunicorn.load import Request
from tunicorn.machine import emulate
from tunicorn.record import TuneResult

APPS = Path(__file__).resolve().parents[1] / "apps"
pytestmark = pytest.mark.integration

# Short phases keep each trial to a few seconds; the search itself is unchanged. The stall
# check (tests/integration/test_stall.py, and the CLI test below) is off: its reserve (three
# finalists, about 30 s) would otherwise take most of each budget.
FAST = {"warmup_s": 0.5, "saturate_s": 1.5, "verify_s": 1.5, "stall_check": False}


def run(
    target: Target, paths: tuple[str, ...], tmp_path: Path, memory_mib: float = 1792.0,
    **settings: object,
) -> TuneResult:  # fmt: skip
    config = {
        "machine": emulate(1, memory_mib), "budget_s": 30.0, "gevent": False, **FAST, **settings,
    }  # fmt: skip
    result = tune(
        target,
        tuple(Request(p) for p in paths),
        TuneSettings(**config),  # type: ignore[arg-type]
        log_dir=tmp_path,
    )
    return with_commands(result)


def test_io_route_gets_many_more_slots_than_the_default(tmp_path: Path) -> None:
    result = run(resolve(None, demo=True), ("/io",), tmp_path)
    rec = result.recommendation
    assert rec is not None
    assert rec.workers * rec.threads >= 6  # /io waits 200 ms: one slot serves 5 req/s
    default = next(b for b in result.baselines if b.workers == 1 and b.threads == 1)
    assert rec.capacity_rps > 3 * default.capacity_rps
    assert {b.name for b in result.baselines} >= {"App Service default", "the seed's 3×6"}
    assert "gunicorn --bind=0.0.0.0 --timeout 230" in rec.startup_command
    assert rec.startup_command.endswith("tunicorn.demo.app:app")
    assert result.profile is not None and result.profile.wait_compute_ratio > 5
    # Every usable trial's capacity carries its interval, from the ticks of the run behind it.
    for t in result.trials:
        if t.feasible:
            low, high = t.capacity_ci
            assert 0 < low <= t.capacity_rps <= high and len(t.capacity_samples) >= 2
    assert rec.capacity_ci == result.trial(rec.trial).capacity_ci  # type: ignore[union-attr]


def test_cpu_route_gets_one_thread_and_at_most_two_workers_per_core(tmp_path: Path) -> None:
    """A compute-bound route keeps the core busy with one request at a time: threads add
    nothing, so the pick has one thread and at most 2 × cores workers (the issue's test).

    The latency target is one the CPU, not queueing noise, decides: /cpu takes ~7 ms, so the
    default target (100 ms) sits at the knee of its queue, where one 1.5 s check passes or
    fails by chance (the same 1×1 measured 83 and 111 req/s) and any configuration can win.
    """
    # The search's answer: under a stalled upstream (the default check) a compute-bound pick
    # gives way and threads take over, which tests/integration/test_stall.py covers.
    result = run(
        resolve(None, demo=True), ("/cpu",), tmp_path, budget_s=110.0, slo_p95_ms=500.0,
    )  # fmt: skip
    assert result.profile is not None and result.profile.wait_compute_ratio < 1
    rules = result.constraints.rules
    start = search.model_start(result.profile, 1, lambda config: True, 8, rules.min_slots)
    # Two requests in flight on the one core (never one slot), not more: threads ≈ 1 + W/C.
    assert start.threads <= 2 and start.workers * start.threads == 2
    measured = {(t.config.workers, t.config.threads) for t in result.trials if t.server is not None}
    assert (start.workers, start.threads) in measured  # the model only says where to look
    rec = result.recommendation
    assert rec is not None
    # One thread and at most two workers per core, unless more slots measured the same: a tie
    # by the intervals goes to more slots (rank.robust: the seed's 3×6 can tie a 2×1 on one
    # core), and no such lean configuration may be better than the pick.
    pick = result.trial(rec.trial)
    assert pick is not None
    lean = [
        t for t in result.trials
        if t.config.threads == 1 and t.config.workers <= 2 * result.constraints.cpus
        and rank.eligible(t, rules)
    ]  # fmt: skip
    assert lean, "the model's start and the App Service default are lean and measured"
    if rec.threads > 1 or rec.workers > 2 * result.constraints.cpus:
        assert all(rank.compare(t, pick) != "better" for t in lean)


def test_memory_budget_rules_out_configurations(tmp_path: Path) -> None:
    # A budget with room for the model's start after the slow 1×1 baseline: at 25 s the tune
    # now and then ended with only the baselines measured (1 run in 4, at a70c733 as well).
    result = run(resolve(None, demo=True), ("/io",), tmp_path, memory_mib=60.0, budget_s=40.0)
    assert result.model is not None
    budget = result.model.memory_budget_mib
    ruled_out = [t for t in result.trials if t.reason == "memory"]
    assert ruled_out, "a 54 MiB budget must exclude 3 workers (the baselines)"
    assert all(t.server is None or t.server.pss_mib_peak > budget for t in ruled_out)
    rec = result.recommendation
    assert rec is not None and rec.pss_mib_peak <= budget


def test_erroring_configurations_are_infeasible(tmp_path: Path) -> None:
    target = Target(kind="app", app="thread_unsafe:app", chdir=str(APPS), label="thread_unsafe")
    result = run(target, ("/",), tmp_path, budget_s=25.0)
    threaded = [t for t in result.trials if t.server is not None and t.config.threads > 1]
    assert threaded and all(not t.feasible and t.reason == "errors" for t in threaded)
    rec = result.recommendation
    assert rec is not None and rec.threads == 1 and rec.worker_class == "sync"


def test_cli_tune_writes_json_that_report_reloads(tmp_path: Path) -> None:
    out = tmp_path / "tune.json"
    proc = subprocess.run(
        [sys.executable, "-m", "tunicorn", "tune", "--demo", "--path", "/io", "--cpus", "1",
         "--memory", "1.75GB", "--budget", "25", "--no-gevent", "--json", str(out),
         "--emit", str(tmp_path / "deploy"), "--log-dir", str(tmp_path / "logs")],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    for key in (
        "workers", "threads", "worker_class", "startup_command", "throughput_rps", "pss_mib_peak",
    ):  # fmt: skip
        assert key in data["recommendation"]
    assert data["constraints"]["cpus"] == 1 and data["elapsed_s"] > 0
    assert all("throughput_rps" in t and "config" in t for t in data["trials"])
    # The workload stage's record: the given path, 2xx at pre-flight, with the profile's CPU.
    [route] = data["workload"]["routes"]
    assert (route["path"], route["source"], route["status"]) == ("/io", "given", 200)
    assert route["share"] == 1.0 and route["cpu_ms"] is not None
    loaded = record.from_json(out.read_text(), TuneResult)
    assert record.from_json(record.to_json(loaded), TuneResult) == loaded
    assert "Startup Command" in proc.stdout
    conf = (tmp_path / "deploy" / "gunicorn.conf.py").read_text()
    assert f"workers = {data['recommendation']['workers']}" in conf
    report = subprocess.run(
        [sys.executable, "-m", "tunicorn", "report", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert report.returncode == 0, report.stderr
    assert data["recommendation"]["startup_command"] in report.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--demo", "--plan", "Z9"), "Unknown plan"),
        (("--demo", "--cpus", "1", "--memory", "lots"), "is not a memory size"),
        (("--demo", "--slo-p95", "0"), "must be more than zero"),
        (("--demo", "--cpus", "1"), "go together"),
    ],
)
def test_tune_bad_input(args: tuple[str, ...], message: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tunicorn", "tune", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


def test_tune_rejects_a_bad_scenario_and_an_app_without_routes(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[request]]\npath = "/io"\n[[request]]\npath = "/cpu"\nweight = "heavy"\n')
    proc = subprocess.run(
        [sys.executable, "-m", "tunicorn", "tune", "--demo", "--scenario", str(bad)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2 and "line 5" in proc.stderr
    (tmp_path / "plain.py").write_text("def app(environ, start_response):\n    return []\n")
    proc = subprocess.run(
        [sys.executable, "-m", "tunicorn", "tune", "plain:app"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 2 and "no GET route" in proc.stderr


@pytest.fixture
def pool_app(postgres: str, monkeypatch: pytest.MonkeyPatch) -> Target:
    """tests/apps/pool_app.py over the session's PostgreSQL: a pool of 4 connections per
    process (no overflow), each request holding one for a 30 ms query."""
    monkeypatch.setenv("TUNICORN_TEST_DB", postgres)
    monkeypatch.setenv("POOL_SIZE", "4")
    monkeypatch.setenv("MAX_OVERFLOW", "0")
    return Target(kind="app", app="pool_app:app", chdir=str(APPS), label="pool_app")


def test_a_connection_pool_is_one_processs_limit_and_caps_the_picks_threads(
    pool_app: Target, tmp_path: Path
) -> None:
    result = run(pool_app, ("/query",), tmp_path, budget_s=45.0)
    assert result.profile is not None and result.profile.process is not None
    process = result.profile.process
    assert process.bounded and process.cause == "pool"
    assert 3.0 <= process.limit <= 5.0  # within ±1 of the pool of 4
    rec = result.recommendation
    assert rec is not None and rec.threads <= 4  # pool size + overflow
    assert rec.workers >= 2  # the slots come from processes, each with its own pool
    assert any(r.startswith("What limits it:") for r in rec.reasons)


def test_a_fast_page_never_gets_a_single_slot(tmp_path: Path) -> None:
    result = run(resolve(None, demo=True), ("/",), tmp_path, budget_s=25.0)
    rec = result.recommendation
    assert rec is not None
    assert rec.workers * rec.threads >= 2 * result.constraints.cpus
    default = result.baseline("app-service-default")
    assert default is not None and default.workers * default.threads == 1  # measured, not picked
