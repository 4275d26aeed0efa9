"""A Procfile line for platforms that pass the port in $PORT (Heroku, Dokku, Render…)."""

from __future__ import annotations

from tunicorn.deploy.emit.interface import EmitSpec, Emitter


def render(spec: EmitSpec) -> str:
    return f"web: {spec.command(bind=f'{spec.bind}:$PORT')}\n"


EMITTER = Emitter(name="procfile", filename="Procfile", render=render)
