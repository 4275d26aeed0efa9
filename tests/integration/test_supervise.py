"""SIGTERM to a running tunicorn, as a service manager or `kill` sends it: the supervisor stops
every process group tunicorn started (servers, their workers, the load) and exits cleanly."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.integration

START_S = 60.0


def _groups_alive(pgids: set[int]) -> list[str]:
    """Every live process (zombies aside) in one of these process groups, described."""
    left = []
    for p in psutil.process_iter(["pid", "cmdline", "status"]):
        with contextlib.suppress(ProcessLookupError, psutil.Error):
            if p.info["status"] != psutil.STATUS_ZOMBIE and os.getpgid(p.pid) in pgids:
                left.append(f"{p.pid} {' '.join(p.info['cmdline'] or [])[:120]}")
    return left


def _terminate_when_serving(
    argv: list[str], logs: Path, seen: dict[int, str] | None = None
) -> tuple[int, str, set[int], set[int]]:
    """Run tunicorn until its first server answered and has load on it, SIGTERM it, and return
    (exit code, stderr, the pids it started, their process groups); `seen` gets their command
    lines. An --upstream proxy in front of a port nothing listens on joins the run: the demo
    never connects to it, but it is one more group to stop."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tunicorn", *argv, "--log-dir", str(logs),
         "--upstream", "TUNICORN_TEST_UP=+1ms"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        env={**os.environ, "TUNICORN_TEST_UP": "postgresql://u@127.0.0.1:9/db"},
    )  # fmt: skip
    pids: set[int] = set()
    pgids: set[int] = set()
    seen = {} if seen is None else seen

    def look() -> None:
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(proc.pid).children(recursive=True):
                with contextlib.suppress(ProcessLookupError, psutil.Error):
                    pgids.add(os.getpgid(child.pid))
                    pids.add(child.pid)
                    seen[child.pid] = " ".join(child.cmdline())

    try:
        deadline = time.monotonic() + START_S
        booted = False
        while time.monotonic() < deadline and not booted and proc.poll() is None:
            look()
            booted = any(
                "Booting worker" in log.read_text(errors="replace") for log in logs.glob("*.log")
            )
            time.sleep(0.1)
        assert booted, "no server started"
        for _ in range(10):  # under load now; the load generator's children, if any, too
            look()
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, err, pids, pgids


def _assert_stopped_cleanly(code: int, err: str, pids: set[int], pgids: set[int]) -> None:
    assert code == 130, err
    assert "Interrupted" in err and "Traceback" not in err, err
    assert pids, "tunicorn started no child"
    # Each child got its own session: none shares the test's (tunicorn's) group.
    assert os.getpgid(0) not in pgids
    time.sleep(0.3)
    assert not _groups_alive(pgids), "left running"
    assert not [p for p in pids if psutil.pid_exists(p)
                and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]  # fmt: skip


def test_sigterm_to_bench_stops_every_group_and_exits_cleanly(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    seen: dict[int, str] = {}
    code, err, pids, pgids = _terminate_when_serving(
        ["bench", "--demo", "--path", "/io", "-w", "2", "-c", "4", "-d", "60"], logs, seen
    )
    _assert_stopped_cleanly(code, err, pids, pgids)
    assert any("tunicorn.run.upstream" in cmd for cmd in seen.values()), seen
    # The server was stopped by its SIGTERM (its master shut its workers down), not killed.
    (log,) = [p for p in logs.glob("gunicorn-*.log")]
    assert "Shutting down: Master" in log.read_text(errors="replace")


def test_sigterm_to_tune_stops_every_group_and_exits_cleanly(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    code, err, pids, pgids = _terminate_when_serving(
        ["tune", "--demo", "--path", "/io", "--cpus", "1", "--memory", "1.75GB",
         "--budget", "60", "--slo-p95", "1000"],
        logs,
    )  # fmt: skip
    _assert_stopped_cleanly(code, err, pids, pgids)
    for log in logs.glob("gunicorn-*.log"):  # each server heard its SIGTERM
        assert "Shutting down: Master" in log.read_text(errors="replace"), log.name
