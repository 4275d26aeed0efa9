"""Finding the app in a folder from its source: App Service's rule first, then Flask's and
FastAPI's command lines; and the WSGI or ASGI guess that check and emit use."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunicorn.app import find
from tunicorn.app.target import resolve
from tunicorn.errors import UsageError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "check"


def found(name: str) -> find.Found:
    result = find.find_app(FIXTURES / name)
    assert result is not None, name
    return result


def test_a_factory_in_a_package_named_by_pyproject_is_found_like_flasks_cli() -> None:
    app = found("flaskr_factory")
    assert app.app == "flaskr:create_app()" and app.factory and not app.app_service
    assert app.framework == "flask" and app.interface == "wsgi"
    assert "package flaskr" in app.reason and "pyproject.toml" in app.reason
    assert find.describe(app.framework, app.interface, app.factory) == "a Flask app factory"


def test_the_package_folder_itself_is_imported_from_its_parent() -> None:
    app = found("flaskr_factory/flaskr")
    assert app.app == "flaskr:create_app()" and app.chdir == (FIXTURES / "flaskr_factory")


def test_main_py_is_where_fastapis_cli_looks() -> None:
    app = found("fastapi_quickstart")
    assert (app.app, app.framework, app.interface) == ("main:app", "fastapi", "asgi")
    assert "FastAPI's CLI" in app.reason and not app.app_service


def test_app_service_modules_come_first_and_say_so() -> None:
    app = found("default_single")
    assert app.app == "app:app" and app.app_service
    django = found("django")
    assert django.app == "mysite.wsgi:application" and django.framework == "django"
    assert django.app_service


def test_a_module_without_app_falls_back_to_application() -> None:
    app = found("no_app_object")
    assert app.app == "app:application" and not app.app_service


def test_django_asgi_entry_beside_wsgi() -> None:
    assert find.django_asgi(FIXTURES / "django_asgi") == "mysite.asgi:application"
    assert find.django_asgi(FIXTURES / "django") == ""


def test_static_interface_reads_the_constructor() -> None:
    assert find.static_interface(FIXTURES / "fastapi_app_py", "app:app") == ("fastapi", "asgi")
    assert find.static_interface(FIXTURES / "default_single", "app:app") == ("flask", "wsgi")
    assert find.static_interface(FIXTURES / "django_asgi", "mysite.asgi:application") == (
        "django",
        "asgi",
    )
    assert find.static_interface(FIXTURES / "flaskr_factory", "flaskr:create_app()") == (
        "flask",
        "wsgi",
    )


def test_a_factory_that_needs_arguments_is_not_called(tmp_path: Path) -> None:
    (tmp_path / "wsgi.py").write_text(
        "from flask import Flask\n\ndef create_app(config):\n    return Flask(__name__)\n"
    )
    assert find.find_app(tmp_path) is None


def test_a_folder_with_nothing_says_where_it_looked(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("nothing here\n")
    with pytest.raises(UsageError, match="FastAPI's CLIs"):
        resolve(str(tmp_path))


def test_resolve_a_folder_keeps_how_it_was_found() -> None:
    target = resolve(str(FIXTURES / "flaskr_factory"))
    assert target.app == "flaskr:create_app()" and target.factory
    assert target.chdir == str((FIXTURES / "flaskr_factory").resolve())
    assert "package flaskr" in target.found


def test_a_module_alone_is_looked_up_by_the_import_check() -> None:
    target = resolve("flaskr")
    assert target.app == "flaskr:app" and not target.named
    assert resolve("flaskr:create_app()").named


def test_the_worker_class_must_serve_the_apps_interface() -> None:
    from tunicorn.app.target import Target, server_class

    asgi = Target(kind="app", app="main:app", interface="asgi", framework="fastapi")
    wsgi = Target(kind="app", app="app:app", interface="wsgi", framework="flask")
    assert server_class(asgi, None) == ("uvicorn", [])
    assert server_class(wsgi, None) == ("sync", [])
    cls, notes = server_class(asgi, "uvicorn.workers.UvicornWorker")
    assert cls == "uvicorn" and "deprecated" in notes[0]
    for wrong in ("sync", "gthread", "gevent"):
        with pytest.raises(UsageError, match="worker cannot serve"):
            server_class(asgi, wrong)
    with pytest.raises(UsageError, match="ASGI apps only"):
        server_class(wsgi, "uvicorn")
    with pytest.raises(UsageError, match="ASGI apps only"):
        server_class(wsgi, None, server="uvicorn")
    with pytest.raises(UsageError, match="--threads does not apply"):
        server_class(asgi, None, threads=4)
