"""`check` errors when the startup command needs a package the build will not install."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunicorn.deploy import packages
from tunicorn.deploy.check import check, has_errors
from tunicorn.record import CheckResult, Finding

APP = "from flask import Flask\napp = Flask(__name__)\n"
GEVENT = packages.pinned(packages.for_worker_class("gevent")[0])


def folder(tmp_path: Path, **files: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "app.py").write_text(APP)
    for name, text in files.items():
        path = tmp_path / name.replace("__", ".")  # requirements__txt → requirements.txt
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def missing(result: CheckResult) -> list[Finding]:
    return [f for f in result.findings if f.code == "package-missing"]


def test_a_gevent_command_without_gevent_is_an_error_naming_the_line(tmp_path: Path) -> None:
    root = folder(tmp_path, requirements__txt="flask\ngunicorn\n",
                  startup__txt="gunicorn --workers 2 --worker-class gevent app:app")  # fmt: skip
    result = check(root)
    (found,) = missing(result)
    assert found.level == "error" and has_errors(result)
    assert "class uri 'gevent' invalid or not found" in found.message
    assert GEVENT in found.message and "requirements.txt" in found.message
    # What the tested gunicorn lists under its gevent extra is asked for too.
    for need in packages.for_worker_class("gevent"):
        assert packages.pinned(need) in found.message


@pytest.mark.parametrize(
    "requirements",
    ["flask\ngunicorn[gevent]\n",
     "flask\ngunicorn\n" + "".join(f"{packages.pinned(n)}\n"
                                    for n in packages.for_worker_class("gevent"))],
)  # fmt: skip
def test_gevent_listed_or_pulled_in_by_the_extra_is_fine(tmp_path: Path, requirements: str) -> None:
    root = folder(tmp_path, requirements__txt=requirements,
                  startup__txt="gunicorn -k gevent app:app")  # fmt: skip
    assert missing(check(root)) == []


def test_what_an_extra_lists_is_not_asked_of_another_gunicorn(tmp_path: Path) -> None:
    root = folder(tmp_path, requirements__txt="gevent\ngunicorn==19.0\n",
                  startup__txt="gunicorn -k gevent app:app")  # fmt: skip
    assert missing(check(root)) == []


def test_the_startup_setting_and_app_settings_are_read_too(tmp_path: Path) -> None:
    root = folder(tmp_path, requirements__txt="flask\n")
    result = check(root, startup="gunicorn -w 2 -k uvicorn_worker.UvicornWorker app:app")
    (found,) = missing(result)
    assert "uvicorn-worker==" in found.message and "uvicorn==" in found.message
    assert "No module named 'uvicorn_worker'" in found.message
    via_settings = check(root, settings={"appCommandLine": "gunicorn -k gevent app:app"})
    assert missing(via_settings)


def test_a_conf_file_worker_class_under_the_default_command(tmp_path: Path) -> None:
    root = folder(tmp_path, requirements__txt="flask\n",
                  gunicorn__conf__py='worker_class = "gevent"\n')  # fmt: skip
    result = check(root)
    assert result.startup_source == "default" and result.worker_class == "gevent"
    assert missing(result)


def test_another_server_needs_its_package(tmp_path: Path) -> None:
    root = folder(tmp_path, requirements__txt="flask\n", startup__txt="uvicorn app:app")
    (found,) = missing(check(root))
    assert "uvicorn==" in found.message and "not found" in found.message
    root2 = folder(tmp_path / "b", requirements__txt="uvicorn[standard]\n",
                   startup__txt="uvicorn app:app")  # fmt: skip
    assert missing(check(root2)) == []


def test_a_dockerfile_that_installs_it_itself_is_fine(tmp_path: Path) -> None:
    cmd = 'CMD ["gunicorn", "--bind=0.0.0.0:8000", "-k", "gevent", "app:app"]\n'
    own_line = folder(tmp_path / "a", requirements__txt="flask\n", Dockerfile=(
        "FROM python:3.12-slim\nCOPY . .\nRUN pip install -r requirements.txt \\\n"
        "    gunicorn gevent packaging\n" + cmd))  # fmt: skip
    assert missing(check(own_line)) == []
    without = folder(
        tmp_path / "b",
        requirements__txt="flask\ngunicorn\n",
        Dockerfile=("FROM python:3.12-slim\nCOPY . .\nRUN pip install -r requirements.txt\n" + cmd),
    )
    (found,) = missing(check(without))
    assert "Dockerfile" in found.message


def test_pyproject_dependencies_count_where_there_is_no_requirements_txt(tmp_path: Path) -> None:
    startup = "gunicorn -k gevent app:app"
    listed = folder(
        tmp_path / "a",
        startup__txt=startup,
        pyproject__toml=('[project]\nname = "a"\ndependencies = ["flask", "gunicorn[gevent]"]\n'),
    )
    result = check(listed)
    assert missing(result) == [] and "requirements-missing" not in {f.code for f in result.findings}
    bare = folder(
        tmp_path / "b",
        startup__txt=startup,
        pyproject__toml=('[project]\nname = "b"\ndependencies = ["flask"]\n'),
    )
    (found,) = missing(check(bare))
    assert "[project] dependencies in pyproject.toml" in found.message


def test_no_requirements_file_at_all_says_to_create_one(tmp_path: Path) -> None:
    root = folder(tmp_path, startup__txt="gunicorn -k gevent app:app")
    (found,) = missing(check(root))
    assert "create requirements.txt" in found.message


def test_setup_py_is_not_read_so_it_is_only_a_reminder(tmp_path: Path) -> None:
    root = folder(tmp_path, startup__txt="gunicorn -k gevent app:app",
                  setup__py="from setuptools import setup\nsetup()\n")  # fmt: skip
    result = check(root)
    assert missing(result) == []
    assert [f.level for f in result.findings if f.code == "package-unverified"] == ["info"]


def test_a_sync_command_needs_nothing_more(tmp_path: Path) -> None:
    root = folder(tmp_path, requirements__txt="flask\n",
                  startup__txt="gunicorn --workers 3 --threads 4 app:app")  # fmt: skip
    assert missing(check(root)) == []


def test_a_procfile_command_is_checked_too(tmp_path: Path) -> None:
    root = folder(tmp_path, requirements__txt="flask\ngunicorn\n",
                  Procfile="web: gunicorn --bind=0.0.0.0:$PORT -k gevent app:app\n")  # fmt: skip
    result = check(root)
    assert result.startup_source == "default"  # App Service itself ignores the Procfile
    (found,) = missing(result)
    assert found.message.startswith("The Procfile command runs --worker-class gevent")
    assert "hosts that run a Procfile" in found.message
    fine = folder(tmp_path / "b", requirements__txt="flask\ngunicorn\n",
                  Procfile="web: gunicorn --workers 3 app:app\n")  # fmt: skip
    assert missing(check(fine)) == []
