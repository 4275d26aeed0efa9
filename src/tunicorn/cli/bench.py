"""`tunicorn bench`: one configuration under one load, measured."""

from __future__ import annotations

import dataclasses
from typing import cast
from urllib.parse import urlsplit

import click

from tunicorn import record, settings
from tunicorn.app.target import is_loopback, preflight, resolve, server_class
from tunicorn.cli import cli
from tunicorn.cli.options import (
    POSITIVE_FLOAT,
    announce,
    credentials_for_engine,
    demo_option,
    login_scenario,
    option,
    parse_paths,
    real_traffic,
)
from tunicorn.cli.tune import delays
from tunicorn.errors import UsageError
from tunicorn.launch import SERVERS, ServerName
from tunicorn.load import LoadSpec, engine_for, locust
from tunicorn.load.scenario import load_scenario, with_credentials
from tunicorn.machine import split_cores
from tunicorn.record import ServerConfig
from tunicorn.report import console, terminal
from tunicorn.report.progress import TickPrinter
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
    login, scenario = login_scenario(scenario)
    if sum(map(bool, (paths, scenario, locustfile, access_log, har))) > 1:
        raise UsageError(
            "Give one of --path, --scenario, --locustfile, --access-log and --har, not several."
        )
    credentials_for_engine(header, cookie, locustfile, login=bool(login))
    traffic = real_traffic(access_log, har)
    if traffic is not None:
        requests = traffic.requests
    else:
        requests = load_scenario(scenario) if scenario else parse_paths(paths)
    if tgt.is_url and upstream:
        raise UsageError(
            "--upstream sets the environment of a server tunicorn starts: give module:app, a "
            "folder or --demo, not the URL of a running server."
        )
    if tgt.is_url:
        parts = urlsplit(tgt.url)
        if not is_loopback(parts.hostname or "") and not allow_remote:
            raise UsageError(
                f"{parts.hostname} is not this machine: bench sends sustained load, so it only "
                "targets loopback unless you pass --allow-remote for a server you own "
                "(tunicorn probe sends a small, bounded number of requests instead)."
            )
        if not paths and not scenario and traffic is None:
            requests = parse_paths((parts.path or "/",))
        base = f"{parts.scheme}://{parts.netloc}"
        preflight(base + next(r for r in requests if not r.once).path)
    else:
        from tunicorn.app.target import check_import, server_ready

        tgt = check_import(tgt)
        announce(tgt)
        worker_class, notes = server_class(tgt, worker_class, threads, server_name)
        server_ready(worker_class, server_name)
        for note in notes:
            console.warn(note)
        base = ""
    requests = with_credentials(login + requests, header, cookie)
    default_c = settings.CONCURRENCY.default if rate is None else max(64, int(rate * 2))
    spec = LoadSpec(
        url=base,
        requests=requests,
        concurrency=concurrency or default_c,
        rate=rate,
        duration_s=duration_s,
        warmup_s=bench_warmup_s,
        timeout_s=request_timeout_s,
        keepalive=keepalive,
    )
    if locustfile:
        spec = spec.using(
            locust.options(
                locustfile, cpus=cpus, processes=load_processes, expect_workers=expect_workers,
                master_bind=master_bind, allow_remote=allow_remote, worker_wait_s=worker_wait_s,
                log_dir=log_dir,
            )  # fmt: skip
        )
        engine_for(spec.engine).check(spec)  # a bad locustfile or bind, before any server starts
    elif expect_workers or master_bind or load_processes:
        raise UsageError(
            "--load-processes, --expect-workers and --master-bind set up Locust: "
            "pass --locustfile FILE too."
        )
    if stall is not None:  # the app wrapped in the worker, an exact share of requests marked
        from tunicorn.decide import stall as stalls

        if tgt.is_url or server_name != "gunicorn":
            raise UsageError(
                "--stall wraps the app in gunicorn's workers, so it needs an app that tunicorn "
                "starts under gunicorn (not a URL, not --server uvicorn)."
            )
        if locustfile:
            raise UsageError("--stall works with the built-in engine: leave out --locustfile.")
        spec = stalls.load_spec(spec, stalls.parse(stall))
    config = ServerConfig(
        workers=workers, threads=threads, worker_class=worker_class or "sync", timeout=timeout
    )
    what = tgt.url if tgt.is_url else f"{tgt.app} with {config.effective().label}"
    if server_name == "uvicorn" and not tgt.is_url:
        what = f"{tgt.app} under uvicorn --workers {workers}"
    console.info(f"Loading {what}: {terminal.describe_load(spec)} …")
    if spec.locust is not None and spec.locust.expect_workers:
        console.info(
            f"The Locust master will wait up to {worker_wait_s:g} s for "
            f"{spec.locust.expect_workers} worker(s) started elsewhere; start each with:"
        )
        console.info(f"  {locust.worker_command(spec.locust)}")
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
    terminal.print_bench(result)
    if json_path:
        record.save(result, json_path)
        console.info(f"Wrote {json_path}")
    if html_path:  # --html: the report stage's page, written after the terminal summary
        from tunicorn.report import html

        html.write_bench(result, html_path)
        console.info(f"Wrote {html_path}")
    return 0
