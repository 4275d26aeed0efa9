"""One self-contained HTML page per run: the verdict first, then the plots that back it.

The page must open offline, from a mail attachment or a CI artifact, years later: plotly.js
is inlined once, the CSS is inline, there are no fonts, images or CDN links, and a
Content-Security-Policy forbids the page from fetching anything even if a figure asked to.
Figures come from `plots` (pure functions of the record), so a saved run re-renders the
same page with `tunicorn report RUN.json --html FILE`.
"""

from __future__ import annotations

from pathlib import Path

from tunicorn.decide import rank
from tunicorn.record import (
    Baseline,
    BenchResult,
    ProbeResult,
    Trial,
    TuneResult,
    Workload,
)
from tunicorn.report import blocks, plots
from tunicorn.report.blocks import Card, Figure, capacity_text, esc, num, page
from tunicorn.report.phrases import expectation_text, trial_note, upstream_line

__all__ = [
    "render_bench",
    "render_probe",
    "render_tune",
    "write",
    "write_bench",
    "write_probe",
    "write_tune",
]


# -- bench ------------------------------------------------------------------------------------


def bench_verdict(result: BenchResult) -> str:
    """One sentence a person can repeat: what ran, what it served, and whether requests queued."""
    who = result.config.effective().label if result.config else "The server"
    load = (
        f"{result.concurrency} concurrent clients"
        if result.mode == "closed"
        else f"{result.rate:g} req/s offered"
    )
    text = (
        f"{who} served {num(result.throughput_rps)} req/s with {load}; "
        f"p95 latency {num(result.latency_ms.p95)} ms"
    )
    text += f", {result.errors:,} errors." if result.errors else ", no errors."
    if result.config and result.mode == "closed" and result.concurrency > result.config.slots:
        slots = result.config.slots
        text += (
            f" {result.concurrency} clients shared {slots} slot{'s' if slots != 1 else ''}, "
            "so most of each request's time was spent queueing."
        )
    return text


def render_bench(result: BenchResult) -> str:
    config = result.config.effective().label if result.config else "already running"
    kicker = f"tunicorn bench · {result.target} · {config} · {result.duration_s:g} s measured"
    cards = [
        Card("Throughput", f"{num(result.throughput_rps)} req/s", f"{result.requests:,} requests"),
        Card(
            "Latency p95",
            f"{num(result.latency_ms.p95)} ms",
            f"p50 {num(result.latency_ms.p50)} · p99 {num(result.latency_ms.p99)} ms",
        ),
        Card(
            "Errors",
            f"{result.errors:,}",
            ", ".join(f"{k} {v}" for k, v in sorted(result.errors_by_kind.items()) if v),
        ),
    ]
    if result.server is not None:
        s = result.server
        cards.append(
            Card("Server CPU", f"{num(s.cpu_cores_busy)} cores", f"{num(s.cpu_seconds)} s busy")
        )
        cards.append(
            Card(
                f"Server memory ({s.memory_source.upper()})",
                f"{num(s.pss_mib_peak)} MiB",
                f"peak, {s.processes_peak} processes",
            )
        )
    cards.append(
        Card(
            "Client CPU",
            f"{result.client.cpu_ms_per_request:.3f} ms/req",
            f"{result.client.busy_fraction:.0%} of a core",
        )
    )
    bad = bool(result.errors) or bool(
        result.config and result.mode == "closed" and result.concurrency > result.config.slots
    )
    header = (
        f'<header class="top{" warn" if bad else ""}"><p class="kicker">{esc(kicker)}</p>'
        f'<h1 class="verdict">{esc(bench_verdict(result))}</h1>{blocks.cards(cards)}'
        f"{blocks.bullets([upstream_line(a) for a in result.upstream], 'reasons')}"
        f"{blocks.bullets(result.warnings, 'warnings')}</header>"
    )
    server_fig = None
    if result.server is not None:
        label = config
        server_fig = plots.server_over_time(
            [(label, result.server, plots.OTHER)], "Server CPU and memory over time"
        )
    body = blocks.figures(
        [
            Figure(
                "latency-time",
                "Latency over time",
                "p50 and p95 each second, with throughput behind them. A line that stays high from "
                "the first second is a queue, not a slowdown: requests wait for a free slot.",
                plots.latency_over_time(result),
            ),
            Figure(
                "latency-distribution",
                "Latency distribution",
                "How long the slowest requests took: the x axis stretches the tail (99%, 99.9%) so "
                "that rare slow requests are as visible as the typical ones.",
                plots.latency_distribution(result),
            ),
            Figure(
                "server",
                "Server CPU and memory",
                "CPU cores the server's processes kept busy, and their memory (PSS: shared pages "
                "split between processes). Flat and low while latency is high means the server is "
                "waiting, not working: it needs more slots, not a bigger machine.",
                server_fig,
            ),
        ]
    )
    return page(f"tunicorn bench · {result.target}", header, body, blocks.footer("bench"))


# -- tune -------------------------------------------------------------------------------------


def _trial_row(trial: Trial, pick: str, baselines: dict[str, Baseline]) -> tuple[str, list[str]]:
    picked = trial.key == pick
    cls = "pick" if picked else ("" if trial.feasible else "infeasible")
    mem = trial.server.pss_mib_peak if trial.server else 0.0
    name = ("★ " if picked else "") + trial.config.effective().label
    if trial.key in baselines:
        name += f" ({baselines[trial.key].name})"
    measured = trial.requests > 0
    note = trial_note(trial) or ("" if trial.feasible else f"not usable: {trial.reason}")
    cells = [
        name,
        str(trial.config.slots),
        trial.source,
        judged_capacity(trial) if trial.feasible else "–",
        num(trial.throughput_rps) if measured else "–",
        num(trial.latency_ms.p95) if measured else "–",
        num(mem)
        if mem
        else (f"~{num(trial.predicted_pss_mib)}" if trial.predicted_pss_mib else "–"),
        f"{trial.errors:,}" if measured else "–",
        note,
    ]
    return cls, cells


def judged_capacity(trial: Trial) -> str:
    """The capacity cell: for a kept-alive capacity dealt again, the low end of its hands
    (marked †; the note beside it gives the hands), as rank judges it."""
    if rank.dealt(trial):
        return capacity_text(rank.figure(trial), rank.ci(trial)) + " †"
    return capacity_text(trial.capacity_rps, trial.capacity_ci)


def tune_cards(result: TuneResult) -> list[Card]:
    rec = result.recommendation
    c = result.constraints
    cards = []
    default = result.baseline(plots.DEFAULT_ROLE)
    if rec is not None:
        sub = ""
        if default is not None and default.capacity_rps > 0:
            times = rec.capacity_rps / default.capacity_rps
            sub = f"{times:,.0f}× the default's {num(default.capacity_rps)}"
        figure = capacity_text(rec.capacity_rps, rec.capacity_ci)
        cards.append(Card("Capacity (pick)", f"{figure} req/s", sub))
        cards.append(
            Card(
                "p95 latency (pick)",
                f"{num(rec.latency_ms.p95)} ms",
                f"SLO ≤ {num(c.slo_p95_ms)} ms",
            )
        )
        share = (
            f"{rec.pss_mib_peak / c.memory_mib:.0%} of {num(c.memory_mib)} MiB"
            if c.memory_mib
            else ""
        )
        cards.append(Card("Memory (PSS peak)", f"{num(rec.pss_mib_peak)} MiB", share))
    elif default is not None:
        cards.append(Card(default.name, f"{num(default.capacity_rps)} req/s", "capacity"))
    run = sum(1 for t in result.trials if t.requests > 0)
    cards.append(
        Card(
            "Trials",
            f"{run} measured",
            f"of {len(result.trials)} considered · {result.elapsed_s:,.0f} s",
        )
    )
    return cards


def render_tune(result: TuneResult) -> str:
    body = _tune_figures(result) + _trials_table(result)
    if result.workload is not None:
        body += workload_section(result.workload)
    return page(
        f"tunicorn tune · {result.app or result.target}", _tune_header(result), body,
        blocks.footer("tune"),
    )  # fmt: skip


def _tune_header(result: TuneResult) -> str:
    """The verdict, the commands to deploy, the cards, the reasons and the warnings."""
    rec = result.recommendation
    c = result.constraints
    plan = f"{c.plan} · " if c.plan else ""
    kicker = (
        f"tunicorn tune · {result.app or result.target} · {plan}{c.cpus} vCPU, "
        f"{num(c.memory_mib)} MiB · SLO p95 ≤ {num(c.slo_p95_ms)} ms"
    )
    verdict = result.verdict
    if not verdict:
        verdict = (
            f"Use {rec.workers} workers × {rec.threads} threads ({rec.worker_class}): "
            f"{num(rec.capacity_rps)} req/s within the SLO."
            if rec is not None
            else "No configuration met the latency target without errors within the memory budget."
        )
    commands = ""
    if rec is not None:
        commands += blocks.command(
            "cmd-startup",
            "Startup command (App Service → Configuration → General settings → Startup Command)",
            rec.startup_command,
        )
        if rec.az_command:
            commands += blocks.command("cmd-az", "Or with the Azure CLI", rec.az_command)
        if rec.app_settings:
            commands += blocks.command("cmd-settings", "App settings", rec.app_settings)
    added = [upstream_line(a) for a in result.upstream]
    reasons = blocks.bullets([*(rec.reasons if rec is not None else ()), *added], "reasons")
    return (
        f'<header class="top{"" if rec is not None else " warn"}">'
        f'<p class="kicker">{esc(kicker)}</p>'
        f'<h1 class="verdict">{esc(verdict)}</h1>{commands}{blocks.cards(tune_cards(result))}'
        f"{reasons}{blocks.bullets(result.warnings, 'warnings')}</header>"
    )


def _tune_figures(result: TuneResult) -> str:
    """The run's figures, each with what it shows and how to read it."""
    c = result.constraints
    figures = result.model
    r_ms = figures.wall_ms if figures is not None else 0.0
    little = (
        f" The dashed line is Little's law: with C slots and {num(r_ms)} ms per request, at most "
        "C ÷ R requests per second."
        if r_ms > 0
        else ""
    )
    cpu = figures.cpu_bound_rps if figures is not None else 0.0
    cpu_text = (
        f" The dotted line is the CPU bound: {num(cpu)} req/s on {c.cpus} core(s)." if cpu else ""
    )
    return blocks.figures(
        [
            Figure(
                "capacity",
                "Capacity by configuration",
                "Each cell is a workers × threads setting tune measured: the highest request rate "
                "it "
                "served with p95 within the SLO and no errors. ✕ marks settings that could not be "
                "used (over the memory budget, errors, or failed to start); dashed boxes are the "
                "baselines, the green box is the pick.",
                plots.capacity_heatmap(result),
            ),
            Figure(
                "model",
                "Throughput against concurrent slots",
                "More slots help only while requests mostly wait; once the CPU is busy, extra "
                "slots "
                "just queue." + little + cpu_text,
                plots.throughput_vs_slots(result),
            ),
            Figure(
                "latency",
                "Latency percentiles per trial",
                "p50, p95 and p99 of each configuration under saturating load (log scale), against "
                "the p95 target. Few slots mean long queues: latency falls as slots are added, "
                "until the CPU saturates.",
                plots.latency_per_trial(result),
            ),
            Figure(
                "stall",
                "The finalists under a stalled upstream",
                "Each finalist at one offered load while a share of requests waits on a slow "
                "upstream: the p95 of the other requests, against the SLO (✕: it gives way). "
                "The stall model (docs/stalls.md) holds a server while at most "
                "5% of the others find every slot held by a stalled request (their number is "
                "Poisson with mean load × share × wait, by Little's law) and the free slots keep "
                "up with the rest; the dotted lines are where it says the seed's 1×1 and the "
                "pick give way.",
                plots.stall_finalists(result),
            ),
            Figure(
                "over-time",
                "CPU and memory over time",
                "Why the slow app looked healthy: with App Service's default of 1 worker × 1 "
                "thread, CPU and memory stay flat and low while users queue, because only one "
                "request runs at a time. The pick serves many at once and uses the machine.",
                plots.pick_vs_default(result),
            ),
            Figure(
                "profile-routes",
                "Where the time goes, per route",
                "Each route measured alone at concurrency 1. Waiting time (I/O, external APIs) "
                "can overlap across threads; computing time cannot, because of the GIL: it needs "
                "more workers (processes) and cores.",
                plots.profile_routes(result.profile),
            ),
            Figure(
                "profile-ladder",
                "How many requests one process serves at once",
                "One worker under 1, 2, 4, … requests at once. Where throughput stops growing "
                "is its limit: the GIL when it keeps a core busy, else a pool or a lock inside "
                "the app; threads beyond it only queue, so workers make up the rest.",
                plots.process_ladder(result.profile),
            ),
            Figure(
                "profile-memory",
                "Memory per worker and per thread",
                "Each worker is a whole copy of the app; each thread adds only a stack. This is "
                "what keeps workers × threads inside the plan's memory.",
                plots.profile_memory(result),
            ),
        ]
    )


def _trials_table(result: TuneResult) -> str:
    """Every trial, the pick first, then the usable ones by the figure rank judges."""
    pick = plots.pick_key(result)
    baselines = plots.baselines_by_trial(result)
    trials = sorted(result.trials, key=lambda t: (t.key != pick, not t.feasible, -rank.figure(t)))
    return blocks.table(
        "All trials",
        "Capacity is the highest rate that met the SLO with no errors, ± the half-width of its "
        "95% interval (per-second throughput of the run that showed it); throughput is what the "
        "configuration served under saturating load. Memory with ~ is predicted, not measured.",
        [
            "configuration",
            "slots",
            "source",
            "capacity req/s",
            "throughput req/s",
            "p95 ms",
            "PSS MiB",
            "errors",
            "note",
        ],
        [_trial_row(t, pick, baselines) for t in trials],
    )


def workload_section(workload: Workload) -> str:
    """What was loaded (route, source, pre-flight status, share, CPU and waiting ms) and what
    was left out, by reason, as the terminal prints them."""
    from tunicorn.report.terminal import left_out_lines

    rows = [
        ("", [f"{r.method} {r.path}", r.source,
              (str(r.status) if r.status else "—") + (f" ← {r.via}" if r.via else ""),
              f"{r.share:.0%}", num(r.cpu_ms) if r.cpu_ms is not None else "—",
              num(r.wait_ms) if r.wait_ms is not None else "—"])
        for r in workload.routes
    ]  # fmt: skip
    lead = (
        "Each route was requested at concurrency 1 before the load (the pre-flight); only routes "
        "answering 2xx are loaded. CPU and waiting ms per request come from the profile."
    )
    section = blocks.table(
        "Workload", lead, ["route", "from", "pre-flight", "share", "CPU ms", "wait ms"], rows
    )
    left = left_out_lines(workload)
    if left:
        section += (
            f'<section class="table"><h2>Left out ({len(workload.left_out)})</h2>'
            + blocks.bullets(left, "left-out") + "</section>"
        )  # fmt: skip
    if workload.notes:
        section += blocks.bullets(workload.notes, "warnings")
    return section


# -- probe ------------------------------------------------------------------------------------


def render_probe(probe: ProbeResult) -> str:
    eff = probe.effective_concurrency
    cards = [
        Card(
            "Effective concurrency",
            "no firm answer" if eff is None else f"{'≥ ' if probe.at_least else ''}{eff}",
            "requests served at once"
            + (f" · {probe.confidence} confidence" if probe.confidence not in ("", "none") else ""),
        ),
        Card("One request alone", f"{num(probe.single_latency_ms)} ms"),
        Card("Server header", probe.server or "not sent", probe.hint),
        Card("Sent", f"{probe.requests:,} requests", f"in {num(probe.elapsed_s)} s"),
    ]
    notes = [probe.next_step] if probe.next_step else []
    if probe.sureness:
        notes.insert(0, f"How sure: {probe.sureness}.")
    if probe.expect is not None:
        notes.insert(0, expectation_text(probe))
    header = (
        f'<header class="top{" warn" if probe.serial else ""}"><p class="kicker">tunicorn probe · '
        f'{esc(probe.url)}</p><h1 class="verdict">Effective concurrency: {esc(probe.verdict)}</h1>'
        f"{blocks.cards(cards)}{blocks.bullets(notes, 'reasons')}"
        f"{blocks.bullets(probe.warnings, 'warnings')}</header>"
    )
    body = blocks.figures(
        [
            Figure(
                "probe-throughput",
                "Throughput by wave",
                "probe sends waves of 1, 2, 4 … requests at once. A server that runs them in "
                "parallel climbs the dashed line; one that runs them one at a time stays on the "
                "dotted one, however many are sent.",
                plots.probe_throughput(probe),
            ),
            Figure(
                "probe-latency",
                "Latency by wave",
                "On a serial server each wave takes as long as its requests one after another, so "
                "latency grows with the wave size.",
                plots.probe_latency(probe),
            ),
        ]
    )
    rows = []
    for w in probe.waves:
        errors = sum(w.errors.values())
        rows.append(
            (
                "",
                [
                    str(w.concurrency),
                    num(w.wall_ms),
                    num(w.throughput_rps),
                    num(w.latency_ms.p50),
                    num(w.latency_ms.p95),
                    str(w.first_round),
                    num(w.busy_slots),
                    f"{errors:,}" if errors else "",
                ],
            )
        )
    body += blocks.table(
        "Waves",
        "Each wave's requests were sent at the same moment. First round: the answers that came "
        "back within half a service time of the earliest, the requests served at once; X·T: "
        "throughput × one request's latency (Little's law), the slots busy on average.",
        [
            "requests at once",
            "wave wall ms",
            "req/s",
            "p50 ms",
            "p95 ms",
            "first round",
            "X·T",
            "errors",
        ],
        rows,
    )
    return page(f"tunicorn probe · {probe.url}", header, body, blocks.footer("probe"))


# -- files ------------------------------------------------------------------------------------


def write(path: str | Path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_bench(result: BenchResult, path: str | Path) -> Path:
    return write(path, render_bench(result))


def write_tune(result: TuneResult, path: str | Path) -> Path:
    return write(path, render_tune(result))


def write_probe(probe: ProbeResult, path: str | Path) -> Path:
    return write(path, render_probe(probe))
