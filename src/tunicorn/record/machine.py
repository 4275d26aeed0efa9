"""The machine a run emulates and what a configuration must fit on it."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Rules:
    """What a configuration must be to be picked, beyond its measured capacity."""

    # Never one slot: at least this many requests in flight (2 per core; 0: any).
    min_slots: int = 0
    # Threads per worker at most this when one process's limit is a pool or a lock: more only
    # queue behind it (0: any).
    max_threads: int = 0


@dataclasses.dataclass(frozen=True)
class CorePlan:
    """Which cores the server gets and which the load generator keeps (machine.split_cores)."""

    server: tuple[int, ...]
    client: tuple[int, ...]
    warning: str = ""


@dataclasses.dataclass(frozen=True)
class Machine:
    """The plan a run emulates and how this machine holds it, resolved once from --plan or
    --cpus/--memory (machine.emulate), so no stage works the cores or the budget out again:
    the plan's cores and memory, the share of that memory a configuration may fill
    (model.memory_budget_mib), the cores the server is pinned to and those the load
    generator keeps, and how many cores this machine has."""

    cpus: int
    memory_mib: float
    memory_budget_mib: float = 0.0
    plan: str = ""
    cores: CorePlan = CorePlan(server=(), client=())
    cores_here: int = 0

    @property
    def server_cores(self) -> int:
        """How many cores the server runs on, for "the CPU is busy": the plan's, or fewer
        where this machine has fewer."""
        return len(self.cores.server) or self.cpus

    @property
    def warning(self) -> str:
        """Why this machine cannot emulate the plan faithfully ("" where it can)."""
        return self.cores.warning


@dataclasses.dataclass(frozen=True, kw_only=True)
class Constraints(Machine):
    """What the configuration must fit: the machine (the plan's cores and memory, its memory
    budget), tune's SLO as resolved (given, or derived from the profile) and its rules. The
    machine's fields stay at the top level of the JSON (`constraints.cpus`, DESIGN.md)."""

    slo_p95_ms: float
    rules: Rules = dataclasses.field(default_factory=Rules)

    @classmethod
    def of(cls, machine: Machine, slo_p95_ms: float, rules: Rules | None = None) -> Constraints:
        """`machine` with tune's resolved SLO and rules."""
        fields = {f.name: getattr(machine, f.name) for f in dataclasses.fields(Machine)}
        return cls(**fields, slo_p95_ms=slo_p95_ms, rules=rules or Rules())
