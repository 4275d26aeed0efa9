"""`tunicorn probe`: how many requests a running server handles at once, from outside."""

from __future__ import annotations

from urllib.parse import urlsplit

import click
from rich.markup import escape
from rich.table import Table

from tunicorn import record
from tunicorn.cli import cli
from tunicorn.cli.options import POSITIVE_FLOAT, POSITIVE_INT
from tunicorn.errors import UsageError
from tunicorn.probe import DEFAULT_MAX_CONCURRENCY, REMOTE_BUDGET, probe
from tunicorn.record import ProbeResult, Wave
from tunicorn.report import console
from tunicorn.target import is_loopback


@cli.command(name="probe", context_settings={"show_default": True})
@click.argument("url")
@click.option("--path", "-p", default=None,
              help="Path to probe instead of the URL's own (a slow one works best).")  # fmt: skip
@click.option("--max-concurrency", "-n", type=POSITIVE_INT, default=DEFAULT_MAX_CONCURRENCY,
              help="Largest wave: requests sent at the same instant.")  # fmt: skip
@click.option("--timeout", type=POSITIVE_FLOAT, default=30.0,
              help="Seconds before a request counts as timed out.")  # fmt: skip
@click.option("--json", "json_path", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the result as JSON to this file.")  # fmt: skip
@click.option("--html", "html_path", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write an HTML report to this file.")  # fmt: skip
def probe_cmd(
    url: str,
    path: str | None,
    max_concurrency: int,
    timeout: float,
    json_path: str | None,
    html_path: str | None,
) -> int:
    """Send waves of 1, 2, 4, … requests at once to URL and infer how many it serves at once.

    Exit 0 with an answer (or with "no firm answer" when the endpoint is under 5 ms);
    exit 2 when nothing usable answers (refused, timed out, not HTTP, or only errors).

    \b
    Examples:
      tunicorn probe http://127.0.0.1:8000/io
      tunicorn probe https://myapp.azurewebsites.net --path /slow   (at most 200 requests)
    """
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"{url!r} is not a URL: give one like http://127.0.0.1:8000/io.")
    host = urlsplit(url).hostname or ""
    if host and not is_loopback(host):
        console.warn(
            f"{host} is not this machine: probe sends at most {REMOTE_BUDGET} requests in all."
        )
    from tunicorn.emit import make_spec

    command = make_spec(3, 6).command()
    shown = url if path is None else url.rstrip("/") + path
    console.info(f"Probing {shown}: waves of 1, 2, 4, … up to {max_concurrency} requests at once …")
    result = probe(
        url, path=path, max_concurrency=max_concurrency, timeout_s=timeout,
        more_slots_command=command, on_wave=_progress,
    )  # fmt: skip
    print_probe(result)
    if json_path:
        record.save(result, json_path)
        console.info(f"Wrote {json_path}")
    if html_path:
        _write_html(result, html_path)
    return 0


def _progress(wave: Wave) -> None:
    console.info(f"  {wave.concurrency} at once: {wave.wall_ms:.0f} ms")


def _write_html(result: ProbeResult, path: str) -> None:
    import importlib

    try:
        html = importlib.import_module("tunicorn.report.html")
    except ImportError:
        html = None
    write = getattr(html, "write_probe", None)
    if write is None:
        console.warn("The HTML report is not available in this version: skipped --html.")
        return
    write(result, path)
    console.info(f"Wrote {path}")


def print_probe(result: ProbeResult) -> None:
    out = console.stdout
    table = Table(title=f"Waves to {escape(result.url)}", title_justify="left")
    for name in ("at once", "wall ms", "req/s", "p50 ms", "max ms", "first round", "X·T", "errors"):
        table.add_column(name, justify="right")
    for w in result.waves:
        errors = sum(w.errors.values())
        table.add_row(
            str(w.concurrency), f"{w.wall_ms:.0f}", f"{w.throughput_rps:.1f}",
            f"{w.latency_ms.p50:.0f}", f"{w.latency_ms.max:.0f}", str(w.first_round),
            f"{w.busy_slots:.1f}", str(errors) if errors else "",
        )  # fmt: skip
    out.print(table)
    out.print(f"[bold]Effective concurrency:[/] {escape(result.verdict)}")
    if result.confidence and result.confidence != "none":
        spent = f"{result.requests} requests in {result.elapsed_s:.1f} s"
        out.print(f"  confidence: {result.confidence} ({spent})")
    out.print(f"[bold]Single request:[/] {result.single_latency_ms:.1f} ms")
    out.print(f"[bold]Server:[/] {escape(result.server or '(not named)')} — {escape(result.hint)}")
    out.print(f"[bold]Next:[/] {escape(result.next_step)}")
    for warning in result.warnings:
        console.warn(warning)
