"""The machine a run emulates: one plan's cores and memory, resolved once.

`emulate` turns --plan, or --cpus with --memory, into a `record.Machine` with everything
that follows from it: the memory budget a configuration may fill, the cores the server is
pinned to and those the load generator keeps (`split_cores`), and why this machine may be
too small to emulate the plan. The CLI makes it once; the tuner, the trials, the profile,
the search and the decision read it instead of working those figures out again.

It imports the plan catalog, the models and the records only: every stage may import it.
"""

from __future__ import annotations

import dataclasses
import os

from tunicorn import model
from tunicorn.plans import Plan
from tunicorn.record import CorePlan, Machine


def split_cores(cpus: int | None, available: tuple[int, ...] | None = None) -> CorePlan:
    """Give the server the last `cpus` cores and the load generator the rest."""
    cores = tuple(sorted(available if available is not None else os.sched_getaffinity(0)))
    if not cpus:
        return CorePlan(server=(), client=())
    if cpus >= len(cores):
        have = len(cores)
        return CorePlan(
            server=cores,
            client=cores,
            warning=(
                f"--cpus {cpus} needs {cpus + 1} cores (the server's and one for the load "
                f"generator) but this machine has {have}: the server gets {min(cpus, have)} and "
                "shares them with the load generator, so the figures are only a rough bound."
            ),
        )
    return CorePlan(server=cores[-cpus:], client=cores[:-cpus])


def planned(cpus: int, memory_mib: float, plan: str = "") -> Machine:
    """The plan alone, for an answer that runs nothing here (recommend's model): its cores,
    memory and memory budget, and none of this machine's cores."""
    memory_mib = round(memory_mib, 1)  # as the record keeps it, so the budget is its share
    return Machine(
        cpus=cpus,
        memory_mib=memory_mib,
        memory_budget_mib=model.memory_budget_mib(memory_mib),
        plan=plan,
    )


def emulate(
    cpus: int, memory_mib: float, plan: str = "", available: tuple[int, ...] | None = None
) -> Machine:
    """`cpus` cores and `memory_mib` of memory (the plan called `plan`, "" for --cpus/--memory)
    on this machine's cores (`available`: those this process may run on, by default)."""
    here = tuple(sorted(available if available is not None else os.sched_getaffinity(0)))
    return dataclasses.replace(
        planned(cpus, memory_mib, plan), cores=split_cores(cpus, here), cores_here=len(here)
    )


def of_plan(plan: Plan, available: tuple[int, ...] | None = None) -> Machine:
    """The plan's cores and memory on this machine."""
    return emulate(plan.vcpus, plan.memory_mib, plan.name, available)
