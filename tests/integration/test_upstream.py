"""--upstream's proxy in front of a real PostgreSQL: results intact, every round trip delayed,
nothing left running. Timings are bounded from below only (a proxy cannot deliver early)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import APPS_DIR
from tunicorn.run.upstream import Upstreams, parse_spec

pytestmark = pytest.mark.integration

ADDED_MS = 50.0
QUERIES = 5


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_proxy_delays_real_queries_and_passes_them_intact(postgres: str, tmp_path: Path) -> None:
    import psycopg

    env = {"DATABASE_URL": postgres}
    with Upstreams([parse_spec(f"DATABASE_URL=+{ADDED_MS:g}ms")], env=env, log_dir=tmp_path) as up:
        rewritten = up.env["DATABASE_URL"]
        assert rewritten != postgres and "@127.0.0.1:" in rewritten
        assert rewritten.rsplit("/", 1)[1] == postgres.rsplit("/", 1)[1]  # same database
        assert up.proc is not None
        pid = up.proc.pid
        dsn = rewritten.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn, connect_timeout=10) as conn:
            started = time.monotonic()
            for i in range(QUERIES):
                # A result larger than one TCP segment: it must arrive whole and in order.
                n, text = conn.execute("SELECT %s::int * 2, repeat('ab', 50000)", (i,)).fetchone()
                assert n == 2 * i and text == "ab" * 50000
            elapsed_ms = (time.monotonic() - started) * 1000
    # Each query is one round trip at least: the proxy cannot make it faster than added.
    assert elapsed_ms >= 0.5 * QUERIES * ADDED_MS, elapsed_ms
    (added,) = up.records()
    assert added.variable == "DATABASE_URL" and added.added_ms == ADDED_MS
    assert added.connections == 1 and added.chunks >= 2 * QUERIES
    assert not _alive(pid), "the proxy outlived its stop"


def test_bounded_connections(postgres: str, tmp_path: Path) -> None:
    """Past its bound the proxy turns a connection away (the driver sees it closed) and counts
    it; the connections it holds keep working."""
    import psycopg

    env = {"DATABASE_URL": postgres}
    spec = parse_spec("DATABASE_URL=+1ms")
    with Upstreams([spec], env=env, log_dir=tmp_path, max_connections=1) as up:
        dsn = up.env["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn, connect_timeout=10) as first:
            with pytest.raises(psycopg.OperationalError):
                psycopg.connect(dsn, connect_timeout=10)
            assert first.execute("SELECT 41 + 1").fetchone() == (42,)
    (added,) = up.records()
    assert added.connections == 1 and added.refused >= 1


def test_libpq_through_the_pool_app_is_delayed_too(postgres: str, tmp_path: Path) -> None:
    """A server started by tunicorn gets the rewritten variable (bench --upstream): the app's
    queries go through the proxy, and the record says so."""
    import json

    out_json = tmp_path / "bench.json"
    argv = [sys.executable, "-m", "tunicorn", "bench", "pool_app:app", "--path", "/query",
            "--concurrency", "2", "--duration", "2", "--warmup", "0.5",
            "--upstream", "TUNICORN_TEST_DB=+20ms", "--json", str(out_json),
            "--log-dir", str(tmp_path)]  # fmt: skip
    env = {**os.environ, "TUNICORN_TEST_DB": postgres, "PYTHONPATH": str(APPS_DIR)}
    done = subprocess.run(argv, cwd=APPS_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads(out_json.read_text())
    (added,) = data["upstream"]
    assert added["variable"] == "TUNICORN_TEST_DB" and added["added_ms"] == 20.0
    assert added["connections"] >= 1, added
    # 30 ms in the database plus at least one 20 ms round trip: p50 cannot be under 40 ms.
    assert data["latency_ms"]["p50"] >= 40.0, data["latency_ms"]
    assert "+20 ms per round trip" in done.stdout
    # Stopped with everything else: nothing listens on the proxy's port any more.
    import socket

    port = int(added["listen"].rsplit(":", 1)[1])
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_bad_upstream_exits_2_before_anything_starts(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NOT_SET_ANYWHERE"}
    done = subprocess.run(
        [sys.executable, "-m", "tunicorn", "bench", "basic:app", "--upstream",
         "NOT_SET_ANYWHERE=+2ms", "--duration", "1"],
        cwd=APPS_DIR, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "NOT_SET_ANYWHERE is not set" in done.stderr and "Traceback" not in done.stderr
