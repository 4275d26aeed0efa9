"""The supervisor with real processes: groups stop whole, signals only ask, a wait that reads
no flag is interrupted all the same."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tunicorn import supervise
from tunicorn.supervise import Group, Interrupted

# A shell that ignores SIGTERM and leaves a grandchild in its group.
STUBBORN = ["sh", "-c", 'trap "" TERM; sleep 30 & echo $! > "$1"; wait', "sh"]


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _wait_for(path: Path) -> int:
    for _ in range(500):
        if path.exists() and path.read_text().strip():
            return int(path.read_text())
        time.sleep(0.01)
    raise AssertionError(f"{path} never written")


def test_a_group_that_ignores_sigterm_is_killed_with_its_children(tmp_path: Path) -> None:
    marker = tmp_path / "grandchild"
    group = Group([*STUBBORN, str(marker)], log_path=tmp_path / "log", grace_s=0.3).start()
    grandchild = _wait_for(marker)
    assert os.getpgid(group.pid) == group.pid != os.getpgid(0)  # its own session
    assert group in supervise.live()
    group.stop()
    assert group.proc is not None and group.proc.returncode == -signal.SIGKILL
    assert _gone(grandchild)
    assert group not in supervise.live()
    group.stop()  # twice is fine


def test_a_stop_left_to_its_own_thread_is_waited_for_by_settle(tmp_path: Path) -> None:
    """stop_later returns while the group still ends (it takes a second over its SIGTERM:
    stop_later did not wait for that), and settle() returns only once it is gone and
    unregistered; the main thread's signal hold is untouched by the stop's own."""
    ready, heard = tmp_path / "ready", tmp_path / "heard"
    slow = ["sh", "-c",
            'trap "echo $$ > \\"$2\\"; sleep 1; exit 0" TERM; echo $$ > "$1"; '
            "while :; do sleep 0.05; done", "sh", str(ready), str(heard)]  # fmt: skip
    group = Group(slow, log_path=tmp_path / "log", grace_s=5.0).start()
    _wait_for(ready)
    supervise.stop_later(group.stop)
    _wait_for(heard)  # the stop is under way on its thread, within its signal hold
    assert group.proc is not None and group.proc.poll() is None  # a second left to end
    assert supervise._held == 0  # that hold is its own thread's: the main one's is untouched
    supervise.settle()
    assert group.proc.returncode == 0 and group not in supervise.live()
    supervise.settle()  # nothing left: returns at once


def test_a_command_returns_only_once_the_stops_it_left_have_ended() -> None:
    """Every command runs inside handling_signals: a stop it left on its own thread (a
    profile's server) has finished by the time the command returns."""
    ended: list[bool] = []

    def slow_stop() -> None:
        time.sleep(0.3)
        ended.append(True)

    with supervise.handling_signals():
        supervise.stop_later(slow_stop)
        assert not ended
    assert ended == [True]


def test_a_child_started_while_signals_are_held_still_hears_sigterm(tmp_path: Path) -> None:
    with supervise.signals_held():
        group = Group(["sleep", "30"], log_path=tmp_path / "log").start()
    group.stop()
    assert group.proc is not None and group.proc.returncode == -signal.SIGTERM


def test_run_captures_and_a_timeout_stops_the_whole_group(tmp_path: Path) -> None:
    done = supervise.run(
        [sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr)"],
        timeout=30,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "out\n", "err\n")
    marker = tmp_path / "grandchild"
    with pytest.raises(subprocess.TimeoutExpired):
        # Long enough for the shell to start its grandchild on a busy machine (at 0.5 s it
        # once had not, beside a CI run), short enough to stay a unit test.
        supervise.run([*STUBBORN, str(marker)], timeout=2.0, grace_s=0.3)
    assert _gone(_wait_for(marker))


def test_sigterm_only_asks_and_the_loop_stops_at_its_checkpoint(tmp_path: Path) -> None:
    with supervise.handling_signals():
        supervise.checkpoint()  # nothing asked yet
        os.kill(os.getpid(), signal.SIGTERM)  # the handler runs here, and raises nothing
        assert supervise.SIG_QUEUE == [signal.SIGTERM]
        assert supervise.STOP.wait(5.0)  # the watcher set the flag the loops read
        with pytest.raises(Interrupted):
            supervise.checkpoint()
        with pytest.raises(Interrupted):  # nothing new starts once a stop was asked
            Group(["sleep", "30"], log_path=tmp_path / "log").start()
        assert not supervise.live()
    assert signal.getsignal(signal.SIGTERM) is not supervise._handler  # put back


def test_a_wait_that_reads_no_flag_is_interrupted_all_the_same() -> None:
    with pytest.raises(KeyboardInterrupt), supervise.handling_signals():  # noqa: PT012
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)  # reads no flag: the watcher interrupts it after NOTICE_S
        pytest.fail("not interrupted")


def test_a_second_signal_insists() -> None:
    with pytest.raises(KeyboardInterrupt), supervise.handling_signals():  # noqa: PT012
        os.kill(os.getpid(), signal.SIGINT)
        assert supervise.SIG_QUEUE == [signal.SIGINT]
        os.kill(os.getpid(), signal.SIGTERM)
        pytest.fail("the second signal did not interrupt")
