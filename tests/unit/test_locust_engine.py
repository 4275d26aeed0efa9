"""The locust engine's pure parts: options, the bind address, the printed worker command, the
checks it makes before any process starts, and its figures read into the common record."""

from __future__ import annotations

import re
import sys

import pytest

from tunicorn.errors import UsageError
from tunicorn.load import LoadSpec, LocustOptions, engine_for, locust
from tunicorn.report.terminal import describe_load


def test_locust_is_never_imported_by_the_engine() -> None:
    engine_for("locust")
    assert "locust" not in sys.modules  # it patches a process for gevent: subprocesses only


@pytest.mark.parametrize(
    ("text", "bound"),
    [
        ("127.0.0.1:6000", ("127.0.0.1", 6000)),
        ("0.0.0.0", ("0.0.0.0", 5557)),
        (":7000", ("127.0.0.1", 7000)),
        ("[::1]:7001", ("::1", 7001)),
    ],
)
def test_parse_bind(text: str, bound: tuple[str, int]) -> None:
    assert locust.parse_bind(text) == bound


@pytest.mark.parametrize("text", ["host:port", "127.0.0.1:0", "127.0.0.1:70000"])
def test_a_bad_bind_is_one_sentence(text: str) -> None:
    with pytest.raises(UsageError, match=r"e\.g\. --master-bind 127\.0\.0\.1:5557\.$"):
        locust.parse_bind(text)


def test_options_default_to_local_workers_on_the_cores_left() -> None:
    assert locust.default_processes(1, available=4) == 3
    assert locust.default_processes(None, available=2) == 1
    assert locust.default_processes(8, available=2) == 1
    local = locust.options("lf.py", cpus=1)
    assert local.master_host == "127.0.0.1" and local.master_port == 0 and local.processes >= 1
    remote = locust.options("lf.py", expect_workers=3)
    assert (remote.processes, remote.expect_workers, remote.master_port) == (0, 3, 5557)
    assert remote.workers == 3


def test_the_worker_command_downloads_the_files_from_the_master() -> None:
    opts = LocustOptions("lf.py", processes=0, expect_workers=2, master_port=6000)
    assert locust.worker_command(opts) == (
        "locust -f - --worker --master-host 127.0.0.1 --master-port 6000"
    )


def spec(**kw: object) -> LoadSpec:
    opts = kw.pop("opts", LocustOptions("tests/apps/locust_hello.py"))
    return LoadSpec(url="http://127.0.0.1:9", duration_s=1.0, **kw).using(opts)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("bad", "said"),
    [
        (spec(rate=10.0), "pass --concurrency"),
        (spec(opts=LocustOptions("lf.py", processes=0)), "at least one worker"),
        (spec(opts=LocustOptions("lf.py", master_host="0.0.0.0")), "--allow-remote"),
        (spec(opts=LocustOptions("lf.py", expect_workers=1)), "--master-bind HOST:PORT"),
        (spec(opts=LocustOptions("missing.py")), "no such file"),
        (spec(opts=LocustOptions("README.md")), "not a .py file"),
    ],
)
def test_the_engine_refuses_before_any_process(bad: LoadSpec, said: str) -> None:
    with pytest.raises(UsageError, match=r"\.$") as err:
        engine_for("locust").check(bad)
    assert said in str(err.value)


def test_using_none_keeps_the_builtin_engine() -> None:
    plain = LoadSpec(url="http://127.0.0.1:9")
    assert plain.using(None) is plain
    assert spec().engine == "locust" and spec().locust is not None


def test_describe_load_names_the_users_and_workers() -> None:
    opts = LocustOptions("lf.py", processes=2, expect_workers=1, master_port=6000)
    text = describe_load(LoadSpec(url="", concurrency=20, duration_s=5).using(opts))
    assert "20 Locust users from lf.py on 2 local + 1 remote worker(s)" in text


def test_the_masters_figures_become_the_common_record() -> None:
    figures = {
        "ok": 90, "p50": 2.5, "p90": 4.0, "p95": 5.0, "p99": 9.0, "max": 12.3456, "mean": 3.0,
    }  # fmt: skip
    event = {
        "version": "2.47.0", "wall_s": 2.0, "workers": 2, "expected": 2, "users": 8,
        "total": figures,
        "failures": 10, "kinds": {"http_5xx": 6}, "status": {"200": 90, "500": 6},
        "times": [[2.5, 50], [5.0, 40]],
        "endpoints": [{"method": "GET", "name": "/", "failures": 10, **figures}],
        "cpu_s": 0.5, "busy": 0.95,
    }  # fmt: skip
    opts = LocustOptions("/x/lf.py", processes=2)
    result = locust._result(LoadSpec(url="", concurrency=8), opts, event, [])
    assert (result.requests, result.ok, result.errors) == (100, 90, 10)
    assert result.errors_by_kind == {"http_5xx": 6, "failure": 4}  # the rest failed a check
    assert result.throughput_rps == 45.0 and result.latency_ms.p95 == 5.0
    assert result.latency_ms.max == 12.346
    assert result.client.cpu_ms_per_request == 5.0 and result.client.saturated
    assert result.load.engine == "locust" and result.load.locustfile == "lf.py"
    assert result.load.endpoints[0].requests == 100 and result.load.workers == 2
    assert result.histogram


NOTHING = {
    "version": "2.47.0", "wall_s": 2.0, "workers": 0, "expected": 1, "users": 0,
    "total": {"ok": 0, "p50": 0, "p90": 0, "p95": 0, "p99": 0, "max": 0, "mean": 0},
    "failures": 0, "kinds": {}, "status": {}, "times": [], "endpoints": [], "cpu_s": 0.0,
    "busy": 0.0,
}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({}, "Only 0 of 1 Locust workers sent their measured window"),
        ({"workers": 2, "expected": 3, "users": 4}, "Only 2 of 3 Locust workers"),
        ({"workers": 1}, "The 1 Locust worker(s) ran no user in the measured window"),
    ],
)
def test_figures_with_no_measured_user_are_an_error_that_says_why(
    change: dict[str, object], said: str
) -> None:
    opts = LocustOptions("/x/lf.py", processes=1)
    with pytest.raises(UsageError, match=re.escape(said)):
        locust._result(LoadSpec(url="", concurrency=2), opts, {**NOTHING, **change}, [])
