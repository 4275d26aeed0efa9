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
        # Plans are sold in GB (1.75 GB); tunicorn budgets PSS in MiB.
        return self.memory_gb * 1e9 / 2**20


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
