"""`tunicorn tune` and `tunicorn profile`: measure, search, recommend."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tunicorn import record, settings
from tunicorn.app.target import Target, check_import, resolve, server_ready
from tunicorn.cli import cli
from tunicorn.cli.options import announce, demo_option, machine, option, parse_paths
from tunicorn.errors import UsageError
from tunicorn.load import Request, locust
from tunicorn.machine import split_cores
from tunicorn.record import Machine, ServerConfig, Tick, Trial
from tunicorn.report import console, terminal
from tunicorn.run import given
from tunicorn.run import workload as workloads
from tunicorn.run.upstream import Upstreams
from tunicorn.run.upstream import running as upstreams_running
from tunicorn.run.workload import Built

if TYPE_CHECKING:
    from tunicorn.decide.tune import TuneEvents


def workload(
    target: Target, asked: given.Asked, log_dir: str | None
) -> tuple[Built, tuple[Request, ...]]:
    """What to load (the workload stage's `given.workload`), its record printed before any
    load starts; and the requests to send, logged in as asked."""
    built, requests = given.workload(target, asked, log_dir=log_dir, say=console.info)
    terminal.print_workload(built.workload, console.stderr)
    return built, requests


@contextlib.contextmanager
def delays(
    texts: tuple[str, ...], cores: tuple[int, ...], log_dir: str | None
) -> Iterator[Upstreams]:
    """--upstream's proxies, on the load generator's `cores`, for as long as the servers run."""
    with upstreams_running(texts, cpus=cores, log_dir=log_dir) as added:
        if added.endpoints:
            console.info(added.describe())
        yield added


def runnable(target: str | None, demo: str | None, refusal: str) -> Target:
    """The app tunicorn is to start (a URL is refused with `refusal`), once imported: what it
    is (WSGI or ASGI, which was found), and the servers it needs installed."""
    tgt = resolve(target, demo=demo or False)
    if tgt.is_url:
        raise UsageError(refusal)
    tgt = check_import(tgt)
    announce(tgt)
    if tgt.is_asgi:
        server_ready("uvicorn")
    return tgt


class TrialPrinter:
    """Prints one line per trial and a live line for the load inside it."""

    def __init__(self) -> None:
        self.current = ""
        from tunicorn.report.progress import LiveLine

        self.line = LiveLine()

    def events(self) -> TuneEvents:
        """The tuner's events, each said by this printer."""
        from tunicorn.decide.tune import TuneEvents

        return TuneEvents(
            say=self.say, trial_start=self.trial_start, trial_done=self.trial_done,
            tick=self.tick,
        )  # fmt: skip

    def say(self, message: str) -> None:
        self.line.show(message)

    def trial_start(self, config: ServerConfig, source: str, n: int) -> None:
        self.current = f"trial {n:>2}  {config.label:<16} ({source})"
        self.line.show(self.current + "  starting…")

    def tick(self, tick: Tick) -> None:
        if tick.t == 0.0:  # a window opening (Locust's): nothing counted yet
            return
        self.line.show(
            f"{self.current}  {tick.requests} requests  p95 {tick.p95_ms:.0f} ms  "
            f"errors {tick.errors}"
        )

    def trial_done(self, trial: Trial) -> None:
        self.line.clear()
        console.stderr.print(terminal.trial_line(trial, self.current))


@cli.command(context_settings={"show_default": True})
@click.argument("target", required=False)
@demo_option("Tune the bundled demo app (--demo fastapi: its ASGI twin).")
@option(settings.PLAN, default=None)
@option(settings.CPUS)
@option(settings.MEMORY)
@option(settings.SLO_P95)
@option(settings.BUDGET)
@option(settings.PATHS, shown="every GET route")
@option(settings.SCENARIO)
@option(settings.ACCESS_LOG)
@option(settings.HAR)
@option(settings.HEADER)
@option(settings.COOKIE)
@option(settings.CRAWL)
@option(settings.KEEPALIVE)
@option(settings.LOCUSTFILE)
@option(settings.LOAD_PROCESSES)
@option(settings.GEVENT)
@option(settings.SINGLE_SLOT)
@option(settings.BOTH_MODELS)
@option(settings.UPSTREAM)
@option(settings.STALL)
@option(settings.STALL_CHECK)
@option(settings.EXPECTED_RPS)
@option(settings.JSON, help="Write the whole run (every trial, the profile, the pick) as JSON "
        "to this file (report reads it again).")  # fmt: skip
@option(settings.HTML)
@click.option("--emit", "emit_dir", type=click.Path(file_okay=False), default=None,
              help="Write gunicorn.conf.py, startup.txt and, where the pick needs more "
              "packages, an amended requirements.txt into this folder.")  # fmt: skip
@option(settings.LOG_DIR)
def tune(
    target: str | None,
    demo: str | None,
    plan: str | None,
    cpus: int | None,
    memory_mib: float | None,
    slo_p95_ms: float | None,
    budget_s: float | None,
    paths: tuple[str, ...],
    scenario: str | None,
    access_log: str | None,
    har: str | None,
    header: tuple[str, ...],
    cookie: tuple[str, ...],
    crawl: int | None,
    keepalive: bool,
    locustfile: str | None,
    load_processes: int | None,
    gevent: bool | None,
    single_slot: bool,
    both_models: bool,
    upstream: tuple[str, ...],
    stall: str,
    stall_check: bool,
    expected_rps: float | None,
    json_path: str | None,
    html_path: str | None,
    emit_dir: str | None,
    log_dir: str | None,
) -> int:
    """Find the workers × threads × worker class with the most capacity within the latency
    target and the plan's memory, measured under real gunicorn and real HTTP load.

    \b
    Examples:
      tunicorn tune --demo
      tunicorn tune app:app --plan B2 --slo-p95 300 --json run.json --html run.html
      tunicorn tune . --cpus 2 --memory 3.5GB --emit deploy/
      tunicorn tune app:app --stall 2%:5s --expected-rps 40
    """
    from tunicorn.decide import stall as stalls
    from tunicorn.decide.tune import TuneSettings
    from tunicorn.decide.tune import tune as run_tune

    here = _machine(plan, cpus, memory_mib)
    injected = stalls.parse(stall)  # a bad --stall is refused before anything starts
    if locustfile and stall_check and (stall != settings.STALL.default or expected_rps):
        raise UsageError(
            "--stall and --expected-rps run with the built-in engine: leave out --locustfile, "
            "or them."
        )
    tgt = runnable(
        target, demo,
        "tune starts the app itself: give module:app, a folder or --demo (bench and probe "
        "take URLs).",
    )  # fmt: skip
    load = given.Asked(
        paths=parse_paths(paths) if paths else (), scenario=scenario, locustfile=locustfile,
        access_log=access_log, har=har, header=header, cookie=cookie, crawl=crawl,
    )  # fmt: skip
    built, requests = workload(tgt, load, log_dir)
    users = locust.options(
        locustfile, cpus=here.cpus, processes=load_processes, log_dir=log_dir
    )
    asked = TuneSettings(
        machine=here, slo_p95_ms=slo_p95_ms, budget_s=budget_s,
        gevent=gevent, keepalive=keepalive, single_slot=single_slot,
        both_models=both_models, locust=users, stall=injected, stall_check=stall_check,
        expected_rps=expected_rps,
    )  # fmt: skip
    printer = TrialPrinter()
    console.info(
        f"Tuning {tgt.app} for "
        + (here.plan or f"{here.cpus} cores, {here.memory_mib:.0f} MiB")
        + " within "
        + (f"{budget_s:g} s at most" if budget_s else "a budget derived from the profile")
        + ", workload: "
        + (f"the users of {locustfile}" if locustfile
           else f"the {len(built.requests)} route(s) above")  # fmt: skip
    )
    with delays(upstream, here.cores.client, log_dir) as added:
        try:
            result = run_tune(
                added.apply(tgt), requests, asked, events=printer.events(), log_dir=log_dir
            )
        finally:
            printer.line.clear()
    result = _finished(result, built, added, tgt)
    terminal.print_tune(result)
    if json_path:
        record.save(result, json_path)
        console.info(f"Wrote {json_path}")
    if html_path:
        _write_html(result, html_path)
    if emit_dir and result.recommendation:
        _emit(result, Path(emit_dir), _project(tgt))
    return 0 if result.recommendation else 1


def _machine(plan: str | None, cpus: int | None, memory_mib: float | None) -> Machine:
    """The machine to tune for: --plan, --cpus with --memory, else B1, said as such."""
    here = machine(plan, cpus, memory_mib, default=settings.PLAN.default)
    if not (plan or cpus or memory_mib):
        console.info(
            f"No --plan given: tuning for {here.plan} ({here.cpus} vCPU, "
            f"{here.memory_mib / 1024:g} GB), "
            "App Service's usual starting plan."
        )
    return here


def _project(target: Target) -> Path | None:
    """The project folder the app was found in (its requirements, its code), if any."""
    return Path(target.chdir) if target.chdir else None


def _finished(
    result: record.TuneResult, built: Built, added: Upstreams, target: Target
) -> record.TuneResult:
    """The tune's record with what the CLI knows beside it: the upstream delays, each route's
    measured CPU and wait, the commands to deploy, the packages the pick needs, and check's
    findings on the code."""
    from tunicorn.deploy.check import with_code_warnings
    from tunicorn.deploy.emit import with_commands, with_packages

    result = dataclasses.replace(
        result,
        upstream=added.records(),
        workload=workloads.with_profile(built.workload, result.profile),
    )
    result = with_commands(result)
    result = with_packages(result, _project(target))
    return with_code_warnings(result, target.chdir)


def _write_html(result: record.TuneResult, path: str) -> None:
    from tunicorn.report import html

    html.write_tune(result, path)
    console.info(f"Wrote {path}")


def _emit(result: record.TuneResult, folder: Path, project: Path | None) -> None:
    from tunicorn.deploy.emit import folder as emitted

    rec = result.recommendation
    assert rec is not None
    written, note = emitted.write(rec, folder, project)
    console.info(f"Wrote {', '.join(str(p) for p in written)}")
    if note:
        console.info(note)
    if project is not None:
        console.info(f"Before you deploy: tunicorn check {folder} --rehearse")


@cli.command(context_settings={"show_default": True})
@click.argument("target", required=False)
@demo_option("Profile the bundled demo app (--demo fastapi: its ASGI twin).")
@option(settings.PATHS, shown="every GET route")
@option(settings.SCENARIO)
@option(settings.ACCESS_LOG)
@option(settings.HAR)
@option(settings.HEADER)
@option(settings.COOKIE)
@option(settings.CRAWL)
@option(settings.LOCUSTFILE)
@option(settings.LOAD_PROCESSES)
@option(settings.UPSTREAM)
@option(settings.SERVER_CPUS)
@option(settings.JSON)
@option(settings.LOG_DIR)
def profile(
    target: str | None,
    demo: str | None,
    paths: tuple[str, ...],
    scenario: str | None,
    access_log: str | None,
    har: str | None,
    header: tuple[str, ...],
    cookie: tuple[str, ...],
    crawl: int | None,
    locustfile: str | None,
    load_processes: int | None,
    upstream: tuple[str, ...],
    cpus: int | None,
    json_path: str | None,
    log_dir: str | None,
) -> int:
    """Where each request's time goes (CPU vs waiting) and what workers and threads cost in
    memory."""
    from tunicorn.report.progress import LiveLine
    from tunicorn.run.profile import profile as run_profile

    tgt = runnable(
        target, demo, "profile starts the app itself: give module:app, a folder or --demo."
    )
    load = given.Asked(
        paths=parse_paths(paths) if paths else (), scenario=scenario, locustfile=locustfile,
        access_log=access_log, har=har, header=header, cookie=cookie, crawl=crawl,
    )  # fmt: skip
    built, requests = workload(tgt, load, log_dir)
    users = locust.options(locustfile, cpus=cpus, processes=load_processes, log_dir=log_dir)
    line = LiveLine()
    cores = split_cores(cpus or 1)
    with delays(upstream, cores.client, log_dir) as added:
        try:
            result = run_profile(
                added.apply(tgt), requests, cores=cores, log_dir=log_dir, say=line.show,
                locust=users,
            )  # fmt: skip
        finally:
            line.clear()
    result = dataclasses.replace(
        result, upstream=added.records(), workload=workloads.with_profile(built.workload, result)
    )
    terminal.print_profile(result)
    if json_path:
        record.save(result, json_path)
        console.info(f"Wrote {json_path}")
    return 0
