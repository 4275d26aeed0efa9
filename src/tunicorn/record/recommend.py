"""The model-only recommendation (`tunicorn recommend`): no server run, the models' answer."""

from __future__ import annotations

import dataclasses

from tunicorn.record.io import SCHEMA_VERSION
from tunicorn.record.load import Latency
from tunicorn.record.machine import Machine


@dataclasses.dataclass(frozen=True)
class ModelBaseline:
    """A rule-of-thumb configuration a model-only answer is compared with (not measured)."""

    name: str
    workers: int
    threads: int
    worker_class: str
    source: str = ""
    throughput_rps: float | None = None
    latency_ms: Latency | None = None


@dataclasses.dataclass(frozen=True)
class Assumptions:
    """The figures a model-only answer rests on; `assumed` names those not given by the user."""

    worker_memory_mib: float
    thread_memory_mib: float
    master_memory_mib: float
    io_wait_ratio: float
    headroom: float
    assumed: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class RecommendedConfig:
    """The chosen configuration and the startup command that runs it."""

    workers: int
    threads: int
    worker_class: str
    startup_command: str
    slots: int
    memory_mib_estimate: float


@dataclasses.dataclass(frozen=True)
class ModelRecommendation:
    """`tunicorn recommend`: an answer from the models alone, labelled as such."""

    recommendation: RecommendedConfig
    constraints: Machine  # the plan's cores and memory: no SLO, nothing measured
    assumptions: Assumptions
    reasons: tuple[str, ...]
    baselines: tuple[ModelBaseline, ...]
    warnings: tuple[str, ...] = ()
    measured: bool = False
    note: str = "model only — not measured; run tunicorn tune to measure"
    kind: str = "recommend"
    schema: int = SCHEMA_VERSION
