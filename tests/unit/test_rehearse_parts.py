"""The rehearsal's parts that need no process: the command as it runs here, pip's failures
read back into one sentence, and the printed outcome."""

from __future__ import annotations

import io
import shlex
import sys
from pathlib import Path

import pytest
from rich.console import Console

from tunicorn.deploy.rehearse import build, start
from tunicorn.deploy.requirements import ProjectRequirements, parse_line
from tunicorn.record import Rehearsal
from tunicorn.report import advice

ORYX = (
    "GUNICORN_CMD_ARGS=\"--timeout 600 --access-logfile '-' --error-logfile '-' "
    '--bind=0.0.0.0:8000 --chdir=/home/site/wwwroot" gunicorn app:app'
)


def launch(command: str, root: Path, port: int = 41000) -> start.Launch:
    venv = root / "env"
    found = start.launch_for(command, root, venv, {"PATH": "/usr/bin"}, port)
    assert isinstance(found, start.Launch), found
    return found


def test_oryx_default_binds_loopback_and_runs_from_the_project(tmp_path: Path) -> None:
    run = launch(ORYX, tmp_path)
    assert run.argv[0] == str(tmp_path / "env" / "bin" / "gunicorn")
    assert run.argv[-2:] == ["--bind=127.0.0.1:41000", "--error-logfile=-"]
    env_args = shlex.split(run.env["GUNICORN_CMD_ARGS"])
    assert f"--chdir={tmp_path}" in env_args
    assert not any(a.startswith("--bind") for a in env_args)
    assert run.env["PORT"] == "41000" and run.cwd == tmp_path
    assert run.shown.startswith('GUNICORN_CMD_ARGS="--timeout 600 --access-logfile - ')
    assert "0.0.0.0" not in run.shown


@pytest.mark.parametrize(
    "binding",
    ["--bind=0.0.0.0", "--bind 0.0.0.0:8000", "-b 0.0.0.0:$PORT", "-b0.0.0.0:8000",
     "--bind=0.0.0.0:8000 --bind=[::]:8000"],
)  # fmt: skip
def test_every_bind_gives_way_to_one_on_loopback(tmp_path: Path, binding: str) -> None:
    run = launch(f"gunicorn {binding} --workers 2 app:app", tmp_path)
    binds = [a for a in run.argv if a.startswith(("-b", "--bind"))]
    assert binds == ["--bind=127.0.0.1:41000"]
    assert "--workers" in run.argv and "app:app" in run.argv


def test_python_m_gunicorn_runs_the_environments_python(tmp_path: Path) -> None:
    run = launch("python3 -m gunicorn -k gevent app:app", tmp_path)
    assert run.argv[:3] == [str(tmp_path / "env" / "bin" / "python"), "-m", "gunicorn"]
    assert "-k" in run.argv and "gevent" in run.argv


def test_a_daemon_switch_is_left_out_and_said(tmp_path: Path) -> None:
    run = launch("gunicorn --daemon app:app", tmp_path)
    assert "--daemon" not in run.argv
    assert any("--daemon" in note for note in run.notes)


def test_script_steps_are_named_and_cd_is_followed(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    run = launch("pip install -r extra.txt && cd src && gunicorn --chdir /app app:app", tmp_path)
    assert run.cwd == tmp_path / "src"
    assert any("pip install -r extra.txt" in note for note in run.notes)
    assert f"--chdir={tmp_path}" in run.argv  # /app is not here: the project stands in
    assert any("/app is not a folder here" in note for note in run.notes)


def test_app_service_paths_point_at_the_project(tmp_path: Path) -> None:
    run = launch("gunicorn -c /home/site/wwwroot/conf.py app:app", tmp_path)
    assert f"{tmp_path}/conf.py" in run.argv


@pytest.mark.parametrize(
    ("command", "why"),
    [("uvicorn main:app --host 0.0.0.0", "starts uvicorn"), ("flask run", "starts flask"),
     ("echo hello", "could not tell")],
)  # fmt: skip
def test_commands_that_are_not_gunicorn_are_not_rehearsed(
    tmp_path: Path, command: str, why: str
) -> None:
    found = start.launch_for(command, tmp_path, tmp_path / "env", {}, 41000)
    assert isinstance(found, str) and why in found


def test_the_environment_keeps_pip_settings_and_drops_what_leaks() -> None:
    env = build.environment({"PIP_INDEX_URL": "https://mirror/simple", "PYTHONPATH": "/x",
                             "VIRTUAL_ENV": "/v", "PIP_TARGET": "/t", "HOME": "/root"})  # fmt: skip
    assert env["PIP_INDEX_URL"] == "https://mirror/simple" and env["HOME"] == "/root"
    assert not {"PYTHONPATH", "VIRTUAL_ENV", "PIP_TARGET"} & env.keys()
    assert env["PIP_NO_INPUT"] == "1"
    assert "PIP_NO_CACHE_DIR" not in env  # pip's own cache keeps rehearsals fast


def test_what_to_install_follows_oryx(tmp_path: Path) -> None:
    reqs = ProjectRequirements("requirements.txt")
    assert build.what_to_install(tmp_path, reqs) == (
        ["--prefer-binary", "-r", "requirements.txt"], ())  # fmt: skip
    assert build.what_to_install(tmp_path, ProjectRequirements("setup.py"))[0][-1] == "."
    pyproject = ProjectRequirements("pyproject.toml", tuple(
        r for r in (parse_line("flask>=3"),) if r is not None))  # fmt: skip
    args, notes = build.what_to_install(tmp_path, pyproject)
    assert args == ["--prefer-binary", "flask>=3"] and "poetry" in notes[0]
    args, notes = build.what_to_install(tmp_path, ProjectRequirements(""))
    assert args == [] and "installs nothing" in notes[0]


def test_pip_runs_for_the_new_environment(tmp_path: Path) -> None:
    host = build._pip(tmp_path, host_pip=True)
    assert host[:3] == [sys.executable, "-m", "pip"]
    assert host[3:5] == ["--python", str(tmp_path / "bin" / "python")]
    assert build._pip(tmp_path, host_pip=False)[0] == str(tmp_path / "bin" / "python")


NO_SUCH = """\
ERROR: Could not find a version that satisfies the requirement nosuchpkg==1.0 (from versions: none)
ERROR: No matching distribution found for nosuchpkg==1.0
"""
BAD_VERSION = (
    "ERROR: Could not find a version that satisfies the requirement flask==99 "
    "(from versions: 3.0.0, 3.1.0)\nERROR: No matching distribution found for flask==99\n"
)
CONFLICT = """\
ERROR: Cannot install flask==3.1.3 and werkzeug==2.0 because these package versions have \
conflicting dependencies.

The conflict is caused by:
    The user requested werkzeug==2.0
    flask 3.1.3 depends on Werkzeug>=3.1

ERROR: ResolutionImpossible
"""
BUILD_FAILED = """\
  error: subprocess-exited-with-error
  × Building wheel for psycopg2 (pyproject.toml) did not run successfully.
ERROR: Failed building wheel for psycopg2
Failed to build psycopg2
"""
NETWORK = """\
WARNING: Retrying ... NewConnectionError('Failed to establish a new connection')
ERROR: Could not find a version that satisfies the requirement flask (from versions: none)
ERROR: No matching distribution found for flask
"""


@pytest.mark.parametrize(
    ("log", "error", "action"),
    [
        (NO_SUCH, "nosuchpkg==1.0 cannot be installed here", "check its name"),
        (BAD_VERSION, "no version matches (the index has 3.0.0, 3.1.0)", "fix its version"),
        ("ERROR: Invalid requirement: 'flask=3'\n", "cannot read the requirement 'flask=3'",
         "fix that line"),
        (CONFLICT, "conflict: pip cannot install flask==3.1.3 and werkzeug==2.0 together",
         "loosen or align"),
        (BUILD_FAILED, "psycopg2 could not be built here", "has a wheel"),
        (NETWORK, "could not reach its package index for flask", "index settings"),
        ("ERROR: Something else\n", "pip install failed (exit status 1): Something else",
         "see pip's output"),
    ],
)  # fmt: skip
def test_pip_failures_name_the_requirement(log: str, error: str, action: str) -> None:
    found_error, found_action = build.explain_pip("exit status 1", log, "requirements.txt")
    assert error in found_error
    assert action in found_action


def test_a_timeout_says_so() -> None:
    assert "did not finish in time" in build.explain_pip("timeout", "", "requirements.txt")[0]


def test_the_python_version_comes_from_pyvenv_cfg(tmp_path: Path) -> None:
    (tmp_path / "pyvenv.cfg").write_text("home = /usr/bin\nversion = 3.12.4\n")
    assert build.python_version(tmp_path) == "3.12.4"
    assert build.python_version(tmp_path / "none") == ""


def test_a_missing_module_becomes_the_line_to_add() -> None:
    action = start._action("No module named 'gevent'", "install its package")
    assert "add gevent==" in action and "requirements.txt" in action
    assert start._action("something else", "as gunicorn says") == "as gunicorn says"
    unknown = "No module named 'application'"  # the app's own module, not a package
    assert start._action(unknown, "as gunicorn says") == "as gunicorn says"


def test_the_last_exception_of_a_route_that_raised() -> None:
    log = (
        '[INFO] Booting worker\nTraceback (most recent call last):\n  File "app.py", line 9\n'
        "KeyError: 'user'\n"
    )
    assert start._last_exception(log) == "KeyError: 'user'"
    assert start._last_exception("no traceback") == ""


def printed(result: Rehearsal) -> str:
    out = io.StringIO()
    advice.print_rehearsal(result, Console(width=100, file=out, color_system=None))
    return out.getvalue()


def test_a_rehearsal_that_served_prints_its_figures() -> None:
    served = Rehearsal(True, "served", "3.12.4", "requirements.txt", "gunicorn app:app",
                       installed_s=3.2, booted_s=0.8, status=200, latency_ms=12.5)  # fmt: skip
    text = printed(served)
    assert "installed in 3.2 s" in text and "booted in 0.8 s" in text
    assert "GET / → 200 in 12.5 ms" in text and "✓" in text


def test_a_failed_rehearsal_prints_why_what_to_do_and_the_log() -> None:
    text = printed(Rehearsal(False, "boot", "3.12.4", "requirements.txt", "gunicorn app:app",
                             installed_s=3.2, error="gunicorn could not load the worker class",
                             action="add gevent==26.9.0 to requirements.txt",
                             log_tail=("Error: class uri 'gevent' invalid or not found",),
                             notes=("a note",), env_kept="/tmp/x/antenv"))  # fmt: skip
    assert "✗ it did not start: gunicorn could not load" in text
    assert "what to do: add gevent==26.9.0" in text and "| Error: class uri" in text
    assert "note: a note" in text and "kept at /tmp/x/antenv" in text


def test_check_prints_and_saves_the_rehearsal_and_report_reads_it_back(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from tunicorn.cli import cli

    failed = Rehearsal(False, "boot", "3.12.4", "requirements.txt", "gunicorn app:app",
                       installed_s=2.0, error="gunicorn could not load the worker class 'gevent'",
                       action="add gevent==26.9.0 to requirements.txt")  # fmt: skip
    seen: dict[str, object] = {}

    def fake(root: Path, result: object, **kwargs: object) -> Rehearsal:
        seen.update(kwargs, root=root)
        return failed

    monkeypatch.setattr("tunicorn.deploy.rehearse.rehearse", fake)
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "check" / "clean"
    saved = tmp_path / "check.json"
    ran = CliRunner().invoke(cli, ["check", str(fixture), "--rehearse", "--path", "/health",
                                   "--keep-env", "--json", str(saved)])  # fmt: skip
    assert ran.exit_code == 1, ran.output  # the check is clean: the rehearsal failed
    assert "✗ it did not start" in ran.stdout
    assert seen["path"] == "/health" and seen["keep_env"] is True and seen["root"] == fixture
    again = CliRunner().invoke(cli, ["report", str(saved)])
    assert again.stdout == ran.stdout
    bad = CliRunner().invoke(cli, ["check", str(fixture), "--rehearse", "--path", "health"])
    assert "not a route" in str(bad.exception)


def test_messages_name_the_real_files_not_the_temporary_view(tmp_path: Path) -> None:
    from tunicorn.deploy.rehearse import _shown

    project, deploy, view = tmp_path / "project", tmp_path / "deploy", tmp_path / "view"
    for folder in (project, deploy, view):
        folder.mkdir()
    (project / "app.py").write_text("")
    (deploy / "startup.txt").write_text("")
    (view / "app.py").symlink_to(project / "app.py")
    (view / "startup.txt").symlink_to(deploy / "startup.txt")
    found = Rehearsal(False, "boot", error=f"KeyError at {view}/app.py:3",
                      command=f"gunicorn --chdir={view} app:app",
                      log_tail=(f'  File "{view}/app.py", line 3',))  # fmt: skip
    shown = _shown(found, view, deploy)
    assert shown.error == f"KeyError at {project}/app.py:3"
    assert shown.command == f"gunicorn --chdir={deploy} app:app"
    assert shown.log_tail == (f'  File "{project}/app.py", line 3',)
