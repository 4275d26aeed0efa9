"""The server a run measured: its configuration and its processes' CPU and memory."""

from __future__ import annotations

import dataclasses

from tunicorn.classes import GUNICORN_TIMEOUT, event_loop, running_class


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    """One gunicorn configuration; `worker_class` is the class gunicorn really runs."""

    workers: int = 1
    threads: int = 1
    worker_class: str = "sync"
    timeout: int = GUNICORN_TIMEOUT

    def effective(self) -> ServerConfig:
        """The configuration as the server really runs it (`classes.running_class`)."""
        running = running_class(self.worker_class, self.threads)
        if running == self.worker_class:
            return self
        return dataclasses.replace(self, worker_class=running)

    @property
    def key(self) -> str:
        """The one name of a configuration as it runs, e.g. "3x6-gthread": trials are stored
        under it, and the recommendation and the baselines point at their trial by it."""
        c = self.effective()
        return f"{c.workers}x{c.threads}-{c.worker_class}"

    @property
    def slots(self) -> int:
        """Requests the server can work on at once (gevent and uvicorn: as many connections
        as one event loop takes)."""
        if event_loop(self.worker_class):
            return self.workers * max(self.threads, 1000)
        return self.workers * self.threads

    @property
    def label(self) -> str:
        return f"{self.workers}×{self.threads} {self.worker_class}"


@dataclasses.dataclass(frozen=True)
class Sample:
    """One look at the server's process tree."""

    t: float
    cpu_seconds: float
    pss_mib: float
    uss_mib: float
    rss_mib: float
    processes: int


@dataclasses.dataclass(frozen=True)
class ServerStats:
    """CPU and memory of the server's process tree over the measured window."""

    cpu_seconds: float = 0.0
    cpu_cores_busy: float = 0.0
    pss_mib_peak: float = 0.0
    uss_mib_peak: float = 0.0
    rss_mib_peak: float = 0.0
    memory_source: str = "pss"  # "pss", or "rss" where PSS could not be read
    processes_peak: int = 0
    samples: tuple[Sample, ...] = ()
    worker_cpu_s: tuple[float, ...] = ()  # CPU per worker over the window: balance across workers
    # Established connections per worker (by pid) halfway through the window (`balance`): with
    # kept-alive connections, how the accept race dealt them.
    worker_connections: tuple[int, ...] = ()
