"""Is the tuner's answer reproducible? Three tunes of each zoo app, compared.

    python benchmarks/repeat_tune.py [--apps io,cpu,...] [--runs 3] [--budget-s 150]
                                     [--saturate-s 3 --verify-s 3 --warmup-s 1]

For each app of benchmarks/tune_zoo.py (same B1 plan, same apps, the db apps on a PostgreSQL
this script starts), `tune()` runs `--runs` times from scratch (its own profile, SLO and
trials each time, with tune's own window lengths and its stall check unless told otherwise),
as `tunicorn tune` would on a quiet machine. A run of an app agrees when
every tune picked the same configuration, or when every two tunes that picked two
configurations have overlapping capacity intervals (`capacity_ci` in the tune JSON: [low,
high] or {"low", "high"}); an app whose picks differ and carry no intervals is "differ (no
intervals)". The issue's goal: the
same pick or overlapping intervals in 3 of 3 runs on at least 7 of the zoo's apps.

Writes benchmarks/results/repeat_tune.json (each run's pick, capacity and interval, the
tune's wall time, and each finalist under the stalled upstream: held or gave way, and why)
and prints markdown tables. Everything runs on loopback; every trial stops
its server; Ctrl-C stops after the current load phase and still writes what was measured.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from tune_zoo import (  # noqa: E402
    APPS,
    B1_CPUS,
    app_target,
    start_database,
    trial_settings,
    wrk_side,
)

from tunicorn import settings as defaults  # noqa: E402
from tunicorn.decide import rank, search  # noqa: E402
from tunicorn.decide.tune import TuneEvents, TuneSettings, tune  # noqa: E402
from tunicorn.load import Request  # noqa: E402
from tunicorn.record import to_builtins, to_json  # noqa: E402

RESULTS = HERE / "results" / "repeat_tune.json"
GOAL_APPS = 7


def interval(trial: dict[str, Any] | None) -> tuple[float, float] | None:
    """The pick's capacity interval from its trial's JSON, in either shape; None when the
    tune JSON carries none (a tuner without intervals)."""
    ci = (trial or {}).get("capacity_ci")
    if isinstance(ci, dict):
        low, high = ci.get("low"), ci.get("high")
    elif isinstance(ci, (list, tuple)) and len(ci) == 2:
        low, high = ci
    else:
        return None
    if not isinstance(low, (int, float)) or not isinstance(high, (int, float)) or high < low:
        return None
    return float(low), float(high)


def verdict(runs: list[dict[str, Any]]) -> str:
    """The runs agree: "same", "overlap" (every two runs that picked two configurations
    have overlapping intervals), "tied in each run", "differ" or "differ (no intervals)".
    "tied in each run": the picks differ, but every run measured the others' picks too and
    could not tell them from its own by their intervals (the machine's speed may drift
    between runs; within one run the configurations met at one speed)."""
    picks = {r["pick"] for r in runs}
    if len(picks) == 1 and None not in picks:
        return "same"
    # Each pair of runs agrees by itself where both picked one configuration (its figure may
    # move with the machine's speed); a pair that picked two must have overlapping intervals.
    pairs = [(a, b) for i, a in enumerate(runs) for b in runs[i + 1 :] if a["pick"] != b["pick"]]
    if any(a["ci"] is None or b["ci"] is None for a, b in pairs):
        return "differ (no intervals)"
    if all(a["ci"][0] <= b["ci"][1] and b["ci"][0] <= a["ci"][1] for a, b in pairs):
        return "overlap"
    if all(p in r.get("tied", ()) for r in runs for p in picks):
        return "tied in each run"
    return "differ"


def tied(result: Any) -> list[str]:
    """The configurations this run could not tell from its pick by their intervals (the pick
    among them)."""
    if result.pick is None:
        return []
    rules = result.constraints.rules
    return sorted(
        {t.config.label for t in rank.ties(result.trials, rules)} | {result.pick.config.label}
    )


def stall_runs(result: Any) -> list[dict[str, Any]]:
    """Each finalist under the stall check: its role, configuration, whether it held, why not,
    and the p95 of the requests that were not stalled."""
    check = result.stall
    if check is None:
        return []
    return [
        {
            "role": r.role, "config": r.config.label, "holds": r.holds, "reason": r.reason,
            "rate_rps": r.rate_rps, "p95_ms": r.latency_ms.p95, "within_slo": r.within_slo,
        }
        for r in check.runs
    ]  # fmt: skip


def wrk_check(name: str, runs: list[dict[str, Any]], args: Any, stop: threading.Event,
              say: Any) -> dict[str, Any]:
    """wrk, an independent client, on each distinct pick and the three rule-of-thumb
    baselines, under both client models, at the first tune's SLO (wrk's p90 within it)."""
    configs = []
    seen = set()
    for k, r in enumerate(runs, 1):
        config = r.get("config")
        if config is not None and config.key not in seen:
            seen.add(config.key)
            configs.append((f"pick{k}", config))
    configs += [(label, c) for label, c in search.baselines(B1_CPUS)]
    slo = runs[0]["slo_p95_ms"]
    log_dir = Path(args.log_dir) / name / "wrk"
    return wrk_side(configs, app_target(name), slo, args, stop, say, log_dir)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--apps", default=",".join(APPS), help=f"comma-separated, of: {', '.join(APPS)}")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument(
        "--budget-s", type=float, default=None, help="each tune's budget (tune's default)"
    )
    p.add_argument("--saturate-s", type=float, default=defaults.SATURATE.default)
    p.add_argument("--verify-s", type=float, default=defaults.VERIFY.default)
    p.add_argument("--warmup-s", type=float, default=defaults.WARMUP.default)
    p.add_argument("--no-stall-check", action="store_true", help="skip tune's stall check")
    p.add_argument("--wrk", action="store_true",
                   help="after each app's tunes, wrk (both client models) on every pick and the "
                        "three baselines, each on its own plain server")
    p.add_argument("--wrk-clients", default="2,4,8,12,16,20,24,32,48,64,96,128,192,256",
                   help="wrk's ladder of connections (fine enough that a knee between two "
                        "doublings is not skipped)")
    p.add_argument("--wrk-seconds", type=int, default=1, help="each wrk run (whole seconds)")
    p.add_argument("--log-dir", default="/tmp/tunicorn-repeat-logs")
    p.add_argument("--json", default=str(RESULTS))
    args = p.parse_args(argv)
    names = [n.strip() for n in args.apps.split(",") if n.strip()]
    unknown = [n for n in names if n not in APPS]
    if unknown:
        p.error(f"unknown app(s) {', '.join(unknown)}; choose from {', '.join(APPS)}")
    stop = threading.Event()

    def on_sigint(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print("\ninterrupted: stopping after the current load phase", file=sys.stderr)

    signal.signal(signal.SIGINT, on_sigint)

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    database = start_database(names)
    apps: list[dict[str, Any]] = []
    out_path = Path(args.json)
    try:
        for name in names:
            runs: list[dict[str, Any]] = []
            for i in range(args.runs):
                if stop.is_set():
                    break
                target = app_target(name)
                settings = dict(trial_settings(args))
                if args.budget_s is not None:
                    settings["budget_s"] = args.budget_s
                if args.no_stall_check:
                    settings["stall_check"] = False
                began = time.monotonic()
                result = tune(
                    target, (Request(path="/work"),), TuneSettings(**settings),
                    events=TuneEvents(say=lambda m, n=name, k=i: say(f"  [{n} #{k + 1}] {m}")),
                    log_dir=Path(args.log_dir) / name / str(i + 1), stop=stop,
                )  # fmt: skip
                # The whole record beside the run's logs: an outlier can be read back later.
                saved = Path(args.log_dir) / name / str(i + 1) / "tune.json"
                saved.parent.mkdir(parents=True, exist_ok=True)
                saved.write_text(to_json(result), encoding="utf-8")
                pick = result.pick
                trial = to_builtins(pick) if pick is not None else None
                runs.append({
                    "pick": pick.config.label if pick is not None else None,
                    "capacity_rps": pick.capacity_rps if pick is not None else 0.0,
                    "ci": interval(trial),
                    "wall_s": round(time.monotonic() - began, 1),
                    "stall": stall_runs(result),
                    "slo_p95_ms": result.constraints.slo_p95_ms,
                    "config": pick.config if pick is not None else None,
                    "tied": tied(result),
                })  # fmt: skip
                say(f"== {name} #{i + 1}: {runs[-1]}")
            wrk = None
            if args.wrk and runs and not stop.is_set():
                wrk = wrk_check(name, runs, args, stop, say)
            for r in runs:
                r.pop("config", None)
            apps.append({"app": name, "runs": runs, "verdict": verdict(runs) if runs else "—",
                         **({"wrk": wrk} if wrk else {})})  # fmt: skip
            out_path.parent.mkdir(parents=True, exist_ok=True)
            out_path.write_text(json.dumps({"apps": apps}, indent=1) + "\n", encoding="utf-8")
    finally:
        if database is not None:
            database.stop()
    print("| app | picks (capacity [interval]) | verdict |")
    print("|---|---|---|")
    for a in apps:
        cells = []
        for r in a["runs"]:
            ci = f" [{r['ci'][0]:.0f}–{r['ci'][1]:.0f}]" if r["ci"] else ""
            cells.append(f"{r['pick']} {r['capacity_rps']:.1f}{ci}")
        print(f"| {a['app']} | {'; '.join(cells)} | {a['verdict']} |")
    print("\n| app | run | stall check: each finalist (p95 of the others) | pick |")
    print("|---|---:|---|---|")
    for a in apps:
        for k, r in enumerate(a["runs"], 1):
            held = "; ".join(
                f"{x['config']} {'holds' if x['holds'] else 'gives way'} ({x['p95_ms']:,.0f} ms)"
                for x in r.get("stall", [])
            )
            print(f"| {a['app']} | {k} | {held or '—'} | {r['pick']} |")
    if any("wrk" in a for a in apps):
        print("\n| app | client model | each pick by wrk (req/s within the SLO) | best of the "
              "picks and baselines | the baselines by wrk | worst pick / best |")
        print("|---|---|---|---|---|---:|")
        for a in apps:
            for model, m in a.get("wrk", {}).items():
                picks = {k: v for k, v in m["configs"].items() if k.startswith("pick")}
                bases = {k: v for k, v in m["configs"].items() if not k.startswith("pick")}
                shown = "; ".join(f"{v['config']} {v['best_rps']:.0f}" for v in picks.values())
                based = "; ".join(f"{v['config']} {v['best_rps']:.0f}" for v in bases.values())
                worst = min((v["best_rps"] for v in picks.values()), default=0.0)
                share = worst / m["best_rps"] if m["best_rps"] else 0.0
                print(f"| {a['app']} | {model} | {shown} | {m['best_rps']:.0f} | {based} | "
                      f"{share:.2f} |")
    agree = [a for a in apps if a["verdict"] in ("same", "overlap") and len(a["runs"]) >= args.runs]
    goal = min(GOAL_APPS, len(names))
    print(f"\n{len(agree)}/{len(apps)} apps agree in {args.runs} of {args.runs} runs "
          f"(goal: {goal}); JSON: {out_path}")  # fmt: skip
    if stop.is_set():
        return 130
    return 0 if len(agree) >= goal else 1


if __name__ == "__main__":
    sys.exit(main())
