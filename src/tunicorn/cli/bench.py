"""`tunicorn bench`: one configuration under one load, measured."""

from __future__ import annotations

import dataclasses
from typing import cast
from urllib.parse import urlsplit

import click

from tunicorn import record, settings
from tunicorn.app.target import (
    Target,
    check_import,
    check_url,
    preflight,
    resolve,
    server_class,
    server_ready,
)
from tunicorn.cli import cli
from tunicorn.cli.options import POSITIVE_FLOAT, announce, demo_option, option, parse_paths
from tunicorn.cli.tune import delays
from tunicorn.errors import UsageError
from tunicorn.launch import SERVERS, ServerName
from tunicorn.load import LoadSpec, engine_for, locust
from tunicorn.load.scenario import clients
from tunicorn.machine import split_cores
from tunicorn.record import ServerConfig
from tunicorn.report import console, terminal
from tunicorn.report.progress import TickPrinter
from tunicorn.run import given
from tunicorn.run.measure import measure, measure_url


@cli.command(context_settings={"show_default": True})
@click.argument("target", required=False)
@demo_option("Run the bundled demo app (the seed's slow Flask app; --demo fastapi: its ASGI twin).")
@option(settings.WORKERS)
@option(settings.THREADS)
@option(settings.WORKER_CLASS, default=None, shown="sync; uvicorn for an ASGI app")
@click.option("--server", "server_name", type=click.Choice(SERVERS), default="gunicorn",
              show_default=True,
              help="What runs the app: gunicorn, or uvicorn on its own (--workers N, ASGI "
              "apps).")  # fmt: skip
@option(settings.TIMEOUT)
@option(settings.CONCURRENCY, default=None)
@click.option("--rate", "-r", type=POSITIVE_FLOAT, default=None,
              help="Open loop: requests per second, whatever the server does (latency counts "
              "from when each was due).")  # fmt: skip
@option(settings.DURATION)
@option(settings.BENCH_WARMUP)
@option(settings.PATHS, shown="the URL's path, or /")
@option(settings.SCENARIO)
@option(settings.ACCESS_LOG)
@option(settings.HAR)
@option(settings.HEADER)
@option(settings.COOKIE)
@option(settings.KEEPALIVE)
@option(settings.LOCUSTFILE)
@option(settings.LOAD_PROCESSES)
@option(settings.EXPECT_WORKERS)
@option(settings.MASTER_BIND)
@option(settings.WORKER_WAIT)
@option(settings.SERVER_CPUS)
@option(settings.REQUEST_TIMEOUT)
@option(settings.UPSTREAM)
@option(settings.STALL, default=None)
@option(settings.JSON)
@option(settings.HTML)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    help="Port for gunicorn on 127.0.0.1 (0: a free one).",
)
@option(settings.LOG_DIR)
@click.option("--allow-remote", is_flag=True,
              help="Allow load on a URL that is not loopback "
              "(only on servers you own).")  # fmt: skip
def bench(
    target: str | None,
    demo: str | None,
    workers: int,
    threads: int,
    worker_class: str | None,
    server_name: str,
    timeout: int,
    concurrency: int | None,
    rate: float | None,
    duration_s: float,
    bench_warmup_s: float,
    paths: tuple[str, ...],
    scenario: str | None,
    access_log: str | None,
    har: str | None,
    header: tuple[str, ...],
    cookie: tuple[str, ...],
    keepalive: bool,
    locustfile: str | None,
    load_processes: int | None,
    expect_workers: int | None,
    master_bind: str | None,
    worker_wait_s: float,
    cpus: int | None,
    request_timeout_s: float,
    upstream: tuple[str, ...],
    stall: str | None,
    json_path: str | None,
    html_path: str | None,
    port: int,
    log_dir: str | None,
    allow_remote: bool,
) -> int:
    """Run TARGET under gunicorn with one configuration, load it, and measure it.

    TARGET is module:app (as gunicorn takes it), a project folder, --demo, or the URL of a
    server that is already running (then nothing is launched). An ASGI app (FastAPI,
    Starlette, Django's asgi.py) runs under gunicorn with uvicorn_worker.UvicornWorker.

    \b
    Examples:
      tunicorn bench --demo --path /io --workers 1 --threads 1 --concurrency 18
      tunicorn bench app:app --workers 3 --threads 6 --rate 50 --duration 20
      tunicorn bench --demo fastapi --path /blocking --concurrency 18
      tunicorn bench main:app --server uvicorn --workers 2
      tunicorn bench http://127.0.0.1:8000/ --concurrency 8 --duration 5
      tunicorn bench app:app --locustfile locustfile.py --concurrency 20 --load-processes 2
      tunicorn bench --demo --path /fast --workers 2 --rate 20 --stall 5%:2s
    """
    tgt = resolve(target, demo=demo or False)
    check_url(tgt, allow_remote=allow_remote, upstream=bool(upstream))
    asked = given.Asked(
        paths=parse_paths(paths) if paths else (), scenario=scenario, locustfile=locustfile,
        access_log=access_log, har=har, header=header, cookie=cookie,
    )  # fmt: skip
    url_path = (urlsplit(tgt.url).path or "/",) if tgt.is_url else ()
    default = parse_paths(url_path)  # the URL's own path, else GET /
    requests = given.requests(asked, default=default, say=console.info)
    if tgt.is_url:
        parts = urlsplit(tgt.url)
        base = f"{parts.scheme}://{parts.netloc}"
        preflight(base + next(r for r in requests if not r.once).path)
    else:
        tgt, worker_class = _startable(tgt, worker_class, threads, server_name)
        base = ""
    spec = LoadSpec(
        url=base,
        requests=requests,
        concurrency=clients(concurrency, rate),
        rate=rate,
        duration_s=duration_s,
        warmup_s=bench_warmup_s,
        timeout_s=request_timeout_s,
        keepalive=keepalive,
    )
    spec = spec.using(
        locust.options(
            locustfile, cpus=cpus, processes=load_processes, expect_workers=expect_workers,
            master_bind=master_bind, allow_remote=allow_remote, worker_wait_s=worker_wait_s,
            log_dir=log_dir,
        )  # fmt: skip
    )
    if spec.locust is not None:
        engine_for(spec.engine).check(spec)  # a bad locustfile or bind, before any server starts
    if stall is not None:  # the app wrapped in the worker, an exact share of requests marked
        spec = _stalled(spec, stall, tgt, server_name)
    config = ServerConfig(
        workers=workers, threads=threads, worker_class=worker_class or "sync", timeout=timeout
    )
    _announce_load(tgt, config, spec, server_name)
    result = _measured(
        tgt, config, spec, upstream=upstream, cpus=cpus, log_dir=log_dir, port=port,
        server_name=server_name,
    )  # fmt: skip
    terminal.print_bench(result)
    _write(result, json_path, html_path)
    return 0


def _measured(
    tgt: Target,
    config: ServerConfig,
    spec: LoadSpec,
    *,
    upstream: tuple[str, ...],
    cpus: int | None,
    log_dir: str | None,
    port: int,
    server_name: str,
) -> record.BenchResult:
    """The run itself, a live line of progress beside it: the running server at the URL, or
    the app started with `config` (wrapped for --stall, behind --upstream's proxies)."""
    load_cores = split_cores(cpus).client  # where --upstream's proxies run
    with delays(upstream, load_cores, log_dir) as added, TickPrinter(spec) as progress:
        if tgt.is_url:
            result = measure_url(tgt, spec, on_tick=progress.tick)
        else:
            served = tgt
            if spec.stall_share > 0:
                from tunicorn.decide.stall import wrapped

                served = wrapped(tgt)
            result = measure(
                added.apply(served), config, spec, cpus=cpus, log_dir=log_dir,
                on_tick=progress.tick, on_ready=progress.ready, port=port,
                server_name=cast(ServerName, server_name),
            )  # fmt: skip
    if added.endpoints:
        result = dataclasses.replace(result, upstream=added.records())
    return result


def _startable(
    tgt: Target, worker_class: str | None, threads: int, server_name: str
) -> tuple[Target, str]:
    """An app tunicorn starts: imported (which was found said), the worker class it runs under
    and that class's server installed, with the notes on the class said."""
    tgt = check_import(tgt)
    announce(tgt)
    chosen, notes = server_class(tgt, worker_class, threads, server_name)
    server_ready(chosen, server_name)
    for note in notes:
        console.warn(note)
    return tgt, chosen


def _stalled(spec: LoadSpec, stall: str, tgt: Target, server_name: str) -> LoadSpec:
    """--stall: the load marks an exact share of requests for the wrapper in gunicorn's
    workers to hold, which needs gunicorn and the built-in engine."""
    from tunicorn.decide import stall as stalls

    if tgt.is_url or server_name != "gunicorn":
        raise UsageError(
            "--stall wraps the app in gunicorn's workers, so it needs an app that tunicorn "
            "starts under gunicorn (not a URL, not --server uvicorn)."
        )
    if spec.locust is not None:
        raise UsageError("--stall works with the built-in engine: leave out --locustfile.")
    return stalls.load_spec(spec, stalls.parse(stall))


def _announce_load(tgt: Target, config: ServerConfig, spec: LoadSpec, server_name: str) -> None:
    """What is about to be loaded and how; with workers elsewhere, the command to start each."""
    what = tgt.url if tgt.is_url else f"{tgt.app} with {config.effective().label}"
    if server_name == "uvicorn" and not tgt.is_url:
        what = f"{tgt.app} under uvicorn --workers {config.workers}"
    console.info(f"Loading {what}: {terminal.describe_load(spec)} …")
    if spec.locust is not None and spec.locust.expect_workers:
        console.info(
            f"The Locust master will wait up to {spec.locust.worker_wait_s:g} s for "
            f"{spec.locust.expect_workers} worker(s) started elsewhere; start each with:"
        )
        console.info(f"  {locust.worker_command(spec.locust)}")


def _write(result: record.BenchResult, json_path: str | None, html_path: str | None) -> None:
    """--json and --html, written after the terminal summary."""
    if json_path:
        record.save(result, json_path)
        console.info(f"Wrote {json_path}")
    if html_path:  # the report stage's page
        from tunicorn.report import html

        html.write_bench(result, html_path)
        console.info(f"Wrote {html_path}")
