"""What the import check asks the callable itself: WSGI or ASGI, which framework, and the
routes a bare GET can load (run here in-process on app objects, not in the subprocess)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tunicorn.app import inapp

APPS = Path(__file__).resolve().parents[1] / "apps"


@pytest.fixture(autouse=True)
def apps_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(APPS))


async def raw_asgi(scope: Any, receive: Any, send: Any) -> None:
    pass


def raw_wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    return []


class Middleware:
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        pass


class WsgiMiddleware:
    def __call__(self, environ: Any, start_response: Any) -> Iterable[bytes]:
        return []


def test_the_callable_says_which_interface_it_speaks() -> None:
    assert inapp.framework_of(raw_asgi) == ("", "asgi")
    assert inapp.framework_of(Middleware()) == ("", "asgi")
    assert inapp.framework_of(raw_wsgi) == ("", "wsgi")
    assert inapp.framework_of(WsgiMiddleware()) == ("", "wsgi")
    assert inapp.framework_of(Flask("x")) == ("flask", "wsgi")


def test_frameworks_by_their_app_class() -> None:
    import fastapi_app
    import starlette_app

    assert inapp.framework_of(fastapi_app.app) == ("fastapi", "asgi")
    assert inapp.framework_of(starlette_app.app) == ("starlette", "asgi")


def test_a_function_without_required_arguments_is_a_factory() -> None:
    def create_app(test_config: object = None) -> Flask:
        return Flask("x")

    assert inapp._bare_factory(create_app)
    assert not inapp._bare_factory(raw_wsgi) and not inapp._bare_factory(raw_asgi)


def test_fastapi_routes_without_parameters_and_why_the_rest_were_skipped() -> None:
    import fastapi_app

    out = inapp.Routes()
    inapp.starlette_routes(fastapi_app.app, out)
    found = {r["path"]: r["handler"] for r in out.found}
    assert found == {"/": "async", "/io": "async", "/sync": "sync", "/blocking": "async",
                     "/page": "async"}  # fmt: skip
    skipped = dict((s["path"], s["why"]) for s in out.skipped)
    assert skipped["/items/{item_id}"] == "path parameters item_id"
    assert skipped["/search"] == "required query q"
    assert skipped["/submit"] == "POST only"
    assert "/docs" not in found and "/docs" not in skipped  # FastAPI's own pages


def test_starlette_mounts_and_websockets() -> None:
    import starlette_app

    out = inapp.Routes()
    inapp.starlette_routes(starlette_app.app, out)
    found = {r["path"]: r["handler"] for r in out.found}
    assert found == {"/": "async", "/io": "async", "/api/plain": "sync"}
    skipped = dict((s["path"], s["why"]) for s in out.skipped)
    assert skipped["/api/users/{name}"] == "path parameters name"
    assert skipped["/ws"] == "a WebSocket route"


def test_flask_routes_skip_post_only_and_parameters() -> None:
    app = Flask("x")
    app.add_url_rule("/", "index", lambda: "ok")
    app.add_url_rule("/user/<name>", "user", lambda name: name)
    app.add_url_rule("/form", "form", lambda: "ok", methods=["POST"])
    out = inapp.Routes()
    inapp.flask_routes(app, out)
    assert [r["path"] for r in out.found] == ["/"]
    assert {s["path"]: s["why"] for s in out.skipped} == {
        "/user/<name>": "path parameters name", "/form": "POST only",
    }  # fmt: skip


def test_best_app_looks_like_flasks_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(APPS.parent / "fixtures" / "check" / "flaskr_factory"))
    assert inapp.best_app("flaskr") == "flaskr:create_app()"
    assert inapp.best_app("fastapi_app") == "fastapi_app:app"
    sys.modules.pop("flaskr", None)
