"""recommend and plans as a user runs them: CliRunner, and main() for the exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tunicorn.cli import cli, main
from tunicorn.errors import UsageError


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_recommend_plan_b1() -> None:
    code, stdout, stderr = run("recommend", "--plan", "b1")
    assert code == 0, stderr
    assert "model only — not measured; run tunicorn tune to measure" in stdout
    assert (
        "gunicorn --bind=0.0.0.0 --timeout 230 --workers 3 --threads 5 "
        "--worker-class gthread app:app" in stdout
    )
    assert "Assumed 60 MiB per worker" in stderr


def test_recommend_cpus_memory_and_json(tmp_path: Path) -> None:
    path = tmp_path / "rec.json"
    code, _, stderr = run(
        "recommend", "--cpus", "2", "--memory", "3.5GiB", "--io-wait-ratio", "0",
        "--worker-memory", "100MiB", "--app", "main:app", "--json", str(path),
    )  # fmt: skip
    assert code == 0, stderr
    data = json.loads(path.read_text())
    assert data["kind"] == "recommend" and data["measured"] is False
    rec = data["recommendation"]
    assert (rec["workers"], rec["threads"], rec["worker_class"]) == (5, 1, "sync")
    assert (
        rec["startup_command"]
        == "gunicorn --bind=0.0.0.0 --timeout 230 --workers 5 --threads 1 main:app"
    )
    assert data["constraints"] == {  # the plan alone: the model runs nothing on this machine
        "cpus": 2,
        "memory_mib": 3584.0,
        "memory_budget_mib": 3225.6,
        "plan": "",
        "cores": {"server": [], "client": [], "warning": ""},
        "cores_here": 0,
    }


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--cpus", "-1", "--memory", "1GiB"], "'-1' must be more than zero"),
        (["--cpus", "1", "--memory", "lots"], "'lots' is not a memory size"),
        (["--cpus", "1", "--memory", "1GiB", "--io-wait-ratio", "-2"], "must be zero or more"),
        (["--cpus", "two", "--memory", "1GiB"], "is not a whole number"),
    ],
)
def test_recommend_bad_option_values_exit_2(args: list[str], needle: str) -> None:
    code, stdout, stderr = run("recommend", *args)
    assert code == 2
    assert needle in stderr
    assert "Traceback" not in stdout + stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--plan", "Z9"], "Unknown plan 'Z9'"),
        ([], "Give --plan"),
        (["--plan", "B1", "--cpus", "2"], "not both"),
        (["--cpus", "1", "--memory", "80MiB"], "cannot hold one"),
    ],
)
def test_recommend_usage_errors(args: list[str], needle: str) -> None:
    result = CliRunner().invoke(cli, ["recommend", *args])
    assert isinstance(result.exception, UsageError)
    assert needle in str(result.exception)


@pytest.mark.parametrize(
    "args",
    [
        ["recommend", "--plan", "Z9"],
        ["recommend", "--cpus", "1", "--memory", "lots"],
        ["recommend", "--cpus", "-1", "--memory", "1GiB"],
        ["recommend", "--cpus", "1", "--memory", "1GiB", "--io-wait-ratio", "-0.1"],
        ["emit", "--workers", "2", "--threads", "3", "--worker-class", "gevent"],
    ],
)
def test_main_exits_2_with_one_sentence(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "rror" in err  # "error:" from main, or click's "Error:"


def test_main_exits_0_for_a_good_run(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["recommend", "--plan", "P1v3", "--io-wait-ratio", "2"])
    assert exit_info.value.code == 0
    assert "--workers 5 --threads 3" in capsys.readouterr().out


def test_plans_lists_the_catalog() -> None:
    code, stdout, _ = run("plans")
    assert code == 0
    for name in ("B1", "S3", "P0v3", "P1mv3"):
        assert name in stdout
    assert "1.75 GB" in stdout and "1792 MiB" in stdout
