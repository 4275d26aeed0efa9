"""`tunicorn report`: re-render a saved run (terminal summary, and HTML) without any load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import msgspec

from tunicorn import record
from tunicorn.cli import cli
from tunicorn.errors import UsageError
from tunicorn.record import BenchResult, TuneResult
from tunicorn.report import console, terminal


def load_run(path: str) -> Any:
    """The saved record at `path`, or a UsageError that says in one sentence what is wrong."""
    file = Path(path)
    if not file.is_file():
        what = "is a folder" if file.is_dir() else "does not exist"
        raise UsageError(f"{path} {what}: pass the file written by --json.")
    try:
        kind = record.load_kind(file)
    except msgspec.DecodeError:
        raise UsageError(
            f"{path} is not JSON: pass the file written by tunicorn … --json."
        ) from None
    except ValueError:
        raise UsageError(
            f"{path} is JSON but not a tunicorn run (it has no 'kind'): "
            "pass the file written by --json."
        ) from None
    classes: dict[str, type[Any]] = {"bench": BenchResult, "tune": TuneResult}
    probe_cls = getattr(record, "ProbeResult", None)  # the probe branch adds it
    if probe_cls is not None:
        classes["probe"] = probe_cls
    if kind not in classes:
        raise UsageError(
            f"{path} holds a '{kind}' run, which report cannot render yet "
            f"(it renders {', '.join(classes)})."
        )
    try:
        return record.from_json(file.read_bytes(), classes[kind])
    except msgspec.ValidationError as exc:
        raise UsageError(f"{path} is a damaged or incompatible {kind} run ({exc}).") from None


def print_tune_fallback(result: TuneResult) -> None:
    """A few lines until terminal.print_tune lands (another branch writes it)."""

    def out(text: str) -> None:
        console.stdout.print(text, soft_wrap=True)  # long commands stay on one copyable line

    c = result.constraints
    out(
        f"tune · {result.app or result.target} · {c.cpus} vCPU, {c.memory_mib:,.0f} MiB · "
        f"SLO p95 ≤ {c.slo_p95_ms:,.0f} ms · {len(result.trials)} trials "
        f"in {result.elapsed_s:,.0f} s"
    )
    if result.verdict:
        out(result.verdict)
    rec = result.recommendation
    if rec is not None:
        out(
            f"Pick: {rec.workers}×{rec.threads} {rec.worker_class}: capacity "
            f"{rec.capacity_rps:,.1f} req/s, p95 {terminal.ms(rec.latency_ms.p95)} ms, "
            f"{rec.pss_mib_peak:,.1f} MiB PSS"
        )
        out(f"Startup command: {rec.startup_command}")
    for b in result.baselines:
        out(
            f"Baseline {b.name} ({b.workers}×{b.threads} {b.worker_class}): capacity "
            f"{b.capacity_rps:,.1f} req/s, p95 {terminal.ms(b.latency_ms.p95)} ms"
        )
    for warning in result.warnings:
        out(f"[yellow]![/] {warning}")


@cli.command()
@click.argument("run", metavar="RUN.json", type=click.Path(dir_okay=False))
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Also write a self-contained HTML report (works offline) to this file.",
)
def report(run: str, html_path: str | None) -> int:
    """Print the summary of a saved run, and write its HTML report with --html.

    RUN.json is what bench or tune wrote with --json; nothing is run again.

    \b
    Examples:
      tunicorn report run.json
      tunicorn report run.json --html run.html
    """
    from tunicorn.report import html

    result = load_run(run)
    if isinstance(result, BenchResult):
        terminal.print_bench(result)
        if html_path:
            html.write_bench(result, html_path)
    elif isinstance(result, TuneResult):
        # terminal.print_tune comes from another branch; fall back until it is merged.
        print_tune = getattr(terminal, "print_tune", None)
        if callable(print_tune):
            print_tune(result)
        else:
            print_tune_fallback(result)
        if html_path:
            html.write_tune(result, html_path)
    else:  # a probe record (duck-typed by html.render_probe)
        print_probe = getattr(terminal, "print_probe", None)
        if callable(print_probe):
            print_probe(result)
        else:
            console.stdout.print(str(getattr(result, "verdict", "")), soft_wrap=True)
        if html_path:
            html.write_probe(result, html_path)
    if html_path:
        console.info(f"Wrote {html_path}")
    return 0
