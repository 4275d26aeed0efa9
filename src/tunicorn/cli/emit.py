"""`tunicorn emit`: write a chosen configuration in the form a platform takes."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import cast

import click

from tunicorn import settings
from tunicorn.app import find
from tunicorn.app import target as targets
from tunicorn.cli import cli
from tunicorn.cli.options import option
from tunicorn.deploy import emit as emitting
from tunicorn.errors import UsageError
from tunicorn.report import console as out


@cli.command("emit")
@click.argument("target", required=False)
@option(settings.WORKERS, default=None, shown="")
@option(settings.THREADS)
@option(settings.WORKER_CLASS, default=None,
        shown="sync, or gthread when --threads > 1; uvicorn for an ASGI app")  # fmt: skip
@option(settings.DEPLOY_TIMEOUT)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(emitting.FORMATS),
    default="azure",
    show_default=True,
    help="What to write.",
)
@click.option("--resource-group", default="<resource-group>", help="For --format az/appsettings.")
@click.option("--app-name", default="<app-name>", help="The web app's name, for az lines.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE instead of stdout.",
)
def emit_command(
    target: str | None,
    workers: int | None,
    threads: int,
    worker_class: str | None,
    deploy_timeout: int,
    fmt: str,
    resource_group: str,
    app_name: str,
    output: Path | None,
) -> None:
    """Write the startup command, app settings, gunicorn.conf.py, Procfile or Dockerfile.

    TARGET is module:app or a project folder (read the way App Service does); default app:app.
    An ASGI app (FastAPI, Starlette) is written with the uvicorn worker.

    \b
    Examples:
      tunicorn emit --workers 3 --threads 6
      tunicorn emit . --workers 2 --threads 4 --format conf -o gunicorn.conf.py
      tunicorn emit main:app --workers 2 --worker-class uvicorn
    """
    if workers is None:
        raise UsageError(
            "Give --workers N (and --threads N): emit writes a configuration you chose."
        )
    app, tgt = _app_for(target)
    if tgt is not None and tgt.interface:
        chosen, notes = targets.server_class(tgt, worker_class, threads)
        for note in notes:
            out.warn(note)
        if worker_class is not None or tgt.is_asgi:  # else threads decide, as without a target
            worker_class = chosen
    spec = emitting.make_spec(workers, threads, worker_class, app=app, timeout=deploy_timeout)
    spec = dataclasses.replace(spec, resource_group=resource_group, site_name=app_name)
    for note in spec.notes:
        out.warn(note)
    text = emitting.render(cast(emitting.Format, fmt), spec)
    if output is None:
        click.echo(text, nl=False)  # plain: the text must be copied byte for byte
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"Cannot write {output}: {exc.strerror}; choose another --output."
        ) from None
    out.info(f"wrote {output} ({spec.label}, {spec.app})")


def _app_for(spec: str | None) -> tuple[str, targets.Target | None]:
    """The app to write, and the target with its interface as its source says (emit never
    imports the app): an ASGI app gets the uvicorn worker, and a WSGI class is refused."""
    if not spec:
        return emitting.DEFAULT_APP, None
    resolved = targets.resolve(spec)
    if resolved.is_url:
        raise UsageError(
            f"{spec!r} is a URL: emit writes how to start an app, so give module:app or a folder."
        )
    if not resolved.interface and resolved.chdir:
        framework, interface = find.static_interface(Path(resolved.chdir), resolved.app)
        resolved = dataclasses.replace(resolved, framework=framework, interface=interface)
    return resolved.app, resolved
