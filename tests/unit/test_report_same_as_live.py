"""`tunicorn report RUN.json` prints exactly what the live command printed for that run.

Each live command runs as a user runs it (CliRunner), with only its measuring stage replaced
by a fake that returns a fixture record; it saves the record with --json, and `report` reads
that file back. The two stdouts must be equal character for character, and the warnings the
printers send to stderr must come out of both.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/reportdata.py

import reportdata  # noqa: E402
from tunicorn.cli import cli, main  # noqa: E402
from tunicorn.deploy.emit import with_commands

CHECK_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "check"


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def returns(value: Any) -> Callable[..., Any]:
    def fake(*args: Any, **kwargs: Any) -> Any:
        return value

    return fake


TUNED = reportdata.make_tune()  # what the fake tune() returns, whatever the CLI passes


def live_then_report(live: list[str], json_path: Path) -> tuple[Result, Result]:
    ran = invoke(*live, "--json", str(json_path))
    assert json_path.is_file(), ran.output
    again = invoke("report", str(json_path))
    assert again.exit_code == 0, again.output
    return ran, again


def test_bench(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("tunicorn.cli.bench.measure", returns(reportdata.make_bench()))
    ran, again = live_then_report(["bench", "--demo", "--path", "/io"], tmp_path / "bench.json")
    assert ran.exit_code == 0, ran.output
    assert "req/s" in ran.stdout
    assert again.stdout == ran.stdout


def test_tune(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("tunicorn.decide.tune.tune", returns(TUNED))
    monkeypatch.setattr("tunicorn.run.workload.build", returns(reportdata.make_built()))
    ran, again = live_then_report(
        ["tune", "--demo", "--plan", "B1", "--path", "/io"], tmp_path / "tune.json"
    )
    assert ran.exit_code == 0, ran.output
    rec = with_commands(TUNED).recommendation  # the CLI has emit write the commands
    assert rec is not None and rec.startup_command and rec.startup_command in ran.stdout
    assert "◀ pick" in ran.stdout and "(mean of 2 runs)" in ran.stdout
    # The workload: shown before the load (stderr), and with the profile's CPU ms after it.
    assert "Workload (3 routes" in ran.stderr and "Workload (3 routes" in ran.stdout
    assert "CPU ms" in ran.stdout and "2 × a debug toolbar's endpoint" in ran.stdout
    assert again.stdout == ran.stdout


def test_tune_with_a_stall_check(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    stalled = reportdata.with_stall(TUNED)
    monkeypatch.setattr("tunicorn.decide.tune.tune", returns(stalled))
    ran, again = live_then_report(
        ["tune", "--demo", "--plan", "B1", "--path", "/io"], tmp_path / "tune.json"
    )
    assert ran.exit_code == 0, ran.output
    assert "Under a stalled upstream" in ran.stdout and "gives way" in ran.stdout
    assert again.stdout == ran.stdout


@pytest.mark.parametrize(
    "probe",
    [
        reportdata.make_probe(),
        reportdata.make_probe(slots=2, warnings=("8 requests at once: 1 timeout; stopped.",)),
    ],
    ids=["serial", "two-slots-with-a-warning"],
)
def test_probe(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, probe: Any) -> None:
    monkeypatch.setattr("tunicorn.cli.probe.probe", returns(probe))
    ran, again = live_then_report(["probe", "http://127.0.0.1:8000/io"], tmp_path / "probe.json")
    assert ran.exit_code == 0, ran.output
    assert probe.verdict in " ".join(ran.stdout.split())
    assert again.stdout == ran.stdout
    for warning in probe.warnings:
        assert warning in ran.stderr and warning in again.stderr
    # Before the printers moved into report.terminal, report printed only the verdict.
    assert "Next:" in again.stdout and "first round" in again.stdout


def test_profile(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("tunicorn.run.profile.profile", returns(reportdata.make_profile()))
    monkeypatch.setattr("tunicorn.run.workload.build", returns(reportdata.make_built()))
    ran, again = live_then_report(["profile", "--demo", "--path", "/io"], tmp_path / "prof.json")
    assert ran.exit_code == 0, ran.output
    assert again.stdout == ran.stdout


def test_check(tmp_path: Path) -> None:
    ran, again = live_then_report(
        ["check", str(CHECK_FIXTURES / "module_state"), "--plan", "B1"], tmp_path / "check.json"
    )
    assert "App Service will run" in ran.stdout
    assert again.stdout == ran.stdout


def test_recommend(tmp_path: Path) -> None:
    ran, again = live_then_report(["recommend", "--plan", "B1"], tmp_path / "rec.json")
    assert ran.exit_code == 0, ran.output
    assert "model only" in ran.stdout
    assert again.stdout == ran.stdout
    assert "Assumed" in ran.stderr and "Assumed" in again.stderr  # its warnings, on stderr


def test_html_is_refused_for_a_kind_without_a_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "rec.json"
    invoke("recommend", "--plan", "B1", "--json", str(path))
    with pytest.raises(SystemExit) as exit_info:
        main(["report", str(path), "--html", str(tmp_path / "rec.html")])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # refused before printing half a report
    assert captured.err.startswith("error:") and "--html" in captured.err
    assert not (tmp_path / "rec.html").exists()
