"""The built-in engine and Locust (1 and 2 workers) side by side, on one server at one rate.

    python benchmarks/engine_vs_locust.py [--rate 400] [--users 16] [--duration 5] [--rounds 2]

One gunicorn gthread hello server runs on core 1 for the whole run; each client in turn runs
on core 0 (both Locust workers too), rounds alternating the order so that drift on a shared
machine hits all alike. The load is the same offered rate: the built-in engine's open loop
(`--rate`) and Locust users with `constant_throughput(rate / users)`, both keeping their
connections alive; Locust as HttpUser (requests) and as FastHttpUser (geventhttpclient).
Locust's response times include its own client work (building and parsing each request in
Python) and its greenlets' wait for the CPU, so on a busy client core they run above the
built-in engine's. Each is a real `tunicorn bench URL` run, read from its JSON: throughput,
p50 and p95, and client CPU per request over the measured window (Locust's: its workers' and
its master's). Goals from issue 13: throughput within 3% and p50/p95 within 10% of the
built-in engine's, where Locust's bucketing of response times allows. Results go to
benchmarks/results/ as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from engine_vs_wrk import free_port, start_server, stop  # noqa: E402

ROOT = HERE.parent
RESULTS = HERE / "results"
SERVER_CORE, CLIENT_CORE = 1, 0

LOCUSTFILE = """
from locust import {base}, constant_throughput, task


class Steady({base}):
    wait_time = constant_throughput({per_user})

    @task
    def index(self):
        self.client.get("/")
"""


def bench(url: str, args: list[str], core: int | None, out: Path) -> dict[str, Any]:
    path = os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])
    env = dict(os.environ, PYTHONPATH=path)
    cmd = [sys.executable, "-m", "tunicorn", "bench", url, *args, "--json", str(out)]
    pin = (lambda: os.sched_setaffinity(0, {core})) if core is not None else None
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=180, preexec_fn=pin)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    return json.loads(out.read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rate", type=float, default=400.0)
    ap.add_argument("--users", type=int, default=16)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=4, help="gunicorn gthread threads")
    ap.add_argument("--users-class", default="http,fast",
                    help="Locust user classes: http (HttpUser), fast (FastHttpUser)")
    args = ap.parse_args()
    cores = sorted(os.sched_getaffinity(0))
    pin = {CLIENT_CORE, SERVER_CORE} <= set(cores)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    work = Path(tempfile.mkdtemp(prefix="engine-vs-locust-"))
    common = ["--duration", f"{args.duration:g}", "--warmup", "1", "--keep-alive"]
    clients = {"builtin": ["--rate", f"{args.rate:g}", "--concurrency", str(args.users)]}
    for kind in args.users_class.split(","):
        base = {"http": "HttpUser", "fast": "FastHttpUser"}[kind]
        locustfile = work / f"steady_{kind}.py"
        locustfile.write_text(LOCUSTFILE.format(per_user=args.rate / args.users, base=base))
        for n in (1, 2):
            clients[f"{kind}-{n}"] = ["--locustfile", str(locustfile), "-c", str(args.users),
                                      "--load-processes", str(n)]  # fmt: skip
    server = start_server(port, args.threads, SERVER_CORE if pin else None, work / "server.log")
    runs: list[dict[str, Any]] = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    try:
        for rnd in range(args.rounds):
            names = list(clients) if rnd % 2 == 0 else list(reversed(clients))
            for name in names:
                r = bench(url, common + clients[name], CLIENT_CORE if pin else None,
                          work / f"{name}-{rnd}.json")  # fmt: skip
                row = {
                    "client": name, "round": rnd, "throughput_rps": r["throughput_rps"],
                    "p50_ms": r["latency_ms"]["p50"], "p95_ms": r["latency_ms"]["p95"],
                    "errors": r["errors"], "cpu_ms_per_request": r["client"]["cpu_ms_per_request"],
                    "busy": r["client"]["busy_fraction"], "requests": r["requests"],
                }  # fmt: skip
                runs.append(row)
                print(
                    f"round {rnd} {name:9} {row['throughput_rps']:8.1f} req/s  p50 "
                    f"{row['p50_ms']:6.2f}  p95 {row['p95_ms']:6.2f} ms  "
                    f"{row['cpu_ms_per_request']:.3f} ms CPU/req  errors {row['errors']}"
                )
    finally:
        stop(server)
    summary = {}
    for name in clients:
        mine = [r for r in runs if r["client"] == name]
        summary[name] = {
            key: round(statistics.median(r[key] for r in mine), 4)
            for key in ("throughput_rps", "p50_ms", "p95_ms", "cpu_ms_per_request")
        }
    base = summary["builtin"]
    print(f"\n{'':10}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'CPU ms/req':>12}   vs builtin")
    for name, s in summary.items():
        vs = (
            f"req/s {s['throughput_rps'] / base['throughput_rps']:.3f}  "
            f"p50 {s['p50_ms'] / base['p50_ms']:.2f}  p95 {s['p95_ms'] / base['p95_ms']:.2f}  "
            f"CPU {s['cpu_ms_per_request'] / base['cpu_ms_per_request']:.1f}×"
        )
        print(
            f"{name:10}{s['throughput_rps']:9.1f}{s['p50_ms']:9.2f}{s['p95_ms']:9.2f}"
            f"{s['cpu_ms_per_request']:12.3f}   {vs}"
        )
    print("(medians over rounds; Locust's CPU is its workers' and master's)")
    data = {
        "when": stamp, "rate": args.rate, "users": args.users, "duration_s": args.duration,
        "rounds": args.rounds, "server": f"gunicorn gthread 1x{args.threads}", "pinned": pin,
        "loadavg": os.getloadavg(), "summary": summary, "runs": runs,
    }  # fmt: skip
    path = RESULTS / f"engine_vs_locust-{stamp}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
