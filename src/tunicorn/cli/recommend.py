"""`tunicorn recommend`: the instant, model-only answer; no server, no load."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click
from rich.table import Table

from tunicorn import emit, recommend, record, settings
from tunicorn.cli import cli
from tunicorn.cli.options import machine, option
from tunicorn.errors import UsageError
from tunicorn.report import console as out


@cli.command("recommend")
@option(settings.CPUS, help="Cores of the plan.")
@option(settings.MEMORY, help="Memory of the plan, e.g. 1.75GiB or 3.5GB.")
@option(settings.PLAN, default=None, shown="",
        help="An App Service plan (B1, P1v3, …) instead of --cpus/--memory.")  # fmt: skip
@option(settings.WORKER_MEMORY, default=None,
        shown=f"{settings.WORKER_MEMORY.default:g}MiB, a small Flask app")  # fmt: skip
@option(settings.THREAD_MEMORY, default=None)
@option(settings.IO_WAIT_RATIO, default=None,
        shown=f"{settings.IO_WAIT_RATIO.default:g}, I/O-bound")  # fmt: skip
@click.option(
    "--app",
    "app",
    default=emit.DEFAULT_APP,
    show_default=True,
    help="module:app for the startup command.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also save the recommendation as JSON.",
)
def recommend_command(
    cpus: int | None,
    memory_mib: float | None,
    plan: str | None,
    worker_memory_mib: float | None,
    thread_memory_mib: float | None,
    io_wait_ratio: float | None,
    app: str,
    json_path: Path | None,
) -> None:
    """Recommend workers × threads from the models alone (not measured).

    \b
    Examples:
      tunicorn recommend --plan B1
      tunicorn recommend --cpus 2 --memory 3.5GiB --worker-memory 150MiB --io-wait-ratio 9
    """
    n_cpus, memory, plan_name = machine(plan, cpus, memory_mib)
    result = recommend.model_only(
        n_cpus,
        memory,
        plan=plan_name,
        worker_memory_mib=worker_memory_mib,
        thread_memory_mib=thread_memory_mib,
        io_wait_ratio=io_wait_ratio,
    )
    choice = result.recommendation
    spec = emit.make_spec(choice.workers, choice.threads, choice.worker_class, app=app)
    command = emit.render("azure", spec).strip()
    result = dataclasses.replace(
        result, recommendation=dataclasses.replace(choice, startup_command=command)
    )
    _print(result)
    if json_path is not None:
        try:
            record.save(result, json_path)
        except OSError as exc:
            raise UsageError(
                f"Cannot write {json_path}: {exc.strerror}; choose another --json."
            ) from None
        out.info(f"saved {json_path}")


def _print(result: record.ModelRecommendation) -> None:
    stdout = out.stdout
    choice = result.recommendation
    stdout.print(f"[bold yellow]{result.note}[/]")
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
    stdout.print(table)
    stdout.print("[bold]Why[/]")
    for reason in result.reasons:
        stdout.print(f"  • {reason}", markup=False)
    base = Table(title="Baselines (compare with tunicorn tune)", title_justify="left")
    base.add_column("name")
    base.add_column("workers × threads")
    base.add_column("from")
    for b in result.baselines:
        base.add_row(b.name, f"{b.workers} × {b.threads} {b.worker_class}", b.source)
    stdout.print(base)
    stdout.print("[bold]Startup command[/] (App Service → Configuration → Startup Command):")
    stdout.print(choice.startup_command, markup=False, soft_wrap=True)
    for warning in result.warnings:
        out.warn(warning)
