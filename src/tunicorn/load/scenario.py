"""What the load engine sends: a weighted mix of requests against one base URL."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Request:
    """One kind of request in the mix; `weight` is its share of all requests sent."""

    path: str = "/"
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    weight: float = 1.0


@dataclasses.dataclass(frozen=True)
class LoadSpec:
    """How to load one server.

    Closed loop when `rate` is None: `concurrency` clients each send the next request as
    soon as the last one is answered. Open loop when `rate` is set: requests are due at a
    constant rate whatever the server does, and latency counts from the moment a request
    was due, so a stalled server cannot hide its queue (no coordinated omission);
    `concurrency` then caps the connections in flight.
    """

    url: str  # base URL, e.g. http://127.0.0.1:8000 (the requests' paths are appended)
    requests: tuple[Request, ...] = (Request(),)
    concurrency: int = 8
    rate: float | None = None
    duration_s: float = 10.0
    warmup_s: float = 1.0
    timeout_s: float = 30.0  # per request
    max_requests: int = 10_000_000  # hard bound on the count, whatever the duration
    keepalive: bool = True
    tick_s: float = 1.0

    @property
    def mode(self) -> str:
        return "closed" if self.rate is None else "open"
