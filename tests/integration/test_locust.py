"""`tunicorn bench --locustfile`: a real Locust master and workers against real gunicorn.

Counts, kinds and processes are asserted, never timings. Every test checks by PID that no
Locust process it caused is left behind, however the run ended.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.apps import login_app
from tests.conftest import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

APPS = Path(__file__).resolve().parents[1] / "apps"
SHORT = ("--duration", "1.5", "--warmup", "0.3")


def tunicorn(*args: str, **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tunicorn", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        cwd=APPS, **kw,  # type: ignore[call-overload]
    )  # fmt: skip


class Watch:
    """Every process a tunicorn run started, by PID, so the test can check they all ended."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.pids: set[int] = set()

    def look(self) -> list[psutil.Process]:
        try:
            found = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        self.pids.update(p.pid for p in found)
        return found

    def locusts(self) -> list[psutil.Process]:
        out = []
        for p in self.look():
            try:
                if "locust" in " ".join(p.cmdline()):
                    out.append(p)
            except psutil.NoSuchProcess:
                pass
        return out

    def finish(self, timeout: float = 90) -> tuple[int, str, str]:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self.look()
            time.sleep(0.1)
        out, err = self.proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
        return self.proc.returncode, out, err

    def assert_none_left(self) -> None:
        time.sleep(0.2)
        alive = []
        for pid in self.pids:
            try:
                p = psutil.Process(pid)
                if p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(f"{pid} {' '.join(p.cmdline())}")
            except psutil.NoSuchProcess:
                pass
        assert not alive, f"left behind: {alive}"


@pytest.fixture
def watched() -> Iterator[list[Watch]]:
    runs: list[Watch] = []
    yield runs
    for run in runs:  # a failed test still stops what it started
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.communicate()
        for pid in run.pids:
            with contextlib.suppress(psutil.Error):
                p = psutil.Process(pid)
                if "locust" in " ".join(p.cmdline()) or "gunicorn" in " ".join(p.cmdline()):
                    p.kill()


def bench(watched: list[Watch], *args: str) -> tuple[int, str, str, Watch]:
    run = Watch(tunicorn("bench", *args))
    watched.append(run)
    code, out, err = run.finish()
    run.assert_none_left()
    return code, out, err, run


def test_login_flow_keeps_its_session_and_leaks_no_secret(
    watched: list[Watch], tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    out_json, out_html = tmp_path / "run.json", tmp_path / "run.html"
    code, out, err, _ = bench(
        watched, "login_app:app", "--threads", "4", "--locustfile", "locust_login.py",
        "--load-processes", "1", "-c", "4", *SHORT, "--json", str(out_json),
        "--html", str(out_html), "--log-dir", str(logs),
    )  # fmt: skip
    assert code == 0, err
    run = json.loads(out_json.read_text())
    assert run["errors"] == 0, run["errors_by_kind"]  # /account answers 401 without the cookie
    assert run["load"]["engine"] == "locust" and run["load"]["version"]
    assert run["load"]["workers"] == 1 and run["load"]["users"] == 4
    rows = {(e["method"], e["name"]): e for e in run["load"]["endpoints"]}
    assert rows[("GET", "/account")]["requests"] > 0
    assert rows[("POST", "/notes")]["requests"] > 0  # the form, posted with the session
    assert run["status_counts"].keys() == {"200", "201"}
    assert run["requests"] == sum(e["requests"] for e in rows.values())
    for key in ("p50", "p90", "p95", "p99", "max"):
        assert run["latency_ms"][key] > 0
    assert run["client"]["cpu_seconds"] > 0
    assert any((logs).rglob("master.log")) and any(logs.rglob("worker-1.log"))
    written = [out_json.read_text(), out_html.read_text(), out, err]
    written += [p.read_text(errors="replace") for p in logs.rglob("*") if p.is_file()]
    assert "logged in with" in "".join(written)  # the locustfile's log line is kept, scrubbed
    for secret in (login_app.PASSWORD, login_app.API_KEY, login_app.COOKIE):
        assert not [i for i, text in enumerate(written) if secret in text], secret


def test_master_and_two_local_workers(watched: list[Watch], tmp_path: Path) -> None:
    out_json = tmp_path / "run.json"
    code, _, err, _ = bench(
        watched, "hello:app", "--threads", "2", "--locustfile", "locust_hello.py",
        "--load-processes", "2", "-c", "6", *SHORT, "--json", str(out_json),
    )  # fmt: skip
    assert code == 0, err
    run = json.loads(out_json.read_text())
    assert run["load"]["workers"] == 2 and run["load"]["users"] == 6
    assert run["errors"] == 0 and run["requests"] > 0
    assert run["timeline"] and run["timeline"][-1]["requests"] == run["requests"]


def test_master_waits_for_two_workers_started_elsewhere(
    watched: list[Watch], tmp_path: Path
) -> None:
    port = free_port()
    out_json = tmp_path / "run.json"
    run = Watch(
        tunicorn(
            "bench", "hello:app", "--threads", "2", "--locustfile", "locust_hello.py",
            "--expect-workers", "2", "--master-bind", f"127.0.0.1:{port}", "-c", "4", *SHORT,
            "--json", str(out_json),
        )  # fmt: skip
    )
    watched.append(run)
    printed = ""
    assert run.proc.stderr is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "--worker" not in printed:
        printed += run.proc.stderr.readline()
    command = printed[printed.index("locust -f - --worker") :].split("\n")[0].strip()
    assert command == f"locust -f - --worker --master-host 127.0.0.1 --master-port {port}"
    workers = []
    for i in range(2):  # each in its own temp folder: `-f -` writes the files it downloads there
        home = tmp_path / f"worker-{i}"
        home.mkdir()
        argv = [sys.executable, "-m", *shlex.split(command)]
        log = open(home / "log", "wb")  # noqa: SIM115 - closed below
        workers.append(
            subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=home,
                             env=dict(os.environ, TMPDIR=str(home)), start_new_session=True)
        )  # fmt: skip
        log.close()
    try:
        code, _, err = run.finish()
        for w in workers:  # the master tells its workers to quit when it is done
            w.wait(15)
    finally:
        for w in workers:
            if w.poll() is None:
                os.killpg(w.pid, signal.SIGKILL)
                w.wait()
    run.assert_none_left()
    assert code == 0, err
    result = json.loads(out_json.read_text())
    assert result["load"]["workers"] == 2 and result["load"]["master"] == f"127.0.0.1:{port}"
    assert result["errors"] == 0 and result["requests"] > 0


def test_a_worker_started_with_its_own_locustfile_is_refused_with_the_command(
    watched: list[Watch], tmp_path: Path
) -> None:
    """Locust's docs start a worker with `locust -f locustfile.py --worker`: it joins, but
    without tunicorn's plugin its users would run unmeasured. The run ends in exit 2 naming the
    command that works, never in a result of nothing."""
    port = free_port()
    run = Watch(
        tunicorn(
            "bench", "hello:app", "--locustfile", "locust_hello.py", "--expect-workers", "1",
            "--master-bind", f"127.0.0.1:{port}", "-c", "2", *SHORT,
        )  # fmt: skip
    )
    watched.append(run)
    assert run.proc.stderr is not None
    printed = ""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "--worker" not in printed:
        printed += run.proc.stderr.readline()
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115 - closed below
    worker = subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", "locust_hello.py", "--worker",
         "--master-host", "127.0.0.1", "--master-port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, cwd=APPS, start_new_session=True,
    )  # fmt: skip
    log.close()
    try:
        code, _, err = run.finish()
        worker.wait(15)  # the master told it to quit
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    run.assert_none_left()
    err = printed + err
    assert code == 2, err
    assert "without tunicorn's plugin" in err, err
    command = f"locust -f - --worker --master-host 127.0.0.1 --master-port {port}"
    assert f"start each worker with `{command}`" in err
    assert "Traceback" not in err and "lengthen --duration" not in err


def test_workers_that_never_come_end_in_one_sentence(watched: list[Watch]) -> None:
    port = free_port()
    code, _, err, _ = bench(
        watched, "hello:app", "--locustfile", "locust_hello.py", "--expect-workers", "2",
        "--master-bind", f"127.0.0.1:{port}", "--worker-wait", "2", *SHORT,
    )  # fmt: skip
    assert code == 2, err
    assert f"Only 0 of 2 Locust workers connected to 127.0.0.1:{port} within 2 s" in err
    assert "Traceback" not in err


def test_binding_beyond_loopback_needs_consent(watched: list[Watch]) -> None:
    code, _, err, _ = bench(
        watched, "hello:app", "--locustfile", "locust_hello.py", "--expect-workers", "1",
        "--master-bind", "0.0.0.0:5557", *SHORT,
    )  # fmt: skip
    assert code == 2 and "--allow-remote" in err and "exposes" in err


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (None, "no such file"),
        ("def broken(:\n", "Locust cannot load"),
        ("import locust\nX = 1\n", "defines no Locust user class"),
    ],
)
def test_a_bad_locustfile_is_refused_in_one_sentence(
    watched: list[Watch], tmp_path: Path, text: str | None, said: str
) -> None:
    path = tmp_path / "lf.py"
    if text is not None:
        path.write_text(text)
    code, _, err, run = bench(watched, "hello:app", "--locustfile", str(path), *SHORT)
    assert code == 2, err
    assert said in err and "Traceback" not in err
    assert len([ln for ln in err.strip().splitlines() if ln.strip()]) <= 3  # one sentence, wrapped


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_leaves_no_locust_process(
    watched: list[Watch], tmp_path: Path, sig: signal.Signals
) -> None:
    run = Watch(
        tunicorn(
            "bench", "hello:app", "--locustfile", "locust_hello.py", "--load-processes", "1",
            "-c", "2", "--duration", "60",
        )  # fmt: skip
    )
    watched.append(run)
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and len(run.locusts()) < 2:  # the master and its worker
        time.sleep(0.1)
    assert len(run.locusts()) >= 2, "Locust did not start"
    time.sleep(1.0)
    run.proc.send_signal(sig)
    code, _, err = run.finish(timeout=30)
    assert code == 130, err
    run.assert_none_left()



def test_a_tune_trial_measured_by_locust_says_so(tmp_path: Path) -> None:
    """TrialMeter's closed-loop capacity through the same interface, users for clients."""
    from tunicorn.app.target import Target
    from tunicorn.load import LocustOptions, Request
    from tunicorn.record import ServerConfig
    from tunicorn.run.measure import TrialMeter, TrialPlan, split_cores

    before = {p.pid for p in psutil.process_iter()}
    plan = TrialPlan(
        target=Target(kind="app", app="hello:app", chdir=str(APPS)), requests=(Request(),),
        cores=split_cores(None), slo_p95_ms=2000.0, budget_mib=4096.0, gevent_clients=8,
        single_ms=2.0, warmup_s=0.3, saturate_s=1.0, verify_s=1.0, log_dir=tmp_path,
        locust=LocustOptions(str(APPS / "locust_hello.py"), processes=1),
    )  # fmt: skip
    trial = TrialMeter(plan)(ServerConfig(1, 2, "gthread"), "model")
    assert trial.engine == "locust", trial.note
    assert trial.feasible and trial.capacity_rps > 0
    assert all(ph.load.engine == "locust" for ph in trial.phases)
    # The users were stepped up from one per slot (and a half) while the SLO held.
    users = [ph.concurrency for ph in trial.phases]
    assert users[0] == 3 and len(users) >= 2 and users[1] == 6
    time.sleep(0.3)
    left = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        if p.pid not in before and "locust" in " ".join(p.info["cmdline"] or []):
            left.append(p.pid)
    assert not left
