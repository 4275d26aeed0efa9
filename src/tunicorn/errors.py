"""The errors a user can act on; the CLI prints their message as one sentence and exits."""

from __future__ import annotations


class TunicornError(Exception):
    """A problem the user can fix; `str(err)` says what is wrong and what to do."""

    exit_code = 2

    def __init__(self, message: str, *, log_path: str | None = None) -> None:
        super().__init__(message)
        self.log_path = log_path


class UsageError(TunicornError):
    """Bad command-line input or a target that cannot be used (exit 2)."""


class ServerError(TunicornError):
    """The server under test could not start or died (exit 2: nothing was measured)."""


class Interrupted(TunicornError):
    """Ctrl-C or SIGTERM: servers are stopped, nothing is left running (exit 130)."""

    exit_code = 130
