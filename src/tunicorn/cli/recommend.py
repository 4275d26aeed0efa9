"""`tunicorn recommend`: the instant, model-only answer; no server, no load."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from tunicorn import emit, plans, recommend, record
from tunicorn.cli import cli
from tunicorn.cli.options import NON_NEGATIVE_FLOAT, POSITIVE_INT, SIZE
from tunicorn.errors import UsageError
from tunicorn.report import console as out
from tunicorn.report import terminal


@cli.command("recommend")
@click.option("--cpus", type=POSITIVE_INT, help="Cores of the plan.")
@click.option("--memory", type=SIZE, help="Memory of the plan, e.g. 1.75GiB or 3.5GB.")
@click.option("--plan", help="An App Service plan (B1, P1v3, …) instead of --cpus/--memory.")
@click.option(
    "--worker-memory",
    type=SIZE,
    help=f"PSS of one worker, with a unit, e.g. 150MiB "
    f"[default: {recommend.DEFAULT_WORKER_MEMORY_MIB:.0f}MiB, a small Flask app].",
)
@click.option(
    "--thread-memory",
    type=SIZE,
    help=f"Memory one more thread adds [default: {recommend.DEFAULT_THREAD_MEMORY_MIB:g}MiB].",
)
@click.option(
    "--io-wait-ratio",
    type=NON_NEGATIVE_FLOAT,
    help=f"W/C: time a request waits per unit of CPU time; 0 = CPU-bound "
    f"[default: {recommend.DEFAULT_IO_WAIT_RATIO:g}, I/O-bound].",
)
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
    memory: float | None,
    plan: str | None,
    worker_memory: float | None,
    thread_memory: float | None,
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
    plan_name = ""
    if plan is not None:
        if cpus is not None or memory is not None:
            raise UsageError("Give either --plan or --cpus and --memory, not both.")
        chosen = plans.get(plan)
        cpus, memory, plan_name = chosen.vcpus, chosen.memory_mib, chosen.name
    if cpus is None or memory is None:
        raise UsageError(
            "Give --plan (e.g. --plan B1) or both --cpus and --memory "
            "(e.g. --cpus 1 --memory 1.75GiB)."
        )
    result = recommend.model_only(
        cpus,
        memory,
        plan=plan_name,
        worker_memory_mib=worker_memory,
        thread_memory_mib=thread_memory,
        io_wait_ratio=io_wait_ratio,
    )
    choice = result.recommendation
    spec = emit.make_spec(choice.workers, choice.threads, choice.worker_class, app=app)
    command = emit.render("azure", spec).strip()
    result = dataclasses.replace(
        result, recommendation=dataclasses.replace(choice, startup_command=command)
    )
    terminal.print_recommend(result)
    if json_path is not None:
        try:
            record.save(result, json_path)
        except OSError as exc:
            raise UsageError(
                f"Cannot write {json_path}: {exc.strerror}; choose another --json."
            ) from None
        out.info(f"saved {json_path}")
