"""Figures of one probe: what each wave got back, against the two extremes a server can be."""

from __future__ import annotations

import plotly.graph_objects as go

from tunicorn.record import ProbeResult
from tunicorn.report.plots.common import DEFAULT, GREY, OTHER, SKY, layout


def probe_throughput(probe: ProbeResult) -> go.Figure | None:
    """Throughput per wave against what N independent slots would give: serial servers stay flat."""
    waves = probe.waves
    if not waves:
        return None
    cs = [w.concurrency for w in waves]
    fig = go.Figure()
    single = probe.single_latency_ms
    if single > 0:
        fig.add_trace(
            go.Scatter(
                x=cs,
                y=[c / (single / 1000.0) for c in cs],
                mode="lines",
                name="if every request ran in parallel",
                line={"color": GREY, "dash": "dash"},
            )
        )
        fig.add_trace(
            go.Scatter(
                x=cs,
                y=[1000.0 / single] * len(cs),
                mode="lines",
                name="if requests ran one at a time",
                line={"color": DEFAULT, "dash": "dot"},
            )
        )
    fig.add_trace(
        go.Scatter(
            x=cs,
            y=[w.throughput_rps for w in waves],
            mode="lines+markers",
            name="measured",
            line={"color": OTHER, "width": 3},
            marker={"size": 10},
            customdata=[w.first_round for w in waves],
            hovertemplate="%{x} at once: %{y:,.1f} req/s, %{customdata} in the first round"
            "<extra></extra>",
        )
    )
    title = "Throughput as more requests are sent at once"
    if probe.effective_concurrency is not None:
        bound = "≥" if probe.at_least else "="
        title += f" (effective concurrency {bound} {probe.effective_concurrency})"
    layout(fig, title)
    fig.update_xaxes(title_text="requests sent at once (wave size)", tickvals=cs)
    fig.update_yaxes(title_text="requests per second", rangemode="tozero")
    return fig


def probe_latency(probe: ProbeResult) -> go.Figure | None:
    """Latency and wall time of each wave: a serial server's latency grows with the wave."""
    waves = probe.waves
    if not waves:
        return None
    cs = [w.concurrency for w in waves]
    fig = go.Figure()
    for name, values, colour in (
        ("p50", [w.latency_ms.p50 for w in waves], SKY),
        ("p95", [w.latency_ms.p95 for w in waves], OTHER),
    ):
        fig.add_trace(
            go.Scatter(
                x=cs,
                y=values,
                mode="lines+markers",
                name=f"{name} latency",
                line={"color": colour, "width": 2},
            )
        )
    fig.add_trace(
        go.Bar(
            x=cs,
            y=[w.wall_ms for w in waves],
            name="whole wave (wall ms)",
            marker_color="rgba(230,159,0,0.35)",
        )
    )
    single = probe.single_latency_ms
    if single > 0:
        fig.add_hline(
            y=single,
            line={"color": GREY, "dash": "dash"},
            annotation_text=f"one request alone: {single:,.0f} ms",
            annotation_position="top left",
        )
    layout(fig, "Latency of each wave")
    fig.update_xaxes(title_text="requests sent at once (wave size)", tickvals=cs)
    fig.update_yaxes(title_text="milliseconds", rangemode="tozero")
    return fig
