"""`tunicorn check [PATH]`: what App Service will run for a folder, and its risks.

Exit 1 when an error-level finding exists or the rehearsal fails, so the command works as a
CI gate.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from tunicorn import plans, record, settings
from tunicorn.cli import cli
from tunicorn.cli.options import option
from tunicorn.deploy import check as checking
from tunicorn.errors import UsageError
from tunicorn.report import advice, console


@cli.command("check")
@click.argument("path", default=".", metavar="[PATH]")
@option(settings.PLAN, default=None, shown="",
        help="App Service plan (B1, P1v3, …): cores for 2 × cores + 1, memory for workers.")
@click.option("--setting", "settings", multiple=True, metavar="KEY=VALUE",
              help="An app setting, e.g. PYTHON_ENABLE_GUNICORN_MULTIWORKERS=true (repeatable).")
@click.option("--settings-json", type=click.Path(dir_okay=False), metavar="FILE",
              help="App settings from `az webapp config appsettings list` (JSON).")
@click.option("--startup", metavar="COMMAND",
              help="The site's Startup Command, as set in the portal or with --startup-file.")
@option(settings.WORKER_MEMORY, default=None,
        shown=f"an estimate of {settings.WORKER_MEMORY.default:g} MiB")  # fmt: skip
@option(settings.JSON, help="Write the result as JSON to this file ('-' for stdout).")
@option(settings.REHEARSE)
@option(settings.REHEARSE_PATH)
@option(settings.APP_DIR)
@option(settings.KEEP_ENV)
@option(settings.INSTALL_TIMEOUT)
@option(settings.BOOT_TIMEOUT)
@click.pass_context
def check_command(
    ctx: click.Context,
    path: str,
    plan: str | None,
    settings: tuple[str, ...],
    settings_json: str | None,
    startup: str | None,
    worker_memory_mib: float | None,
    json_path: str | None,
    rehearse: bool,
    rehearse_path: str,
    app_dir: str | None,
    keep_env: bool,
    install_timeout_s: float,
    boot_timeout_s: float,
) -> int:
    """Say what App Service will actually run for PATH, and what is risky in it; with
    --rehearse, build and start it here as App Service would.

    PATH may be a folder written by tune --emit: its files are then checked laid over the
    project they were written for (or --app-dir), as they will be deployed.

    \b
    Examples:
      tunicorn check .
      tunicorn check . --plan B1 --setting PYTHON_ENABLE_GUNICORN_MULTIWORKERS=true
      tunicorn check . --settings-json appsettings.json --json check.json
      tunicorn check deploy/ --rehearse
    """
    from tunicorn.deploy.emit import folder as emitted

    chosen = plans.get(plan) if plan else None
    merged = _settings(settings_json, settings)
    folder = Path(path)
    project = _app_dir(app_dir) if app_dir else emitted.project_of(folder)
    if project is not None and not folder.is_dir():
        raise UsageError(f"{folder} is not a folder: pass the folder to lay over {project}.")
    if not rehearse_path.startswith("/"):
        raise UsageError(f"--path {rehearse_path!r} is not a route: start it with /, e.g. /health.")
    with emitted.view(folder, project) as root:
        result = checking.check(root, settings=merged, startup=startup, plan=chosen,
                                worker_memory_mib=worker_memory_mib)
        result = dataclasses.replace(result, path=str(folder))
        if json_path != "-":
            advice.print_check(result)
            if project is not None:
                console.info(f"(checked {folder} laid over the project {project})")
        if rehearse:
            rehearsal = _rehearse(root, folder, result, merged, rehearse_path, keep_env,
                                  install_timeout_s, boot_timeout_s)  # fmt: skip
            result = dataclasses.replace(result, rehearsal=rehearsal)
            if json_path != "-":
                advice.print_rehearsal(rehearsal)
    if json_path == "-":
        click.echo(record.to_json(result))
    elif json_path:
        record.save(result, json_path)
    failed = result.rehearsal is not None and not result.rehearsal.ok
    code = 1 if checking.has_errors(result) or failed else 0
    ctx.exit(code)
    return code  # pragma: no cover - ctx.exit raises


def _app_dir(value: str) -> Path:
    path = Path(value)
    if not path.is_dir():
        raise UsageError(f"--app-dir {value} is not a folder: give the project's folder.")
    return path


def _rehearse(
    root: Path,
    folder: Path,
    result: record.CheckResult,
    env: dict[str, str],
    path: str,
    keep_env: bool,
    install_timeout_s: float,
    boot_timeout_s: float,
) -> record.Rehearsal:
    from tunicorn.deploy.rehearse import rehearse
    from tunicorn.report.progress import LiveLine

    console.info("Rehearsing App Service's build and start here (a fresh virtual environment, "
                 "pip install, the startup command on 127.0.0.1)…")  # fmt: skip
    line = LiveLine()
    try:
        return rehearse(root, result, settings=env, path=path, keep_env=keep_env,
                        install_timeout_s=install_timeout_s, boot_timeout_s=boot_timeout_s,
                        say=line.show, shown_root=folder if root != folder else None)  # fmt: skip
    finally:
        line.clear()


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
