"""Figures of one bench run: latency over time and the whole latency distribution."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from tunicorn.record import BenchResult
from tunicorn.report.plots.common import DEFAULT, OTHER, PURPLE, decode_histogram, layout, pct_to_x


def latency_over_time(result: BenchResult) -> go.Figure | None:
    """p50/p95 each tick with throughput behind them: a queue shows as latency that never drops."""
    ticks = result.timeline
    if not ticks:
        return None
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    xs = [t.t for t in ticks]
    rps: list[float] = []
    prev_t, prev_n = 0.0, 0
    for tick in ticks:
        dt = tick.t - prev_t
        rps.append((tick.requests - prev_n) / dt if dt > 0 else 0.0)
        prev_t, prev_n = tick.t, tick.requests
    fig.add_trace(
        go.Bar(
            x=xs,
            y=rps,
            name="throughput (req/s)",
            marker_color="rgba(86,180,233,0.35)",
            hovertemplate="%{y:.1f} req/s<extra></extra>",
        ),
        secondary_y=True,
    )
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=[t.p50_ms for t in ticks],
            name="p50",
            mode="lines+markers",
            line={"color": OTHER, "width": 2},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=[t.p95_ms for t in ticks],
            name="p95",
            mode="lines+markers",
            line={"color": DEFAULT, "width": 2},
        )
    )
    errors = [t.errors for t in ticks]
    if any(errors):
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=errors,
                name="errors (cumulative)",
                mode="lines",
                line={"color": PURPLE, "dash": "dot"},
            ),
            secondary_y=True,
        )
    layout(fig, "Latency over time")
    fig.update_xaxes(title_text="seconds into the measured window")
    fig.update_yaxes(title_text="latency (ms)", rangemode="tozero", secondary_y=False)
    # Bars in the lower half, latency lines above them: the two never hide each other.
    fig.update_yaxes(
        title_text="requests per second",
        range=[0, max(rps + [1.0]) * 2.2],
        showgrid=False,
        tickmode="auto",
        nticks=5,
        secondary_y=True,
    )
    return fig


def latency_distribution(result: BenchResult) -> go.Figure | None:
    """The whole latency curve from the HDR histogram, or the five percentiles when absent."""
    points = decode_histogram(result.histogram)
    fig = go.Figure()
    ticks = [0.0, 50.0, 90.0, 99.0, 99.9, 99.99]
    if points:
        fig.add_trace(
            go.Scatter(
                x=[pct_to_x(p) for p, _ in points],
                y=[v for _, v in points],
                mode="lines",
                name="latency",
                line={"color": OTHER, "width": 2, "shape": "hv"},
                customdata=[p for p, _ in points],
                hovertemplate="p%{customdata:.3f}: %{y:.1f} ms<extra></extra>",
            )
        )
        top = max(p for p, _ in points)
        ticks = [t for t in ticks if t <= top] + ([top] if top < 99.99 else [])
    lat = result.latency_ms
    marks = [(50.0, lat.p50), (90.0, lat.p90), (95.0, lat.p95), (99.0, lat.p99)]
    if not points and not any(v for _, v in marks):
        return None
    fig.add_trace(
        go.Scatter(
            x=[pct_to_x(p) for p, _ in marks],
            y=[v for _, v in marks],
            mode="markers+text",
            name="reported percentiles",
            marker={"color": DEFAULT, "size": 9},
            text=[f"p{p:g} {v:,.0f} ms" for p, v in marks],
            textposition=["top left", "bottom right", "top left", "bottom left"],
            hovertemplate="%{text}<extra></extra>",
        )
    )
    layout(fig, "Latency distribution (percentile of requests at or under each latency)")
    fig.update_xaxes(
        type="log",
        title_text="percentile",
        tickvals=[pct_to_x(t) for t in ticks],
        ticktext=[f"{t:.4g}%" for t in ticks],
    )
    fig.update_yaxes(title_text="latency (ms)", rangemode="tozero")
    return fig
