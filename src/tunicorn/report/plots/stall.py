"""The finalists under a stalled upstream: each one's p95 of the other requests at the
check's offered load, against the SLO, with where the stall model says the seed's 1×1 and
the pick give way. Everything is read from the record's `stall` (`record.StallCheck`)."""

from __future__ import annotations

import math

import plotly.graph_objects as go

from tunicorn.record import StallRun, TuneResult
from tunicorn.report.plots.common import BASELINE, DEFAULT, GREY, PICK, layout

DEFAULT_ROLE = "app-service-default"
FLOOR_MS = 0.1  # a p95 of 0 (nothing answered) still shows, at the bottom of the log axis


def _colour(run: StallRun, picked: str) -> str:
    if run.trial == picked:
        return PICK
    if run.role == DEFAULT_ROLE:
        return DEFAULT
    return BASELINE if run.role not in ("rival", "most-slots", "more-slots") else GREY


def stall_finalists(result: TuneResult) -> go.Figure | None:
    """p95 of the non-stalled requests per finalist against the offered load (log–log)."""
    check = result.stall
    if check is None or not check.runs:
        return None
    fig = go.Figure()
    for run in check.runs:
        if not run.requests:
            continue  # not run, or its server stopped: no p95 to plot (the table says why)
        p95 = run.latency_ms.p95
        verdict = "holds" if run.holds else f"gives way: {run.reason}"
        fig.add_trace(
            go.Scatter(
                x=[run.rate_rps],
                y=[max(p95, FLOOR_MS)],
                mode="markers+text",
                name=f"{'★ ' if run.trial == check.picked else ''}{run.config.label} ({run.role})",
                marker={
                    "color": _colour(run, check.picked),
                    "size": 13,
                    "symbol": "circle" if run.holds else "x",
                },
                text=[run.config.label],
                textposition="middle right",
                hovertemplate=(
                    f"{run.config.label}<br>others' p95 %{{y:,.0f}} ms, "
                    f"{run.within_slo:.0%} within {check.slo_p95_ms:.0f} ms<br>"
                    f"{run.stalled.requests} stalled requests<br>{verdict}<extra></extra>"
                ),
            )  # fmt: skip
        )
    slo = check.slo_p95_ms
    fig.add_hline(y=slo, line={"color": DEFAULT, "dash": "dash"})
    fig.add_annotation(
        x=0.0, xref="paper", y=math.log10(slo), text=f"SLO p95 {slo:.0f} ms",
        showarrow=False, yshift=10, xanchor="left", font={"color": DEFAULT},
    )  # fmt: skip
    xs = [check.rate_rps]
    marks = [
        (r, "the seed's 1×1" if r.role == DEFAULT_ROLE else "the pick")
        for r in check.runs
        if r.role == DEFAULT_ROLE or r.trial == check.picked
    ]
    for i, (run, who) in enumerate(marks):
        if run.gives_way_rps is None or run.gives_way_rps <= 0:
            continue
        xs.append(run.gives_way_rps)
        colour = PICK if run.trial == check.picked else DEFAULT
        fig.add_vline(x=run.gives_way_rps, line={"color": colour, "dash": "dot"})
        fig.add_annotation(
            x=math.log10(run.gives_way_rps), y=1.0 - 0.08 * i, yref="paper",
            text=f"{who} gives way ≈ {run.gives_way_rps:,.1f} req/s (model)",
            showarrow=False, xanchor="left", font={"color": colour},
        )  # fmt: skip
    fig.add_vline(x=check.rate_rps, line={"color": GREY, "width": 1})
    low, high = min(xs) / 2, max(xs) * 2
    fig.update_xaxes(type="log", title="offered load, req/s", range=[math.log10(low),
                     math.log10(high)])  # fmt: skip
    fig.update_yaxes(type="log", title="p95 of the other requests, ms")
    return layout(
        fig,
        f"With {check.share * 100:g}% of requests waiting {check.stall_s:g} s, at "
        f"{check.rate_rps:g} req/s",
        height=460,
    )
