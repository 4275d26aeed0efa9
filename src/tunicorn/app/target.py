"""What to run: `module:app`, `module:factory()`, a folder, the bundled demo, or a URL.

A folder is read the way App Service's startup script does it (see DESIGN.md, "Platform
facts"), so `tunicorn tune .` measures the module that Azure would start. An app that
fails to import is caught here, in a short-lived subprocess, before any server or load.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tunicorn import supervise
from tunicorn.app import find, inapp
from tunicorn.app.find import APP_SERVICE_MODULES, detect_module
from tunicorn.classes import ASGI_CLASSES, WORKER_CLASSES, WorkerClass, class_named
from tunicorn.demo import DEMO_NAMES, DEMOS
from tunicorn.errors import UsageError

__all__ = [
    "APP_SERVICE_MODULES",
    "LOOPBACK_HOSTS",
    "Route",
    "Routes",
    "Target",
    "check_import",
    "describe",
    "detect_module",
    "discover_routes",
    "is_loopback",
    "list_routes",
    "preflight",
    "resolve",
    "resolve_folder",
    "server_class",
    "server_ready",
]

_APP_SPEC = re.compile(r"^[A-Za-z_][\w.]*(:[A-Za-z_]\w*(\(.*\))?)?$")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


@dataclasses.dataclass(frozen=True)
class Target:
    """A resolved target: either an app gunicorn can load, or a URL already serving.

    `interface` and `framework` are what the callable itself said in the import check
    (`check_import`); before it, a folder's are what its source suggests, or "".
    """

    kind: str  # "app" or "url"
    app: str = ""  # "module:callable" exactly as gunicorn takes it
    chdir: str = ""  # folder gunicorn runs from (put first on sys.path)
    url: str = ""
    label: str = ""
    interface: str = ""  # "wsgi" or "asgi"
    framework: str = ""  # "flask", "django", "fastapi", "starlette", … or ""
    factory: bool = False  # app is module:factory()
    found: str = ""  # how the app was found in a folder or package ("" when it was named)
    named: bool = True  # False: only the module was given, so the import check looks for the app
    # Variables the server runs with over tunicorn's own (--upstream: the proxy's address)
    env: tuple[tuple[str, str], ...] = ()

    @property
    def module(self) -> str:
        return self.app.split(":", 1)[0]

    @property
    def is_url(self) -> bool:
        return self.kind == "url"

    @property
    def is_asgi(self) -> bool:
        return self.interface == "asgi"


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def check_url(target: Target, *, allow_remote: bool = False, upstream: bool = False) -> None:
    """The policy for loading a server that is already running, before any request: sustained
    load goes to loopback only, unless `allow_remote` says the user owns the server, and
    --upstream (the environment of a server tunicorn starts) has nothing to set there."""
    if not target.is_url:
        return
    if upstream:
        raise UsageError(
            "--upstream sets the environment of a server tunicorn starts: give module:app, a "
            "folder or --demo, not the URL of a running server."
        )
    host = urlsplit(target.url).hostname
    if not is_loopback(host or "") and not allow_remote:
        raise UsageError(
            f"{host} is not this machine: bench sends sustained load, so it only "
            "targets loopback unless you pass --allow-remote for a server you own "
            "(tunicorn probe sends a small, bounded number of requests instead)."
        )


def demo_target(name: str | bool) -> Target:
    """The bundled demo: the seed's Flask app, or its ASGI twin (`--demo fastapi`)."""
    key = "flask" if name is True or name == "" else DEMO_NAMES.get(str(name), str(name))
    if key not in DEMOS:
        raise UsageError(
            f"There is no demo {name!r}: use --demo (the Flask app) or --demo fastapi (its ASGI "
            "twin)."
        )
    if key == "fastapi":
        return Target(kind="app", app=DEMOS[key], label="demo fastapi", interface="asgi",
                      framework="fastapi")  # fmt: skip
    return Target(kind="app", app=DEMOS[key], label="demo", interface="wsgi", framework="flask")


def resolve(spec: str | None, *, demo: bool | str = False) -> Target:
    """Turn what the user typed into a Target, or raise UsageError saying what to type."""
    if demo:
        if spec:
            raise UsageError(f"Give either --demo or a target, not both (got {spec!r}).")
        return demo_target(demo)
    if not spec:
        raise UsageError(
            "No target given: pass module:app (e.g. app:app), a project folder, a URL, or --demo."
        )
    if spec.startswith(("http://", "https://")):
        return _resolve_url(spec)
    path = Path(spec)
    if path.is_dir():
        return resolve_folder(path)
    if path.suffix == ".py" and path.is_file():
        return Target(
            kind="app", app=f"{path.stem}:app", chdir=str(path.resolve().parent), label=spec,
            named=False,
        )  # fmt: skip
    if "/" in spec or spec.endswith(".py"):
        raise UsageError(
            f"There is no folder or file {spec!r}: give an app folder, a module:app, or --demo."
        )
    if not _APP_SPEC.match(spec):
        raise UsageError(
            f"{spec!r} is not a target: use module:callable (app:app, pkg.wsgi:application, "
            "app:create_app()), a project folder, a http:// URL, or --demo."
        )
    if ":" in spec:
        return Target(kind="app", app=spec, chdir=os.getcwd(), label=spec)
    # Only a module: its app is looked for the way Flask's CLI does (`flask --app flaskr`).
    return Target(kind="app", app=f"{spec}:app", chdir=os.getcwd(), label=spec, named=False)


def _resolve_url(spec: str) -> Target:
    parts = urlsplit(spec)
    if not parts.hostname:
        raise UsageError(f"{spec!r} has no host: use a URL like http://127.0.0.1:8000/.")
    if parts.scheme != "http":
        raise UsageError(
            f"{spec!r} uses {parts.scheme}://, which the load engine does not speak: "
            "measure the app behind TLS with an http:// URL on loopback."
        )
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise UsageError(f"{spec!r} has a port that is not a number from 1 to 65535.") from None
    url = spec if parts.path else spec + "/"
    return Target(kind="url", url=url, label=url)


def resolve_folder(folder: Path) -> Target:
    """The app in a folder: App Service's module where it finds one, else where Flask's and
    FastAPI's command lines look (find.py)."""
    found = find.find_app(folder)
    if found is None:
        names = ", ".join(f"{n}.py" for n in APP_SERVICE_MODULES)
        raise UsageError(
            f"No app found in {folder}: App Service looks for a Django */wsgi.py or one of "
            f"{names} with `app`, and Flask's and FastAPI's CLIs for main.py, api.py, a package "
            "with app, application or create_app(); name the app instead, e.g. tunicorn bench "
            "mymodule:app."
        )
    return Target(
        kind="app", app=found.app, chdir=str(found.chdir), label=str(folder),
        interface=found.interface, framework=found.framework, factory=found.factory,
        found=found.reason,
    )  # fmt: skip


def check_import(target: Target, *, timeout: float = 60.0) -> Target:
    """Import the app once in a subprocess and return the target with what the callable said it
    is (WSGI or ASGI, its framework, the factory found); raise UsageError naming the app's
    failing line."""
    if target.kind != "app":
        return target
    result, stderr = _run_in_app("check", target, timeout)
    if result.get("ok"):
        app = str(result.get("app") or target.app)
        found = target.found
        if not found and not target.named:
            found = f"in module {target.module}, looked up as Flask's CLI does"
        elif not found and app != target.app:
            found = f"called as a factory, since {target.app} takes no arguments"
        return dataclasses.replace(
            target,
            app=app,
            interface=str(result.get("interface") or "wsgi"),
            framework=str(result.get("framework") or ""),
            factory=bool(result.get("factory")),
            found=found,
        )
    last_stderr = stderr.strip().splitlines()[-1:]
    error = str(result.get("error") or (last_stderr[0] if last_stderr else "unknown error"))
    where = ""
    if result.get("file"):
        where = f" at {_short(str(result['file']), target.chdir)}:{result['line']}"
        if result.get("code"):
            where += f" ({result['code']})"
    hint = _explain(error, target)
    candidates = result.get("candidates")
    if candidates:
        hint = f"module {target.module!r} has no {target.app.split(':')[1]!r}; it has " + ", ".join(
            f"{target.module}:{name}" for name in candidates
        ) + " — pass that instead."
    raise UsageError(f"Could not load {target.app}{where}: {hint}")


def server_class(
    target: Target, asked: str | None, threads: int = 1, server: str = "gunicorn"
) -> tuple[WorkerClass, list[str]]:
    """The worker class that can serve `target` (uvicorn's for ASGI, sync for WSGI when none was
    asked), and notes to print; a UsageError, in one sentence, for a class that cannot serve it:
    an ASGI app under a WSGI worker answers every request with an error."""
    notes: list[str] = []
    if asked is None:
        chosen: WorkerClass = "uvicorn" if target.is_asgi or server == "uvicorn" else "sync"
    else:
        try:
            chosen, note = class_named(asked)
        except ValueError:
            known = ", ".join(WORKER_CLASSES)
            raise UsageError(f"Unknown worker class {asked!r}: use one of {known}.") from None
        if note:
            notes.append(note)
    what = find.describe(target.framework, target.interface, target.factory)
    if target.is_asgi and chosen not in ASGI_CLASSES:
        raise UsageError(
            f"{target.app} is {what}, which gunicorn's {chosen} worker cannot serve (every "
            "request would fail): use --worker-class uvicorn (uvicorn_worker.UvicornWorker), or "
            "leave --worker-class out."
        )
    if target.interface == "wsgi" and (chosen in ASGI_CLASSES or server == "uvicorn"):
        runs = "uvicorn" if server == "uvicorn" else "the uvicorn worker"
        raise UsageError(
            f"{target.app} is {what} (WSGI), and {runs} serves ASGI apps only: use --worker-class "
            "sync, gthread or gevent under gunicorn, or leave --worker-class out."
        )
    if chosen in ASGI_CLASSES and threads > 1:
        raise UsageError(
            f"--threads does not apply to the uvicorn worker: each worker runs one event loop "
            f"(and FastAPI's plain def routes a thread pool of its own); give --workers N "
            f"instead of --threads {threads}."
        )
    return chosen, notes


# The package that provides each server or worker class, by the module it is imported as.
_PACKAGES = {
    "uvicorn_worker": ("uvicorn-worker", "tunicorn[asgi]"),
    "uvicorn": ("uvicorn", "tunicorn[asgi]"),
    "gevent": ("gevent", "tunicorn[gevent]"),
}


def server_ready(worker_class: str, server: str = "gunicorn") -> None:
    """A UsageError naming the package to install when the server or its worker class is not
    installed here: better before a server starts than as a worker that cannot boot."""
    import importlib.util

    needed = ["uvicorn"] if server == "uvicorn" else []
    if server == "gunicorn" and worker_class == "uvicorn":
        needed = ["uvicorn_worker", "uvicorn"]
    elif worker_class == "gevent":
        needed = ["gevent"]
    for module in needed:
        if importlib.util.find_spec(module) is None:
            package, extra = _PACKAGES[module]
            what = f"the {worker_class} worker" if server == "gunicorn" else server
            raise UsageError(
                f"{what} needs the {package} package, which is not installed here: "
                f"pip install {package} (or pip install '{extra}') and run again."
            )


def describe(target: Target) -> str:
    """"flaskr:create_app(), a Flask app factory, in package flaskr": what was found, where."""
    what = find.describe(target.framework, target.interface, target.factory)
    return f"{target.app}, {what}" + (f", {target.found}" if target.found else "")


def _short(path: str, base: str) -> str:
    try:
        return str(Path(path).relative_to(base)) if base else path
    except ValueError:
        return path


def _explain(error: str, target: Target) -> str:
    module, _, attr = target.app.partition(":")
    if error.startswith(("ModuleNotFoundError", "ImportError")) and f"'{module}'" in error:
        return (
            f"no module {module!r} in {target.chdir or 'the current folder'}; "
            "run from the app's folder or pass a folder."
        )
    if "Failed to find attribute" in error or "Failed to find application object" in error:
        return f"module {module!r} has no {attr!r}; name its WSGI callable as {module}:NAME."
    missing = _missing_variable(error)
    if missing:
        return _variable_hint(missing, Path(target.chdir or "."))
    return error.rstrip(".") + "; fix the app (or install what it needs) and run again."


def _missing_variable(error: str) -> str:
    """The name in "KeyError: 'DBUSER'" where it looks like an environment variable."""
    match = re.fullmatch(r"KeyError: '([A-Z_][A-Z0-9_]*)'", error.strip())
    return match.group(1) if match else ""


def _variable_hint(name: str, folder: Path) -> str:
    """What to do about an environment variable the app reads at import and nothing sets: a
    .env file that sets it is loaded by `flask run` and python-dotenv, never by gunicorn (nor
    by App Service, where it is an app setting)."""
    env = folder / ".env"
    try:
        sets = any(
            re.match(rf"\s*(export\s+)?{name}\s*=", line)
            for line in env.read_text(encoding="utf-8", errors="replace").splitlines()
        )
    except OSError:
        sets = False
    if sets:
        return (
            f"the app reads the environment variable {name}, which {env.name} in the folder "
            "sets, but gunicorn does not load .env files (flask run does; on App Service it is "
            f"an app setting): export them first (set -a; . {env}; set +a) and run again."
        )
    return (
        f"the app reads the environment variable {name}, which is not set: set it (on App "
        "Service it is an app setting) and run again."
    )


@dataclasses.dataclass(frozen=True)
class Route:
    """A GET route a load can use as it is; `handler` is "async" or "sync" where the framework
    says (FastAPI and Starlette run a plain `def` endpoint in a thread pool)."""

    path: str
    handler: str = ""


@dataclasses.dataclass(frozen=True)
class Routes:
    """The routes found in the app's router, and the others with why they were left out."""

    framework: str
    found: tuple[Route, ...]
    skipped: tuple[tuple[str, str], ...] = ()  # (path, why)
    error: str = ""  # a router that could not be read

    @property
    def paths(self) -> list[str]:
        return sorted(r.path for r in self.found)

    def skipped_text(self, limit: int = 6) -> str:
        """"/items/{item_id} (path parameters item_id), /login (POST only)"."""
        shown = ", ".join(f"{path} ({why})" for path, why in self.skipped[:limit])
        more = len(self.skipped) - limit
        return shown + (f" and {more} more" if more > 0 else "")


def discover_routes(target: Target, *, timeout: float = 60.0) -> Routes:
    """Every GET route without parameters, from Flask's url_map, Starlette's or FastAPI's
    `app.routes` or Django's URL resolver; the rest with why they were skipped."""
    if target.kind != "app":
        return Routes("", ())
    result, stderr = _run_in_app("routes", target, timeout)
    found = tuple(
        Route(str(r.get("path", "")), str(r.get("handler", "")))
        for r in result.get("routes", [])
        if isinstance(r, dict)
    )
    skipped = tuple(
        (str(r.get("path", "")), str(r.get("why", "")))
        for r in result.get("skipped", [])
        if isinstance(r, dict)
    )
    error = str(result.get("error", "")) if result else (stderr.strip().splitlines() or [""])[-1]
    return Routes(str(result.get("framework", "")), found, skipped, error)


def list_routes(target: Target, *, timeout: float = 60.0) -> list[str]:
    """Every parameterless GET route of the app; [] for apps we cannot introspect."""
    return discover_routes(target, timeout=timeout).paths


def _run_in_app(command: str, target: Target, timeout: float) -> tuple[dict[str, Any], str]:
    """Run tunicorn/app/inapp.py's COMMAND in the app's interpreter, with the app's folder first on
    sys.path; its last stdout line is JSON. The module's source is passed with -c, so nothing of
    tunicorn is importable there that the app could mistake for its own modules (`settings`)."""
    try:
        proc = supervise.run(
            [sys.executable, "-c", _inapp_source(), command, target.app, target.chdir,
             "1" if target.named else "0"],
            timeout=timeout, cwd=target.chdir or None,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise UsageError(
            f"Importing {target.app} took over {timeout:.0f} s: does the module do slow work "
            "(network, model loading) at import time?"
        ) from None
    lines = proc.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        result = {}
    return (result if isinstance(result, dict) else {}), proc.stderr


@functools.cache
def _inapp_source() -> str:
    return Path(inapp.__file__).read_text(encoding="utf-8")


def preflight(url: str, *, timeout: float = 10.0) -> str:
    """One GET before any load: the Server header, or a UsageError saying what answered instead."""
    import socket

    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or 80
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(
                f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n".encode()
            )
            head = sock.recv(4096)
    except ConnectionRefusedError:
        raise UsageError(
            f"Nothing answers at {url} (connection refused): "
            "start the server first, or check the port."
        ) from None
    except TimeoutError:
        raise UsageError(
            f"{url} accepted the connection but sent nothing back within {timeout:.0f} s: "
            "is it an HTTP server?"
        ) from None
    except OSError as exc:
        raise UsageError(f"Cannot reach {url}: {exc.strerror or exc}.") from None
    if not head.startswith(b"HTTP/1."):
        raise UsageError(
            f"{url} answered with something that is not HTTP/1.x: point at the app's HTTP port."
        )
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"server":
            return value.strip().decode("latin-1")
    return ""
