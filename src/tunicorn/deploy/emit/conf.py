"""A gunicorn.conf.py whose comments say why each value is what it is.

App Service's default command reads gunicorn.conf.py from the app folder, so this file
changes workers and threads without a custom startup command (its `timeout` is
overridden there by the command line's 600; a startup command keeps it).
"""

from __future__ import annotations

from tunicorn.deploy.emit.interface import EmitSpec, Emitter

_CLASS_WHY = {
    "sync": "one request at a time per worker; concurrency comes from workers alone",
    "gthread": "threads > 1 need gthread; written out because gunicorn swaps silently",
    "gevent": "greenlets: many waiting requests per worker, if the app is gevent-safe",
    "uvicorn": "an ASGI app: one event loop per worker (the uvicorn-worker package)",
}


def render(spec: EmitSpec) -> str:
    lines = [
        f"# gunicorn.conf.py written by tunicorn: {spec.label}.",
        "# App Service reads this file from the app folder when no startup command is set.",
        "import os",
        "",
        f"wsgi_app = {spec.app!r}",
        "# PORT where the platform sets it; 8000 is what App Service sends traffic to.",
        f'bind = "{spec.bind}:" + os.environ.get("PORT", "{spec.default_port}")',
        "# Processes: each one runs Python on at most one core at a time (the GIL).",
        f"workers = {spec.workers}",
    ]
    if spec.worker_class not in ("gevent", "uvicorn"):
        lines += [
            "# Threads per worker: requests that wait on I/O release the GIL to the others.",
            f"threads = {spec.threads}",
        ]
    lines += [
        f"# {_CLASS_WHY[spec.worker_class]}",
        f"worker_class = {spec.class_path!r}",
        "# The front end drops a request after 230 s: a worker stuck longer is freed here.",
        f"timeout = {spec.timeout}",
        "# Logs to stdout/stderr, where App Service's log stream collects them.",
        'accesslog = "-"',
        'errorlog = "-"',
    ]
    return "\n".join(lines) + "\n"


EMITTER = Emitter(name="conf", filename="gunicorn.conf.py", render=render)
