"""One client connection of the built-in engine: its socket, its parser, its request out.

The engine (`load.engine`) decides what each outcome means; this module only moves bytes:
a non-blocking send of the request, a `recv_into` the engine's one buffer, a C parse whose
callback hands the answer back.
"""

from __future__ import annotations

import socket
from typing import Protocol

import httptools

from tunicorn.load.loop import ERR, IN, OUT, Loop


class Owner(Protocol):
    """What a connection needs of the engine that owns it (`load.engine._Engine`).

    Declared here so the engine imports its connections and not the other way round: a
    connection reports each outcome to its owner, which decides what it means.
    """

    buffer: memoryview
    loop: Loop
    connecting: int

    def connect_done(self, conn: _Conn) -> None: ...

    def lost(self, conn: _Conn) -> None: ...

    def failed(self, conn: _Conn, kind: str) -> None: ...

    def answered(self, conn: _Conn, status: int, keep: bool) -> None: ...


class _Conn:
    """One client connection: its socket, its parser, and the request it has out.

    Every connection reads into the engine's one buffer (each read is parsed before the
    next), so a response costs no allocation of its own."""

    __slots__ = (
        "eng",
        "sock",
        "fd",
        "parser",
        "buffer",
        "out",
        "connecting",
        "busy",
        "start",
        "payload",
        "sent",
        "got_bytes",
        "closing",
        "retried",
        "stalled",
    )

    def __init__(self, eng: Owner) -> None:
        self.eng = eng
        self.sock: socket.socket | None = None
        self.fd = -1
        self.parser: httptools.HttpResponseParser | None = httptools.HttpResponseParser(self)
        self.buffer = eng.buffer
        self.out = b""  # what a full send buffer has not taken yet
        self.connecting = False  # counted in the engine's `connecting` until it ends
        self.busy = False  # a request is out and not yet answered
        self.start = 0.0  # when that request was due: latency and timeout count from here
        self.payload = b""
        self.sent = 0  # requests sent on this connection (a reused one may go stale)
        self.got_bytes = False
        self.closing = False  # closed on purpose: losing it is no error
        self.retried = False
        self.stalled = False  # the request out asked the app to wait (--stall)

    def ready(self, events: int) -> None:
        """The loop's handler: the end of a connect, room to write, or something to read."""
        if self.connecting:
            self.eng.connect_done(self)
            return
        if events & OUT and self.out:
            self.write(b"")
        if events & (IN | ERR):
            self.read()

    def read(self) -> None:
        try:
            n = self.sock.recv_into(self.buffer)  # type: ignore[union-attr]
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            n = 0
        if not n:  # the server closed it, or reset it
            self.close()
            self.eng.lost(self)
            return
        self.got_bytes = True
        parser = self.parser
        if parser is None:
            return
        try:
            parser.feed_data(self.buffer[:n])
        except httptools.HttpParserCallbackError:
            raise  # a bug of ours, not the server's
        except httptools.HttpParserError:
            self.eng.failed(self, "protocol")

    def on_message_complete(self) -> None:
        parser = self.parser
        if parser is not None:  # None: closed by an earlier answer in the same read
            self.eng.answered(self, parser.get_status_code(), parser.should_keep_alive())

    def write(self, data: bytes) -> None:
        sock = self.sock
        if sock is None:
            return
        pending = self.out
        if pending:
            data = pending + data
        try:
            n = sock.send(data) if data else 0
        except (BlockingIOError, InterruptedError):
            n = 0
        except OSError:  # reset or broken pipe: lost, as if read, once this dispatch is done
            self.eng.loop.call_soon(self.lost_later, sock)
            return
        if n == len(data) and not pending:
            return  # the usual case: all of it went at once, and nothing was waiting
        self.out = data[n:]
        if bool(self.out) != bool(pending):  # wait for room to write, or stop waiting
            self.eng.loop.modify(self.fd, IN | OUT if self.out else IN)

    def lost_later(self, sock: socket.socket) -> None:
        if self.sock is sock:
            self.close()
            self.eng.lost(self)

    def close(self) -> None:
        """Close the socket now (whatever is unsent goes too); a connect in progress ends."""
        if self.connecting:
            self.connecting = False
            self.eng.connecting -= 1
        if self.sock is not None:
            self.eng.loop.close_socket(self.sock)
            self.sock = None
        self.out = b""
        self.parser = None  # it refers back to this connection: no cycle for the collector
