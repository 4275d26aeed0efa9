"""The App Service plans catalog (data/plans.toml): cores and memory of each plan."""

from __future__ import annotations

import dataclasses
import sys
from functools import cache
from importlib import resources

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from tunicorn.errors import UsageError


@dataclasses.dataclass(frozen=True)
class Plan:
    name: str
    tier: str
    vcpus: int
    memory_gb: float

    @property
    def memory_mib(self) -> float:
        """The plan's memory in MiB, reading Microsoft's "GB" as GiB (1.75 GB → 1792 MiB).

        Microsoft's plan docs state Premium v3 memory in GiB ("P0v3 (1 vCPU, 4 GiB)"), Azure
        VM sizes are GiB throughout, and 1.75 is the classic 1.75 GiB small-VM size; the
        portal's "1.75 GB" is the same figure with a looser unit. The difference (7%) is well
        inside the headroom the recommendation keeps.
        """
        return self.memory_gb * 1024.0

    @property
    def memory_label(self) -> str:
        """The memory as Microsoft writes it, e.g. "1.75 GB"."""
        return f"{self.memory_gb:g} GB"


@cache
def catalog() -> tuple[Plan, ...]:
    text = resources.files("tunicorn.data").joinpath("plans.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return tuple(
        Plan(name=name, tier=str(v["tier"]), vcpus=int(v["vcpus"]), memory_gb=float(v["memory_gb"]))
        for name, v in data.items()
    )


def get(name: str) -> Plan:
    """The plan called `name` (case-insensitive), or a UsageError listing the known ones."""
    for plan in catalog():
        if plan.name.lower() == name.strip().lower():
            return plan
    known = ", ".join(p.name for p in catalog())
    raise UsageError(f"Unknown plan {name!r}: use one of {known} (tunicorn plans lists them).")
