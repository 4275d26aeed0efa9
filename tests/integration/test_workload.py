"""The workload stage on real servers over loopback: each test app's workload is the real pages
answering 2xx (found by the router, the crawl, or given), an app behind a login exits 2 with
one sentence naming what to give, and the demo loads exactly its routes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tunicorn import record
from tunicorn.app.target import check_import, resolve
from tunicorn.run import workload

APPS = Path(__file__).resolve().parents[1] / "apps"
pytestmark = pytest.mark.integration


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tunicorn", *args], capture_output=True, text=True,
        timeout=timeout, cwd=APPS, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def built(spec: str, **kwargs: object) -> workload.Built:
    return workload.build(check_import(resolve(str(APPS / spec))), **kwargs)  # type: ignore[arg-type]


def reasons(w: workload.Workload) -> dict[str, str]:
    return {x.path: x.reason for x in w.left_out}


def test_a_django_project_with_the_debug_toolbar_and_admin_loads_its_pages() -> None:
    w = built("django_toolbar").workload
    assert {r.path: (r.source, r.status) for r in w.routes} == {
        "/": ("router", 200), "/blog/": ("router", 200), "/about/": ("router", 200),
    }  # fmt: skip
    why = reasons(w)
    toolbar = [p for p in why if p.startswith("/__debug__/")]
    assert toolbar and all(why[p] == workload.DEBUG for p in toolbar)
    assert why["/admin/"] == workload.ADMIN
    assert why["/healthz/"] == workload.HEALTH
    assert why["/api/users/"] == "401 Unauthorized — needs credentials"
    assert why["/account/"] == "redirects to the login page /accounts/login/"
    assert sum(r.share for r in w.routes) == pytest.approx(1.0, abs=1e-3)


def test_a_crawl_gives_parameterised_routes_real_values() -> None:
    w = built("django_toolbar", crawl_pages=10).workload
    paths = {r.path: r.source for r in w.routes}
    assert paths["/blog/first-post/"] == "crawl" and paths["/blog/second-post/"] == "crawl"
    assert paths["/"] == "router"  # found by both: the router names it
    assert all(r.status == 200 for r in w.routes) and w.crawled <= 10


def test_a_catch_all_site_is_found_by_its_links() -> None:
    w = built("catchall_site.py").workload
    assert {r.path for r in w.routes} == {
        "/", "/blog/", "/about/", "/blog/first-post/", "/blog/second-post/",
        "/blog/?page=1&sort=new",
    }  # fmt: skip
    assert all(r.source == "crawl" and r.status == 200 for r in w.routes)
    why = reasons(w)
    assert why["/logout/"] == "a logout link"  # never requested: the app raises if it is
    assert why["/static/site.css"] == workload.STATIC and why["/admin/"] == workload.ADMIN
    assert why["/blog/gone/"].startswith("404") and why["/blog/broken/"].startswith("500")
    assert why["/<path:path>"].startswith("a catch-all pattern")
    assert not any("example.com" in p or p.startswith(("mailto", "javascript")) for p in why)


def test_an_app_behind_a_login_exits_2_naming_what_to_give(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    proc = cli("tune", "login_wall:app", "--budget", "20", "--json", str(out),
               "--log-dir", str(tmp_path))  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr
    error = proc.stderr.strip().splitlines()[-1]
    assert error.startswith("error: Every page of login_wall:app redirects to the login page "
                            "/login")  # fmt: skip
    for option in ("--locustfile", "--cookie", "--header", "--scenario"):
        assert option in error
    assert "Traceback" not in proc.stderr and not out.exists()  # no tune of errors


def test_given_paths_are_checked_and_keep_their_weights() -> None:
    from tunicorn.load import Request

    b = built("django_toolbar", paths=(Request("/", weight=3.0), Request("/healthz/"),
                                       Request("/account/")))  # fmt: skip
    assert [(r.path, r.source, r.share) for r in b.workload.routes] == [
        ("/", "given", 0.75), ("/healthz/", "given", 0.25),  # --path brings a health check back
    ]  # fmt: skip
    assert [(r.path, r.weight) for r in b.requests] == [("/", 0.75), ("/healthz/", 0.25)]


def test_the_demo_loads_exactly_its_routes() -> None:
    b = workload.build(check_import(resolve(None, demo=True)))
    assert {(r.path, r.status) for r in b.workload.routes} == {
        ("/", 200), ("/io", 200), ("/cpu", 200),
    }  # fmt: skip
    assert b.workload.crawled == 0 and not b.workload.left_out
    assert sorted(r.path for r in b.requests) == ["/", "/cpu", "/io"]


def test_profile_prints_and_saves_the_workload(tmp_path: Path) -> None:
    out = tmp_path / "profile.json"
    proc = cli("profile", str(APPS / "django_toolbar"), "--cpus", "1", "--json", str(out),
               "--log-dir", str(tmp_path), timeout=240)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Workload (3 routes" in proc.stderr  # before the load
    assert "Workload (3 routes" in proc.stdout and "CPU ms" in proc.stdout  # after, with figures
    data = json.loads(out.read_text())
    routes = {r["path"]: r for r in data["workload"]["routes"]}
    assert set(routes) == {"/", "/blog/", "/about/"}
    assert all(r["status"] == 200 and r["cpu_ms"] is not None for r in routes.values())
    again = cli("report", str(out))
    assert again.returncode == 0 and again.stdout == proc.stdout


def test_headers_and_cookies_go_with_the_pre_flight() -> None:
    from tunicorn.load import Request

    asked = (Request("/api/users/"),)
    with pytest.raises(workload.UsageError, match="401"):
        built("django_toolbar", paths=asked)
    b = built("django_toolbar", paths=asked, headers={"Authorization": "Bearer tests-only"},
              cookies={"theme": "dark"})  # fmt: skip
    assert [(r.path, r.status) for r in b.workload.routes] == [("/api/users/", 200)]


CSRF_PASSWORD = "pw-5ekrit-csrf-9090"  # tests/apps/csrf_login.py's


def test_the_pre_flight_logs_in_with_a_once_scenario(
    postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app's pages all redirect to its login: anonymous, that is exit 2; with the once
    login (its CSRF token read from the form) the router's pages answer 2xx and are loaded."""
    from tunicorn.load import Request

    monkeypatch.setenv("TUNICORN_TEST_DB", postgres)
    target = check_import(resolve(str(APPS / "csrf_login.py")))
    with pytest.raises(workload.UsageError, match="redirects to the login page /auth/login"):
        workload.build(target)
    login = Request(path="/auth/login", method="POST", once=True,
                    body=f"username=alice&password={CSRF_PASSWORD}&csrf_token=".encode())
    b = workload.build(target, setup=(login,))
    assert {r.path for r in b.workload.routes} >= {"/", "/notes"}
    assert all(200 <= r.status < 300 for r in b.workload.routes)
    assert CSRF_PASSWORD not in record.to_json(b.workload)
