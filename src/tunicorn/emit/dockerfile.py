"""A small Dockerfile that ends with the chosen gunicorn command.

The CMD uses the shell form with `exec` so ${PORT:-8000} expands (App Service for
containers and most hosts set PORT) and gunicorn still becomes PID 1, the process that
`docker stop`'s SIGTERM reaches, so workers finish their requests before the container goes.
"""

from __future__ import annotations

from tunicorn.emit.interface import EmitSpec, Emitter


def render(spec: EmitSpec) -> str:
    extra = {"gevent": " gevent", "uvicorn": " uvicorn-worker"}.get(spec.worker_class, "")
    packages = "gunicorn" + extra
    return f"""\
# Written by tunicorn: {spec.label} for {spec.app}.
FROM python:{spec.python_version}-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt {packages}
COPY . .
EXPOSE {spec.default_port}
CMD exec {spec.command(bind=f"{spec.bind}:${{PORT:-{spec.default_port}}}")}
"""


EMITTER = Emitter(name="dockerfile", filename="Dockerfile", render=render)
