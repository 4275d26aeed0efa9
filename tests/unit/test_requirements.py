"""Requirements are read as pip and Oryx read them: names normalised, extras kept, includes
followed, and the file App Service's build installs from chosen in Oryx's order."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunicorn.deploy.requirements import (
    amend,
    normalize,
    parse_line,
    read_project,
    read_requirements_file,
)


@pytest.mark.parametrize(
    ("name", "normal"),
    [("Flask", "flask"), ("zope.interface", "zope-interface"), ("Uvicorn_Worker", "uvicorn-worker"),
     ("a--b__c..d", "a-b-c-d")],
)  # fmt: skip
def test_names_are_normalised_as_pep_503_says(name: str, normal: str) -> None:
    assert normalize(name) == normal


@pytest.mark.parametrize(
    ("line", "name", "extras"),
    [
        ("Flask>=2.3", "flask", set()),
        ("zope.interface==5.0", "zope-interface", set()),
        ("gunicorn[gevent]==23.0.0", "gunicorn", {"gevent"}),
        ("uvicorn[standard, Watch] ; python_version >= '3.8'", "uvicorn", {"standard", "watch"}),
        ("requests==2.31 --hash=sha256:abc", "requests", set()),
        ("gevent  # the worker class", "gevent", set()),
        ("mypkg @ https://example.com/mypkg-1.0.zip", "mypkg", set()),
        ("-e git+https://github.com/o/r.git#egg=My_Pkg", "my-pkg", set()),
        ("git+https://github.com/o/r.git@main#egg=worker[extra]", "worker", {"extra"}),
        ("https://host/gevent-26.9.0-cp311-cp311-manylinux_2_17_x86_64.whl", "gevent", set()),
        ("./wheels/Flask-3.1.0-py3-none-any.whl", "flask", set()),
        ("./dist/uvicorn_worker-0.4.0.tar.gz", "uvicorn-worker", set()),
        ("a", "a", set()),
    ],
)
def test_a_line_gives_its_name_and_extras(line: str, name: str, extras: set[str]) -> None:
    req = parse_line(line)
    assert req is not None
    assert (req.name, set(req.extras)) == (name, extras)
    assert req.line == line.strip()


@pytest.mark.parametrize(
    "line", ["", "   ", "# a comment", "--index-url https://example.com/simple", "-e .",
             "--find-links ./wheels", "./local-project-folder"],
)  # fmt: skip
def test_options_comments_and_unnamed_folders_are_not_requirements(line: str) -> None:
    assert parse_line(line) is None


def test_the_marker_is_kept() -> None:
    req = parse_line('gevent; sys_platform != "win32"')
    assert req is not None and req.marker == 'sys_platform != "win32"'


def test_includes_are_followed_and_constraints_are_not(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("Flask==3.1\n")
    (tmp_path / "pins.txt").write_text("gevent==1.0\n")
    (tmp_path / "requirements.txt").write_text(
        "-r base.txt\n--requirement=nested/more.txt\n-c pins.txt\n"
        "gunicorn \\\n  ==23.0.0\n-rmissing.txt\n"
    )
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "more.txt").write_text("-r ../base.txt\nuvicorn-worker\n")
    names = [r.name for r in read_requirements_file(tmp_path / "requirements.txt")]
    assert names == ["flask", "flask", "uvicorn-worker", "gunicorn"]


def test_an_include_loop_ends(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("-r requirements.txt\nflask\n")
    assert {r.name for r in read_requirements_file(tmp_path / "requirements.txt")} == {"flask"}


def test_requirements_txt_comes_first_as_in_oryx(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["gevent"]\n')
    (tmp_path / "requirements.txt").write_text("flask")
    project = read_project(tmp_path)
    assert project.source == "requirements.txt" and project.complete
    assert project.find("Flask") is not None and project.find("gevent") is None
    assert project.text == "flask"


def test_pyproject_dependencies_and_poetry_tables(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = ["Flask>=3", "gunicorn[gevent]"]\n'
        '[tool.poetry.dependencies]\npython = "^3.12"\nuvicorn = {version = "^0.30", '
        'extras = ["standard"]}\nredis = {version = "*", optional = true}\n'
    )
    project = read_project(tmp_path)
    assert project.source == "pyproject.toml" and project.complete
    assert project.find("gunicorn", "gevent") is not None
    assert project.find("uvicorn", "standard") is not None
    assert project.find("python") is None and project.find("redis") is None


def test_dynamic_dependencies_and_setup_py_cannot_be_read(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndynamic = ["dependencies"]\n')
    assert not read_project(tmp_path).complete
    (tmp_path / "setup.py").write_text("from setuptools import setup\nsetup()\n")
    setup = read_project(tmp_path)
    assert setup.source == "setup.py" and not setup.complete  # Oryx reads setup.py first


def test_a_broken_pyproject_is_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project\n")
    assert read_project(tmp_path).complete is False


def test_no_requirements_at_all(tmp_path: Path) -> None:
    project = read_project(tmp_path)
    assert project.source == "" and project.requirements == ()


def test_amend_adds_lines_and_keeps_the_users_text() -> None:
    added = amend("flask\n", ["gevent==1"], why="why")
    assert added == "flask\n# Added by tunicorn: why\ngevent==1\n"
    assert amend("flask", ["gevent==1"]) == "flask\ngevent==1\n"
    assert amend("", ["gevent==1"]) == "gevent==1\n"
    assert amend("flask\n", []) == "flask\n"
