"""What the built-in engine sends and how it bins latency, decided once before a run: the
request bytes of the mix in smooth weighted order, the address to connect to, the histogram."""

from __future__ import annotations

import math
import socket
import urllib.parse
from collections.abc import Sequence

from hdrh.histogram import HdrHistogram

from tunicorn.errors import UsageError
from tunicorn.launch.stallwrap import HEADER as STALL_HEADER
from tunicorn.load import session
from tunicorn.load.scenario import LoadSpec, Request

__all__ = ["HIST_HIGHEST_US", "HIST_LOWEST_US", "new_histogram", "stall_marks", "weighted_cycle"]

HIST_LOWEST_US = 1
HIST_HIGHEST_US = 3600 * 1_000_000
HIST_DIGITS = 3
MIX_LENGTH = 1000


def new_histogram() -> HdrHistogram:
    """Latency in µs from 1 µs to one hour, 3 significant digits."""
    return HdrHistogram(HIST_LOWEST_US, HIST_HIGHEST_US, HIST_DIGITS)


def weighted_cycle(weights: Sequence[float], length: int = MIX_LENGTH) -> list[int]:
    """Indices in smooth weighted round-robin order: deterministic, and evenly interleaved."""
    if not weights:
        raise UsageError("The request mix is empty: give at least one request.")
    if any(w < 0 or not math.isfinite(w) for w in weights):
        raise UsageError(
            "Request weights must be finite and not negative: give each a weight of 0 or more."
        )
    total = float(sum(weights))
    if total <= 0:
        raise UsageError("At least one request needs a weight above zero.")
    if len(weights) == 1:
        return [0]
    current = [0.0] * len(weights)
    order: list[int] = []
    for _ in range(length):
        for i, w in enumerate(weights):
            current[i] += w
        best = max(range(len(weights)), key=current.__getitem__)
        current[best] -= total
        order.append(best)
    return order


def stall_marks(share: float, length: int = MIX_LENGTH) -> list[bool]:
    """Which requests of a cycle of `length` stall: round(share × length) of them (at least
    one), evenly spread by the same smooth round-robin as the mix."""
    if not 0 < share <= 1:
        raise UsageError(f"The stall's share must be above 0% and at most 100%, not {share:.2%}.")
    count = max(1, round(share * length))
    if count >= length:
        return [True] * length
    return [i == 1 for i in weighted_cycle([length - count, count], length)]


class _Target:
    """Where to connect and what bytes to send, decided once before the run."""

    def __init__(self, spec: LoadSpec) -> None:
        parts = urllib.parse.urlsplit(spec.url)
        if parts.scheme != "http":
            raise UsageError(
                f"The load engine speaks plain http only, not {spec.url!r}: give an http:// URL."
            )
        if not parts.hostname:
            raise UsageError(f"No host in {spec.url!r}: give a URL like http://127.0.0.1:8000.")
        self.host = parts.hostname
        self.port = parts.port or 80
        try:
            infos = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise UsageError(
                f"Cannot resolve {self.host!r} ({exc}): check the host in the URL."
            ) from exc
        # Numeric addresses: asyncio then connects without a resolver thread per connect.
        self.addrs: list[tuple[int, str, int]] = []
        for family, _type, _proto, _name, sockaddr in infos:
            entry = (int(family), str(sockaddr[0]), int(sockaddr[1]))
            if entry not in self.addrs:
                self.addrs.append(entry)
        base = parts.path.rstrip("/")
        host_header = parts.netloc.rpartition("@")[2]
        self.base, self.host_header = base, host_header
        # Setup requests (`once`) and shared cookies make per-client jars (`load.session`);
        # without them the payloads are fixed bytes, as before.
        self.setup, mix, self.seed_cookies = session.split(spec.requests)
        self.sessions = bool(self.setup or self.seed_cookies)
        if self.sessions:
            mix = [session.without_cookie(r) for r in mix]
        if not mix:
            raise UsageError("Every request is a setup request (once): add one to load.")
        weights = [r.weight for r in mix]
        payloads = [self._payload(r, base, host_header, spec.keepalive) for r in mix]
        order = weighted_cycle(weights)
        self.sequence = [payloads[i] for i in order]
        # --stall: the same mix, with an exact share marked to wait (evenly spread, so the
        # stalled requests in flight stay near Little's rate × share × seconds).
        self.stalls = [False] * len(self.sequence)
        if spec.stall_share > 0 and spec.stall_s > 0:
            marks = stall_marks(spec.stall_share)
            order = [order[i % len(order)] for i in range(len(marks))]
            stalled = [
                self._payload(r, base, host_header, spec.keepalive, spec.stall_s) for r in mix
            ]
            self.sequence = [
                (stalled if mark else payloads)[i] for i, mark in zip(order, marks, strict=True)
            ]
            self.stalls = marks

    @staticmethod
    def _payload(
        req: Request, base: str, host: str, keepalive: bool, stall_s: float = 0.0
    ) -> bytes:
        if req.method.upper() == "HEAD":  # the parser cannot be told to expect no body
            raise UsageError("HEAD requests are not supported by the load engine; use GET.")
        path = req.path if req.path.startswith("/") else "/" + req.path
        lines = [f"{req.method.upper()} {base}{path} HTTP/1.1", f"Host: {host}"]
        names = {name.lower() for name, _ in req.headers}
        if "user-agent" not in names:
            lines.append("User-Agent: tunicorn")
        lines.extend(f"{name}: {value}" for name, value in req.headers)
        if stall_s > 0:
            lines.append(f"{STALL_HEADER}: {stall_s:g}")
        if req.body or req.method.upper() in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(req.body)}")
        if not keepalive:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + req.body
