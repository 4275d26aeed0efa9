"""ASGI apps, factories and packages on App Service: what its rules do to them.

App Service's startup script detects Flask and Django only (DESIGN.md, "Platform facts"):
with no startup command it runs gunicorn's sync worker on `module:app`, which cannot serve
an ASGI app (FastAPI, Starlette, Django's asgi.py), so every request fails while the site
looks up; Microsoft's FastAPI quickstart sets a startup command for that reason. A factory
(`create_app()`) or a package (Flask's own tutorial) is not found at all. These findings say
so with the command that works, read from the source only (`find.py`), never by importing.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tunicorn.app import find
from tunicorn.app.find import parse
from tunicorn.classes import DEPRECATED_UVICORN_WORKER, FRONTEND_TIMEOUT, UVICORN_WORKER
from tunicorn.deploy.check.commands import Gunicorn
from tunicorn.record import Finding
from tunicorn.run import eventloop


def startup_for(app: str, interface: str, cores: int | None) -> str:
    """The startup command that serves `app` on App Service: gunicorn with the uvicorn worker
    for ASGI (two workers per core, as Microsoft's quickstart has on B1), else gunicorn's
    threads; tune measures the real figures."""
    module = f"'{app}'" if "(" in app else app
    if interface == "asgi":
        return (
            f"gunicorn --bind=0.0.0.0 --timeout {FRONTEND_TIMEOUT} --workers "
            f"{2 * (cores or 1)} --worker-class {UVICORN_WORKER} {module}"
        )
    return (
        f"gunicorn --bind=0.0.0.0 --timeout {FRONTEND_TIMEOUT} --workers 3 --threads 4 {module}"
    )


def no_app_text(root: Path, cores: int | None) -> str:
    """What to do when App Service finds no app: the app that is there, found the way Flask's
    and FastAPI's command lines find it, and the startup command that runs it."""
    found = find.find_app(root)
    if found is None:
        return "Rename the entry module or set a startup command (e.g. gunicorn mymodule:app)."
    what = find.describe(found.framework, found.interface, found.factory)
    return (
        f"tunicorn found {found.app}, {what}, {found.reason}: set the startup command "
        f"{startup_for(found.app, found.interface, cores)}"
        + (
            f" and add {_package(found.interface)} to requirements.txt."
            if found.interface == "asgi"
            else "."
        )
    )


def _package(interface: str) -> str:
    return "uvicorn-worker" if interface == "asgi" else "gunicorn"


def asgi_findings(
    root: Path,
    module: str,
    source: str,
    server: str,
    gun: Gunicorn,
    app_service_found: bool,
    cores: int | None,
    findings: list[Finding],
) -> None:
    """An ASGI app under a WSGI worker, the uvicorn worker's package, its deprecated name."""
    framework, interface = find.static_interface(root, module) if module else ("", "")
    cls = gun.worker_class
    what = find.describe(framework, interface, module.endswith(")"))
    if interface == "asgi" and source == "default" and app_service_found:
        findings.append(
            Finding(
                "error",
                "asgi-sync-worker",
                f"{module} is {what}, but with no startup command App Service runs it under "
                "gunicorn's sync worker, which cannot serve an ASGI app: every request fails. Set "
                f"the startup command {startup_for(module, 'asgi', cores)} and add uvicorn-worker "
                "to requirements.txt (tunicorn tune measures the number of workers).",
            )
        )
    elif interface == "asgi" and server == "gunicorn" and "uvicorn" not in cls.lower():
        findings.append(
            Finding(
                "error",
                "asgi-sync-worker",
                f"The {source} command runs {module}, {what}, under gunicorn's {cls} worker, "
                "which cannot serve an ASGI app: every request fails. Add --worker-class "
                f"{UVICORN_WORKER} (and uvicorn-worker to requirements.txt).",
            )
        )
    if server == "gunicorn" and cls == DEPRECATED_UVICORN_WORKER:
        findings.append(
            Finding(
                "warning",
                "uvicorn-worker-deprecated",
                f"{DEPRECATED_UVICORN_WORKER} is deprecated since uvicorn 0.30 (a newer uvicorn "
                f"may drop it); the same worker is {UVICORN_WORKER} from the uvicorn-worker "
                "package: use that and add uvicorn-worker to requirements.txt.",
            )
        )
    # A missing uvicorn-worker or uvicorn is findings.package_findings' error (packages.py).


def django_asgi_findings(root: Path, source: str, findings: list[Finding]) -> None:
    """A Django project's asgi.py is noticed: App Service serves its wsgi.py unless told."""
    entry = find.django_asgi(root)
    if not entry or source != "default":
        return
    wsgi = entry.replace(".asgi:", ".wsgi:")
    findings.append(
        Finding(
            "info",
            "django-asgi",
            f"{entry.split(':')[0].replace('.', '/')}.py is the project's ASGI entry; App Service "
            f"runs {wsgi} (WSGI), which serves the same views synchronously. To serve it as ASGI "
            "(async views, long waits without a thread each), set the startup command "
            f"{startup_for(entry, 'asgi', None)} and add uvicorn-worker to requirements.txt.",
        )
    )


def found_findings(root: Path, module: str, findings: list[Finding]) -> None:
    """App Service's module has no `app`, but a factory or another name is there: say what
    Flask's CLI would run, and the command for it."""
    if not module:
        return
    found = find.find_app(root)
    if found is None or found.app_service or found.app == module:
        return
    what = find.describe(found.framework, found.interface, found.factory)
    findings.append(
        Finding(
            "info",
            "app-found",
            f"tunicorn found {found.app}, {what}, {found.reason}; App Service does not look for "
            f"it. A startup command runs it: {startup_for(found.app, found.interface, None)}.",
        )
    )


# -- an async def route that blocks the event loop (heuristic) ------------------------------

# fmt: off
_BLOCKING_CALLS = frozenset({
    "time.sleep", "urllib.request.urlopen", "sqlite3.connect", "psycopg2.connect",
    "psycopg.connect", "pymysql.connect", "MySQLdb.connect", "mysql.connector.connect",
    "pymongo.MongoClient", "redis.Redis", "redis.StrictRedis", "subprocess.run",
    "subprocess.check_output", "subprocess.call",
})
_BLOCKING_MODULES = ("requests.",)  # every call on the module is a blocking HTTP request
_HTTPX_SYNC = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request"})
_ROUTE_DECORATORS = {"get", "post", "put", "patch", "delete", "head", "options", "route",
                     "api_route", "websocket"}
# fmt: on


def blocking_findings(root: Path, files: list[Path], findings: list[Finding]) -> None:
    """`async def` routes that call blocking code, in the app's files that use an ASGI
    framework: the event loop waits with them, so their worker serves one request at a time."""
    for path in files:
        tree = parse(path)
        if tree is None or find.guess_interface(tree)[1] != "asgi":
            continue
        rel = path.relative_to(root).as_posix()
        names = _aliases(tree)
        routes = _starlette_routes(tree)
        for func in (n for n in ast.walk(tree) if isinstance(n, ast.AsyncFunctionDef)):
            found = next(_blocking_calls(func, names), None)
            if found is None:
                continue
            call, line = found
            route = _route_of(func) or routes.get(func.name, "")
            head = (
                f"{route} ({rel}:{func.lineno}, async def {func.name}())"
                if route
                else (f"{rel}:{func.lineno}: async def {func.name}()")
            )
            findings.append(
                Finding(
                    "warning",
                    "blocks-event-loop",
                    f"{head} blocks the event loop: it calls {call}() (line {line}, heuristic) "
                    "without await, which holds its worker's loop while it waits, so that worker "
                    "serves one request at a time while its CPU looks idle. Fix: "
                    f"{eventloop.FIXES}.",
                )
            )


def _aliases(tree: ast.Module) -> dict[str, str]:
    """Local name → what it was imported as: `import requests as rq` → rq: requests,
    `from time import sleep` → sleep: time.sleep."""
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    out[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    out[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                out[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return out


def _qualified(node: ast.expr, names: dict[str, str]) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in names:
        return ""
    return ".".join([names[node.id], *reversed(parts)])


def _blocking_calls(func: ast.AsyncFunctionDef, names: dict[str, str]) -> Iterator[tuple[str, int]]:
    """Blocking calls in the function's own body: not awaited, not in a nested def or lambda
    (code handed to a thread pool)."""
    awaited = {id(n.value) for n in ast.walk(func) if isinstance(n, ast.Await)}

    def visit(node: ast.AST) -> Iterator[ast.Call]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                continue
            if isinstance(child, ast.Call) and id(child) not in awaited:
                yield child
            yield from visit(child)

    for call in visit(func):
        name = _qualified(call.func, names)
        top, _, attr = name.rpartition(".")
        if (
            name in _BLOCKING_CALLS
            or name.startswith(_BLOCKING_MODULES)
            or (top == "httpx" and attr in _HTTPX_SYNC)
        ):
            yield name, call.lineno


def _route_of(func: ast.AsyncFunctionDef) -> str:
    """ "GET /path" from `@app.get("/path")` or `@router.route("/path", methods=[…])`."""
    for deco in func.decorator_list:
        if not (isinstance(deco, ast.Call) and isinstance(deco.func, ast.Attribute)):
            continue
        verb = deco.func.attr
        if verb not in _ROUTE_DECORATORS or not deco.args:
            continue
        path = deco.args[0]
        if not (isinstance(path, ast.Constant) and isinstance(path.value, str)):
            continue
        method = verb.upper() if verb not in ("route", "api_route") else _methods(deco)
        return f"{method} {path.value}"
    return ""


def _methods(deco: ast.Call) -> str:
    for kw in deco.keywords:
        if kw.arg == "methods" and isinstance(kw.value, ast.List | ast.Tuple | ast.Set):
            found = [e.value for e in kw.value.elts if isinstance(e, ast.Constant)]
            return "/".join(str(m).upper() for m in found) or "GET"
    return "GET"


def _starlette_routes(tree: ast.Module) -> dict[str, str]:
    """Function name → "GET /path" from Starlette's `Route("/path", endpoint)` calls."""
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and find._call_name(node) == "Route"):
            continue
        if (
            len(node.args) >= 2
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[1], ast.Name)
        ):
            methods = next((kw.value for kw in node.keywords if kw.arg == "methods"), None)
            method = "GET"
            if isinstance(methods, ast.List | ast.Tuple):
                method = "/".join(
                    str(e.value).upper() for e in methods.elts if isinstance(e, ast.Constant)
                )
            out[node.args[1].id] = f"{method} {node.args[0].value!s}"
    return out
