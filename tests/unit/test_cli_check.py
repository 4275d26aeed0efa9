"""`tunicorn check` as a user runs it: output, JSON keys, and exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tunicorn.cli import cli, main  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "check"


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["check", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def exit_code(args: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(["check", *args])
    return int(exc.value.code or 0)


def test_default_folder_prints_command_and_one_request_at_a_time() -> None:
    code, out = invoke(str(FIXTURES / "default_single"))
    assert code == 0
    assert "gunicorn app:app" in out
    assert "1 worker × 1 thread (sync): one request at a time." in out
    assert "single-worker-single-thread" in out


def test_json_keys_are_the_contract(tmp_path: Path) -> None:
    path = tmp_path / "check.json"
    code, _ = invoke(str(FIXTURES / "module_state"), "--json", str(path))
    assert code == 0
    data = json.loads(path.read_text())
    assert {"platform_command", "workers", "threads", "findings"} <= data.keys()
    assert data["kind"] == "check" and data["workers"] == 3
    assert {"level", "code", "message"} == data["findings"][0].keys()
    assert data["findings"][0]["level"] in ("error", "warning", "info")


def test_json_to_stdout_is_plain_json() -> None:
    code, out = invoke(str(FIXTURES / "clean"), "--json", "-")
    assert code == 0
    assert json.loads(out)["platform_command"].startswith("gunicorn ")


def test_settings_from_options_and_json(tmp_path: Path) -> None:
    settings = tmp_path / "settings.json"
    settings.write_text(
        json.dumps(
            [
                {
                    "name": "PYTHON_ENABLE_GUNICORN_MULTIWORKERS",
                    "value": "true",
                    "slotSetting": False,
                },
            ]
        )
    )
    code, out = invoke(
        str(FIXTURES / "default_single"),
        "--plan",
        "P1v3",
        "--settings-json",
        str(settings),
        "--setting",
        "PYTHON_GUNICORN_CUSTOM_THREAD_NUM=4",
        "--json",
        "-",
    )
    assert code == 0
    data = json.loads(out)
    assert (data["workers"], data["threads"], data["worker_class"]) == (5, 4, "gthread")


def test_error_finding_exits_1() -> None:
    code, out = invoke(str(FIXTURES / "debug_server"))
    assert code == 1
    assert "debug-server" in out
    assert exit_code([str(FIXTURES / "debug_server")]) == 1


def test_clean_folder_exits_0_through_main() -> None:
    assert exit_code([str(FIXTURES / "clean"), "--plan", "B1"]) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/nonexistent/tunicorn-check"], "does not exist"),
        ([str(FIXTURES / "clean" / "app.py")], "not a folder"),
        ([str(FIXTURES / "clean"), "--setting", "NOEQUALS"], "not KEY=VALUE"),
        ([str(FIXTURES / "clean"), "--settings-json", "/nonexistent/s.json"], "Cannot read"),
        ([str(FIXTURES / "clean"), "--plan", "Z9"], "Unknown plan"),
    ],
)
def test_bad_input_exits_2_with_one_sentence(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert exit_code(args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_settings_json_that_is_not_settings_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "s.json"
    bad.write_text("not json")
    assert exit_code([str(FIXTURES / "clean"), "--settings-json", str(bad)]) == 2
    assert "not app settings JSON" in capsys.readouterr().err
