"""ASGI servers behind the server interface: gunicorn with the uvicorn worker, and uvicorn on
its own; their command lines and how their logs are read, without starting a process."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tunicorn import launch
from tunicorn.app.target import Target
from tunicorn.errors import UsageError
from tunicorn.launch import gunicorn, uvicorn
from tunicorn.record import ServerConfig

TARGET = Target(kind="app", app="main:app", chdir="/srv/app", interface="asgi")


def test_gunicorn_runs_the_uvicorn_worker_package_and_no_threads() -> None:
    argv = gunicorn.argv(TARGET, ServerConfig(2, 1, "uvicorn"), 7, Path("/tmp/x.log"))
    i = argv.index("--worker-class")
    assert argv[i + 1] == "uvicorn_worker.UvicornWorker"
    assert "--threads" not in argv and argv[argv.index("--workers") + 1] == "2"
    log = "[INFO] Using worker: uvicorn_worker.UvicornWorker\n"
    assert gunicorn.running_class(ServerConfig(2, 1, "uvicorn"), log) == "uvicorn"


def test_uvicorn_alone_serves_the_bound_socket_with_its_own_supervisor() -> None:
    argv = uvicorn.argv(TARGET, ServerConfig(3, 1, "uvicorn"), 9, Path("/tmp/x.log"))
    assert argv[:3] == [sys.executable, "-m", "uvicorn"]
    assert argv[argv.index("--fd") + 1] == "9" and argv[argv.index("--workers") + 1] == "3"
    assert argv[argv.index("--app-dir") + 1] == "/srv/app"
    assert "--no-access-log" in argv and argv[-1] == "main:app"
    assert launch.program("uvicorn") is uvicorn.PROGRAM


def test_uvicorn_takes_a_factory_its_own_way() -> None:
    assert uvicorn.app_args("pkg:create_app()") == ["--factory", "pkg:create_app"]
    assert uvicorn.app_args("main:app") == ["main:app"]
    with pytest.raises(UsageError, match="without arguments"):
        uvicorn.app_args("pkg:create_app('prod')")


def test_uvicorn_env_drops_settings_it_would_read() -> None:
    env = uvicorn.env({"WEB_CONCURRENCY": "4", "UVICORN_WORKERS": "4", "PATH": "/bin"})
    assert env == {"PATH": "/bin", "PYTHONUNBUFFERED": "1"}


def test_uvicorns_exit_is_read_from_its_log() -> None:
    log = 'ERROR:    Error loading ASGI app. Attribute "ap" not found in module "main".\n'
    reason = uvicorn.explain_exit(1, log)
    assert "could not load the app" in reason.meaning and "Attribute" in reason.evidence
    assert "signal" in uvicorn.explain_exit(-9, "").status
    died = "INFO:     Child process [12] died\nINFO:     Child process [13] died\n"
    assert uvicorn.log_warnings(ServerConfig(2, 1, "uvicorn"), died) == [
        "workers were restarted 2 time(s) during the run"
    ]
    died += "ERROR:    Exception in ASGI application\nINFO:     Child process [14] died\n"
    assert uvicorn.log_warnings(ServerConfig(2, 1, "uvicorn"), died)[1:] == [
        'the server log\'s last error: "Exception in ASGI application"'
    ]
