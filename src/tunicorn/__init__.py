"""tunicorn: measure a Python web app under real gunicorn and pick its workers × threads."""

from __future__ import annotations

from tunicorn.errors import ServerError, TunicornError, UsageError
from tunicorn.record import BenchResult, Latency, LoadResult, ServerConfig, ServerStats

__version__ = "0.1.0"

__all__ = [
    "BenchResult",
    "Latency",
    "LoadResult",
    "ServerConfig",
    "ServerError",
    "ServerStats",
    "TunicornError",
    "UsageError",
    "__version__",
]
