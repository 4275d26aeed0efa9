"""A route that blocks the event loop, told from one that awaits by Little's law on made-up
profile figures; and the thread pool that bounds plain def routes."""

from __future__ import annotations

import dataclasses

from tests.reportdata import flat_profile
from tunicorn.record import LadderStep, ProcessLimit, RouteProfile
from tunicorn.run import eventloop


def route(path: str, parallel_rps: float, wall_ms: float = 200.0, cpu_ms: float = 1.0,
          handler: str = "async") -> RouteProfile:  # fmt: skip
    return RouteProfile(
        method="GET", path=path, weight=1.0, wall_ms=wall_ms, cpu_ms=cpu_ms, requests=7,
        handler=handler, parallel_clients=8, parallel_rps=parallel_rps,
    )  # fmt: skip


def test_one_request_at_a_time_while_waiting_blocks_the_loop() -> None:
    blocked = route("/blocking", 5.0)  # 8 clients, 200 ms each: 5 req/s is one at a time
    awaits = route("/io", 40.0)  # 8 in service at once
    assert eventloop.in_service(blocked) == 1.0 and eventloop.in_service(awaits) == 8.0
    assert eventloop.blocks_loop(blocked) and not eventloop.blocks_loop(awaits)


def test_compute_and_fast_routes_are_not_called_blocking() -> None:
    assert not eventloop.blocks_loop(route("/cpu", 50.0, wall_ms=20.0, cpu_ms=19.0))
    assert not eventloop.blocks_loop(route("/", 900.0, wall_ms=1.0, cpu_ms=0.5))
    assert not eventloop.blocks_loop(dataclasses.replace(route("/x", 5.0), parallel_clients=0))


def test_the_warning_names_the_route_the_figures_and_the_fixes() -> None:
    prof = dataclasses.replace(
        flat_profile(1.0, 200.0), routes=(route("/blocking", 5.0), route("/io", 40.0)),
        interface="asgi",
    )  # fmt: skip
    (warning,) = eventloop.warnings(prof)
    assert warning.startswith("GET /blocking blocks the event loop")
    assert "5.0 req/s" in warning and "200 ms" in warning
    for fix in ("async client", "plain def route", "more workers"):
        assert fix in warning
    reasons = " ".join(eventloop.reasons(prof))
    assert "uvicorn_worker.UvicornWorker" in reasons and "GET /blocking blocks" in reasons


def test_the_thread_pool_binds_plain_def_routes() -> None:
    steps = (LadderStep(1, 5.0, 200.0, 0.01), LadderStep(64, 190.0, 330.0, 0.3),
             LadderStep(128, 195.0, 650.0, 0.3))  # fmt: skip
    limit = ProcessLimit("uvicorn", steps, limit=39.0, knee=64, bounded=True, cause="pool")
    prof = dataclasses.replace(
        flat_profile(1.0, 200.0), routes=(route("/sync", 40.0, handler="sync"),),
        interface="asgi", process=limit, thread_pool=40,
    )  # fmt: skip
    assert eventloop.pool_binds(prof)
    (warning,) = eventloop.warnings(prof)
    assert "anyio's thread pool, 40 threads per worker" in warning and "GET /sync" in warning
    async_only = dataclasses.replace(prof, routes=(route("/io", 40.0),))
    assert not eventloop.pool_binds(async_only)
