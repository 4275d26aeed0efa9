"""Where a server's connections landed: established connections per worker process.

With kept-alive connections a gunicorn worker keeps every connection it accepted until the
client or its keep-alive timeout closes it, and gevent and gthread workers accept in a race
(whichever wakes first takes the connection, and an idle worker wakes first). So the same
configuration can serve with its connections dealt 8/8/8/8 in one run and 20/4/4/4 in the
next, and its capacity follows the worst-loaded worker. This module looks once, on the server
side, at how the connections were dealt: one reading of each worker's sockets (psutil, the
same `/proc` files `ss -tnp` reads), cheap enough to take in the middle of a window.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import psutil

__all__ = ["ConnectionCounter", "connections_per_worker", "imbalance"]


def _tcp(proc: psutil.Process) -> list[object]:
    # psutil 6 renamed connections() to net_connections(); the project allows 5.9 too.
    reader = getattr(proc, "net_connections", None) or proc.connections
    return list(reader(kind="tcp"))


def connections_per_worker(pid: int, port: int) -> tuple[int, ...]:
    """Established TCP connections on local `port` held by each child of `pid` (sorted by pid).

    A connection the master or nobody holds is not counted; a worker that exits while it is
    read counts 0. Empty when the process tree cannot be read."""
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return ()
    counts = []
    for child in sorted(children, key=lambda p: p.pid):
        try:
            conns = _tcp(child)
        except psutil.Error:
            counts.append(0)
            continue
        counts.append(
            sum(
                1
                for c in conns
                if getattr(c, "status", "") == psutil.CONN_ESTABLISHED
                and getattr(getattr(c, "laddr", None), "port", None) == port
            )
        )
    return tuple(counts)


def imbalance(counts: tuple[int, ...]) -> float:
    """The busiest worker's share over an even share: 1.0 is even; 4 workers with all the
    connections on one is 4.0. 0.0 when nothing was counted."""
    total = sum(counts)
    if not counts or total <= 0:
        return 0.0
    return round(max(counts) * len(counts) / total, 2)


class ConnectionCounter:
    """Counts connections per worker once, `after_s` seconds after `start()` (e.g. the middle
    of the measured window), in a daemon timer; `result()` gives the counts (empty when the
    timer never fired). `read` is injectable so the timing can be tested without a server."""

    def __init__(
        self,
        pid: int,
        port: int,
        after_s: float,
        *,
        read: Callable[[int, int], tuple[int, ...]] = connections_per_worker,
    ) -> None:
        self.counts: tuple[int, ...] = ()
        self._read = read
        self._pid, self._port = pid, port
        self._timer = threading.Timer(max(0.0, after_s), self._take)
        self._timer.daemon = True

    def _take(self) -> None:
        self.counts = self._read(self._pid, self._port)

    def start(self) -> ConnectionCounter:
        self._timer.start()
        return self

    def result(self) -> tuple[int, ...]:
        self._timer.cancel()
        if self._timer.is_alive():
            self._timer.join(timeout=5)
        return self.counts
