"""The one interface every output format implements: an EmitSpec in, text out.

The spec is validated once, here, so that no format can write a configuration that
gunicorn would silently run differently (threads > 1 with sync runs as gthread).
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Callable

from tunicorn.classes import (
    ASGI_CLASSES,
    CLASS_ALIASES,
    CLASS_PATHS,
    FRONTEND_TIMEOUT,
    WORKER_CLASSES,
    WorkerClass,
    class_for_threads,
    class_named,
    event_loop,
)
from tunicorn.errors import UsageError

# The timeout written is the front end's limit (classes.FRONTEND_TIMEOUT, 230 s), not App
# Service's own 600: past 230 s the user already has an error, so `tunicorn check` warns.
DEFAULT_APP = "app:app"


@dataclasses.dataclass(frozen=True)
class EmitSpec:
    """One gunicorn configuration to write out, already in the form gunicorn really runs."""

    workers: int
    threads: int = 1
    worker_class: WorkerClass = "sync"
    app: str = DEFAULT_APP
    timeout: int = FRONTEND_TIMEOUT
    bind: str = "0.0.0.0"
    # The port is not fixed here: each format says how its platform passes it
    # (App Service: gunicorn's default 8000; Procfile: $PORT; Docker: ${PORT:-8000}).
    default_port: int = 8000
    python_version: str = "3.12"
    resource_group: str = "<resource-group>"
    site_name: str = "<app-name>"
    notes: tuple[str, ...] = ()

    def argv(self, *, bind: str | None = None) -> list[str]:
        """gunicorn's arguments, in the order of the seed's startup command."""
        args = ["gunicorn", f"--bind={bind or self.bind}", "--timeout", str(self.timeout)]
        args += ["--workers", str(self.workers)]
        if not event_loop(self.worker_class):  # gevent and uvicorn ignore --threads: do not
            args += ["--threads", str(self.threads)]  # suggest that it matters
        if self.worker_class != "sync":
            args += ["--worker-class", self.class_path]
        args.append(self.app)
        return args

    def command(self, *, bind: str | None = None) -> str:
        """The command as one shell line; the bind is left unquoted so $PORT can expand."""
        args = self.argv(bind=bind)
        quoted = [a if a.startswith("--bind=") else shlex.quote(a) for a in args]
        return " ".join(quoted)

    @property
    def label(self) -> str:
        if self.worker_class in ASGI_CLASSES:
            return f"{self.workers} uvicorn worker{'s' if self.workers != 1 else ''}"
        return f"{self.workers}×{self.threads} {self.worker_class}"

    @property
    def class_path(self) -> str:
        """What gunicorn's --worker-class takes: its own short names, the uvicorn worker's path."""
        return CLASS_PATHS.get(self.worker_class, self.worker_class)

    @property
    def is_asgi(self) -> bool:
        return self.worker_class in ASGI_CLASSES


@dataclasses.dataclass(frozen=True)
class Emitter:
    """One output format: the file it is usually saved as and how to write it."""

    name: str
    filename: str
    render: Callable[[EmitSpec], str]


def make_spec(
    workers: int,
    threads: int = 1,
    worker_class: str | None = None,
    *,
    app: str = DEFAULT_APP,
    timeout: int = FRONTEND_TIMEOUT,
) -> EmitSpec:
    """Validate what the user asked for and say what gunicorn will really run.

    A UsageError explains a combination gunicorn would misread; `notes` keeps the
    quieter corrections (sync with threads becomes gthread) for the CLI to print.
    """
    for name, value in (("workers", workers), ("threads", threads), ("timeout", timeout)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UsageError(f"--{name} must be a whole number of 1 or more (got {value!r}).")
    notes: list[str] = []
    kind: WorkerClass
    if worker_class is None:
        kind = class_for_threads(threads)
    elif worker_class == "sync":
        kind = "sync"
        if threads > 1:
            kind = "gthread"
            notes.append(
                f"--threads {threads} with the sync worker runs as gthread in gunicorn; "
                "written as --worker-class gthread so the command says what runs."
            )
    elif worker_class == "gthread":
        kind = "gthread"
        if threads == 1:
            notes.append(
                "gthread with 1 thread serves one request per worker, like sync, but keeps "
                "connections alive; raise --threads if requests wait on I/O."
            )
    elif worker_class == "gevent":
        kind = "gevent"
        if threads > 1:
            raise UsageError(
                f"gevent ignores --threads ({threads}): each gevent worker serves many requests "
                "as greenlets (up to worker_connections); drop --threads or use gthread."
            )
    elif worker_class in ASGI_CLASSES or worker_class in CLASS_ALIASES:
        kind, note = class_named(worker_class)
        if note:
            notes.append(note)
        if threads > 1:
            raise UsageError(
                f"The uvicorn worker ignores --threads ({threads}): each worker runs one event "
                "loop for every request that awaits; drop --threads and set --workers."
            )
    else:
        known = ", ".join(WORKER_CLASSES)
        raise UsageError(f"Unknown worker class {worker_class!r}: use one of {known}.")
    return EmitSpec(
        workers=workers,
        threads=threads,
        worker_class=kind,
        app=app,
        timeout=timeout,
        notes=tuple(notes),
    )
