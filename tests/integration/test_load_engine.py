"""The load engine against real gunicorn (and a few misbehaving raw servers) on loopback.

Counts and kinds are asserted, never timings: the machine is shared and noisy.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import threading
from collections.abc import Callable, Iterator

import pytest
from hdrh.histogram import HdrHistogram

from tests.conftest import GunicornServer, free_port
from tunicorn.load import LoadSpec, Request, run_load
from tunicorn.record import LoadResult, Tick

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

Start = Callable[..., GunicornServer]


def spec(url: str, **kw: object) -> LoadSpec:
    kw.setdefault("duration_s", 1.0)
    kw.setdefault("warmup_s", 0.2)
    kw.setdefault("concurrency", 4)
    kw.setdefault("tick_s", 0.25)
    kw.setdefault("timeout_s", 5.0)
    return LoadSpec(url=url, **kw)  # type: ignore[arg-type]


def assert_clean(result: LoadResult, server: GunicornServer) -> None:
    assert result.errors == 0, (result.errors_by_kind, server.log())
    assert result.requests > 0
    assert result.ok == result.requests
    assert result.status_counts == {"200": result.ok}
    assert 0 < result.latency_ms.p50 <= result.latency_ms.p95 <= result.latency_ms.max
    hist = HdrHistogram.decode(result.histogram.encode("ascii"))
    assert hist.get_total_count() == result.ok
    assert result.timeline and result.timeline[-1].requests == result.requests
    assert result.client.cpu_seconds > 0


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_closed_loop_keepalive_gthread(gunicorn_server: Start) -> None:
    server = gunicorn_server("basic:app", "--workers", "1", "--threads", "4")
    ticks: list[Tick] = []
    fds = open_fds()
    result = run_load(spec(server.url), on_tick=ticks.append)
    assert_clean(result, server)
    assert result.mode == "closed" and not result.rate_missed
    assert ticks == list(result.timeline)
    assert open_fds() == fds  # every socket closed


def test_closed_loop_sync_server_closes_each_connection(gunicorn_server: Start) -> None:
    server = gunicorn_server("basic:app", "--workers", "1")
    fds = open_fds()
    result = run_load(spec(server.url))
    assert_clean(result, server)
    assert open_fds() == fds


def test_client_asks_to_close(gunicorn_server: Start) -> None:
    server = gunicorn_server("basic:app", "--workers", "1", "--threads", "2")
    result = run_load(spec(server.url, keepalive=False))
    assert_clean(result, server)


def test_open_loop_sends_about_rate_times_duration(gunicorn_server: Start) -> None:
    server = gunicorn_server("basic:app", "--workers", "1", "--threads", "4")
    result = run_load(spec(server.url, rate=200.0, duration_s=1.0))
    assert_clean(result, server)
    assert result.mode == "open"
    assert 100 <= result.requests <= 220
    assert 0.0 <= result.late_fraction <= 1.0


def test_open_loop_over_capacity_counts_from_due_time(gunicorn_server: Start) -> None:
    server = gunicorn_server("basic:app", "--workers", "1", "--threads", "2")
    # 2 connections × 50 ms cannot carry 200/s: requests queue, and the run says so.
    result = run_load(spec(server.url, requests=(Request("/slow"),), rate=200.0, concurrency=2))
    assert result.errors == 0, server.log()
    assert result.rate_missed
    assert result.late_fraction > 0.05
    assert result.latency_ms.max > result.latency_ms.p50 > 0


def test_server_errors_are_counted(gunicorn_server: Start) -> None:
    server = gunicorn_server("basic:app", "--workers", "1", "--threads", "2")
    result = run_load(spec(server.url, requests=(Request("/500"),)))
    assert result.requests > 0 and result.ok == 0
    assert result.errors_by_kind["http_5xx"] == result.requests == result.errors
    assert result.status_counts == {"500": result.requests}
    assert result.latency_ms.p50 == 0  # errors stay out of the latency figures


def test_weighted_mix_is_sent_in_proportion(gunicorn_server: Start) -> None:
    server = gunicorn_server("basic:app", "--workers", "1", "--threads", "4")
    mix = (Request("/a", weight=3), Request("/b", weight=1), Request("/c", weight=0))
    result = run_load(spec(server.url, requests=mix, warmup_s=0, duration_s=30, max_requests=400))
    assert result.status_counts == {"200": 300, "201": 100}


def test_max_requests_bounds_the_run(gunicorn_server: Start) -> None:
    server = gunicorn_server("basic:app", "--workers", "1")
    result = run_load(spec(server.url, warmup_s=0, duration_s=30, max_requests=50))
    assert result.requests == 50
    assert result.duration_s < 30


def test_stop_event_ends_the_run(gunicorn_server: Start) -> None:
    server = gunicorn_server("basic:app", "--workers", "1", "--threads", "2")
    stop = threading.Event()

    def on_tick(tick: Tick) -> None:
        if tick.t >= 0.5:
            stop.set()

    result = run_load(spec(server.url, duration_s=30), on_tick=on_tick, stop=stop)
    assert result.errors == 0
    assert 0 < result.duration_s < 30


def test_runs_from_a_worker_thread(gunicorn_server: Start) -> None:
    server = gunicorn_server("basic:app", "--workers", "1", "--threads", "2")
    results: list[LoadResult] = []
    thread = threading.Thread(target=lambda: results.append(run_load(spec(server.url))))
    thread.start()
    thread.join(30)
    assert results and results[0].ok > 0 and results[0].errors == 0


@pytest.mark.parametrize("rate", [None, 100.0])
def test_refused_connections_are_counted_and_the_run_ends(rate: float | None) -> None:
    fds = open_fds()
    result = run_load(spec(f"http://127.0.0.1:{free_port()}", rate=rate))
    assert result.requests > 0 and result.ok == 0
    assert result.errors_by_kind["connect"] == result.requests
    assert open_fds() == fds


# -- misbehaving servers: raw sockets in a thread ----------------------------------------


@contextlib.contextmanager
def raw_server(handle: Callable[[socket.socket], None]) -> Iterator[str]:
    """Accept on loopback and pass each connection to `handle`, until the block ends."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    done = threading.Event()
    kept: list[socket.socket] = []

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            kept.append(conn)
            with contextlib.suppress(OSError):
                handle(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        done.set()
        thread.join(5)
        listener.close()
        for conn in kept:
            conn.close()


def reset(conn: socket.socket) -> None:
    conn.settimeout(1)
    conn.recv(4096)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()  # RST


def garbage(conn: socket.socket) -> None:
    conn.settimeout(1)
    conn.recv(4096)
    conn.sendall(b"NOT HTTP AT ALL\r\n\r\n")


def silent(conn: socket.socket) -> None:
    pass  # accept, read nothing, answer nothing


def test_resets_are_counted() -> None:
    with raw_server(reset) as url:
        result = run_load(spec(url, concurrency=2, duration_s=0.5))
    assert result.requests > 0
    assert result.errors_by_kind["reset"] == result.requests


def test_unparsable_answers_are_protocol_errors() -> None:
    with raw_server(garbage) as url:
        result = run_load(spec(url, concurrency=2, duration_s=0.5))
    assert result.requests > 0
    assert result.errors_by_kind["protocol"] == result.requests


@pytest.mark.parametrize("rate", [None, 20.0])
def test_no_answer_is_a_timeout(rate: float | None) -> None:
    fds = open_fds()
    with raw_server(silent) as url:
        result = run_load(spec(url, concurrency=2, rate=rate, timeout_s=0.2, warmup_s=0))
    assert result.requests > 0
    assert result.errors_by_kind["timeout"] == result.requests
    assert open_fds() == fds
