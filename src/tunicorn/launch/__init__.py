"""The launch stage: one server process group for one configuration, behind one interface.

`Server` is the runner every program shares (socket, process group, readiness deadline,
stop); a `ServerProgram` says what to run and how to read it. `program(name)` maps the
user's choice to its module with `assert_never`, so a server added to `ServerName` without
an implementation is a type error, not a silent fallthrough.

It may import the shared modules (settings, errors, record, supervise, …) and `tunicorn.app`;
never `load` or a later stage.
"""

from __future__ import annotations

from typing import Literal, get_args

from tunicorn._typing import assert_never
from tunicorn.launch import gunicorn, uvicorn
from tunicorn.launch.interface import ExitReason, ServerProgram, answers_http
from tunicorn.launch.server import READY_TIMEOUT_S, STOP_GRACE_S, Server, bind_socket
from tunicorn.supervise import stop_all

ServerName = Literal["gunicorn", "uvicorn"]
SERVERS: tuple[ServerName, ...] = get_args(ServerName)

__all__ = [
    "READY_TIMEOUT_S",
    "SERVERS",
    "STOP_GRACE_S",
    "ExitReason",
    "Server",
    "ServerName",
    "ServerProgram",
    "answers_http",
    "bind_socket",
    "program",
    "stop_all",
]


def program(name: ServerName) -> ServerProgram:
    """The implementation of one server program."""
    if name == "gunicorn":
        return gunicorn.PROGRAM
    elif name == "uvicorn":
        return uvicorn.PROGRAM
    else:
        assert_never(name)
