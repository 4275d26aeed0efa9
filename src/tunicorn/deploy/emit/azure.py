"""The App Service startup command: what to paste into Configuration → General settings.

App Service sends traffic to port 8000 when a custom command binds no port, so the
bind stays `0.0.0.0` exactly as Microsoft's own examples and the seed write it.
"""

from __future__ import annotations

from tunicorn.deploy.emit.interface import EmitSpec, Emitter


def render(spec: EmitSpec) -> str:
    return spec.command() + "\n"


EMITTER = Emitter(name="azure", filename="startup.txt", render=render)
