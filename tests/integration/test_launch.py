"""Why a real gunicorn did not start, told from its exit status with its log as evidence."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from tunicorn.app.target import Target
from tunicorn.errors import ServerError
from tunicorn.launch import Server
from tunicorn.record import ServerConfig

APPS = Path(__file__).resolve().parents[1] / "apps"
pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("app", "status", "evidence"),
    [
        # The module raises while the worker imports it: gunicorn's WORKER_BOOT_ERROR.
        ("broken_import:app", "exit status 3 (WORKER_BOOT_ERROR)", f"{APPS}/broken_import.py:5"),
        # The module imports but has no such app: AppImportError, gunicorn's APP_LOAD_ERROR.
        ("hello:nothing_here", "exit status 4 (APP_LOAD_ERROR)", "Failed to find attribute"),
    ],
)
def test_a_worker_that_cannot_load_the_app_is_explained(
    app: str, status: str, evidence: str, tmp_path: Path
) -> None:
    server = Server(
        Target(kind="app", app=app, chdir=str(APPS)), ServerConfig(2, 1, "sync"), log_dir=tmp_path
    )
    with pytest.raises(ServerError) as caught:
        server.start()
    message = str(caught.value)
    assert message.startswith(f"gunicorn for {app} (2×1 sync) stopped before it was ready, with ")
    assert status in message, message
    assert evidence in message, message
    assert message.endswith("and run again."), message
    assert caught.value.log_path == str(server.log_path)
    assert server.proc is not None and not psutil.pid_exists(server.proc.pid)


def test_a_server_without_a_log_dir_leaves_nothing_behind_unless_it_failed() -> None:
    target = Target(kind="app", app="hello:app", chdir=str(APPS))
    with Server(target, ServerConfig(1, 1, "sync")) as server:
        assert server.log_path is not None and server.log_path.exists()
        folder = server.log_path.parent
    assert not folder.exists()  # stopped cleanly: its own temporary folder went with it
    # An error that is not the server's (a load generator's refusal, a Ctrl-C) names no log
    # of it: the folder goes too.
    with pytest.raises(KeyboardInterrupt), Server(target, ServerConfig(1, 1, "sync")) as server:
        assert server.log_path is not None
        folder = server.log_path.parent
        raise KeyboardInterrupt
    assert not folder.exists()
    broken = Server(Target(kind="app", app="hello:nothing_here", chdir=str(APPS)),
                    ServerConfig(1, 1, "sync"))  # fmt: skip
    with pytest.raises(ServerError) as caught:
        broken.start()
    kept = caught.value.log_path
    assert kept is not None and Path(kept).is_file()  # the error names it: it stays
    Path(kept).unlink()
    Path(kept).parent.rmdir()


def test_a_server_is_ready_once_every_worker_has_booted() -> None:
    # Eight workers on one core boot one after another; the first answers long before the
    # last has imported the app. A run must not start until all of them are up.
    target = Target(kind="app", app="hello:app", chdir=str(APPS))
    with Server(target, ServerConfig(8, 1, "sync"), cpus=(0,)) as server:
        workers = psutil.Process(server.pid).children()
        assert len(workers) == 8
        assert all(w.status() != psutil.STATUS_RUNNING for w in workers)  # booted: waiting
