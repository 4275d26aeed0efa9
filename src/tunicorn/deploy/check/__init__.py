"""What App Service will actually run for a project folder, and what is risky in it.

The seed's app was slow because nobody could see that App Service started gunicorn with
1 worker × 1 thread. `check` reads the folder and the app settings the way Oryx's startup
script generator does and says the exact command, then lists risks with their reasons. It
never imports or runs the app: the code heuristics read the source with `ast`, so a broken
app can still be checked.

One concern per module: `oryx` (App Service's rules: which command, module and settings),
`commands` (what a command line runs and what gunicorn resolves from it), `findings` (the
risks of the resolved configuration, and their order), `heuristics` (the app's source),
`asgi` (ASGI apps, factories and packages, which App Service's rules do not find or serve).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from tunicorn.app.find import find_app
from tunicorn.app.target import APP_SERVICE_MODULES, detect_module
from tunicorn.classes import running_class
from tunicorn.deploy.check.asgi import (
    asgi_findings,
    blocking_findings,
    django_asgi_findings,
    found_findings,
    no_app_text,
)
from tunicorn.deploy.check.commands import custom_command
from tunicorn.deploy.check.findings import (
    ASYNC_CLASSES,
    concurrency_findings,
    memory_findings,
    ordered,
    package_findings,
    requirements_findings,
    timeout_findings,
)
from tunicorn.deploy.check.heuristics import _app_files as app_files
from tunicorn.deploy.check.heuristics import code_findings
from tunicorn.deploy.check.oryx import (
    MULTIWORKERS,
    THREAD_NUM,
    WORKER_NUM,
    check_app_object,
    default_command,
    multiworkers,
    parse_settings_json,
    procfile_command,
    startup_command,
)
from tunicorn.errors import UsageError
from tunicorn.plans import Plan
from tunicorn.record import CheckResult, Finding, TuneResult

__all__ = ["check", "concurrency_line", "has_errors", "parse_settings_json"]


def check(
    folder: str | Path,
    *,
    settings: Mapping[str, str] | None = None,
    startup: str | None = None,
    plan: Plan | None = None,
    worker_memory_mib: float | None = None,
) -> CheckResult:
    """Read `folder` as App Service would and return the command it runs with its risks.

    `settings` are the app settings (environment of the container); `startup` is the site's
    Startup Command (`appCommandLine`), which replaces the generated default command.
    """
    root = Path(folder)
    if not root.exists():
        raise UsageError(f"{folder} does not exist: pass the project folder, e.g. tunicorn check .")
    if not root.is_dir():
        raise UsageError(f"{folder} is not a folder: pass the project folder that holds the app.")
    env = dict(settings or {})
    findings: list[Finding] = []
    cores = plan.vcpus if plan else None

    multi = multiworkers(env, findings)
    command, source = startup_command(root, startup, env, findings)
    detected = detect_module(root)
    module = detected[0] if detected else ""
    server = "gunicorn"

    if command is None:
        if not detected:
            names = ", ".join(f"{n}.py" for n in APP_SERVICE_MODULES)
            findings.append(Finding("error", "no-app-found",
                f"No app found: App Service looks for a Django */wsgi.py, then {names} with an "
                "object named `app`; with none of them it starts its own placeholder site. "
                + no_app_text(root, cores)))
        command, gun = default_command(root, env, multi, cores, module, findings)
        platform_command = command
    else:
        platform_command = command
        gun, server = custom_command(root, command, env, source, findings)
        if gun.app:
            module = gun.app if ":" in gun.app else f"{gun.app}:application"
        for key in (MULTIWORKERS, WORKER_NUM, THREAD_NUM):
            if key in env:
                findings.append(Finding("warning", "multiworkers-ignored",
                    f"{key} is set but a startup command ({source}) replaces App Service's "
                    "generated command, and only that command reads it; put --workers / "
                    "--threads in the startup command instead."))
                break

    if detected is not None and source == "default":
        check_app_object(root, detected[0], findings)
        found_findings(root, detected[0], findings)
    asgi_findings(root, module, source, server, gun, detected is not None, cores, findings)
    django_asgi_findings(root, source, findings)

    worker_class = running_class(gun.worker_class, gun.threads)
    concurrency_findings(gun, worker_class, server, source, findings)
    timeout_findings(gun, server, findings)
    memory_findings(gun.workers, plan, worker_memory_mib, findings)
    if cores is None and multi and source == "default" and WORKER_NUM not in env:
        findings.append(Finding("info", "cores-assumed",
            f"{MULTIWORKERS}=true gives 2 × cores + 1 workers; with no --plan tunicorn assumed "
            "1 core (3 workers). Pass --plan (e.g. --plan B2) for the real figure."))
    code_findings(root, module, gun.workers, gun.threads, worker_class, findings)
    found = find_app(root) if not module else None
    scanned = module or (found.app if found else "")
    blocking_findings(root, app_files(root, scanned), findings)
    requirements_findings(root, server, source, findings)
    package_findings(root, server, worker_class, source, findings)
    procfile = procfile_command(root)
    if procfile:  # its own findings are the command's, not App Service's: only its packages
        p_gun, p_server = custom_command(root, procfile, env, "Procfile", [])
        p_class = running_class(p_gun.worker_class, p_gun.threads)
        package_findings(root, p_server, p_class, "Procfile", findings)

    if any(f.code in ("asgi-sync-worker", "no-app-found") and "ASGI" in f.message
           for f in findings):  # fmt: skip
        # "more workers and threads" is no advice for an app that sync gunicorn cannot serve
        findings = [f for f in findings if f.code != "single-worker-single-thread"]

    return CheckResult(
        path=str(root),
        platform_command=platform_command,
        workers=gun.workers,
        threads=gun.threads,
        worker_class=worker_class,
        timeout=gun.timeout,
        module=module,
        startup_source=source,
        findings=tuple(ordered(findings)),
        plan=plan.name if plan else "",
        cores=cores,
        server=server,
    )


def has_errors(result: CheckResult) -> bool:
    return any(f.level == "error" for f in result.findings)


def concurrency_line(result: CheckResult) -> str:
    """'1 worker × 1 thread: one request at a time', the seed's problem in words."""
    if result.server != "gunicorn":
        return f"{result.server} (not gunicorn): see the findings."
    w, t = result.workers, result.threads
    shape = f"{w} worker{'s' if w != 1 else ''} × {t} thread{'s' if t != 1 else ''}"
    if result.worker_class.startswith(ASYNC_CLASSES):
        return f"{shape} ({result.worker_class}): many requests at once while they wait on I/O."
    slots = w * t
    if slots == 1:
        return f"{shape} ({result.worker_class}): one request at a time."
    return f"{shape} ({result.worker_class}): up to {slots} requests at once."


# The findings about the code that a tune adds to its warnings: the measured figures cannot
# show them (module state shared by threads, code unsafe under threads, an async route that
# blocks), and they depend on the picked configuration.
CODE_FINDINGS = ("module-state", "thread-unsafe", "blocks-event-loop")


def with_code_warnings(result: TuneResult, project: str | None) -> TuneResult:
    """A tune's result with check's findings on the app's code (`project`, its folder; None
    for the demo) under the pick's startup command, less those the profile already measured."""
    import dataclasses

    rec = result.recommendation
    if rec is None or not project:
        return result
    found = check(project, startup=rec.startup_command)
    extra = tuple(
        f.message
        for f in found.findings
        if f.code in CODE_FINDINGS
        and f.level != "info"
        and not _measured(f.message, result.warnings)
    )
    return dataclasses.replace(result, warnings=result.warnings + extra) if extra else result


def _measured(message: str, warnings: tuple[str, ...]) -> bool:
    """A static finding about a route the profile already measured blocking ("GET /x blocks
    the event loop"): the measured one says it with figures, so it is not repeated."""
    if " blocks the event loop" not in message:
        return False
    route = message.split(" blocks the event loop", 1)[0].split(" (", 1)[0]
    return any(w.startswith(f"{route} blocks the event loop") for w in warnings)
