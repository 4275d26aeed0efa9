"""A scenario's header values and bodies never reach what tunicorn writes (names do).

The locustfile side is in test_locust.py (its login flow logs its own secrets on purpose).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

APPS = Path(__file__).resolve().parents[1] / "apps"
TOKEN = "Bearer tok-5ekrit-1234"
PASSWORD = "pw-5ekrit-5678"


def test_scenario_values_stay_out_of_json_html_and_logs(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(
        '[[request]]\npath = "/"\nweight = 3\n\n'
        '[[request]]\nmethod = "POST"\npath = "/echo"\n'
        f'headers = {{ "Authorization" = "{TOKEN}", '
        '"Content-Type" = "application/x-www-form-urlencoded" }\n'
        f'body = "user=alice&password={PASSWORD}"\n'
    )
    logs, out_json, out_html = tmp_path / "logs", tmp_path / "run.json", tmp_path / "run.html"
    proc = subprocess.run(
        [sys.executable, "-m", "tunicorn", "bench", "basic:app", "--scenario", str(scenario),
         "-c", "2", "--duration", "1", "--warmup", "0.2", "--json", str(out_json),
         "--html", str(out_html), "--log-dir", str(logs)],
        capture_output=True, text=True, timeout=60, cwd=APPS, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert '"requests"' in out_json.read_text()
    written = [out_json.read_text(), out_html.read_text(), proc.stdout, proc.stderr]
    written += [p.read_text(errors="replace") for p in logs.rglob("*") if p.is_file()]
    for secret in (TOKEN, PASSWORD, "tok-5ekrit"):
        assert not [i for i, text in enumerate(written) if secret in text], secret
