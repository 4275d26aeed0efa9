"""Our load engine side by side with wrk against one gunicorn gthread hello server.

    python benchmarks/engine_vs_wrk.py [--concurrency 16] [--duration 5] [--rounds 3]
                                       [--mode keep-alive|close|both]

The server runs on core 1, each client in turn on core 0, alternating rounds so that
drift on a shared machine hits both alike. Keep-alive reuses connections; close opens one
per request (ours with keep_alive off, wrk with -H 'Connection: close'). Client CPU is the
whole process's, start-up included, as /usr/bin/time counts it (RUSAGE_CHILDREN); ours is
also given over its measured window alone. Goals: throughput ours/wrk ≥ 0.97 (the engine
does not limit what it measures) and client CPU per request ≤ 1.5× wrk's with keep-alive.
Results go to benchmarks/results/ as JSON. Ratios, not absolute figures, are what carries over.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
APPS = Path(__file__).resolve().parent / "apps"
RESULTS = Path(__file__).resolve().parent / "results"
SERVER_CORE = 1
CLIENT_CORE = 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(core: int | None) -> Any:
    if core is None:
        return None
    return lambda: os.sched_setaffinity(0, {core})


def start_server(port: int, threads: int, core: int | None, log: Path) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--chdir", str(APPS),
        "--workers", "1", "--threads", str(threads), "--log-level", "warning", "hello:app",
    ]  # fmt: skip
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=pinned(core),
        )  # fmt: skip
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{log.read_text()}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            conn.request("GET", "/")
            conn.getresponse().read()
            return proc
        except OSError:
            time.sleep(0.05)
        finally:
            conn.close()
    stop(proc)
    raise SystemExit(f"gunicorn not ready:\n{log.read_text()}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


@dataclasses.dataclass
class Run:
    tool: str
    round: int
    requests: int
    seconds: float
    throughput_rps: float
    cpu_seconds: float  # client CPU (user + system) over the run
    cpu_ms_per_request: float
    p50_ms: float | None = None
    p99_ms: float | None = None
    errors: int = 0
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


_current: list[subprocess.Popen[bytes]] = []


def run_child(cmd: list[str], core: int | None, env: dict[str, str] | None = None) -> str:
    """Run one client to completion; the caller reads its CPU from RUSAGE_CHILDREN."""
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=pinned(core), env=env
    )
    _current.append(proc)
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        _current.remove(proc)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({proc.returncode}):\n{err.decode()}")
    return out.decode()


def ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, c: int, d: int, rnd: int, core: int | None, close: bool) -> Run:
    before = children_cpu()
    header = ["-H", "Connection: close"] if close else []
    out = run_child(["wrk", "-t1", f"-c{c}", f"-d{d}s", "--latency", *header, url], core)
    cpu = children_cpu() - before
    requests, seconds = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out).groups()[:2]  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    n = int(requests) - (int(errors.group(1)) if errors else 0)
    return Run(
        "wrk", rnd, n, float(seconds), rps, round(cpu, 4), round(cpu * 1000 / n, 4),
        ms(lat["50"]) if "50" in lat else None, ms(lat["99"]) if "99" in lat else None,
        int(errors.group(1)) if errors else 0,
        {"socket_errors": socket_errors.group(1) if socket_errors else ""},
    )  # fmt: skip


def run_ours(url: str, c: int, d: int, rnd: int, core: int | None, close: bool) -> Run:
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    )
    before = children_cpu()
    argv = [sys.executable, __file__, "--child", url, str(c), str(d), "close" if close else "ka"]
    out = run_child(argv, core, env)
    process_cpu = children_cpu() - before  # the whole interpreter, imports and start-up included
    r = json.loads(out)
    n = r["requests"]
    return Run(
        "ours", rnd, n, r["duration_s"], r["throughput_rps"],
        round(process_cpu, 4), round(process_cpu * 1000 / n, 4),
        r["latency_ms"]["p50"], r["latency_ms"]["p99"], sum(r["errors_by_kind"].values()),
        {"window_cpu_ms_per_request": r["client"]["cpu_ms_per_request"],
         "busy": r["client"]["busy_fraction"]},
    )  # fmt: skip


def child(url: str, c: int, d: int, mode: str) -> None:
    from tunicorn.load import LoadSpec, run_load
    from tunicorn.record import to_builtins

    spec = LoadSpec(url=url, concurrency=c, duration_s=d, warmup_s=0.0, keepalive=mode == "ka")
    result = run_load(spec)
    print(json.dumps(to_builtins(dataclasses.replace(result, timeline=(), histogram=""))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--concurrency", "-c", type=int, default=16)
    ap.add_argument("--duration", "-d", type=int, default=5)
    ap.add_argument("--rounds", "-r", type=int, default=3)
    ap.add_argument("--threads", type=int, default=4, help="gunicorn gthread threads")
    ap.add_argument("--mode", choices=("keep-alive", "close", "both"), default="both")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), int(args.child[2]), args.child[3])
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    cores = sorted(os.sched_getaffinity(0))
    pin = {CLIENT_CORE, SERVER_CORE} <= set(cores)
    note = "" if pin else f"only cores {cores}: not pinned, figures are rougher"
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    server = start_server(
        port, args.threads, SERVER_CORE if pin else None, RESULTS / f"server-{stamp}.log"
    )
    modes = ["keep-alive", "close"] if args.mode == "both" else [args.mode]
    runs: dict[str, list[Run]] = {m: [] for m in modes}
    try:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
        client_core = CLIENT_CORE if pin else None
        for rnd in range(args.rounds):
            for mode in modes:
                order = (run_wrk, run_ours) if rnd % 2 == 0 else (run_ours, run_wrk)
                for fn in order:
                    close = mode == "close"
                    run = fn(url, args.concurrency, args.duration, rnd, client_core, close)
                    runs[mode].append(run)
                    print(
                        f"round {rnd} {mode:10} {run.tool:4} {run.throughput_rps:9.0f} req/s  "
                        f"{run.cpu_ms_per_request:.4f} ms CPU/req  "
                        f"p50 {run.p50_ms} ms  errors {run.errors}"
                    )
    finally:
        for proc in list(_current):
            proc.kill()
        stop(server)
    summaries = {mode: summarise(r) for mode, r in runs.items()}
    for mode, summary in summaries.items():
        goal = "≤ 1.5" if mode == "keep-alive" else ""
        print(f"\n{mode:14}{'wrk':>12}{'ours':>12}{'ours/wrk':>10}  goal")
        print(f"{'req/s':14}{summary['wrk_rps']:12.0f}{summary['ours_rps']:12.0f}"
              f"{summary['throughput_ratio']:10.3f}  ≥ 0.97")  # fmt: skip
        print(f"{'ms CPU/req':14}{summary['wrk_cpu_ms']:12.4f}{summary['ours_cpu_ms']:12.4f}"
              f"{summary['cpu_ratio']:10.2f}  {goal}")  # fmt: skip
        print(f"{'  window only':14}{'':12}{summary['ours_window_cpu_ms']:12.4f}"
              f"{summary['ours_window_cpu_ms'] / summary['wrk_cpu_ms']:10.2f}")  # fmt: skip
    print("(medians over rounds; CPU is the whole process's, start-up included; throughput "
          "ratio is the median of per-round ratios)")  # fmt: skip
    if note:
        print(note)
    data = {
        "when": stamp, "url": url, "concurrency": args.concurrency, "duration_s": args.duration,
        "rounds": args.rounds, "server": f"gunicorn gthread 1x{args.threads}",
        "pinned": pin, "cores": cores, "note": note, "loadavg": os.getloadavg(),
        "summary": summaries,
        "runs": {m: [dataclasses.asdict(r) for r in rs] for m, rs in runs.items()},
    }  # fmt: skip
    path = RESULTS / f"engine_vs_wrk-{stamp}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"wrote {path.relative_to(ROOT)}")


def summarise(runs: list[Run]) -> dict[str, float]:
    wrk = [r for r in runs if r.tool == "wrk"]
    ours = [r for r in runs if r.tool == "ours"]
    by_round = {r.round: r for r in wrk}
    ratios = [o.throughput_rps / by_round[o.round].throughput_rps for o in ours]
    wrk_cpu = statistics.median(r.cpu_ms_per_request for r in wrk)
    ours_cpu = statistics.median(r.cpu_ms_per_request for r in ours)
    return {
        "wrk_rps": statistics.median(r.throughput_rps for r in wrk),
        "ours_rps": statistics.median(r.throughput_rps for r in ours),
        "throughput_ratio": round(statistics.median(ratios), 4),
        "throughput_ratios": [round(x, 4) for x in ratios],  # type: ignore[dict-item]
        "wrk_cpu_ms": wrk_cpu,
        "ours_cpu_ms": ours_cpu,
        "cpu_ratio": round(ours_cpu / wrk_cpu, 3),
        "ours_window_cpu_ms": statistics.median(
            r.extra["window_cpu_ms_per_request"] for r in ours
        ),
    }


if __name__ == "__main__":
    main()
