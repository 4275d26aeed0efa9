"""What every figure shares: the palette, the layout, the HDR histogram reader and the server
CPU/memory panel that bench and tune both draw.

Colours are the Okabe–Ito palette (legible for colour-blind readers); the pick is always
green and App Service's default always vermilion, on every figure.
"""

from __future__ import annotations

import binascii
import math
import zlib
from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from tunicorn.record import Sample, ServerStats

PICK = "#009E73"
DEFAULT = "#D55E00"
BASELINE = "#E69F00"
OTHER = "#0072B2"
SKY = "#56B4E9"
PURPLE = "#CC79A7"
GREY = "#8a8f98"
INK = "#1f2328"
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'


def layout(fig: go.Figure, title: str, *, height: int = 420) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 16, "color": INK}},
        font={"family": FONT, "size": 13, "color": INK},
        height=height,
        margin={"l": 70, "r": 30, "t": 60, "b": 60},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0.0, "xanchor": "left"},
        hoverlabel={"font": {"family": FONT}},
    )
    return fig


def cores_over_time(samples: Sequence[Sample]) -> tuple[list[float], list[float]]:
    """CPU cores busy between consecutive samples (the samples hold cumulative CPU seconds)."""
    xs: list[float] = []
    ys: list[float] = []
    if len(samples) < 2:
        return xs, ys
    t0 = samples[0].t
    for prev, cur in zip(samples, samples[1:], strict=False):
        dt = cur.t - prev.t
        if dt <= 0:
            continue
        xs.append(round(cur.t - t0, 3))
        ys.append(max(0.0, (cur.cpu_seconds - prev.cpu_seconds) / dt))
    return xs, ys


def decode_histogram(encoded: str) -> list[tuple[float, float]] | None:
    """(percentile, latency ms) pairs from a base64 HDR histogram of µs; None if unreadable."""
    if not encoded:
        return None
    try:
        from hdrh.histogram import HdrHistogram

        hist = HdrHistogram.decode(encoded.encode("ascii"))
    except (ValueError, TypeError, binascii.Error, zlib.error, ImportError):
        return None
    if hist is None or hist.get_total_count() == 0:
        return None
    # The top percentile a run can resolve is 1 − 1/N; the 100% point (the max) goes there.
    top = 100.0 * (1.0 - 1.0 / max(2, hist.get_total_count()))
    points = []
    for item in hist.get_percentile_iterator(5):
        pct = float(item.percentile_level_iterated_to)
        points.append((min(pct, top), item.value_iterated_to / 1000.0))
        if pct >= 100.0:
            break
    return points or None


def pct_to_x(pct: float) -> float:
    """HdrHistogram's percentile axis: 1 / (1 − p), so the tail gets as much room as the body."""
    return 1.0 / max(1e-6, 1.0 - pct / 100.0)


def log_ticks(lo: float, hi: float) -> list[float]:
    """1-2-5 ticks across [lo, hi]: a log axis people can read without counting minor ticks."""
    ticks: list[float] = []
    decade = 10.0 ** math.floor(math.log10(max(lo, 1e-3)))
    while decade <= hi * 10:
        ticks.extend(decade * m for m in (1, 2, 5))
        decade *= 10
    inside = [t for t in ticks if lo / 2 <= t <= hi * 2]
    return inside if len(inside) <= 10 else inside[::3]


def server_over_time(
    runs: Sequence[tuple[str, ServerStats, str]], title: str, *, annotate_flat: str = ""
) -> go.Figure | None:
    """CPU cores busy and PSS over time for one or more runs (label, stats, colour)."""
    usable = [(lbl, s, c) for lbl, s, c in runs if len(s.samples) >= 2]
    if not usable:
        return None
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.12,
        subplot_titles=("CPU (cores busy)", "Memory (PSS, MiB)"),
    )
    for label, stats, colour in usable:
        xs, ys = cores_over_time(stats.samples)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                name=label,
                legendgroup=label,
                mode="lines",
                line={"color": colour, "width": 2},
                hovertemplate="%{y:.2f} cores<extra>" + label + "</extra>",
            ),
            row=1,
            col=1,
        )
        t0 = stats.samples[0].t
        mem_name = "PSS" if stats.memory_source == "pss" else "RSS"
        fig.add_trace(
            go.Scatter(
                x=[s.t - t0 for s in stats.samples],
                y=[s.pss_mib for s in stats.samples],
                name=label,
                legendgroup=label,
                showlegend=False,
                mode="lines",
                line={"color": colour, "width": 2},
                hovertemplate="%{y:.0f} MiB " + mem_name + "<extra>" + label + "</extra>",
            ),
            row=2,
            col=1,
        )
    if annotate_flat:
        label, stats, _ = usable[-1]
        xs, ys = cores_over_time(stats.samples)
        if xs:
            fig.add_annotation(
                x=xs[len(xs) // 2],
                y=ys[len(ys) // 2],
                text=annotate_flat,
                showarrow=True,
                arrowhead=2,
                ax=0,
                ay=-60,
                row=1,
                col=1,
                align="left",
                bgcolor="rgba(255,255,255,0.9)",
                bordercolor=DEFAULT,
                font={"size": 12},
            )
    layout(fig, title, height=580)
    fig.update_layout(legend={"y": 1.08}, margin={"t": 100})  # above the subplot titles
    fig.update_xaxes(title_text="seconds since the server started being sampled", row=2, col=1)
    fig.update_yaxes(title_text="cores", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="MiB", rangemode="tozero", row=2, col=1)
    return fig
