"""The kept-alive closed loop opens its whole pool before it sends: driven by hand, no network.

A fake loop records what the engine schedules and never runs it; connections "connect" when
the test says so. Their sockets are None, so a send only counts (`_Conn.write` returns).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tunicorn.load.engine import _Engine, _Target
from tunicorn.load.scenario import LoadSpec


class FakeLoop:
    def __init__(self) -> None:
        self.soon: list[tuple[Callable[..., None], tuple[Any, ...]]] = []
        self.timers: list[tuple[float, Callable[..., None]]] = []

    def call_soon(self, fn: Callable[..., None], *args: Any) -> None:
        self.soon.append((fn, args))

    def call_at(self, when: float, fn: Callable[..., None], *args: Any) -> None:
        self.timers.append((when, fn))

    def call_later(self, delay: float, fn: Callable[..., None], *args: Any) -> None:
        self.timers.append((delay, fn))


def engine(**kw: Any) -> _Engine:
    spec = LoadSpec(url="http://127.0.0.1:9", duration_s=1.0, warmup_s=0.5, **kw)
    return _Engine(spec, _Target(spec), FakeLoop(), None, None)  # type: ignore[arg-type]


def connect_all(eng: _Engine, n: int | None = None) -> None:
    for conn in [c for c in eng.conns if c.connecting][:n]:
        conn.connecting = False
        eng.connecting -= 1
        eng.connected(conn)


def test_kept_alive_clients_send_only_once_every_connection_is_up() -> None:
    eng = engine(concurrency=4, keepalive=True)
    eng.open_pool(100.0)
    assert eng.pooling and len(eng.conns) == 4 and eng.issued == 4
    connect_all(eng, 3)
    assert all(c.sent == 0 for c in eng.conns)  # three up: nothing sent, no clock yet
    assert not eng.measuring
    connect_all(eng)
    assert not eng.pooling
    assert sorted(c.sent for c in eng.conns) == [1, 1, 1, 1]
    assert eng.t_measure > eng.t_begin >= 100.0  # the warm-up starts with the pool up


def test_a_pool_that_does_not_open_in_time_starts_with_what_is_up() -> None:
    eng = engine(concurrency=3, keepalive=True)
    eng.open_pool(100.0)
    connect_all(eng, 1)
    eng.start_late()
    assert not eng.pooling
    assert sorted(c.sent for c in eng.conns) == [0, 0, 1]
    connect_all(eng)  # the stragglers send as they connect
    assert [c.sent for c in eng.conns] == [1, 1, 1]


def test_new_connections_send_as_each_connects() -> None:
    eng = engine(concurrency=2, keepalive=False)
    eng.start(100.0)
    assert not eng.pooling
    connect_all(eng, 1)
    assert sorted(c.sent for c in eng.conns) == [0, 1]


def test_a_refused_connection_starts_the_run_instead_of_waiting_for_the_pool() -> None:
    eng = engine(concurrency=3, keepalive=True)
    eng.open_pool(100.0)
    connect_all(eng, 1)
    refused = next(c for c in eng.conns if c.connecting)
    eng.connect_error(refused)
    assert not eng.pooling
    assert sorted(c.sent for c in eng.conns) == [0, 1]  # the one up sends; the other waits
