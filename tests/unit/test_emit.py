"""Each format says exactly what gunicorn will run, and refuses what it would misread."""

from __future__ import annotations

import shlex
import typing
from pathlib import Path

import pytest
from click.testing import CliRunner

from tunicorn.cli import cli
from tunicorn.deploy import emit
from tunicorn.deploy.emit import appsettings
from tunicorn.errors import UsageError


def test_azure_command_matches_the_seed_shape() -> None:
    spec = emit.make_spec(3, 6)
    assert emit.render("azure", spec) == (
        "gunicorn --bind=0.0.0.0 --timeout 230 --workers 3 --threads 6 "
        "--worker-class gthread app:app\n"
    )


def test_sync_with_one_thread_omits_the_default_worker_class() -> None:
    text = emit.render("azure", emit.make_spec(2, 1, "sync"))
    assert "--worker-class" not in text
    assert "--workers 2 --threads 1 app:app" in text


def test_sync_with_threads_is_written_as_gthread_with_a_note() -> None:
    spec = emit.make_spec(2, 4, "sync")
    assert spec.worker_class == "gthread"
    assert any("gthread" in note for note in spec.notes)
    assert "--worker-class gthread" in emit.render("azure", spec)


def test_gevent_with_threads_is_refused() -> None:
    with pytest.raises(UsageError, match="gevent ignores --threads"):
        emit.make_spec(2, 4, "gevent")


def test_gevent_omits_threads() -> None:
    text = emit.render("azure", emit.make_spec(2, 1, "gevent"))
    assert "--threads" not in text
    assert "--worker-class gevent" in text


@pytest.mark.parametrize(("workers", "threads"), [(0, 1), (1, 0), (-2, 1)])
def test_counts_must_be_positive(workers: int, threads: int) -> None:
    with pytest.raises(UsageError, match="1 or more"):
        emit.make_spec(workers, threads)


def test_unknown_worker_class_is_refused() -> None:
    with pytest.raises(UsageError, match="Unknown worker class 'eventlet'"):
        emit.make_spec(1, 1, "eventlet")


def test_every_format_has_an_emitter() -> None:
    assert set(emit.FORMATS) == set(typing.get_args(emit.Format))
    names = {emit.emitter(fmt).name for fmt in emit.FORMATS}
    assert names == set(emit.FORMATS)


def test_app_with_parentheses_is_shell_quoted() -> None:
    spec = emit.make_spec(1, 2, app="pkg.wsgi:create_app()")
    line = emit.render("azure", spec).strip()
    assert shlex.split(line)[-1] == "pkg.wsgi:create_app()"


def test_az_line_wraps_the_startup_command() -> None:
    spec = emit.make_spec(3, 6)
    line = emit.render("az", spec)
    assert line.startswith(
        "az webapp config set --resource-group <resource-group> --name <app-name> "
    )
    assert shlex.split(line)[-1] == emit.render("azure", spec).strip()


def test_procfile_and_dockerfile_take_the_port_from_the_environment() -> None:
    spec = emit.make_spec(2, 2)
    assert emit.render("procfile", spec).startswith("web: gunicorn --bind=0.0.0.0:$PORT ")
    docker = emit.render("dockerfile", spec)
    assert docker.splitlines()[-1].startswith("CMD exec gunicorn --bind=0.0.0.0:${PORT:-8000} ")
    assert "FROM python:3.12-slim" in docker


def test_conf_is_python_with_the_same_values() -> None:
    namespace: dict[str, object] = {}
    exec(emit.render("conf", emit.make_spec(3, 6)), namespace)  # noqa: S102 - our own output
    assert (namespace["workers"], namespace["threads"], namespace["worker_class"]) == (
        3,
        6,
        "gthread",
    )
    assert namespace["bind"] == "0.0.0.0:8000"


def test_appsettings_list_the_three_settings_and_the_az_line() -> None:
    text = emit.render("appsettings", emit.make_spec(3, 6))
    assert "PYTHON_ENABLE_GUNICORN_MULTIWORKERS=true\n" in text
    assert "PYTHON_GUNICORN_CUSTOM_WORKER_NUM=3\n" in text
    assert "PYTHON_GUNICORN_CUSTOM_THREAD_NUM=6\n" in text
    assert "az webapp config appsettings set --resource-group <resource-group>" in text
    # App Service's default command keeps its 600 s; only a startup command can say 230.
    caveats = [line for line in text.splitlines() if "cannot express" in line]
    assert caveats == [
        "# cannot express: timeout stays 600 s (App Service's), not 230 s; "
        "use --format azure for that."
    ]


def test_appsettings_say_what_they_cannot_express() -> None:
    text = emit.render("appsettings", emit.make_spec(2, 2, timeout=120, app="main:server"))
    assert "# cannot express: timeout stays 600 s" in text
    assert "# cannot express: the app" in text
    with pytest.raises(UsageError, match="cannot choose a worker class"):
        appsettings.settings(emit.make_spec(2, 1, "gevent"))


def test_cli_prints_the_command_and_notes_gthread() -> None:
    result = CliRunner().invoke(
        cli, ["emit", "--workers", "3", "--threads", "6", "--worker-class", "sync"]
    )
    assert result.exit_code == 0, result.output
    assert "--worker-class gthread app:app" in result.stdout
    assert "runs as gthread" in result.stderr


def test_cli_resolves_a_folder_like_app_service(tmp_path: typing.Any) -> None:
    (tmp_path / "application.py").write_text("app = None\n")
    result = CliRunner().invoke(
        cli, ["emit", str(tmp_path), "--workers", "2", "--format", "procfile"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith(" application:app")


def test_cli_writes_output_file(tmp_path: typing.Any) -> None:
    path = tmp_path / "gunicorn.conf.py"
    result = CliRunner().invoke(
        cli, ["emit", "--workers", "2", "--format", "conf", "-o", str(path)]
    )
    assert result.exit_code == 0, result.output
    assert "workers = 2" in path.read_text()


@pytest.mark.parametrize(
    "args",
    [
        ["--workers", "0"],
        ["--workers", "2", "--threads", "x"],
        ["--workers", "2", "--format", "yaml"],
    ],
)
def test_cli_bad_values_exit_2(args: list[str]) -> None:
    result = CliRunner().invoke(cli, ["emit", *args])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_cli_gevent_with_threads_is_a_usage_error() -> None:
    result = CliRunner().invoke(
        cli, ["emit", "--workers", "2", "--threads", "4", "--worker-class", "gevent"]
    )
    assert isinstance(result.exception, UsageError)


def test_cli_refuses_a_url_target() -> None:
    result = CliRunner().invoke(cli, ["emit", "http://127.0.0.1:8000/", "--workers", "2"])
    assert isinstance(result.exception, UsageError)
    assert "is a URL" in str(result.exception)


# -- an ASGI app: the uvicorn worker --------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["uvicorn", "uvicorn_worker.UvicornWorker", "uvicorn.workers.UvicornWorker"]
)
def test_the_uvicorn_worker_is_written_as_the_uvicorn_worker_package(name: str) -> None:
    spec = emit.make_spec(2, 1, name, app="main:app")
    assert spec.worker_class == "uvicorn" and spec.label == "2 uvicorn workers"
    assert spec.command() == (
        "gunicorn --bind=0.0.0.0 --timeout 230 --workers 2 "
        "--worker-class uvicorn_worker.UvicornWorker main:app"
    )
    assert bool(spec.notes) == (name == "uvicorn.workers.UvicornWorker")  # deprecated: said
    conf = emit.render("conf", spec)
    assert "worker_class = 'uvicorn_worker.UvicornWorker'" in conf and "threads" not in conf
    assert "uvicorn-worker" in emit.render("dockerfile", spec)


def test_app_settings_cannot_choose_an_asgi_worker() -> None:
    spec = emit.make_spec(2, 1, "uvicorn", app="main:app")
    with pytest.raises(UsageError, match="cannot choose an ASGI worker"):
        emit.render("appsettings", spec)
    with pytest.raises(UsageError, match="ignores --threads"):
        emit.make_spec(2, 4, "uvicorn", app="main:app")


def test_cli_writes_the_uvicorn_worker_for_an_asgi_app_and_refuses_a_wsgi_class() -> None:
    folder = str(Path(__file__).resolve().parents[1] / "fixtures" / "check" / "fastapi_app_py")
    ok = CliRunner().invoke(cli, ["emit", folder, "--workers", "2"])
    assert ok.exit_code == 0 and "uvicorn_worker.UvicornWorker app:app" in ok.output
    bad = CliRunner().invoke(cli, ["emit", folder, "--workers", "2", "-k", "gthread"])
    assert isinstance(bad.exception, UsageError) and "cannot serve" in str(bad.exception)
