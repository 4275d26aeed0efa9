"""The recommendation says which packages it needs and which lines to add; `--emit DIR` writes
them into a copy of requirements.txt and a manifest that leads `check DIR` back to the project."""

from __future__ import annotations

import dataclasses
import io
import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/reportdata.py

import reportdata  # noqa: E402
from tunicorn.cli import cli  # noqa: E402
from tunicorn.deploy import emit, packages
from tunicorn.deploy.emit import folder as emitted  # noqa: E402
from tunicorn.errors import UsageError  # noqa: E402
from tunicorn.record import Recommendation, TuneResult, from_json, to_json  # noqa: E402
from tunicorn.report import terminal  # noqa: E402

APP = "from flask import Flask\napp = Flask(__name__)\n"
NEEDED = tuple(packages.pinned(n) for n in packages.for_worker_class("gevent"))


def gevent_result() -> TuneResult:
    result = reportdata.make_tune()
    assert result.recommendation is not None
    rec = dataclasses.replace(result.recommendation, workers=2, threads=1, worker_class="gevent")
    return emit.with_commands(dataclasses.replace(result, recommendation=rec))


def project(tmp_path: Path, requirements: str | None = "flask\ngunicorn\n") -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "app.py").write_text(APP)
    if requirements is not None:
        (root / "requirements.txt").write_text(requirements)
    return root


def rec_of(result: TuneResult) -> Recommendation:
    assert result.recommendation is not None
    return result.recommendation


def text(printer: object, record: object) -> str:
    out = io.StringIO()
    printer(record, Console(width=100, file=out, color_system=None))  # type: ignore[operator]
    return out.getvalue()


def test_the_recommendation_lists_its_packages_and_the_lines_to_add(tmp_path: Path) -> None:
    rec = rec_of(emit.with_packages(gevent_result(), project(tmp_path)))
    assert rec.requirements_file == "requirements.txt"
    assert rec.requirements_add == NEEDED
    by_name = {p.name: p for p in rec.packages}
    assert by_name["gunicorn"].listed == "gunicorn"
    assert by_name["gunicorn"].tested == packages.tested_version("gunicorn")
    assert by_name["gevent"].listed == "" and by_name["gevent"].line == NEEDED[0]


def test_without_a_project_every_package_is_a_line_to_add() -> None:
    rec = rec_of(emit.with_packages(gevent_result(), None))
    assert rec.requirements_file == ""
    assert rec.requirements_add == (packages.pinned(packages.GUNICORN), *NEEDED)


def test_the_packages_survive_the_json_round_trip(tmp_path: Path) -> None:
    result = emit.with_packages(gevent_result(), project(tmp_path))
    assert from_json(to_json(result), TuneResult) == result
    data = json.loads(to_json(result))["recommendation"]
    assert data["requirements_add"] == list(NEEDED)
    assert {"name", "why", "tested", "listed", "line"} == data["packages"][0].keys()


def test_the_terminal_says_which_lines_to_add(tmp_path: Path) -> None:
    rec = rec_of(emit.with_packages(gevent_result(), project(tmp_path)))
    out = text(terminal.print_packages, rec)
    assert "missing from requirements.txt" in out and "Add to requirements.txt" in out
    for line in NEEDED:
        assert f"  {line}\n" in out
    done = dataclasses.replace(rec, requirements_add=(), packages=rec.packages[:1])
    assert "Add to" not in text(terminal.print_packages, done)


def test_the_dockerfile_installs_from_requirements_txt_only_and_checks_it() -> None:
    docker = emit.render("dockerfile", emit.make_spec(2, 1, "gevent"))
    install = [line for line in docker.splitlines() if "pip install" in line]
    assert install == ["RUN pip install --no-cache-dir -r requirements.txt"]
    assert "for p in gunicorn gevent" in docker and "requirements.txt must list $p" in docker
    assert all(line in docker for line in NEEDED)
    assert docker.splitlines()[-1].startswith("CMD exec gunicorn ")
    plain = emit.render("dockerfile", emit.make_spec(2, 2))
    assert "for p in gunicorn;" in plain


def test_emit_writes_a_copy_of_requirements_with_the_lines(tmp_path: Path) -> None:
    root = project(tmp_path)
    deploy = tmp_path / "deploy"
    written, note = emitted.write(rec_of(emit.with_packages(gevent_result(), root)), deploy, root)
    assert {p.name for p in written} == {"gunicorn.conf.py", "startup.txt", "requirements.txt",
                                         emitted.MANIFEST}  # fmt: skip
    copy = (deploy / "requirements.txt").read_text()
    assert copy.startswith("flask\ngunicorn\n# Added by tunicorn")
    assert copy.endswith("".join(f"{line}\n" for line in NEEDED))
    assert (root / "requirements.txt").read_text() == "flask\ngunicorn\n"  # untouched
    assert "copy it over yours" in note
    assert emitted.project_of(deploy) == root.resolve()


def test_nothing_to_add_writes_no_requirements(tmp_path: Path) -> None:
    root = project(tmp_path, "flask\ngunicorn[gevent]\n")
    deploy = tmp_path / "deploy"
    written, note = emitted.write(rec_of(emit.with_packages(gevent_result(), root)), deploy, root)
    assert not (deploy / "requirements.txt").exists()
    assert "already installs every package" in note and len(written) == 3


def test_emitting_into_the_project_never_overwrites_its_requirements(tmp_path: Path) -> None:
    root = project(tmp_path)
    written, note = emitted.write(rec_of(emit.with_packages(gevent_result(), root)), root, root)
    assert (root / "requirements.txt").read_text() == "flask\ngunicorn\n"
    assert "does not rewrite your own file" in note and NEEDED[0] in note
    assert not (root / emitted.MANIFEST).exists()


def test_a_pyproject_project_is_told_where_to_add_them(tmp_path: Path) -> None:
    root = project(tmp_path, None)
    (root / "pyproject.toml").write_text('[project]\nname = "p"\ndependencies = ["flask"]\n')
    deploy = tmp_path / "deploy"
    _, note = emitted.write(rec_of(emit.with_packages(gevent_result(), root)), deploy, root)
    assert not (deploy / "requirements.txt").exists()
    assert "pyproject.toml" in note and NEEDED[0] in note


def test_the_manifest_finds_a_moved_pair_and_refuses_a_damaged_one(tmp_path: Path) -> None:
    root = project(tmp_path)
    deploy = root / "deploy"  # inside the project, as users often put it
    emitted.write(rec_of(emit.with_packages(gevent_result(), root)), deploy, root)
    moved = tmp_path / "moved"
    root.rename(moved)
    assert emitted.project_of(moved / "deploy") == moved.resolve()  # the relative path holds
    (moved / "deploy" / emitted.MANIFEST).write_text("{not json")
    with pytest.raises(UsageError, match="damaged"):
        emitted.project_of(moved / "deploy")
    assert emitted.project_of(moved) is None


def test_the_view_lays_the_emitted_files_over_the_project(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "startup.txt").write_text("gunicorn app:app\n")
    (root / "static").mkdir()
    deploy = root / "deploy"
    emitted.write(rec_of(emit.with_packages(gevent_result(), root)), deploy, root)
    with emitted.view(deploy, root) as view:
        names = {p.name for p in view.iterdir()}
        assert names == {"app.py", "static", "startup.txt", "gunicorn.conf.py",
                         "requirements.txt"}  # fmt: skip
        assert "--worker-class gevent" in (view / "startup.txt").read_text()
        assert NEEDED[0] in (view / "requirements.txt").read_text()
        assert (view / "static").is_dir()
    assert not view.exists()
    with emitted.view(root, None) as same:
        assert same == root


def test_check_reads_an_emitted_folder_as_deployed(tmp_path: Path) -> None:
    root = project(tmp_path)
    deploy = tmp_path / "deploy"
    rec = rec_of(emit.with_packages(gevent_result(), root))
    emitted.write(rec, deploy, root)
    ran = CliRunner().invoke(cli, ["check", str(deploy), "--json", "-"])
    data = json.loads(ran.stdout)
    assert data["path"] == str(deploy) and data["startup_source"] == "startup.txt"
    assert data["worker_class"] == "gevent" and data["module"] == "app:app"
    assert "package-missing" not in {f["code"] for f in data["findings"]}
    (deploy / "requirements.txt").unlink()  # the project's own file: gevent is missing
    ran = CliRunner().invoke(cli, ["check", str(deploy)])
    assert ran.exit_code == 1 and "package-missing" in ran.stdout
    assert "laid over the project" in ran.stderr
    alone = CliRunner().invoke(cli, ["check", str(tmp_path / "elsewhere"), "--app-dir",
                                     str(root)])  # fmt: skip
    assert isinstance(alone.exception, UsageError) and "not a folder" in str(alone.exception)


def test_tune_emit_writes_the_folder_and_names_the_next_step(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    result = reportdata.make_tune()
    monkeypatch.setattr("tunicorn.decide.tune.tune", lambda *a, **k: result)
    monkeypatch.setattr("tunicorn.cli.tune.check_import", lambda target: target)
    monkeypatch.setattr("tunicorn.run.workload.build", lambda *a, **k: reportdata.make_built())
    root = project(tmp_path)
    monkeypatch.chdir(root)
    ran = CliRunner().invoke(cli, ["tune", ".", "--path", "/", "--emit", str(tmp_path / "d")])
    assert ran.exit_code == 0, ran.output
    assert "Packages it needs" in ran.stdout
    assert f"tunicorn check {tmp_path / 'd'} --rehearse" in ran.stderr
    assert emitted.project_of(tmp_path / "d") == root.resolve()
