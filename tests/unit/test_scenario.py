"""TOML scenarios: the worked example in docs/workload.md reads as it says, and errors name the
bad line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tunicorn.errors import UsageError
from tunicorn.load.scenario import Request, load_scenario

WORKLOAD_PAGE = Path(__file__).resolve().parents[2] / "docs" / "workload.md"


def docs_example() -> str:
    text = WORKLOAD_PAGE.read_text(encoding="utf-8")
    found = re.search(r"```toml\n# scenario.toml\n(.*?)```", text, re.S)
    assert found, "docs/workload.md lost its worked scenario example"
    return found.group(1)


def test_the_docs_example_is_a_form_post_with_a_header(tmp_path: Path) -> None:
    path = tmp_path / "scenario.toml"
    path.write_text(docs_example())
    home, login = load_scenario(str(path))
    assert home == Request(path="/", weight=3.0)
    assert login.method == "POST" and login.path == "/login" and login.weight == 1.0
    assert dict(login.headers)["Content-Type"] == "application/x-www-form-urlencoded"
    assert "X-Api-Key" in dict(login.headers)
    assert login.body == b"username=alice&password=change-me"


BAD = [
    ('[[request]]\npath = "/"\n\n[[request]]\npath = "/b"\nweight = "x"\n', 6, "float"),
    ('[[request]]\npath = "/"\n\n[[request]]\nmethod = "POST"\npathh = "/b"\n', 6, "pathh"),
    ('[[request]]\npath = "/"\nheaders = { "X-Key" = 5 }\n', 3, "headers"),
    ('[[request]]\npath = "/"\n\n[[request]]\npath = "nope"\n', 4, "must start with /"),
    ('[[request]]\npath = "/"\nweight = 0\n', 1, "more than zero"),
    ('[[request]]\npath = "/"\nmethod = "GE T"\n', 1, "not an HTTP method"),
    ('[[request]]\npath = "/"\nbody = "x\n', 3, "not valid TOML"),
]


@pytest.mark.parametrize(("text", "line", "said"), BAD)
def test_an_error_points_at_its_line(tmp_path: Path, text: str, line: int, said: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(UsageError) as err:
        load_scenario(str(path))
    message = str(err.value)
    assert said in message
    assert f"line {line}" in message, message


def test_no_request_table_and_a_missing_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.toml"
    empty.write_text("# nothing\n")
    with pytest.raises(UsageError, match="at least one"):
        load_scenario(str(empty))
    with pytest.raises(UsageError, match="Cannot read scenario file"):
        load_scenario(str(tmp_path / "missing.toml"))
