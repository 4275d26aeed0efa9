"""Connections per worker read on a real gunicorn, and a kept-alive capacity dealt again.

Counts and structure only, never timings or which worker got what (that is the race)."""

from __future__ import annotations

import contextlib
import socket
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from tests.conftest import GunicornServer
from tunicorn.app.target import Target
from tunicorn.load import LoadSpec, Request
from tunicorn.record import ServerConfig
from tunicorn.run.balance import connections_per_worker
from tunicorn.run.deal import deal
from tunicorn.run.measure import TrialPlan, measure, split_cores

APPS = Path(__file__).resolve().parents[1] / "apps"
pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def test_every_open_connection_is_counted_on_the_worker_that_holds_it(
    gunicorn_server: Callable[..., GunicornServer],
) -> None:
    server = gunicorn_server("basic:app", "--workers", "2", "--threads", "2")
    port = urllib.parse.urlsplit(server.url).port
    assert port is not None
    deadline = time.monotonic() + 15
    while len(psutil.Process(server.pid).children()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)  # the second worker is still booting
    assert connections_per_worker(server.pid, port) == (0, 0)
    with contextlib.ExitStack() as stack:
        for _ in range(6):
            sock = stack.enter_context(socket.create_connection(("127.0.0.1", port)))
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # a worker accepts and answers
            sock.recv(4096)
        counts = connections_per_worker(server.pid, port)
    assert len(counts) == 2 and sum(counts) == 6, server.log()


def test_a_kept_alive_capacity_is_dealt_k_times_on_one_server(tmp_path: Path) -> None:
    plan = TrialPlan(
        target=Target(kind="app", app="pool_sem:app", chdir=str(APPS), label="pool"),
        requests=(Request(path="/work"),), cores=split_cores(None), slo_p95_ms=2000.0,
        budget_mib=1e9, gevent_clients=16, keepalive=True, log_dir=tmp_path,
    )  # fmt: skip
    spread = deal(plan, ServerConfig(2, 2, "gthread"), clients=8, k=2, duration_s=1.0)
    assert spread.clients == 8 and len(spread.deals) == 2
    for hand in spread.deals:
        assert hand.passed and hand.throughput_rps > 0
        assert len(hand.worker_connections) == 2 and sum(hand.worker_connections) == 8
    assert 0 < spread.low_rps <= spread.median_rps <= spread.high_rps
    assert spread.seconds > 0


def test_a_measured_run_records_the_connections_each_worker_held(tmp_path: Path) -> None:
    target = Target(kind="app", app="basic:app", chdir=str(APPS), label="basic")
    spec = LoadSpec(url="http://unused", concurrency=6, duration_s=1.0, warmup_s=0.3)
    result = measure(target, ServerConfig(2, 2, "gthread"), spec, log_dir=tmp_path)
    assert result.server is not None and result.errors == 0
    held = result.server.worker_connections
    # Each of the 6 kept-alive connections on some worker; one still in the listen backlog
    # at the instant of counting is held by none (CI once counted 5 of 6, as (5, 0)).
    assert len(held) == 2 and 5 <= sum(held) <= 6
