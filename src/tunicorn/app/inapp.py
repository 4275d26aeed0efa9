"""What runs inside the app's own interpreter: `python -m tunicorn.app.inapp check|routes SPEC DIR`.

The app is imported once, in a short-lived subprocess with its folder first on sys.path, so
that neither a broken import nor the app's own side effects (gevent's patching, Django's
settings, a model loaded at import) reach tunicorn's process. The last line of stdout is
one JSON object: `target.py` reads it and never imports the app itself.

`check` asks the callable itself whether it speaks WSGI or ASGI (an `async def __call__`,
a Starlette or FastAPI instance, Django's ASGIHandler), because a module's imports do not
say which object it serves. `routes` lists the GET routes a load can use without inventing
parameters, from the framework's own router: Flask's url_map, Starlette's (and FastAPI's)
`app.routes`, Django's URL resolver; and says why each other route was left out.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
import sys
import traceback
from collections.abc import Iterable
from typing import Any

# (top-level module, class name) in an app's MRO → (framework, interface).
_APP_CLASSES = (
    (("django", "ASGIHandler"), ("django", "asgi")),
    (("django", "WSGIHandler"), ("django", "wsgi")),
    (("fastapi", "FastAPI"), ("fastapi", "asgi")),
    (("starlette", "Starlette"), ("starlette", "asgi")),
    (("quart", "Quart"), ("quart", "asgi")),
    (("flask", "Flask"), ("flask", "wsgi")),
)
OBJECT_NAMES = ("app", "application", "api")
FACTORY_NAMES = ("create_app", "make_app")


def framework_of(app: object) -> tuple[str, str]:
    """(framework, interface) of a loaded app: its class first, else its call signature."""
    mro = {(c.__module__.split(".")[0], c.__name__) for c in type(app).__mro__}
    for key, answer in _APP_CLASSES:
        if key in mro:
            return answer
    return "", interface_of(app)


def interface_of(app: object) -> str:
    """ "asgi" for a callable whose call is a coroutine function (ASGI 3), else "wsgi"."""
    call: Any = app
    if not (inspect.isfunction(app) or inspect.ismethod(app)):
        call = vars(type(app)).get("__call__") or next(
            (vars(c)["__call__"] for c in type(app).__mro__ if "__call__" in vars(c)), None
        )
    if callable(call):
        call = inspect.unwrap(call)
    if inspect.iscoroutinefunction(call):
        return "asgi"
    try:
        params = [
            p for p in inspect.signature(app).parameters.values()  # type: ignore[arg-type]
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]  # fmt: skip
    except (TypeError, ValueError):
        return "wsgi"
    if [p.name for p in params] == ["scope", "receive", "send"]:
        return "asgi"
    return "wsgi"


def is_app(value: object) -> bool:
    """An object a server could serve: an instance of a known framework's app class."""
    return not inspect.isclass(value) and bool(framework_of(value)[0])


def _bare_factory(value: object) -> bool:
    """A function that takes no required argument cannot be a WSGI (2) or ASGI (3) callable:
    it is a factory, as Flask's CLI treats create_app."""
    if not inspect.isfunction(value):
        return False
    try:
        params = inspect.signature(value).parameters.values()
    except (TypeError, ValueError):
        return False
    return all(
        p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params
    )


def best_app(module_name: str) -> str:
    """The app in a module the way Flask's CLI finds it: `app`, `application` (or FastAPI's
    `api`), else a single app instance, else a create_app / make_app factory; "" if none."""
    module = importlib.import_module(module_name)
    names = vars(module)
    for name in OBJECT_NAMES:
        if name in names and (is_app(names[name]) or (name != "api" and callable(names[name]))):
            if _bare_factory(names[name]):
                return f"{module_name}:{name}()"
            return f"{module_name}:{name}"
    instances = [n for n, v in names.items() if not n.startswith("_") and is_app(v)]
    if len(instances) == 1:
        return f"{module_name}:{instances[0]}"
    for name in FACTORY_NAMES:
        if _bare_factory(names.get(name)):
            return f"{module_name}:{name}()"
    return ""


def _candidates(module_name: str) -> list[str]:
    try:
        module = importlib.import_module(module_name)
    except BaseException:
        return []
    out = [n for n, v in vars(module).items() if not n.startswith("_") and is_app(v)]
    out += [f"{n}()" for n in FACTORY_NAMES if _bare_factory(vars(module).get(n))]
    return out


def load(spec: str) -> object:
    from gunicorn.util import import_app

    return import_app(spec)


def check(spec: str, chdir: str, named: bool) -> dict[str, Any]:
    """Import the app: what it is, or the app's own failing line."""
    out: dict[str, Any] = {"ok": False}
    module_name = spec.split(":", 1)[0]
    try:
        if not named:
            spec = best_app(module_name) or spec
        app = load(spec)
        if _bare_factory(app) and not spec.endswith(")"):
            spec = f"{spec}()"  # module:create_app named without the call: call it, as Flask does
            app = load(spec)
        framework, interface = framework_of(app)
        return {"ok": True, "type": type(app).__name__, "app": spec, "framework": framework,
                "interface": interface, "factory": spec.endswith(")")}  # fmt: skip
    except BaseException as exc:  # the app's own error, whatever it is
        frames = traceback.extract_tb(exc.__traceback__)
        own = [
            f for f in frames
            if chdir and f.filename.startswith(chdir) and "site-packages" not in f.filename
        ]  # fmt: skip
        last = own[-1] if own else None
        out["error"] = (type(exc).__name__ + ": " + str(exc)).strip()
        if last is not None:
            out.update(file=last.filename, line=last.lineno, code=(last.line or "").strip())
        if "Failed to find attribute" in out["error"]:
            out["candidates"] = _candidates(module_name)
    return out


# -- routes ---------------------------------------------------------------------------------


class Routes:
    """GET routes a load can use as they are, and the others with why they were left out."""

    def __init__(self) -> None:
        self.found: list[dict[str, str]] = []
        self.skipped: list[dict[str, str]] = []

    def add(self, path: str, handler: str = "") -> None:
        if all(r["path"] != path for r in self.found):
            self.found.append({"path": path, "handler": handler})

    def skip(self, path: str, why: str) -> None:
        self.skipped.append({"path": path, "why": why})


def handler_kind(func: object) -> str:
    """ "async" for an `async def` endpoint, "sync" for a plain `def` (a thread pool runs it)."""
    if func is None:
        return ""
    return "async" if inspect.iscoroutinefunction(inspect.unwrap(func)) else "sync"  # type: ignore[arg-type]


def flask_routes(app: Any, out: Routes) -> None:
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        methods = set(rule.methods or ()) - {"HEAD", "OPTIONS"}
        if "GET" not in methods:
            out.skip(rule.rule, f"{'/'.join(sorted(methods))} only")
        elif rule.arguments:
            out.skip(rule.rule, "path parameters " + ", ".join(sorted(rule.arguments)))
        else:
            out.add(rule.rule, handler_kind(app.view_functions.get(rule.endpoint)))


def _required_params(route: Any) -> list[str]:
    """FastAPI parameters a bare GET cannot supply: required query, header, cookie or body
    fields, in the route and in its dependencies (walked here: FastAPI's own helpers for it
    have changed between releases)."""
    names: list[str] = []
    pending = [getattr(route, "dependant", None)]
    seen: set[int] = set()
    while pending:
        dependant = pending.pop()
        if dependant is None or id(dependant) in seen:
            continue
        seen.add(id(dependant))
        for kind in ("query_params", "header_params", "cookie_params", "body_params"):
            for field in getattr(dependant, kind, []):
                required = getattr(field, "required", None)
                if required is None:
                    required = field.field_info.is_required()
                if required:
                    names.append(f"{kind.split('_')[0]} {field.alias}")
        pending.extend(getattr(dependant, "dependencies", []))
    return names


def starlette_routes(app: Any, out: Routes, prefix: str = "") -> None:
    from starlette.routing import Mount, Route, WebSocketRoute

    docs = {
        getattr(app, name, None)
        for name in ("openapi_url", "docs_url", "redoc_url", "swagger_ui_oauth2_redirect_url")
    } - {None}
    for route in getattr(app, "routes", []):
        path = prefix + getattr(route, "path", "")
        if isinstance(route, Mount):
            if "{" in route.path:
                out.skip(path + "/", "path parameters in the mount")
            elif route.routes:
                starlette_routes(route, out, path)
            else:
                out.skip(path + "/", "a mounted app (static files or another ASGI app)")
        elif isinstance(route, WebSocketRoute):
            out.skip(path, "a WebSocket route")
        elif isinstance(route, Route):
            methods = set(route.methods or {"GET"}) - {"HEAD"}
            if route.path in docs and not prefix:
                continue  # FastAPI's own docs pages, as Flask's static route: not the app
            if "GET" not in methods:
                out.skip(path, f"{'/'.join(sorted(methods))} only")
            elif route.param_convertors:
                out.skip(path, "path parameters " + ", ".join(route.param_convertors))
            elif required := _required_params(route):
                out.skip(path, "required " + ", ".join(required))
            else:
                endpoint: Any = route.endpoint
                if inspect.isclass(endpoint):  # an HTTPEndpoint: its get method
                    endpoint = getattr(endpoint, "get", None)
                out.add(path, handler_kind(endpoint))


_REGEX_SPECIAL = re.compile(r"[\\.*+?\[\](){}|]")


def django_routes(out: Routes) -> None:
    from django.urls import URLPattern, URLResolver, get_resolver

    def piece(pattern: Any) -> tuple[str, str]:
        """(literal path piece, why it cannot be loaded as it is or "")."""
        converters = getattr(pattern, "converters", None)
        if converters:
            return str(pattern), "path parameters " + ", ".join(converters)
        regex = getattr(pattern, "_regex", None)
        if regex is None:
            return str(pattern), ""
        text = str(regex).lstrip("^").removesuffix("$").removesuffix(r"\Z")
        compiled = re.compile(str(regex))
        if compiled.groups:
            return text, "path parameters " + (", ".join(compiled.groupindex) or "(unnamed)")
        if _REGEX_SPECIAL.search(text):
            return text, "a regular expression, not a literal path"
        return text, ""

    def walk(patterns: Iterable[Any], prefix: str) -> None:
        for entry in patterns:
            text, why = piece(entry.pattern)
            path = "/" + prefix + text
            if isinstance(entry, URLResolver):
                if "admin" in (entry.namespace, entry.app_name):
                    out.skip(path, "Django's admin, which needs a login")
                elif why:
                    out.skip(path, why)
                else:
                    walk(entry.url_patterns, prefix + text)
            elif isinstance(entry, URLPattern):
                view = entry.callback
                cls = getattr(view, "view_class", None)
                if why:
                    out.skip(path, why)
                elif cls is not None and ("get" not in cls.http_method_names
                                          or not hasattr(cls, "get")):  # fmt: skip
                    allowed = [m.upper() for m in cls.http_method_names if hasattr(cls, m)]
                    out.skip(path, f"{'/'.join(a for a in allowed if a != 'OPTIONS')} only")
                elif cls is None and "GET" not in (methods := django_methods(view) or {"GET"}):
                    out.skip(path, f"{'/'.join(sorted(methods))} only")  # @require_POST and kin
                else:
                    handler = getattr(cls, "get", None) if cls is not None else view
                    out.add(path, handler_kind(handler))

    walk(get_resolver().url_patterns, "")


def django_methods(view: Any) -> set[str] | None:
    """The methods a function view allows when Django's `require_http_methods` (or
    `require_POST`, `require_GET`, `require_safe`, built on it) wraps it: the decorator keeps
    them in its wrapper's closure as `request_method_list`. None when no such wrapper."""
    func, depth = view, 0
    while func is not None and depth < 16:
        code = getattr(func, "__code__", None)
        if code is not None and "request_method_list" in code.co_freevars:
            cell = (func.__closure__ or ())[code.co_freevars.index("request_method_list")]
            return {str(m).upper() for m in cell.cell_contents}
        func, depth = getattr(func, "__wrapped__", None), depth + 1
    return None


def routes(spec: str) -> dict[str, Any]:
    app = load(spec)
    framework, interface = framework_of(app)
    out = Routes()
    error = ""
    try:
        if hasattr(app, "url_map") and hasattr(app, "view_functions"):
            flask_routes(app, out)
        elif framework in ("fastapi", "starlette") or hasattr(app, "router"):
            starlette_routes(app, out)
        elif framework == "django" or _django_configured():
            django_routes(out)
    except Exception as exc:  # a router we could not read: say so, do not fail the run
        error = f"{type(exc).__name__}: {exc}"
    return {"framework": framework, "interface": interface, "error": error,
            "routes": out.found, "skipped": out.skipped}  # fmt: skip


def _django_configured() -> bool:
    if "django.conf" not in sys.modules:
        return False
    from django.conf import settings

    return bool(settings.configured)


def main(argv: list[str]) -> None:
    command, spec, chdir, *rest = argv
    if chdir:
        sys.path.insert(0, chdir)
    named = rest[:1] != ["0"]
    result = check(spec, chdir, named) if command == "check" else routes(spec)
    print("\n" + json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
