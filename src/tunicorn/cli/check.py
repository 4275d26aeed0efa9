"""`tunicorn check [PATH]`: what App Service will run for a folder, and its risks.

Exit 1 when an error-level finding exists, so the command works as a CI gate.
"""

from __future__ import annotations

from pathlib import Path

import click

from tunicorn import check as checking
from tunicorn import plans, record, settings
from tunicorn.cli import cli
from tunicorn.cli.options import option
from tunicorn.errors import UsageError
from tunicorn.report import terminal


@cli.command("check")
@click.argument("path", default=".", metavar="[PATH]")
@click.option("--plan", "plan_name", metavar="NAME",
              help="App Service plan (B1, P1v3, …): cores for 2 × cores + 1, memory for workers.")
@click.option("--setting", "settings", multiple=True, metavar="KEY=VALUE",
              help="An app setting, e.g. PYTHON_ENABLE_GUNICORN_MULTIWORKERS=true (repeatable).")
@click.option("--settings-json", type=click.Path(dir_okay=False), metavar="FILE",
              help="App settings from `az webapp config appsettings list` (JSON).")
@click.option("--startup", metavar="COMMAND",
              help="The site's Startup Command, as set in the portal or with --startup-file.")
@option(settings.WORKER_MEMORY, default=None,
        shown=f"an estimate of {settings.WORKER_MEMORY.default:g} MiB")  # fmt: skip
@click.option("--json", "json_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the result as JSON ('-' for stdout).")
@click.pass_context
def check_command(
    ctx: click.Context,
    path: str,
    plan_name: str | None,
    settings: tuple[str, ...],
    settings_json: str | None,
    startup: str | None,
    worker_memory_mib: float | None,
    json_path: str | None,
) -> int:
    """Say what App Service will actually run for PATH, and what is risky in it.

    \b
    Examples:
      tunicorn check .
      tunicorn check . --plan B1 --setting PYTHON_ENABLE_GUNICORN_MULTIWORKERS=true
      tunicorn check . --settings-json appsettings.json --json check.json
    """
    plan = plans.get(plan_name) if plan_name else None
    merged = _settings(settings_json, settings)
    result = checking.check(Path(path), settings=merged, startup=startup, plan=plan,
                            worker_memory_mib=worker_memory_mib)
    if json_path == "-":
        click.echo(record.to_json(result))
    else:
        terminal.print_check(result)
        if json_path:
            record.save(result, json_path)
    code = 1 if checking.has_errors(result) else 0
    ctx.exit(code)
    return code  # pragma: no cover - ctx.exit raises


def _settings(json_file: str | None, pairs: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    if json_file:
        try:
            text = Path(json_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(
                f"Cannot read {json_file} ({exc.strerror or exc}): pass the file written by "
                "az webapp config appsettings list -g GROUP -n APP > settings.json."
            ) from None
        try:
            out.update(checking.parse_settings_json(text))
        except ValueError as exc:
            raise UsageError(
                f"{json_file} is not app settings JSON ({exc}): pass the output of "
                "az webapp config appsettings list, a list of {{name, value}}."
            ) from None
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key.strip():
            raise UsageError(
                f"--setting {pair!r} is not KEY=VALUE: write e.g. "
                "--setting PYTHON_ENABLE_GUNICORN_MULTIWORKERS=true."
            )
        out[key.strip()] = value
    return out
