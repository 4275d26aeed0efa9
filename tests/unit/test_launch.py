"""The server interface and gunicorn behind it, without starting a process: the command line for
each worker class, the class read back from the log, and why it stopped from its exit status."""

from __future__ import annotations

import signal
import sys
import typing
from pathlib import Path

import pytest

from tunicorn import launch
from tunicorn.app.target import Target
from tunicorn.launch import gunicorn
from tunicorn.launch.interface import ExitReason, ServerProgram, killed
from tunicorn.record import ServerConfig

LOGS = Path(__file__).resolve().parents[1] / "fixtures" / "gunicorn"  # gunicorn 27.0.1, real runs
TARGET = Target(kind="app", app="app:app", chdir="/srv/app")


def log(name: str) -> str:
    return (LOGS / name).read_text()


def options(argv: list[str]) -> dict[str, str]:
    """The `--name value` pairs of a command line (the one flag without a value, gunicorn
    25.1's --no-control-socket, maps to "")."""
    flags = [f for f in argv[3:-1] if f != "--no-control-socket"]
    pairs = dict(zip(flags[::2], flags[1::2], strict=True))
    return {**pairs, **({"--no-control-socket": ""} if "--no-control-socket" in argv else {})}


# -- the choice ---------------------------------------------------------------------------------


def test_every_server_name_has_a_program_of_that_name() -> None:
    assert typing.get_args(launch.ServerName) == launch.SERVERS == ("gunicorn", "uvicorn")
    for name in launch.SERVERS:
        assert isinstance(launch.program(name), ServerProgram)
        assert launch.program(name).name == name


def test_the_runner_defaults_to_gunicorn_with_todays_constructor() -> None:
    server = launch.Server(
        TARGET, ServerConfig(2, 4, "sync"), cpus=(0,), log_dir="/tmp/x", ready_path="/io", port=0
    )
    assert server.program is gunicorn.PROGRAM
    assert server.config.worker_class == "gthread"  # the runner holds the class that runs


def test_the_runner_refuses_a_url_target() -> None:
    with pytest.raises(ValueError, match="app target"):
        launch.Server(Target(kind="url", url="http://127.0.0.1:8000"), ServerConfig())


# -- argv and environment ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            ServerConfig(1, 1, "sync"),
            {"--workers": "1", "--threads": "1", "--worker-class": "sync"},
        ),
        (
            ServerConfig(3, 6, "gthread", timeout=600),
            {"--workers": "3", "--threads": "6", "--worker-class": "gthread", "--timeout": "600"},
        ),
        (ServerConfig(2, 1, "gevent"), {"--workers": "2", "--worker-class": "gevent"}),
    ],
)
def test_argv_runs_the_configuration_on_the_bound_socket(
    config: ServerConfig, expected: dict[str, str]
) -> None:
    argv = gunicorn.argv(TARGET, config, 7, Path("/tmp/run.log"))
    assert argv[:3] == [sys.executable, "-m", "gunicorn"]
    assert argv[-1] == "app:app"
    opts = options(argv)
    assert opts["--bind"] == "fd://7"
    assert opts["--error-logfile"] == "/tmp/run.log"
    assert opts["--chdir"] == "/srv/app"
    assert opts["--timeout"] == str(config.timeout)
    assert expected.items() <= opts.items()


def test_argv_without_a_folder_runs_where_it_is_started() -> None:
    argv = gunicorn.argv(Target(kind="app", app="app:app"), ServerConfig(), 3, Path("x.log"))
    assert "--chdir" not in argv


def test_env_drops_the_users_gunicorn_settings() -> None:
    parent = {"GUNICORN_CMD_ARGS": "--workers 9", "WEB_CONCURRENCY": "9", "PATH": "/bin"}
    env = gunicorn.env(parent)
    assert env == {"PATH": "/bin", "PYTHONUNBUFFERED": "1"}
    assert parent["WEB_CONCURRENCY"] == "9"  # the caller's own environment is left alone


# -- what runs, what it said ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "config", "expected"),
    [
        (log("boot_gthread.log"), ServerConfig(2, 4, "sync"), "gthread"),
        (log("boot_gevent.log"), ServerConfig(1, 1, "gevent"), "gevent"),
        (log("exit4_no_app.log"), ServerConfig(1, 1, "sync"), "sync"),
        ("[INFO] Using worker: gunicorn.workers.gthread.ThreadWorker\n", ServerConfig(), "gthread"),
        ("[INFO] Using worker: gunicorn.workers.sync.SyncWorker\n", ServerConfig(), "sync"),
        ("", ServerConfig(1, 4, "sync"), "gthread"),  # nothing logged yet: the rule decides
        ("", ServerConfig(1, 1, "gevent"), "gevent"),
    ],
)
def test_running_class_is_read_back_from_the_log(
    text: str, config: ServerConfig, expected: str
) -> None:
    assert gunicorn.running_class(config, text) == expected


def test_log_warnings_count_timeouts_kills_and_restarts() -> None:
    text = (
        "[INFO] Booting worker with pid: 10\n[INFO] Booting worker with pid: 11\n"
        "[CRITICAL] WORKER TIMEOUT (pid:10)\n"
        "[ERROR] Worker (pid:10) was sent SIGKILL! Perhaps out of memory?\n"
        "[INFO] Booting worker with pid: 12\n"
    )
    assert gunicorn.log_warnings(ServerConfig(2, 1, "sync", timeout=30), text) == [
        "1 worker(s) hit the 30 s timeout and were killed",
        "1 worker(s) were killed by SIGKILL (out of memory?)",
        "workers were restarted 1 time(s) during the run",
        'the server log\'s last error: "Worker (pid:10) was sent SIGKILL! Perhaps out of memory?"',
    ]
    assert gunicorn.log_warnings(ServerConfig(2), log("boot_gthread.log")) == []


# -- why it stopped: the exit status first ------------------------------------------------------


def test_exit_4_is_the_app_load_error_with_gunicorns_line() -> None:
    reason = gunicorn.explain_exit(4, log("exit4_no_app.log"))
    assert reason.status == "exit status 4 (APP_LOAD_ERROR)"
    assert "found no app" in reason.meaning
    assert "module:NAME" in reason.action
    assert reason.evidence == "Failed to find attribute 'nothing_here' in 'hello'"


def test_exit_3_names_the_apps_failing_line() -> None:
    reason = gunicorn.explain_exit(3, log("exit3_app_raises.log"))
    assert reason.status == "exit status 3 (WORKER_BOOT_ERROR)"
    assert "the app raised while the worker imported it" in reason.meaning
    assert reason.evidence.startswith("KeyError: 'TUNICORN_TEST_SETTING_THAT_IS_NEVER_SET' at ")
    assert "/srv/app/broken_import.py:5 — SETTING = os.environ[" in reason.evidence
    assert "fix the app's error at that line" in reason.action


def test_exit_3_for_a_missing_module_says_to_install_it() -> None:
    reason = gunicorn.explain_exit(3, log("exit3_no_module.log"))
    assert reason.status == "exit status 3 (WORKER_BOOT_ERROR)"
    assert reason.evidence == "ModuleNotFoundError: No module named 'nosuchmod'"
    assert "install the package that provides 'nosuchmod'" in reason.action


def test_exit_1_from_a_halt_that_failed_is_told_by_the_workers_status() -> None:
    # Two workers: the second one's exit 4 raised HaltServer again while gunicorn stopped.
    reason = gunicorn.explain_exit(1, log("exit1_halted_twice.log"))
    assert reason.status == "exit status 1, after a worker's exit status 4 (APP_LOAD_ERROR)"
    assert reason.evidence == "Failed to find attribute 'nothing_here' in 'hello'"
    assert "module:NAME" in reason.action


def test_exit_1_for_a_missing_worker_class_names_its_package() -> None:
    reason = gunicorn.explain_exit(1, log("exit1_worker_class.log"))
    assert reason.status == "exit status 1"
    assert "'uvicorn_worker.UvicornWorker'" in reason.meaning
    assert "pip install uvicorn-worker" in reason.action
    assert reason.evidence == "No module named 'uvicorn_worker'"
    gevent = "Error: class uri 'gevent' invalid or not found: \n\n[Traceback (most recent call"
    gevent += " last):\nModuleNotFoundError: No module named 'gevent'\n]\n"
    assert "pip install gevent" in gunicorn.explain_exit(1, gevent).action


@pytest.mark.parametrize(
    "error",
    [
        "ImportError: Entry point ('gunicorn.workers', 'nosuch') not found",
        "ModuleNotFoundError: No module named 'gunicorn.workers.nope'",
    ],
)
def test_exit_1_for_a_misspelt_worker_class_says_to_check_its_name(error: str) -> None:
    text = f"\nError: class uri 'nosuch' invalid or not found: \n\n[Traceback ...\n{error}\n]\n"
    reason = gunicorn.explain_exit(1, text)
    assert "check its name" in reason.action and "pip install" not in reason.action


def test_exit_1_for_another_refused_setting_quotes_it() -> None:
    text = "\nError: Invalid value for workers: abc\n"
    reason = gunicorn.explain_exit(1, text)
    assert reason.evidence == "Error: Invalid value for workers: abc"
    assert "fix what it names" in reason.action
    conf = "Failed to read config file: /srv/app/gunicorn.conf.py\nTraceback (most recent...\n"
    assert "gunicorn.conf.py" in gunicorn.explain_exit(1, conf).meaning


def test_a_signal_is_told_apart_from_an_exit_status() -> None:
    reason = gunicorn.explain_exit(-signal.SIGKILL, "")
    assert reason.status == "signal SIGKILL"
    assert "out-of-memory" in reason.meaning and "fewer workers" in reason.action
    assert gunicorn.explain_exit(-signal.SIGSEGV, "").status == "signal SIGSEGV"
    assert killed(-99).status == "signal 99"


def test_other_codes_fall_back_to_the_log() -> None:
    reason = gunicorn.explain_exit(2, "[ERROR] ... Address already in use\n")
    assert (reason.status, reason.meaning) == ("exit status 2", "the port is in use")
    assert reason.evidence == "Address already in use"
    silent = gunicorn.explain_exit(7, "")
    assert silent.status == "exit status 7" and silent.evidence == "" and silent.action


def test_a_master_error_and_a_clean_exit_say_what_to_read() -> None:
    crash = "[ERROR] Unhandled exception in main loop\nTraceback (most recent call last):\n"
    crash += '  File "/opt/venv/lib/python3.11/site-packages/gunicorn/arbiter.py", line 1\n'
    crash += "OSError: [Errno 24] Too many open files\n"
    reason = gunicorn.explain_exit(255, crash)
    assert reason.evidence == "OSError: [Errno 24] Too many open files"
    assert gunicorn.explain_exit(0, "[INFO] Handling signal: int\n").evidence.endswith("int")


def test_an_explanation_reads_as_one_clause_that_ends_with_what_to_do() -> None:
    reason = ExitReason("exit status 4 (APP_LOAD_ERROR)", "it broke", "fix it.", "the line")
    assert str(reason) == "exit status 4 (APP_LOAD_ERROR): it broke (the line); fix it"
    assert str(ExitReason("signal SIGTERM", "stopped", "")) == "signal SIGTERM: stopped"


def test_evidence_is_one_bounded_line() -> None:
    text = "Traceback (most recent call last):\nValueError: " + "x" * 1000 + "\n"
    evidence = gunicorn.explain_exit(3, text).evidence
    assert "\n" not in evidence and len(evidence) <= gunicorn.EVIDENCE_MAX


def test_a_trial_opens_no_control_socket_where_gunicorn_would() -> None:
    argv = gunicorn.argv(TARGET, ServerConfig(), 3, Path("x.log"))
    assert ("--no-control-socket" in argv) == gunicorn._has_control_socket()


def test_gunicorn_stops_quickly_except_under_uvicorns_worker() -> None:
    for worker_class in ("sync", "gthread", "gevent"):
        assert gunicorn.stop_signal(ServerConfig(2, 4, worker_class)) == signal.SIGQUIT
    # uvicorn's worker leaves SIGQUIT at its default (a core dump): the one it handles.
    assert gunicorn.stop_signal(ServerConfig(2, 1, "uvicorn")) == signal.SIGTERM
