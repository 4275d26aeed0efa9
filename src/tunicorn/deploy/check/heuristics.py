"""Static heuristics on the app's source: what more workers or threads would break.

Adding workers splits module-level state between processes, adding threads makes
read-modify-write code race, and `app.run()` at import keeps gunicorn's worker from ever
serving. The source is read with `ast`, never imported or run, so a broken app can still be
checked; every finding says "(heuristic)" where the reading can be wrong.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from tunicorn.app.find import parse
from tunicorn.record import Finding

_MUTATORS = frozenset({
    "append", "extend", "add", "update", "pop", "popitem", "setdefault", "clear",
    "insert", "remove", "discard", "appendleft", "popleft", "__setitem__",
})
_MUTABLE_CALLS = frozenset({
    "dict", "list", "set", "defaultdict", "Counter", "deque", "OrderedDict", "WeakValueDictionary",
})


def code_findings(
    root: Path,
    module: str,
    workers: int,
    threads: int,
    worker_class: str,
    findings: list[Finding],
) -> None:
    """`worker_class` is the class that really runs: thread risks matter only where threads do."""
    files = _app_files(root, module)
    dev_started = any(f.code == "debug-server" for f in findings)
    for path in files:
        tree = parse(path)
        if tree is None:
            continue
        rel = path.relative_to(root).as_posix()
        _run_call_findings(tree, rel, dev_started, findings)
        state = _module_state(tree)
        if not state:
            continue
        mutated = _mutations(tree, state)
        if mutated and workers > 1:
            names = ", ".join(f"{n} (line {line})" for n, line in mutated[:3])
            findings.append(Finding("warning", "module-state",
                f"{rel}: module-level state {names} is changed inside functions (heuristic): "
                f"each of the {workers} workers is its own process with its own copy, so "
                "users see different values depending on the worker that answers. Keep shared "
                "state in a database, Redis or the session cookie."))
        elif mutated:
            names = ", ".join(n for n, _ in mutated[:3])
            findings.append(Finding("info", "module-state",
                f"{rel}: module-level state {names} is changed inside functions (heuristic); "
                "with 1 worker that works, but more workers would each keep their own copy."))
        if threads > 1 and worker_class == "gthread":
            risky = _thread_risks(tree, state)
            if risky:
                findings.append(Finding("warning", "thread-unsafe",
                    f"{rel}: {'; '.join(risky[:3])} (heuristic): with {threads} threads per "
                    "worker, requests run this code at the same time. Guard it with a "
                    "threading.Lock, open connections per request, or use --threads 1 and more "
                    "workers."))


def _app_files(root: Path, module: str) -> list[Path]:
    """The entry module first, then the other top-level .py files (a small app's code)."""
    skip = {"gunicorn.conf.py", "setup.py", "conftest.py", "manage.py"}
    entry = root / (module.split(":", 1)[0].replace(".", "/") + ".py") if module else None
    files = sorted(p for p in root.glob("*.py") if p.name not in skip
                   and not p.name.startswith("test_"))
    if entry is not None and entry.is_file():
        files = [entry] + [p for p in files if p != entry]
    return files


def _run_call_findings(
    tree: ast.Module, rel: str, dev_started: bool, findings: list[Finding]
) -> None:
    """`app.run()` at import time blocks gunicorn's import; debug=True exposes the debugger."""
    for node, guarded in _top_level_calls(tree):
        func = node.func
        if not (isinstance(func, ast.Attribute) and func.attr == "run"):
            continue
        debug = any(k.arg == "debug" and isinstance(k.value, ast.Constant) and k.value.value
                    for k in node.keywords)
        if not guarded:
            findings.append(Finding("error", "debug-server",
                f"{rel}:{node.lineno} calls .run() at import time: under gunicorn the import "
                "starts the development server instead of returning the app, and the worker "
                "never serves. Put it under if __name__ == \"__main__\":."))
        elif debug and not dev_started:
            findings.append(Finding("info", "debug-server",
                f"{rel}:{node.lineno} has .run(debug=True) under if __name__ == \"__main__\": "
                "gunicorn never runs it, but python app.py as a startup command would serve "
                "with the debugger on."))


def _top_level_calls(tree: ast.Module) -> Iterator[tuple[ast.Call, bool]]:
    def visit(stmts: Iterable[ast.stmt], guarded: bool) -> Iterator[tuple[ast.Call, bool]]:
        for stmt in stmts:
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
                yield stmt.value, guarded
            elif isinstance(stmt, ast.If):
                yield from visit(stmt.body, guarded or _is_main_guard(stmt.test))
                yield from visit(stmt.orelse, guarded)
            elif isinstance(stmt, ast.Try | ast.With):
                yield from visit(stmt.body, guarded)

    yield from visit(tree.body, False)


def _is_main_guard(test: ast.expr) -> bool:
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == "__name__")


def _module_state(tree: ast.Module) -> dict[str, str]:
    """Module-level names bound to mutable containers or counters: name → kind."""
    state: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = [t for t in node.targets if isinstance(t, ast.Name)]
            value: ast.expr | None = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            targets, value = [node.target], node.value
        else:
            continue
        kind = _mutable_kind(value)
        for target in targets:
            if kind:
                state[target.id] = kind
    return state


def _mutable_kind(value: ast.expr | None) -> str:
    if isinstance(value, ast.Dict | ast.DictComp):
        return "dict"
    if isinstance(value, ast.List | ast.ListComp):
        return "list"
    if isinstance(value, ast.Set | ast.SetComp):
        return "set"
    if isinstance(value, ast.Constant) and type(value.value) in (int, float):
        return "counter"
    if isinstance(value, ast.Call):
        func = value.func
        name = func.id if isinstance(func, ast.Name) else (
            func.attr if isinstance(func, ast.Attribute) else "")
        if name in _MUTABLE_CALLS:
            return name
        if name == "connect" and isinstance(func, ast.Attribute) \
                and isinstance(func.value, ast.Name) and func.value.id == "sqlite3":
            return "sqlite3"
    return ""


def _functions(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _globals(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    return {n for node in ast.walk(func) if isinstance(node, ast.Global) for n in node.names}


def _mutations(tree: ast.Module, state: Mapping[str, str]) -> list[tuple[str, int]]:
    """(name, line) where a function changes module-level state, first time per name."""
    seen: dict[str, int] = {}
    for func in _functions(tree):
        declared = _globals(func)
        for node in ast.walk(func):
            name = _mutated_name(node, declared)
            if name and name in state and state[name] != "sqlite3" and name not in seen:
                seen[name] = getattr(node, "lineno", func.lineno)
    return sorted(seen.items(), key=lambda item: item[1])


def _mutated_name(node: ast.AST, declared: set[str]) -> str:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr in _MUTATORS and isinstance(node.func.value, ast.Name):
        return node.func.value.id
    if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
        targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
        for target in targets:
            if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                return target.value.id
            if isinstance(target, ast.Name) and target.id in declared:
                return target.id
    return ""


def _thread_risks(tree: ast.Module, state: Mapping[str, str]) -> list[str]:
    risks: list[str] = []
    for name, kind in state.items():
        if kind == "sqlite3":
            risks.append(f"module-level sqlite3 connection {name} is shared by all threads "
                         "(sqlite3 refuses use from another thread unless check_same_thread=False, "
                         "and sharing one is unsafe even then)")
    seen: set[str] = set()
    for func in _functions(tree):
        declared = _globals(func)
        for node in ast.walk(func):
            if isinstance(node, ast.AugAssign):
                target = node.target
                if isinstance(target, ast.Name) and target.id in declared:
                    name, what = target.id, f"`global {target.id}` {_op(node)}= in {func.name}()"
                elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) \
                        and target.value.id in state:
                    name = target.value.id
                    what = f"{name}[…] {_op(node)}= in {func.name}()"
                else:
                    continue
                if name not in seen:
                    seen.add(name)
                    risks.append(f"{what} (line {node.lineno}) is a read-modify-write that "
                                 "threads can interleave, losing updates")
            elif isinstance(node, ast.Assign):
                for t in node.targets:
                    if isinstance(t, ast.Name) and t.id in declared and t.id not in seen:
                        seen.add(t.id)
                        risks.append(f"`global {t.id}` is rebound in {func.name}() "
                                     f"(line {node.lineno}), shared by every thread")
    return risks


def _op(node: ast.AST) -> str:
    ops = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.BitOr: "|"}
    return ops.get(type(node.op), "") if isinstance(node, ast.AugAssign) else ""
