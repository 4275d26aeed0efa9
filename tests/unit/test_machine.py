"""The Machine record: one resolution of the plan, with every figure that follows from it."""

from __future__ import annotations

import json

import pytest

from tunicorn import model, plans
from tunicorn.cli.options import machine
from tunicorn.errors import UsageError
from tunicorn.machine import emulate, of_plan, planned, split_cores
from tunicorn.record import Constraints, Rules, from_json, to_json


def test_the_server_gets_the_last_cores_and_the_load_the_rest() -> None:
    m = emulate(2, 3584.0, "B2", available=(3, 0, 2, 1))
    assert m.cores.server == (2, 3) and m.cores.client == (0, 1)
    assert m.cores_here == 4 and m.server_cores == 2 and m.warning == ""
    assert m.memory_budget_mib == pytest.approx(model.memory_budget_mib(3584.0))


def test_too_few_cores_share_them_and_say_so() -> None:
    m = emulate(2, 3584.0, available=(0, 1))
    assert m.cores.server == m.cores.client == (0, 1)
    assert "needs 3 cores" in m.warning and m.server_cores == 2
    # A plan larger than this machine: the server runs on the cores there are.
    big = emulate(4, 7168.0, available=(0, 1))
    assert big.server_cores == 2 and big.cpus == 4
    assert split_cores(None, (0, 1)).server == ()


def test_a_plan_and_its_cores_and_memory_are_the_same_machine() -> None:
    b1 = plans.get("B1")
    here = (0, 1)
    assert of_plan(b1, here) == emulate(b1.vcpus, b1.memory_mib, "B1", here)
    assert machine("b1", None, None).plan == "B1"
    assert machine(None, 2, 3584.0).plan == ""
    assert machine(None, None, None, default="B1").cpus == b1.vcpus
    with pytest.raises(UsageError, match="not both"):
        machine("B1", 2, None)


def test_the_plan_alone_uses_none_of_this_machines_cores() -> None:
    m = planned(2, 3584.04)
    assert m.memory_mib == 3584.0 and m.cores.server == () and m.cores_here == 0
    assert m.server_cores == 2  # "the CPU is busy" counts the plan's cores


def test_constraints_keep_the_machine_at_the_top_of_the_json_and_round_trip() -> None:
    m = emulate(1, 1792.0, "B1", available=(0, 1))
    c = Constraints.of(m, 300.0, Rules(min_slots=2))
    data = json.loads(to_json(c))
    assert (data["cpus"], data["memory_mib"], data["slo_p95_ms"]) == (1, 1792.0, 300.0)
    assert data["cores"]["server"] == [1] and data["plan"] == "B1"
    again = from_json(to_json(c), Constraints)
    assert again == c and again.server_cores == 1 and again.memory_budget_mib == m.memory_budget_mib
