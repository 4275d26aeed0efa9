"""Logins on the built-in engine: a once-per-client form login with its CSRF token, then the
pages behind it; a bearer token from --header. Real gunicorn, real PostgreSQL, loopback."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tunicorn.errors import UsageError
from tunicorn.load import LoadSpec, Request, run_load

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

APPS = Path(__file__).resolve().parents[1] / "apps"
sys.path.insert(0, str(APPS))
PASSWORD = "pw-5ekrit-csrf-9090"  # tests/apps/csrf_login.py's
TOKEN = "tok-5ekrit-bearer-3131"  # tests/apps/bearer_api.py's

LOGIN = Request(
    path="/auth/login", method="POST", once=True,
    body=f"username=alice&password={PASSWORD}&csrf_token=".encode(),
)  # fmt: skip
PAGES = (Request(path="/", weight=1), Request(path="/notes", weight=2))


@pytest.fixture
def login_app(postgres: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TUNICORN_TEST_DB", postgres)
    return "csrf_login:app"


def _spec(url: str, *requests: Request) -> LoadSpec:
    return LoadSpec(url=url, requests=requests, concurrency=3, duration_s=0.6, warmup_s=0.1)


def test_each_client_logs_in_once_with_the_forms_csrf_token_then_browses(
    login_app: str, gunicorn_server: Callable[..., object]
) -> None:
    server = gunicorn_server(login_app, "--workers", "2")
    url = server.url  # type: ignore[attr-defined]
    anonymous = run_load(_spec(url, *PAGES))
    assert set(anonymous.status_counts) == {"302"}  # the login redirect: what tune used to load
    logged_in = run_load(_spec(url, LOGIN, *PAGES))
    assert logged_in.ok > 0 and set(logged_in.status_counts) == {"200"}, logged_in.status_counts
    # The logins are setup: no POST is counted, only the pages.
    assert logged_in.requests == logged_in.status_counts["200"]
    # The explicit form: csrf_from names the page, the body leaves the field out.
    explicit = Request(
        path="/auth/login", method="POST", once=True, csrf_from="/auth/login",
        body=f"username=alice&password={PASSWORD}".encode(),
    )  # fmt: skip
    again = run_load(_spec(url, explicit, *PAGES))
    assert set(again.status_counts) == {"200"}
    # Open loop: the connections carry the logged-in clients too.
    spec = LoadSpec(url=url, requests=(LOGIN, *PAGES), rate=100, concurrency=4,
                    duration_s=0.6, warmup_s=0.1)  # fmt: skip
    opened = run_load(spec)
    assert opened.ok > 0 and set(opened.status_counts) == {"200"}, opened.status_counts


def test_a_failed_login_stops_the_run_with_the_status_and_no_secret(
    login_app: str, gunicorn_server: Callable[..., object]
) -> None:
    server = gunicorn_server(login_app)
    url = server.url  # type: ignore[attr-defined]
    wrong = Request(
        path="/auth/login", method="POST", once=True,
        body=b"username=alice&password=wrong-5ekrit&csrf_token=",
    )  # fmt: skip
    with pytest.raises(UsageError, match="answered 401") as info:
        run_load(_spec(url, wrong, *PAGES))
    assert "5ekrit" not in str(info.value)
    no_token = Request(path="/auth/login", method="POST", once=True, body=b"username=alice")
    with pytest.raises(UsageError, match="answered 400"):
        run_load(_spec(url, no_token, *PAGES))


def _tunicorn(*args: str, cwd: Path = APPS) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tunicorn", *args],
        capture_output=True, text=True, timeout=170, cwd=cwd, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def _statuses(folder: Path) -> dict[str, int]:
    """What the app's pages answered, as it noted them (tests/apps/csrf_login.py)."""
    counts: dict[str, int] = {}
    for f in folder.iterdir():
        for line in f.read_text().split():
            counts[line] = counts.get(line, 0) + 1
    return counts


def test_bench_and_tune_on_the_login_app_measure_the_pages_behind_the_login(
    login_app: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    noted = tmp_path / "statuses"
    noted.mkdir()
    monkeypatch.setenv("CSRF_LOGIN_STATUS_DIR", str(noted))
    scenario = tmp_path / "login.toml"
    scenario.write_text(
        '[[request]]\nonce = true\nmethod = "POST"\npath = "/auth/login"\n'
        f'body = "username=alice&password={PASSWORD}&csrf_token="\n\n'
        '[[request]]\npath = "/"\n\n[[request]]\npath = "/notes"\nweight = 2\n'
    )
    out = tmp_path / "bench.json"
    proc = _tunicorn("bench", login_app, "--scenario", str(scenario), "-c", "4", "--duration",
                     "1", "--warmup", "0.2", "--json", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert result["throughput_rps"] > 0 and set(result["status_counts"]) == {"200"}
    assert "POST /auth/login, not measured" in proc.stderr
    tuned = tmp_path / "tune.json"
    logs = tmp_path / "logs"
    proc = _tunicorn("tune", login_app, "--scenario", str(scenario), "--budget", "25",
                     "--json", str(tuned), "--log-dir", str(logs))  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    run = json.loads(tuned.read_text())
    measured = [t for t in run["trials"] if t["requests"]]
    assert measured and all(t["errors"] == 0 for t in measured)
    assert run["profile"]["routes"] and all(r["errors"] == 0 for r in run["profile"]["routes"])
    # Every page the app served in bench, profile and every trial was a page, not a redirect.
    statuses = _statuses(noted)
    assert statuses.get("200", 0) > sum(t["requests"] for t in measured), statuses
    assert set(statuses) == {"200"}, statuses
    written = [proc.stdout, proc.stderr, tuned.read_text()]
    written += [p.read_text(errors="replace") for p in logs.rglob("*") if p.is_file()]
    assert not [i for i, text in enumerate(written) if PASSWORD in text]


def test_a_bearer_header_makes_the_api_answer_2xx_and_stays_secret(tmp_path: Path) -> None:
    out, html = tmp_path / "run.json", tmp_path / "run.html"
    common = ["--path", "/items", "--path", "/me", "-c", "4", "--duration", "1", "--warmup", "0.2"]
    anon = _tunicorn("bench", "bearer_api:app", *common, "--json", str(out))
    assert anon.returncode == 0, anon.stderr
    assert set(json.loads(out.read_text())["status_counts"]) == {"401"}
    auth = f"Authorization: Bearer {TOKEN}"
    proc = _tunicorn("bench", "bearer_api:app", *common, "--header", auth,
                     "--json", str(out), "--html", str(html))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert result["throughput_rps"] > 0 and set(result["status_counts"]) == {"200"}
    for text in (proc.stdout, proc.stderr, out.read_text(), html.read_text()):
        assert TOKEN not in text
