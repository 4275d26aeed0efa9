"""The app-settings alternative to a startup command, and what it cannot say.

With PYTHON_ENABLE_GUNICORN_MULTIWORKERS=true, App Service's startup script adds
--workers and --threads from PYTHON_GUNICORN_CUSTOM_WORKER_NUM / _THREAD_NUM to its
default command (see DESIGN.md, "Platform facts"). It never adds a worker class, keeps
--timeout 600 and picks the module itself, so those cannot be expressed this way.
"""

from __future__ import annotations

from tunicorn.app.target import APP_SERVICE_MODULES
from tunicorn.classes import APP_SERVICE_TIMEOUT
from tunicorn.deploy.emit.interface import EmitSpec, Emitter
from tunicorn.errors import UsageError


def settings(spec: EmitSpec) -> dict[str, str]:
    """The app settings, or a UsageError where they would run something else."""
    if spec.is_asgi:
        raise UsageError(
            "App Service's app settings cannot choose an ASGI worker: with "
            "PYTHON_ENABLE_GUNICORN_MULTIWORKERS it still starts gunicorn's sync worker, which "
            "cannot serve an ASGI app, so every request would fail; use --format azure (a "
            "startup command with -k uvicorn_worker.UvicornWorker) or --format conf instead."
        )
    if spec.worker_class == "gevent":
        raise UsageError(
            "App settings cannot choose a worker class, so gevent would run as sync: "
            "use --format azure (a startup command) or --format conf instead."
        )
    return {
        "PYTHON_ENABLE_GUNICORN_MULTIWORKERS": "true",
        "PYTHON_GUNICORN_CUSTOM_WORKER_NUM": str(spec.workers),
        "PYTHON_GUNICORN_CUSTOM_THREAD_NUM": str(spec.threads),
    }


def platform_argv(spec: EmitSpec, *, bind: str = "0.0.0.0:8000") -> list[str]:
    """The gunicorn command App Service builds from these settings (for checking it)."""
    values = settings(spec)
    return [
        "gunicorn",
        "--timeout",
        str(APP_SERVICE_TIMEOUT),
        "--access-logfile",
        "-",
        "--error-logfile",
        "-",
        f"--bind={bind}",
        "--workers",
        values["PYTHON_GUNICORN_CUSTOM_WORKER_NUM"],
        "--threads",
        values["PYTHON_GUNICORN_CUSTOM_THREAD_NUM"],
        spec.app,
    ]


def caveats(spec: EmitSpec) -> list[str]:
    """What the settings leave to App Service that the spec asked to be different."""
    out: list[str] = []
    if spec.timeout != APP_SERVICE_TIMEOUT:
        out.append(f"timeout stays {APP_SERVICE_TIMEOUT} s (App Service's), not {spec.timeout} s")
    module, _, attr = spec.app.partition(":")
    if attr != "app" or module not in APP_SERVICE_MODULES:
        found = ", ".join(f"{m}.py" for m in APP_SERVICE_MODULES)
        out.append(f"the app: App Service starts the first of {found} with `app`, not {spec.app}")
    return out


def render(spec: EmitSpec) -> str:
    values = settings(spec)
    pairs = " ".join(f"{k}={v}" for k, v in values.items())
    lines = [
        "# App Service app settings: the alternative to a startup command.",
        "# Ignored when a startup command is set; the worker class follows --threads (gthread).",
        *(f"{k}={v}" for k, v in values.items()),
        "",
        f"az webapp config appsettings set --resource-group {spec.resource_group} "
        f"--name {spec.site_name} --settings {pairs}",
    ]
    for caveat in caveats(spec):
        lines.insert(2, f"# cannot express: {caveat}; use --format azure for that.")
    return "\n".join(lines) + "\n"


EMITTER = Emitter(name="appsettings", filename="appsettings.txt", render=render)
