"""ASGI apps (FastAPI, Starlette) and Django projects on real servers over loopback: benched
under gunicorn + uvicorn_worker.UvicornWorker and under uvicorn alone, tuned over uvicorn
workers, the route that blocks the event loop named; every bad input a one-sentence exit 2.
Structure of the answers only, never their timings."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tunicorn.app.target import Target, check_import, resolve
from tunicorn.decide.tune import TuneSettings, tune
from tunicorn.deploy.emit import with_commands
from tunicorn.load import Request
from tunicorn.machine import emulate
from tunicorn.record import TuneResult
from tunicorn.run.given import Asked, workload

APPS = Path(__file__).resolve().parents[1] / "apps"
pytestmark = pytest.mark.integration

FAST = {"warmup_s": 0.5, "saturate_s": 1.5, "verify_s": 1.5}


def cli(*args: str, cwd: Path = APPS, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tunicorn", *args], capture_output=True, text=True,
        timeout=timeout, cwd=cwd, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def run_tune(target: Target, requests: tuple[Request, ...], tmp_path: Path) -> TuneResult:
    settings = TuneSettings(
        machine=emulate(1, 1792.0), budget_s=20.0, gevent=False, stall_check=False, **FAST
    )  # type: ignore[arg-type]
    return with_commands(tune(target, requests, settings, log_dir=tmp_path))


# -- bench -------------------------------------------------------------------------------------


@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
@pytest.mark.parametrize("app", ["fastapi_app:app", "starlette_app:app"])
def test_bench_serves_an_asgi_app_under_each_server(app: str, server: str, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = cli(
        "bench", app, "--server", server, "--workers", "2", "--path", "/io", "--concurrency", "4",
        "--duration", "1", "--warmup", "0.3", "--json", str(out), "--log-dir", str(tmp_path),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert data["config"]["worker_class"] == "uvicorn" and data["config"]["workers"] == 2
    assert data["program"] == server
    assert data["requests"] > 0 and data["errors"] == 0
    if server == "uvicorn":
        assert "uvicorn --workers 2" in proc.stdout


def test_bench_takes_the_quickstarts_deprecated_worker_name(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = cli(
        "bench", "fastapi_app:app", "-w", "2", "-k", "uvicorn.workers.UvicornWorker",
        "--path", "/", "-c", "2", "-d", "0.5", "--warmup", "0.2", "--json", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "deprecated" in proc.stderr and "uvicorn_worker.UvicornWorker" in proc.stderr
    assert json.loads(out.read_text())["config"]["worker_class"] == "uvicorn"


# -- tune --------------------------------------------------------------------------------------


def test_tune_fastapi_names_the_route_that_blocks_the_event_loop(tmp_path: Path) -> None:
    out = tmp_path / "tune.json"
    proc = cli(
        "tune", "fastapi_app:app", "--path", "/io", "--path", "/blocking", "--cpus", "1",
        "--memory", "1.75GB", "--budget", "30", "--json", str(out),
        "--log-dir", str(tmp_path / "logs"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    rec = data["recommendation"]
    assert rec["worker_class"] == "uvicorn" and rec["threads"] == 1
    assert "--worker-class uvicorn_worker.UvicornWorker fastapi_app:app" in rec["startup_command"]
    assert rec["app_settings"] == ""  # app settings cannot choose an ASGI worker
    roles = {b["role"]: b for b in data["baselines"]}
    assert roles["quickstart"]["workers"] == 2 and roles["one-worker"]["workers"] == 1
    assert not roles["app-service-default"]["feasible"]
    measured = [t for t in data["trials"] if t["server"] is not None]
    assert measured and all(t["config"]["worker_class"] == "uvicorn" for t in measured)
    assert any(w.startswith("GET /blocking blocks the event loop") for w in data["warnings"])
    assert not any(w.startswith("GET /io blocks") for w in data["warnings"])
    assert "blocks the event loop" in proc.stdout and "cannot choose an ASGI worker" in proc.stdout


def test_tune_starlette_over_uvicorn_workers(tmp_path: Path) -> None:
    target = check_import(
        Target(kind="app", app="starlette_app:app", chdir=str(APPS), label="starlette")
    )
    assert target.is_asgi and target.framework == "starlette"
    result = run_tune(target, workload(target, Asked())[1], tmp_path)
    assert result.profile is not None and result.profile.interface == "asgi"
    assert {r.path for r in result.profile.routes} == {"/", "/io", "/api/plain"}
    rec = result.recommendation
    assert rec is not None and rec.worker_class == "uvicorn"
    assert rec.startup_command.endswith(
        "--worker-class uvicorn_worker.UvicornWorker starlette_app:app"
    )
    assert not any("blocks the event loop" in w for w in result.warnings)


# -- Django --------------------------------------------------------------------------------------

VIEWS = '''
import time

from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_POST, require_safe


def index(request):
    return HttpResponse("ok")


def io(request):
    time.sleep(0.05)
    return JsonResponse({"waited_ms": 50})


def item(request, pk):
    return HttpResponse(str(pk))


@require_POST
def submit(request):
    return HttpResponse("posted")


@require_safe
def health(request):
    return HttpResponse("up")
'''

URLS = '''
from django.contrib import admin
from django.urls import path

from mysite import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", views.index),
    path("io/", views.io),
    path("items/<int:pk>/", views.item),
    path("submit/", views.submit),
    path("health/", views.health),
]
'''


@pytest.fixture(scope="module")
def django_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project as `django-admin startproject mysite` makes it, with two views added."""
    root = tmp_path_factory.mktemp("django")
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", "mysite"], cwd=root, check=True,
        capture_output=True, timeout=60,
    )  # fmt: skip
    project = root / "mysite"
    (project / "mysite" / "views.py").write_text(VIEWS)
    (project / "mysite" / "urls.py").write_text(URLS)
    return project


def test_tune_a_django_project_with_its_routes_found(django_project: Path, tmp_path: Path) -> None:
    target = check_import(resolve(str(django_project)))
    assert target.app == "mysite.wsgi:application" and target.framework == "django"
    assert target.interface == "wsgi"
    requests = workload(target, Asked())[1]  # no --path: Django's URL resolver
    # not the POST-only /submit/, nor the health check (the workload stage's default)
    assert {r.path for r in requests} == {"/", "/io/"}
    result = run_tune(target, requests, tmp_path)
    rec = result.recommendation
    assert rec is not None and rec.app == "mysite.wsgi:application"
    assert rec.startup_command.endswith("mysite.wsgi:application")
    assert result.profile is not None and result.profile.wall_ms > 0


def test_django_routes_say_what_was_skipped(django_project: Path) -> None:
    proc = cli("profile", str(django_project), "--path", "/", "--cpus", "1", timeout=120)
    assert proc.returncode == 0, proc.stderr  # an explicit --path skips discovery
    from tunicorn.app.target import discover_routes

    routes = discover_routes(check_import(resolve(str(django_project))))
    skipped = dict(routes.skipped)
    assert skipped["/admin/"] == "Django's admin, which needs a login"
    assert skipped["/items/<int:pk>/"] == "path parameters pk"
    assert skipped["/submit/"] == "POST only"  # @require_POST


def test_check_a_django_project_notices_its_asgi_entry(django_project: Path) -> None:
    proc = cli("check", str(django_project))
    assert "django-asgi" in proc.stdout and "mysite.asgi:application" in proc.stdout
    assert "App Service will run" in proc.stdout


def test_django_asgi_entry_is_an_asgi_target(django_project: Path) -> None:
    target = check_import(
        Target(kind="app", app="mysite.asgi:application", chdir=str(django_project))
    )
    assert (target.framework, target.interface) == ("django", "asgi")


def test_django_settings_that_do_not_import_name_the_failing_line(
    django_project: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(django_project, broken)
    settings = broken / "mysite" / "settings.py"
    lines = [*settings.read_text().splitlines(), "SECRET_KEY = undefined_name"]
    settings.write_text("\n".join(lines) + "\n")
    proc = cli("tune", str(broken), "--budget", "10", timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert f"mysite/settings.py:{len(lines)}" in proc.stderr and "undefined_name" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) <= 2


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ["sync", "gthread", "gevent"])
def test_an_asgi_app_under_a_wsgi_worker_class_is_exit_2(cls: str) -> None:
    proc = cli("bench", "fastapi_app:app", "--worker-class", cls, "-d", "1", timeout=60)
    assert proc.returncode == 2
    assert "cannot serve" in proc.stderr and "--worker-class uvicorn" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("bench", "fastapi_app:app", "--threads", "4"), "--threads does not apply"),
        (("bench", "hello:app", "--worker-class", "uvicorn"), "serves ASGI apps only"),
        (("bench", "hello:app", "--server", "uvicorn"), "serves ASGI apps only"),
        (("bench", "--demo", "nope"), "is not one of"),
        (("emit", "fastapi_app:app", "--workers", "2", "-k", "sync"), "cannot serve"),
    ],
)
def test_other_asgi_bad_input_is_one_sentence(args: tuple[str, ...], message: str) -> None:
    proc = cli(*args, timeout=60)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_factory_package_is_found_and_run(tmp_path: Path) -> None:
    folder = APPS.parent / "fixtures" / "check" / "flaskr_factory"
    proc = cli("bench", str(folder), "--path", "/hello", "-c", "2", "-d", "0.5", "--warmup", "0.2")
    assert proc.returncode == 0, proc.stderr
    assert "Found flaskr:create_app(), a Flask app factory, in package flaskr" in proc.stderr


def test_the_asgi_demo_profile_names_its_blocking_route(tmp_path: Path) -> None:
    out = tmp_path / "profile.json"
    proc = cli(
        "profile", "--demo", "fastapi", "--path", "/io", "--path", "/blocking", "--path",
        "/sync-io", "--cpus", "1", "--json", str(out), timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert data["interface"] == "asgi" and data["framework"] == "fastapi"
    handlers = {r["path"]: r["handler"] for r in data["routes"]}
    assert handlers == {"/io": "async", "/blocking": "async", "/sync-io": "sync"}
    assert data["thread_pool"] == 40
    (warning,) = [w for w in data["warnings"] if "blocks the event loop" in w]
    assert warning.startswith("GET /blocking blocks the event loop")
    assert "GET /blocking" in proc.stdout and "blocks the loop" in proc.stdout
