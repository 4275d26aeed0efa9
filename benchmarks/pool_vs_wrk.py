"""Does tune's capacity agree with an independent client? The pool app, measured both ways.

    python benchmarks/pool_vs_wrk.py [--configs 3x6,8x4] [--slo-p95 100]

The zoo's database app (benchmarks/zoo/zoo_db.py: SQLAlchemy's pool of 4 per process over a
PostgreSQL this script starts on 127.0.0.1) under gunicorn pinned to the last core, for each
configuration:

1. tune's capacity: one trial exactly as `tunicorn tune` measures it (`measure.TrialMeter`:
   a saturating closed loop, then the closed-loop ladder, p95 within the SLO);
2. wrk, pinned to the other cores, each request on a new connection (`Connection: close`, the
   tuner's own client model), at 4, 8, 12, 16, 20, 24, 32, 48 and 64 connections (steps fine
   enough that the knee is not skipped over): the best req/s whose p90 stays within the SLO (wrk reports p90, not p95, so this is the more lenient of the two).

Prints one row per configuration and the ratio; the issue's goal is within 15%. Everything
runs on loopback and every server and database is stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE.parent))

from tests.postgres import Postgres  # noqa: E402
from tunicorn.launch import Server  # noqa: E402
from tunicorn.load import Request  # noqa: E402
from tunicorn.measure import TrialMeter, TrialPlan, split_cores  # noqa: E402
from tunicorn.record import ServerConfig  # noqa: E402
from tunicorn.target import Target  # noqa: E402

CLIENTS = (4, 8, 12, 16, 20, 24, 32, 48, 64)
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_config(text: str) -> ServerConfig:
    workers, _, threads = text.partition("x")
    return ServerConfig(int(workers), int(threads), "sync").effective()


def wrk_run(url: str, clients: int, seconds: float, cores: tuple[int, ...]) -> tuple[float, float]:
    """(req/s, p90 ms) of one wrk run with a new connection per request."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    argv = [wrk, "-t", "1", "-c", str(clients), "-d", f"{seconds:g}s", "--latency",
            "-H", "Connection: close", url]  # fmt: skip
    out = subprocess.run(
        argv, capture_output=True, text=True, check=True, timeout=seconds + 30,
        preexec_fn=(lambda: os.sched_setaffinity(0, cores)) if cores else None,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"90%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return rps, float(value) * UNIT_MS[unit]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--configs", default="3x6,8x4", help="workers x threads, comma-separated")
    p.add_argument("--slo-p95", type=float, default=100.0, help="the latency target, ms")
    p.add_argument("--seconds", type=float, default=3.0, help="each wrk run")
    p.add_argument("--log-dir", default="/tmp/tunicorn-pool-vs-wrk")
    args = p.parse_args()
    cores = split_cores(1)
    target = Target(kind="app", app="zoo_db:app", chdir=str(HERE / "zoo"), label="db")
    requests = (Request(path="/work"),)
    os.environ.update({"POOL_SIZE": "4", "MAX_OVERFLOW": "0"})
    rows = []
    with Postgres() as pg:
        os.environ["TUNICORN_TEST_DB"] = pg.url
        plan = TrialPlan(
            target=target, requests=requests, cores=cores, slo_p95_ms=args.slo_p95,
            budget_mib=1e9, gevent_clients=64, single_ms=33.0, warmup_s=0.5, saturate_s=2.0,
            verify_s=2.0, log_dir=args.log_dir,
        )  # fmt: skip
        meter = TrialMeter(plan)
        for text in args.configs.split(","):
            config = parse_config(text.strip())
            trial = meter(config, "cross-check", 0.0)
            ladder = []
            with Server(target, config, cpus=cores.server, log_dir=args.log_dir) as server:
                for clients in CLIENTS:
                    rps, p90 = wrk_run(server.url + "/work", clients, args.seconds, cores.client)
                    ladder.append((clients, rps, p90))
                    print(f"  {config.label}: wrk -c {clients}: {rps:.1f} req/s, p90 {p90:.1f} ms",
                          file=sys.stderr)  # fmt: skip
            within = [row for row in ladder if row[2] <= args.slo_p95]
            best = max(within, key=lambda row: row[1]) if within else None
            rows.append((config, trial, best, ladder))
    print(f"\n| configuration | tune's capacity (p95 ≤ {args.slo_p95:g} ms) | wrk best within "
          f"p90 ≤ {args.slo_p95:g} ms | tune / wrk |")  # fmt: skip
    print("|---|---:|---:|---:|")
    for config, trial, best, _ in rows:
        cap = f"{trial.capacity_rps:.1f}" if trial.feasible else f"— ({trial.reason})"
        wrk = f"{best[1]:.1f} at {best[0]} connections (p90 {best[2]:.0f} ms)" if best else "—"
        share = f"{trial.capacity_rps / best[1]:.2f}" if best and trial.feasible else "—"
        print(f"| {config.label} | {cap} | {wrk} | {share} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
