"""tunicorn probe against real servers on loopback: it must find how many they serve at once.

Only the inferred concurrency is asserted, never a timing.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import APPS_DIR, _ready, free_port, stop_group
from tunicorn.run.probe import ProbeError, probe

pytestmark = pytest.mark.integration


@pytest.fixture
def process(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Factory: start a command with PORT filled in on loopback; returns its base URL."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(*argv: str, ready: bool = True) -> str:
        port = free_port()
        log_path = tmp_path / f"server-{port}.log"
        cmd = [a.replace("PORT", str(port)) for a in argv]
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                cmd, cwd=APPS_DIR, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        procs.append(proc)
        if ready:
            _ready(port, proc, log_path)
        else:
            import socket
            import time

            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", port)) == 0:
                        break
                time.sleep(0.05)
        return f"http://127.0.0.1:{port}"

    try:
        yield start
    finally:
        for proc in procs:
            stop_group(proc)


@pytest.mark.parametrize(
    ("args", "slots"),
    [(("-w", "1"), 1), (("-w", "2"), 2), (("-w", "1", "--threads", "4"), 4),
     (("-w", "3", "--threads", "6"), 18)],
    ids=["1x1", "2x1", "1x4", "3x6"],
)  # fmt: skip
def test_gunicorn_slots(
    gunicorn_server: Callable[..., object], args: tuple[str, ...], slots: int
) -> None:
    server = gunicorn_server("probe_app:app", *args)
    result = probe(server.url + "/slow")  # type: ignore[attr-defined]
    assert result.effective_concurrency is not None
    # gthread workers share a burst of new connections unevenly, which can only hide slots:
    # as the probe itself does, trust the highest of a few looks.
    for _ in range(2):
        if slots <= 8 or abs(result.effective_concurrency - slots) <= 0.15 * slots:
            break
        again = probe(server.url + "/slow")  # type: ignore[attr-defined]
        if (again.effective_concurrency or 0) > result.effective_concurrency:
            result = again
    if slots <= 8:
        assert result.effective_concurrency == slots, result.waves
    else:
        assert abs(result.effective_concurrency - slots) <= 0.15 * slots, result.waves
    assert result.serial == (slots == 1)
    assert "gunicorn" in result.server
    assert result.kind == "probe"


def test_waitress_six_threads(process: Callable[..., str]) -> None:
    url = process(sys.executable, "-m", "waitress", "--threads=6", "--listen=127.0.0.1:PORT",
                  "probe_app:app")  # fmt: skip
    result = probe(url + "/slow")
    assert result.effective_concurrency == 6, result.waves
    assert "waitress" in result.server and "--threads" in result.hint


def test_werkzeug_threaded_has_no_limit(process: Callable[..., str]) -> None:
    url = process(sys.executable, "werkzeug_threaded.py", "PORT")
    result = probe(url + "/slow", max_concurrency=8)
    assert result.effective_concurrency == 8 and result.at_least, result.waves
    assert "Werkzeug" in result.server and "development" in result.hint


def test_refused_exits_2(tmp_path: Path) -> None:
    port = free_port()
    out = subprocess.run(
        [sys.executable, "-m", "tunicorn", "probe", f"http://127.0.0.1:{port}/",
         "--json", str(tmp_path / "p.json")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 2
    assert "Nothing answers at" in out.stderr
    assert "Traceback" not in out.stderr


def test_silent_server_times_out(process: Callable[..., str]) -> None:
    url = process(sys.executable, "raw_servers.py", "silent", "PORT", ready=False)
    with pytest.raises(ProbeError, match="did not answer within"):
        probe(url + "/", timeout_s=0.5)


def test_non_http_port(process: Callable[..., str]) -> None:
    url = process(sys.executable, "raw_servers.py", "garbage", "PORT", ready=False)
    with pytest.raises(ProbeError, match="not HTTP"):
        probe(url + "/")


def test_only_500(gunicorn_server: Callable[..., object]) -> None:
    server = gunicorn_server("probe_app:app", "-w", "1")
    with pytest.raises(ProbeError, match="answers 500"):
        probe(server.url + "/fail")  # type: ignore[attr-defined]


def test_cli_writes_json(gunicorn_server: Callable[..., object], tmp_path: Path) -> None:
    import json

    server = gunicorn_server("probe_app:app", "-w", "1")
    path = tmp_path / "probe.json"
    out = subprocess.run(
        [sys.executable, "-m", "tunicorn", "probe", server.url, "--path", "/slow",  # type: ignore[attr-defined]
         "--max-concurrency", "4", "--json", str(path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    data = json.loads(path.read_text())
    assert data["effective_concurrency"] == 1 and data["serial"] is True
    assert {"url", "server", "single_latency_ms", "verdict"} <= data.keys()
    assert "one at a time" in out.stdout


def _probe_cli(
    url: str, *args: str, json_path: Path | None = None
) -> subprocess.CompletedProcess[str]:
    extra = ["--json", str(json_path)] if json_path else []
    return subprocess.run(
        [sys.executable, "-m", "tunicorn", "probe", url, *args, *extra],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "code"), [(("-w", "1"), 1), (("-w", "3", "--threads", "6"), 0)], ids=["1x1", "3x6"]
)
def test_expect_exit_codes(
    gunicorn_server: Callable[..., object], args: tuple[str, ...], code: int
) -> None:
    """The post-deploy check: the seed's 1×1 fails --expect 2, the seed's fix passes it."""
    server = gunicorn_server("probe_app:app", *args)
    out = _probe_cli(server.url + "/slow", "--expect", "2")  # type: ignore[attr-defined]
    assert out.returncode == code, out.stdout + out.stderr
    assert ("✓ Serves at least 2" in out.stdout) == (code == 0), out.stdout
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize(("args", "slots"), [(("-w", "1"), 1), (("-w", "3", "--threads", "6"), 18)],
                         ids=["1x1", "3x6"])  # fmt: skip
def test_fast_page_gets_an_answer(
    gunicorn_server: Callable[..., object], args: tuple[str, ...], slots: int
) -> None:
    """A page of about 1 ms, under the 5 ms the rounds need: the stacking test answers and
    says how sure it is. (The test asks for it outright: on a busy machine one request to
    the page can take 5 ms, and the probe would then read rounds instead.)"""
    server = gunicorn_server("probe_app:app", *args)
    result = probe(server.url + "/quick", expect=2, method="stacking")  # type: ignore[attr-defined]
    test = result.stacking
    assert result.method == "stacking" and test is not None and test.k == 2
    assert result.effective_concurrency == min(slots, 2), test
    assert result.serial is (slots == 1) and result.at_least is (slots > 1)
    assert result.meets_expectation is (slots > 1)
    assert result.confidence in ("high", "medium") and "resamples" in result.sureness


def test_fast_page_cli_gates_on_it(gunicorn_server: Callable[..., object], tmp_path: Path) -> None:
    """The same through the command a CI job runs: the JSON keeps the contract's keys."""
    import json

    server = gunicorn_server("probe_app:app", "-w", "1")
    path = tmp_path / "p.json"
    out = _probe_cli(server.url + "/", "--expect", "2", json_path=path)  # type: ignore[attr-defined]
    data = json.loads(path.read_text())
    assert {"url", "effective_concurrency", "serial", "server", "single_latency_ms",
            "verdict"} <= data.keys()  # fmt: skip
    assert data["expect"] == 2 and data["meets_expectation"] is not True
    assert out.returncode == 1, out.stdout + out.stderr


def test_expect_bad_input_exits_2(gunicorn_server: Callable[..., object]) -> None:
    server = gunicorn_server("probe_app:app", "-w", "1")
    out = _probe_cli(server.url + "/slow", "--expect", "0")  # type: ignore[attr-defined]
    assert out.returncode == 2 and "Traceback" not in out.stderr
    out = _probe_cli(server.url + "/slow", "--expect", "100000")  # type: ignore[attr-defined]
    assert out.returncode == 2 and "--expect must be from 1 to" in out.stderr, out.stderr
