"""The load engine: HTTP/1.1 on non-blocking sockets under a small epoll loop, parsed by httptools.

Why not streams, aiohttp or even asyncio's transports: the generator must stay far lighter
than the server it measures, or on a small machine it measures itself. Here a keep-alive
request costs one `send` of prebuilt bytes, one `recv_into` a reused buffer, one C parse and a
few Python calls (`load.loop` says why asyncio's loop was too heavy); there is no future, task
or timer per request (one periodic housekeeper handles timeouts, ticks and the end of the run).

Closed loop: each of `concurrency` connections sends its next request as soon as the last
one is answered, reconnecting transparently when the server closes. With kept-alive
connections the closed loop presents them as a pooling front end (or wrk) does: all of them
are opened up front, and the run (its warm-up, then its window) starts once the pool is up,
so the window holds no connect storm and each worker serves the connections it accepted
while idle; one the server closes (a sync worker closes every one, gthread after its
keep-alive timeout) is opened again at once. Open loop: requests
fall due at `t0 + i / rate`, go out on an idle connection (or a new one, up to
`concurrency`), else wait in a queue; latency counts from the due time.
"""

from __future__ import annotations

import collections
import errno
import gc
import math
import socket
import threading
import time
from collections.abc import Callable

from tunicorn.errors import UsageError
from tunicorn.load.conn import _Conn
from tunicorn.load.interface import Engine
from tunicorn.load.loop import IN, OUT, Loop
from tunicorn.load.scenario import LoadSpec
from tunicorn.load.session import Sessions
from tunicorn.load.session import start as session_start
from tunicorn.load.window import Window
from tunicorn.load.wire import (
    _Target,
    new_histogram,
    weighted_cycle,
)
from tunicorn.record import LoadResult, Tick
from tunicorn.supervise import stopping

__all__ = ["ENGINE", "ERROR_KINDS", "new_histogram", "run_load", "weighted_cycle"]

ERROR_KINDS = ("connect", "timeout", "reset", "http_4xx", "http_5xx", "protocol")


LATE_S = 0.010  # an open-loop request sent later than this after its due time is late
POOL_WAIT_S = 5.0  # kept-alive closed loop: the most the pool may take to open before the run
BACKOFF_S = (0.010, 0.050)  # after a failed connect, so a dead server is no busy loop
HOUSEKEEP_S = 0.05
READ_BUFFER = 64 * 1024
IDEMPOTENT = (b"GET ", b"PUT ", b"DELETE ", b"OPTIONS ")  # safe to resend on a stale connection

_now = time.monotonic  # the event loop's clock too, so call_at and latencies agree


class _Engine(Window):
    def __init__(
        self,
        spec: LoadSpec,
        target: _Target,
        loop: Loop,
        on_tick: Callable[[Tick], None] | None,
        stop: threading.Event | None,
        sessions: Sessions | None = None,
    ) -> None:
        self.spec = spec
        self.sessions = sessions  # clients with cookie jars (`load.session`), or None
        self.loop = loop
        self.on_tick = on_tick
        self.stop_event = stop
        self.addrs = target.addrs
        self.addr_i = 0
        self.sequence = target.sequence
        self.stalls = target.stalls  # parallel to `sequence`: which requests stall
        self.seq_len = len(target.sequence)
        self.seq_i = 0
        self.keepalive = spec.keepalive
        self.open_loop = spec.rate is not None
        self.cap = max(1, spec.concurrency)
        self.max_requests = spec.max_requests
        self.timeout = spec.timeout_s

        self.buffer = memoryview(bytearray(READ_BUFFER))  # every connection reads into it
        self.running = True
        self.measuring = False
        self.conns: set[_Conn] = set()
        self.idle: list[_Conn] = []  # open loop: LIFO, so hot connections are reused
        self.queue: collections.deque[float] = collections.deque()  # open loop: due times
        self.connecting = 0
        self.backoff_until = 0.0
        self.issued = 0
        self.finished = 0
        self.pooling = False  # kept-alive closed loop: opening the pool, nothing sent yet
        self.pooled: list[_Conn] = []  # connected while the pool opens

        # Measured window only.
        self.latencies: list[float] = []  # seconds, this tick; flushed into the histogram
        self.ok = 0
        self.errors = dict.fromkeys(ERROR_KINDS, 0)
        self.status: collections.Counter[int] = collections.Counter()
        self.sent_measured = 0
        self.late = 0
        self.hist = new_histogram()
        self.latency_sum_us = 0  # of the values recorded into `hist`
        self.by_us: collections.Counter[int] = collections.Counter()  # not yet in `hist`
        self.timeline: list[Tick] = []
        # --stall: the stalled requests, counted apart (few: their latencies are kept raw).
        self.stalled_ok = 0
        self.stalled_errors = dict.fromkeys(ERROR_KINDS, 0)
        self.stalled_latencies: list[float] = []

        self.t_begin = 0.0
        self.t_measure = 0.0
        self.t_end = 0.0
        self.t_stopped = 0.0
        self.cpu_begin = 0.0
        self.cpu_end = 0.0
        self.next_tick = 0.0
        self.next_sweep = 0.0
        self.sweep_every = max(HOUSEKEEP_S, min(1.0, self.timeout / 10))
        self.callback_error: Exception | None = None

    # -- request flow ---------------------------------------------------------------

    def send(self, conn: _Conn, start: float) -> None:
        i = self.seq_i
        payload = self.sequence[i]
        conn.stalled = self.stalls[i]
        i += 1
        self.seq_i = 0 if i == self.seq_len else i
        if self.sessions is not None:
            payload = conn.client.payload(payload)  # type: ignore[attr-defined]
        # Written out, not through resend: this runs once per request, resend once per retry.
        conn.payload = payload
        conn.start = start
        conn.busy = True
        conn.sent += 1
        conn.retried = False
        conn.got_bytes = False
        conn.write(payload)

    def resend(self, conn: _Conn, start: float, payload: bytes) -> None:
        """Write `payload` again on a fresh connection, timed from the first attempt's `start`
        (the failed attempt's time counts)."""
        conn.payload = payload
        conn.start = start
        conn.busy = True
        conn.sent += 1
        conn.retried = True
        conn.got_bytes = False
        conn.write(payload)

    def connected(self, conn: _Conn) -> None:
        if conn.closing:  # timed out while connecting: already counted
            conn.close()
        elif not self.running:
            self.drop(conn)
        elif conn.payload:  # a request that a stale keep-alive connection lost
            self.resend(conn, conn.start, conn.payload)
        elif self.open_loop:
            self.next_open(conn)
        elif self.pooling:  # the pool is still opening: hold the request until it is up
            self.pooled.append(conn)
            if len(self.pooled) >= min(self.cap, self.max_requests):
                self.start(_now())
        else:  # closed loop: this client's request was issued when it asked to connect
            self.send(conn, conn.start)

    def next_closed(self, conn: _Conn, now: float) -> None:
        if self.running and self.issued < self.max_requests:
            self.issued += 1
            self.send(conn, now)
        else:
            conn.busy = False
            self.drop(conn)

    def next_open(self, conn: _Conn) -> None:
        if self.queue:
            due = self.queue.popleft()
            now = _now()
            if due >= self.t_measure:
                self.sent_measured += 1
                if now - due > LATE_S:
                    self.late += 1
            self.send(conn, due)
        else:
            conn.busy = False
            self.idle.append(conn)

    def answered(self, conn: _Conn, status: int, keep: bool) -> None:
        now = _now()
        if not conn.busy:  # an answer nobody asked for
            self.drop(conn)
            return
        conn.busy = False
        conn.payload = b""
        self.finished += 1
        if self.measuring:
            self.status[status] += 1
            if conn.stalled:
                self.stalled_answer(status, now - conn.start)
            elif status < 400:
                self.ok += 1
                self.latencies.append(now - conn.start)
            elif status < 500:
                self.errors["http_4xx"] += 1
            else:
                self.errors["http_5xx"] += 1
        if self.finished >= self.issued and self.issued >= self.max_requests:
            self.finish()
        if not (keep and self.keepalive) or not self.running:
            self.drop(conn)
            self.replace(now)
        elif self.open_loop:
            self.next_open(conn)
        else:
            self.next_closed(conn, now)

    def failed(self, conn: _Conn, kind: str) -> None:
        """The request on `conn` failed: count it, drop the connection, carry on."""
        if conn.busy:
            conn.busy = False
            conn.payload = b""
            self.error(kind, conn.stalled)
        conn.closing = True
        self.conns.discard(conn)
        conn.close()
        self.replace(_now())

    def lost(self, conn: _Conn) -> None:
        self.conns.discard(conn)
        if conn.closing:
            return
        conn.closing = True
        if conn in self.idle:
            self.idle.remove(conn)
        if self.pooling and conn in self.pooled:
            self.pooled.remove(conn)
        if not self.running:
            return
        if (
            conn.busy
            and conn.sent > 1
            and not conn.got_bytes
            and not conn.retried
            and conn.payload.startswith(IDEMPOTENT)
        ):
            # The server closed an idle keep-alive connection as we reused it: send again.
            self.open_conn(conn.start, conn.payload, pending=True, stalled=conn.stalled)
            return
        if conn.busy:
            conn.busy = False
            self.error("reset", conn.stalled)
        self.replace(_now())

    def error(self, kind: str, stalled: bool = False) -> None:
        self.finished += 1
        if self.measuring:
            (self.stalled_errors if stalled else self.errors)[kind] += 1
        if self.finished >= self.issued and self.issued >= self.max_requests:
            self.finish()

    def drop(self, conn: _Conn) -> None:
        conn.closing = True
        self.conns.discard(conn)
        conn.close()

    def replace(self, now: float) -> None:
        """A connection went away: open another if the load still needs one."""
        if not self.running:
            return
        if self.open_loop:
            self.fill()
        else:
            self.request_closed(now)

    def request_closed(self, now: float) -> None:
        """Closed loop: a client issues its next request on a new connection."""
        if self.running and self.issued < self.max_requests:
            self.issued += 1
            self.open_conn(now, b"", pending=True)

    # -- connections -------------------------------------------------------------------

    def open_conn(
        self, start: float, payload: bytes, *, pending: bool = False, stalled: bool = False
    ) -> None:
        conn = _Conn(self) if self.sessions is None else self.sessions.conn(self)
        conn.start = start
        conn.payload = payload
        conn.stalled = stalled
        conn.busy = pending or bool(payload)
        conn.connecting = True
        self.conns.add(conn)
        self.connecting += 1
        self.loop.call_soon(self.connect, conn)  # never inside a batch of events (`load.loop`)

    def connect(self, conn: _Conn) -> None:
        if conn.closing or not conn.connecting:  # dropped before its turn (a timeout, the end)
            return
        family, host, port = self.addrs[self.addr_i]
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError:
            self.connect_error(conn)
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sock, conn.fd = sock, sock.fileno()
        code = sock.connect_ex((host, port))
        if code not in (0, errno.EINPROGRESS):
            self.connect_error(conn)
            return
        self.loop.add(sock, OUT, conn.ready)  # writable once connected (or failed)

    def connect_done(self, conn: _Conn) -> None:
        code = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)  # type: ignore[union-attr]
        if code:
            self.connect_error(conn)
            return
        conn.connecting = False
        self.connecting -= 1
        self.loop.modify(conn.fd, IN)
        self.connected(conn)

    def connect_error(self, conn: _Conn) -> None:
        conn.close()
        self.conns.discard(conn)
        if conn.closing:  # timed out while connecting: already counted
            return
        conn.closing = True
        if len(self.addrs) > 1:  # e.g. localhost → ::1 while the server is on 127.0.0.1
            self.addr_i = (self.addr_i + 1) % len(self.addrs)
        self.connect_failed(conn)

    def connect_failed(self, conn: _Conn) -> None:
        if not self.running:
            return
        if self.pooling:  # the pool cannot fill: run now, and let the failures count
            self.start(_now())
        span = BACKOFF_S[1] - BACKOFF_S[0]
        delay = BACKOFF_S[0] + span * ((self.finished * 7919) % 97) / 97
        if self.open_loop:
            # Nothing is listening: every request waiting for a connection fails now.
            now = _now()
            failed = len(self.queue)
            if conn.payload:
                self.error("connect", conn.stalled)
            # They were attempted in time: the server failed them, not the generator.
            self.sent_measured += sum(1 for due in self.queue if due >= self.t_measure)
            self.queue.clear()
            for _ in range(failed):
                self.error("connect")
            self.backoff_until = now + delay
            self.loop.call_later(delay, self.fill)
        else:
            self.error("connect", conn.stalled)
            self.loop.call_later(delay, lambda: self.request_closed(_now()))

    def fill(self) -> None:
        """Open loop: open connections for queued requests, up to the cap."""
        if not self.running or _now() < self.backoff_until:
            return
        want = len(self.queue) - self.connecting
        room = self.cap - len(self.conns)
        for _ in range(min(want, room)):
            self.open_conn(0.0, b"")

    # -- open-loop schedule ---------------------------------------------------------------

    def due(self, t0: float, interval: float) -> None:
        now = _now()
        issued_before = self.issued
        while self.running:
            at = t0 + self.issued * interval
            if at > now:
                self.loop.call_at(at, self.due, t0, interval)
                break
            if at >= self.t_end or self.issued >= self.max_requests:
                break  # no more due; the housekeeper or the last answer ends the run
            self.issued += 1
            if self.idle:
                conn = self.idle.pop()
                if at >= self.t_measure:
                    self.sent_measured += 1
                    if now - at > LATE_S:
                        self.late += 1
                self.send(conn, at)
            else:
                self.queue.append(at)
        if self.issued > issued_before and self.queue:
            self.fill()

    # -- housekeeping: measured window, ticks, timeouts, stop ------------------------------

    def housekeep(self) -> None:
        if not self.running:
            return
        now = _now()
        if self.pooling:  # the clock starts once the pool is up (or POOL_WAIT_S passed)
            if self.stopped():
                self.finish()
                return
            self.loop.call_at(now + HOUSEKEEP_S, self.housekeep)
            return
        if not self.measuring and now >= self.t_measure:
            self.begin_measuring(now)
        if self.measuring and now >= self.next_tick:
            self.tick(now)
            self.next_tick += self.spec.tick_s
            if self.next_tick <= now:
                self.next_tick = now + self.spec.tick_s
        if now >= self.next_sweep:
            self.sweep(now)
            self.next_sweep = now + self.sweep_every
        if now >= self.t_end or self.stopped():
            self.finish()
            return
        wake = min(now + HOUSEKEEP_S, self.t_end)
        if not self.measuring:
            wake = min(wake, self.t_measure)
        self.loop.call_at(wake, self.housekeep)

    def stopped(self) -> bool:
        """The caller's stop, or Ctrl-C/SIGTERM to tunicorn (which `run_load` then raises)."""
        return stopping() or (self.stop_event is not None and self.stop_event.is_set())

    def begin_measuring(self, now: float) -> None:
        self.measuring = True
        self.t_measure = now
        self.t_end = now + max(0.0, self.spec.duration_s)
        self.cpu_begin = time.thread_time()
        self.next_tick = now + self.spec.tick_s
        self.latencies = []

    def sweep(self, now: float) -> None:
        limit = now - self.timeout
        for conn in [c for c in self.conns if c.busy and c.start < limit]:
            conn.busy = False
            conn.payload = b""
            self.error("timeout", conn.stalled)
            self.drop(conn)
            self.replace(now)
        while self.queue and self.queue[0] < limit:
            self.queue.popleft()
            self.error("timeout")

    def tick(self, now: float) -> None:
        t = self.close_tick(now)
        if self.on_tick is not None:
            try:
                self.on_tick(t)
            except Exception as exc:  # the caller's bug ends the run, and run_load re-raises it
                self.on_tick = None
                self.callback_error = exc
                self.finish()

    def finish(self) -> None:
        if not self.running:
            return
        now = _now()
        if not self.measuring:  # stopped before the measured window began
            self.begin_measuring(now)
        self.running = False
        self.t_stopped = now
        self.cpu_end = time.thread_time()
        since = now - self.t_measure - (self.timeline[-1].t if self.timeline else 0.0)
        if self.latencies or not self.timeline or since > 0.001:
            self.tick(now)

    def run(self) -> None:
        now = _now()
        self.next_sweep = now + self.sweep_every
        if self.keepalive and not self.open_loop:
            self.open_pool(now)
        else:
            self.start(now)
        self.housekeep()
        try:
            self.loop.run_until(lambda: not self.running)
        finally:
            self.abandon()

    def open_pool(self, now: float) -> None:
        """Kept-alive closed loop: open every client's connection first; `start` sends."""
        self.pooling = True
        self.t_begin = self.t_measure = now
        self.t_end = now + POOL_WAIT_S + max(0.0, self.spec.warmup_s + self.spec.duration_s)
        for _ in range(self.cap):
            self.request_closed(now)
        self.loop.call_at(now + min(self.timeout, POOL_WAIT_S), self.start_late)

    def start_late(self) -> None:
        """The pool did not open in time (a server that accepts slowly, or refuses): run with
        the connections that are up; the rest send as they connect."""
        if self.pooling and self.running:
            self.start(_now())

    def start(self, now: float) -> None:
        """The run's clock starts: warm-up, then the measured window."""
        self.t_begin = now
        self.t_measure = now + max(0.0, self.spec.warmup_s)
        self.t_end = self.t_measure + max(0.0, self.spec.duration_s)
        if self.spec.warmup_s <= 0:
            self.begin_measuring(now)
        if self.open_loop:
            rate = float(self.spec.rate or 0.0)
            self.loop.call_soon(self.due, now, 1.0 / rate)
        elif self.pooling:
            self.pooling = False
            for conn in self.pooled:
                if not conn.closing:
                    self.send(conn, now)
            self.pooled.clear()
        else:
            for _ in range(self.cap):
                self.request_closed(now)

    def abandon(self) -> None:
        """Drop what is in flight (it is not counted): close every socket, connects too."""
        self.running = False
        for conn in list(self.conns):
            self.drop(conn)
        self.idle.clear()
        self.queue.clear()

def _check(spec: LoadSpec) -> None:
    if spec.concurrency < 1:
        raise UsageError("Concurrency must be at least 1: pass --concurrency 1 or more.")
    if spec.rate is not None and not (spec.rate > 0 and math.isfinite(spec.rate)):
        raise UsageError(
            "The rate must be a positive number of requests per second: pass --rate above 0, "
            "or leave it out to load with a fixed number of clients."
        )
    if spec.duration_s < 0 or spec.warmup_s < 0:
        raise UsageError("Duration and warm-up cannot be negative: pass 0 or more seconds.")
    if spec.timeout_s <= 0 or spec.tick_s <= 0:
        raise UsageError(
            "The request timeout and the tick must be positive: pass more than 0 seconds."
        )
    if spec.max_requests < 1:
        raise UsageError("max_requests must be at least 1: raise it, or leave the default.")


def run_load(
    spec: LoadSpec,
    *,
    on_tick: Callable[[Tick], None] | None = None,
    stop: threading.Event | None = None,
) -> LoadResult:
    """Drive `spec` against its URL in a fresh event loop and summarise the measured window.

    `requests` counts every request that ended in the window (ok or not); `throughput_rps`
    counts only the ok ones (status < 400). Requests still in flight at the end are
    abandoned and not counted. Safe to call from any thread; it blocks until done.
    """
    _check(spec)
    return _run(spec, on_tick, stop)


def _run(
    spec: LoadSpec,
    on_tick: Callable[[Tick], None] | None,
    stop: threading.Event | None,
) -> LoadResult:
    target = _Target(spec)
    sessions = None
    if target.sessions:  # each client logs in (its `once` requests) before the load
        _family, host, port = target.addrs[0]
        sessions = session_start(
            target.setup, target.seed_cookies, max(1, spec.concurrency), host=host, port=port,
            base=target.base, host_header=target.host_header, timeout=spec.timeout_s, stop=stop,
        )  # fmt: skip
    loop = Loop()
    # No cycle is made per request (a closed connection lets go of its parser), so the cyclic
    # collector would only walk the process's objects again and again: off for the run.
    collecting = gc.isenabled()
    gc.disable()
    try:
        engine = _Engine(spec, target, loop, on_tick, stop, sessions)
        engine.run()
        if engine.callback_error is not None:
            raise engine.callback_error
        return engine.result()
    finally:  # also on Ctrl-C or a callback's exception: leave no socket open
        loop.close()
        if collecting:
            gc.enable()


# The dispatcher (`load.run_load`) checks the spec once, then runs it.
ENGINE = Engine(name="builtin", run=_run, check=_check)
