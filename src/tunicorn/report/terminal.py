"""The terminal summary of a run: a short table a person reads in five seconds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from tunicorn.record import BenchResult
from tunicorn.report import console

if TYPE_CHECKING:
    from tunicorn.load import LoadSpec


def describe_load(spec: LoadSpec) -> str:
    paths = ", ".join(
        r.path + (f"×{r.weight:g}" if len(spec.requests) > 1 else "") for r in spec.requests
    )
    if spec.rate is None:
        how = f"closed loop, {spec.concurrency} clients"
    else:
        how = f"open loop, {spec.rate:g} req/s (at most {spec.concurrency} connections)"
    return f"{how}, {spec.duration_s:g} s after {spec.warmup_s:g} s warm-up, GET {paths}"


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


def bench_table(result: BenchResult) -> Table:
    config = result.config.label if result.config else "already running"
    load = (
        f"closed loop, {result.concurrency} clients"
        if result.mode == "closed"
        else f"open loop at {result.rate:g} req/s"
    )
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
        f"p50 {ms(lat.p50)}  p90 {ms(lat.p90)}  p95 {ms(lat.p95)}  p99 {ms(lat.p99)}  max {ms(lat.max)}",
    )
    table.add_row("Errors", errors_text(result))
    if result.server is not None:
        s = result.server
        cores = f" of {len(result.cpus)} pinned" if result.cpus else ""
        table.add_row("Server CPU", f"{s.cpu_cores_busy:.2f} cores busy{cores} ({s.cpu_seconds:.1f} s)")
        mem = "PSS" if s.memory_source == "pss" else "RSS (PSS unreadable)"
        table.add_row(
            "Server memory", f"{s.pss_mib_peak:,.1f} MiB {mem} peak, {s.processes_peak} processes"
        )
    c = result.client
    table.add_row(
        "Client CPU",
        f"{c.cpu_seconds:.2f} s ({c.cpu_ms_per_request:.3f} ms/request, {c.busy_fraction:.0%} of a core)",
    )
    return table


def print_bench(result: BenchResult, out: Console | None = None) -> None:
    out = out or console.stdout
    out.print(bench_table(result))
    for warning in result.warnings:
        out.print(f"[yellow]![/] {warning}")
