"""The locust engine: the user's locustfile on a Locust master and its workers, in subprocesses.

Locust never runs in tunicorn's process (importing it monkey-patches the process for gevent):
the master and every local worker are `python -m locust` children, each in its own session so
that stopping it reaches all it started, and each with a parent-death signal so that even a
`kill -9` of tunicorn leaves none behind. Beside the locustfile each loads tunicorn's plugin
(`tunicorn_locust.py`), which opens the measured window after the warm-up, keeps it on every
worker, merges it on the master with Locust's own statistics classes and writes the figures as
JSON lines to a pipe this module reads.

The master binds to loopback unless the user named another address and agreed to expose it
(`LocustOptions.allow_remote`): whoever reaches that port can join as a worker, and with
`-f -` download the locustfile.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib.metadata
import importlib.util
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from tunicorn import supervise
from tunicorn.errors import UsageError
from tunicorn.load.interface import Engine
from tunicorn.load.scenario import LoadSpec, LocustOptions
from tunicorn.record import ClientStats, Endpoint, Latency, LoadInfo, LoadResult, Tick
from tunicorn.supervise import Group, checkpoint, stop_groups

__all__ = [
    "ENGINE",
    "PLUGIN",
    "check_locustfile",
    "default_processes",
    "options",
    "parse_bind",
    "version",
    "worker_command",
]

PLUGIN = Path(__file__).with_name("tunicorn_locust.py")
START_S = 20.0  # local processes: importing Locust and connecting takes a second or two
STOP_S = 3.0
LIST_TIMEOUT_S = 30.0
LOOPBACK = ("127.0.0.1", "::1", "localhost")
SATURATED_BUSY = 0.9


def version() -> str:
    """The installed Locust's version, read without importing it; "" when it is missing."""
    if importlib.util.find_spec("locust") is None:
        return ""
    try:
        return importlib.metadata.version("locust")
    except importlib.metadata.PackageNotFoundError:
        return ""


def default_processes(cpus: int | None, available: int | None = None) -> int:
    """Local workers by default: the cores left once the server has its `cpus` (at least one
    core is the server's when it is not pinned), and never fewer than one worker."""
    cores = available if available is not None else len(os.sched_getaffinity(0))
    return max(1, cores - (cpus or 1))


def parse_bind(text: str) -> tuple[str, int]:
    """'HOST:PORT', 'HOST' or ':PORT' (IPv6 in brackets) → (host, port); 5557 is Locust's port."""
    host, port = text.strip(), "5557"
    if host.startswith("["):
        inside, _, rest = host[1:].partition("]")
        host, port = inside, rest.lstrip(":") or port
    elif host.count(":") == 1:
        host, _, port = host.partition(":")
    host = host or "127.0.0.1"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(
            f"{text!r} is not HOST:PORT: give the address the Locust master listens on, "
            "e.g. --master-bind 127.0.0.1:5557."
        )
    return host, int(port)


def worker_command(opts: LocustOptions, host: str | None = None) -> str:
    """The command that starts one worker elsewhere. `-f -` makes it download the locustfile
    and tunicorn's plugin from the master, so that machine needs Locust, not tunicorn."""
    at = host or opts.master_host
    if at in ("0.0.0.0", "::", ""):
        at = socket.gethostname()
    return f"locust -f - --worker --master-host {at} --master-port {opts.master_port}"


def options(
    locustfile: str | None,
    *,
    cpus: int | None = None,
    processes: int | None = None,
    expect_workers: int | None = None,
    master_bind: str | None = None,
    allow_remote: bool = False,
    worker_wait_s: float = 60.0,
    log_dir: str | None = None,
) -> LocustOptions | None:
    """The command line's Locust settings as options: with workers elsewhere, no local ones
    unless asked, and Locust's usual port 5557 unless --master-bind names one. None without
    a locustfile, where the options that set up Locust have nothing to set up and are
    refused rather than ignored."""
    if not locustfile:
        if expect_workers or master_bind or processes:
            raise UsageError(
                "--load-processes, --expect-workers and --master-bind set up Locust: "
                "pass --locustfile FILE too."
            )
        return None
    remote = expect_workers or 0
    if processes is None:
        processes = 0 if remote else default_processes(cpus)
    if master_bind:
        host, port = parse_bind(master_bind)
    else:
        host, port = "127.0.0.1", 5557 if remote else 0
    return LocustOptions(
        locustfile=locustfile, processes=processes, expect_workers=remote, master_host=host,
        master_port=port, allow_remote=allow_remote, worker_wait_s=worker_wait_s,
        log_dir=log_dir or "",
    )  # fmt: skip


@functools.lru_cache(maxsize=16)
def _user_classes(path: str, mtime_ns: int, size: int) -> tuple[tuple[str, ...], str]:
    """(user classes, "") or ((), what Locust said) for one version of a file: `locust --list`
    imports it in a child process, so a broken file cannot touch this one."""
    proc = supervise.run(
        [sys.executable, "-m", "locust", "-f", path, "--list"], timeout=LIST_TIMEOUT_S,
        env=_child_env(),
    )  # fmt: skip
    if proc.returncode != 0:
        return (), _last_line(proc.stderr) or _last_line(proc.stdout)
    names = proc.stdout.split("Available Users:", 1)[-1].split()
    return tuple(names), ""


def check_locustfile(path: str) -> tuple[str, ...]:
    """The user classes of a locustfile, or a UsageError that says in one sentence what is wrong."""
    if not version():
        raise UsageError(
            "--locustfile needs Locust, which is not installed: pip install 'tunicorn[locust]'."
        )
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"Cannot read locustfile {path}: no such file; give a .py file's path.")
    if file.suffix != ".py":
        raise UsageError(f"Locustfile {path} is not a .py file: Locust loads Python files only.")
    stat = file.stat()
    try:
        names, error = _user_classes(str(file.resolve()), stat.st_mtime_ns, stat.st_size)
    except subprocess.TimeoutExpired:
        raise UsageError(
            f"Locust took over {LIST_TIMEOUT_S:g} s to import {path}: check what it does at import."
        ) from None
    if error:
        raise UsageError(f"Locust cannot load {path} ({error.rstrip('.')}): fix it and retry.")
    if not names:
        raise UsageError(
            f"{path} defines no Locust user class: add a class that subclasses HttpUser "
            "(or FastHttpUser) with at least one @task."
        )
    return names


def _check(spec: LoadSpec) -> None:
    opts = spec.locust
    if opts is None:
        raise UsageError("The locust engine needs a locustfile: pass --locustfile FILE.")
    if spec.rate is not None:
        raise UsageError(
            "--rate is the built-in engine's open loop; with --locustfile the users' own wait "
            "times set the pace: pass --concurrency (the number of users) instead."
        )
    if spec.stall_share > 0:
        raise UsageError(
            "--stall marks requests with the built-in engine; a locustfile's users send their "
            "own: leave out --locustfile, or --stall (tune: --no-stall-check)."
        )
    if spec.concurrency < 1:
        raise UsageError("Locust needs at least one user: pass --concurrency 1 or more.")
    if opts.processes < 0 or opts.expect_workers < 0 or opts.workers < 1:
        raise UsageError(
            "Locust needs at least one worker: pass --load-processes 1 or more, "
            "or --expect-workers."
        )
    if spec.duration_s <= 0 or spec.warmup_s < 0 or spec.tick_s <= 0:
        raise UsageError("Locust's window needs a duration above 0 s: pass --duration 1 or more.")
    if opts.master_host not in LOOPBACK and not opts.allow_remote:
        raise UsageError(
            f"Binding the Locust master to {opts.master_host} exposes it to that network (anyone "
            "who reaches it can join as a worker and download the locustfile): pass "
            "--allow-remote to agree, or bind to 127.0.0.1."
        )
    if opts.expect_workers and not opts.master_port:
        raise UsageError(
            "Workers started elsewhere need a known port: pass --master-bind HOST:PORT."
        )
    check_locustfile(opts.locustfile)


# -- the processes -----------------------------------------------------------------------------


def _child_env() -> dict[str, str]:
    """This environment without LOCUST_* settings, which would override what tunicorn asks."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclasses.dataclass
class _Child:
    name: str
    group: Group
    log: Path

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        assert self.group.proc is not None
        return self.group.proc

    def tail(self) -> str:
        try:
            return _last_line(self.log.read_text(errors="replace"))
        except OSError:
            return ""


class _Group:
    """The Locust processes of one run, each a `supervise.Group`; `stop` ends every one of
    them, whatever happened."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.children: list[_Child] = []

    def start(self, name: str, argv: list[str], *, env: dict[str, str], keep: int = -1) -> _Child:
        log = self.folder / f"{name}.log"
        group = Group(
            argv, log_path=log, env=env, pass_fds=(keep,) if keep >= 0 else (), log_mode="wb",
            grace_s=STOP_S,
        )  # fmt: skip
        child = _Child(name, group.start(), log)
        self.children.append(child)
        return child

    def stop(self) -> None:
        # The master first: it tells its workers to quit.
        stop_groups([child.group for child in self.children], STOP_S)


def _reader(stream: IO[str], out: queue.Queue[dict[str, Any] | None]) -> None:
    try:
        with stream:
            for line in stream:
                with contextlib.suppress(ValueError):
                    out.put(json.loads(line))
    finally:
        out.put(None)


def _run(
    spec: LoadSpec,
    on_tick: Callable[[Tick], None] | None,
    stop: threading.Event | None,
) -> LoadResult:
    opts = spec.locust
    assert opts is not None  # _check refused it otherwise
    host = opts.master_host
    port = opts.master_port or _free_port(host)
    opts = dataclasses.replace(opts, master_port=port)
    if opts.log_dir:
        folder = Path(opts.log_dir) / f"locust-{os.getpid()}-{port}-{time.monotonic_ns()}"
        folder.mkdir(parents=True, exist_ok=True)
    else:
        folder = Path(tempfile.mkdtemp(prefix="tunicorn-locust-"))
    files = f"{Path(opts.locustfile).resolve()},{PLUGIN}"
    env = _child_env()
    read_fd, write_fd = os.pipe()
    group = _Group(folder)
    reader: threading.Thread | None = None
    keep = bool(opts.log_dir)  # the user's folder; a temporary one only where an error names it
    try:
        master_env = dict(env, TUNICORN_LOCUST_FD=str(write_fd))
        run_s = int(opts.worker_wait_s + spec.warmup_s + spec.duration_s + 60)
        master = group.start(
            "master",
            [
                sys.executable, "-m", "locust", "-f", files, "--master", "--headless",
                "--master-bind-host", host, "--master-bind-port", str(port),
                "--expect-workers", str(opts.workers),
                "--expect-workers-max-wait", f"{opts.worker_wait_s + START_S:g}",
                "-u", str(spec.concurrency), "-r", str(spec.concurrency), "-t", f"{run_s}s",
                "--host", spec.url, "--only-summary", "--exit-code-on-error", "0",
                "--tunicorn-warmup", f"{spec.warmup_s:g}",
                "--tunicorn-duration", f"{spec.duration_s:g}",
                "--tunicorn-tick", f"{spec.tick_s:g}",
            ],
            env=master_env, keep=write_fd,
        )  # fmt: skip
        os.close(write_fd)
        write_fd = -1
        events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        stream = os.fdopen(read_fd, "r", encoding="utf-8")
        read_fd = -1
        reader = threading.Thread(target=_reader, args=(stream, events), daemon=True)
        reader.start()
        local_host = "127.0.0.1" if host in ("0.0.0.0", "localhost") else host
        local_host = "::1" if local_host == "::" else local_host
        for i in range(opts.processes):
            group.start(
                f"worker-{i + 1}",
                [
                    sys.executable, "-m", "locust", "-f", files, "--worker",
                    "--master-host", local_host, "--master-port", str(port),
                ],
                env=env,
            )  # fmt: skip
        return _follow(spec, opts, group, master, events, on_tick, stop)
    except UsageError as exc:
        exc.log_path = str(folder / "master.log")
        keep = True
        raise
    finally:
        group.stop()
        if reader is not None:
            reader.join(STOP_S)  # the pipe closed with the master: the reader closes its end
        for fd in (read_fd, write_fd):
            if fd >= 0:
                os.close(fd)
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def _follow(
    spec: LoadSpec,
    opts: LocustOptions,
    group: _Group,
    master: _Child,
    events: queue.Queue[dict[str, Any] | None],
    on_tick: Callable[[Tick], None] | None,
    stop: threading.Event | None,
) -> LoadResult:
    """Read the master's events until its result; every way out but the result is one error."""
    started = time.monotonic()
    connect_by = started + opts.worker_wait_s + (START_S if opts.processes else 0.0)
    window_by = float("inf")
    connected = 0
    spawned = False
    stopping = False
    timeline: list[Tick] = []
    while True:
        try:
            event = events.get(timeout=0.1)
        except queue.Empty:
            event = {}
        now = time.monotonic()
        if event is None:  # the master's pipe closed before its result
            raise UsageError(_died(master, connected, opts))
        kind = event.get("event")
        if kind == "worker":
            connected = int(event["connected"])
        elif kind == "foreign":
            raise UsageError(_foreign(opts))
        elif kind == "spawned":
            spawned = True
            window_by = now + spec.warmup_s + spec.duration_s + 30.0
        elif kind == "measuring" and on_tick is not None:  # the window opens: a tick at t = 0
            on_tick(Tick(t=0.0, requests=0, errors=0, p50_ms=0.0, p95_ms=0.0))
        elif kind == "tick":
            tick = Tick(
                t=event["t"], requests=event["requests"], errors=event["errors"],
                p50_ms=event["p50_ms"], p95_ms=event["p95_ms"],
            )  # fmt: skip
            timeline.append(tick)
            if on_tick is not None:
                on_tick(tick)
        elif kind == "result":
            return _result(spec, opts, event, timeline)
        checkpoint()  # Ctrl-C or SIGTERM: the window's figures would be thrown away
        if stop is not None and stop.is_set() and not stopping:
            stopping = True
            with contextlib.suppress(ProcessLookupError):
                os.kill(master.proc.pid, signal.SIGUSR1)  # the plugin ends the window now
        if not spawned:
            for child in group.children[1:]:
                if child.proc.poll() is not None:
                    raise UsageError(
                        f"A local Locust worker exited with status {child.proc.returncode} before "
                        f"the run began ({child.tail() or 'no output'}): check the locustfile."
                    )
            if now > connect_by:
                raise UsageError(_no_workers(connected, opts))
        elif now > window_by:
            raise UsageError(
                "The Locust master sent no figures after its window closed: see its log."
            )


def _no_workers(connected: int, opts: LocustOptions) -> str:
    if opts.expect_workers:
        return (
            f"Only {connected} of {opts.workers} Locust workers connected to "
            f"{opts.master_host}:{opts.master_port} within {opts.worker_wait_s:g} s: start each "
            f"with `{worker_command(opts)}`, or give them longer with --worker-wait."
        )
    return (
        f"Only {connected} of {opts.workers} local Locust workers connected to the master within "
        f"{opts.worker_wait_s + START_S:g} s: the machine may be too busy; retry with fewer "
        "--load-processes."
    )


def _foreign(opts: LocustOptions) -> str:
    at = f"{opts.master_host}:{opts.master_port}"
    if not opts.expect_workers:
        return (
            f"A Locust worker joined the master at {at} without tunicorn's plugin, so its users "
            "could not be measured: stop the Locust workers you started against this port."
        )
    return (
        f"A Locust worker joined {at} without tunicorn's plugin (started with its own "
        "`-f locustfile.py`?), so its users could not be measured: start each worker with "
        f"`{worker_command(opts)}`, which downloads the locustfile and the plugin from the master."
    )


def _unmeasured(opts: LocustOptions, data: dict[str, Any]) -> str:
    """Why the master's figures hold no measured user, or "" when they do."""
    sent, users = int(data["workers"]), int(data["users"])
    expected = int(data.get("expected", sent))
    if sent < expected:
        return (
            f"Only {sent} of {expected} Locust workers sent their measured window to the master "
            "(the others stopped or lost their connection during the run): see the workers' "
            "logs (--log-dir), and retry."
        )
    requests = int(data["total"]["ok"]) + int(data["failures"])
    if users == 0 and requests == 0:
        return (
            f"The {sent} Locust worker(s) ran no user in the measured window, so no request was "
            f"made: check that {Path(opts.locustfile).name}'s user classes can be spawned "
            "(weight or fixed_count above 0) and keep running (no StopUser or self.stop())."
        )
    return ""


def _died(master: _Child, connected: int, opts: LocustOptions) -> str:
    with contextlib.suppress(subprocess.TimeoutExpired):
        master.proc.wait(STOP_S)
    said = master.tail()
    if "Gave up waiting for workers" in said:
        return _no_workers(connected, opts)
    if "Address already in use" in said or "EADDRINUSE" in said:
        return (
            f"Port {opts.master_port} on {opts.master_host} is in use: pass another "
            "--master-bind HOST:PORT."
        )
    return (
        f"The Locust master exited with status {master.proc.returncode} before its figures "
        f"({said or 'no output'}): see its log."
    )


def _result(
    spec: LoadSpec, opts: LocustOptions, data: dict[str, Any], timeline: list[Tick]
) -> LoadResult:
    """Locust's merged figures as the same record the built-in engine returns; figures with no
    measured user are no result, and the error says why."""
    from tunicorn.load.wire import HIST_HIGHEST_US, HIST_LOWEST_US, new_histogram

    unmeasured = _unmeasured(opts, data)
    if unmeasured:
        raise UsageError(unmeasured)

    wall = float(data["wall_s"])
    total = data["total"]
    ok = int(total["ok"])
    failures = int(data["failures"])
    requests = ok + failures

    def latency(fig: dict[str, Any]) -> Latency:
        if not fig["ok"]:
            return Latency()
        return Latency(
            p50=fig["p50"], p90=fig["p90"], p95=fig["p95"], p99=fig["p99"],
            max=round(fig["max"], 3), mean=fig["mean"],
        )  # fmt: skip

    hist = new_histogram()
    for ms, count in data["times"]:
        us = int(float(ms) * 1000)
        hist.record_value(min(max(us, HIST_LOWEST_US), HIST_HIGHEST_US), int(count))
    kinds = {str(k): int(v) for k, v in data["kinds"].items()}
    missing = requests - ok - sum(kinds.values())
    if missing > 0:
        kinds["failure"] = kinds.get("failure", 0) + missing
    cpu = float(data["cpu_s"])
    busy = float(data["busy"])
    endpoints = tuple(
        Endpoint(
            method=e["method"], name=e["name"], requests=int(e["ok"]) + int(e["failures"]),
            failures=int(e["failures"]), latency_ms=latency(e),
            throughput_rps=round(int(e["ok"]) / wall, 2) if wall > 0 else 0.0,
        )  # fmt: skip
        for e in data["endpoints"]
    )
    return LoadResult(
        mode="closed",
        concurrency=spec.concurrency,
        rate=None,
        duration_s=round(wall, 3),
        requests=requests,
        ok=ok,
        errors_by_kind=kinds,
        latency_ms=latency(total),
        throughput_rps=round(ok / wall, 2) if wall > 0 else 0.0,
        client=ClientStats(
            cpu_seconds=round(cpu, 4),
            cpu_ms_per_request=round(cpu * 1000 / requests, 4) if requests else 0.0,
            busy_fraction=round(busy, 3),
            saturated=busy >= SATURATED_BUSY,
        ),
        status_counts={str(k): int(v) for k, v in sorted(data["status"].items())},
        timeline=tuple(timeline),
        histogram=hist.encode().decode("ascii"),
        load=LoadInfo(
            engine="locust", version=str(data["version"]),
            locustfile=Path(opts.locustfile).name, users=int(data["users"]),
            workers=int(data["workers"]),
            master=f"{opts.master_host}:{opts.master_port}" if opts.expect_workers else "",
            endpoints=endpoints,
        ),  # fmt: skip
    )


ENGINE = Engine(name="locust", run=_run, check=_check)
