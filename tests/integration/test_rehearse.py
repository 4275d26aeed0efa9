"""`tunicorn check PATH --rehearse` as a user runs it: real pip into a fresh environment, real
gunicorn on loopback, and nothing left behind, whether it succeeds, fails or is interrupted.

The requirements pin what the shared environment already has (Flask, gunicorn, gevent), so pip
installs from its cache; each run gets its own TMPDIR, which must be empty afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from tunicorn.deploy import packages

pytestmark = pytest.mark.integration

APP = """\
from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return "ok"
"""
RAISES = """\
import os

raise RuntimeError("the database URL is not set")
"""
# Writes its pid to a marker, then sleeps: the process the interrupt must stop.
SLEEPER = """\
import os, time
marker = os.environ.get("TUNICORN_TEST_MARKER")
if marker:
    with open(marker, "w") as f:
        f.write(str(os.getpid()))
time.sleep(120)
"""
SLOW_BACKEND = f"""\
# A build backend that takes minutes: pip is busy installing when the test interrupts it.
def _wait():
{"".join("    " + line + chr(10) for line in SLEEPER.splitlines())}

def get_requires_for_build_wheel(config_settings=None):
    _wait()
    return []
"""
SLOW_PROJECT = """\
[build-system]
requires = []
build-backend = "slowbackend"
backend-path = ["."]

[project]
name = "slowpkg"
version = "0.1"
"""


def pins(*names: str) -> str:
    return "".join(f"{name}=={packages.tested_version(name)}\n" for name in names)


GEVENT_LINES = "".join(f"{packages.pinned(n)}\n" for n in packages.for_worker_class("gevent"))
GEVENT_START = "gunicorn --bind=0.0.0.0 --timeout 600 --workers 2 --worker-class gevent app:app\n"


def project(tmp_path: Path, requirements: str, *, app: str = APP, startup: str = "") -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "app.py").write_text(app)
    (root / "requirements.txt").write_text(requirements)
    if startup:
        (root / "startup.txt").write_text(startup)
    return root


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    return {**os.environ, "TMPDIR": str(tmp), **extra}


def rehearse(
    tmp_path: Path, root: Path, *args: str, kept: bool = False
) -> tuple[int, dict[str, Any], str]:
    proc = subprocess.run(
        [sys.executable, "-m", "tunicorn", "check", str(root), "--rehearse", "--json", "-", *args],
        capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL,
        env=environment(tmp_path),
    )  # fmt: skip
    assert proc.stdout.strip(), proc.stderr
    if not kept:
        assert_nothing_left(tmp_path)
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def assert_nothing_left(tmp_path: Path, pids: tuple[psutil.Process, ...] = ()) -> None:
    tmp = tmp_path / "tmp"
    assert list(tmp.iterdir()) == [], "the rehearsal left files in TMPDIR"
    for process in pids:
        assert not process.is_running() or process.status() == psutil.STATUS_ZOMBIE, process
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or ())
        assert str(tmp) not in cmdline, f"still running: {cmdline}"


def codes(data: dict[str, Any], level: str = "error") -> set[str]:
    return {f["code"] for f in data["findings"] if f["level"] == level}


def test_gevent_missing_is_an_error_and_the_rehearsal_fails_at_boot(tmp_path: Path) -> None:
    root = project(tmp_path, pins("flask", "gunicorn"), startup=GEVENT_START)
    code, data, _ = rehearse(tmp_path, root)
    assert code == 1
    assert "package-missing" in codes(data)
    run = data["rehearsal"]
    assert (run["ok"], run["stage"]) == (False, "boot")
    assert "worker class 'gevent'" in run["error"] and "No module named 'gevent'" in run["error"]
    assert packages.pinned(packages.for_worker_class("gevent")[0]) in run["action"]
    assert run["installed_s"] > 0 and run["booted_s"] is None
    assert "--bind=127.0.0.1:" in run["command"] and "0.0.0.0" not in run["command"]


def test_with_the_lines_check_names_the_rehearsal_answers_200(tmp_path: Path) -> None:
    root = project(tmp_path, pins("flask", "gunicorn") + GEVENT_LINES, startup=GEVENT_START)
    code, data, stderr = rehearse(tmp_path, root)
    run = data["rehearsal"]
    assert (run["ok"], run["stage"], run["status"]) == (True, "served", 200), run
    assert code == 0, stderr
    assert run["booted_s"] > 0 and run["latency_ms"] > 0
    assert run["python"] and run["requirements"] == "requirements.txt"


def test_a_requirement_that_does_not_exist_is_named(tmp_path: Path) -> None:
    root = project(tmp_path, pins("flask", "gunicorn") + "tunicorn-no-such-package-4f2a==1.0\n")
    code, data, _ = rehearse(tmp_path, root)
    run = data["rehearsal"]
    assert code == 1 and (run["ok"], run["stage"]) == (False, "install")
    assert "tunicorn-no-such-package-4f2a" in run["error"]
    assert "cannot be installed here" in run["error"] and run["action"]
    assert run["log_tail"]


def test_an_app_that_raises_at_import_names_its_line(tmp_path: Path) -> None:
    root = project(tmp_path, pins("flask", "gunicorn"), app=RAISES)  # App Service's default
    code, data, _ = rehearse(tmp_path, root)
    run = data["rehearsal"]
    assert code == 1 and (run["ok"], run["stage"]) == (False, "boot")
    assert "RuntimeError: the database URL is not set" in run["error"]
    assert f"{root / 'app.py'}:3" in run["error"]
    assert "GUNICORN_CMD_ARGS=" in run["command"] and f"--chdir={root}" in run["command"]


def test_without_gunicorn_in_requirements_the_images_is_stood_in_for(tmp_path: Path) -> None:
    root = project(tmp_path, pins("flask"))
    code, data, _ = rehearse(tmp_path, root, "--keep-env", kept=True)
    run = data["rehearsal"]
    kept = Path(run["env_kept"])
    try:
        assert code == 0 and run["status"] == 200, run
        assert any("App Service's image brings its own" in note for note in run["notes"])
        assert (kept / "bin" / "gunicorn").exists()
    finally:
        shutil.rmtree(kept.parent)
    assert_nothing_left(tmp_path)


def test_tune_emit_then_check_the_folder_is_the_two_command_deploy_check(tmp_path: Path) -> None:
    from tunicorn.deploy import emit
    from tunicorn.deploy.emit import folder as emitted
    from tunicorn.record import Constraints, Latency, Recommendation, TuneResult

    root = project(tmp_path, pins("flask"))  # gunicorn left to the image: the copy pins it
    pick = Recommendation(2, 4, "gthread", 100.0, 90.0, Latency(), 80.0, app="app:app")
    tuned = TuneResult(
        "app", "app:app", pick, (), (), Constraints(1, 1792.0, slo_p95_ms=100.0), None, 1.0
    )
    rec = emit.with_packages(emit.with_commands(tuned), root).recommendation
    assert rec is not None and rec.requirements_add == (packages.pinned(packages.GUNICORN),)
    deploy = tmp_path / "deploy"
    emitted.write(rec, deploy, root)  # what tune --emit deploy/ writes
    code, data, stderr = rehearse(tmp_path, deploy)
    run = data["rehearsal"]
    assert (code, run["ok"], run["status"]) == (0, True, 200), (run, stderr)
    assert data["worker_class"] == "gthread" and data["workers"] == 2
    assert "--workers 2 --threads 4 --worker-class gthread" in run["command"]
    assert not any("image brings its own" in n for n in run["notes"])  # the copy lists it
    assert (root / "requirements.txt").read_text() == pins("flask")


@pytest.mark.parametrize(
    ("phase", "sig"),
    [("install", signal.SIGINT), ("install", signal.SIGTERM),
     ("boot", signal.SIGINT), ("boot", signal.SIGTERM)],
    ids=["install-ctrl-c", "install-sigterm", "boot-ctrl-c", "boot-sigterm"],
)  # fmt: skip
def test_an_interrupt_leaves_no_process_and_no_environment(
    tmp_path: Path, phase: str, sig: signal.Signals
) -> None:
    if phase == "install":
        root = project(tmp_path, pins("flask", "gunicorn") + "./slowpkg\n")
        (root / "slowpkg").mkdir()
        (root / "slowpkg" / "pyproject.toml").write_text(SLOW_PROJECT)
        (root / "slowpkg" / "slowbackend.py").write_text(SLOW_BACKEND)
    else:
        root = project(tmp_path, pins("flask", "gunicorn"), app=SLEEPER + APP)
    marker = tmp_path / "started.pid"
    log = tmp_path / "tunicorn.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tunicorn", "check", str(root), "--rehearse"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=environment(tmp_path, TUNICORN_TEST_MARKER=str(marker)),
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (marker.exists() and marker.read_text()):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        sleeper = psutil.Process(int(marker.read_text()))
        children = tuple(psutil.Process(proc.pid).children(recursive=True))
        assert sleeper in children
        proc.send_signal(sig)
        assert proc.wait(timeout=60) == 130, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Interrupted" in log.read_text()
    assert_nothing_left(tmp_path, children)
