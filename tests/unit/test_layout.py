"""The source layout stays a pipeline (docs/layout.md): a stage imports the shared modules and
the stages before it, never one after it, and the modules inside `load/` import each other
one way. A module moved to the wrong package, or an import added the wrong way, fails here
rather than in a reader's head."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "tunicorn"
# The stages in pipeline order; everything else at the top of the package is shared.
STAGES = ("app", "launch", "load", "run", "decide", "deploy", "report", "cli")
SHARED = {
    "settings", "declare", "classes", "errors", "record", "model", "interval", "machine", "plans",
    "supervise",
}


def imports(path: Path) -> set[str]:
    """The tunicorn modules `path` imports, TYPE_CHECKING imports included."""
    module = ".".join(path.relative_to(SRC.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            names = [f"{name}.{a.name}" for a in node.names]
            found.update(n for n in [name, *names] if n.startswith("tunicorn"))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("tunicorn"))
    return found


def part(module: str) -> str:
    """The package right under tunicorn that `module` belongs to ("" for tunicorn itself)."""
    parts = module.split(".")
    return parts[1].removesuffix(".py") if len(parts) > 1 else ""


def test_the_shared_modules_and_stages_are_all_there() -> None:
    top = {p.stem for p in SRC.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}
    assert top >= set(STAGES) | SHARED


def test_no_stage_imports_a_later_one() -> None:
    wrong = []
    for path in SRC.rglob("*.py"):
        here = part(".".join(path.relative_to(SRC.parent).parts))
        if here not in STAGES:
            continue
        for name in imports(path):
            there = part(name)
            if there in STAGES and STAGES.index(there) > STAGES.index(here):
                wrong.append(f"{path.relative_to(SRC)} imports {name}")
    assert not wrong, "\n".join(sorted(wrong))


def test_shared_modules_import_no_stage() -> None:
    wrong = []
    for path in SRC.rglob("*.py"):
        here = part(".".join(path.relative_to(SRC.parent).parts))
        if here not in SHARED:
            continue
        stages = [n for n in imports(path) if part(n) in STAGES]
        wrong += [f"{path.relative_to(SRC)} imports {n}" for n in stages]
    assert not wrong, "\n".join(sorted(wrong))


def test_load_imports_one_way() -> None:
    load = SRC / "load"
    graph = {
        p.stem: {n.split(".")[2] for n in imports(p) if n.startswith("tunicorn.load.")} - {p.stem}
        for p in load.glob("*.py")
    }
    circles = sorted(f"{a} <-> {b}" for a in graph for b in graph[a] if a in graph.get(b, set()))
    assert not circles, circles
