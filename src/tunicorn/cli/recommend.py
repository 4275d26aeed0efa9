"""`tunicorn recommend`: the instant, model-only answer; no server, no load."""

from __future__ import annotations

import dataclasses

import click

from tunicorn import record, settings
from tunicorn.cli import cli
from tunicorn.cli.options import machine, option
from tunicorn.decide import modelonly
from tunicorn.deploy import emit
from tunicorn.errors import UsageError
from tunicorn.report import advice
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
@option(settings.JSON, help="Also save the recommendation as JSON to this file.")
def recommend_command(
    cpus: int | None,
    memory_mib: float | None,
    plan: str | None,
    worker_memory_mib: float | None,
    thread_memory_mib: float | None,
    io_wait_ratio: float | None,
    app: str,
    json_path: str | None,
) -> None:
    """Recommend workers × threads from the models alone (not measured).

    \b
    Examples:
      tunicorn recommend --plan B1
      tunicorn recommend --cpus 2 --memory 3.5GiB --worker-memory 150MiB --io-wait-ratio 9
    """
    chosen = machine(plan, cpus, memory_mib)
    result = modelonly.model_only(
        chosen.cpus,
        chosen.memory_mib,
        plan=chosen.plan,
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
    advice.print_recommend(result)
    if json_path is not None:
        try:
            record.save(result, json_path)
        except OSError as exc:
            raise UsageError(
                f"Cannot write {json_path}: {exc.strerror}; choose another --json."
            ) from None
        out.info(f"saved {json_path}")
