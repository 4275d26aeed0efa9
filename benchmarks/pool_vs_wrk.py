"""Does tune's capacity agree with an independent client, under both client models?

    python benchmarks/pool_vs_wrk.py [--app db|sem] [--configs 3x6,8x4,4x1-gevent]
                                     [--models close,keepalive] [--clients 4,8,...,64]
                                     [--repeat 1] [--seconds 3] [--slo-p95 100]

The app (db: the zoo's database app, benchmarks/zoo/zoo_db.py, SQLAlchemy's pool of 4 per
process over a PostgreSQL this script starts on 127.0.0.1; sem: tests/apps/pool_sem.py, a
per-process pool of 4 slots held 50 ms, no database) under gunicorn pinned to the last core,
for each configuration and each client model (close: a new connection per request, wrk with
`-H 'Connection: close'`; keepalive: kept-alive connections, plain wrk):

1. tune's capacity: one trial exactly as `tunicorn tune` measures it under that model
   (`measure.TrialMeter`: a saturating closed loop, then the closed-loop ladder, p95 within
   the SLO); under keepalive, where gunicorn's accept race deals the connections
   (`deal.dealt_by_race`), its capacity's closed loop dealt again three times (`deal`): the low
   end is what a front end can count on;
2. the same ladder of connection counts (4, 8, 12, 16, 20, 24, 32, 48, 64: fine enough that the
   knee is not skipped over) on one server, each rung run by wrk and by our engine in turn,
   both pinned to the other cores, `--repeat` times (alternating which goes first): each rung's
   req/s and p90, and the best req/s whose p90 stays within the SLO (wrk reports p90, not p95,
   so this is the more lenient of the two).

Prints one table per model: tune's capacity, wrk's best, our engine's best on the same ladder,
and the ratios; then the rungs side by side (engine / wrk, min–max over the repeats, and
whether they agree: the median ratio within 15%, or else the two ranges overlapping — the
issue's goal, since under kept-alive connections each run is one hand of the accept race).
Everything runs on loopback and every server and database is stopped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE.parent))

from tunicorn.app.target import Target  # noqa: E402
from tunicorn.launch import Server  # noqa: E402
from tunicorn.load import LoadSpec, Request, run_load  # noqa: E402
from tunicorn.record import ServerConfig, Trial  # noqa: E402
from tunicorn.run.deal import deal, dealt_by_race  # noqa: E402
from tunicorn.run.measure import TrialMeter, TrialPlan, pinned, split_cores  # noqa: E402

CLIENTS = (4, 8, 12, 16, 20, 24, 32, 48, 64)
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
MODELS = ("close", "keepalive")


def parse_config(text: str) -> ServerConfig:
    """ "3x6" (sync, so gthread where threads > 1) or "4x1-gevent"."""
    shape, _, klass = text.partition("-")
    workers, _, threads = shape.partition("x")
    return ServerConfig(int(workers), int(threads or 1), klass or "sync").effective()


def wrk_run(
    url: str, clients: int, seconds: float, cores: tuple[int, ...], *, close: bool
) -> tuple[float, float]:
    """(req/s, p90 ms) of one wrk run; `close`: a new connection per request."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    argv = [wrk, "-t", "1", "-c", str(clients), "-d", f"{seconds:g}s", "--latency",
            *(["-H", "Connection: close"] if close else []), url]  # fmt: skip
    out = subprocess.run(
        argv, capture_output=True, text=True, check=True, timeout=seconds + 30,
        preexec_fn=(lambda: os.sched_setaffinity(0, cores)) if cores else None,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    found = re.search(r"90%\s+([\d.]+)(us|ms|s)", out)
    p90 = float(found.group(1)) * UNIT_MS[found.group(2)] if found else float("inf")
    timeouts = re.search(r"Socket errors: .*timeout (\d+)", out)
    if "Non-2xx or 3xx responses" in out or (timeouts and int(timeouts.group(1))):
        return 0.0, float("inf")  # an error is no capacity, as for the tuner
    return rps, p90


def engine_run(
    base: str, path: str, clients: int, seconds: float, cores: tuple[int, ...], *, close: bool
) -> tuple[float, float]:
    """(req/s, p90 ms) of one closed loop of our engine at `clients`, fresh connections."""
    with pinned(cores):
        run = run_load(
            LoadSpec(
                url=base,
                requests=(Request(path=path),),
                concurrency=clients,
                duration_s=seconds,
                warmup_s=0.3,
                keepalive=not close,
            )  # fmt: skip
        )
    if run.errors or not run.requests:
        return 0.0, float("inf")
    return run.throughput_rps, run.latency_ms.p90


def best(ladder: dict[int, list[float]], p90s: dict[int, list[float]], slo: float) -> str:
    """The best median req/s over the rungs whose median p90 is within `slo`."""
    within = [
        (statistics.median(ladder[c]), c)
        for c in ladder
        if ladder[c] and statistics.median(p90s[c]) <= slo
    ]
    if not within:
        return "—"
    rps, c = max(within)
    return f"{rps:.1f} at {c}"


def figure(text: str) -> float:
    return float(text.split()[0]) if text != "—" else 0.0


@contextlib.contextmanager
def app_env(name: str) -> Iterator[tuple[Target, str]]:
    """The app's target and path; the database app gets its PostgreSQL for the duration."""
    if name == "sem":
        yield Target(kind="app", app="pool_sem:app", chdir=str(HERE.parent / "tests" / "apps"),
                     label="sem"), "/work"  # fmt: skip
        return
    from tests.postgres import Postgres

    os.environ.update({"POOL_SIZE": "4", "MAX_OVERFLOW": "0"})
    with Postgres() as pg:
        os.environ["TUNICORN_TEST_DB"] = pg.url
        yield Target(kind="app", app="zoo_db:app", chdir=str(HERE / "zoo"), label="db"), "/work"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--app", choices=("db", "sem"), default="db")
    p.add_argument("--configs", default="3x6,8x4,4x1-gevent", help="e.g. 3x6,4x1-gevent")
    p.add_argument("--models", default="close,keepalive", help="close, keepalive or both")
    p.add_argument("--clients", default=",".join(map(str, CLIENTS)), help="the ladder")
    p.add_argument("--repeat", type=int, default=1, help="runs of each rung per client")
    p.add_argument("--deals", type=int, default=3, help="keepalive: hands of tune's capacity")
    p.add_argument("--slo-p95", type=float, default=100.0, help="the latency target, ms")
    p.add_argument("--seconds", type=float, default=3.0, help="each rung's run")
    p.add_argument("--log-dir", default="/tmp/tunicorn-pool-vs-wrk")
    args = p.parse_args()
    args.seconds = max(1, round(args.seconds))  # wrk takes whole seconds: both clients alike
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not set(models) <= set(MODELS):
        raise SystemExit(f"--models takes close and/or keepalive, not {args.models!r}")
    ladder_clients = tuple(int(c) for c in args.clients.split(","))
    cores = split_cores(1)
    rows: list[tuple[str, str, Trial, str, str, str]] = []
    rungs: list[tuple[str, str, int, list[float], list[float], list[float], list[float]]] = []
    with app_env(args.app) as (target, path):
        for model in models:
            close = model == "close"
            plan = TrialPlan(
                target=target, requests=(Request(path=path),), cores=cores,
                slo_p95_ms=args.slo_p95, budget_mib=1e9, gevent_clients=64, single_ms=33.0,
                warmup_s=0.5, saturate_s=2.0, verify_s=2.0, keepalive=not close,
                log_dir=args.log_dir,
            )  # fmt: skip
            meter = TrialMeter(plan)
            for text in args.configs.split(","):
                config = parse_config(text.strip())
                trial = meter(config, "cross-check", 0.0)
                dealt = "—"
                if not close and trial.feasible and dealt_by_race(config, True):
                    clients = trial.capacity_clients or 1
                    hands = deal(plan, trial.config, clients, args.deals)
                    dealt = (
                        f"{hands.low_rps:.0f} / {hands.median_rps:.0f} / {hands.high_rps:.0f} "
                        f"at {clients} ({hands.seconds:.0f} s)"
                    )
                wrk_rps: dict[int, list[float]] = {c: [] for c in ladder_clients}
                wrk_p90: dict[int, list[float]] = {c: [] for c in ladder_clients}
                eng_rps: dict[int, list[float]] = {c: [] for c in ladder_clients}
                eng_p90: dict[int, list[float]] = {c: [] for c in ladder_clients}
                with Server(target, config, cpus=cores.server, log_dir=args.log_dir) as server:
                    for c in ladder_clients:
                        for i in range(args.repeat):
                            order = ("wrk", "engine") if i % 2 == 0 else ("engine", "wrk")
                            for client in order:
                                if client == "wrk":
                                    rps, p90 = wrk_run(server.url + path, c, args.seconds,
                                                       cores.client, close=close)  # fmt: skip
                                    wrk_rps[c].append(rps)
                                    wrk_p90[c].append(p90)
                                else:
                                    rps, p90 = engine_run(server.url, path, c, args.seconds,
                                                          cores.client, close=close)  # fmt: skip
                                    eng_rps[c].append(rps)
                                    eng_p90[c].append(p90)
                                print(f"  {model} {config.label} -c {c} {client}: {rps:.1f} "
                                      f"req/s, p90 {p90:.1f} ms", file=sys.stderr)  # fmt: skip
                        rungs.append((model, config.label, c, wrk_rps[c], wrk_p90[c],
                                      eng_rps[c], eng_p90[c]))  # fmt: skip
                rows.append((
                    model, config.label, trial, dealt,
                    best(wrk_rps, wrk_p90, args.slo_p95), best(eng_rps, eng_p90, args.slo_p95),
                ))  # fmt: skip
    for model in models:
        what = "a new connection per request" if model == "close" else "kept-alive connections"
        print(f"\n**{model}** ({what})\n")
        print(f"| configuration | tune's capacity (p95 ≤ {args.slo_p95:g} ms) | kept-alive hands "
              f"low / median / high | wrk best (p90 ≤ {args.slo_p95:g} ms) | engine best, same "
              "ladder | tune / wrk | engine / wrk |")  # fmt: skip
        print("|---|---:|---|---:|---:|---:|---:|")
        for m, label, trial, dealt, wrk_best, eng_best in rows:
            if m != model:
                continue
            cap = f"{trial.capacity_rps:.1f}" if trial.feasible else f"— ({trial.reason})"
            w = figure(wrk_best)
            tune_share = f"{trial.capacity_rps / w:.2f}" if w and trial.feasible else "—"
            eng_share = f"{figure(eng_best) / w:.2f}" if w and eng_best != "—" else "—"
            print(f"| {label} | {cap} | {dealt} | {wrk_best} | {eng_best} | {tune_share} | "
                  f"{eng_share} |")  # fmt: skip
    print("\n| model | configuration | clients | wrk req/s (p90 ms) | engine req/s (p90 ms) | "
          "engine / wrk, min–max | within 15%, or the same spread |")  # fmt: skip
    print("|---|---|---:|---|---|---|---|")
    for model, label, c, w_rps, w_p90, e_rps, e_p90 in rungs:
        ratios = sorted(e / w for e, w in zip(e_rps, w_rps, strict=True) if w > 0)
        span = f"{ratios[0]:.2f}–{ratios[-1]:.2f}" if ratios else "—"
        close_enough = bool(ratios) and 0.85 <= statistics.median(ratios) <= 1.15
        overlap = bool(w_rps and e_rps) and min(e_rps) <= max(w_rps) and min(w_rps) <= max(e_rps)
        agree = "yes" if close_enough else ("same spread" if overlap else "**NO**")
        print(f"| {model} | {label} | {c} | "
              f"{' '.join(f'{r:.0f} ({q:.0f})' for r, q in zip(w_rps, w_p90, strict=True))} | "
              f"{' '.join(f'{r:.0f} ({q:.0f})' for r, q in zip(e_rps, e_p90, strict=True))} | "
              f"{span} | {agree} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
