"""What to run: `module:app`, `module:factory()`, a folder, the bundled demo, or a URL.

A folder is read the way App Service's startup script does it (see DESIGN.md, "Platform
facts"), so `tunicorn tune .` measures the module that Azure would start. An app that
fails to import is caught here, in a short-lived subprocess, before any server or load.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tunicorn.demo import APP as DEMO_APP
from tunicorn.errors import UsageError

# App Service's order for a Flask-style app when no Django wsgi.py is found.
APP_SERVICE_MODULES = ("application", "app", "run", "index", "server", "wsgi")

_APP_SPEC = re.compile(r"^[A-Za-z_][\w.]*(:[A-Za-z_]\w*(\(.*\))?)?$")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


@dataclasses.dataclass(frozen=True)
class Target:
    """A resolved target: either an app gunicorn can load, or a URL already serving."""

    kind: str  # "app" or "url"
    app: str = ""  # "module:callable" exactly as gunicorn takes it
    chdir: str = ""  # folder gunicorn runs from (put first on sys.path)
    url: str = ""
    label: str = ""

    @property
    def module(self) -> str:
        return self.app.split(":", 1)[0]

    @property
    def is_url(self) -> bool:
        return self.kind == "url"


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def resolve(spec: str | None, *, demo: bool = False) -> Target:
    """Turn what the user typed into a Target, or raise UsageError saying what to type."""
    if demo:
        if spec:
            raise UsageError(f"Give either --demo or a target, not both (got {spec!r}).")
        return Target(kind="app", app=DEMO_APP, label="demo")
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
            kind="app", app=f"{path.stem}:app", chdir=str(path.resolve().parent), label=spec
        )
    if "/" in spec or spec.endswith(".py"):
        raise UsageError(
            f"There is no folder or file {spec!r}: give an app folder, a module:app, or --demo."
        )
    if not _APP_SPEC.match(spec):
        raise UsageError(
            f"{spec!r} is not a target: use module:callable (app:app, pkg.wsgi:application, "
            "app:create_app()), a project folder, a http:// URL, or --demo."
        )
    app = spec if ":" in spec else f"{spec}:app"
    return Target(kind="app", app=app, chdir=os.getcwd(), label=spec)


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


def resolve_folder(folder: Path) -> Target:
    found = detect_module(folder)
    if found is None:
        names = ", ".join(f"{n}.py" for n in APP_SERVICE_MODULES)
        raise UsageError(
            f"No app found in {folder}: App Service looks for a Django */wsgi.py or one of "
            f"{names}; name the app instead, e.g. tunicorn bench mymodule:app."
        )
    app, _ = found
    return Target(kind="app", app=app, chdir=str(folder.resolve()), label=str(folder))


_IMPORT_CHECK = r"""
import json, sys, traceback
spec, chdir = sys.argv[1], sys.argv[2]
if chdir:
    sys.path.insert(0, chdir)
out = {"ok": False}
try:
    from gunicorn.util import import_app
    app = import_app(spec)
    out = {"ok": True, "type": type(app).__name__}
except BaseException as exc:  # the app's own error, whatever it is
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if chdir and f.filename.startswith(chdir)
           and "site-packages" not in f.filename]
    last = own[-1] if own else None
    out["error"] = (type(exc).__name__ + ": " + str(exc)).strip()
    if last is not None:
        out.update(file=last.filename, line=last.lineno, code=(last.line or "").strip())
    if "Failed to find attribute" in out["error"]:
        import importlib, inspect
        try:
            mod = importlib.import_module(spec.split(":")[0])
            out["candidates"] = [n for n, v in vars(mod).items()
                if not n.startswith("_") and not inspect.isclass(v)
                and (hasattr(v, "wsgi_app") or type(v).__name__ == "WSGIHandler")]
        except BaseException:
            pass
print("\n" + json.dumps(out))
"""


def check_import(target: Target, *, timeout: float = 60.0) -> None:
    """Import the app once in a subprocess; raise UsageError naming the app's failing line."""
    if target.kind != "app":
        return
    result, stderr = _run_in_app(_IMPORT_CHECK, target, timeout)
    if result.get("ok"):
        return
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
    return error.rstrip(".") + "; fix the app (or install what it needs) and run again."


_ROUTES = r"""
import json, sys
spec, chdir = sys.argv[1], sys.argv[2]
if chdir:
    sys.path.insert(0, chdir)
from gunicorn.util import import_app
app = import_app(spec)
routes = []
url_map = getattr(app, "url_map", None)
if url_map is not None:  # Flask / Werkzeug
    for rule in url_map.iter_rules():
        if "GET" in (rule.methods or ()) and not rule.arguments and rule.endpoint != "static":
            routes.append(rule.rule)
print("\n" + json.dumps({"framework": "flask" if url_map is not None else type(app).__name__,
                         "routes": sorted(set(routes))}))
"""


def list_routes(target: Target, *, timeout: float = 60.0) -> list[str]:
    """Every parameterless GET route of a Flask app; [] for apps we cannot introspect."""
    if target.kind != "app":
        return []
    result, _ = _run_in_app(_ROUTES, target, timeout)
    return [str(route) for route in result.get("routes", [])]


def _run_in_app(script: str, target: Target, timeout: float) -> tuple[dict[str, Any], str]:
    """Run `script` with the app's folder first on sys.path; its last stdout line is JSON."""
    try:
        proc = subprocess.run(
            [sys.executable, "-c", script, target.app, target.chdir],
            capture_output=True, text=True, timeout=timeout, cwd=target.chdir or None,
            stdin=subprocess.DEVNULL,
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
