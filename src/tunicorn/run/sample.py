"""CPU seconds and memory of a server's whole process tree, sampled over time.

Memory is budgeted on PSS (each shared page split between the processes sharing it):
summed RSS counts gunicorn's pre-fork pages once per worker and overstates several
workers by far. CPU counts the live processes plus the master's children times, so a
worker restarted mid-run still has its CPU counted.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable

import psutil

from tunicorn.record import Sample, ServerStats

MIB = 2**20


class TreeReader:
    """One look at a process and its descendants."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.memory_source = "pss"
        self.worker_cpu: dict[int, float] = {}  # from the last read

    def read(self, t: float) -> Sample | None:
        try:
            procs = [self.root, *self.root.children(recursive=True)]
            reaped = self.root.cpu_times()
        except psutil.Error:
            return None
        cpu = reaped.children_user + reaped.children_system
        pss = uss = rss = 0.0
        alive = 0
        workers: dict[int, float] = {}
        for proc in procs:
            try:
                times = proc.cpu_times()
                cpu += times.user + times.system
                if proc.pid != self.root.pid:
                    workers[proc.pid] = times.user + times.system
                if self.memory_source == "pss":
                    try:
                        mem = proc.memory_full_info()
                        pss += mem.pss
                        uss += mem.uss
                        rss += mem.rss
                    except psutil.AccessDenied:
                        self.memory_source = "rss"
                        rss += proc.memory_info().rss
                else:
                    rss += proc.memory_info().rss
                alive += 1
            except (psutil.NoSuchProcess, psutil.ZombieProcess):
                continue  # a worker that exited between listing and reading
        self.worker_cpu = workers
        if self.memory_source == "rss":
            pss = uss = rss  # said in ServerStats.memory_source
        return Sample(
            t=t, cpu_seconds=cpu, pss_mib=pss / MIB, uss_mib=uss / MIB, rss_mib=rss / MIB,
            processes=alive,
        )  # fmt: skip


class Sampler:
    """Samples a process tree in a background thread every `interval` seconds.

    `mark()` opens the measured window (after warm-up); `stop()` closes it and returns the
    summary. The clock is injectable so the arithmetic can be tested without sleeping.
    """

    def __init__(
        self,
        pid: int,
        *,
        interval: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
        reader: TreeReader | None = None,
    ) -> None:
        self.interval = interval
        self.clock = clock
        self.reader = reader or TreeReader(pid)
        self.samples: list[Sample] = []
        self._t0 = clock()
        self._mark: Sample | None = None
        self._mark_workers: dict[int, float] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tunicorn-sampler", daemon=True)
        self._lock = threading.Lock()

    def start(self) -> Sampler:
        self._take()
        self._thread.start()
        return self

    def _take(self) -> Sample | None:
        sample = self.reader.read(self.clock() - self._t0)
        if sample is not None:
            with self._lock:
                self.samples.append(sample)
        return sample

    def _run(self) -> None:
        while not self._done.wait(self.interval):
            self._take()

    def mark(self) -> None:
        """Start of the measured window: CPU is counted from here."""
        self._mark = self._take()
        self._mark_workers = dict(self.reader.worker_cpu)

    def stop(self) -> ServerStats:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._take()
        end = self.reader.worker_cpu
        per_worker = tuple(
            round(cpu - self._mark_workers.get(pid, 0.0), 3) for pid, cpu in sorted(end.items())
        )
        stats = summarise(self.samples, self._mark, self.reader.memory_source)
        return dataclasses.replace(stats, worker_cpu_s=per_worker)


def summarise(samples: list[Sample], mark: Sample | None, memory_source: str) -> ServerStats:
    """Window CPU from `mark` to the last sample; memory peaks over the whole run."""
    if not samples:
        return ServerStats(memory_source=memory_source)
    first = mark or samples[0]
    window = [s for s in samples if s.t >= first.t]
    last = window[-1]
    wall = last.t - first.t
    cpu = max(0.0, last.cpu_seconds - first.cpu_seconds)
    return ServerStats(
        cpu_seconds=round(cpu, 3),
        cpu_cores_busy=round(cpu / wall, 3) if wall > 0 else 0.0,
        pss_mib_peak=round(max(s.pss_mib for s in samples), 2),
        uss_mib_peak=round(max(s.uss_mib for s in samples), 2),
        rss_mib_peak=round(max(s.rss_mib for s in samples), 2),
        memory_source=memory_source,
        processes_peak=max(s.processes for s in samples),
        samples=tuple(samples),
    )
