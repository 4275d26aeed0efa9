"""`tunicorn report`: re-render a saved run (terminal summary, and HTML) without any load.

Each kind of record has one printer in `report.terminal` or `report.advice`, the same one its
live command calls, so a saved run prints exactly what the command printed when it ran.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import msgspec

from tunicorn import record, settings
from tunicorn.cli import cli
from tunicorn.cli.options import option
from tunicorn.errors import UsageError
from tunicorn.record import (
    BenchResult,
    CheckResult,
    ModelRecommendation,
    ProbeResult,
    Profile,
    TuneResult,
)
from tunicorn.report import advice, console, terminal

Run = BenchResult | TuneResult | ProbeResult | Profile | CheckResult | ModelRecommendation

KINDS: dict[str, type[Any]] = {
    "bench": BenchResult,
    "tune": TuneResult,
    "probe": ProbeResult,
    "profile": Profile,
    "check": CheckResult,
    "recommend": ModelRecommendation,
}
HTML_KINDS = ("bench", "tune", "probe")


def load_run(path: str) -> Run:
    """The saved record at `path`, or a UsageError that says in one sentence what is wrong."""
    file = Path(path)
    if not file.is_file():
        what = "is a folder" if file.is_dir() else "does not exist"
        raise UsageError(f"{path} {what}: pass the file written by --json.")
    try:
        kind = record.load_kind(file)
    except msgspec.DecodeError:
        raise UsageError(
            f"{path} is not JSON: pass the file written by tunicorn … --json."
        ) from None
    except ValueError:
        raise UsageError(
            f"{path} is JSON but not a tunicorn run (it has no 'kind'): "
            "pass the file written by --json."
        ) from None
    if kind not in KINDS:
        raise UsageError(
            f"{path} holds a '{kind}' run, which report cannot render yet "
            f"(it renders {', '.join(KINDS)})."
        )
    try:
        run: Run = record.from_json(file.read_bytes(), KINDS[kind])
    except msgspec.ValidationError as exc:
        raise UsageError(f"{path} is a damaged or incompatible {kind} run ({exc}).") from None
    return run


def print_run(run: Run) -> None:
    """The live command's own printer for this kind of record."""
    if isinstance(run, BenchResult):
        terminal.print_bench(run)
    elif isinstance(run, TuneResult):
        terminal.print_tune(run)
    elif isinstance(run, ProbeResult):
        advice.print_probe(run)
    elif isinstance(run, Profile):
        terminal.print_profile(run)
    elif isinstance(run, CheckResult):
        advice.print_check(run)
    else:
        advice.print_recommend(run)


def write_html(run: Run, path: str) -> None:
    from tunicorn.report import html

    if isinstance(run, BenchResult):
        html.write_bench(run, path)
    elif isinstance(run, TuneResult):
        html.write_tune(run, path)
    elif isinstance(run, ProbeResult):
        html.write_probe(run, path)
    else:  # report() refuses --html for the other kinds before printing anything
        raise AssertionError(run.kind)
    console.info(f"Wrote {path}")


@cli.command()
@click.argument("run", metavar="RUN.json", type=click.Path(dir_okay=False))
@option(settings.HTML, help="Also write a self-contained HTML report (works offline) to this "
        "file (bench, tune and probe runs).")  # fmt: skip
def report(run: str, html_path: str | None) -> int:
    """Print the summary of a saved run, and write its HTML report with --html.

    RUN.json is what bench, tune, probe, profile, check or recommend wrote with --json;
    nothing is run again.

    \b
    Examples:
      tunicorn report run.json
      tunicorn report run.json --html run.html
    """
    result = load_run(run)
    if html_path and result.kind not in HTML_KINDS:
        raise UsageError(
            f"There is no HTML report for a '{result.kind}' run (only for "
            f"{', '.join(HTML_KINDS)}): leave out --html."
        )
    print_run(result)
    if html_path:
        write_html(result, html_path)
    return 0
