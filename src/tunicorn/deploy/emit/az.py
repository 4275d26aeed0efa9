"""The same startup command set from a terminal or CI with the Azure CLI."""

from __future__ import annotations

from tunicorn.deploy.emit.interface import EmitSpec, Emitter


def render(spec: EmitSpec) -> str:
    # Double quotes around the command: it holds no double quote or $ of its own, and
    # the same line then works in bash, zsh and PowerShell.
    return (
        f"az webapp config set --resource-group {spec.resource_group} --name {spec.site_name} "
        f'--startup-file "{spec.command()}"\n'
    )


EMITTER = Emitter(name="az", filename="set-startup.sh", render=render)
