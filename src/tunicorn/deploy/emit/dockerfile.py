"""A small Dockerfile that ends with the chosen gunicorn command.

The CMD uses the shell form with `exec` so ${PORT:-8000} expands (App Service for
containers and most hosts set PORT) and gunicorn still becomes PID 1, the process that
`docker stop`'s SIGTERM reaches, so workers finish their requests before the container goes.

Packages come from requirements.txt alone, as on App Service's own build: an image that
installed gevent on a pip line of its own would run where the same project on App Service
fails to boot, and its versions would be whatever pip picked that day. Instead the image
checks, while it is built, that requirements.txt gave it every package the CMD needs (the
versions tunicorn tested are in the comment; `tune --emit DIR` writes them into DIR's
requirements.txt), so a missing one fails `docker build` with its name, not the container's start.
"""

from __future__ import annotations

from tunicorn.deploy import packages
from tunicorn.deploy.emit.interface import EmitSpec, Emitter


def render(spec: EmitSpec) -> str:
    needs = packages.for_server("gunicorn", spec.worker_class)
    names = " ".join(n.name for n in needs)
    pins = " ".join(packages.pinned(n) for n in needs)
    return f"""\
# Written by tunicorn: {spec.label} for {spec.app}.
FROM python:{spec.python_version}-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
# The CMD needs {pins} (as tunicorn ran it) from requirements.txt.
RUN for p in {names}; do pip show "$p" > /dev/null \\
    || {{ echo "requirements.txt must list $p" >&2; exit 1; }}; done
COPY . .
EXPOSE {spec.default_port}
CMD exec {spec.command(bind=f"{spec.bind}:${{PORT:-{spec.default_port}}}")}
"""


EMITTER = Emitter(name="dockerfile", filename="Dockerfile", render=render)
