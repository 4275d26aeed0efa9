"""The terminal summaries of the commands that advise without a tune: probe, check, rehearse,
recommend.

Like `report.terminal` (the measured runs: bench, workload, profile, tune), each printer takes
the command's record, so `tunicorn report RUN.json` reads as the live command did. Results go
to `out` (stdout); the warnings these commands have always sent to stderr go to `err`.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tunicorn.deploy.check import concurrency_line
from tunicorn.record import (
    CheckResult,
    ModelRecommendation,
    ProbeResult,
    Rehearsal,
)
from tunicorn.report import console
from tunicorn.report.phrases import expectation_text
from tunicorn.report.terminal import ms

# -- probe ----------------------------------------------------------------------------------


def probe_table(result: ProbeResult) -> Table:
    table = Table(title=f"Waves to {escape(result.url)}", title_justify="left")
    for name in ("at once", "wall ms", "req/s", "p50 ms", "max ms", "first round", "X·T", "errors"):
        table.add_column(name, justify="right")
    for w in result.waves:
        errors = sum(w.errors.values())
        table.add_row(
            str(w.concurrency), f"{w.wall_ms:.0f}", f"{w.throughput_rps:.1f}",
            f"{w.latency_ms.p50:.0f}", f"{w.latency_ms.max:.0f}", str(w.first_round),
            f"{w.busy_slots:.1f}", str(errors) if errors else "",
        )  # fmt: skip
    return table


def expectation_line(result: ProbeResult) -> str:
    """--expect N's outcome, the line a CI log is read for."""
    mark = "[bold green]✓" if result.meets_expectation else "[bold red]✗"
    head, _, rest = expectation_text(result).partition(" (")
    return f"{mark} {escape(head)}[/] ({escape(rest)}"


def print_probe(
    result: ProbeResult, out: Console | None = None, err: Console | None = None
) -> None:
    out = out or console.stdout
    out.print(probe_table(result))
    out.print(f"[bold]Effective concurrency:[/] {escape(result.verdict)}")
    if result.confidence and result.confidence != "none":
        spent = f"{result.requests} requests in {result.elapsed_s:.1f} s"
        out.print(f"  confidence: {result.confidence} ({spent})")
    if result.sureness:
        out.print(f"  how sure: {escape(result.sureness)}", soft_wrap=True)
    if result.expect is not None:
        out.print(expectation_line(result))
    out.print(f"[bold]Single request:[/] {result.single_latency_ms:.1f} ms")
    out.print(f"[bold]Server:[/] {escape(result.server or '(not named)')} — {escape(result.hint)}")
    out.print(f"[bold]Next:[/] {escape(result.next_step)}")
    for warning in result.warnings:
        console.warn(warning, to=err)


# -- check ----------------------------------------------------------------------------------

_FINDING_STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}
_STARTUP_SOURCE = {
    "default": "its default command; no startup command is set",
    "settings": "the site's Startup Command",
    "startup.txt": "startup.txt, as the Startup Command",
    "Dockerfile": "the Dockerfile's CMD/ENTRYPOINT (custom container)",
}


def print_check(result: CheckResult, out: Console | None = None) -> None:
    out = out or console.stdout
    source = _STARTUP_SOURCE.get(result.startup_source, result.startup_source)
    out.print(f"[bold]App Service will run[/] ({escape(source)}):")
    out.print(f"  {escape(result.platform_command)}", soft_wrap=True)
    out.print(f"  [bold]{escape(concurrency_line(result))}[/]")
    if result.server == "gunicorn":
        out.print(f"  timeout {result.timeout} s, app {escape(result.module or '?')}")
    if not result.findings:
        out.print("\n[green]No findings.[/]")
        return
    out.print()
    for f in result.findings:
        style = _FINDING_STYLE.get(f.level, "")
        out.print(f"[{style}]{f.level:<7}[/] [bold]{escape(f.code)}[/]: {escape(f.message)}",
                  soft_wrap=True)  # fmt: skip
    errors = sum(f.level == "error" for f in result.findings)
    warnings = sum(f.level == "warning" for f in result.findings)
    out.print(f"\n{errors} error(s), {warnings} warning(s).")
    if result.rehearsal is not None:
        print_rehearsal(result.rehearsal, out)


def print_rehearsal(result: Rehearsal, out: Console | None = None) -> None:
    """The rehearsal's steps in order, up to the one that failed and what to do about it."""
    out = out or console.stdout
    python = f"Python {result.python}, " if result.python else ""
    source = result.requirements or "no requirements file"
    out.print(f"\n[bold]Rehearsal of App Service's build and start[/] ({python}{source}):")
    if result.installed_s is not None:
        out.print(f"  installed in {result.installed_s:.1f} s")
    if result.booted_s is not None:
        out.print(f"  booted in {result.booted_s:.1f} s: {escape(result.command)}", soft_wrap=True)
    if result.status is not None:
        latency = f" in {ms(result.latency_ms)} ms" if result.latency_ms is not None else ""
        out.print(f"  GET {escape(result.path)} → {result.status}{latency}")
    if result.ok:
        out.print("  [bold green]✓ it builds and starts as App Service would run it.[/]")
    else:
        where = {"install": "the build failed", "boot": "it did not start",
                 "request": "the first request failed",
                 "skipped": "not rehearsed"}.get(result.stage, result.stage)  # fmt: skip
        out.print(f"  [bold red]✗ {where}:[/] {escape(result.error)}", soft_wrap=True)
        if result.action:
            out.print(f"    what to do: {escape(result.action)}", soft_wrap=True)
        if result.stage == "boot" and result.booted_s is None and result.command:
            out.print(f"    command: {escape(result.command)}", soft_wrap=True)
        if result.log_tail:
            out.print("    its last lines:")
            for line in result.log_tail:
                out.print(f"    [dim]| {escape(line)}[/]", soft_wrap=True)
    for note in result.notes:
        out.print(f"  [dim]note: {escape(note)}[/]", soft_wrap=True)
    if result.env_kept:
        out.print(f"  the environment is kept at {escape(result.env_kept)}")


# -- recommend (model only) -----------------------------------------------------------------


def print_recommend(
    result: ModelRecommendation, out: Console | None = None, err: Console | None = None
) -> None:
    out = out or console.stdout
    choice = result.recommendation
    out.print(f"[bold yellow]{escape(result.note)}[/]")
    table = Table(title="Recommendation", show_header=True, title_justify="left")
    table.add_column("workers", justify="right")
    table.add_column("threads", justify="right")
    table.add_column("class")
    table.add_column("slots", justify="right")
    table.add_column("memory (est.)", justify="right")
    table.add_row(
        str(choice.workers), str(choice.threads), choice.worker_class, str(choice.slots),
        f"{choice.memory_mib_estimate:.0f} MiB of {result.constraints.memory_mib:.0f}",
    )  # fmt: skip
    out.print(table)
    out.print("[bold]Why[/]")
    for reason in result.reasons:
        out.print(f"  • {reason}", markup=False)
    base = Table(title="Baselines (compare with tunicorn tune)", title_justify="left")
    base.add_column("name")
    base.add_column("workers × threads")
    base.add_column("from")
    for b in result.baselines:
        base.add_row(b.name, f"{b.workers} × {b.threads} {b.worker_class}", b.source)
    out.print(base)
    out.print("[bold]Startup command[/] (App Service → Configuration → Startup Command):")
    out.print(choice.startup_command, markup=False, soft_wrap=True)
    for warning in result.warnings:
        console.warn(warning, to=err)
