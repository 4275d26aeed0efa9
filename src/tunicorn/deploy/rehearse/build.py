"""App Service's build for a Python app, done here: a fresh virtual environment and pip.

Oryx creates a virtual environment (antenv) and runs `python -m pip install --prefer-binary
-r requirements.txt` (or `pip install .` beside a setup.py, poetry for a pyproject.toml), and
nothing else; the image adds gunicorn. pip here reads the user's own index settings (pip.conf,
PIP_INDEX_URL, …) from the environment, which is passed through, and keeps its cache, so a
second rehearsal installs from it. What pip says when a requirement cannot be installed is
read back into one sentence that names the requirement.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from tunicorn.deploy import packages
from tunicorn.deploy.requirements import ProjectRequirements
from tunicorn.supervise import Group, checkpoint

Say = Callable[[str], None]
# pip lines that say what it is doing, for the progress line.
_PROGRESS = re.compile(
    r"^\s*(Collecting|Downloading|Processing|Obtaining|Building wheel|Installing collected|"
    r"Preparing metadata|Using cached|Successfully installed)[^\n]*",
    re.MULTILINE,
)
# Settings that would send pip or Python somewhere else than the fresh environment.
_DROP = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "VIRTUAL_ENV",
         "PIP_TARGET", "PIP_PREFIX", "PIP_ROOT", "PIP_USER", "PIP_REQUIRE_VIRTUALENV",
         "CONDA_PREFIX")  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Built:
    """The outcome of the build: `error` and `action` say why it failed and what to do."""

    ok: bool
    seconds: float
    error: str = ""
    action: str = ""
    notes: tuple[str, ...] = ()
    log_tail: tuple[str, ...] = ()


def environment(parent: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment, pip's index settings included, without what would make pip
    or Python look outside the fresh environment."""
    env = {k: v for k, v in parent.items() if k not in _DROP}
    env["PIP_NO_INPUT"] = "1"  # a prompt for index credentials would wait for ever
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def python_of(venv: Path) -> Path:
    return venv / "bin" / "python"


def _pip(venv: Path, host_pip: bool) -> list[str]:
    """pip for the fresh environment: this interpreter's own pip pointed at it (`--python`,
    pip ≥ 22.3) saves installing pip into every rehearsal; otherwise the environment's pip."""
    if host_pip:
        return [sys.executable, "-m", "pip", "--python", str(python_of(venv)), "install"]
    return [str(python_of(venv)), "-m", "pip", "install"]


def what_to_install(root: Path, reqs: ProjectRequirements) -> tuple[list[str], tuple[str, ...]]:
    """pip's arguments for the project, as Oryx chooses them, and what differs from Oryx."""
    if reqs.source == "requirements.txt":
        return ["--prefer-binary", "-r", "requirements.txt"], ()
    if reqs.source == "setup.py":
        return ["--prefer-binary", "."], ()
    if reqs.source == "pyproject.toml":
        # [project] dependencies are PEP 508 lines; poetry's table gives names (its ^1.2 is not)
        names = [r.name if " = " in r.line else r.line for r in reqs.requirements]
        note = ("App Service installs a pyproject.toml with poetry (or uv beside a uv.lock); "
                "the rehearsal installed its dependencies with pip.")  # fmt: skip
        return ["--prefer-binary", *names], (note,)
    note = ("No requirements.txt, setup.py or pyproject.toml: App Service's build installs "
            "nothing, as the rehearsal did.")  # fmt: skip
    return [], (note,)


def build(
    root: Path,
    venv: Path,
    reqs: ProjectRequirements,
    *,
    env: Mapping[str, str],
    needs_gunicorn: bool,
    timeout_s: float,
    say: Say,
) -> Built:
    """Create `venv` and install the project into it; `needs_gunicorn` adds the stand-in for
    the gunicorn of App Service's image where the requirements bring none."""
    start = time.monotonic()
    deadline = start + timeout_s
    log = venv.parent / "install.log"
    host_pip = importlib.util.find_spec("pip") is not None
    say("creating a fresh virtual environment")
    venv_args = ["--without-pip"] if host_pip else []
    created = _run(
        [sys.executable, "-m", "venv", *venv_args, str(venv)],
        root,
        env,
        log,
        deadline,
        lambda text: say("creating a fresh virtual environment"),
    )
    if created is not None:
        return _failed(
            start,
            "the virtual environment could not be created: " + created,
            log,
            "make sure this Python has its venv module (python3-venv on Debian)",
        )
    args, notes = what_to_install(root, reqs)
    if args:
        label = reqs.source
        failed = _run([*_pip(venv, host_pip), *args], root, env, log, deadline,
                      lambda text: say(f"installing {label}  {text}"))  # fmt: skip
        if failed is not None:
            error, action = explain_pip(failed, _read(log), reqs.source)
            return _failed(start, error, log, action, notes)
    if needs_gunicorn and not (venv / "bin" / "gunicorn").exists():
        line = packages.pinned(packages.GUNICORN)
        notes += (
            f"Nothing in {reqs.source or 'the project'} installs gunicorn: App Service's "
            f"image brings its own, so the rehearsal installed {line} (tunicorn's) "
            "in its place; pin yours in requirements.txt to run the version you tested.",
        )
        failed = _run(
            [*_pip(venv, host_pip), "--prefer-binary", line],
            root,
            env,
            log,
            deadline,
            lambda text: say(f"installing {line} for the image's  {text}"),
        )
        if failed is not None:
            error, action = explain_pip(failed, _read(log), reqs.source)
            return _failed(start, error, log, action, notes)
    return Built(True, time.monotonic() - start, notes=notes)


def _run(
    argv: list[str],
    cwd: Path,
    env: Mapping[str, str],
    log: Path,
    deadline: float,
    progress: Callable[[str], None],
) -> str | None:
    """Run one build step to its end; None when it succeeded, else what went wrong in short."""
    offset = log.stat().st_size if log.exists() else 0
    began = time.monotonic()
    with Group(argv, cwd=cwd, env=env, log_path=log) as step:
        while step.poll() is None:
            if time.monotonic() > deadline:
                return "timeout"
            doing = _last_progress(_read(log, offset)) or "starting"
            progress(f"{doing} ({time.monotonic() - began:.0f} s)")
            checkpoint()  # a stop asked for meanwhile: the build ends here
            time.sleep(0.2)
        code = step.poll()
    return None if code == 0 else f"exit status {code}"


def _last_progress(text: str) -> str:
    lines = [m.group(0).strip() for m in _PROGRESS.finditer(text)]
    return " ".join(lines[-1].split())[:90] if lines else ""


def _read(path: Path, offset: int = 0) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _failed(start: float, error: str, log: Path, action: str, notes: tuple[str, ...] = ()) -> Built:
    lines = [line for line in _read(log).splitlines() if line.strip()]
    tail = tuple(line for line in lines if not line.startswith("WARNING:"))[-12:]
    return Built(False, time.monotonic() - start, error, action, notes, tail)


_NOT_FOUND = re.compile(r"No matching distribution found for (\S+)")
_NO_VERSION = re.compile(r"Could not find a version that satisfies the requirement (\S+)"
                         r"(?: \(from versions: ([^)]*)\))?")  # fmt: skip
_INVALID = re.compile(r"Invalid requirement: '?([^'\n]+)'?")
_BUILD = re.compile(r"(?:Failed to build|Failed building wheel for|Building wheel for) "
                    r"([A-Za-z0-9._-]+)")  # fmt: skip
_CONFLICT = re.compile(r"Cannot install ([^\n]+?) because these package versions have "
                       r"conflicting dependencies")  # fmt: skip
_NETWORK = re.compile(r"(Could not fetch URL [^\n]*|Max retries exceeded[^\n]*|"
                      r"NewConnectionError[^\n]*|Name or service not known[^\n]*)")  # fmt: skip


def explain_pip(failed: str, log: str, source: str) -> tuple[str, str]:
    """What pip's output says went wrong, naming the requirement, and what to do about it."""
    file = source or "the requirements"
    if failed == "timeout":
        return ("pip install did not finish in time",
                "run it again with a longer --install-timeout, or see which package it was "
                "building (the lines above)")  # fmt: skip
    missing = _NOT_FOUND.search(log) or _NO_VERSION.search(log)
    if missing:
        name = missing.group(1)
        network = _NETWORK.search(log)
        if network:
            return (f"pip could not reach its package index for {name}: {network.group(0)}",
                    "check the index settings pip uses here (pip config list, PIP_INDEX_URL) "
                    "and the network, then run again")  # fmt: skip
        listed = _NO_VERSION.search(log)
        versions = listed.group(2) if listed else None
        if versions and versions != "none":
            return (
                f"{name} cannot be installed here: no version matches (the index has "
                f"{versions[:120]})",
                f"fix its version in {file} (or the Python version it needs)",
            )
        return (
            f"{name} cannot be installed here: the package index pip uses has no such "
            "package (or none for this Python and platform)",
            f"check its name in {file} (is it on PyPI, or on your own index?)",
        )
    invalid = _INVALID.search(log)
    if invalid:
        return (
            f"pip cannot read the requirement {invalid.group(1).strip()!r}",
            f"fix that line in {file} (name, then a version such as ==1.2)",
        )
    conflict = _CONFLICT.search(log)
    if conflict:
        cause = re.search(r"The conflict is caused by:\n((?:\s+[^\n]+\n)+)", log)
        detail = (
            "; ".join(" ".join(x.split()) for x in cause.group(1).splitlines()[:3]) if cause else ""
        )
        return (
            f"the requirements conflict: pip cannot install {conflict.group(1)} together"
            + (f" ({detail})" if detail else ""),
            f"loosen or align those pins in {file}",
        )
    built = _BUILD.findall(log)
    if built or "subprocess-exited-with-error" in log:
        name = built[-1] if built else "a package"
        return (
            f"{name} could not be built here: it has no wheel for this Python and "
            "platform, and building it from source failed",
            f"pin a version of {name} that has a wheel for the Python App Service runs, or "
            "install what its build needs; its error is in the lines above",
        )
    first = re.search(r"^ERROR: [^\n]*", log, re.MULTILINE)
    return (
        f"pip install failed ({failed})" + (f": {first.group(0)[7:]}" if first else ""),
        "see pip's output above, fix the requirement it names, and run again",
    )


def python_version(venv: Path) -> str:
    """The environment's Python version, from its pyvenv.cfg (no process needed)."""
    try:
        text = (venv / "pyvenv.cfg").read_text(encoding="utf-8")
    except OSError:
        return ""
    match = re.search(r"^version(?:_info)?\s*=\s*(\S+)", text, re.MULTILINE)
    return match.group(1) if match else ""


def bin_path(venv: Path, parent: Mapping[str, str]) -> str:
    """PATH with the environment's bin first, as `source antenv/bin/activate` leaves it."""
    return os.pathsep.join([str(venv / "bin"), parent.get("PATH", os.defpath)])
