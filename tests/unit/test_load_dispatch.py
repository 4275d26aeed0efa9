"""`run_load` hands a spec to the engine it names, checked first; no network, no event loop."""

from __future__ import annotations

import dataclasses
import threading
import typing

import pytest

from tunicorn import load
from tunicorn.errors import UsageError
from tunicorn.load import engine as builtin
from tunicorn.load.interface import Engine, TickCallback
from tunicorn.load.scenario import LoadSpec
from tunicorn.record import ClientStats, Latency, LoadResult, Tick

SPEC = LoadSpec(url="http://127.0.0.1:9", duration_s=1.0)
RESULT = LoadResult(
    mode="closed", concurrency=8, rate=None, duration_s=1.0, requests=3, ok=3,
    errors_by_kind={}, latency_ms=Latency(), throughput_rps=3.0, client=ClientStats(),
)  # fmt: skip


@dataclasses.dataclass
class FakeEngine:
    """Records what the dispatcher did, in order."""

    calls: list[str] = dataclasses.field(default_factory=list)
    seen: list[tuple[LoadSpec, TickCallback | None, threading.Event | None]] = dataclasses.field(
        default_factory=list
    )

    def check(self, spec: LoadSpec) -> None:
        self.calls.append("check")
        if spec.concurrency > 100:
            raise UsageError("Too many clients for the fake: pass --concurrency 100 or less.")

    def run(
        self, spec: LoadSpec, on_tick: TickCallback | None, stop: threading.Event | None
    ) -> LoadResult:
        self.calls.append("run")
        self.seen.append((spec, on_tick, stop))
        return RESULT

    def engine(self) -> Engine:
        return Engine(name="builtin", run=self.run, check=self.check)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    fake = FakeEngine()
    monkeypatch.setattr(builtin, "ENGINE", fake.engine())
    return fake


def test_every_engine_name_has_an_engine_of_that_name() -> None:
    assert typing.get_args(load.EngineName) == load.ENGINES == ("builtin", "locust")
    for name in load.ENGINES:
        assert load.engine_for(name).name == name
    assert load.engine_for("builtin") is builtin.ENGINE


def test_a_spec_runs_on_the_builtin_engine_by_default() -> None:
    assert SPEC.engine == "builtin"


def test_run_load_checks_then_runs_the_named_engine(fake: FakeEngine) -> None:
    ticks: list[Tick] = []
    stop = threading.Event()
    assert load.run_load(SPEC, on_tick=ticks.append, stop=stop) is RESULT
    assert fake.calls == ["check", "run"]
    assert fake.seen == [(SPEC, ticks.append, stop)]
    load.run_load(SPEC)
    assert fake.seen[-1] == (SPEC, None, None)


def test_a_spec_the_engine_refuses_never_runs(fake: FakeEngine) -> None:
    with pytest.raises(UsageError, match="pass --concurrency"):
        load.run_load(dataclasses.replace(SPEC, concurrency=500))
    assert fake.calls == ["check"]


def test_an_unknown_engine_is_a_usage_error_that_names_the_known_ones(fake: FakeEngine) -> None:
    spec = dataclasses.replace(SPEC, engine="wrk")  # not an engine
    with pytest.raises(UsageError, match="Unknown load engine 'wrk': use one of builtin, locust"):
        load.run_load(spec)
    assert fake.calls == []


@pytest.mark.parametrize(
    "spec",
    [
        dataclasses.replace(SPEC, concurrency=0),
        dataclasses.replace(SPEC, rate=0.0),
        dataclasses.replace(SPEC, duration_s=-1.0),
        dataclasses.replace(SPEC, timeout_s=0.0),
        dataclasses.replace(SPEC, max_requests=0),
    ],
)
def test_the_builtin_engine_refuses_a_bad_spec_before_any_socket(spec: LoadSpec) -> None:
    with pytest.raises(UsageError, match=r": [a-z].*\.$"):  # says what to do, in one sentence
        load.run_load(spec)
