"""The risks of a resolved configuration, and the order a reader meets them in.

Once the command is known (oryx, commands), what is risky about it follows from a few
figures: one slot serves one request at a time, a timeout over the front end's limit keeps
a worker busy on a request the user has already lost, workers that do not fit the plan get
killed, a missing requirements.txt breaks the build, and a worker class whose package the
build does not install stops the site at start. Errors come first because they stop
the app; warnings before infos because they cost users.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from tunicorn import model, settings
from tunicorn.app.find import read
from tunicorn.classes import APP_SERVICE_TIMEOUT
from tunicorn.deploy import packages
from tunicorn.deploy.check.commands import Gunicorn
from tunicorn.deploy.check.oryx import FRONTEND_TIMEOUT_S
from tunicorn.deploy.requirements import read_project, read_requirements_file
from tunicorn.plans import Plan
from tunicorn.record import Finding

# Worker classes that serve many requests per thread while they wait, so slots do not count.
ASYNC_CLASSES = ("gevent", "eventlet", "tornado", "uvicorn", "aiohttp")
_LEVELS = {"error": 0, "warning": 1, "info": 2}


def concurrency_findings(
    gun: Gunicorn, worker_class: str, server: str, source: str, findings: list[Finding]
) -> None:
    if server != "gunicorn" or worker_class.startswith(ASYNC_CLASSES):
        return
    if gun.workers * gun.threads == 1:
        where = ("App Service's default command sets no workers or threads"
                 if source == "default" else f"the {source} command sets no more")
        findings.append(Finding("warning", "single-worker-single-thread",
            f"1 worker × 1 thread: one request at a time, because {where}. One slow request "
            "(an API call, a query) makes every other user wait while CPU and memory look "
            "idle. Set workers and threads in a startup command, e.g. gunicorn --workers 3 "
            "--threads 4 app:app, or measure the best figures with tunicorn tune."))


def timeout_findings(gun: Gunicorn, server: str, findings: list[Finding]) -> None:
    if server != "gunicorn":
        return
    if gun.timeout == 0 or gun.timeout > FRONTEND_TIMEOUT_S:
        shown = "0 (no limit)" if gun.timeout == 0 else f"{gun.timeout} s"
        why = (f"the App Service front end drops a request after {FRONTEND_TIMEOUT_S} s, so the "
               f"user gets an error while the worker keeps working on it for up to {shown}")
        if gun.timeout_from_user:
            findings.append(Finding("warning", "timeout-over-frontend",
                f"Timeout {shown} is over the front end's limit: {why}. Set --timeout "
                f"{FRONTEND_TIMEOUT_S} or less, and move longer work to a background job."))
        else:
            findings.append(Finding("info", "timeout-over-frontend",
                f"App Service's default command sets --timeout {APP_SERVICE_TIMEOUT} (it "
                f"overrides gunicorn.conf.py): {why}. A startup command with --timeout "
                f"{FRONTEND_TIMEOUT_S} or less frees stuck workers sooner."))


def memory_findings(
    workers: int, plan: Plan | None, worker_mib: float | None, findings: list[Finding]
) -> None:
    """Workers × one worker's PSS against the plan, with the budget tune and recommend use."""
    if plan is None:
        return
    per = worker_mib or settings.WORKER_MEMORY.default
    estimate = "given" if worker_mib else "an estimate for a small Flask worker"
    total = workers * per
    what = (f"{workers} workers × {per:.0f} MiB ({estimate}) ≈ {total:.0f} MiB against "
            f"{plan.name}'s {plan.memory_mib:.0f} MiB")
    fix = ("Use fewer workers and more threads, a larger plan, or measure the real figure "
           "with tunicorn tune.")
    if total > plan.memory_mib:
        findings.append(Finding("error", "memory-over-plan",
            f"More workers than the plan's memory allows: {what}; the instance will swap or "
            f"kill workers. {fix}"))
    elif total > model.memory_budget_mib(plan.memory_mib):
        findings.append(Finding("warning", "memory-over-plan",
            f"Little memory to spare: {what} (over the {model.MEMORY_SHARE:.0%} of it a "
            f"configuration may fill), and the platform and traffic peaks need the rest. {fix}"))


def requirements_findings(
    root: Path, server: str, source: str, findings: list[Finding]
) -> None:
    """Oryx installs only requirements.txt; a custom image has only what its Dockerfile adds."""
    req = root / "requirements.txt"
    if not req.is_file():
        if (root / "setup.py").is_file() or (root / "pyproject.toml").is_file():
            return  # Oryx installs those instead (pip install . / poetry install)
        if source in ("default", "startup.txt", "settings"):
            findings.append(Finding("warning", "requirements-missing",
                "No requirements.txt: App Service's build (Oryx) installs packages from "
                "requirements.txt in the project root, so imports other than the image's "
                "own packages will fail. Add one (pip freeze > requirements.txt)."))
        return
    if server != "gunicorn":
        return
    names = {r.name for r in read_requirements_file(req)}
    if "gunicorn" in names:
        return
    if source == "Dockerfile":
        docker = read(root / "Dockerfile")
        if re.search(r"\binstall\b[^\n]*\bgunicorn\b", docker):
            return
        findings.append(Finding("warning", "gunicorn-missing",
            "gunicorn is not in requirements.txt (nor installed in the Dockerfile), but the "
            "container's command runs it: a custom image has only what you install, so it "
            "fails to start. Add gunicorn to requirements.txt."))
    else:
        findings.append(Finding("info", "gunicorn-missing",
            "gunicorn is not in requirements.txt: App Service's Python image has it installed "
            "already, so the app starts, but with the image's version, not one you tested. "
            "Add gunicorn (pinned) to requirements.txt; other hosts and containers need it."))


def package_findings(
    root: Path, server: str, worker_class: str, source: str, findings: list[Finding]
) -> None:
    """An error for each package the command needs (a worker class's, a server's) that the
    build will not install: the site then never starts, while it runs fine where it was tried.

    gunicorn itself is left to `requirements_findings`: App Service's image brings its own.
    """
    needs = [n for n in packages.for_server(server, worker_class) if n is not packages.GUNICORN]
    project = read_project(root)
    docker = read(root / "Dockerfile").replace("\\\n", " ") if source == "Dockerfile" else ""
    missing = [
        n for n in needs
        if packages.applies(n, project) and not packages.provider(n, project)
        # a custom image may install it on a pip line of its own
        and not (docker and re.search(rf"\binstall\b[^\n]*\b{re.escape(n.name)}\b", docker))
    ]  # fmt: skip
    if not missing:
        return
    what = f"--worker-class {worker_class}" if server == "gunicorn" else server
    file = project.source or "requirements.txt"
    lines = ", ".join(packages.pinned(n) for n in missing)
    names = " and ".join(n.name for n in missing)
    if not project.complete:
        findings.append(Finding("info", "package-unverified",
            f"The {source} command runs {what}, which needs {names}, and tunicorn cannot read "
            f"every dependency {file} installs: make sure it installs {lines}."))
        return
    if server == "gunicorn":
        fails = (f"gunicorn exits at start with \"class uri '{worker_class}' invalid or not "
                 f"found\" (No module named '{missing[0].module}')")
    else:
        fails = f"the command is not found ({server}: not found) and the site never starts"
    if source == "Dockerfile":
        where = "the image has only what its Dockerfile installs"
    elif source == "Procfile":
        where = f"the hosts that run a Procfile install only what {file} lists"
    else:
        where = f"App Service's build installs only what {file} lists"
    them = f"the line{'s' if len(missing) > 1 else ''} {lines}"
    if file == "pyproject.toml":
        add = f"add {them} to [project] dependencies in pyproject.toml"
    elif project.source:
        add = f"add {them} to requirements.txt"
    else:
        add = f"create requirements.txt with your app's packages and {them}"
    findings.append(Finding("error", "package-missing",
        f"The {source} command runs {what}, but nothing in {file} installs {names}: {where}, "
        f"so {fails}. To fix it, {add}."))


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Without duplicates (two rules may say the same), most serious first, stable within."""
    unique = list(dict.fromkeys(findings))
    return sorted(unique, key=lambda f: _LEVELS.get(f.level, 3))
