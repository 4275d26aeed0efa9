"""The app as the user wrote it, with a stalled upstream injected (`--stall`), in the worker.

gunicorn is started with `tunicorn.launch.stallwrap:wsgi('pkg.module:app')` (or `asgi(…)`) as its
app: gunicorn imports this module in each worker, calls the factory with the user's own app
spec, and serves what it returns, so the user's code is not edited. A request that carries
the header `X-Tunicorn-Stall: SECONDS` (the load engine marks its exact share of them) waits
that long before the app sees it; every other request goes straight through.

The wait is the kind a slow HTTP or database call makes, not CPU: `time.sleep` releases the
GIL (sync, gthread) and is gevent's own sleep under the gevent worker (which monkey-patches
`time` before the app is loaded); an ASGI app's wait is `await asyncio.sleep`, so the event
loop serves the others meanwhile, as it would with an async HTTP client.

Kept free of tunicorn's other modules: it runs inside the server's workers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

HEADER = "X-Tunicorn-Stall"
WSGI_KEY = "HTTP_X_TUNICORN_STALL"
_ASGI_KEY = HEADER.lower().encode("latin-1")
STALL_MAX_S = 600.0  # a header is obeyed up to this; the worker's own timeout bounds the rest

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
WsgiApp = Callable[..., Iterable[bytes]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def stall_seconds(value: str | bytes | None) -> float:
    """The wait a header value asks for; 0 for none or nonsense (a request is never refused)."""
    if not value:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        return 0.0
    return min(seconds, STALL_MAX_S) if seconds > 0 else 0.0


def _load(spec: str) -> Any:
    """The user's app as gunicorn itself loads it (module:name, or module:factory(args))."""
    from gunicorn.util import import_app

    return import_app(spec)


def wsgi_wrap(app: WsgiApp) -> WsgiApp:
    def stalled(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        seconds = stall_seconds(environ.get(WSGI_KEY))
        if seconds:
            time.sleep(seconds)  # gevent's sleep under the gevent worker: it yields
        return app(environ, start_response)

    return stalled


def asgi_wrap(app: AsgiApp) -> AsgiApp:
    async def stalled(scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") == "http":
            for name, value in scope.get("headers", ()):
                if name == _ASGI_KEY:
                    seconds = stall_seconds(value)
                    if seconds:
                        await asyncio.sleep(seconds)
                    break
        await app(scope, receive, send)

    return stalled


def wsgi(spec: str) -> WsgiApp:
    """gunicorn's factory for a WSGI app: the app named by `spec`, stalled on request."""
    return wsgi_wrap(_load(spec))


def asgi(spec: str) -> AsgiApp:
    """gunicorn's factory for an ASGI app (uvicorn's worker): the app, stalled on request."""
    return asgi_wrap(_load(spec))
