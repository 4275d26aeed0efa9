"""The catalog holds Microsoft's figures, and memory is read as GiB."""

from __future__ import annotations

import pytest

from tunicorn import plans
from tunicorn.errors import UsageError

# vCPU and memory ("GB" as sold) from the sources named in data/plans.toml.
DOCUMENTED = {
    "B1": (1, 1.75), "B2": (2, 3.5), "B3": (4, 7), "S1": (1, 1.75), "S2": (2, 3.5),
    "S3": (4, 7), "P0v3": (1, 4), "P1v3": (2, 8), "P2v3": (4, 16), "P3v3": (8, 32),
    "P1mv3": (2, 16),
}  # fmt: skip


def test_catalog_matches_the_documentation() -> None:
    assert {p.name: (p.vcpus, p.memory_gb) for p in plans.catalog()} == DOCUMENTED


def test_memory_is_read_as_gib() -> None:
    assert plans.get("B1").memory_mib == 1792.0
    assert plans.get("p0V3").memory_mib == 4096.0
    assert plans.get("B1").memory_label == "1.75 GB"


def test_unknown_plan_names_the_known_ones() -> None:
    with pytest.raises(UsageError, match=r"Unknown plan 'F1'.*B1.*tunicorn plans"):
        plans.get("F1")
