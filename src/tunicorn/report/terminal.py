"""The terminal summary of each record: a short table a person reads in five seconds.

The live commands and `tunicorn report RUN.json` call the same printer with the same record,
so a saved run reads exactly as it did when it ran. Results go to `out` (stdout); the
warnings that probe, check and recommend have always sent to stderr go to `err`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tunicorn import interval
from tunicorn.app import redact
from tunicorn.decide import rank
from tunicorn.record import (
    BenchResult,
    ProcessLimit,
    Profile,
    Recommendation,
    StallCheck,
    StalledStats,
    Trial,
    TuneResult,
    UpstreamDelay,
    Workload,
)
from tunicorn.report import console
from tunicorn.report.phrases import upstream_line
from tunicorn.run import eventloop

if TYPE_CHECKING:
    from tunicorn.load import LoadSpec, Request


def describe_load(spec: LoadSpec) -> str:
    if spec.locust is not None:
        o = spec.locust
        remote = f" + {o.expect_workers} remote" if o.expect_workers else ""
        where = f"{o.processes} local{remote}"
        return (
            f"{spec.concurrency} Locust users from {o.locustfile} on {where} worker(s), "
            f"{spec.duration_s:g} s after {spec.warmup_s:g} s warm-up"
        )
    if spec.rate is None:
        how = f"closed loop, {spec.concurrency} clients"
    else:
        how = f"open loop, {spec.rate:g} req/s (at most {spec.concurrency} connections)"
    stall = ""
    if spec.stall_share > 0:
        stall = f"; {spec.stall_share:.0%} of requests stall {spec.stall_s:g} s in the app"
    return (
        f"{how}, {spec.duration_s:g} s after {spec.warmup_s:g} s warm-up, "
        + describe_requests(spec.requests)
        + stall
    )


SHOWN_REQUESTS = 8


def describe_requests(requests: tuple[Request, ...]) -> str:
    """The mix as the terminal shows it: method, path (query values redacted, `redact.path`)
    and weight; the setup requests (`once`) said apart, as they are not measured."""
    mix = [r for r in requests if not r.once]
    setup = [r for r in requests if r.once]
    weights: dict[str, float] = {}  # requests that differ only in hidden values: one entry
    for r in mix:
        name = ("" if r.method == "GET" else f"{r.method} ") + redact.path(r.path)
        weights[name] = weights.get(name, 0.0) + r.weight
    shown = [
        name + (f"×{weight:g}" if len(mix) > 1 else "")
        for name, weight in list(weights.items())[:SHOWN_REQUESTS]
    ]
    if len(weights) > SHOWN_REQUESTS:
        shown.append(f"and {len(weights) - SHOWN_REQUESTS} more")
    text = "GET " + ", ".join(shown)
    if setup:
        text += " (each client first: " + ", ".join(
            f"{r.method} {redact.path(r.path)}" for r in setup
        ) + ", not measured)"
    return text


def ms(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def errors_text(result: BenchResult) -> str:
    if not result.errors:
        return "none"
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(result.errors_by_kind.items()) if v)
    return f"{result.errors} ({kinds})"


def stalled_text(st: StalledStats) -> str:
    """The stalled requests (--stall), apart from the others whose figures the table gives."""
    errors = ", ".join(f"{k} {v}" for k, v in sorted(st.errors_by_kind.items()) if v)
    return (
        f"{st.requests:,} requests ({st.share:.0%} marked) waited {st.stall_s:g} s in the app: "
        f"p50 {ms(st.latency_ms.p50)}  max {ms(st.latency_ms.max)} ms; "
        f"errors {errors or 'none'} (the rows above are the other requests)"
    )


def bench_table(result: BenchResult) -> Table:
    config = result.config.label if result.config else "already running"
    if result.program == "uvicorn" and result.config is not None:
        config = f"uvicorn --workers {result.config.workers}"
    info = result.load
    if info.engine == "locust":
        load = f"{info.users} Locust users on {info.workers} worker(s) (Locust {info.version})"
    elif result.mode == "closed":
        load = f"closed loop, {result.concurrency} clients"
    else:
        load = f"open loop at {result.rate:g} req/s"
    table = Table(
        title=f"{result.target} · {config} · {load} · {result.duration_s:g} s",
        show_header=False, box=None, pad_edge=False, title_justify="left",
    )  # fmt: skip
    table.add_column(style="bold")
    table.add_column()
    table.add_row(
        "Throughput", f"{result.throughput_rps:,.1f} req/s  ({result.requests:,} requests)"
    )
    lat = result.latency_ms
    table.add_row(
        "Latency ms",
        f"p50 {ms(lat.p50)}  p90 {ms(lat.p90)}  p95 {ms(lat.p95)}  "
        f"p99 {ms(lat.p99)}  max {ms(lat.max)}",
    )
    table.add_row("Errors", errors_text(result))
    if result.stalled is not None:
        table.add_row("Stalled", stalled_text(result.stalled))
    for e in info.endpoints:
        table.add_row(
            f"  {e.method} {escape(e.name)}",
            f"{e.throughput_rps:,.1f} req/s  p50 {ms(e.latency_ms.p50)}  "
            f"p95 {ms(e.latency_ms.p95)} ms  failures {e.failures}",
        )
    if result.server is not None:
        s = result.server
        cores = f" of {len(result.cpus)} pinned" if result.cpus else ""
        table.add_row(
            "Server CPU", f"{s.cpu_cores_busy:.2f} cores busy{cores} ({s.cpu_seconds:.1f} s)"
        )
        mem = "PSS" if s.memory_source == "pss" else "RSS (PSS unreadable)"
        table.add_row(
            "Server memory", f"{s.pss_mib_peak:,.1f} MiB {mem} peak, {s.processes_peak} processes"
        )
        if len(s.worker_connections) > 1 and sum(s.worker_connections) > 0:
            # Kept-alive connections stay where the accept race put them: show the hand.
            table.add_row(
                "Connections",
                " / ".join(map(str, s.worker_connections)) + " per worker, halfway through",
            )
    c = result.client
    table.add_row(
        "Client CPU",
        f"{c.cpu_seconds:.2f} s ({c.cpu_ms_per_request:.3f} ms/request, "
        f"{c.busy_fraction:.0%} of a core)",
    )
    return table


def print_bench(result: BenchResult, out: Console | None = None) -> None:
    out = out or console.stdout
    out.print(bench_table(result))
    print_upstream(result.upstream, out)
    for warning in result.warnings:
        out.print(f"[yellow]![/] {warning}")


def print_upstream(added: tuple[UpstreamDelay, ...], out: Console | None = None) -> None:
    out = out or console.stdout
    if added:
        out.print("[bold]Production's waits, added here (--upstream):[/]")
        for one in added:
            out.print(f"  {escape(upstream_line(one))}", soft_wrap=True)
        if not any(a.connections for a in added):
            out.print(
                "[yellow]![/] The app opened no connection through the proxy: it does not read "
                "that variable (or connects before the server starts), so nothing was delayed."
            )


# -- workload ---------------------------------------------------------------------------------


def left_out_lines(workload: Workload, examples: int = 3) -> list[str]:
    """What was left out, by reason: "104 × Django's admin, which needs a login (/admin/, …)"."""
    by_reason: dict[str, list[str]] = {}
    for x in workload.left_out:
        by_reason.setdefault(x.reason, []).append(x.path)
    lines = []
    for reason, paths in sorted(by_reason.items(), key=lambda kv: -len(kv[1])):
        shown = ", ".join(paths[:examples]) + (", …" if len(paths) > examples else "")
        lines.append(f"{len(paths)} × {reason} ({shown})")
    return lines


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def workload_table(workload: Workload) -> Table:
    """Route, where it came from, its status at pre-flight, its share of the load, and (once
    profiled) its CPU and waiting time per request."""
    profiled = any(r.cpu_ms is not None for r in workload.routes)
    crawled = f", {workload.crawled} pages crawled" if workload.crawled else ""
    checked = f", pre-flight {workload.preflight_s:.1f} s" if workload.preflight_s else ""
    table = Table(
        title=f"Workload ({_count(len(workload.routes), 'route')}{crawled}{checked})",
        title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
    )  # fmt: skip
    get_only = all(r.method == "GET" for r in workload.routes)
    seen = any(r.seen for r in workload.routes)
    columns = ["GET route" if get_only else "route", "from", "pre-flight", "share"]
    if seen:
        columns.insert(3, "in the traffic")
    if profiled:
        columns += ["CPU ms", "wait ms"]
    for name in columns:
        left = name in ("route", "GET route", "from", "pre-flight")
        table.add_column(name, justify="left" if left else "right", overflow="fold")
    for r in workload.routes:
        status = str(r.status) if r.status else "—"
        if r.via:
            status += f" ← {r.via}"  # the route that redirected here
        route = r.path if get_only else f"{r.method} {r.path}"
        row = [escape(route), r.source, escape(status), f"{r.share:.0%}"]
        if seen:
            row.insert(3, escape(r.seen or "—"))
        if profiled:
            row += [ms(r.cpu_ms) if r.cpu_ms is not None else "—",
                    ms(r.wait_ms) if r.wait_ms is not None else "—"]  # fmt: skip
        table.add_row(*row)
    return table


def print_workload(workload: Workload, out: Console | None = None) -> None:
    """The workload table, then what was left out and why, then what to give for a login."""
    out = out or console.stdout
    out.print(workload_table(workload))
    lines = left_out_lines(workload)
    if lines:
        out.print(f"Left out ({len(workload.left_out)}):")
        for line in lines:
            out.print(f"  {escape(line)}", soft_wrap=True)
    for note in workload.notes:
        out.print(f"[yellow]![/] {escape(note)}", soft_wrap=True)


# -- tune and profile ---------------------------------------------------------------------------

_REASONS = {
    "memory": "over memory",
    "errors": "errors",
    "slo": "over SLO",
    "failed": "failed to run",
    "slower": "slower",
    "interface": "cannot serve it",
}


def trial_status(trial: Trial) -> str:
    status = "ok" if trial.feasible else _REASONS.get(trial.reason, trial.reason)
    if trial.runs:
        status += f" ({trial.pooled or 'pooled'} of {len(trial.runs)} runs)"
    return status


def trial_line(trial: Trial, prefix: str) -> str:
    if trial.feasible:
        hands = rank.dealt_text(trial)
        return (
            f"{prefix}  capacity {interval.text(trial.capacity_rps, trial.capacity_ci)} req/s  "
            f"p95 {ms(trial.latency_ms.p95)} ms  "
            f"{trial.server.pss_mib_peak if trial.server else 0:,.0f} MiB"
            + (f"\n{' ' * len(prefix)}  {hands}" if hands else "")
        )
    if trial.reason == "slower":  # usable, just not better: no cross
        return f"{prefix}  [dim]↓ slower: {escape(trial.note)}[/]"
    return f"{prefix}  [yellow]✗ {trial_status(trial)}[/]: {escape(trial.note)}"


def judged_text(trial: Trial) -> str:
    """The capacity column: the figure rank judges a trial by, marked † where it is the low
    end of kept-alive hands dealt again (the table's caption gives the hands)."""
    if rank.dealt(trial):
        return interval.text(rank.figure(trial), rank.ci(trial)) + " †"
    return interval.text(trial.capacity_rps, trial.capacity_ci)


def _ratio(a: float, b: float) -> str:
    if b <= 0:
        return "∞" if a > 0 else "—"
    return f"{a / b:.1f}×"


def tune_tables(result: TuneResult) -> list[Table]:
    c = result.constraints
    trials = Table(
        title=f"Trials ({len(result.trials)}, {result.elapsed_s:.0f} s) — capacity = highest rate "
        f"with p95 ≤ {c.slo_p95_ms:.0f} ms and no errors",
        title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
    )  # fmt: skip
    for name, justify in (
        ("configuration", "left"), ("from", "left"), ("capacity req/s", "right"),
        ("peak req/s", "right"), ("p95 ms", "right"), ("PSS MiB", "right"),
        ("CPU cores", "right"), ("status", "left"),
    ):  # fmt: skip
        trials.add_column(name, justify=justify)  # type: ignore[arg-type]
    rec = result.recommendation
    order = sorted(
        result.trials, key=lambda t: (not t.feasible, -rank.figure(t), -t.throughput_rps)
    )
    pick = rec.trial if rec is not None else ""
    for t in order:
        picked = t.key == pick
        measured = t.server is not None
        trials.add_row(
            t.config.label + (" ◀ pick" if picked else ""),
            t.source,
            judged_text(t) if t.feasible else "—",
            f"{t.throughput_rps:,.1f}" if measured else "—",
            ms(t.latency_ms.p95) if measured else "—",
            f"{t.server.pss_mib_peak:,.0f}" if t.server else f"~{t.predicted_pss_mib:,.0f}",
            f"{t.server.cpu_cores_busy:.2f}" if t.server else "—",
            trial_status(t),
            style="bold green" if picked else ("dim" if not t.feasible else None),
        )
    dealt = [t for t in order if rank.dealt(t)]
    if dealt:  # where a kept-alive capacity depended on where the connections landed
        trials.caption = "\n".join(
            escape(
                f"† {t.config.label}: {rank.dealt_text(t)} (its best window "
                f"{interval.text(t.capacity_rps, t.capacity_ci)})"
            )
            for t in dealt
        )
        trials.caption_justify = "left"
    tables = [trials]
    if rec is not None and result.baselines:
        base = Table(
            title="Against the rules of thumb (same run)", title_justify="left",
            box=box.SIMPLE_HEAD, pad_edge=False,
        )  # fmt: skip
        for name, justify in (
            ("baseline", "left"), ("config", "left"), ("capacity req/s", "right"),
            ("p95 ms", "right"), ("PSS MiB", "right"), ("pick's capacity", "right"),
        ):  # fmt: skip
            base.add_column(name, justify=justify)  # type: ignore[arg-type]
        for b in result.baselines:
            base.add_row(
                b.name, f"{b.workers}×{b.threads} {b.worker_class}",
                interval.text(b.capacity_rps, b.capacity_ci) if b.feasible
                else f"— ({b.reason or 'infeasible'})"[:60],
                ms(b.latency_ms.p95) if b.latency_ms.p95 else "—",
                f"{b.pss_mib_peak:,.0f}",
                _ratio(rec.capacity_rps, b.capacity_rps)
                + (" (tie)" if b.feasible and interval.overlap(rec.capacity_ci, b.capacity_ci)
                   and rec.capacity_ci[1] > 0 and b.capacity_ci[1] > 0 else ""),
            )  # fmt: skip
        tables.append(base)
    if result.stall is not None and result.stall.runs:
        tables.append(stall_table(result.stall))
    return tables


_ROLES = {
    "app-service-default": "1×1 default",
    "multiworkers": "MULTIWORKERS",
    "seed-3x6": "the seed's 3×6",
    "most-slots": "most slots",
    "more-slots": "the model's slots",
}


def stall_table(check: StallCheck) -> Table:
    """Each finalist under the stall check: holds or not, with the others' figures."""
    table = Table(
        title=f"Under a stalled upstream: {check.share:.0%} of requests wait {check.stall_s:g} s, "
        f"open loop at {check.rate_rps:g} req/s ({check.rate_basis}), {check.duration_s:g} s each",
        title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
    )  # fmt: skip
    for name, justify in (
        ("configuration", "left"), ("role", "left"), ("others' p95 ms", "right"),
        (f"within {check.slo_p95_ms:.0f} ms", "right"), ("stalled", "right"),
        ("errors", "right"), ("slots give way (model)", "right"), ("verdict", "left"),
    ):  # fmt: skip
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in check.runs:
        picked = r.trial == check.picked
        way = "never" if r.gives_way_rps is None else f"{r.gives_way_rps:,.1f}"
        table.add_row(
            r.config.label + (" ◀ pick" if picked else ""), _ROLES.get(r.role, r.role),
            ms(r.latency_ms.p95) if r.requests else "—",
            f"{r.within_slo:.0%}" if r.requests else "—",
            f"{r.stalled.requests:,}", f"{r.errors:,}", way,
            "holds" if r.holds else "gives way",
            style="bold green" if picked else (None if r.holds else "yellow"),
        )  # fmt: skip
    return table


def print_tune(result: TuneResult, out: Console | None = None) -> None:
    out = out or console.stdout
    if result.workload is not None:
        print_workload(result.workload, out)
    for table in tune_tables(result):
        out.print(table)
    print_upstream(result.upstream, out)
    rec = result.recommendation
    out.print(f"[bold]{escape(result.verdict)}[/]")
    if rec is not None:
        out.print("\n[bold]Why[/]")
        for reason in rec.reasons:
            out.print(f"  • {escape(reason)}")
        out.print(
            "\n[bold]App Service startup command[/] "
            "(Configuration → General settings → Startup Command):"
        )
        out.print(f"  {escape(rec.startup_command)}", soft_wrap=True)
        if rec.az_command:
            out.print("\n[bold]With the az CLI[/]:")
            for line in rec.az_command.splitlines():
                out.print(f"  {escape(line)}", soft_wrap=True)
        if rec.app_settings:
            out.print("\n[bold]Or with app settings[/] (no startup command):")
            for line in rec.app_settings.splitlines():
                out.print(f"  {escape(line)}", soft_wrap=True)
        elif rec.worker_class == "uvicorn":
            out.print(
                "\nApp settings cannot choose an ASGI worker (without a startup command App "
                "Service runs sync gunicorn, which cannot serve this app): use the startup command."
            )
        print_packages(rec, out)
    for warning in result.warnings:
        out.print(f"[yellow]![/] {escape(warning)}")


def print_packages(rec: Recommendation, out: Console | None = None) -> None:
    """What the pick needs installed where it runs, and the lines the project must add."""
    out = out or console.stdout
    if not rec.packages:
        return
    file = rec.requirements_file or "requirements.txt"
    out.print(f"\n[bold]Packages it needs[/] (App Service installs only what {file} lists):")
    for p in rec.packages:
        tested = f"{p.tested} tested" if p.tested else "not installed here"
        if p.listed:
            state = f"in {file} as {p.listed}"
        elif rec.requirements_file:
            state = f"[bold red]missing from {file}[/]"
        else:
            state = "no requirements file to compare"
        out.print(f"  {escape(p.name)} ({tested}) for {escape(p.why)}: {state}", soft_wrap=True)
    if rec.requirements_add:
        what = "its [project] dependencies" if file == "pyproject.toml" else file
        out.print(f"[bold]Add to {escape(what)}[/]:")
        for line in rec.requirements_add:
            out.print(f"  {escape(line)}", soft_wrap=True)


def print_profile(result: Profile, out: Console | None = None) -> None:
    out = out or console.stdout
    if result.workload is not None:
        print_workload(result.workload, out)
    asgi = result.interface == "asgi"
    where = "one uvicorn worker" if asgi else "1 worker × 1 thread"
    table = Table(
        title=f"{result.app} — one request at a time on {where}",
        title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
    )  # fmt: skip
    columns = ["route", "wall ms", "CPU ms", "waiting ms", "W/C", "requests"]
    parallel = max((r.parallel_clients for r in result.routes), default=0)
    if asgi:
        columns += ["handler", f"{parallel} at once req/s", "in service"]
    for name in columns:
        table.add_column(name, justify="left" if name in ("route", "handler") else "right")
    for r in result.routes:
        wc = r.wait_compute_ratio
        row = [
            f"{r.method} {r.path}", ms(r.wall_ms), ms(r.cpu_ms), ms(r.wait_ms),
            "∞" if wc == float("inf") else f"{wc:.1f}",
            f"{r.requests}" + (f" ({r.errors} errors)" if r.errors else ""),
        ]  # fmt: skip
        if asgi:
            blocked = " ✗ blocks the loop" if eventloop.blocks_loop(r) else ""
            row += [r.handler or "—", f"{r.parallel_rps:,.1f}",
                    f"{eventloop.in_service(r):.1f}{blocked}"]  # fmt: skip
        table.add_row(*row)
    out.print(table)
    wc = result.wait_compute_ratio
    out.print(
        f"Workload mean: {ms(result.wall_ms)} ms wall, {ms(result.cpu_ms)} ms CPU → W/C "
        f"{'∞' if wc == float('inf') else f'{wc:.1f}'}: "
        f"about {('many' if wc == float('inf') else f'{1 + wc:.0f}')} "
        "requests in flight keep one core busy (threads per core ≈ 1 + W/C)."
    )
    m = result.memory
    threads = "" if asgi else f"+{m.per_thread_mib:,.2f} MiB per extra thread. "
    out.print(
        f"Memory ({m.source.upper()}): {m.base_mib:,.1f} MiB for {where}, "
        f"+{m.per_worker_mib:,.1f} MiB per extra worker{', ' if threads else '. '}{threads}"
        f"Startup {result.startup_s:.2f} s."
    )
    if asgi and result.process is not None:
        limit = result.process
        shown = f"about {limit.limit:.0f}" if limit.bounded else f"at least {limit.limit:.0f}"
        out.print(
            f"One uvicorn worker served {shown} requests at once on this workload"
            + (f" (plain def routes: a thread pool of {result.thread_pool} per worker)."
               if result.thread_pool else ".")
        )  # fmt: skip
    else:
        for found in (result.process, result.gevent_process):
            if found is not None:
                out.print(process_limit_line(found))
    print_upstream(result.upstream, out)
    for warning in result.warnings:
        out.print(f"[yellow]![/] {escape(warning)}")


def process_limit_line(limit: ProcessLimit) -> str:
    """One process's limit in a sentence, from the profile's ladder."""
    what = "gevent worker" if limit.worker_class == "gevent" else "worker (threads)"
    ladder = ", ".join(f"{st.clients}: {st.throughput_rps:,.0f}" for st in limit.steps)
    top = max(st.clients for st in limit.steps)
    if not limit.bounded:
        verdict = f"no limit up to {top} requests at once (throughput kept growing)"
    elif limit.cause == "cpu":
        verdict = (
            f"at most ~{limit.limit:.0f} requests at once: by then it kept a core busy (one "
            "process runs Python on one core at a time, the GIL)"
        )
    else:
        verdict = (
            f"at most ~{limit.limit:.0f} requests at once: something in it holds a pool or a "
            f"lock of about {limit.limit:.0f}"
        )
    return f"One {what}: {verdict}. Requests at once → req/s: {ladder}."


