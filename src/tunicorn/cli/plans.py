"""`tunicorn plans`: the App Service plans tunicorn knows, as --plan takes them."""

from __future__ import annotations

from rich.table import Table

from tunicorn import plans
from tunicorn.cli import cli
from tunicorn.report import console as out


@cli.command("plans")
def plans_command() -> None:
    """List the App Service plans (vCPU and memory) that --plan accepts."""
    table = Table(title="Azure App Service plans (Linux)", title_justify="left")
    table.add_column("plan")
    table.add_column("tier")
    table.add_column("vCPU", justify="right")
    table.add_column("memory", justify="right")
    table.add_column("budget", justify="right")
    for plan in plans.catalog():
        table.add_row(
            plan.name, plan.tier, str(plan.vcpus), plan.memory_label, f"{plan.memory_mib:.0f} MiB"
        )
    out.stdout.print(table)
    out.stdout.print("Memory as Microsoft sells it; tunicorn reads it as GiB (1.75 GB = 1792 MiB).")
