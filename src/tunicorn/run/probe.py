"""Probe a running server: how many requests does it really handle at once?

A deployed app that "feels slow" often runs one gunicorn worker with one thread (App
Service's default), so one slow request makes everyone else wait while CPU and memory
graphs stay flat. Probing shows it from outside, with a few dozen requests.

Method: waves of k = 1, 2, 4, … requests, all started at the same instant, each on its own
fresh connection (so keep-alive cannot pile requests onto one gthread worker). A server
with S slots and service time T answers a wave in ceil(k / S) rounds of about T, so the
completion times cluster in steps of T: the size of the first cluster is S once k > S.
Little's law (busy slots = throughput × latency) is reported beside it as a cross-check:
a server that serialises keeps X·T at 1 however large the wave.

The stage is quiet: progress reaches the CLI through an optional callback per wave.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import socket
import statistics
import time
import urllib.parse
from collections.abc import Callable, Sequence

import httptools

from tunicorn import model
from tunicorn.app.target import is_loopback
from tunicorn.errors import TunicornError, UsageError
from tunicorn.record import Latency, ProbeResult, StackTest, Wave
from tunicorn.run import stacking
from tunicorn.run.waves import (
    FAST_MS,
    Inference,
    cap_waves,
    first_round,
    infer,
    next_step_text,
    plan_waves,
    server_hint,
    verdict_text,
)

__all__ = [
    "DEFAULT_MAX_CONCURRENCY",
    "FAST_MS",
    "Inference",
    "ProbeError",
    "REMOTE_BUDGET",
    "cap_waves",
    "first_round",
    "infer",
    "meets",
    "plan_waves",
    "probe",
    "server_hint",
]

DEFAULT_MAX_CONCURRENCY = 32
MAX_CONCURRENCY = 512  # file descriptors and the server's listen backlog stay well clear
REMOTE_BUDGET = 200  # requests in all to a host that is not loopback
MAX_WAVE_S = 60.0  # the next wave is skipped if it would take longer than this
REPEATS = 3  # extra looks at the largest wave on loopback when its first rounds disagree
SINGLES = 3  # lone requests whose median is the single-request latency
STACK_ROUNDS = 30  # fast pages: rounds of (one alone, then a wave of k)
STACK_PAUSE_S = 0.02  # between rounds on loopback; REMOTE_PAUSE_S elsewhere (gentle)
REMOTE_PAUSE_S = 0.1
STACK_MAX_S = 30.0  # the fast-page rounds stop here whatever they have

_now = time.monotonic


class ProbeError(TunicornError):
    """Nothing usable answered at the URL (exit 2: nothing was measured)."""


# -- the wave sender ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Answer:
    """One request of a wave: its outcome and when it ended, from the wave's start."""

    t_ms: float
    status: int = 0
    error: str = ""  # "", "refused", "connect", "timeout", "closed", "protocol"
    server: str = ""
    connect_ms: float = 0.0  # when its connection was open, from the wave's start


class _Reply:
    """httptools callbacks for one response."""

    def __init__(self) -> None:
        self.headers_done = False
        self.complete = False
        self.server = ""

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"server":
            self.server = value.decode("latin-1", "replace").strip()

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_message_complete(self) -> None:
        self.complete = True


@dataclasses.dataclass(frozen=True)
class _Where:
    family: int
    host: str
    port: int
    payload: bytes


async def _exchange(where: _Where, t0: float, timeout_s: float) -> _Answer:
    def elapsed() -> float:
        return (_now() - t0) * 1000

    try:
        return await asyncio.wait_for(_request(where, t0), timeout_s)
    except asyncio.TimeoutError:
        return _Answer(elapsed(), error="timeout")
    except ConnectionRefusedError:
        return _Answer(elapsed(), error="refused")
    except OSError:
        return _Answer(elapsed(), error="connect")


async def _request(where: _Where, t0: float) -> _Answer:
    reader, writer = await asyncio.open_connection(where.host, where.port, family=where.family)
    connect_ms = (_now() - t0) * 1000
    reply = _Reply()
    parser = httptools.HttpResponseParser(reply)
    try:
        writer.write(where.payload)
        while not reply.complete:
            try:
                data = await reader.read(65536)
            except OSError:
                data = b""
            if not data:
                break
            try:
                parser.feed_data(data)
            except httptools.HttpParserError:
                return _Answer((_now() - t0) * 1000, error="protocol")
        t_ms = (_now() - t0) * 1000
        if reply.complete or reply.headers_done:  # a body ended by close counts as complete
            return _Answer(
                t_ms, status=parser.get_status_code(), server=reply.server, connect_ms=connect_ms
            )
        return _Answer(t_ms, error="closed")
    finally:
        writer.close()


async def _wave(where: _Where, k: int, timeout_s: float) -> tuple[float, list[_Answer]]:
    t0 = _now()
    answers = await asyncio.gather(*(_exchange(where, t0, timeout_s) for _ in range(k)))
    return (_now() - t0) * 1000, list(answers)


def _payload(parts: urllib.parse.SplitResult, path: str) -> bytes:
    host = parts.netloc.rpartition("@")[2]
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}",
        "User-Agent: tunicorn-probe",
        "Accept: */*",
        "Connection: close",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _first_failure(url: str, answer: _Answer, timeout_s: float) -> ProbeError:
    if answer.error == "refused":
        return ProbeError(
            f"Nothing answers at {url}: is the server running, and on this host and port?"
        )
    if answer.error == "timeout":
        return ProbeError(
            f"{url} did not answer within {timeout_s:g} s: the server is stuck or busy; "
            "try again with a larger --timeout, or probe a quicker --path."
        )
    if answer.error == "protocol":
        return ProbeError(
            f"{url} answered with something that is not HTTP: is this the web server's port?"
        )
    if answer.error == "closed":
        return ProbeError(
            f"{url} accepted the connection but closed it without an HTTP answer: "
            "is this the web server's port?"
        )
    if answer.error:
        return ProbeError(f"Cannot connect to {url}: check the host and port.")
    if answer.status >= 500:
        return ProbeError(
            f"{url} answers {answer.status}: the endpoint fails, so there is nothing to "
            "measure; fix it, or probe a path that works with --path."
        )
    return ProbeError(
        f"{url} answers {answer.status}: probe a path that exists and answers 200 with --path."
    )


def _latency(times: Sequence[float]) -> Latency:
    if not times:
        return Latency()
    s = sorted(times)
    n = len(s)

    def pct(p: float) -> float:
        return round(s[min(n - 1, max(0, math.ceil(p * n) - 1))], 3)

    return Latency(
        p50=pct(0.50), p90=pct(0.90), p95=pct(0.95), p99=pct(0.99), max=round(s[-1], 3),
        mean=round(sum(s) / n, 3),
    )  # fmt: skip


def _make_wave(k: int, wall_ms: float, answers: Sequence[_Answer], single_ms: float) -> Wave:
    ok = [a.t_ms for a in answers if not a.error and a.status < 400]
    errors: dict[str, int] = {}
    for a in answers:
        kind = a.error or (f"http_{a.status // 100}xx" if a.status >= 400 else "")
        if kind:
            errors[kind] = errors.get(kind, 0) + 1
    throughput = len(ok) / (wall_ms / 1000) if wall_ms > 0 else 0.0
    return Wave(
        concurrency=k,
        wall_ms=round(wall_ms, 3),
        throughput_rps=round(throughput, 2),
        latency_ms=_latency(ok),
        completion_ms=tuple(round(t, 3) for t in sorted(ok)),
        first_round=first_round(ok, single_ms),
        busy_slots=round(model.concurrency(throughput, single_ms / 1000), 2),
        errors=errors,
    )


def probe(
    url: str,
    *,
    path: str | None = None,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    timeout_s: float = 30.0,
    more_slots_command: str = "",
    on_wave: Callable[[Wave], None] | None = None,
    expect: int | None = None,
    method: str = "auto",
) -> ProbeResult:
    """Send the waves to `url` and say how many requests it serves at once; with `expect`,
    whether that is at least `expect` (the waves then reach it).

    `method` "stacking" runs the fast-page test whatever one request takes ("auto": below
    FAST_MS). Raises ProbeError when the first request gets no usable answer.
    """
    if method not in ("auto", "stacking"):
        raise UsageError(f"Unknown probe method {method!r}: auto or stacking.")
    if not 1 <= max_concurrency <= MAX_CONCURRENCY:
        raise UsageError(f"--max-concurrency must be from 1 to {MAX_CONCURRENCY}.")
    if expect is not None:
        if not 1 <= expect <= MAX_CONCURRENCY:
            raise UsageError(
                f"--expect must be from 1 to {MAX_CONCURRENCY}: the requests at once the "
                "server must serve, e.g. --expect 2."
            )
        max_concurrency = max(max_concurrency, expect)
    if not timeout_s > 0:
        raise UsageError("--timeout must be more than zero seconds.")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise UsageError(f"{url!r} is not an http:// URL: give one like http://127.0.0.1:8000/.")
    req_path = path or parts.path or "/"
    if parts.query and not path:
        req_path += "?" + parts.query
    if not req_path.startswith("/"):
        raise UsageError(f"{req_path!r} is not a path: it must start with /, e.g. --path /io.")
    full_url = f"http://{parts.netloc}{req_path}"
    loopback = is_loopback(parts.hostname)
    budget = None if loopback else REMOTE_BUDGET
    port = parts.port or 80
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UsageError(f"Cannot resolve {parts.hostname!r}: {exc}.") from exc
    payload = _payload(parts, req_path)
    addrs = []
    for family, _t, _p, _n, sockaddr in infos:
        where = _Where(int(family), str(sockaddr[0]), int(sockaddr[1]), payload)
        if where not in addrs:
            addrs.append(where)

    loop = asyncio.new_event_loop()
    try:
        result = _run(
            loop, full_url, addrs, plan_waves(max_concurrency), budget, timeout_s,
            max_concurrency, more_slots_command, on_wave, expect, method == "stacking",
        )  # fmt: skip
    finally:
        loop.close()
    return dataclasses.replace(result, expect=expect, meets_expectation=meets(result, expect))


def meets(result: ProbeResult, expect: int | None) -> bool | None:
    """Whether the server served `expect` at once: None without --expect, or when the probe
    could not tell (too fast and undecided, or waves capped below `expect`)."""
    found = result.effective_concurrency
    if expect == 1:
        return True  # it answered (else ProbeError): one at a time is one at once
    if expect is None or found is None:
        return None
    if found >= expect:
        return True
    return None if result.at_least else False


def _run(
    loop: asyncio.AbstractEventLoop,
    url: str,
    addrs: Sequence[_Where],
    sizes: tuple[int, ...],
    budget: int | None,
    timeout_s: float,
    max_concurrency: int,
    more_slots_command: str,
    on_wave: Callable[[Wave], None] | None,
    expect: int | None = None,
    stack: bool = False,
) -> ProbeResult:
    started = _now()
    # Warm-up: finds the address that answers and pays the app's first-request costs.
    answer = _Answer(0.0, error="refused")
    where = addrs[0]
    for where in addrs:
        _, (answer,) = loop.run_until_complete(_wave(where, 1, timeout_s))
        if answer.error not in ("refused", "connect"):
            break
    if answer.error or answer.status >= 400:
        raise _first_failure(url, answer, timeout_s)
    server = answer.server
    sent = 1
    warnings: list[str] = []
    planned = cap_waves(sizes, budget, reserved=sent + SINGLES - 1)
    waves: list[Wave] = []
    single_ms = 0.0
    for k in planned:
        if waves and (single_ms < FAST_MS or stack):
            break  # too fast to read rounds: more waves would only add load
        if waves and not _worth_next(waves, k, single_ms):
            break
        wall_ms, answers = loop.run_until_complete(_wave(where, k, timeout_s))
        sent += k
        if k == 1:
            if answers[0].error or answers[0].status >= 400:
                raise _first_failure(url, answers[0], timeout_s)
            # One request's latency decides the method (rounds or stacking): the median of
            # SINGLES, so one request delayed by a busy machine does not decide it.
            alone = [answers[0].t_ms]
            for _ in range(SINGLES - 1):
                _, (lone,) = loop.run_until_complete(_wave(where, 1, timeout_s))
                sent += 1
                if not lone.error and lone.status < 400:
                    alone.append(lone.t_ms)
            single_ms = statistics.median(alone)
        wave = _make_wave(k, wall_ms, answers, single_ms)
        server = server or next((a.server for a in answers if a.server), "")
        waves.append(wave)
        if on_wave is not None:
            on_wave(wave)
        if wave.errors:
            kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(wave.errors.items()))
            warnings.append(f"{k} requests at once: {kinds}; the probe stopped there.")
            break
    # The largest wave again while its first rounds disagree: each look can only undercount.
    repeats = REPEATS if budget is None else 1
    while waves and not waves[-1].errors and single_ms >= FAST_MS and not stack and repeats > 0:
        k = waves[-1].concurrency
        inf = _infer_waves(waves, single_ms)
        if inf.consistent or inf.at_least or (budget is not None and sent + k > budget):
            break
        repeats -= 1
        wall_ms, answers = loop.run_until_complete(_wave(where, k, timeout_s))
        sent += k
        again = _make_wave(k, wall_ms, answers, single_ms)
        waves.append(again)
        if on_wave is not None:
            on_wave(again)
        if again.errors:
            break
    inf = _infer_waves(waves, single_ms)
    method, test, sureness = "rounds", None, ""
    k = max(2, expect or 2)
    fast = single_ms < FAST_MS or stack
    if waves and not waves[-1].errors and fast and (expect or 2) >= 2:
        room = STACK_ROUNDS if budget is None else min(STACK_ROUNDS, (budget - sent) // (k + 1))
        pause = STACK_PAUSE_S if budget is None else REMOTE_PAUSE_S
        rounds, spent, failed = _stack_rounds(loop, where, k, room, pause, timeout_s)
        sent += spent
        if failed:
            warnings.append(f"Fast-page rounds of {k} at once: {failed}; the probe stopped there.")
        test = stacking.stack_test(rounds, k)
        method = "stacking"
        if rounds:
            single_ms = statistics.median(r.single_ms for r in rounds)
        if test is not None:
            sureness = stacking.sureness(test)
            if test.confidence != "low":
                inf = Inference(test.slots, test.together, test.confidence, True)
        elif room < stacking.MIN_ROUNDS:
            warnings.append(
                f"Too few requests were left in the budget of {budget} for the fast-page rounds."
            )
    elif inf.effective is not None:
        sureness = _rounds_sureness(inf, waves)
    if budget is not None and len(planned) < len(sizes):
        warnings.append(
            f"Waves above {planned[-1] if planned else 0} were skipped: the probe sends at most "
            f"{budget} requests to a host that is not this machine."
        )
    return ProbeResult(
        url=url,
        effective_concurrency=inf.effective,
        serial=inf.effective == 1,
        server=server,
        single_latency_ms=round(single_ms, 3),
        verdict=(
            stack_verdict(inf, test, single_ms)
            if test is not None
            else verdict_text(inf, single_ms, waves[-1].concurrency if waves else max_concurrency)
        ),  # fmt: skip
        at_least=inf.at_least,
        confidence=inf.confidence,
        hint=server_hint(server),
        next_step=next_step_text(inf, server, more_slots_command),
        waves=tuple(waves),
        requests=sent,
        loopback=budget is None,
        max_concurrency=max_concurrency,
        elapsed_s=round(_now() - started, 3),
        warnings=tuple(warnings),
        method=method,
        stacking=test,
        sureness=sureness,
    )


def _rounds_sureness(inf: Inference, waves: Sequence[Wave]) -> str:
    """How sure a slow-page answer is: how many waves said it, and whether they agreed."""
    saturated = [w for w in waves if w.concurrency > (inf.effective or 0)]
    if inf.at_least:
        return f"every one of {len(waves)} waves was answered in one round"
    agree = sum(1 for w in saturated if w.first_round == inf.effective)
    return (
        f"{agree} of {len(saturated)} waves larger than the answer had exactly "
        f"{inf.effective} in their first round (noise can only lower that count)"
    )


def _stack_rounds(
    loop: asyncio.AbstractEventLoop,
    where: _Where,
    k: int,
    rounds: int,
    pause_s: float,
    timeout_s: float,
) -> tuple[list[stacking.Round], int, str]:
    """Rounds of one request alone then a wave of k: (rounds, requests sent, what failed)."""
    out: list[stacking.Round] = []
    sent = 0
    deadline = _now() + STACK_MAX_S
    for _ in range(rounds):
        if _now() > deadline:
            break
        _, (alone,) = loop.run_until_complete(_wave(where, 1, timeout_s))
        _, answers = loop.run_until_complete(_wave(where, k, timeout_s))
        sent += 1 + k
        bad = [a for a in (alone, *answers) if a.error or a.status >= 400]
        if bad:
            kind = bad[0].error or f"HTTP {bad[0].status}"
            return out, sent, f"{len(bad)} failed ({kind})"
        out.append(
            stacking.Round(
                alone.t_ms,
                alone.connect_ms,
                tuple(a.t_ms for a in answers),
                tuple(a.connect_ms for a in answers),
            )  # fmt: skip
        )
        time.sleep(pause_s)
    return out, sent, ""


def stack_verdict(inf: Inference, test: StackTest, single_ms: float) -> str:
    """The verdict on a fast page, from the stacking test, with what it cannot tell apart."""
    t = single_ms
    if inf.effective is None:
        return (
            f"no firm answer — a request takes {t:.1f} ms and the {test.rounds} rounds of "
            f"{test.k} at once disagree; probe a slower path with --path (one that waits on a "
            "database or an API)."
        )
    if test.together:
        return (
            f"at least {test.k} — on this fast page ({t:.1f} ms a request), waves of "
            f"{test.k} were answered together."
        )
    if test.slots == 1:
        return (
            f"1 — requests to this fast page ({t:.1f} ms a request) stack one after another: "
            "the server serves one at a time, or the page's time is all CPU on one free core; "
            "a page that waits (--path) tells the two apart."
        )
    return (
        f"{test.slots} — waves of {test.k} to this fast page ({t:.1f} ms a request) "
        f"stacked as if served {test.slots} at a time."
    )


def _infer_waves(waves: Sequence[Wave], single_ms: float) -> Inference:
    return infer([(w.concurrency, w.completion_ms) for w in waves], single_ms)


def _worth_next(waves: Sequence[Wave], k: int, single_ms: float) -> bool:
    """Stop once two saturated waves agree, or when the next would take too long."""
    inf = _infer_waves(waves, single_ms)
    # Agreement counts only from a wave four times the answer: gthread's uneven share of a
    # burst can make two small waves agree on too few slots.
    largest = max(w.concurrency for w in waves)
    if inf.consistent and not inf.at_least and largest >= 4 * (inf.effective or 0):
        return False
    slots = max(1, inf.effective or 1)
    expected_s = math.ceil(k / slots) * single_ms / 1000
    return expected_s <= MAX_WAVE_S
