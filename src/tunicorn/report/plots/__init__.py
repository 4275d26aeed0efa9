"""Figure builders for the HTML report: each a pure function from a record to a plotly Figure.

They read only records (never a live server), so a saved run re-renders the same figures,
and each returns None when its record lacks the data, so the page just leaves it out.
One module per record kind (bench, tune, profile, probe); `common` holds what they share.
"""

from __future__ import annotations

from tunicorn.report.plots.bench import latency_distribution, latency_over_time
from tunicorn.report.plots.common import (
    BASELINE,
    DEFAULT,
    GREY,
    OTHER,
    PICK,
    decode_histogram,
    server_over_time,
)
from tunicorn.report.plots.probe import probe_latency, probe_throughput
from tunicorn.report.plots.profile import process_ladder, profile_memory, profile_routes
from tunicorn.report.plots.stall import stall_finalists
from tunicorn.report.plots.tune import (
    DEFAULT_ROLE,
    baselines_by_trial,
    capacity_heatmap,
    latency_per_trial,
    pick_key,
    pick_vs_default,
    throughput_vs_slots,
    trial_server,
)

__all__ = [
    "BASELINE",
    "DEFAULT",
    "DEFAULT_ROLE",
    "GREY",
    "OTHER",
    "PICK",
    "baselines_by_trial",
    "stall_finalists",
    "capacity_heatmap",
    "decode_histogram",
    "latency_distribution",
    "latency_over_time",
    "latency_per_trial",
    "pick_key",
    "pick_vs_default",
    "probe_latency",
    "probe_throughput",
    "process_ladder",
    "profile_memory",
    "profile_routes",
    "server_over_time",
    "throughput_vs_slots",
    "trial_server",
]
