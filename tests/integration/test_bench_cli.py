"""`tunicorn bench` as a user runs it: real gunicorn, real HTTP over loopback."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tunicorn import record
from tunicorn.record import BenchResult

APPS = Path(__file__).resolve().parents[1] / "apps"
pytestmark = pytest.mark.integration


def tunicorn(
    *args: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tunicorn", *args],
        capture_output=True, text=True, timeout=timeout, cwd=cwd, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def bench_json(tmp_path: Path, *args: str) -> dict:
    out = tmp_path / f"run-{len(list(tmp_path.glob('run-*.json')))}.json"
    proc = tunicorn("bench", *args, "--json", str(out), "--log-dir", str(tmp_path / "logs"))
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text())


def test_three_by_six_serves_many_times_the_default(tmp_path: Path) -> None:
    """The seed's problem and its fix: 18 users on a 200 ms endpoint."""
    common = (
        "--demo", "--path", "/io", "--concurrency", "18", "--duration", "3", "--warmup", "0.5",
    )  # fmt: skip
    one = bench_json(tmp_path, *common, "--workers", "1", "--threads", "1")
    fix = bench_json(tmp_path, *common, "--workers", "3", "--threads", "6")
    assert one["config"] == {"workers": 1, "threads": 1, "worker_class": "sync", "timeout": 30}
    assert fix["config"]["worker_class"] == "gthread"  # threads > 1 with sync runs as gthread
    assert one["errors"] == 0 and fix["errors"] == 0
    assert fix["throughput_rps"] >= 8 * one["throughput_rps"]
    # One request at a time: the median user waits behind most of the other 17.
    assert one["latency_ms"]["p50"] > 5 * fix["latency_ms"]["p50"]
    for key in ("p50", "p90", "p95", "p99", "max"):
        assert key in one["latency_ms"]
    assert one["server"]["pss_mib_peak"] > 0 and "cpu_seconds" in one["server"]
    assert one["client"]["cpu_seconds"] > 0


def test_open_loop_sends_at_the_rate_and_says_so(tmp_path: Path) -> None:
    run = bench_json(tmp_path, "--demo", "--rate", "40", "--duration", "3", "--warmup", "0.5")
    assert run["mode"] == "open" and run["rate"] == 40
    assert 0.6 * 40 * 3 <= run["requests"] <= 1.1 * 40 * 3
    closed = bench_json(
        tmp_path, "--demo", "--concurrency", "2", "--duration", "2", "--warmup", "0.5"
    )
    assert closed["mode"] == "closed" and closed["rate"] is None


def test_keep_alive_gthread_and_close_per_request_sync(tmp_path: Path) -> None:
    ka = bench_json(
        tmp_path, "--demo", "-w", "2", "-t", "4", "--keep-alive", "-c", "8", "-d", "2",
        "--warmup", "0.3",
    )  # fmt: skip
    sync = bench_json(tmp_path, "--demo", "-w", "2", "-c", "4", "-d", "2", "--warmup", "0.3")
    assert ka["errors"] == 0 and ka["requests"] > 0
    assert sync["errors"] == 0 and sync["requests"] > 0
    assert sync["config"]["worker_class"] == "sync"


def test_url_target_loads_a_running_server(gunicorn_server, tmp_path: Path) -> None:
    server = gunicorn_server("basic:app", "--threads", "2")
    run = bench_json(
        tmp_path, server.url + "/", "--concurrency", "4", "--duration", "1", "--warmup", "0.2"
    )
    assert run["config"] is None and run["server"] is None
    assert run["requests"] > 0 and run["errors"] == 0


def test_json_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "one.json"
    proc = tunicorn("bench", "--demo", "-c", "2", "-d", "1", "--warmup", "0.2", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    loaded = record.from_json(out.read_text(), BenchResult)
    assert record.from_json(record.to_json(loaded), BenchResult) == loaded
    assert loaded.requests == json.loads(out.read_text())["requests"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nosuchmodule_xyz:app",), "no module 'nosuchmodule_xyz'"),
        (("hello:nothing_here",), "has no 'nothing_here'"),
        (("broken_import:app",), "broken_import.py:5"),
        (("--demo", "--concurrency", "0"), "must be more than zero"),
        (("--demo", "--concurrency", "-3"), "must be more than zero"),
        (("--demo", "--rate", "0"), "must be more than zero"),
        (("--demo", "--duration", "0"), "must be more than zero"),
        (("--demo", "--duration", "soon"), "is not a number"),
        (("http://127.0.0.1:9/",), "Nothing answers"),
        (("http://10.1.2.3:8000/",), "not this machine"),
        (("/no/such/folder",), "There is no folder"),
    ],
)
def test_bad_input_is_one_sentence_and_exit_2(
    args: tuple[str, ...], message: str, tmp_path: Path
) -> None:
    extra = () if "--duration" in args else ("--duration", "1")
    proc = tunicorn("bench", *args, *extra, "--log-dir", str(tmp_path), cwd=APPS)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 4  # click: usage, hint, blank, error
    assert not _servers_logging_to(tmp_path)


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = tunicorn("bench", "--demo", "--port", str(port), "-d", "1")
    assert proc.returncode == 2
    assert f"Port {port} on 127.0.0.1 is in use" in proc.stderr


def test_non_http_port_is_a_clear_error() -> None:
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        port = srv.getsockname()[1]

        import threading

        def babble() -> None:
            conn, _ = srv.accept()
            with conn:
                conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
                time.sleep(0.5)

        threading.Thread(target=babble, daemon=True).start()
        proc = tunicorn("bench", f"http://127.0.0.1:{port}/", "-d", "1")
    assert proc.returncode == 2
    assert "not HTTP" in proc.stderr


def _servers_logging_to(folder: Path) -> list[int]:
    """gunicorn processes this test's run started (their log is in the test's folder)."""
    found = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if "gunicorn" in cmd and str(folder) in cmd:
            found.append(p.pid)
    return found


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_stops_every_server(tmp_path: Path, sig: signal.Signals) -> None:
    logs = tmp_path / "logs"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tunicorn", "bench", "--demo", "--path", "/io", "-w", "2",
         "-c", "4", "-d", "60", "--log-dir", str(logs)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    pids: set[int] = set()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(pids) < 3:
            for log in logs.glob("*.log"):
                text = log.read_text(errors="replace")
                pids |= {int(p) for p in re.findall(r"Booting worker with pid: (\d+)", text)}
                pids |= {int(p) for p in re.findall(r"Listening at: \S+ \((\d+)\)", text)}
            time.sleep(0.2)
        assert len(pids) >= 3, "the server did not start"
        time.sleep(1.0)  # under load now
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Interrupted" in err and "Traceback" not in err
    time.sleep(0.5)
    alive = [
        p
        for p in pids
        if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
    ]
    assert not alive, f"left running: {alive}"
