"""The packages a project asks its platform to install, read the way App Service's build reads them.

Oryx's Python build installs from the first of requirements.txt (`pip install -r`), setup.py
(`pip install .`) and pyproject.toml (`poetry install --only main`, or `uv sync` beside a
uv.lock), and from nothing else: a package the app needs that none of them names is simply
not there when the app starts. So whether a configuration deploys as written depends on these
names, read as pip reads them (PEP 508 names with extras, `-r` includes, editable and URL
lines) and compared after PEP 503 normalisation, never as raw text.

Nothing here imports `packaging`, which tunicorn does not depend on; the grammar needed to
find a requirement's name and extras is small.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

# PEP 508's name: letters and digits, with . _ - inside.
_NAME = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[([^\]]*)\])?\s*(.*)$")
# pip's comment rule (req_file.py COMMENT_RE): a # at the start or after whitespace.
_COMMENT = re.compile(r"(^|\s+)#.*$")
_EGG = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?")
_WHEEL = re.compile(r"([A-Za-z0-9][A-Za-z0-9._]*)-\d[^-/]*(-\d[^-/]*)?-[^-/]+-[^-/]+-[^-/]+\.whl$")
_SDIST = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*?)-\d[^/]*\.(?:tar\.gz|zip|tar\.bz2)$")
_INCLUDE_DEPTH = 5


def normalize(name: str) -> str:
    """PEP 503: `Flask`, `flask` and `FLASK` are one project, as are `zope.event` and
    `zope-event`."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclasses.dataclass(frozen=True)
class Requirement:
    """One requirement as a project wrote it; `name` is normalised so that it compares."""

    name: str
    extras: frozenset[str] = frozenset()
    line: str = ""  # the text as written, for messages ("gevent>=23", "-e .[gevent]")
    marker: str = ""  # an environment marker, kept but not evaluated


@dataclasses.dataclass(frozen=True)
class ProjectRequirements:
    """What App Service's build installs for a folder: `source` is the file it installs from
    ("requirements.txt", "setup.py", "pyproject.toml"), "" when there is none, and `complete`
    is False where tunicorn cannot read every name (setup.py, dynamic dependencies)."""

    source: str
    requirements: tuple[Requirement, ...] = ()
    complete: bool = True
    text: str = ""  # requirements.txt as written, to amend without rewriting it

    def find(self, name: str, extra: str = "") -> Requirement | None:
        """The requirement that installs `name` (with `extra` among its extras, if given)."""
        key = normalize(name)
        for req in self.requirements:
            if req.name == key and (not extra or normalize(extra) in req.extras):
                return req
        return None


def parse_line(text: str) -> Requirement | None:
    """One requirements.txt line as pip reads it; None for options, blanks and comments.

    `-r` includes are the caller's (they need a folder); per-requirement options such as
    `--hash=…` after the requirement are dropped.
    """
    line = _COMMENT.sub("", text).strip()
    if not line:
        return None
    if line.startswith(("-e", "--editable")):
        target = re.sub(r"^(-e|--editable)(=|\s+)?", "", line).strip()
        return _from_location(target, line)
    if line.startswith("-"):
        return None
    line = re.split(r"\s+--?[A-Za-z]", line, maxsplit=1)[0].strip()
    if "://" in line.split("@", 1)[0] or line.startswith((".", "/")) or line.endswith(".whl"):
        return _from_location(line, text.strip())
    match = _NAME.match(line)
    if not match:
        return None
    name, extras, rest = match.groups()
    marker = rest.split(";", 1)[1].strip() if ";" in rest else ""
    return Requirement(normalize(name), _extras(extras), text.strip(), marker)


def _extras(text: str | None) -> frozenset[str]:
    return frozenset(normalize(e.strip()) for e in (text or "").split(",") if e.strip())


def _from_location(target: str, line: str) -> Requirement | None:
    """A URL, a path or a VCS link: the name is in `#egg=`, a wheel's or an sdist's file name."""
    egg = _EGG.search(target)
    if egg:
        return Requirement(normalize(egg.group(1)), _extras((egg.group(2) or "")[1:-1]), line)
    base = target.split("#", 1)[0].split("?", 1)[0].rstrip("/")
    name_part = base.rsplit("/", 1)[-1]
    extras = ""
    if "[" in name_part and name_part.endswith("]"):  # "./wheels/app.whl[extra]", ".[gevent]"
        name_part, _, extras = name_part.partition("[")
        extras = extras[:-1]
    for pattern in (_WHEEL, _SDIST):
        found = pattern.search(name_part)
        if found:
            return Requirement(normalize(found.group(1)), _extras(extras), line)
    return None  # a local project folder: its name is in its own metadata


def read_requirements_file(path: Path, _depth: int = 0) -> tuple[Requirement, ...]:
    """Every requirement of a requirements file, following `-r` includes (not `-c`
    constraints, which install nothing)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ()
    out: list[Requirement] = []
    for line in _logical_lines(text):
        include = _include(line)
        if include is not None:
            if _depth < _INCLUDE_DEPTH:
                out.extend(read_requirements_file(path.parent / include, _depth + 1))
            continue
        req = parse_line(line)
        if req is not None:
            out.append(req)
    return tuple(out)


def _logical_lines(text: str) -> list[str]:
    """Lines with pip's backslash continuations joined."""
    return re.sub(r"\\\r?\n", " ", text).splitlines()


def _include(line: str) -> str | None:
    stripped = _COMMENT.sub("", line).strip()
    match = re.match(r"^(?:-r|--requirement)(?:=|\s+|(?=\S))(\S+)", stripped)
    return match.group(1) if match else None


def read_project(folder: Path) -> ProjectRequirements:
    """What Oryx installs for `folder`, in its order: requirements.txt, setup.py, pyproject.toml."""
    req = folder / "requirements.txt"
    if req.is_file():
        text = req.read_text(encoding="utf-8", errors="replace")
        return ProjectRequirements("requirements.txt", read_requirements_file(req), True, text)
    if (folder / "setup.py").is_file():
        return ProjectRequirements("setup.py", complete=False)
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file():
        return _read_pyproject(pyproject)
    return ProjectRequirements("")


def _read_pyproject(path: Path) -> ProjectRequirements:
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, tomllib.TOMLDecodeError):
        return ProjectRequirements("pyproject.toml", complete=False)
    project = data.get("project") if isinstance(data.get("project"), dict) else {}
    assert isinstance(project, dict)
    found: list[Requirement] = []
    for item in project.get("dependencies") or []:
        req = parse_line(str(item))
        if req is not None:
            found.append(req)
    complete = "dependencies" not in (project.get("dynamic") or [])
    tool = data.get("tool") if isinstance(data.get("tool"), dict) else {}
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    deps = poetry.get("dependencies") if isinstance(poetry, dict) else None
    if isinstance(deps, dict):  # poetry's own table: name = "^1.2" or {version, extras}
        for name, spec in deps.items():
            if normalize(str(name)) == "python":
                continue
            extras: list[str] = []
            if isinstance(spec, dict):
                if spec.get("optional"):
                    continue
                extras = [str(e) for e in spec.get("extras") or []]
            found.append(Requirement(normalize(str(name)), _extras(",".join(extras)),
                                     f"{name} = {spec!r}"))  # fmt: skip
    return ProjectRequirements("pyproject.toml", tuple(found), complete)


def amend(text: str, lines: tuple[str, ...] | list[str], *, why: str = "") -> str:
    """`text` (a requirements.txt) with `lines` added at its end, the user's lines untouched."""
    if not lines:
        return text
    head = text if not text or text.endswith("\n") else text + "\n"
    comment = f"# Added by tunicorn: {why}\n" if why else ""
    return head + comment + "".join(f"{line}\n" for line in lines)
