"""The workload a tune measured: its routes, their weights, and what was left out."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class WorkloadRoute:
    """One request of the load and where it came from: `source` is "router", "crawl",
    "given", "scenario" or "locustfile" (more as sources are added); `status` is what the
    pre-flight got (0: not checked), `via` the path that redirected here; `cpu_ms` and
    `wait_ms` come from the profile once it has run (None before)."""

    path: str
    source: str
    method: str = "GET"
    status: int = 0
    share: float = 0.0
    via: str = ""
    cpu_ms: float | None = None
    wait_ms: float | None = None
    seen: str = ""  # what an access log or HAR file shows it answered: "200 (91%), 304"


@dataclasses.dataclass(frozen=True)
class LeftOut:
    """A route or page kept out of the load, and why (`reason` groups them: "Django's admin",
    "401 Unauthorized — needs credentials", …)."""

    path: str
    reason: str
    source: str = ""
    status: int = 0


@dataclasses.dataclass(frozen=True)
class Workload:
    """What the load sends, checked at pre-flight, and what was left out; `notes` say what to
    give where the app needs more than anonymous GETs (a login)."""

    routes: tuple[WorkloadRoute, ...]
    left_out: tuple[LeftOut, ...] = ()
    notes: tuple[str, ...] = ()
    crawled: int = 0  # pages the crawl fetched
    preflight_s: float = 0.0
