"""The ASGI form of the seed's problem, in figures: a route that blocks the event loop.

One uvicorn worker runs one event loop. A route that awaits (an async client, asyncio.sleep)
lets the loop serve every other request meanwhile; an `async def` route that calls blocking
code (time.sleep, requests, a sync database driver) holds the loop for its whole wait, so
that worker serves one request at a time while its CPU looks idle: the seed's 1 × 1, per
worker. The profile shows it by Little's law: at one client a route takes R; with several
clients at once on the same worker, requests in service = throughput × R. An event loop that
is free keeps several in service; one that is blocked keeps about one.

Plain `def` routes are not blocked: FastAPI and Starlette run them in anyio's thread pool,
40 threads per worker by default, which then bounds that worker instead. Pure functions
of the profile's records, so the rule is tested on made-up figures.
"""

from __future__ import annotations

from tunicorn import model
from tunicorn.record import Profile, RouteProfile

PARALLEL_CLIENTS = 8  # requests at once on one worker, for each ASGI route
SERIAL_IN_SERVICE = 1.5  # fewer than this many requests in service at once: one at a time
MIN_WALL_MS = 5.0  # a route this fast is over before blocking could show
ANYIO_THREADS = 40  # anyio's default thread limiter: FastAPI/Starlette sync endpoints
POOL_BINDS = 0.6  # one worker serving over 60% of the pool's threads at once: the pool binds

FIXES = (
    "await an async client instead (httpx.AsyncClient, asyncio.sleep, an async driver such as "
    "asyncpg or aiomysql), or make it a plain def route, which the framework runs in its thread "
    "pool; more workers are only a stopgap: each still serves one such request at a time"
)


def in_service(route: RouteProfile) -> float:
    """Requests really in service at once with `parallel_clients` clients (Little's law)."""
    if route.parallel_rps <= 0 or route.wall_ms <= 0:
        return 0.0
    return model.concurrency(route.parallel_rps, route.wall_ms / 1000.0)


def blocks_loop(route: RouteProfile) -> bool:
    """Mostly waiting, yet served one at a time with several clients on one worker."""
    return (
        route.parallel_clients >= 2
        and route.parallel_rps > 0
        and route.wall_ms >= MIN_WALL_MS
        and route.wait_ms > route.cpu_ms
        and not route.errors
        and in_service(route) < SERIAL_IN_SERVICE
    )


def blocking_warning(route: RouteProfile) -> str:
    """The finding with its figures and its fixes, naming the route."""
    one_at_a_time = 1000.0 / route.wall_ms
    return (
        f"{route.method} {route.path} blocks the event loop: alone it takes {route.wall_ms:.0f} "
        f"ms ({route.cpu_ms:.1f} ms of it CPU), and with {route.parallel_clients} clients at "
        f"once one worker served {route.parallel_rps:.1f} req/s, one request at a time "
        f"({one_at_a_time:.1f} req/s; {in_service(route):.1f} in service), while its CPU "
        "idled. An async def route that calls blocking code (time.sleep, requests, a sync "
        f"database driver) holds the worker's loop while it waits. Fix: {FIXES}."
    )


def pool_binds(profile: Profile) -> bool:
    """Did one worker's thread pool bound it: plain def routes in the workload, and the
    ladder stopped at about the pool's size with the CPU not busy?"""
    found = profile.process
    return (
        profile.thread_pool > 0
        and any(r.handler == "sync" for r in profile.routes)
        and found is not None
        and found.bounded
        and found.cause == "pool"
        and found.limit >= POOL_BINDS * profile.thread_pool
    )


def pool_warning(profile: Profile) -> str:
    assert profile.process is not None
    sync = ", ".join(f"{r.method} {r.path}" for r in profile.routes if r.handler == "sync")
    return (
        f"One uvicorn worker served at most {profile.process.limit:.0f} requests at once: its "
        f"plain def routes ({sync}) run in anyio's thread pool, {profile.thread_pool} threads "
        "per worker by default, and the pool was full while the CPU was not. More workers "
        "raise the limit (each has its own pool); async def routes that await an async client "
        "do not use it."
    )


def warnings(profile: Profile) -> list[str]:
    """What an ASGI profile found that the user must fix, most serious first."""
    out = [blocking_warning(r) for r in profile.routes if blocks_loop(r)]
    if pool_binds(profile):
        out.append(pool_warning(profile))
    return out


def reasons(profile: Profile) -> list[str]:
    """Why the pick is a number of uvicorn workers, for the recommendation's reasons."""
    out = [
        "Worker class: uvicorn_worker.UvicornWorker (the uvicorn-worker package; "
        "uvicorn.workers is deprecated): each worker runs one event loop that serves every "
        "request that awaits, so only the number of workers is searched (threads do not apply)."
    ]
    blocked = [r for r in profile.routes if blocks_loop(r)]
    if blocked:
        names = ", ".join(f"{r.method} {r.path}" for r in blocked)
        out.append(
            f"{names} {'blocks' if len(blocked) == 1 else 'block'} the event loop, so each "
            "worker serves one such request at a time: the workers are the stopgap until it is "
            "fixed (see the warnings)."
        )
    if pool_binds(profile):
        out.append(
            f"Plain def routes are bounded by anyio's {profile.thread_pool}-thread pool per "
            "worker: more workers add pools."
        )
    return out
