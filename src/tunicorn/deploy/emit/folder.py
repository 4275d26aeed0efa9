"""`tune --emit DIR`: the files that deploy the pick, and a way back from them to the project.

DIR holds what changes in the project: startup.txt, gunicorn.conf.py and, where the pick needs
packages the project's requirements leave out, a copy of requirements.txt with those lines
added (the user's own file is never overwritten). A small manifest names the project folder,
so `tunicorn check DIR --rehearse` can check and rehearse the project *as it will be deployed*:
`view()` lays DIR's files over the project in a temporary folder of symlinks, which is what
App Service would see once DIR's files are copied into the project root.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tunicorn.deploy.emit import make_spec, render
from tunicorn.deploy.requirements import amend
from tunicorn.errors import UsageError
from tunicorn.record import Recommendation

MANIFEST = "tunicorn-emit.json"
_WHY = "the packages the recommended configuration needs, at the versions tested"


def write(rec: Recommendation, folder: Path, project: Path | None) -> tuple[list[Path], str]:
    """Write the pick's files into `folder`; returns the paths written and a sentence about
    requirements.txt for the CLI to print ("" when there is nothing to say)."""
    spec = make_spec(rec.workers, rec.threads, rec.worker_class, app=rec.app)
    folder.mkdir(parents=True, exist_ok=True)
    same = project is not None and folder.resolve() == project.resolve()
    written = [folder / "gunicorn.conf.py", folder / "startup.txt"]
    written[0].write_text(render("conf", spec), encoding="utf-8")
    written[1].write_text(spec.command() + "\n", encoding="utf-8")
    note = _write_requirements(rec, folder, project, same, written)
    if project is not None and not same:
        manifest = folder / MANIFEST
        data = {
            "project": os.path.relpath(project.resolve(), folder.resolve()),
            "project_path": str(project.resolve()),
            "files": [p.name for p in written],
            "configuration": f"{rec.workers}x{rec.threads}-{rec.worker_class}",
        }
        manifest.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        written.append(manifest)
    return written, note


def _write_requirements(
    rec: Recommendation, folder: Path, project: Path | None, same: bool, written: list[Path]
) -> str:
    add = rec.requirements_add
    lines = ", ".join(add)
    if not add:
        return f"{rec.requirements_file} already installs every package the pick needs."
    if rec.requirements_file not in ("requirements.txt", ""):
        return (f"Add {lines} to the dependencies in {rec.requirements_file}: App Service "
                "installs from it, and the pick needs them.")  # fmt: skip
    if same:
        return (f"Add {lines} to requirements.txt: tunicorn does not rewrite your own file, "
                "and App Service installs only what it lists.")  # fmt: skip
    original = ""
    if project is not None and (project / "requirements.txt").is_file():
        original = (project / "requirements.txt").read_text(encoding="utf-8", errors="replace")
    path = folder / "requirements.txt"
    path.write_text(amend(original, add, why=_WHY), encoding="utf-8")
    written.append(path)
    if original:
        return (
            f"{path} is your requirements.txt with {lines} added: copy it over yours "
            "(yours is unchanged), since App Service installs only what it lists."
        )
    if project is None:
        return f"{path} lists {lines}: what the pick needs beside the app's own packages."
    return (
        f"{path} lists only {lines}: the project has no requirements.txt, so add your "
        "app's own packages to it before deploying."
    )


def project_of(folder: Path) -> Path | None:
    """The project an emitted folder was written for, from its manifest; None if it has none."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return None
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise UsageError(
            f"{manifest} is damaged: write the folder again with tunicorn tune … --emit "
            f"{folder}, or name the project with --app-dir."
        ) from None
    for key, base in (("project", folder), ("project_path", None)):
        value = data.get(key) if isinstance(data, dict) else None
        if isinstance(value, str) and value:
            path = (base / value) if base is not None else Path(value)
            if path.is_dir():
                return path.resolve()
    raise UsageError(
        f"The project {folder} was emitted for is not where its manifest says: pass it with "
        "--app-dir PATH."
    )


@contextlib.contextmanager
def view(folder: Path, project: Path | None) -> Iterator[Path]:
    """`project` with `folder`'s files laid over it (symlinks in a temporary folder, removed
    afterwards), or `folder` itself when there is no project to lay them over."""
    if project is None or project.resolve() == folder.resolve():
        yield folder
        return
    stage = Path(tempfile.mkdtemp(prefix="tunicorn-view-"))
    try:
        own = {p.name for p in folder.iterdir() if p.name != MANIFEST}
        for entry in project.iterdir():
            if entry.name in own or entry.resolve() == folder.resolve():
                continue
            (stage / entry.name).symlink_to(entry.resolve(), entry.is_dir())
        for name in own:
            source = folder / name
            (stage / name).symlink_to(source.resolve(), source.is_dir())
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)
