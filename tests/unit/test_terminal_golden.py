"""The bench summary, rendered into a fixed 100-column plain console, against a golden file.

A person reads this table in five seconds, so its layout is part of the interface: any
change must show up in review as a diff of tests/golden/bench_summary.txt. To accept an
intended change: TUNICORN_UPDATE_GOLDEN=1 python -m pytest tests/unit/test_terminal_golden.py
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/reportdata.py

import reportdata  # noqa: E402
from tunicorn.report import terminal  # noqa: E402

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "bench_summary.txt"


def render(result: object) -> str:
    out = io.StringIO()
    console = Console(width=100, file=out, color_system=None, force_terminal=False)
    terminal.print_bench(result, console)  # type: ignore[arg-type]
    # Trailing spaces are rich's table padding, invisible and noisy in diffs.
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines()) + "\n"


def test_bench_summary_matches_golden() -> None:
    text = render(reportdata.make_bench())
    if os.environ.get("TUNICORN_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    assert GOLDEN.exists(), f"no golden file: run with TUNICORN_UPDATE_GOLDEN=1 to create {GOLDEN}"
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_summary_without_server_stats_drops_server_rows() -> None:
    text = render(reportdata.make_bench(with_server=False))
    assert "Server CPU" not in text and "Throughput" in text
    assert all(len(line) <= 100 for line in text.splitlines())


def test_summary_shows_how_the_connections_were_dealt_across_workers() -> None:
    import dataclasses

    bench = reportdata.make_bench()
    assert bench.server is not None
    dealt = dataclasses.replace(bench.server, worker_connections=(22, 10, 0, 0))
    text = render(dataclasses.replace(bench, server=dealt))
    assert "22 / 10 / 0 / 0 per worker" in text
    assert "per worker, halfway" not in render(bench)  # not counted: no row
