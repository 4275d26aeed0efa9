"""The model-only recommendation (`tunicorn recommend`): the models' answer, with no server run.

From the plan's cores and memory and three assumptions (memory per worker and per thread, the
wait/compute ratio), each given or taken from the settings' defaults and said so, the models
(`tunicorn.model`) size workers × threads. `decide.recommend` makes the measured decision.
"""

from __future__ import annotations

import dataclasses
import math

from tunicorn import classes, machine, model, settings
from tunicorn.errors import UsageError
from tunicorn.record import (
    Assumptions,
    ModelRecommendation,
    RecommendedConfig,
)

DEFAULT_WORKER_MEMORY_MIB = settings.WORKER_MEMORY.default
DEFAULT_THREAD_MEMORY_MIB = settings.THREAD_MEMORY.default
DEFAULT_IO_WAIT_RATIO = settings.IO_WAIT_RATIO.default
# The gunicorn master without --preload imports gunicorn only, not the app.
MASTER_MEMORY_MIB = 25.0
# Memory left free for the OS, App Service's own processes and spikes (large responses).
HEADROOM = 1 - model.MEMORY_SHARE
MAX_THREADS = settings.MAX_THREADS.default


def model_only(
    cpus: int,
    memory_mib: float,
    *,
    plan: str = "",
    worker_memory_mib: float | None = None,
    thread_memory_mib: float | None = None,
    io_wait_ratio: float | None = None,
    headroom: float = HEADROOM,
) -> ModelRecommendation:
    """Workers and threads for `cpus` cores and `memory_mib` of memory, from the models alone.

    The startup command is left empty: writing it is the emit stage's job, which comes later.
    """
    assumed: list[str] = []
    if worker_memory_mib is None:
        worker_memory_mib, assumed = DEFAULT_WORKER_MEMORY_MIB, [*assumed, "worker_memory_mib"]
    if thread_memory_mib is None:
        thread_memory_mib, assumed = DEFAULT_THREAD_MEMORY_MIB, [*assumed, "thread_memory_mib"]
    if io_wait_ratio is None:
        io_wait_ratio, assumed = DEFAULT_IO_WAIT_RATIO, [*assumed, "io_wait_ratio"]
    _validate(cpus, memory_mib, worker_memory_mib, thread_memory_mib, io_wait_ratio)
    s = _Sizing(cpus, memory_mib, worker_memory_mib, thread_memory_mib, io_wait_ratio, headroom)

    where = f" ({plan})" if plan else ""
    usable = model.usable_memory_mib(memory_mib, headroom, MASTER_MEMORY_MIB)
    s.reasons.append(
        f"Budget{where}: {cpus} core{'s' if cpus != 1 else ''}, {memory_mib:.0f} MiB; "
        f"{usable:.0f} MiB for workers after {headroom:.0%} headroom and the "
        f"{MASTER_MEMORY_MIB:.0f} MiB master."
    )
    threads = _threads(s, "io_wait_ratio" in assumed)
    workers, threads = _workers(s, threads)
    threads = _slots(s, workers, threads)
    per_worker = model.worker_memory_mib(worker_memory_mib, thread_memory_mib, threads)
    estimate = MASTER_MEMORY_MIB + workers * per_worker
    s.reasons.append(
        f"Memory: about {estimate:.0f} MiB ({workers} × {per_worker:.0f} + "
        f"{MASTER_MEMORY_MIB:.0f} MiB master) of {memory_mib:.0f} MiB."
    )
    worker_class = classes.class_for_threads(threads)
    if worker_class == "gthread":
        s.reasons.append("Worker class: gthread, which is what gunicorn runs for threads > 1.")
    s.warnings += _assumption_warnings(assumed)

    return ModelRecommendation(
        recommendation=RecommendedConfig(
            workers=workers,
            threads=threads,
            worker_class=worker_class,
            startup_command="",
            slots=workers * threads,
            memory_mib_estimate=round(estimate, 1),
        ),
        constraints=machine.planned(cpus, memory_mib, plan),
        assumptions=Assumptions(
            worker_memory_mib=worker_memory_mib,
            thread_memory_mib=thread_memory_mib,
            master_memory_mib=MASTER_MEMORY_MIB,
            io_wait_ratio=io_wait_ratio,
            headroom=headroom,
            assumed=tuple(assumed),
        ),
        reasons=tuple(s.reasons),
        baselines=model.baselines(cpus),
        warnings=tuple(s.warnings),
    )


@dataclasses.dataclass
class _Sizing:
    """One sizing as it is worked out: the machine and the assumptions, and the reasons and
    warnings each step adds, in the order the user reads them."""

    cpus: int
    memory_mib: float
    worker_mib: float
    thread_mib: float
    io_wait_ratio: float
    headroom: float
    reasons: list[str] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)

    def workers_fit(self, threads: int) -> int:
        """How many workers of `threads` threads the memory holds."""
        return model.memory_cap_workers(
            self.memory_mib, self.worker_mib, self.thread_mib, threads,
            headroom=self.headroom, master_mib=MASTER_MEMORY_MIB,
        )  # fmt: skip

    def threads_fit(self, workers: int) -> int:
        """How many threads each of `workers` workers may have within the memory."""
        return model.memory_cap_threads(
            self.memory_mib, self.worker_mib, self.thread_mib, workers,
            headroom=self.headroom, master_mib=MASTER_MEMORY_MIB,
        )  # fmt: skip


def _threads(s: _Sizing, wc_assumed: bool) -> int:
    """Threads: while one thread computes, W/C others can wait (1 + W/C per core)."""
    per_core = model.threads_per_core(s.io_wait_ratio)
    threads = max(1, min(math.ceil(per_core - 1e-9), MAX_THREADS))
    why_wc = "assumed: an I/O-bound app" if wc_assumed else "given"
    s.reasons.append(
        f"Threads: 1 + W/C = 1 + {s.io_wait_ratio:g} = {per_core:g} → {threads} per worker "
        f"(W/C {why_wc}; waiting requests release the GIL to the others)."
    )
    if per_core > MAX_THREADS:
        s.reasons.append(
            f"Threads capped at {MAX_THREADS}: beyond that the GIL and the app's locks, "
            "not waiting, decide; consider gevent for very long waits."
        )
    return threads


def _workers(s: _Sizing, threads: int) -> tuple[int, int]:
    """Workers: gunicorn's 2 × cores + 1, so a slow or GC-paused worker never idles a core,
    as many as the memory holds; where not even one fits with `threads`, one thread each.
    Returns the workers and the threads."""
    wanted = model.multiworkers_count(s.cpus)
    s.reasons.append(
        f"Workers: 2 × {s.cpus} + 1 = {wanted} (gunicorn's rule, App Service's MULTIWORKERS): "
        "one GIL per process, and spare processes keep cores busy."
    )
    cap = s.workers_fit(threads)
    if cap < 1:
        cap = s.workers_fit(1)
        if cap < 1:
            raise UsageError(
                f"{s.memory_mib:.0f} MiB cannot hold one {s.worker_mib:.0f} MiB worker with "
                f"{s.headroom:.0%} headroom: give a larger --memory (or --plan) or check "
                "--worker-memory."
            )
        threads = max(1, min(s.threads_fit(1), MAX_THREADS))
    workers = min(wanted, cap)
    per_worker = model.worker_memory_mib(s.worker_mib, s.thread_mib, threads)
    if workers < wanted:
        s.reasons.append(
            f"Memory caps workers at {workers}: each takes about {per_worker:.0f} MiB "
            f"({s.worker_mib:.0f} MiB + {s.thread_mib:g} MiB per extra thread)."
        )
    if workers < s.cpus:
        s.warnings.append(
            f"Only {workers} worker(s) fit for {s.cpus} cores: CPU-heavy requests cannot use "
            "every core; a plan with more memory per core (e.g. P*mv3) fits more."
        )
    return workers, threads


def _slots(s: _Sizing, workers: int, threads: int) -> int:
    """Slots: Little's law says cores × (1 + W/C) requests in flight keep every core busy;
    threads are raised (within the memory) where the workers hold fewer. Returns the threads."""
    needed = math.ceil(model.slots_needed(s.cpus, s.io_wait_ratio) - 1e-9)
    if workers * threads < needed:
        room = s.threads_fit(workers)
        raised = min(math.ceil(needed / workers), MAX_THREADS, max(room, 1))
        if raised > threads:
            s.reasons.append(
                f"Threads raised to {raised} so {workers} worker(s) still hold the {needed} "
                "requests in flight that keep the cores busy."
            )
            threads = raised
    s.reasons.append(
        f"Slots: {workers} × {threads} = {workers * threads} requests at once; Little's law "
        f"needs {s.cpus} × (1 + {s.io_wait_ratio:g}) = {needed} to keep {s.cpus} core(s) busy."
    )
    return threads


def _assumption_warnings(assumed: list[str]) -> list[str]:
    """What was assumed rather than given, and the option that gives it."""
    warnings = []
    if "worker_memory_mib" in assumed:
        warnings.append(
            f"Assumed {DEFAULT_WORKER_MEMORY_MIB:.0f} MiB per worker (a small Flask app): "
            "pass --worker-memory (e.g. 150MiB) for apps with pandas, ORMs or models."
        )
    if "io_wait_ratio" in assumed:
        warnings.append(
            f"Assumed W/C = {DEFAULT_IO_WAIT_RATIO:g} (I/O-bound): pass --io-wait-ratio, "
            "0 for a CPU-bound app; tunicorn tune measures it."
        )
    return warnings


def _validate(
    cpus: int,
    memory_mib: float,
    worker_memory_mib: float,
    thread_memory_mib: float,
    io_wait_ratio: float,
) -> None:
    if isinstance(cpus, bool) or not isinstance(cpus, int) or cpus < 1:
        raise UsageError(f"--cpus must be a whole number of 1 or more (got {cpus!r}).")
    checks = (
        ("--memory", memory_mib, False),
        ("--worker-memory", worker_memory_mib, False),
        ("--thread-memory", thread_memory_mib, True),
        ("--io-wait-ratio", io_wait_ratio, True),
    )
    for name, value, zero_ok in checks:
        if not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
            bound = "zero or more" if zero_ok else "more than zero"
            raise UsageError(f"{name} must be a finite number, {bound} (got {value!r}).")
