"""What a failed import says about an environment variable the app reads and nothing set."""

from __future__ import annotations

from pathlib import Path

from tunicorn.app.target import Target, _explain


def target(folder: Path) -> Target:
    return Target(kind="app", app="app:app", chdir=str(folder))


def test_a_variable_that_dotenv_sets_is_named_with_the_export_to_run(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DBNAME=app\nexport DBUSER=app_user\n", encoding="utf-8")
    hint = _explain("KeyError: 'DBUSER'", target(tmp_path))
    assert "DBUSER" in hint and ".env" in hint and "gunicorn does not load .env" in hint
    assert f"set -a; . {tmp_path / '.env'}; set +a" in hint


def test_a_variable_nothing_sets_is_named(tmp_path: Path) -> None:
    hint = _explain("KeyError: 'SECRET_KEY'", target(tmp_path))
    assert "SECRET_KEY" in hint and "is not set" in hint and ".env" not in hint


def test_a_key_error_on_a_dict_key_is_left_as_it_is(tmp_path: Path) -> None:
    hint = _explain("KeyError: 'user'", target(tmp_path))
    assert hint.startswith("KeyError: 'user'; fix the app")
