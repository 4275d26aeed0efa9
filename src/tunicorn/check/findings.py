"""The risks of a resolved configuration, and the order a reader meets them in.

Once the command is known (oryx, commands), what is risky about it follows from a few
figures: one slot serves one request at a time, a timeout over the front end's limit keeps
a worker busy on a request the user has already lost, workers that do not fit the plan get
killed, and a missing requirements.txt breaks the build. Errors come first because they stop
the app; warnings before infos because they cost users.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from tunicorn import model, settings
from tunicorn.check.commands import Gunicorn
from tunicorn.check.files import read
from tunicorn.check.oryx import FRONTEND_TIMEOUT_S
from tunicorn.plans import Plan
from tunicorn.record import Finding
from tunicorn.settings import APP_SERVICE_TIMEOUT

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
        if source in ("default", "startup.txt", "settings"):
            findings.append(Finding("warning", "requirements-missing",
                "No requirements.txt: App Service's build (Oryx) installs packages from "
                "requirements.txt in the project root, so imports other than the image's "
                "own packages will fail. Add one (pip freeze > requirements.txt)."))
        return
    if server != "gunicorn":
        return
    names = _requirement_names(req, depth=0)
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


def _requirement_names(path: Path, depth: int) -> set[str]:
    names: set[str] = set()
    for line in read(path).splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(("-r ", "--requirement ")) and depth < 3:
            included = path.parent / line.split(None, 1)[1].strip()
            if included.is_file():
                names |= _requirement_names(included, depth + 1)
            continue
        if line.startswith("-"):
            continue
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)", line)
        if match:
            names.add(re.sub(r"[-_.]+", "-", match.group(1)).lower())
    return names


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Without duplicates (two rules may say the same), most serious first, stable within."""
    unique = list(dict.fromkeys(findings))
    return sorted(unique, key=lambda f: _LEVELS.get(f.level, 3))
