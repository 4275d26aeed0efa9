"""tune on an app whose workers die under load: no pick, and a verdict that says why."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

APPS = Path(__file__).resolve().parents[1] / "apps"
pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


def test_workers_that_die_are_named_in_the_verdict_with_the_log_line(tmp_path: Path) -> None:
    """tests/apps/dying.py ends a worker with SIGSEGV every 50th request it serves: every trial
    is ruled out, and the verdict quotes gunicorn's line about the signal instead of sending
    the user to the SLO or the memory."""
    out_json = tmp_path / "tune.json"
    proc = subprocess.run(
        [sys.executable, "-m", "tunicorn", "tune", "dying:app", "--plan", "B1", "--path", "/",
         "--budget", "25", "--json", str(out_json), "--log-dir", str(tmp_path / "logs")],
        cwd=APPS, capture_output=True, text=True, timeout=200, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    said = proc.stdout + proc.stderr
    assert "Traceback" not in said, said
    result = json.loads(out_json.read_text())
    assert result["recommendation"] is None, said
    measured = [t for t in result["trials"] if t["server"] is not None]
    assert measured and all(t["reason"] == "errors" for t in measured), said
    verdict = result["verdict"]
    assert "workers died under load" in verdict, verdict
    assert "was sent SIGSEGV" in verdict, verdict
    assert "raise --slo-p95" not in verdict, verdict
    assert verdict in " ".join(said.split()), said  # the terminal prints the same sentence
