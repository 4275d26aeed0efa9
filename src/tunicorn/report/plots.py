"""Figure builders for the HTML report: each a pure function from a record to a plotly Figure.

They read only records (never a live server), so a saved run re-renders the same figures,
and each returns None when its record lacks the data, so the page just leaves it out.
Colours are the Okabe–Ito palette (legible for colour-blind readers); the pick is always
green and App Service's default always vermilion, on every figure.
"""

from __future__ import annotations

import binascii
import math
import zlib
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from tunicorn.record import (
    BenchResult,
    Latency,
    Profile,
    Sample,
    ServerConfig,
    ServerStats,
    Trial,
    TuneResult,
)

PICK = "#009E73"
DEFAULT = "#D55E00"
BASELINE = "#E69F00"
OTHER = "#0072B2"
SKY = "#56B4E9"
PURPLE = "#CC79A7"
GREY = "#8a8f98"
INK = "#1f2328"
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'

DEFAULT_NAME = "App Service default"


def _layout(fig: go.Figure, title: str, *, height: int = 420) -> go.Figure:
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


# -- shared pieces ----------------------------------------------------------------------------


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


def _pct_to_x(pct: float) -> float:
    """HdrHistogram's percentile axis: 1 / (1 − p), so the tail gets as much room as the body."""
    return 1.0 / max(1e-6, 1.0 - pct / 100.0)


# -- bench ------------------------------------------------------------------------------------


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
    _layout(fig, "Latency over time")
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
                x=[_pct_to_x(p) for p, _ in points],
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
            x=[_pct_to_x(p) for p, _ in marks],
            y=[v for _, v in marks],
            mode="markers+text",
            name="reported percentiles",
            marker={"color": DEFAULT, "size": 9},
            text=[f"p{p:g} {v:,.0f} ms" for p, v in marks],
            textposition=["top left", "bottom right", "top left", "bottom left"],
            hovertemplate="%{text}<extra></extra>",
        )
    )
    _layout(fig, "Latency distribution (percentile of requests at or under each latency)")
    fig.update_xaxes(
        type="log",
        title_text="percentile",
        tickvals=[_pct_to_x(t) for t in ticks],
        ticktext=[f"{t:.4g}%" for t in ticks],
    )
    fig.update_yaxes(title_text="latency (ms)", rangemode="tozero")
    return fig


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
    _layout(fig, title, height=580)
    fig.update_layout(legend={"y": 1.08}, margin={"t": 100})  # above the subplot titles
    fig.update_xaxes(title_text="seconds since the server started being sampled", row=2, col=1)
    fig.update_yaxes(title_text="cores", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="MiB", rangemode="tozero", row=2, col=1)
    return fig


# -- tune -------------------------------------------------------------------------------------


def trial_server(trial: Trial) -> ServerStats | None:
    """The trial's server samples, or its first phase's where the trial keeps none itself."""
    if trial.server is not None and trial.server.samples:
        return trial.server
    for phase in trial.phases:
        if phase.server is not None and phase.server.samples:
            return phase.server
    return trial.server


def same_config(trial: Trial, workers: int, threads: int, worker_class: str | None = None) -> bool:
    c = trial.config.effective()
    if (c.workers, c.threads) != (workers, threads):
        return False
    if worker_class is None:
        return True
    want = ServerConfig(workers, threads, worker_class).effective().worker_class
    return c.worker_class == want


def pick_trial(result: TuneResult) -> Trial | None:
    rec = result.recommendation
    if rec is None:
        return None
    found = [t for t in result.trials if same_config(t, rec.workers, rec.threads, rec.worker_class)]
    return max(found, key=lambda t: (t.feasible, t.capacity_rps), default=None)


def baseline_trials(result: TuneResult) -> list[tuple[str, Trial]]:
    """Each baseline with the trial that measured it (matched by workers × threads × class)."""
    out = []
    for b in result.baselines:
        found = [t for t in result.trials if same_config(t, b.workers, b.threads, b.worker_class)]
        if found:
            out.append((b.name, max(found, key=lambda t: t.capacity_rps)))
    return out


def default_trial(result: TuneResult) -> tuple[str, Trial] | None:
    """App Service's own 1 × 1 sync run: a baseline with that name, else any 1 × 1 sync trial."""
    pairs = baseline_trials(result)
    for name, trial in pairs:
        if "default" in name.lower():
            return name, trial
    for trial in result.trials:
        if same_config(trial, 1, 1, "sync"):
            return DEFAULT_NAME, trial
    return None


def _reason_text(trial: Trial) -> str:
    return {
        "memory": "✕ memory",
        "errors": "✕ errors",
        "slo": "✕ SLO",
        "failed": "✕ failed",
        "slower": "↓ slower",
    }.get(trial.reason, f"✕ {trial.reason}" if trial.reason else "✕")


def capacity_heatmap(result: TuneResult) -> go.Figure | None:
    """Capacity for each workers × threads tried; infeasible cells crossed, pick boxed."""
    trials = [t for t in result.trials if t.config.effective().worker_class in ("sync", "gthread")]
    if not trials:
        return None
    best: dict[tuple[int, int], Trial] = {}
    for t in trials:
        key = (t.config.workers, t.config.threads)
        if key not in best or (t.feasible, t.capacity_rps) > (
            best[key].feasible,
            best[key].capacity_rps,
        ):
            best[key] = t
    workers = sorted({w for w, _ in best})
    threads = sorted({t for _, t in best})
    z: list[list[float | None]] = []
    text: list[list[str]] = []
    hover: list[list[str]] = []
    for w in workers:
        zr: list[float | None] = []
        tr: list[str] = []
        hr: list[str] = []
        for th in threads:
            trial = best.get((w, th))
            if trial is None:
                zr.append(None)
                tr.append("")
                hr.append(f"{w}×{th}: not tried")
            elif trial.feasible:
                zr.append(trial.capacity_rps)
                tr.append(f"{trial.capacity_rps:,.0f}")
                hr.append(
                    f"{trial.config.effective().label}<br>capacity {trial.capacity_rps:,.1f} req/s"
                    f"<br>p95 {trial.latency_ms.p95:,.0f} ms<br>source: {trial.source}"
                )
            else:
                zr.append(None)
                tr.append("")
                why = trial.note or trial.reason
                pss = (
                    f"<br>predicted PSS {trial.predicted_pss_mib:,.0f} MiB"
                    if trial.predicted_pss_mib
                    else ""
                )
                hr.append(f"{trial.config.effective().label}: not usable ({why}){pss}")

        z.append(zr)
        text.append(tr)
        hover.append(hr)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(range(len(threads))),
            y=list(range(len(workers))),
            text=text,
            texttemplate="%{text}",
            textfont={"size": 13},
            customdata=hover,
            hovertemplate="%{customdata}<extra></extra>",
            colorscale="Blues",
            zmin=0,
            colorbar={"title": {"text": "req/s"}, "thickness": 14},
            hoverongaps=False,
            xgap=3,
            ygap=3,
        )
    )

    def cell(w: int, th: int) -> tuple[float, float]:
        return float(threads.index(th)), float(workers.index(w))

    # Gaps carry no hover; an invisible scatter gives crossed and untried cells their hover text.
    gx, gy, gt, gh = [], [], [], []
    for (w, th), trial in best.items():
        if not trial.feasible:
            x, y = cell(w, th)
            gx.append(x)
            gy.append(y)
            gt.append(_reason_text(trial))
            gh.append(hover[workers.index(w)][threads.index(th)])
    if gx:
        fig.add_trace(
            go.Scatter(
                x=gx,
                y=gy,
                text=gt,
                mode="text",
                customdata=gh,
                textfont={"color": DEFAULT, "size": 12},
                name="not usable",
                hovertemplate="%{customdata}<extra></extra>",
                showlegend=False,
            )
        )

    def box(w: int, th: int, colour: str, dash: str, label: str, width: float) -> None:
        x, y = cell(w, th)
        fig.add_shape(
            type="rect",
            x0=x - 0.48,
            x1=x + 0.48,
            y0=y - 0.48,
            y1=y + 0.48,
            line={"color": colour, "width": width, "dash": dash},
        )
        fig.add_annotation(
            x=x,
            y=y - 0.32,
            text=label,
            showarrow=False,
            font={"size": 10, "color": colour},
            bgcolor="rgba(255,255,255,0.85)",
        )

    for name, trial in baseline_trials(result):
        key = (trial.config.workers, trial.config.threads)
        if key in best:
            colour = DEFAULT if "default" in name.lower() else BASELINE
            box(*key, colour, "dash", name.split(" (")[0], 2.5)
    pick = pick_trial(result)
    if pick is not None and (pick.config.workers, pick.config.threads) in best:
        box(pick.config.workers, pick.config.threads, PICK, "solid", "★ pick", 4)
    _layout(
        fig,
        "Capacity by configuration (req/s within the SLO; blank = not tried)",
        height=max(360, 70 * len(workers) + 160),
    )
    fig.update_xaxes(
        title_text="threads per worker",
        tickvals=list(range(len(threads))),
        ticktext=[str(t) for t in threads],
        showgrid=False,
        zeroline=False,
    )
    fig.update_yaxes(
        title_text="workers",
        tickvals=list(range(len(workers))),
        ticktext=[str(w) for w in workers],
        showgrid=False,
        zeroline=False,
    )
    fig.update_layout(plot_bgcolor="#f3f4f6")
    return fig


def _trial_name(trial: Trial, names: dict[int, str], pick: Trial | None) -> str:
    label = trial.config.effective().label
    if trial is pick:
        return f"★ {label}"
    if id(trial) in names:
        return f"{label} ({names[id(trial)]})"
    return label


def _log_ticks(lo: float, hi: float) -> list[float]:
    """1-2-5 ticks across [lo, hi]: a log axis people can read without counting minor ticks."""
    ticks: list[float] = []
    decade = 10.0 ** math.floor(math.log10(max(lo, 1e-3)))
    while decade <= hi * 10:
        ticks.extend(decade * m for m in (1, 2, 5))
        decade *= 10
    inside = [t for t in ticks if lo / 2 <= t <= hi * 2]
    return inside if len(inside) <= 10 else inside[::3]


def latency_per_trial(result: TuneResult) -> go.Figure | None:
    """p50, p95 and p99 of each measured trial on a log scale, against the SLO."""
    measured = [t for t in result.trials if t.requests > 0 or t.latency_ms.p95 > 0]
    if not measured:
        return None
    measured.sort(key=lambda t: (t.config.slots, t.config.workers))
    pick = pick_trial(result)
    names = {id(t): n for n, t in baseline_trials(result)}
    xs = list(range(len(measured)))
    ticktext = []
    for t in measured:
        label = t.config.effective().label
        if t is pick:
            ticktext.append(f'<b style="color:{PICK}">★ {label}<br>pick</b>')
        elif id(t) in names:
            colour = DEFAULT if "default" in names[id(t)].lower() else BASELINE
            ticktext.append(
                f'{label}<br><span style="color:{colour}">{names[id(t)].split(" (")[0]}</span>'
            )
        elif not t.feasible:
            ticktext.append(f'{label}<br><span style="color:{DEFAULT}">{_reason_text(t)}</span>')
        else:
            ticktext.append(label)
    fig = go.Figure()
    # A bar from p50 to p99 per trial, coloured by what the trial is.
    for x, t in zip(xs, measured, strict=True):
        colour = PICK if t is pick else DEFAULT if "default" in names.get(id(t), "") else GREY
        fig.add_shape(
            type="line",
            x0=x,
            x1=x,
            y0=max(t.latency_ms.p50, 0.01),
            y1=max(t.latency_ms.p99, 0.01),
            line={"color": colour, "width": 4},
            opacity=0.5,
            layer="below",
        )
    for attr, colour, symbol in (
        ("p50", SKY, "circle"),
        ("p95", OTHER, "diamond"),
        ("p99", PURPLE, "triangle-up"),
    ):
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=[getattr(t.latency_ms, attr) for t in measured],
                mode="markers",
                name=attr,
                marker={"color": colour, "size": 10, "symbol": symbol},
                text=[t.config.effective().label for t in measured],
                hovertemplate="%{text}<br>" + attr + " %{y:,.0f} ms<extra></extra>",
            )
        )
    values = [v for t in measured for v in (t.latency_ms.p50, t.latency_ms.p99) if v > 0]
    slo = result.constraints.slo_p95_ms or 0.0
    if slo > 0:
        values.append(slo)
        fig.add_hline(y=slo, line={"color": DEFAULT, "dash": "dash"})
        # Annotations on a log axis take log10 coordinates (add_hline's own would not).
        fig.add_annotation(
            x=1,
            xref="paper",
            xanchor="right",
            y=math.log10(slo),
            yanchor="bottom",
            text=f"SLO: p95 ≤ {slo:,.0f} ms",
            showarrow=False,
            font={"color": DEFAULT, "size": 12},
        )
    _layout(fig, "Latency percentiles per trial (saturating load; ★ = pick)", height=460)
    fig.update_xaxes(
        title_text="configuration (workers × threads, class), by concurrent slots",
        tickvals=xs,
        ticktext=ticktext,
        showgrid=False,
        zeroline=False,
    )
    ticks = _log_ticks(min(values), max(values)) if values else None
    fig.update_yaxes(
        type="log", title_text="latency (ms, log scale)", tickvals=ticks, tickformat=",.0f"
    )
    return fig


def little_bound_ms(result: TuneResult) -> float:
    """Mean service time R (ms) at concurrency 1 for Little's law, from the profile or model."""
    if result.profile is not None and result.profile.wall_ms > 0:
        return result.profile.wall_ms
    return result.model.wall_ms if result.model is not None else 0.0


def cpu_bound_rps(result: TuneResult) -> float:
    return result.model.cpu_bound_rps if result.model is not None else 0.0


def throughput_vs_slots(result: TuneResult) -> go.Figure | None:
    """Measured capacity against workers × threads, with the two bounds."""
    measured = [t for t in result.trials if t.requests > 0 and t.config.worker_class != "gevent"]
    if not measured:
        return None
    pick = pick_trial(result)
    names = {id(t): n for n, t in baseline_trials(result)}
    max_slots = max(t.config.slots for t in measured)
    top = max(max(t.throughput_rps, t.capacity_rps) for t in measured)
    xs = [1 + i * (max(max_slots * 1.15, 4) - 1) / 79 for i in range(80)]
    fig = go.Figure()
    r_ms = little_bound_ms(result)
    if r_ms > 0:
        little = [n / (r_ms / 1000.0) for n in xs]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=little,
                mode="lines",
                name=f"Little's law: slots ÷ {r_ms:,.0f} ms",
                line={"color": GREY, "dash": "dash"},
                hovertemplate="%{x:.0f} slots: at most %{y:,.0f} req/s<extra></extra>",
            )
        )
    cpu_rps = cpu_bound_rps(result)
    if cpu_rps > 0:
        cpus = result.constraints.cpus
        fig.add_trace(
            go.Scatter(
                x=[xs[0], xs[-1]],
                y=[cpu_rps, cpu_rps],
                mode="lines",
                name=f"CPU bound: {cpus} core{'s' if cpus != 1 else ''} ÷ CPU per request",
                line={"color": PURPLE, "dash": "dot", "width": 2},
                hovertemplate=f"at most {cpu_rps:,.0f} req/s<extra></extra>",
            )
        )
        top = max(top, cpu_rps)
    groups: dict[str, list[Trial]] = {"measured": [], "baselines": []}
    unusable = []
    for t in measured:
        if not t.feasible:
            unusable.append(t)
        elif t is not pick:
            groups["baselines" if id(t) in names else "measured"].append(t)
    if unusable:
        fig.add_trace(
            go.Scatter(
                x=[t.config.slots for t in unusable],
                y=[t.throughput_rps for t in unusable],
                mode="markers",
                name="not usable (throughput shown)",
                marker={
                    "color": DEFAULT,
                    "size": 11,
                    "symbol": "x-thin",
                    "line": {"color": DEFAULT, "width": 2},
                },
                text=[f"{_trial_name(t, names, pick)}: {t.note or t.reason}" for t in unusable],
                hovertemplate="%{text}<br>%{x} slots<br>served %{y:,.1f} req/s<extra></extra>",
            )
        )
    for key, colour, symbol in (("measured", OTHER, "circle"), ("baselines", BASELINE, "square")):
        ts = groups[key]
        if not ts:
            continue
        fig.add_trace(
            go.Scatter(
                x=[t.config.slots for t in ts],
                y=[t.capacity_rps for t in ts],
                mode="markers",
                name=f"{key} trials (capacity)" if key == "measured" else "baselines (capacity)",
                marker={
                    "color": colour,
                    "size": 11,
                    "symbol": symbol,
                    "line": {"color": "white", "width": 1},
                },
                text=[_trial_name(t, names, pick) for t in ts],
                hovertemplate="%{text}<br>%{x} slots<br>capacity %{y:,.1f} req/s<extra></extra>",
            )
        )
    if pick is not None and pick.requests > 0:
        fig.add_trace(
            go.Scatter(
                x=[pick.config.slots],
                y=[pick.capacity_rps],
                mode="markers",
                name="★ pick",
                marker={
                    "color": PICK,
                    "size": 18,
                    "symbol": "star",
                    "line": {"color": INK, "width": 1},
                },
                hovertemplate=f"pick {pick.config.effective().label}<br>%{{x}} slots"
                "<br>capacity %{y:,.1f} req/s<extra></extra>",
            )
        )
        fig.add_annotation(
            x=pick.config.slots,
            y=pick.capacity_rps,
            text=f"pick: {pick.config.effective().label}, {pick.capacity_rps:,.0f} req/s",
            showarrow=True,
            arrowhead=2,
            ax=40,
            ay=40,
            font={"color": PICK},
        )
    _layout(fig, "Throughput against concurrent slots (workers × threads)", height=460)
    fig.update_xaxes(title_text="concurrent slots = workers × threads", rangemode="tozero")
    fig.update_yaxes(title_text="requests per second", range=[0, top * 1.2])
    return fig


FLAT_NOTE = (
    "Flat, and not because the app is idle:<br>one worker × one thread runs one request at a "
    "time,<br>so CPU and memory cannot rise while users queue."
)


def pick_vs_default(result: TuneResult) -> go.Figure | None:
    """CPU and memory over time for the pick and App Service's default: the seed's flat graphs."""
    runs: list[tuple[str, ServerStats, str]] = []
    pick = pick_trial(result)
    if pick is not None:
        stats = trial_server(pick)
        if stats is not None:
            runs.append(
                (
                    f"★ pick {pick.config.effective().label} ({pick.throughput_rps:,.0f} req/s)",
                    stats,
                    PICK,
                )
            )
    found = default_trial(result)
    flat = ""
    if found is not None:
        name, trial = found
        stats = trial_server(trial)
        if stats is not None and trial is not pick:
            runs.append(
                (
                    f"{name} {trial.config.effective().label} ({trial.throughput_rps:,.1f} req/s)",
                    stats,
                    DEFAULT,
                )
            )
            flat = FLAT_NOTE
    return server_over_time(
        runs, "CPU and memory over time: the pick against App Service's default", annotate_flat=flat
    )


def profile_routes(profile: Profile | None) -> go.Figure | None:
    """Per route, CPU time against waiting time at concurrency 1: waiting is what threads hide."""
    if profile is None or not profile.routes:
        return None
    routes = list(profile.routes)
    labels = [f"{r.method} {r.path} (weight {r.weight:g})" for r in routes]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            y=labels,
            x=[r.cpu_ms for r in routes],
            orientation="h",
            name="computing (server CPU ms)",
            marker_color=OTHER,
            hovertemplate="%{y}<br>CPU %{x:,.1f} ms<extra></extra>",
        )
    )
    ratios = []
    for r in routes:
        w = r.wait_compute_ratio
        ratios.append(
            f"W/C {w:,.2g}"
            if math.isfinite(w) and w < 100
            else f"W/C {w:,.0f}"
            if math.isfinite(w)
            else "W/C ∞"
        )
    fig.add_trace(
        go.Bar(
            y=labels,
            x=[r.wait_ms for r in routes],
            orientation="h",
            name="waiting (I/O, sleeps, locks: ms)",
            marker_color=BASELINE,
            text=ratios,
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}<br>waiting %{x:,.1f} ms<extra></extra>",
        )
    )
    whole = profile.wait_compute_ratio
    whole_text = f"{whole:,.1f}" if math.isfinite(whole) else "∞"
    _layout(
        fig,
        f"Where each request's time goes (whole workload: W/C = {whole_text}, so "
        f"threads per core ≈ 1 + W/C)",
        height=max(260, 60 * len(routes) + 160),
    )
    fig.update_layout(barmode="stack", legend={"traceorder": "normal"})
    fig.update_xaxes(title_text="milliseconds per request at concurrency 1", rangemode="tozero")
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(margin={"r": 90})
    return fig


def profile_memory(result: TuneResult) -> go.Figure | None:
    """Memory per worker and per thread, and what that predicts for workers × threads."""
    profile = result.profile
    if profile is None:
        return None
    mem = profile.memory
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.38, 0.62],
        horizontal_spacing=0.12,
        subplot_titles=("Measured growth", "Predicted PSS by workers"),
    )
    fig.add_trace(
        go.Bar(
            x=["first worker<br>(with master)", "each extra<br>worker", "each extra<br>thread"],
            y=[mem.base_mib, mem.per_worker_mib, mem.per_thread_mib],
            marker_color=[GREY, OTHER, SKY],
            text=[f"{v:,.1f}" for v in (mem.base_mib, mem.per_worker_mib, mem.per_thread_mib)],
            textposition="outside",
            cliponaxis=False,
            showlegend=False,
            hovertemplate="%{x}: %{y:,.1f} MiB<extra></extra>",
        ),
        row=1,
        col=1,
    )
    rec = result.recommendation
    budget = result.constraints.memory_mib
    thread_counts = sorted({1, *([rec.threads] if rec else []), 8})
    max_w = max([t.config.workers for t in result.trials] + [4])
    ws = list(range(1, max_w + 1))
    colours = [GREY, PICK, SKY]
    for th, colour in zip(thread_counts, colours, strict=False):
        ys = [
            mem.base_mib + (w - 1) * mem.per_worker_mib + w * (th - 1) * mem.per_thread_mib
            for w in ws
        ]
        is_pick = rec is not None and th == rec.threads
        fig.add_trace(
            go.Scatter(
                x=ws,
                y=ys,
                mode="lines+markers",
                name=f"{th} thread{'s' if th > 1 else ''} per worker"
                + (" (pick)" if is_pick else ""),
                line={"color": PICK if is_pick else colour, "width": 3 if is_pick else 2},
                hovertemplate="%{x} workers: %{y:,.0f} MiB<extra></extra>",
            ),
            row=1,
            col=2,
        )
    if budget > 0:
        fig.add_hline(
            y=budget,
            line={"color": DEFAULT, "dash": "dash"},
            row=1,
            col=2,
            annotation_text=f"plan memory {budget:,.0f} MiB",
            annotation_position="top left",
        )
    if rec is not None:
        fig.add_trace(
            go.Scatter(
                x=[rec.workers],
                y=[rec.pss_mib_peak],
                mode="markers",
                name=f"★ pick measured ({rec.pss_mib_peak:,.0f} MiB)",
                marker={
                    "color": PICK,
                    "size": 16,
                    "symbol": "star",
                    "line": {"color": INK, "width": 1},
                },
            ),
            row=1,
            col=2,
        )
    _layout(fig, f"Memory per worker and per thread ({mem.source.upper()}, MiB)", height=460)
    fig.update_layout(legend={"y": 1.1}, margin={"t": 100})  # above the subplot titles
    fig.update_yaxes(title_text="MiB", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="MiB", rangemode="tozero", row=1, col=2)
    fig.update_xaxes(title_text="workers", dtick=1 if max_w <= 16 else None, row=1, col=2)
    return fig


# -- probe ------------------------------------------------------------------------------------


def _waves(probe: Any) -> list[Any]:
    return [w for w in (getattr(probe, "waves", None) or ()) if getattr(w, "concurrency", 0)]


def probe_throughput(probe: Any) -> go.Figure | None:
    """Throughput per wave against what N independent slots would give: serial servers stay flat."""
    waves = _waves(probe)
    if not waves:
        return None
    cs = [int(w.concurrency) for w in waves]
    fig = go.Figure()
    single = float(getattr(probe, "single_latency_ms", 0.0) or 0.0)
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
            y=[float(w.throughput_rps) for w in waves],
            mode="lines+markers",
            name="measured",
            line={"color": OTHER, "width": 3},
            marker={"size": 10},
            hovertemplate="%{x} at once: %{y:,.1f} req/s<extra></extra>",
        )
    )
    eff = getattr(probe, "effective_concurrency", None)
    title = "Throughput as more requests are sent at once"
    if eff:
        title += f" (effective concurrency ≈ {float(eff):,.1f})"
    _layout(fig, title)
    fig.update_xaxes(title_text="requests sent at once (wave size)", tickvals=cs)
    fig.update_yaxes(title_text="requests per second", rangemode="tozero")
    return fig


def probe_latency(probe: Any) -> go.Figure | None:
    """Latency and wall time of each wave: a serial server's latency grows with the wave."""
    waves = _waves(probe)
    if not waves:
        return None
    cs = [int(w.concurrency) for w in waves]
    fig = go.Figure()
    lats: list[Latency | None] = [getattr(w, "latency_ms", None) for w in waves]
    if any(lat is not None for lat in lats):
        for attr, colour in (("p50", SKY), ("p95", OTHER)):
            fig.add_trace(
                go.Scatter(
                    x=cs,
                    y=[getattr(lat, attr, None) if lat else None for lat in lats],
                    mode="lines+markers",
                    name=f"{attr} latency",
                    line={"color": colour, "width": 2},
                )
            )
    fig.add_trace(
        go.Bar(
            x=cs,
            y=[float(getattr(w, "wall_ms", 0.0)) for w in waves],
            name="whole wave (wall ms)",
            marker_color="rgba(230,159,0,0.35)",
        )
    )
    single = float(getattr(probe, "single_latency_ms", 0.0) or 0.0)
    if single > 0:
        fig.add_hline(
            y=single,
            line={"color": GREY, "dash": "dash"},
            annotation_text=f"one request alone: {single:,.0f} ms",
            annotation_position="top left",
        )
    _layout(fig, "Latency of each wave")
    fig.update_xaxes(title_text="requests sent at once (wave size)", tickvals=cs)
    fig.update_yaxes(title_text="milliseconds", rangemode="tozero")
    return fig
