"""The table of what a configuration needs where it is deployed, and its comparison with a
project's requirements: the lines to add are exactly the ones nothing else installs."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

from tunicorn.deploy import packages
from tunicorn.deploy.requirements import ProjectRequirements, parse_line, read_project


def project(*lines: str) -> ProjectRequirements:
    reqs = tuple(r for r in (parse_line(line) for line in lines) if r is not None)
    return ProjectRequirements("requirements.txt", reqs)


def names(needs: tuple[packages.Need, ...]) -> list[str]:
    return [n.name for n in needs]


def gunicorn_gevent_extra() -> list[str]:
    """What the installed gunicorn itself lists under its gevent extra."""
    declared = importlib.metadata.requires("gunicorn") or []
    found = [parse_line(r.split(";")[0]) for r in declared if 'extra == "gevent"' in r]
    return [r.name for r in found if r is not None]


@pytest.mark.parametrize("worker_class", ["sync", "gthread"])
def test_gunicorns_own_classes_need_nothing_more(worker_class: str) -> None:
    assert packages.for_worker_class(worker_class) == ()
    assert names(packages.for_server("gunicorn", worker_class)) == ["gunicorn"]


@pytest.mark.parametrize(
    "worker_class", ["gevent", "gevent_wsgi", "gunicorn.workers.ggevent.GeventWorker"]
)
def test_gevent_needs_gevent_and_what_gunicorns_gevent_extra_lists(worker_class: str) -> None:
    found = names(packages.for_worker_class(worker_class))
    assert found[0] == "gevent"
    assert set(found) == {"gevent", *gunicorn_gevent_extra()}
    assert len(found) == len(set(found))


@pytest.mark.parametrize(
    "worker_class",
    ["uvicorn_worker.UvicornWorker", "uvicorn_worker.UvicornH11Worker", "uvicorn",
     "uvicorn_worker.SomeFutureWorker"],
)  # fmt: skip
def test_the_uvicorn_worker_needs_uvicorn_worker_and_uvicorn(worker_class: str) -> None:
    assert names(packages.for_worker_class(worker_class)) == ["uvicorn-worker", "uvicorn"]


def test_the_deprecated_uvicorn_workers_need_uvicorn_and_say_so() -> None:
    (need,) = packages.for_worker_class("uvicorn.workers.UvicornWorker")
    assert need.name == "uvicorn" and "deprecated" in need.why


def test_an_unknown_class_asks_for_nothing() -> None:
    assert packages.for_worker_class("myproject.workers.Custom") == ()


@pytest.mark.parametrize(
    ("server", "package"),
    [("uvicorn", "uvicorn"), ("hypercorn", "hypercorn"), ("waitress-serve", "waitress"),
     ("daphne", "daphne"), ("uwsgi", "uwsgi")],
)  # fmt: skip
def test_other_servers_need_their_package(server: str, package: str) -> None:
    assert names(packages.for_server(server)) == [package]
    assert packages.for_server("flask run") == ()


def test_the_version_tested_is_the_one_installed_here() -> None:
    assert packages.tested_version("gunicorn") == importlib.metadata.version("gunicorn")
    assert packages.tested_version("tunicorn-no-such-package") == ""
    version = importlib.metadata.version("gunicorn")
    assert packages.pinned(packages.GUNICORN) == f"gunicorn=={version}"


def test_a_package_is_provided_by_its_line_or_by_one_that_pulls_it_in() -> None:
    gevent, *_ = packages.for_worker_class("gevent")
    worker, uvicorn = packages.for_worker_class("uvicorn_worker.UvicornWorker")
    assert packages.provider(gevent, project("GEVENT>=24")) == "GEVENT>=24"
    assert packages.provider(gevent, project("gunicorn[gevent]==27")) == "gunicorn[gevent]==27"
    assert packages.provider(gevent, project("gunicorn==27", "flask")) == ""
    assert packages.provider(uvicorn, project("uvicorn-worker")) == "uvicorn-worker"
    assert packages.provider(worker, project("uvicorn[standard]")) == ""


def test_resolve_gives_the_lines_to_add_pinned_to_the_version_tested() -> None:
    needs = packages.for_server("gunicorn", "gevent")
    found = packages.resolve(needs, project("flask", "gunicorn>=22"))
    by_name = {p.name: p for p in found}
    assert by_name["gunicorn"].listed == "gunicorn>=22"
    assert by_name["gevent"].listed == ""
    assert by_name["gevent"].line == f"gevent=={importlib.metadata.version('gevent')}"
    assert by_name["gevent"].tested == importlib.metadata.version("gevent")
    assert packages.to_add(found) == tuple(p.line for p in found if p.name != "gunicorn")


def test_without_a_project_every_package_is_to_add() -> None:
    found = packages.resolve(packages.for_server("gunicorn", "sync"), None)
    assert packages.to_add(found) == (packages.pinned(packages.GUNICORN),)


def test_what_an_extra_lists_holds_only_for_the_gunicorn_tested() -> None:
    extra = packages.Need("packaging", "packaging", "", ("gunicorn[gevent]",), extra_of="gevent")
    tested = importlib.metadata.version("gunicorn")
    assert packages.applies(extra, project("gunicorn"))
    assert packages.applies(extra, project(f"gunicorn=={tested}"))
    assert not packages.applies(extra, project("gunicorn==19.0"))
    assert not packages.applies(extra, project("flask"))  # App Service's image brings its own
    assert packages.applies(packages.GUNICORN, project("flask"))


def test_a_missing_module_names_the_distribution_that_provides_it() -> None:
    assert packages.for_module("uvicorn_worker") == (
        "uvicorn-worker", packages.tested_version("uvicorn-worker"))  # fmt: skip
    name, version = packages.for_module("werkzeug.serving")
    assert name.lower() == "werkzeug" and version == importlib.metadata.version("werkzeug")
    assert packages.for_module("tunicorn_no_such_module") == ("tunicorn-no-such-module", "")


def test_a_project_folder_compares_the_same_way(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("Flask\ngunicorn[gevent]\n")
    found = packages.resolve(packages.for_server("gunicorn", "gevent"), read_project(tmp_path))
    assert packages.to_add(found) == ()
