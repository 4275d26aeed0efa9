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
QUERY_TOKEN = "q-5ekrit-0000"  # once echoed on bench's "Loading …" line


def test_scenario_values_stay_out_of_json_html_and_logs(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(
        f'[[request]]\npath = "/?token={QUERY_TOKEN}"\nweight = 3\n\n'
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
    assert "/?token=<redacted>" in proc.stderr
    for secret in (TOKEN, PASSWORD, QUERY_TOKEN, "5ekrit"):
        assert not [i for i, text in enumerate(written) if secret in text], secret


LOG_TOKEN = "qtok-5ekrit-1111"
HAR_COOKIE = "sess-5ekrit-2222"
HAR_BEARER = "bear-5ekrit-3333"
HAR_QUERY = "hq-5ekrit-4444"
HAR_PASSWORD = "hpw-5ekrit-5555"


def _access_log(path: Path) -> None:
    """gunicorn's default format with a container log's prefix and its error lines mixed in,
    as App Service's log stream shows them."""
    lines = ["[2026-12-07 10:00:00 +0000] [7] [INFO] Booting worker with pid: 7"]
    for i in range(30):
        lines.append(
            f'2026-12-07T10:00:{i:02d}Z 169.254.130.1 - - [07/Dec/2026:10:00:{i:02d} +0000] '
            f'"GET /a?page={i % 3} HTTP/1.1" 200 13 "-" "Mozilla/5.0"'
        )
    lines += [
        f'127.0.0.1 - - [07/Dec/2026:10:01:00 +0000] "GET /b?token={LOG_TOKEN} HTTP/1.1" 201 '
        f'13 "http://example.test/?ref={LOG_TOKEN}" "curl/8"',
        '127.0.0.1 - - [07/Dec/2026:10:01:01 +0000] "GET /static/app.css HTTP/1.1" 200 99',
        '127.0.0.1 - - [07/Dec/2026:10:01:02 +0000] "POST /c HTTP/1.1" 202 0',
    ]
    path.write_text("\n".join(lines) + "\n")


def _har(path: Path) -> None:
    import json

    def entry(method: str, url: str, kind: str, **extra: object) -> dict[str, object]:
        return {
            "_resourceType": kind,
            "request": {
                "method": method, "url": url, "httpVersion": "HTTP/1.1",
                "headers": [
                    {"name": ":authority", "value": "app.example.test"},
                    {"name": "Cookie", "value": f"session={HAR_COOKIE}"},
                    {"name": "Authorization", "value": f"Bearer {HAR_BEARER}"},
                    {"name": "User-Agent", "value": "Mozilla/5.0"},
                ],
                **extra,
            },
            "response": {"status": 200},
        }  # fmt: skip

    site = "https://app.example.test"
    entries = [
        entry("GET", f"{site}/a", "document"),
        entry("GET", f"{site}/static/app.js", "script"),
        entry("GET", "https://cdn.other.test/lib.js", "script"),
        entry("GET", f"{site}/b?key={HAR_QUERY}", "xhr"),
        entry("GET", f"{site}/b?key={HAR_QUERY}", "xhr"),
        entry(
            "POST", f"{site}/c", "fetch",
            postData={"mimeType": "application/x-www-form-urlencoded",
                      "text": f"user=alice&password={HAR_PASSWORD}"},
        ),  # fmt: skip
    ]
    data = {"log": {"version": "1.2", "pages": [{"title": f"{site}/a"}], "entries": entries}}
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("kind", ["access-log", "har"])
def test_access_log_and_har_values_stay_out_of_everything_written(
    kind: str, tmp_path: Path
) -> None:
    source = tmp_path / ("access.log" if kind == "access-log" else "session.har")
    _access_log(source) if kind == "access-log" else _har(source)
    secrets = (LOG_TOKEN,) if kind == "access-log" else (HAR_COOKIE, HAR_BEARER, HAR_QUERY)
    secrets += (HAR_PASSWORD, "5ekrit")
    logs, out_json, out_html = tmp_path / "logs", tmp_path / "run.json", tmp_path / "run.html"
    bench = subprocess.run(
        [sys.executable, "-m", "tunicorn", "bench", "basic:app", f"--{kind}", str(source),
         "-c", "2", "--duration", "1", "--warmup", "0.2", "--json", str(out_json),
         "--html", str(out_html), "--log-dir", str(logs / "bench")],
        capture_output=True, text=True, timeout=60, cwd=APPS, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert bench.returncode == 0, bench.stderr
    statuses = set(__import__("json").loads(out_json.read_text())["status_counts"])
    assert statuses == ({"200", "201"} if kind == "access-log" else {"200", "201", "202"})
    assert "<redacted>" in bench.stderr  # the query's name is shown, its value is not
    profile_json = tmp_path / "profile.json"
    profile = subprocess.run(
        [sys.executable, "-m", "tunicorn", "profile", "basic:app", f"--{kind}", str(source),
         "--json", str(profile_json), "--log-dir", str(logs / "profile")],
        capture_output=True, text=True, timeout=60, cwd=APPS, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert profile.returncode == 0, profile.stderr
    assert "/b?" in profile_json.read_text()  # the route is there, redacted
    written = [out_json.read_text(), out_html.read_text(), profile_json.read_text()]
    written += [bench.stdout, bench.stderr, profile.stdout, profile.stderr]
    written += [p.read_text(errors="replace") for p in logs.rglob("*") if p.is_file()]
    for secret in secrets:
        assert not [i for i, text in enumerate(written) if secret in text], secret
