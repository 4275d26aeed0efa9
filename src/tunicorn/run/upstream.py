"""Production's waits, here: a delaying TCP proxy in front of the app's own upstreams.

On a developer's machine the database answers in a tenth of a millisecond; in production it
is a network hop away, and every query waits a round trip or two. That wait is what threads
are for (W/C), so a profile measured against localhost under-counts it and the search picks
too few threads. `--upstream DATABASE_URL=+2ms` puts a proxy on 127.0.0.1 in front of the
host:port the variable names, hands the server the variable rewritten to the proxy, and
delays every byte by half the added round trip in each direction. It is a TCP proxy, not a
patch of the driver, so a driver in C (libpq) waits exactly as a pure-Python one does.

The delay follows toxiproxy's latency toxic (toxics/latency.go: one toxic per direction),
with one difference: each chunk is due `delay` after it *arrived*, so chunks that arrive
together leave together (a propagation delay), where the toxic sleeps per chunk in turn and
stretches a burst. The proxy runs in its own process (`python -m tunicorn.run.upstream`), in its
own process group pinned to the load generator's cores, dies with tunicorn, listens on
loopback only (the parent binds the sockets and passes them, so the ports are known before
it starts), serves at most MAX_CONNECTIONS at once, and is stopped with SIGTERM → SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType

from tunicorn.app.target import Target
from tunicorn.errors import TunicornError, UsageError
from tunicorn.record import UpstreamDelay
from tunicorn.supervise import Group, log_tail

__all__ = [
    "MAX_ADDED_MS",
    "MAX_CONNECTIONS",
    "Endpoint",
    "Upstreams",
    "UpstreamSpec",
    "endpoint",
    "parse_spec",
]

MAX_CONNECTIONS = 1024  # a pool per worker process stays far below; a leak does not
MAX_ADDED_MS = 10_000.0  # a round trip beyond 10 s is a stall (--stall), not a latency
READY_S = 15.0
STOP_GRACE_S = 5.0
QUEUE_CHUNKS = 64  # chunks in flight per direction: up to 4 MiB held, then reading waits
CONNECT_TIMEOUT_S = 10.0

# Ports of the schemes a DATABASE_URL-like variable names, where the URL leaves it out.
DEFAULT_PORTS = {
    "postgres": 5432, "postgresql": 5432, "mysql": 3306, "mariadb": 3306, "redis": 6379,
    "rediss": 6379, "mongodb": 27017, "amqp": 5672, "amqps": 5671, "mssql": 1433,
    "sqlserver": 1433, "http": 80, "https": 443, "memcached": 11211,
}  # fmt: skip

_SPEC = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*(?:\s*,\s*[A-Za-z_][A-Za-z0-9_]*)?)\s*=\s*"
                   r"\+?\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$")  # fmt: skip


class UpstreamError(TunicornError):
    """The proxy would not start (exit 2: nothing was measured)."""


# -- pure parts: what to proxy, and the variable rewritten -------------------------------------


@dataclasses.dataclass(frozen=True)
class UpstreamSpec:
    """One --upstream: the variable (or the host and port pair) and the round trip to add."""

    names: tuple[str, ...]  # ("DATABASE_URL",) or ("DB_HOST", "DB_PORT")
    added_ms: float

    @property
    def label(self) -> str:
        return ",".join(self.names)


def parse_spec(text: str) -> UpstreamSpec:
    """`DATABASE_URL=+2ms`, `REDIS_URL=+0.5ms`, `DB_HOST,DB_PORT=+2ms` (ms unless `s`)."""
    match = _SPEC.match(text)
    if not match:
        raise UsageError(
            f"--upstream {text!r} is not VARIABLE=+MS: give the environment variable that names "
            "the upstream and the round trip to add, e.g. --upstream DATABASE_URL=+2ms, or a "
            "host and a port variable, e.g. --upstream DB_HOST,DB_PORT=+2ms."
        )
    names = tuple(n.strip() for n in match.group(1).split(","))
    value = float(match.group(2)) * (1000.0 if match.group(3) == "s" else 1.0)
    if not 0 < value <= MAX_ADDED_MS:
        raise UsageError(
            f"--upstream {text!r} adds {value:g} ms: give a round trip above 0 and at most "
            f"{MAX_ADDED_MS:g} ms (a longer wait is a stalled upstream: --stall)."
        )
    return UpstreamSpec(names, value)


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """Where a variable points, and how to rewrite it to point at the proxy instead."""

    spec: UpstreamSpec
    host: str
    port: int
    kind: str  # "url", "hostport" or "pair"
    original: tuple[str, ...]  # the variables' values as found

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def rewritten(self, listen_port: int) -> dict[str, str]:
        """The variables as the server sees them: the same value, the proxy's address in it."""
        names = self.spec.names
        if self.kind == "pair":
            return {names[0]: "127.0.0.1", names[1]: str(listen_port)}
        if self.kind == "hostport":
            return {names[0]: f"127.0.0.1:{listen_port}"}
        parts = urllib.parse.urlsplit(self.original[0])
        userinfo, at, _ = parts.netloc.rpartition("@")
        netloc = f"{userinfo}{at}127.0.0.1:{listen_port}"
        return {names[0]: urllib.parse.urlunsplit(parts._replace(netloc=netloc))}


def _missing(spec: UpstreamSpec, name: str) -> UsageError:
    return UsageError(
        f"--upstream {spec.label}: {name} is not set in tunicorn's environment; set it to what "
        "the app connects to (e.g. export DATABASE_URL=postgresql://user@127.0.0.1:5432/db) "
        "and run again."
    )


def endpoint(spec: UpstreamSpec, env: Mapping[str, str]) -> Endpoint:
    """Where the variable(s) point: a URL (scheme://user@host:port/db), host:port, or a pair
    of a host variable and a port variable. One sentence on anything else."""
    values = []
    for name in spec.names:
        value = env.get(name, "").strip()
        if not value:
            raise _missing(spec, name)
        values.append(value)
    if len(values) == 2:
        host, port_text = values
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise UsageError(
                f"--upstream {spec.label}: {spec.names[1]}={port_text!r} is not a port number; "
                "the second variable must hold the port (e.g. 5432)."
            )
        _check_host(spec, host)
        return Endpoint(spec, host.strip("[]"), int(port_text), "pair", tuple(values))
    value = values[0]
    if "://" in value:
        return _url_endpoint(spec, value)
    host, sep, port_text = value.rpartition(":")
    if sep and host and port_text.isdigit() and 0 < int(port_text) < 65536:
        _check_host(spec, host)
        return Endpoint(spec, host.strip("[]"), int(port_text), "hostport", (value,))
    raise UsageError(
        f"--upstream {spec.label}: its value is neither a URL (scheme://host:port/…) nor "
        "host:port; name a variable that holds one, or a host and a port variable "
        "(--upstream DB_HOST,DB_PORT=+2ms)."
    )


def _url_endpoint(spec: UpstreamSpec, value: str) -> Endpoint:
    parts = urllib.parse.urlsplit(value)
    scheme = parts.scheme.split("+", 1)[0].lower()  # postgresql+psycopg → postgresql
    netloc = parts.netloc.rpartition("@")[2]
    if "," in netloc:
        raise UsageError(
            f"--upstream {spec.label}: the URL names several hosts; tunicorn proxies one, so "
            "name one host in the variable while you measure."
        )
    try:
        port = parts.port
    except ValueError:
        port = None
        netloc = ""
    host = parts.hostname or ""
    if not host:
        raise UsageError(
            f"--upstream {spec.label}: the URL names no host (a Unix socket?); a TCP proxy needs "
            "host:port in the URL, e.g. postgresql://user@127.0.0.1:5432/db."
        )
    if port is None:
        port = DEFAULT_PORTS.get(scheme)
        if port is None:
            raise UsageError(
                f"--upstream {spec.label}: the URL gives no port and tunicorn does not know "
                f"{scheme!r}'s; write the port in the URL (host:port)."
            )
    _check_host(spec, host)
    return Endpoint(spec, host, port, "url", (value,))


def _check_host(spec: UpstreamSpec, host: str) -> None:
    if host.startswith("/"):
        raise UsageError(
            f"--upstream {spec.label}: {host} is a Unix socket; a TCP proxy needs host:port "
            "(e.g. 127.0.0.1:5432)."
        )


# -- the parent's side: start, hand over, stop ----------------------------------------------


def _bind_loopback() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))  # loopback only: the proxy is the app's, never a relay
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class Upstreams:
    """The proxies of every --upstream, in one process: `with Upstreams(specs) as up:` then
    `up.env` is what the server's environment gains, and `up.records()` what was added."""

    def __init__(
        self,
        specs: Sequence[UpstreamSpec],
        *,
        env: Mapping[str, str] | None = None,
        cpus: Sequence[int] = (),
        log_dir: str | Path | None = None,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        parent = os.environ if env is None else env
        self.max_connections = max_connections
        seen: set[str] = set()
        for spec in specs:
            for name in spec.names:
                if name in seen:
                    raise UsageError(
                        f"--upstream names {name} twice: give each variable once."
                    )
                seen.add(name)
        self.endpoints = tuple(endpoint(s, parent) for s in specs)
        self.cpus = tuple(cpus)
        self._log_dir = Path(log_dir) if log_dir else None
        self._own_dir: Path | None = None
        self.log_path: Path | None = None
        self.group: Group | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.ports: tuple[int, ...] = ()
        self.stats: dict[str, dict[str, int]] = {}

    @property
    def env(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for ep, port in zip(self.endpoints, self.ports, strict=False):
            out.update(ep.rewritten(port))
        return out

    def apply(self, target: Target) -> Target:
        """The target as the server runs it: its variables pointing at the proxies."""
        if not self.ports:
            return target
        return dataclasses.replace(target, env=(*target.env, *sorted(self.env.items())))

    def describe(self) -> str:
        """One line for the progress output: what is delayed, by how much."""
        return "Added round trips: " + "; ".join(
            f"{ep.spec.label} ({ep.address}) +{ep.spec.added_ms:g} ms via 127.0.0.1:{port}"
            for ep, port in zip(self.endpoints, self.ports, strict=False)
        )

    def records(self) -> tuple[UpstreamDelay, ...]:
        """What was added, for the report: one record per --upstream, with what went through."""
        out = []
        for ep, port in zip(self.endpoints, self.ports, strict=False):
            seen = self.stats.get(str(port), {})
            out.append(
                UpstreamDelay(
                    variable=ep.spec.label, upstream=ep.address, listen=f"127.0.0.1:{port}",
                    added_ms=ep.spec.added_ms, connections=seen.get("connections", 0),
                    chunks=seen.get("chunks", 0), refused=seen.get("refused", 0),
                )  # fmt: skip
            )
        return tuple(out)

    def start(self) -> Upstreams:
        if not self.endpoints:
            return self
        socks = [_bind_loopback() for _ in self.endpoints]
        self.ports = tuple(s.getsockname()[1] for s in socks)
        if self._log_dir is None:  # its own folder, removed when it stops (errors quote the log)
            self._own_dir = log_dir = Path(tempfile.mkdtemp(prefix="tunicorn-"))
        else:
            log_dir = self._log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"upstream-{self.ports[0]}.log"
        argv = [sys.executable, "-m", "tunicorn.run.upstream", "--max-connections",
                str(self.max_connections)]  # fmt: skip
        for sock, ep in zip(socks, self.endpoints, strict=True):
            argv += ["--route", f"{sock.fileno()},{ep.host},{ep.port},{ep.spec.added_ms}"]
        self.group = Group(
            argv, log_path=self.log_path, pass_fds=tuple(s.fileno() for s in socks),
            cpus=self.cpus, pipe_stdout=True, grace_s=STOP_GRACE_S,
        )  # fmt: skip
        try:
            self.proc = self.group.start().proc
        finally:
            for sock in socks:
                sock.close()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        proc = self.proc
        assert proc is not None and proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], READY_S)
        line = proc.stdout.readline() if ready else b""
        if line.strip() != b"ready":
            raise UpstreamError(
                "The upstream proxy did not start: "
                + (log_tail(self.log_path, 2000).strip()[-500:] or "it said nothing")
                + ". Run again; if it persists, report it with this message."
            )

    def stop(self) -> None:
        """SIGTERM to its group, a grace period, then SIGKILL; reads what it relayed. Safe twice."""
        group, self.group, self.proc = self.group, None, None
        if group is None:
            return
        group.stop()
        own, self._own_dir = self._own_dir, None
        if own is not None:
            shutil.rmtree(own, ignore_errors=True)
        out = group.output
        for line in out.splitlines():
            with contextlib.suppress(ValueError):
                data = json.loads(line)
                if isinstance(data, dict):
                    self.stats = {str(k): dict(v) for k, v in data.items()}

    def __enter__(self) -> Upstreams:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@contextlib.contextmanager
def running(
    texts: Sequence[str], *, cpus: Sequence[int] = (), log_dir: str | Path | None = None
) -> Iterator[Upstreams]:
    """The CLI's form: --upstream values in, started proxies out (nothing when none given)."""
    with Upstreams([parse_spec(t) for t in texts], cpus=cpus, log_dir=log_dir) as up:
        yield up


# -- the proxy process ---------------------------------------------------------------------------


@dataclasses.dataclass
class _Route:
    fd: int
    host: str
    port: int
    delay_s: float  # each direction: half the added round trip
    listen: int = 0  # the port it listens on, once serving
    connections: int = 0
    chunks: int = 0
    refused: int = 0


class _Proxy:
    def __init__(self, routes: Sequence[_Route], max_connections: int) -> None:
        self.routes = routes
        self.max_connections = max_connections
        self.active = 0

    async def handle(
        self, route: _Route, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
    ) -> None:
        if self.active >= self.max_connections:
            route.refused += 1
            client_w.close()
            return
        self.active += 1
        route.connections += 1
        server_w: asyncio.StreamWriter | None = None
        try:
            server_r, upstream_w = await asyncio.wait_for(
                asyncio.open_connection(route.host, route.port), CONNECT_TIMEOUT_S
            )
            server_w = upstream_w
            for w in (client_w, upstream_w):
                sock = w.get_extra_info("socket")
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            await asyncio.gather(
                self.pipe(route, client_r, upstream_w), self.pipe(route, server_r, client_w)
            )
        except (OSError, asyncio.TimeoutError):
            pass  # the app's driver sees the connection close, as it would with a dead server
        finally:
            self.active -= 1
            client_w.close()
            if server_w is not None:
                server_w.close()

    async def pipe(
        self, route: _Route, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """One direction: each chunk leaves `delay_s` after it arrived, in order."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue(QUEUE_CHUNKS)

        async def take_in() -> None:
            try:
                while data := await reader.read(65536):
                    await queue.put((loop.time() + route.delay_s, data))
            finally:
                await queue.put(None)

        async def send_out() -> None:
            while (item := await queue.get()) is not None:
                due, data = item
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                route.chunks += 1
                await writer.drain()
            if writer.can_write_eof():
                with contextlib.suppress(OSError):
                    writer.write_eof()

        await asyncio.gather(take_in(), send_out())

    async def serve(self, stop: asyncio.Event) -> None:
        servers = []
        for route in self.routes:
            sock = socket.socket(fileno=route.fd)
            sock.setblocking(False)
            route.listen = sock.getsockname()[1]

            async def on_client(
                r: asyncio.StreamReader, w: asyncio.StreamWriter, route: _Route = route
            ) -> None:
                await self.handle(route, r, w)

            servers.append(await asyncio.start_server(on_client, sock=sock))
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        await stop.wait()
        for server in servers:
            server.close()

    def stats(self) -> dict[str, dict[str, int]]:
        return {
            str(route.listen): {
                "connections": route.connections, "chunks": route.chunks,
                "refused": route.refused,
            }
            for route in self.routes
        }  # fmt: skip


async def _cancel_all() -> None:
    """The connections still open at the stop: closed, so the loop ends without a warning."""
    pending = asyncio.all_tasks() - {asyncio.current_task()}
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def _parse_route(text: str) -> _Route:
    fd, host, port, added_ms = text.split(",")
    return _Route(int(fd), host, int(port), float(added_ms) / 2000.0)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m tunicorn.run.upstream --route FD,HOST,PORT,ADDED_MS …`: run until SIGTERM, then
    print what went through as one JSON line."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tunicorn.run.upstream")
    parser.add_argument("--route", action="append", required=True)
    parser.add_argument("--max-connections", type=int, default=MAX_CONNECTIONS)
    args = parser.parse_args(argv)
    routes = [_parse_route(r) for r in args.route]
    proxy = _Proxy(routes, args.max_connections)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    started = time.monotonic()
    try:
        loop.run_until_complete(proxy.serve(stop))
        loop.run_until_complete(_cancel_all())
    finally:
        loop.close()
    stats = proxy.stats()
    sys.stdout.write(json.dumps(stats) + "\n")
    sys.stdout.flush()
    sys.stderr.write(f"upstream proxy ran {time.monotonic() - started:.1f} s\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
