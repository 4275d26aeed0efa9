"""The workload options are checked and resolved once (run/given.py) for bench, tune and
profile: one source at a time, credentials with the built-in engine only, a login before the
rest. Pure logic: no server is started (bench's `requests` never pre-flights)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunicorn.errors import UsageError
from tunicorn.load import locust
from tunicorn.load.scenario import Request, clients
from tunicorn.run.given import Asked, requests


def _quiet(_: str) -> None:
    pass


def test_one_workload_source_at_a_time(tmp_path: Path) -> None:
    scenario = tmp_path / "s.toml"
    scenario.write_text('[[request]]\npath = "/a"\n')
    both = Asked(paths=(Request(path="/io"),), scenario=str(scenario))
    with pytest.raises(UsageError, match="Give one of --path, --scenario"):
        requests(both, say=_quiet)
    with pytest.raises(UsageError, match="--access-log and --har, not several"):
        requests(Asked(access_log="a.log", har="a.har"), say=_quiet)


def test_credentials_go_with_the_built_in_engine(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--header and --cookie go with the built-in engine"):
        requests(Asked(locustfile="l.py", cookie=("sid=1",)), say=_quiet)
    login = tmp_path / "login.toml"
    login.write_text('[[request]]\npath = "/login"\nmethod = "POST"\nonce = true\n')
    with pytest.raises(UsageError, match="Give one of --scenario and --locustfile"):
        requests(Asked(scenario=str(login), locustfile="l.py"), say=_quiet)


def test_a_login_scenario_goes_before_the_paths_with_the_credentials(tmp_path: Path) -> None:
    login = tmp_path / "login.toml"
    login.write_text('[[request]]\npath = "/login"\nmethod = "POST"\nonce = true\n')
    asked = Asked(paths=(Request(path="/io", weight=3),), scenario=str(login), header=("X-A: 1",))
    first, then = requests(asked, say=_quiet)
    assert (first.path, first.once) == ("/login", True)
    assert (then.path, then.weight, then.once) == ("/io", 3, False)
    assert dict(then.headers)["X-A"] == "1" and dict(first.headers)["X-A"] == "1"


def test_without_paths_the_default_is_loaded() -> None:
    assert [r.path for r in requests(Asked(), say=_quiet)] == ["/"]
    url_path = (Request(path="/health"),)
    assert [r.path for r in requests(Asked(), default=url_path, say=_quiet)] == ["/health"]


def test_an_open_loop_gets_clients_from_its_rate() -> None:
    assert clients(5, None) == 5 and clients(5, 100.0) == 5
    assert clients(None, None) == 8  # the declared closed-loop default
    assert clients(None, 10.0) == 64 and clients(None, 100.0) == 200


def test_locust_options_without_a_locustfile_are_refused() -> None:
    assert locust.options(None) is None
    with pytest.raises(UsageError, match="pass --locustfile FILE too"):
        locust.options(None, expect_workers=2)
