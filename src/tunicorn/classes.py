"""Gunicorn's worker classes, and the rule it applies to them silently.

Every stage asks these functions what really runs (sync with threads > 1 is gthread) and
which interface a class serves; `settings` re-exports them beside the declared options.
"""

from __future__ import annotations

from typing import Literal, get_args

WorkerClass = Literal["sync", "gthread", "gevent", "uvicorn"]
WORKER_CLASSES: tuple[WorkerClass, ...] = get_args(WorkerClass)
# What each interface can run: a WSGI app under a WSGI class, an ASGI app under uvicorn's.
WSGI_CLASSES: tuple[WorkerClass, ...] = ("sync", "gthread", "gevent")
ASGI_CLASSES: tuple[WorkerClass, ...] = ("uvicorn",)
# The class gunicorn loads for "uvicorn": the uvicorn-worker package's. uvicorn's own
# `uvicorn.workers` (the one Microsoft's FastAPI quickstart names) is deprecated since 0.30.
UVICORN_WORKER = "uvicorn_worker.UvicornWorker"
DEPRECATED_UVICORN_WORKER = "uvicorn.workers.UvicornWorker"
CLASS_PATHS: dict[str, str] = {"uvicorn": UVICORN_WORKER}
CLASS_ALIASES: dict[str, WorkerClass] = {
    UVICORN_WORKER: "uvicorn",
    DEPRECATED_UVICORN_WORKER: "uvicorn",
}


def class_named(name: str) -> tuple[WorkerClass, str]:
    """The worker class a name means (gunicorn's short names, or the uvicorn worker's class
    paths), and a note when the name is a deprecated one."""
    if name in CLASS_ALIASES:
        note = ""
        if name == DEPRECATED_UVICORN_WORKER:
            note = (
                f"{DEPRECATED_UVICORN_WORKER} is deprecated since uvicorn 0.30: the same worker "
                f"is now {UVICORN_WORKER} (pip install uvicorn-worker), which tunicorn runs and "
                "writes; use that in your startup command."
            )
        return CLASS_ALIASES[name], note
    for known in WORKER_CLASSES:
        if name == known:
            return known, ""
    raise ValueError(f"unknown worker class {name!r}")


def interface_of_class(worker_class: str) -> str:
    """ "asgi" for a class that serves ASGI apps (uvicorn's), "wsgi" for gunicorn's own."""
    return "asgi" if worker_class in ASGI_CLASSES or worker_class in CLASS_ALIASES else "wsgi"


def event_loop(worker_class: str) -> bool:
    """Classes that serve many requests per process on one loop (greenlets or asyncio): their
    concurrency is not threads, so only the number of workers is searched."""
    return worker_class in ("gevent", "uvicorn")


def running_class(worker_class: str, threads: int) -> str:
    """The worker class gunicorn really runs: `--threads N > 1` with sync becomes gthread,
    without a word in its log."""
    return "gthread" if worker_class == "sync" and threads > 1 else worker_class


def class_for_threads(threads: int) -> WorkerClass:
    """The class a thread count implies when none is named: sync for one, gthread for more."""
    return "gthread" if threads > 1 else "sync"


# gunicorn's own default worker timeout; App Service's startup script passes 600.
GUNICORN_TIMEOUT = 30
APP_SERVICE_TIMEOUT = 600
# App Service's front end drops a request after 230 s: a longer worker timeout only keeps a
# worker busy on an answer nobody receives, so what tunicorn writes uses this (and check agrees).
FRONTEND_TIMEOUT = 230
