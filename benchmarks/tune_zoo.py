"""Does the tuner find the best configuration? A zoo of apps, each against an exhaustive grid.

    python benchmarks/tune_zoo.py [--apps io,cpu,...] [--quick]

For each app in benchmarks/zoo/ (they differ in what limits them), on the B1 plan
(1 core, 1792 MiB; the server pinned to one core, the load generator on the others):

1. the tuner: `tune()` as `tunicorn tune` runs it, giving its pick and the three
   baselines (measured in the same run);
2. the oracle: every point of a grid (workers 1..8 × threads 1,2,4,…,64, gthread when
   threads > 1, plus gevent 1, 2, 4, 8 when installed: the tuner's whole range on one
   core, with no pruning and no runoff) measured by the same trial store the tuner
   uses (`Trials.on_servers`), with the tuner's profile and SLO, so memory model and SLO are identical;
   `rank.best()` over the grid is the oracle's best;
3. side by side: the pick, the oracle's best and the baselines measured once more on a
   fresh trial store (same profile and SLO), pick and oracle twice (`--repeat N`), alternating;
4. wrk as the oracle, under both client models (`-H 'Connection: close'`, and kept-alive
   connections): the pick, the grid's best and the baselines, each on its own plain server,
   at the same ladder of connection counts as benchmarks/pool_vs_wrk.py (`--wrk-clients`);
   a configuration's figure is its best req/s with wrk's p90 within the tuner's SLO, and the
   pick's ratio is over the best of them under each model (`--no-wrk` skips it).

Load-test time is defined as the wall time of trials: from a trial's start (server
launch) to its end (server stopped), summed over the trials that actually started a
server (memory-infeasible points cost nothing). The tuner's time is reported two ways:
its trials only, and its trials plus its profiling (the grid reuses that profile, so
the second is the conservative comparison and is the one the goal is judged on).

Goals (the issue): pick ≥ 97% of the oracle's best capacity on every app; pick ≥ every
baseline ("never loses"); tuner load-test time ≤ 20% of the grid's.

Writes benchmarks/results/tune_zoo.json (full trials) and prints markdown tables.
`--grid-from JSON` reuses the grids of a saved run (they only depend on how one trial is
measured, not on the search) and runs the tuner, at the grid's SLO, and the side by side.
Everything runs on loopback; every trial stops its server; Ctrl-C stops after the
current load phase and still writes what was measured (a second Ctrl-C aborts).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ZOO = HERE / "zoo"
RESULTS = HERE / "results" / "tune_zoo.json"
sys.path.insert(0, str(HERE.parent / "src"))

from pool_vs_wrk import CLIENTS as WRK_CLIENTS  # noqa: E402
from pool_vs_wrk import wrk_run  # noqa: E402

from tunicorn.app.target import Target  # noqa: E402
from tunicorn.decide import rank, search
from tunicorn.decide.tune import (  # noqa: E402
    Trials,
    TuneEvents,
    TuneSettings,
    tune,
)
from tunicorn.launch import Server  # noqa: E402
from tunicorn.load import Request  # noqa: E402
from tunicorn.machine import emulate, split_cores  # noqa: E402
from tunicorn.record import ServerConfig, Trial, from_builtins, to_builtins  # noqa: E402
from tunicorn.run.profile import gevent_available  # noqa: E402
from tunicorn.settings import MAX_WORKERS_PER_CORE  # noqa: E402

APPS = {
    "io": "pure I/O wait (sleep 100 ms)",
    "cpu": "pure-Python CPU (~7 ms loop)",
    "mixed": "mixed (~5 ms CPU + 60 ms wait)",
    "bigmem": "~450 MiB per worker vs the B1 budget (3 ms CPU + 40 ms wait)",
    "lock": "per-process lock held across a 50 ms wait (threads useless)",
    "unsafe": "module state that breaks under concurrent threads (20 ms wait)",
    "db": "SQLAlchemy pool of 4 (no overflow) over PostgreSQL, 30 ms per query",
    "dbdefault": "SQLAlchemy's default pool (5 + 10 overflow) over PostgreSQL, 30 ms per query",
    "slowpage": "a slow page: ~80 ms CPU and 10 SQL queries (PostgreSQL, pool 5 + 10)",
    "fastpage": "a fast CPU-bound page (~0.5 ms), where handshakes weigh",
}
# Apps that share a module, and the environment each runs with (the database URL is added
# when the benchmark has started PostgreSQL).
MODULES = {"db": "zoo_db", "dbdefault": "zoo_db"}
ENV = {
    "db": {"POOL_SIZE": "4", "MAX_OVERFLOW": "0"},
    "dbdefault": {"POOL_SIZE": "5", "MAX_OVERFLOW": "10"},
    "slowpage": {"POOL_SIZE": "5", "MAX_OVERFLOW": "10"},
}
B1_CPUS = 1
B1_MEMORY_MIB = 1792.0
TARGET_RATIO = 0.97
TIME_SHARE = 0.20


def grid(quick: bool) -> list[ServerConfig]:
    """The tuner's whole range on B1: 1..8 workers (its per-core cap), threads doubling to 64."""
    workers = (1, 2, 4) if quick else tuple(range(1, MAX_WORKERS_PER_CORE.default * B1_CPUS + 1))
    threads = (1, 4, 16) if quick else (1, 2, 4, 8, 16, 32, 64)
    out = [search.with_threads(w, t) for w in workers for t in threads]
    if gevent_available():
        out += [ServerConfig(w, 1, "gevent") for w in ((1,) if quick else (1, 2, 4, 8))]
    return out


# The tuner's stages the grid has no part of, by the message each begins with: the finalists
# under the other client model (kept-alive hands dealt again) and under a stalled upstream.
STAGES = {
    "other_model": "the finalists with ",
    "stall": "the finalists under a stalled upstream",
}


def beyond_grid_s(marks: dict[str, float], ended: float) -> float:
    """Seconds the tuner spent on what the grid never measures: from the first of STAGES to
    the tune's end (the other client model comes before the stall check, which ends it)."""
    return ended - min(marks.values(), default=ended)


class Clock:
    """Wall time of each trial, from its start event to its done event."""

    def __init__(self, say) -> None:
        self.say = say
        self.t0 = 0.0
        self.seconds: dict[tuple, float] = {}
        self.order: list[tuple] = []
        self.marks: dict[str, float] = {}  # when each of STAGES began (its first message)

    def events(self, tag: str) -> TuneEvents:
        def start(config: ServerConfig, source: str, n: int) -> None:
            self.t0 = time.monotonic()

        def done(trial: Trial) -> None:
            dt = time.monotonic() - self.t0
            c = trial.config.effective()
            k = (c.workers, c.threads, c.worker_class)
            started = trial.server is not None or trial.reason == "failed"
            self.seconds[k] = self.seconds.get(k, 0.0) + (dt if started else 0.0)
            self.order.append(k)
            cap = f"{trial.capacity_rps:7.1f} req/s" if trial.feasible else f"— ({trial.reason})"
            self.say(f"  [{tag}] {trial.config.label:<16} {cap:<22} {dt:5.1f}s  {trial.note[:80]}")

        def said(message: str) -> None:
            for stage, opening in STAGES.items():
                if message.startswith(opening):
                    self.marks.setdefault(stage, time.monotonic())
            self.say(f"  [{tag}] {message}")

        return TuneEvents(say=said, trial_start=start, trial_done=done)

    @property
    def total(self) -> float:
        return sum(self.seconds.values())


def phase_seconds(trials) -> float:
    """The load phases alone (measured windows + warm-ups), for reference."""
    total = 0.0
    for t in trials:
        for i, p in enumerate(t.phases):
            total += p.duration_s
    return total


def brief(trial: Trial | None) -> dict | None:
    if trial is None:
        return None
    return {
        "config": trial.config.label,
        "workers": trial.config.workers,
        "threads": trial.config.threads,
        "worker_class": trial.config.worker_class,
        "capacity_rps": trial.capacity_rps,
        "throughput_rps": trial.throughput_rps,
        "p95_ms": trial.latency_ms.p95,
        "pss_mib_peak": trial.server.pss_mib_peak if trial.server else None,
        "feasible": trial.feasible,
        "reason": trial.reason,
        "note": trial.note,
        "source": trial.source,
    }


def ratio(a: float, b: float) -> float | None:
    if b <= 0:
        return None if a <= 0 else float("inf")
    return a / b


def app_target(name: str) -> Target:
    """The zoo app `name` as a target, its environment set (gunicorn inherits tunicorn's)."""
    for key in ("POOL_SIZE", "MAX_OVERFLOW"):
        os.environ.pop(key, None)
    os.environ.update(ENV.get(name, {}))
    return Target(kind="app", app=f"{MODULES.get(name, 'zoo_' + name)}:app", chdir=str(ZOO),
                  label=name)  # fmt: skip


def trial_settings(args) -> dict:
    """What every trial of the benchmark runs with: the B1 plan and the phases' lengths."""
    return dict(
        machine=emulate(B1_CPUS, B1_MEMORY_MIB, "B1"),
        warmup_s=args.warmup_s, saturate_s=args.saturate_s, verify_s=args.verify_s,
    )  # fmt: skip


def run_app(name: str, args, stop: threading.Event, say) -> dict:
    target = app_target(name)
    requests = (Request(path="/work"),)
    log_dir = Path(args.log_dir) / name
    common = trial_settings(args)
    out: dict = {"app": name, "description": APPS[name], "complete": False}

    # 1. The tuner, as `tunicorn tune` runs it.
    say(f"== {name}: {APPS[name]}")
    tclock = Clock(say)
    t0 = time.monotonic()
    saved_grid = (args.saved_grids or {}).get(name)
    fixed_slo = saved_grid["slo_p95_ms"] if saved_grid else None  # the grid's SLO, for a fair ratio
    result = tune(target, requests, TuneSettings(**common, budget_s=args.budget_s, slo_p95_ms=fixed_slo),
                  events=tclock.events("tune"), log_dir=log_dir, stop=stop)  # fmt: skip
    profile = result.profile
    ended = time.monotonic()
    tuner_wall = ended - t0
    profile_s = tuner_wall - tclock.total  # everything that was not a trial: profiling, mostly
    slo = result.constraints.slo_p95_ms
    pick = result.pick  # the tuner's answer (a final may settle it, not best() alone)
    out["tuner"] = {
        "result": to_builtins(result),
        "pick": brief(pick),
        "trial_wall_s": round(tclock.total, 1),
        "profile_and_overhead_s": round(profile_s, 1),
        "total_wall_s": round(tuner_wall, 1),
        "beyond_grid_s": round(beyond_grid_s(tclock.marks, ended), 1),
        "phase_s": round(phase_seconds(result.trials), 1),
        "measured_trials": sum(1 for t in result.trials if t.server is not None),
    }
    say(f"  tuner pick: {pick.config.label if pick else None}  slo {slo} ms  "
        f"profile cpu {profile.cpu_ms} ms wall {profile.wall_ms} ms  "
        f"mem {profile.memory}")  # fmt: skip
    if stop.is_set():
        return out

    # 2. The oracle: every grid point, same profile and SLO (or a grid saved by an earlier run
    #    of the same code path: the grid never runs the search, only the trial store).
    if saved_grid is not None:
        # The oracle is the best under the tuner's own rules (never one slot, threads within
        # one process's pool), which may be newer than the saved run's.
        saved = [from_builtins(t, Trial) for t in saved_grid["grid"]["trials"]]
        best = rank.best(saved, B1_CPUS, result.constraints.rules)
        out["grid"] = {**saved_grid["grid"], "reused_from": args.grid_from, "best": brief(best)}
        best_config = best.config if best else None
        return _side_by_side(out, name, args, stop, say, target, requests, log_dir, common, slo,
                             result, pick, best_config)  # fmt: skip
    gclock = Clock(say)
    oracle = Trials.on_servers(target, requests,
                               TuneSettings(**common, slo_p95_ms=slo, prune=False, runoff=False),
                               profile, events=gclock.events("grid"), log_dir=log_dir,
                               stop=stop)  # fmt: skip
    for config in grid(args.quick):
        if stop.is_set():
            return out
        oracle.measure(config, "grid")
    grid_trials = tuple(oracle.by_key.values())
    best = rank.best(grid_trials, B1_CPUS, result.constraints.rules)  # the tuner's own rules
    out["grid"] = {
        "trials": to_builtins(grid_trials),
        "best": brief(best),
        "trial_wall_s": round(gclock.total, 1),
        "trial_seconds": {"|".join(map(str, k)): round(v, 2) for k, v in gclock.seconds.items()},
        "phase_s": round(phase_seconds(grid_trials), 1),
        "measured_trials": sum(1 for t in grid_trials if t.server is not None),
    }

    return _side_by_side(out, name, args, stop, say, target, requests, log_dir, common, slo,
                         result, pick, best.config if best else None)  # fmt: skip


def _side_by_side(out, name, args, stop, say, target, requests, log_dir, common, slo, result, pick, best_config):
    # 3. Baselines: the tuner's own baseline trials (same run).
    named = search.baselines(B1_CPUS)
    base_first = []
    for label, config in named:
        t = result.trial(config.key)
        base_first.append({"name": label, **brief(t)})
    out["baselines"] = base_first

    # 4. Side by side: pick and oracle alternating (twice), baselines once, fresh servers.
    side: dict[str, list[dict]] = {}
    if pick is not None and best_config is not None and not args.no_side_by_side:
        order: list[tuple[str, ServerConfig]] = [("pick", pick.config), ("oracle", best_config)]
        order += [(label, c) for label, c in named]
        order += [("pick", pick.config), ("oracle", best_config)] * max(1, args.repeat - 1)
        sclock = Clock(say)
        for i, (who, config) in enumerate(order):
            if stop.is_set():
                break
            fresh = Trials.on_servers(target, requests,
                                      TuneSettings(**common, slo_p95_ms=slo, prune=False, runoff=False),
                                      result.profile, events=sclock.events(f"side:{who}"),
                                      log_dir=log_dir, stop=stop)  # fmt: skip
            side.setdefault(who, []).append(brief(fresh.measure(config, "side-by-side")))
        out["side_by_side_wall_s"] = round(sclock.total, 1)
    out["side_by_side"] = side

    if pick is not None and not args.no_wrk:
        configs = [("pick", pick.config)]
        if best_config is not None:
            configs.append(("oracle", best_config))
        configs += [(label, c) for label, c in named]
        out["wrk"] = wrk_side(configs, target, slo, args, stop, say, log_dir)

    out["summary"] = summarize(out)
    out["complete"] = True
    return out


def wrk_side(configs, target, slo, args, stop, say, log_dir) -> dict:
    """wrk as the oracle under both client models: each configuration (once per distinct key)
    on its own plain server, a ladder of connection counts, the best req/s within the SLO
    (wrk's p90); the pick's ratio over the best of all under each model."""
    cores = split_cores(B1_CPUS)
    ladder = tuple(int(c) for c in args.wrk_clients.split(","))
    models: dict[str, dict] = {}
    for model in ("close", "keepalive"):
        figures: dict[str, dict] = {}
        for who, config in configs:
            if stop.is_set():
                break
            same = next((f for f in figures.values() if f["key"] == config.key), None)
            if same is not None:
                figures[who] = same
                continue
            runs = []
            with Server(target, config, cpus=cores.server, log_dir=log_dir) as server:
                for c in ladder:
                    if stop.is_set():
                        break
                    rps, p90 = wrk_run(server.url + "/work", c, args.wrk_seconds, cores.client,
                                       close=model == "close")  # fmt: skip
                    runs.append({"clients": c, "rps": rps, "p90_ms": p90})
            within = [r for r in runs if r["p90_ms"] <= slo]
            top = max(within, key=lambda r: r["rps"]) if within else None
            figures[who] = {
                "key": config.key, "config": config.label, "ladder": runs,
                "best_rps": top["rps"] if top else 0.0, "best_clients": top["clients"] if top else 0,
            }  # fmt: skip
            say(f"  [wrk:{model}] {who} {config.label}: "
                f"{figures[who]['best_rps']:.1f} req/s within p90 {slo:.0f} ms")  # fmt: skip
        best = max((f["best_rps"] for f in figures.values()), default=0.0)
        pick = figures.get("pick", {}).get("best_rps", 0.0)
        models[model] = {"configs": figures, "best_rps": best, "ratio": ratio(pick, best)}
    return models


def summarize(out: dict) -> dict:
    """The figures the goals are judged on, from the stored briefs (so --render can redo them)."""
    side = out.get("side_by_side", {})
    pick = out["tuner"]["pick"]
    best = out["grid"]["best"]

    def mean_cap(who: str) -> float | None:
        runs = [r["capacity_rps"] for r in side.get(who, []) if r]
        return round(statistics.fmean(runs), 2) if runs else None

    pick_cap = pick["capacity_rps"] if pick else 0.0
    best_cap = best["capacity_rps"] if best else 0.0
    same = bool(pick and best and pick["config"] == best["config"])
    # The grid's own figure for the pick's configuration (same pass as the oracle's best).
    in_grid = next((t for t in out["grid"]["trials"] if pick and _label(t["config"]) == pick["config"]), None)
    tuner_s = out["tuner"]["total_wall_s"]
    tuner_trials_s = out["tuner"]["trial_wall_s"]
    grid_s = out["grid"]["trial_wall_s"]
    summary = {
        "oracle": best["config"] if best else None,
        "oracle_capacity": best_cap,
        "pick": pick["config"] if pick else None,
        "pick_capacity": pick_cap,
        "same_config": same,
        # As measured: the tuner's own trial of its pick against the grid's best.
        "ratio_first_pass_measured": ratio(pick_cap, best_cap),
        # Judged: 1 when the tuner picked the oracle's configuration (the gap is then noise).
        "ratio_first_pass": 1.0 if same else ratio(pick_cap, best_cap),
        "pick_capacity_in_grid": in_grid["capacity_rps"] if in_grid else None,
        "ratio_grid": ratio(in_grid["capacity_rps"], best_cap) if in_grid else None,
        "pick_capacity_side": mean_cap("pick"),
        "oracle_capacity_side": mean_cap("oracle"),
        "tuner_s": tuner_s,
        "tuner_trials_s": tuner_trials_s,
        "grid_s": grid_s,
    }
    if summary["pick_capacity_side"] is not None and summary["oracle_capacity_side"]:
        summary["ratio_side_measured"] = summary["pick_capacity_side"] / summary["oracle_capacity_side"]
    else:
        summary["ratio_side_measured"] = None
    summary["ratio_side"] = 1.0 if same else summary["ratio_side_measured"]
    summary["time_share"] = ratio(tuner_s, grid_s)
    # Like for like: without the stages the grid never runs (the other client model, the
    # stall check), which the tuner adds for the finalists alone.
    beyond = out["tuner"].get("beyond_grid_s", 0.0)
    summary["tuner_like_grid_s"] = round(tuner_s - beyond, 1)
    summary["time_share_like_grid"] = ratio(tuner_s - beyond, grid_s)
    # The same against the smaller grid of the first run (workers 1..6, threads 1..32, gevent 1..3).
    small = [
        v for k, v in out["grid"].get("trial_seconds", {}).items()
        if _in_small_grid(*k.split("|"))
    ]  # fmt: skip
    summary["grid_small_s"] = round(sum(small), 1) if small else None
    summary["time_share_small_grid"] = ratio(tuner_s, sum(small)) if small else None
    summary["time_share_trials_only"] = ratio(tuner_trials_s, grid_s)
    rows = []
    for b in out["baselines"]:
        cap_side = mean_cap(b["name"])
        rows.append({
            "name": b["name"],
            "config": b["config"],
            "capacity_first": b["capacity_rps"],
            "ratio_first": 1.0 if pick and b["config"] == pick["config"] else ratio(pick_cap, b["capacity_rps"]),
            "capacity_side": cap_side,
            "ratio_side": (ratio(summary["pick_capacity_side"], cap_side)
                           if summary["pick_capacity_side"] is not None and cap_side is not None else None),
        })  # fmt: skip
    summary["baselines"] = rows
    summary["goal_ratio"] = bool(summary["ratio_first_pass"] is not None and summary["ratio_first_pass"] >= TARGET_RATIO)
    summary["goal_ratio_side"] = bool(summary["ratio_side"] is not None and summary["ratio_side"] >= TARGET_RATIO)
    summary["goal_baselines"] = all(b["ratio_first"] is None or b["ratio_first"] >= 1.0 for b in rows)
    summary["goal_time"] = bool(summary["time_share"] is not None and summary["time_share"] <= TIME_SHARE)
    for model, figures in out.get("wrk", {}).items():
        summary[f"wrk_ratio_{model}"] = figures["ratio"]
        summary[f"goal_wrk_{model}"] = bool(figures["ratio"] is not None and figures["ratio"] >= TARGET_RATIO)
    return summary


def client_models_side(saved: dict, names: list[str], args, stop, say) -> list[dict]:
    """`--models-from`: the saved run's pick and oracle measured again under both client
    models (a new connection per request, and kept-alive connections), alternating, on fresh
    servers, at the saved SLO and profile. The tuner picks by the worse of the two models, so
    pick / oracle on that worse figure is its own objective; the grid ranks by new connections."""
    from tunicorn.record import TuneResult  # noqa: PLC0415

    rows = []
    for a in saved["apps"]:
        if a["app"] not in names or not a.get("summary") or stop.is_set():
            continue
        name = a["app"]
        target = app_target(name)
        result = from_builtins(a["tuner"]["result"], TuneResult)
        slo = result.constraints.slo_p95_ms
        pick, oracle = a["tuner"]["pick"], a["grid"]["best"]
        configs = {
            "pick": ServerConfig(pick["workers"], pick["threads"], pick["worker_class"]),
            "oracle": ServerConfig(oracle["workers"], oracle["threads"], oracle["worker_class"]),
        }
        common = trial_settings(args)
        say(f"== {name}: pick {pick['config']}, oracle {oracle['config']}, both client models")
        runs: dict[str, list[float]] = {}
        whos = ["pick"] if pick["config"] == oracle["config"] else ["pick", "oracle"]
        for _ in range(max(1, args.repeat)):
            for keepalive in (False, True):
                for who in whos:
                    if stop.is_set():
                        break
                    tag = f"{who}:{'kept-alive' if keepalive else 'new-conn'}"
                    store = Trials.on_servers(
                        target, (Request(path="/work"),),
                        TuneSettings(**common, slo_p95_ms=slo, prune=False, runoff=False,
                                     keepalive=keepalive),
                        result.profile, events=Clock(say).events(tag),
                        log_dir=Path(args.log_dir) / name, stop=stop,
                    )  # fmt: skip
                    runs.setdefault(tag, []).append(store.measure(configs[who], "side").capacity_rps)
        mean = {k: round(statistics.fmean(v), 1) for k, v in runs.items()}
        row = {"app": name, "pick": pick["config"], "oracle": oracle["config"], "runs": runs, "mean": mean}
        for who in whos:
            row[f"{who}_worse"] = min(mean.get(f"{who}:new-conn", 0.0), mean.get(f"{who}:kept-alive", 0.0))
        if len(whos) == 2:
            row["ratio_new"] = ratio(mean.get("pick:new-conn", 0.0), mean.get("oracle:new-conn", 0.0))
            row["ratio_kept_alive"] = ratio(mean.get("pick:kept-alive", 0.0), mean.get("oracle:kept-alive", 0.0))
            row["ratio_worse"] = ratio(row["pick_worse"], row["oracle_worse"])
        else:
            row["ratio_new"] = row["ratio_kept_alive"] = row["ratio_worse"] = 1.0
        rows.append(row)
    return rows


def models_markdown(rows: list[dict]) -> str:
    lines = [
        "| app | pick | oracle | new connections: pick / oracle | ratio | kept-alive: pick / oracle | ratio "
        "| worse of the two: pick / oracle | ratio (≥0.97) |",
        "|---|---|---|---|---:|---|---:|---|---:|",
    ]
    for r in rows:
        m = r["mean"]
        same = r["pick"] == r["oracle"]
        o_new = "same" if same else fmt_cap(m.get("oracle:new-conn"))
        o_ka = "same" if same else fmt_cap(m.get("oracle:kept-alive"))
        o_worse = "same" if same else fmt_cap(r.get("oracle_worse"))
        lines.append(
            f"| {r['app']} | {r['pick']} | {r['oracle']} | {fmt_cap(m.get('pick:new-conn'))} / {o_new} | "
            f"{fmt_ratio(r['ratio_new'])} | {fmt_cap(m.get('pick:kept-alive'))} / {o_ka} | "
            f"{fmt_ratio(r['ratio_kept_alive'])} | {fmt_cap(r.get('pick_worse'))} / {o_worse} | "
            f"{fmt_ratio(r['ratio_worse'])} {ok(r['ratio_worse'] is not None and r['ratio_worse'] >= TARGET_RATIO)} |"
        )
    return "\n".join(lines)


def _in_small_grid(workers: str, threads: str, worker_class: str) -> bool:
    w, t = int(workers), int(threads)
    if worker_class == "gevent":
        return w <= 3
    return w <= 6 and t in (1, 2, 4, 8, 16, 32)


def _label(c: dict) -> str:
    return f"{c['workers']}×{c['threads']} {c['worker_class']}"


def fmt_ratio(r: float | None) -> str:
    if r is None:
        return "—"
    if r == float("inf"):
        return "∞"
    return f"{r:.2f}"


def fmt_cap(c: float | None) -> str:
    return "—" if c is None else f"{c:.1f}"


def ok(flag: bool) -> str:
    return "yes" if flag else "**NO**"


def markdown(apps: list[dict]) -> str:
    lines = [
        "| app | oracle best | cap | tuner pick | cap | pick/oracle (≥0.97) | pick in grid / oracle | side-by-side pick / oracle | ratio | tuner s | grid s | share (≤20%) | share without the other client model and the stall check | share of the 39-point grid |",
        "|---|---|---:|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for a in apps:
        s = a.get("summary")
        if not s:
            lines.append(f"| {a['app']} | (incomplete) ||||||||||| ")
            continue
        lines.append(
            f"| {a['app']} | {s['oracle']} | {fmt_cap(s['oracle_capacity'])} | {s['pick']} | "
            f"{fmt_cap(s['pick_capacity'])} | {fmt_ratio(s['ratio_first_pass'])}"
            f"{' (same; measured ' + fmt_ratio(s['ratio_first_pass_measured']) + ')' if s['same_config'] else ''} "
            f"{ok(s['goal_ratio'])} | {fmt_cap(s['pick_capacity_in_grid'])} → {fmt_ratio(s['ratio_grid'])} | "
            f"{fmt_cap(s['pick_capacity_side'])} / {fmt_cap(s['oracle_capacity_side'])} | "
            f"{fmt_ratio(s['ratio_side'])}{' (same; measured ' + fmt_ratio(s['ratio_side_measured']) + ')' if s['same_config'] else ''} "
            f"{ok(s['goal_ratio_side'])} | {s['tuner_s']:.0f} "
            f"({s['tuner_trials_s']:.0f} trials) | {s['grid_s']:.0f} | "
            f"{fmt_ratio(s['time_share'])} {ok(s['goal_time'])} | "
            f"{fmt_ratio(s.get('time_share_like_grid'))} ({s.get('tuner_like_grid_s', 0):.0f} s) | "
            f"{fmt_ratio(s.get('time_share_small_grid'))} |"
        )
    lines += [
        "",
        "| app | baseline | config | cap (tuner run) | pick/baseline (≥1) | cap (side by side) | pick/baseline side |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for a in apps:
        s = a.get("summary")
        if not s:
            continue
        for b in s["baselines"]:
            good = b["ratio_first"] is None or b["ratio_first"] >= 1.0
            lines.append(
                f"| {a['app']} | {b['name']} | {b['config']} | {fmt_cap(b['capacity_first'])} | "
                f"{fmt_ratio(b['ratio_first'])} {ok(good)} | {fmt_cap(b['capacity_side'])} | "
                f"{fmt_ratio(b['ratio_side'])} |"
            )
    lines += [
        "",
        "wrk as the oracle (best req/s with wrk's p90 within the SLO, over the ladder of connections):",
        "",
        "| app | model | pick | wrk: pick | wrk: best of pick, grid's best, baselines | ratio (≥0.97) |",
        "|---|---|---|---:|---|---:|",
    ]
    for a in apps:
        s = a.get("summary")
        for model, figures in a.get("wrk", {}).items():
            pick = figures["configs"].get("pick")
            if not s or pick is None:
                continue
            top = max(figures["configs"].items(), key=lambda kv: kv[1]["best_rps"])
            lines.append(
                f"| {a['app']} | {model} | {pick['config']} | {pick['best_rps']:.1f} | "
                f"{top[1]['best_rps']:.1f} ({top[0]}: {top[1]['config']}) | "
                f"{fmt_ratio(figures['ratio'])} {ok(bool(s.get(f'goal_wrk_{model}')))} |"
            )
    lines += ["", "Grid (oracle) capacities, req/s (— = infeasible: reason):", ""]
    for a in apps:
        g = a.get("grid")
        if not g:
            continue
        cells = []
        for t in g["trials"]:
            c = t["config"]
            label = f"{c['workers']}×{c['threads']} {c['worker_class']}"
            cells.append(f"{label}={t['capacity_rps']:.0f}" if t["feasible"] else f"{label}=—{t['reason']}")
        lines.append(f"- **{a['app']}**: " + ", ".join(cells))
        tr = a["tuner"]["result"]["trials"]
        seq = []
        for t in tr:
            c = t["config"]
            label = f"{c['workers']}×{c['threads']} {c['worker_class']}[{t['source'][0]}]"
            seq.append(f"{label}={t['capacity_rps']:.0f}" if t["feasible"] else f"{label}=—{t['reason']}")
        lines.append("  - tuner trials (b=baseline, m=model, s=search): " + ", ".join(seq))
    return "\n".join(lines)



def start_database(names: list[str]) -> Any:
    """The tests' PostgreSQL, started where a database app is among `names` (None otherwise),
    its URL in TUNICORN_TEST_DB for the apps; exit 2 with why where it cannot start."""
    if not any(n in ENV for n in names):
        return None
    sys.path.insert(0, str(HERE.parent))
    from tests.postgres import Postgres, PostgresUnavailable

    try:
        database = Postgres().start()
    except PostgresUnavailable as exc:
        print(f"the db apps need PostgreSQL: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    os.environ["TUNICORN_TEST_DB"] = database.url
    return database


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--apps", default=",".join(APPS), help=f"comma-separated, of: {', '.join(APPS)}")
    p.add_argument("--quick", action="store_true", help="a smoke run: 3×3 grid (+1 gevent), short trials")
    p.add_argument("--saturate-s", type=float, default=None, help="closed-loop phase (default 2, quick 1)")
    p.add_argument("--verify-s", type=float, default=None, help="open-loop phase (default 2, quick 1)")
    p.add_argument("--warmup-s", type=float, default=None, help="warm-up (default 0.5, quick 0.3)")
    p.add_argument("--budget-s", type=float, default=None, help="the tuner's own budget (default: derived from the profile, as tune's)")
    p.add_argument("--no-side-by-side", action="store_true")
    p.add_argument("--repeat", type=int, default=2,
                   help="runs each of pick and oracle get side by side, alternating (default 2)")
    p.add_argument("--no-wrk", action="store_true", help="skip wrk as the oracle")
    p.add_argument("--wrk-clients", default=",".join(map(str, WRK_CLIENTS)),
                   help="wrk's ladder of connection counts (as pool_vs_wrk's)")  # fmt: skip
    p.add_argument("--wrk-seconds", type=float, default=3.0, help="each wrk run")
    p.add_argument("--log-dir", default="/tmp/tunicorn-zoo-logs")
    p.add_argument("--json", default=str(RESULTS))
    p.add_argument("--render", metavar="JSON", help="re-render the tables from a saved run (no load)")
    p.add_argument("--grid-from", metavar="JSON",
                   help="reuse the grids (oracle) of a saved run: run the tuner (at the grid's SLO) "
                        "and the side-by-side only")  # fmt: skip
    p.add_argument("--models-from", metavar="JSON",
                   help="measure a saved run's pick and oracle again under both client models "
                        "(new connections, kept-alive), side by side; no tuner, no grid")  # fmt: skip
    args = p.parse_args(argv)
    args.saved_grids = {}
    if args.grid_from:
        saved = json.loads(Path(args.grid_from).read_text(encoding="utf-8"))
        args.saved_grids = {
            a["app"]: {"grid": a["grid"], "slo_p95_ms": a["tuner"]["result"]["constraints"]["slo_p95_ms"]}
            for a in saved["apps"] if a.get("grid")
        }  # fmt: skip
    if args.render:
        saved = json.loads(Path(args.render).read_text(encoding="utf-8"))
        for a in saved["apps"]:
            if a.get("complete"):
                a["summary"] = summarize(a)
        print(markdown(saved["apps"]))
        return 0
    args.saturate_s = args.saturate_s or (1.0 if args.quick else 2.0)
    args.verify_s = args.verify_s or (1.0 if args.quick else 2.0)
    args.warmup_s = args.warmup_s or (0.3 if args.quick else 0.5)
    names = [n.strip() for n in args.apps.split(",") if n.strip()]
    unknown = [n for n in names if n not in APPS]
    if unknown:
        p.error(f"unknown app(s) {', '.join(unknown)}; choose from {', '.join(APPS)}")

    stop = threading.Event()

    def on_sigint(signum, frame):  # first Ctrl-C: finish the current phase and write; second: abort
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print("\ninterrupted: stopping after the current load phase (Ctrl-C again to abort)", file=sys.stderr)

    signal.signal(signal.SIGINT, on_sigint)

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    started = time.monotonic()
    run = {
        "settings": {
            "cpus": B1_CPUS, "memory_mib": B1_MEMORY_MIB, "plan": "B1", "quick": args.quick,
            "saturate_s": args.saturate_s, "verify_s": args.verify_s, "warmup_s": args.warmup_s,
            "budget_s": args.budget_s, "gevent": gevent_available(),
            "grid": [c.label for c in grid(args.quick)],
            "time_definition": "wall time of trials that started a server (launch → stop); "
                               "tuner_s adds its profiling",
        },  # fmt: skip
        "apps": [],
    }
    out_path = Path(args.json)
    models_from = json.loads(Path(args.models_from).read_text(encoding="utf-8")) if args.models_from else None
    if models_from is not None and args.apps == p.get_default("apps"):
        names = [a["app"] for a in models_from["apps"] if a.get("summary")]
    database = start_database(names)
    try:
        if models_from is not None:
            rows = client_models_side(models_from, names, args, stop, say)
            out_path.parent.mkdir(parents=True, exist_ok=True)
            out_path.write_text(json.dumps({"models": rows}, indent=1) + "\n", encoding="utf-8")
            print(models_markdown(rows))
            return 130 if stop.is_set() else 0
        for name in names:
            if stop.is_set():
                break
            run["apps"].append(run_app(name, args, stop, say))
            run["elapsed_s"] = round(time.monotonic() - started, 1)
            out_path.parent.mkdir(parents=True, exist_ok=True)
            out_path.write_text(json.dumps(run, indent=1, default=str) + "\n", encoding="utf-8")
    finally:
        if database is not None:
            database.stop()
        if models_from is None:
            run["elapsed_s"] = round(time.monotonic() - started, 1)
            out_path.parent.mkdir(parents=True, exist_ok=True)
            out_path.write_text(json.dumps(run, indent=1, default=str) + "\n", encoding="utf-8")
    print(markdown(run["apps"]))
    done = [a for a in run["apps"] if a.get("summary")]
    print(f"\n{len(done)}/{len(names)} apps complete in {run['elapsed_s']:.0f} s; JSON: {out_path}")
    if stop.is_set():
        return 130
    all_ok = done and all(
        a["summary"]["goal_ratio"] and a["summary"]["goal_baselines"] and a["summary"]["goal_time"] for a in done
    )
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
