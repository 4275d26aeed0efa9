"""tunicorn's plugin for Locust: the measured window, kept by each worker and merged by the master.

Locust loads this file beside the user's locustfile (`-f locustfile.py,tunicorn_locust.py`) in
the master and in every worker. tunicorn never imports it: importing Locust monkey-patches the
process for gevent. It needs nothing but Locust, so a worker on another machine gets it from
the master with `locust -f - --worker …`, together with the locustfile.

Why a plugin: headless Locust cannot reset its statistics after a warm-up, and a master hears
from its workers in 3-second deltas, too coarse to cut a window from. So the master tells the
workers when the window opens and closes; each worker logs the window's requests into a
`RequestStats` of its own (Locust's class, and Locust's `StatsEntry.extend` merges them on the
master, as it merges worker reports) and sends it back with its CPU time; the master writes the
merged figures as one JSON line to tunicorn's pipe, then quits, which stops the workers.

Secrets: the values of the headers, cookies and bodies the users send are collected as they go
and scrubbed, with query-string values, from everything this process writes (its logs, its
stdout and stderr, the figures it sends); names are kept.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import os
import re
import resource
import signal
import sys
import time
from collections import Counter
from typing import Any
from urllib.parse import parse_qsl

import gevent
import locust.stats
from locust import events
from locust.runners import MasterRunner, WorkerRunner
from locust.stats import RequestStats, StatsEntry

FD_ENV = "TUNICORN_LOCUST_FD"  # the master writes its JSON lines to this file descriptor
RESULT_WAIT_S = 15.0  # how long the master waits for the workers' windows after closing it
HELLO_WAIT_S = 10.0  # a worker with this plugin says so right after it connects (and its init)
TICK_LAG_S = 0.1
REDACTED = "<redacted>"
MAX_SECRETS = 512
MIN_SECRET = 4  # shorter values would blank out ordinary words
PLAIN_HEADERS = frozenset(
    (
        "host", "user-agent", "accept", "accept-encoding", "accept-language", "connection",
        "content-length", "content-type", "cache-control", "pragma",
    )
)  # fmt: skip
_QUERY_VALUE = re.compile(r"([?&;][^=&#\s'\"]+=)[^&#\s'\"]+")


def _bucket(ms: float) -> Any:
    """Three significant digits, as tunicorn's own histogram keeps: Locust's default rounds a
    2 ms response to a whole millisecond (it is documented as replaceable for this)."""
    if ms <= 0:
        return 0
    return round(ms, max(0, 2 - math.floor(math.log10(ms))))


if hasattr(locust.stats, "bucket_response_time"):  # Locust 2.41 and later
    locust.stats.bucket_response_time = _bucket  # type: ignore[assignment]


class Secrets:
    """Values seen on the wire that must not be written anywhere, and the scrubber."""

    def __init__(self) -> None:
        self.values: set[str] = set()
        self._ordered: list[str] = []

    def add(self, value: object) -> None:
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if not isinstance(value, str):
            return
        value = value.strip()
        if len(value) < MIN_SECRET or value in self.values or len(self.values) >= MAX_SECRETS:
            return
        self.values.add(value)
        self._ordered = sorted(self.values, key=len, reverse=True)

    def add_body(self, body: object) -> None:
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        if not isinstance(body, str) or not body:
            return
        self.add(body)
        if "=" in body:  # a form: each value on its own, as a log line would show it
            for _name, value in parse_qsl(body, keep_blank_values=False):
                self.add(value)
        if body[:1] in "{[":
            with contextlib.suppress(ValueError):
                self._add_json(json.loads(body))

    def _add_json(self, data: object) -> None:
        if isinstance(data, dict):
            for value in data.values():
                self._add_json(value)
        elif isinstance(data, list):
            for value in data:
                self._add_json(value)
        elif isinstance(data, str):
            self.add(data)

    def add_headers(self, headers: Any) -> None:
        try:
            items = list(headers.items())
        except AttributeError:
            return
        for name, value in items:
            if str(name).lower() in PLAIN_HEADERS:
                continue
            self.add(value)
            if str(name).lower() in ("cookie", "set-cookie"):
                for part in str(value).split(";"):
                    self.add(part.partition("=")[2])

    def seen(self, response: Any) -> None:
        """Collect what one request sent and what its response set as cookies."""
        request = getattr(response, "request", None)
        if request is not None:
            self.add_headers(getattr(request, "headers", None))
            self.add_body(getattr(request, "body", None))
        cookies = getattr(response, "cookies", None)
        if cookies is not None:
            try:
                for value in cookies.values():
                    self.add(value)
            except (AttributeError, TypeError):
                pass
        headers = getattr(response, "headers", None)
        if headers is not None:
            try:
                set_cookie = headers.get("Set-Cookie")
            except (AttributeError, TypeError):
                set_cookie = None
            if set_cookie:
                self.add_headers({"set-cookie": set_cookie})

    def scrub(self, text: str) -> str:
        for value in self._ordered:
            if value in text:
                text = text.replace(value, REDACTED)
        return _QUERY_VALUE.sub(r"\1" + REDACTED, text)


SECRETS = Secrets()


class _Scrubbed(io.TextIOBase):
    """stdout and stderr with every secret seen so far blanked out (Locust's log handlers are
    set up after this file is imported, so they write through it too)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(SECRETS.scrub(text))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def fileno(self) -> int:
        return int(self.stream.fileno())

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self.stream, "encoding", "utf-8"))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


sys.stdout = _Scrubbed(sys.stdout)
sys.stderr = _Scrubbed(sys.stderr)


def _cpu() -> float:
    """This process's CPU time, every thread (gevent's hub, zmq's I/O thread) included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _kind(response: Any, exception: BaseException | None) -> str:
    """The same kinds as tunicorn's built-in engine, plus "failure" for a check the user's code
    failed (catch_response and response.failure) on an answer that was not an HTTP error."""
    status = int(getattr(response, "status_code", 0) or 0)
    if status >= 500:
        return "http_5xx"
    if status >= 400:
        return "http_4xx"
    text = f"{type(exception).__name__} {exception}".lower()
    if "timeout" in text or "timed out" in text:
        return "timeout"
    if "refused" in text or "connecterror" in text or "name or service" in text:
        return "connect"
    if "reset" in text or "remotedisconnected" in text or "aborted" in text or "broken" in text:
        return "reset"
    if status:
        return "failure"
    if "connection" in text:
        return "connect"
    return "protocol" if "parse" in text or "protocol" in text else "failure"


def _percentiles(times: dict[Any, int], count: int) -> dict[str, float]:
    """Locust's own percentile over a response-times dict (what its reports print)."""
    at = locust.stats.calculate_response_time_percentile
    return {f"p{p}": float(at(times, count, p / 100)) for p in (50, 90, 95, 99)}


def _entry_figures(entry: StatsEntry) -> dict[str, Any]:
    ok = entry.num_requests - entry.num_none_requests
    return {
        "ok": entry.num_requests,
        **_percentiles(entry.response_times, ok),
        "max": float(entry.max_response_time or 0.0),
        "mean": round(entry.total_response_time / ok, 3) if ok else 0.0,
    }


class Worker:
    """Keeps the requests that end inside the window the master opened."""

    def __init__(self, environment: Any) -> None:
        self.env = environment
        self.runner: WorkerRunner = environment.runner
        self.measuring = False
        self.reset()
        self.ticker: Any = None
        self.runner.register_message("tunicorn_begin", self.begin)
        self.runner.register_message("tunicorn_end", self.end)
        environment.events.request.add_listener(self.on_request)
        # The master cannot tell a worker that loaded this file from one started with the
        # user's locustfile alone (whose users it could not measure) unless the worker says so.
        self.runner.send_message("tunicorn_hello", {"pid": os.getpid()})

    def reset(self) -> None:
        self.ok = RequestStats(use_response_times_cache=False)  # successful requests only
        self.failures: Counter[tuple[str, str]] = Counter()
        self.kinds: Counter[str] = Counter()
        self.status: Counter[str] = Counter()
        self.tick_ok = 0
        self.tick_errors = 0
        self.tick_times: Counter[float] = Counter()
        self.t0 = time.monotonic()
        self.cpu0 = _cpu()

    def on_request(
        self,
        request_type: str,
        name: str,
        response_time: float | None,
        response_length: int,
        response: Any = None,
        exception: BaseException | None = None,
        **_: Any,
    ) -> None:
        if response is not None:
            SECRETS.seen(response)
        if not self.measuring:
            return
        name = SECRETS.scrub(str(name))
        status = getattr(response, "status_code", None)
        if status:
            self.status[str(status)] += 1
        if exception is None:
            self.ok.log_request(request_type, name, response_time, response_length)  # type: ignore[arg-type]
            self.tick_ok += 1
            if response_time is not None:
                self.tick_times[_bucket(response_time)] += 1
        else:
            self.failures[(request_type, name)] += 1
            self.kinds[_kind(response, exception)] += 1
            self.tick_errors += 1

    def begin(self, environment: Any, msg: Any) -> None:
        self.reset()
        self.measuring = True
        tick_s = float(msg.data.get("tick_s", 1.0))
        if self.ticker is not None:
            self.ticker.kill(block=False)
        self.ticker = gevent.spawn(self._ticks, tick_s)

    def _ticks(self, tick_s: float) -> None:
        while self.measuring:
            gevent.sleep(tick_s)
            self._send_tick()

    def _send_tick(self) -> None:
        times = list(self.tick_times.items())
        data = {"ok": self.tick_ok, "errors": self.tick_errors, "times": times}
        self.tick_ok = self.tick_errors = 0
        self.tick_times = Counter()
        self.runner.send_message("tunicorn_tick", data)

    def end(self, environment: Any, msg: Any) -> None:
        if not self.measuring:
            return
        self.measuring = False
        if self.ticker is not None:
            self.ticker.kill(block=False)
        self._send_tick()
        self.runner.send_message(
            "tunicorn_result",
            {
                "entries": [e.serialize() for e in self.ok.entries.values()],
                "failures": [[m, n, c] for (m, n), c in self.failures.items()],
                "kinds": dict(self.kinds),
                "status": dict(self.status),
                "cpu_s": _cpu() - self.cpu0,
                "wall_s": time.monotonic() - self.t0,
                "users": self.runner.user_count,
            },
        )


class Master:
    """Opens the window after the warm-up, closes it after the duration, merges the workers'."""

    def __init__(self, environment: Any) -> None:
        self.env = environment
        self.runner: MasterRunner = environment.runner
        opts = environment.parsed_options
        self.warmup_s = float(opts.tunicorn_warmup)
        self.duration_s = float(opts.tunicorn_duration)
        self.tick_s = float(opts.tunicorn_tick)
        fd = int(os.environ.get(FD_ENV, "-1"))
        self.out = os.fdopen(fd, "w", buffering=1) if fd >= 0 else None
        self.started = False
        self.ending = False
        self.results: dict[str, dict[str, Any]] = {}
        self.hello: set[str] = set()
        self.foreign = False
        self.tick_ok = self.tick_errors = 0
        self.total_ok = self.total_errors = 0
        self.tick_times: Counter[float] = Counter()
        self.runner.register_message("tunicorn_tick", self.on_tick)
        self.runner.register_message("tunicorn_result", self.on_result)
        self.runner.register_message("tunicorn_hello", self.on_hello)
        environment.events.worker_connect.add_listener(self.on_worker)
        environment.events.spawning_complete.add_listener(self.on_spawned)
        gevent.signal_handler(signal.SIGUSR1, self.end_now)  # tunicorn's stop: end the window now
        # Locust's own tables name requests and quote errors that only the workers could scrub.
        logging.getLogger("locust.stats_logger").setLevel(logging.WARNING)

    def emit(self, event: str, **data: Any) -> None:
        if self.out is not None:
            self.out.write(SECRETS.scrub(json.dumps({"event": event, **data})) + "\n")

    def on_worker(self, client_id: str, **_: Any) -> None:
        self.emit("worker", connected=len(self.runner.clients))
        gevent.spawn(self.expect_hello, client_id)

    def on_hello(self, environment: Any, msg: Any) -> None:
        self.hello.add(msg.node_id)

    def expect_hello(self, client_id: str) -> None:
        """A worker that does not say hello runs the user's locustfile without this plugin: its
        users would run unmeasured, so the run ends here, and tunicorn says how to start it."""
        deadline = time.monotonic() + HELLO_WAIT_S
        while client_id not in self.hello and time.monotonic() < deadline:
            gevent.sleep(0.05)
        if client_id not in self.hello and not self.foreign:
            self.foreign = True
            self.emit("foreign", node=client_id, connected=len(self.runner.clients))
            self.runner.quit()

    def on_spawned(self, user_count: int, **_: Any) -> None:
        if not self.started:
            self.started = True
            gevent.spawn(self.window, user_count)

    def on_tick(self, environment: Any, msg: Any) -> None:
        self.tick_ok += int(msg.data["ok"])
        self.tick_errors += int(msg.data["errors"])
        for ms, count in msg.data["times"]:
            self.tick_times[float(ms)] += int(count)

    def on_result(self, environment: Any, msg: Any) -> None:
        self.results[msg.node_id] = msg.data

    def end_now(self) -> None:
        self.ending = True

    def _sleep_until(self, at: float) -> None:
        while not self.ending and time.monotonic() < at:
            gevent.sleep(min(0.05, max(0.0, at - time.monotonic())))

    def window(self, user_count: int) -> None:
        self.emit("spawned", users=user_count)
        self._sleep_until(time.monotonic() + self.warmup_s)
        workers = list(self.runner.clients.keys())
        deadline = time.monotonic() + HELLO_WAIT_S
        while not self.foreign and time.monotonic() < deadline and set(workers) - self.hello:
            gevent.sleep(0.05)
        if self.foreign or set(workers) - self.hello:
            if not self.foreign:
                self.foreign = True
                self.emit("foreign", node=sorted(set(workers) - self.hello)[0],
                          connected=len(workers))  # fmt: skip
                self.runner.quit()
            return
        cpu0 = _cpu()
        t0 = time.monotonic()
        self.runner.send_message("tunicorn_begin", {"tick_s": self.tick_s})
        self.emit("measuring", workers=len(workers))
        end = t0 + self.duration_s
        ticks = 1
        # Each tick a little after the workers' own, so that theirs have arrived.
        while not self.ending and t0 + ticks * self.tick_s + TICK_LAG_S < end:
            self._sleep_until(t0 + ticks * self.tick_s + TICK_LAG_S)
            self._emit_tick(ticks * self.tick_s)
            ticks += 1
        self._sleep_until(end)
        self.runner.send_message("tunicorn_end", {})
        wall = time.monotonic() - t0
        deadline = time.monotonic() + RESULT_WAIT_S
        while time.monotonic() < deadline and not all(w in self.results for w in workers):
            gevent.sleep(0.02)
        gevent.sleep(0.05)  # the workers' last ticks travel with their results
        self._emit_tick(wall)
        self.emit_result(wall, _cpu() - cpu0, workers)
        self.runner.quit()

    def _emit_tick(self, t: float) -> None:
        self.total_ok += self.tick_ok
        self.total_errors += self.tick_errors
        n = sum(self.tick_times.values())
        at = _percentiles(dict(self.tick_times), n) if n else {"p50": 0.0, "p95": 0.0}
        self.emit(
            "tick", t=round(t, 3), requests=self.total_ok + self.total_errors,
            errors=self.total_errors, p50_ms=at["p50"], p95_ms=at["p95"],
        )  # fmt: skip
        self.tick_ok = self.tick_errors = 0
        self.tick_times = Counter()

    def emit_result(self, wall: float, master_cpu: float, workers: list[str]) -> None:
        stats = RequestStats(use_response_times_cache=False)
        failures: Counter[tuple[str, str]] = Counter()
        kinds: Counter[str] = Counter()
        status: Counter[str] = Counter()
        cpu: list[float] = []
        users = 0
        for data in self.results.values():
            for raw in data["entries"]:
                part = StatsEntry.unserialize(raw, stats)
                stats.entries[(part.name, part.method)].extend(part)
                stats.total.extend(part)
            for method, name, count in data["failures"]:
                failures[(method, name)] += int(count)
            kinds.update(data["kinds"])
            status.update(data["status"])
            cpu.append(float(data["cpu_s"]))
            users += int(data["users"])
        endpoints = []
        keys = set(stats.entries.keys()) | {(n, m) for m, n in failures}
        for name, method in sorted(keys):
            entry = stats.entries[(name, method)]
            fails = failures.get((method, name), 0)
            endpoints.append(
                {"method": method, "name": name, "failures": fails, **_entry_figures(entry)}
            )
        total = _entry_figures(stats.total)
        self.emit(
            "result",
            version=locust.__version__,
            wall_s=wall,
            workers=len(self.results),
            expected=len(workers),
            users=users,
            total=total,
            failures=sum(failures.values()),
            kinds=dict(kinds),
            status=dict(status),
            times=[[ms, c] for ms, c in stats.total.response_times.items()],
            endpoints=endpoints,
            cpu_s=sum(cpu) + master_cpu,
            busy=max((c / wall for c in cpu), default=0.0) if wall > 0 else 0.0,
        )


def _arguments(parser: Any, **_: Any) -> None:
    parser.add_argument("--tunicorn-warmup", type=float, default=1.0, include_in_web_ui=False)
    parser.add_argument("--tunicorn-duration", type=float, default=10.0, include_in_web_ui=False)
    parser.add_argument("--tunicorn-tick", type=float, default=1.0, include_in_web_ui=False)


def _init(environment: Any, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        Master(environment)
    elif isinstance(runner, WorkerRunner):
        Worker(environment)


events.init_command_line_parser.add_listener(_arguments)  # type: ignore[no-untyped-call]
events.init.add_listener(_init)  # type: ignore[no-untyped-call]
