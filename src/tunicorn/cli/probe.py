"""`tunicorn probe`: how many requests a running server handles at once, from outside."""

from __future__ import annotations

from urllib.parse import urlsplit

import click

from tunicorn import record, settings
from tunicorn.app.target import is_loopback
from tunicorn.cli import cli
from tunicorn.cli.options import POSITIVE_FLOAT, POSITIVE_INT, option
from tunicorn.errors import UsageError
from tunicorn.report import advice, console
from tunicorn.report.progress import wave_done
from tunicorn.run.probe import DEFAULT_MAX_CONCURRENCY, REMOTE_BUDGET, probe


@cli.command(name="probe", context_settings={"show_default": True})
@click.argument("url")
@option(settings.PROBE_PATH)
@click.option("--max-concurrency", "-n", type=POSITIVE_INT, default=DEFAULT_MAX_CONCURRENCY,
              help="Largest wave: requests sent at the same instant.")  # fmt: skip
@click.option("--expect", type=POSITIVE_INT, default=None, metavar="N",
              help="A check for CI after a deploy: exit 1 unless the server serves at least N "
              "requests at once (and when the probe cannot show it).")  # fmt: skip
@click.option("--timeout", type=POSITIVE_FLOAT, default=30.0,
              help="Seconds before a request counts as timed out.")  # fmt: skip
@option(settings.JSON)
@option(settings.HTML)
def probe_cmd(
    url: str,
    path: str | None,
    max_concurrency: int,
    expect: int | None,
    timeout: float,
    json_path: str | None,
    html_path: str | None,
) -> int:
    """Send waves of 1, 2, 4, … requests at once to URL and infer how many it serves at once.

    A page under 5 ms is too fast for rounds: the probe then compares rounds of one request
    alone with waves of 2 (or N) at once, and says how sure it is.

    Exit 0 with an answer (or with "no firm answer"); with --expect N, exit 0 only when the
    server serves at least N at once, 1 when it serves fewer or the probe cannot show it;
    exit 2 when nothing usable answers (refused, timed out, not HTTP, or only errors).

    \b
    Examples:
      tunicorn probe http://127.0.0.1:8000/io
      tunicorn probe https://myapp.azurewebsites.net --path /slow   (at most 200 requests)
      tunicorn probe https://myapp.azurewebsites.net --expect 4      (a post-deploy check)
    """
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"{url!r} is not a URL: give one like http://127.0.0.1:8000/io.")
    host = urlsplit(url).hostname or ""
    if host and not is_loopback(host):
        console.warn(
            f"{host} is not this machine: probe sends at most {REMOTE_BUDGET} requests in all."
        )
    from tunicorn.deploy.emit import make_spec

    command = make_spec(3, 6).command()
    shown = url if path is None else url.rstrip("/") + path
    console.info(f"Probing {shown}: waves of 1, 2, 4, … up to {max_concurrency} requests at once …")
    result = probe(
        url, path=path, max_concurrency=max_concurrency, timeout_s=timeout,
        more_slots_command=command, on_wave=wave_done, expect=expect,
    )  # fmt: skip
    advice.print_probe(result)
    if json_path:
        record.save(result, json_path)
        console.info(f"Wrote {json_path}")
    if html_path:
        from tunicorn.report import html  # plotly loads only when a page is asked for

        html.write_probe(result, html_path)
        console.info(f"Wrote {html_path}")
    if expect is None:
        return 0
    return 0 if result.meets_expectation else 1
