"""The command line: parse, wire the stages together, print. No logic of its own.

One module per command in this package; each registers itself on `cli`.

It is the last stage: it may import every other package, and none imports it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import NoReturn

import click

from tunicorn import __version__, supervise
from tunicorn.errors import TunicornError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, prog_name="tunicorn")
def cli() -> None:
    """Find out why a Python web app is slow under concurrent users, and fix it by measurement.

    \b
    Quick start:
      tunicorn bench --demo --path /io --workers 1 --threads 1 --concurrency 18
      tunicorn bench --demo --path /io --workers 3 --threads 6 --concurrency 18
    """


def main(argv: Sequence[str] | None = None) -> NoReturn:
    from tunicorn.report import console as out

    # Ctrl-C and SIGTERM only ask for a stop: the running loop ends at a clean point, raises
    # supervise.Interrupted (a KeyboardInterrupt), and every `with` stops its process groups.
    code = 0
    try:
        with supervise.handling_signals():
            result = cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
            supervise.checkpoint()  # a stop asked for at the very end still says so
        code = result if isinstance(result, int) else 0
    except click.exceptions.Abort:
        out.error("Interrupted: every server tunicorn started has been stopped.")
        code = 130
    except KeyboardInterrupt:
        out.error("Interrupted: every server tunicorn started has been stopped.")
        code = 130
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except TunicornError as exc:
        out.error(str(exc), log_path=exc.log_path)
        code = exc.exit_code
    sys.exit(code)


# Each module adds its command to `cli` when imported.
from tunicorn.cli import bench as _bench  # noqa: E402,F401
from tunicorn.cli import check as _check  # noqa: E402,F401
from tunicorn.cli import emit as _emit  # noqa: E402,F401
from tunicorn.cli import plans as _plans  # noqa: E402,F401
from tunicorn.cli import probe as _probe  # noqa: E402,F401
from tunicorn.cli import recommend as _recommend  # noqa: E402,F401
from tunicorn.cli import report as _report  # noqa: E402,F401
from tunicorn.cli import tune as _tune  # noqa: E402,F401
