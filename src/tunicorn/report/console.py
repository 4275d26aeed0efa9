"""One rich console for the whole tool: colour and live lines on a terminal,
plain text elsewhere."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.markup import escape

# stdout for results, stderr for progress and errors, so `tunicorn … > out.txt` stays clean.
stdout = Console(highlight=False, soft_wrap=False)
if not stdout.is_terminal:
    # Logs and CI: wide enough that tables do not fold, and no control codes.
    stdout = Console(highlight=False, soft_wrap=False, width=120, color_system=None)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def is_interactive() -> bool:
    return stderr.is_terminal


def error(message: str, *, log_path: str | None = None) -> None:
    stderr.print(f"[bold red]error:[/] {escape(message)}")
    if log_path:
        stderr.print(f"       server log: {escape(log_path)}")


def warn(message: str, *, to: Console | None = None) -> None:
    (to or stderr).print(f"[yellow]warning:[/] {escape(message)}")


def info(message: str) -> None:
    stderr.print(escape(message), style="dim" if stderr.is_terminal else None)


def plain_line(message: str) -> None:
    """A progress line for logs and CI, where there is no terminal to redraw."""
    print(message, file=sys.stderr, flush=True)
