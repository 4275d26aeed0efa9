"""Finding the app in a project folder from its source alone, without importing it.

App Service's rule comes first, because that is what Azure will start (DESIGN.md, "Platform
facts": a Django `*/wsgi.py`, else the first of application.py, app.py, … with `app`). Where
that finds nothing, the folder is read the way the frameworks' own command lines read it,
since that is how the app's author runs it: Flask's `flask --app` (an `app` or `application`
object, else a single app instance, else a `create_app` or `make_app` factory, in a module or
in a package's `__init__.py`), and FastAPI's `fastapi run` (main.py, app.py, api.py, then the
same in app/, with `app` or `api`). A package named in pyproject.toml goes before others, as
in Flask's own tutorial (flaskr: no app.py, only `flaskr/__init__.py` with `create_app()`).

Which interface an app speaks (WSGI or ASGI) is guessed here from the constructor it calls,
for `check` and `emit`, which never import; the import check (`tunicorn.app.inapp`) asks the
callable itself wherever the app is run.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def parse(path: Path) -> ast.Module | None:
    """The module's syntax tree; None when it is missing or does not parse (a broken app is
    still found, or not, without a traceback)."""
    if not path.is_file():
        return None
    try:
        return ast.parse(read(path), filename=str(path))
    except SyntaxError:
        return None


# App Service's order for a Flask-style app when no Django wsgi.py is found.
APP_SERVICE_MODULES = ("application", "app", "run", "index", "server", "wsgi")
# FastAPI's CLI (fastapi_cli.discover): these files, then the same inside app/.
FASTAPI_MODULES = ("main", "app", "api")
# Flask's CLI (flask.cli.find_best_app): these names, then a single app, then these factories.
OBJECT_NAMES = ("app", "application")
FACTORY_NAMES = ("create_app", "make_app")
_SKIP_PACKAGES = frozenset({"tests", "test", "docs", "migrations", "node_modules", "venv"})

# What an app's constructor says about it: (framework, interface).
CONSTRUCTORS = {
    "Flask": ("flask", "wsgi"),
    "FastAPI": ("fastapi", "asgi"),
    "Starlette": ("starlette", "asgi"),
    "Quart": ("quart", "asgi"),
    "get_wsgi_application": ("django", "wsgi"),
    "get_asgi_application": ("django", "asgi"),
    "WSGIHandler": ("django", "wsgi"),
    "ASGIHandler": ("django", "asgi"),
}
FRAMEWORK_NAMES = {
    "flask": "Flask",
    "fastapi": "FastAPI",
    "starlette": "Starlette",
    "quart": "Quart",
    "django": "Django",
}


@dataclasses.dataclass(frozen=True)
class Found:
    """An app found in a folder: what gunicorn takes, where to run it from, and why this one."""

    app: str  # "module:callable" or "module:factory()", as gunicorn takes it
    chdir: Path  # the folder it imports from
    reason: str  # where it was found, in words ("in package flaskr (named in pyproject.toml)")
    framework: str = ""  # "flask", "fastapi", …; "" when the source does not say
    interface: str = ""  # "wsgi", "asgi"; "" when the source does not say
    factory: bool = False
    app_service: bool = False  # App Service's default command starts exactly this

    @property
    def module(self) -> str:
        return self.app.split(":", 1)[0]


def detect_module(folder: Path) -> tuple[str, str] | None:
    """The (module:callable, reason) App Service would start for `folder`, or None."""
    for wsgi in sorted(folder.glob("*/wsgi.py")):
        # Django: App Service looks for a project package holding wsgi.py first.
        return f"{wsgi.parent.name}.wsgi:application", f"Django project {wsgi.parent.name}/wsgi.py"
    for name in APP_SERVICE_MODULES:
        if (folder / f"{name}.py").is_file():
            return (
                f"{name}:app",
                f"{name}.py (App Service looks for {', '.join(APP_SERVICE_MODULES)})",
            )
    return None


def django_asgi(folder: Path) -> str:
    """A Django project's ASGI entry beside its wsgi.py ("mysite.asgi:application"), or ""."""
    for wsgi in sorted(folder.glob("*/wsgi.py")):
        if (wsgi.parent / "asgi.py").is_file():
            return f"{wsgi.parent.name}.asgi:application"
    return ""


def find_app(folder: Path) -> Found | None:
    """The app in `folder`: App Service's choice where it finds one, else the frameworks'."""
    folder = folder.resolve()
    if (folder / "__init__.py").is_file():
        # A package folder itself (`tunicorn tune flaskr`): import it from its parent.
        found = in_module(folder.parent, folder.name, f"in package {folder.name}")
        if found is not None:
            return found
    for wsgi in sorted(folder.glob("*/wsgi.py")):
        framework, interface = guess_interface(parse(wsgi))
        return Found(
            f"{wsgi.parent.name}.wsgi:application", folder,
            f"in {wsgi.parent.name}/wsgi.py, where App Service looks first",
            framework or "django", interface or "wsgi", app_service=True,
        )  # fmt: skip
    oryx = next((n for n in APP_SERVICE_MODULES if (folder / f"{n}.py").is_file()), None)
    if oryx is not None:
        found = in_module(folder, oryx, f"in {oryx}.py, where App Service looks")
        if found is not None and found.app == f"{oryx}:app":
            return dataclasses.replace(found, app_service=True)
        if found is not None:
            return dataclasses.replace(found, reason=f"in {oryx}.py, read as Flask's CLI reads it")
    for name in (*FASTAPI_MODULES, *(f"app.{m}" for m in FASTAPI_MODULES)):
        path = folder / (name.replace(".", "/") + ".py")
        if path.is_file() and name != oryx:
            where = f"in {path.relative_to(folder)}, where FastAPI's CLI looks"
            found = in_module(folder, name, where)
            if found is not None:
                return found
    for package in packages(folder):
        named = (
            " (named in pyproject.toml)"
            if package == _pyproject_name(folder / "pyproject.toml")
            else ""
        )
        found = in_module(folder, package, f"in package {package}{named}")
        if found is not None:
            return found
    return None


def packages(folder: Path) -> list[str]:
    """Top-level packages of a project: the one pyproject.toml names first, then the rest."""
    named = _pyproject_name(folder / "pyproject.toml")
    found = sorted(
        p.parent.name
        for p in folder.glob("*/__init__.py")
        if p.parent.name not in _SKIP_PACKAGES and p.parent.name.isidentifier()
    )
    if named in found:
        found.remove(named)
        found.insert(0, named)
    return found


def _pyproject_name(path: Path) -> str:
    if not path.is_file():
        return ""
    try:
        data = tomllib.loads(read(path))
    except tomllib.TOMLDecodeError:
        return ""
    project = data.get("project")
    name = project.get("name", "") if isinstance(project, dict) else ""
    return re.sub(r"[-.]+", "_", str(name)).lower()


def in_module(root: Path, module: str, where: str) -> Found | None:
    """The app in one module (a package's `__init__.py`), the way Flask's CLI picks it."""
    base = root / module.replace(".", "/")
    path = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
    tree = parse(path)
    if tree is None:
        return None
    bound = top_level_names(tree)
    framework, interface = guess_interface(tree)
    names = (*OBJECT_NAMES, "api") if module.split(".")[-1] in FASTAPI_MODULES else OBJECT_NAMES
    for name in names:
        if name in bound:
            fw, itf = _assigned_framework(tree, name)
            return Found(f"{module}:{name}", root, where, fw or framework, itf or interface)
    instances = list(_instances(tree))
    if len(instances) == 1:
        name, (fw, itf) = instances[0]
        return Found(f"{module}:{name}", root, where, fw, itf)
    for func in _factories(tree):
        fw, itf = guess_interface(func)
        return Found(
            f"{module}:{func.name}()", root, where, fw or framework, itf or interface, factory=True
        )
    return None


def top_level_names(tree: ast.Module) -> set[str]:
    """Names a module binds at its top level (assignments, defs, imports, in ifs and trys)."""
    out: set[str] = set()
    for node in tree.body:
        out.update(_bound_names(node))
    return out


def _bound_names(node: ast.stmt) -> Iterator[str]:
    if isinstance(node, ast.Assign):
        for target in node.targets:
            yield from (n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
        yield node.target.id
    elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        yield node.name
    elif isinstance(node, ast.Import | ast.ImportFrom):
        for alias in node.names:
            yield (alias.asname or alias.name).split(".")[0]
    elif isinstance(node, ast.If | ast.Try | ast.With):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                yield from _bound_names(child)


def _call_name(node: ast.AST) -> str:
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name):
            return func.id
        if isinstance(func, ast.Attribute):
            return func.attr
    return ""


def _instances(tree: ast.Module) -> Iterator[tuple[str, tuple[str, str]]]:
    """Top-level `name = Framework(...)` assignments (Flask's "a single app instance")."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            known = CONSTRUCTORS.get(_call_name(node.value))
            if isinstance(target, ast.Name) and known:
                yield target.id, known


def _factories(tree: ast.Module) -> Iterator[ast.FunctionDef]:
    """Top-level create_app / make_app that can be called without arguments, as Flask's CLI
    calls them."""
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    for name in FACTORY_NAMES:
        func = defs.get(name)
        if func is not None and _callable_bare(func):
            yield func


def _callable_bare(func: ast.FunctionDef) -> bool:
    args = func.args
    positional = [*args.posonlyargs, *args.args]
    required = len(positional) - len(args.defaults)
    kw_required = sum(1 for d in args.kw_defaults if d is None)
    return required == 0 and kw_required == 0


def _assigned_framework(tree: ast.Module, name: str) -> tuple[str, str]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return CONSTRUCTORS.get(_call_name(node.value), ("", ""))
    return "", ""


def guess_interface(tree: ast.AST | None) -> tuple[str, str]:
    """(framework, interface) from the app constructors a piece of source calls, else from what
    it imports; ("", "") when neither says."""
    if tree is None:
        return "", ""
    for node in ast.walk(tree):
        known = CONSTRUCTORS.get(_call_name(node))
        if known:
            return known
    for top in _imported(tree):
        if top in ("fastapi", "starlette", "quart"):
            return top, "asgi"
        if top == "flask":
            return "flask", "wsgi"
    return "", ""


def _imported(tree: ast.AST) -> Iterable[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module.split(".")[0]


def static_interface(root: Path, app: str) -> tuple[str, str]:
    """(framework, interface) of `app` ("module:callable") in `root`, read from its source."""
    module, _, attr = app.partition(":")
    base = root / module.replace(".", "/")
    path = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
    tree = parse(path)
    if tree is None:
        return "", ""
    name = attr.split("(", 1)[0]
    fw, itf = _assigned_framework(tree, name)
    if itf:
        return fw, itf
    func = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name), None)
    if func is not None:
        fw, itf = guess_interface(func)
        if itf:
            return fw, itf
    return guess_interface(tree)


def describe(framework: str, interface: str, factory: bool) -> str:
    """ "a Flask app factory", "a FastAPI app (ASGI)", "a WSGI app"."""
    name = FRAMEWORK_NAMES.get(framework, "")
    what = f"{name} app" if name else f"{interface.upper()} app" if interface else "app"
    if factory:
        what += " factory"
    if name and interface == "asgi":
        what += " (ASGI)"
    return f"an {what}" if what[0].lower() in "aeiou" else f"a {what}"
