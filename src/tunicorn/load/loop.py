"""The built-in engine's event loop: one poller, a timer heap and a queue of callbacks.

Why not asyncio's loop: on a keep-alive request the engine's own work is a C parse and a few
attribute updates, while asyncio spends several Python calls per readiness event (its
selector wrapper, a Handle per callback run in a Context, the transport's read and write
paths). Under a fast server that is most of the client's CPU. Here an event is one dict
lookup and one call into the connection.

Sockets are only created by timers and callbacks, never while a batch of events is being
dispatched, so a descriptor closed and reused inside one batch cannot receive the old
socket's event.
"""

from __future__ import annotations

import heapq
import itertools
import select
import socket
import time
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["ERR", "IN", "OUT", "Loop"]

IN = select.POLLIN
OUT = select.POLLOUT
ERR = select.POLLERR | select.POLLHUP

_now = time.monotonic


class Loop:
    """epoll where there is one (Linux), poll elsewhere; `run_until` drives it."""

    def __init__(self) -> None:
        self._epoll = hasattr(select, "epoll")
        self._poller: Any = select.epoll() if self._epoll else select.poll()
        self.handlers: dict[int, Callable[[int], None]] = {}
        self._socks: dict[int, socket.socket] = {}
        self._timers: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self._soon: deque[tuple[Callable[..., None], tuple[Any, ...]]] = deque()
        self._seq = itertools.count()

    def time(self) -> float:
        return _now()

    def call_at(self, when: float, fn: Callable[..., None], *args: Any) -> None:
        heapq.heappush(self._timers, (when, next(self._seq), fn, args))

    def call_later(self, delay: float, fn: Callable[..., None], *args: Any) -> None:
        self.call_at(_now() + delay, fn, *args)

    def call_soon(self, fn: Callable[..., None], *args: Any) -> None:
        self._soon.append((fn, args))

    def add(self, sock: socket.socket, events: int, handler: Callable[[int], None]) -> None:
        fd = sock.fileno()
        self._poller.register(fd, events)
        self.handlers[fd] = handler
        self._socks[fd] = sock

    def modify(self, fd: int, events: int) -> None:
        self._poller.modify(fd, events)

    def close_socket(self, sock: socket.socket) -> None:
        """Unregister and close `sock`: its pending events, if any, are dropped."""
        fd = sock.fileno()
        if fd >= 0 and self.handlers.pop(fd, None) is not None:
            self._socks.pop(fd, None)
            self._poller.unregister(fd)
        sock.close()

    def run_until(self, done: Callable[[], bool]) -> None:
        """Poll, dispatch, run due timers and queued callbacks, until `done()`."""
        poll = self._poller.poll
        handlers = self.handlers
        timers = self._timers
        soon = self._soon
        scale = 1.0 if self._epoll else 1000.0  # poll() takes milliseconds
        while not done():
            if soon:
                timeout = 0.0
            elif timers:
                timeout = max(0.0, timers[0][0] - _now())
            else:
                timeout = 1.0
            for fd, events in poll(timeout * scale):
                handler = handlers.get(fd)
                if handler is not None:
                    handler(events)
            if timers:
                now = _now()
                while timers and timers[0][0] <= now:
                    _, _, fn, args = heapq.heappop(timers)
                    fn(*args)
            for _ in range(len(soon)):
                fn, args = soon.popleft()
                fn(*args)

    def close(self) -> None:
        """Close every socket still registered, and the poller."""
        for sock in list(self._socks.values()):
            self.close_socket(sock)
        self._timers.clear()
        self._soon.clear()
        if self._epoll:
            self._poller.close()
