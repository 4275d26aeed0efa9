"""Kept-alive connections: how gunicorn's workers share them, with wrk and our engine side by side.

    python benchmarks/keepalive_balance.py [--configs 4x1-gevent,2x4-gthread] [--clients 32]
                                           [--seconds 5] [--rounds 3]
                                           [--variants "plain;--reuse-port;--worker-connections 8"]

One plain gunicorn per configuration and variant (gunicorn's own options against the
imbalance, `;`-separated: `--reuse-port` has each worker bind its own socket, so the kernel
deals connections by their address hash instead of a race, which is why this script launches
gunicorn itself: tunicorn's launch hands it one inherited fd; `--worker-connections N` stops a
worker accepting once it holds N; `--keep-alive 0` closes each connection) on core 1, serving
tests/apps/pool_sem.py (a per-process pool of 4 slots held 50 ms each: 80 req/s per worker at
most, so where the connections land decides the capacity). Each round, on core 0, wrk with
kept-alive connections (`wrk -c N`), then our engine with `keepalive=True`, both at N
connections; halfway through each run the server's established connections are counted per
worker (`tunicorn.run.balance`). Rounds alternate the clients so drift hits both alike.

Prints one row per run: req/s, p90, the connections per worker and the busiest worker's share
over an even one (1.0: even). Figures from a shared machine are indicative; the spread across
rounds is the finding. Everything runs on loopback and every server is stopped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))

from tunicorn.load import LoadSpec, Request, run_load  # noqa: E402
from tunicorn.run.balance import ConnectionCounter, imbalance  # noqa: E402

SERVER_CORE = 1
CLIENT_CORE = 0
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def gunicorn(
    config: str,
    port: int,
    *,
    extra: list[str],
    log: Path,
    app: str = "pool_sem:app",
    chdir: Path = ROOT / "tests" / "apps",
) -> Iterator[subprocess.Popen[bytes]]:
    """A plain gunicorn on `port` for `config` ("4x1-gevent"), pinned to SERVER_CORE."""
    shape, _, klass = config.partition("-")
    workers, _, threads = shape.partition("x")
    cmd = [
        sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
        "--chdir", str(chdir), "--workers", workers, "--threads", threads,
        "--worker-class", klass or "sync", "--log-level", "warning", "--graceful-timeout", "2",
        *extra, app,
    ]  # fmt: skip
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=lambda: os.sched_setaffinity(0, {SERVER_CORE}),
        )  # fmt: skip
    try:
        ready(proc, port, log)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def ready(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{log.read_text()}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            conn.request("GET", "/")
            conn.getresponse().read()
            time.sleep(0.5)  # every worker booted, not only the first
            return
        except OSError:
            time.sleep(0.05)
        finally:
            conn.close()
    raise SystemExit(f"gunicorn not ready:\n{log.read_text()}")


def wrk(url: str, clients: int, seconds: float, *, close: bool = False) -> tuple[float, float]:
    """(req/s, p90 ms) of one wrk run on CLIENT_CORE; `close` sends `Connection: close`."""
    binary = shutil.which("wrk")
    if binary is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    argv = [binary, "-t", "1", "-c", str(clients), "-d", f"{seconds:g}s", "--latency",
            *(["-H", "Connection: close"] if close else []), url]  # fmt: skip
    out = subprocess.run(
        argv, capture_output=True, text=True, check=True, timeout=seconds + 30,
        preexec_fn=lambda: os.sched_setaffinity(0, {CLIENT_CORE}),
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"90%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return rps, float(value) * UNIT_MS[unit]


def engine(
    url: str, clients: int, seconds: float, *, keepalive: bool = True
) -> tuple[float, float]:
    """(req/s, p90 ms) of one closed loop of our engine on CLIENT_CORE, no warm-up (as wrk)."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {CLIENT_CORE})
    try:
        base = url.rsplit("/", 1)[0]
        spec = LoadSpec(url=base, requests=(Request(path="/work"),), concurrency=clients,
                        duration_s=seconds, warmup_s=0.0, keepalive=keepalive)  # fmt: skip
        result = run_load(spec)
    finally:
        os.sched_setaffinity(0, before)
    return result.throughput_rps, result.latency_ms.p90


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--configs", default="4x1-gevent,2x4-gthread")
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--variants", default="plain;--reuse-port", help="gunicorn options, ;-separated")
    p.add_argument("--app", default="pool_sem:app", help="module:app, e.g. zoo_fastpage:app")
    p.add_argument("--chdir", default=str(ROOT / "tests" / "apps"), help="the app's folder")
    p.add_argument("--log", default="/tmp/tunicorn-keepalive-balance.log")
    args = p.parse_args()
    args.seconds = max(1, round(args.seconds))  # wrk takes whole seconds: both clients alike
    variants = [v.strip() for v in args.variants.split(";") if v.strip()]
    log = Path(args.log)
    rows: list[tuple[str, str, str, float, float, tuple[int, ...]]] = []
    for config in args.configs.split(","):
        for variant in variants:
            port = free_port()
            url = f"http://127.0.0.1:{port}/work"
            extra = [] if variant == "plain" else variant.split()
            with gunicorn(
                config.strip(), port, extra=extra, log=log, app=args.app, chdir=Path(args.chdir)
            ) as proc:
                for i in range(args.rounds):
                    order = ("wrk", "engine") if i % 2 == 0 else ("engine", "wrk")
                    for client in order:
                        counter = ConnectionCounter(proc.pid, port, args.seconds / 2).start()
                        if client == "wrk":
                            rps, p90 = wrk(url, args.clients, args.seconds)
                        else:
                            rps, p90 = engine(url, args.clients, args.seconds)
                        counts = counter.result()
                        rows.append((config, variant, client, rps, p90, counts))
                        print(f"  {config} {variant} {client}: {rps:.1f} req/s, "
                              f"p90 {p90:.0f} ms, connections per worker {counts}",
                              file=sys.stderr)  # fmt: skip
                        time.sleep(0.5)  # the last run's connections close before the next
    print(f"\n| configuration | gunicorn options | client | req/s | p90 ms | connections per "
          f"worker (at {args.clients}) | busiest / even |")  # fmt: skip
    print("|---|---|---|---:|---:|---|---:|")
    for config, variant, client, rps, p90, counts in rows:
        print(f"| {config} | {variant} | {client} | {rps:.1f} | {p90:.0f} | "
              f"{' / '.join(map(str, counts))} | {imbalance(counts):.2f} |")  # fmt: skip
    print("\n| configuration | gunicorn options | client | req/s min / median / max |")
    print("|---|---|---|---|")
    seen = dict.fromkeys((c, r, k) for c, r, k, *_ in rows)
    for key in seen:
        figures = sorted(row[3] for row in rows if row[:3] == key)
        print(f"| {key[0]} | {key[1]} | {key[2]} | {figures[0]:.0f} / "
              f"{statistics.median(figures):.0f} / {figures[-1]:.0f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
