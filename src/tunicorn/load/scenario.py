"""What the load engine sends: a weighted mix of requests against one base URL."""

from __future__ import annotations

import dataclasses
from typing import Literal, get_args

import msgspec

# Which engine drives a spec (`LoadSpec.engine`); `load.interface` maps each to its module.
EngineName = Literal["builtin", "locust"]
ENGINES: tuple[EngineName, ...] = get_args(EngineName)


@dataclasses.dataclass(frozen=True)
class Request:
    """One kind of request in the mix; `weight` is its share of all requests sent.

    A `once` request is setup, not load: each client sends it before its mix (a login), in
    file order, and it is not measured (`load.session`). `csrf_from` names the page whose
    form holds the CSRF token that the body's token field is filled from. `source` says
    where the request came from (the router, an access log, a HAR file…; "" when given).
    """

    path: str = "/"
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    weight: float = 1.0
    once: bool = False
    csrf_from: str = ""
    source: str = ""
    seen_status: str = ""  # what an access log or HAR shows it answered: "200 (91%), 304"


@dataclasses.dataclass(frozen=True)
class LocustOptions:
    """How the locust engine runs a locustfile: a master and its workers (`load.locust`).

    `processes` local workers are started by tunicorn; `expect_workers` more are started
    elsewhere with the command `load.locust.worker_command` prints, and the master waits up
    to `worker_wait_s` for all of them. The master binds to `master_host`, loopback unless
    `allow_remote` says the user agreed to expose it.
    """

    locustfile: str
    processes: int = 1
    expect_workers: int = 0
    master_host: str = "127.0.0.1"
    master_port: int = 0  # 0: a free port (only when no worker is started elsewhere)
    allow_remote: bool = False
    worker_wait_s: float = 60.0
    log_dir: str = ""  # where the master's and workers' logs are kept ("": only on failure)

    @property
    def workers(self) -> int:
        return self.processes + self.expect_workers


def clients(concurrency: int | None, rate: float | None) -> int:
    """How many clients a load runs: as given, else the declared closed-loop default, or for
    an open loop (`rate`) twice the rate, at least 64: enough connections in flight to keep
    the schedule through two seconds of latency, so a slow server is measured, not waited on."""
    from tunicorn import settings

    if concurrency:
        return concurrency
    return settings.CONCURRENCY.default if rate is None else max(64, int(rate * 2))


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
    engine: EngineName = "builtin"  # which engine drives it (`load.ENGINES`)
    locust: LocustOptions | None = None  # the locust engine's file and processes
    stall_share: float = 0.0  # this share of requests carries the stall header (--stall)
    stall_s: float = 0.0  # … asking the app's wrapper (`stallwrap`) to wait this long

    def using(self, locust: LocustOptions | None) -> LoadSpec:
        """This spec on the locust engine with `locust`, or as it is when that is None."""
        if locust is None:
            return self
        return dataclasses.replace(self, engine="locust", locust=locust)

    @property
    def mode(self) -> str:
        return "closed" if self.rate is None else "open"


class _Req(msgspec.Struct, forbid_unknown_fields=True):
    path: str
    method: str = "GET"
    headers: dict[str, str] = {}
    body: str = ""
    weight: float = 1.0
    once: bool = False
    csrf_from: str = ""


class _File(msgspec.Struct, forbid_unknown_fields=True):
    request: list[_Req]


def load_scenario(path: str) -> tuple[Request, ...]:
    """Read a TOML scenario file; a bad one raises UsageError naming the file and line.

    \b
        [[request]]
        path = "/io"
        weight = 3
        [[request]]
        method = "POST"
        path = "/orders"
        headers = { "Content-Type" = "application/json" }
        body = '{"item": 1}'
        [[request]]          # setup: each client logs in first, not measured
        once = true
        method = "POST"
        path = "/login"
        body = "username=alice&password=…&csrf_token="
        csrf_from = "/login"  # optional: the token field is found by its common names
    """
    import re
    import sys
    from pathlib import Path

    from tunicorn.errors import UsageError

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"Cannot read scenario file {path}: {exc.strerror}.") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}.") from None
    if "request" not in data:
        raise UsageError(f"{path} has no [[request]] table: add at least one.")
    try:
        parsed = msgspec.convert(data, type=_File)
    except msgspec.ValidationError as exc:
        message = str(exc)
        where = ""
        found = re.search(r"\$\.request\[(\d+)\](?:\.(\w+))?", message)
        if found:
            unknown = re.search(r"unknown field `([^`]+)`", message)
            key = found.group(2) or (unknown.group(1) if unknown else None)
            line = _line_of(text, int(found.group(1)), key)
            where = f" (line {line})" if line else ""
        raise UsageError(
            f"{path}{where}: {message}; each [[request]] takes path, method, headers, body, "
            "weight, once, csrf_from."
        ) from None
    out = []
    for i, req in enumerate(parsed.request):
        line = _line_of(text, i, None)
        at = f"{path} (line {line})" if line else path
        if not req.path.startswith("/"):
            raise UsageError(f"{at}: path {req.path!r} must start with /.")
        if not req.weight > 0:
            raise UsageError(f"{at}: weight {req.weight:g} must be more than zero.")
        method = req.method.upper()
        if not method.isalpha():
            raise UsageError(f"{at}: {req.method!r} is not an HTTP method.")
        if req.csrf_from and not req.csrf_from.startswith("/"):
            raise UsageError(f"{at}: csrf_from {req.csrf_from!r} must be a path (start with /).")
        if req.csrf_from and not req.once:
            raise UsageError(
                f"{at}: csrf_from works on a setup request: add once = true to this request."
            )
        out.append(
            Request(
                path=req.path, method=method, headers=tuple(req.headers.items()),
                body=req.body.encode(), weight=req.weight, once=req.once,
                csrf_from=req.csrf_from,
            )  # fmt: skip
        )
    if not out:
        raise UsageError(f"{path} has no [[request]] table: add at least one.")
    return tuple(out)


def _line_of(text: str, index: int, key: str | None) -> int:
    """The line of the index-th [[request]] table (or of `key` inside it), 1-based; 0 if unknown."""
    lines = text.splitlines()
    starts = [n for n, line in enumerate(lines) if line.strip().replace(" ", "") == "[[request]]"]
    if index >= len(starts):
        return 0
    start = starts[index]
    end = starts[index + 1] if index + 1 < len(starts) else len(lines)
    if key:
        for n in range(start, end):
            if lines[n].strip().startswith(key):
                return n + 1
    return start + 1


def with_credentials(
    requests: tuple[Request, ...], headers: tuple[str, ...] = (), cookies: tuple[str, ...] = ()
) -> tuple[Request, ...]:
    """Every request with the --header values (replacing a header of the same name) and the
    --cookie pairs (merged into its Cookie header, which makes each client a cookie jar that
    starts with them: `load.session`). A malformed one raises UsageError, without its value."""
    from tunicorn.errors import UsageError

    extra: list[tuple[str, str]] = []
    for n, item in enumerate(headers, 1):
        name, sep, value = item.partition(":")
        name = name.strip()
        if not sep or not name or not all(c.isalnum() or c in "-_" for c in name):
            raise UsageError(  # which one by its place: its text may be the secret
                f"--header number {n} is not 'Name: value': give it as e.g. "
                "--header 'Authorization: Bearer …'."
            )
        if name.lower() in ("host", "content-length", "connection", "transfer-encoding"):
            raise UsageError(f"--header {name}: the load engine sets {name} itself; leave it out.")
        extra.append((name, value.strip()))
    pairs: list[str] = []
    for n, item in enumerate(cookies, 1):
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name or any(c in name for c in " ;,\t"):
            raise UsageError(
                f"--cookie number {n} is not name=value: give it as e.g. --cookie session=…."
            )
        pairs.append(f"{name}={value.strip()}")
    if not extra and not pairs:
        return requests
    names = {n.lower() for n, _ in extra}
    out = []
    for req in requests:
        kept = [(n, v) for n, v in req.headers if n.lower() not in names]
        kept.extend(extra)
        if pairs:
            had = [v for n, v in kept if n.lower() == "cookie"]
            kept = [(n, v) for n, v in kept if n.lower() != "cookie"]
            kept.append(("Cookie", "; ".join(had + pairs)))
        out.append(dataclasses.replace(req, headers=tuple(kept)))
    return tuple(out)
