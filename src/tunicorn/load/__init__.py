"""The load stage: drive real HTTP/1.1 load at a URL and summarise what came back.

`run_load(LoadSpec)` is the one entry point; it returns a `record.LoadResult`.
"""

from __future__ import annotations

from tunicorn.load.scenario import LoadSpec, Request

__all__ = ["LoadSpec", "Request", "run_load"]


def run_load(*args, **kwargs):  # type: ignore[no-untyped-def]
    from tunicorn.load.engine import run_load as _run

    return _run(*args, **kwargs)
