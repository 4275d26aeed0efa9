"""Figures of one tune run: capacity by configuration, throughput against the bounds, latency
per trial, and the pick's CPU and memory against App Service's default.

Who a trial is comes from the record, never from its configuration: the pick is the trial
under `recommendation.trial`, a baseline the trial under its `trial` key, and App Service's
default the baseline whose role says so.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go

from tunicorn import model
from tunicorn.record import Baseline, ServerStats, Trial, TuneResult
from tunicorn.report.phrases import pooled_text
from tunicorn.report.plots.common import (
    BASELINE,
    DEFAULT,
    GREY,
    INK,
    OTHER,
    PICK,
    PURPLE,
    SKY,
    layout,
    log_ticks,
    server_over_time,
)

DEFAULT_ROLE = "app-service-default"


def pick_key(result: TuneResult) -> str:
    """The key of the trial that measured the pick ("" when there is no pick)."""
    return result.recommendation.trial if result.recommendation is not None else ""


def baselines_by_trial(result: TuneResult) -> dict[str, Baseline]:
    """Each baseline under the key of the trial that measured it."""
    return {b.trial: b for b in result.baselines if b.trial}


def baseline_colour(baseline: Baseline) -> str:
    return DEFAULT if baseline.role == DEFAULT_ROLE else BASELINE


def trial_server(trial: Trial) -> ServerStats | None:
    """The trial's server samples, or its first phase's where the trial keeps none itself."""
    if trial.server is not None and trial.server.samples:
        return trial.server
    for phase in trial.phases:
        if phase.server is not None and phase.server.samples:
            return phase.server
    return trial.server


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
    best = _best_per_cell(trials)
    workers = sorted({w for w, _ in best})
    threads = sorted({t for _, t in best})
    cells = [[_cell(best.get((w, th)), w, th) for th in threads] for w in workers]
    hover = [[h for _, _, h in row] for row in cells]
    fig = go.Figure(
        go.Heatmap(
            z=[[z for z, _, _ in row] for row in cells],
            x=list(range(len(threads))),
            y=list(range(len(workers))),
            text=[[t for _, t, _ in row] for row in cells],
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

    crossed = [
        (*cell(w, th), _reason_text(trial), hover[workers.index(w)][threads.index(th)])
        for (w, th), trial in best.items()
        if not trial.feasible
    ]
    if crossed:
        _crosses(fig, crossed)
    for b in result.baselines:
        measured = result.trial(b.trial)
        if measured is not None and (measured.config.workers, measured.config.threads) in best:
            x, y = cell(measured.config.workers, measured.config.threads)
            _box(fig, x, y, baseline_colour(b), "dash", b.name, 2.5)
    pick = result.pick
    if pick is not None and (pick.config.workers, pick.config.threads) in best:
        x, y = cell(pick.config.workers, pick.config.threads)
        _box(fig, x, y, PICK, "solid", "★ pick", 4)
    layout(
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


def _crosses(fig: go.Figure, crossed: list[tuple[float, float, str, str]]) -> None:
    """The crossed cells' marks (x, y, mark, hover). The heatmap's gaps carry no hover, so an
    invisible scatter gives crossed and untried cells their hover text."""
    fig.add_trace(
        go.Scatter(
            x=[x for x, _, _, _ in crossed],
            y=[y for _, y, _, _ in crossed],
            text=[t for _, _, t, _ in crossed],
            mode="text",
            customdata=[h for _, _, _, h in crossed],
            textfont={"color": DEFAULT, "size": 12},
            name="not usable",
            hovertemplate="%{customdata}<extra></extra>",
            showlegend=False,
        )
    )


def _best_per_cell(trials: list[Trial]) -> dict[tuple[int, int], Trial]:
    """One trial per workers × threads cell: a feasible one before an infeasible one, then
    the higher capacity (a cell may be tried under both client models, or again)."""
    best: dict[tuple[int, int], Trial] = {}
    for t in trials:
        key = (t.config.workers, t.config.threads)
        if key not in best or (t.feasible, t.capacity_rps) > (
            best[key].feasible,
            best[key].capacity_rps,
        ):
            best[key] = t
    return best


def _cell(trial: Trial | None, w: int, th: int) -> tuple[float | None, str, str]:
    """A cell's value (None: a gap), its text and its hover: the capacity of a feasible trial,
    why an infeasible one is not usable, or that the cell was not tried."""
    if trial is None:
        return None, "", f"{w}×{th}: not tried"
    if trial.feasible:
        pooled = pooled_text(trial)
        return trial.capacity_rps, f"{trial.capacity_rps:,.0f}", (
            f"{trial.config.effective().label}<br>capacity {trial.capacity_rps:,.1f} req/s"
            f"<br>p95 {trial.latency_ms.p95:,.0f} ms<br>source: {trial.source}"
            + (f"<br>{pooled}" if pooled else "")
        )
    why = trial.note or trial.reason
    pss = (
        f"<br>predicted PSS {trial.predicted_pss_mib:,.0f} MiB"
        if trial.predicted_pss_mib
        else ""
    )
    return None, "", f"{trial.config.effective().label}: not usable ({why}){pss}"


def _box(
    fig: go.Figure, x: float, y: float, colour: str, dash: str, label: str, width: float
) -> None:
    """A labelled frame around the heatmap's cell at (x, y): the pick's or a baseline's."""
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


def _trial_name(trial: Trial, result: TuneResult) -> str:
    label = trial.config.effective().label
    if trial.key == pick_key(result):
        return f"★ {label}"
    baseline = baselines_by_trial(result).get(trial.key)
    return f"{label} ({baseline.name})" if baseline is not None else label


def latency_per_trial(result: TuneResult) -> go.Figure | None:
    """p50, p95 and p99 of each measured trial on a log scale, against the SLO."""
    measured = [t for t in result.trials if t.requests > 0 or t.latency_ms.p95 > 0]
    if not measured:
        return None
    measured.sort(key=lambda t: (t.config.slots, t.config.workers))
    pick = pick_key(result)
    baselines = baselines_by_trial(result)
    xs = list(range(len(measured)))
    ticktext = []
    for t in measured:
        label = t.config.effective().label
        b = baselines.get(t.key)
        if t.key == pick:
            ticktext.append(f'<b style="color:{PICK}">★ {label}<br>pick</b>')
        elif b is not None:
            # A long name breaks before its parenthesis, so neighbouring ticks stay apart.
            name = b.name.replace(" (", "<br>(")
            ticktext.append(f'{label}<br><span style="color:{baseline_colour(b)}">{name}</span>')
        elif not t.feasible:
            ticktext.append(f'{label}<br><span style="color:{DEFAULT}">{_reason_text(t)}</span>')
        else:
            ticktext.append(label)
    fig = go.Figure()
    # A bar from p50 to p99 per trial, coloured by what the trial is.
    for x, t in zip(xs, measured, strict=True):
        b = baselines.get(t.key)
        colour = PICK if t.key == pick else DEFAULT if b and b.role == DEFAULT_ROLE else GREY
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
    slo = result.constraints.slo_p95_ms
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
    layout(fig, "Latency percentiles per trial (saturating load; ★ = pick)", height=460)
    fig.update_xaxes(
        title_text="configuration (workers × threads, class), by concurrent slots",
        tickvals=xs,
        ticktext=ticktext,
        showgrid=False,
        zeroline=False,
    )
    ticks = log_ticks(min(values), max(values)) if values else None
    fig.update_yaxes(
        type="log", title_text="latency (ms, log scale)", tickvals=ticks, tickformat=",.0f"
    )
    return fig


def throughput_vs_slots(result: TuneResult) -> go.Figure | None:
    """Measured capacity against workers × threads, with the two bounds the model figures give:
    Little's law from the time one request takes, and the CPU bound tune computed."""
    measured = [
        t for t in result.trials
        if t.requests > 0 and t.config.worker_class not in ("gevent", "uvicorn")
    ]  # fmt: skip
    if not measured:
        return None
    pick = result.pick
    max_slots = max(t.config.slots for t in measured)
    top = max(max(t.throughput_rps, t.capacity_rps) for t in measured)
    xs = list(range(1, math.ceil(max(max_slots * 1.15, 4)) + 1))
    fig = go.Figure()
    top = max(top, _bounds(fig, result, xs))
    _trials(fig, result, measured)
    if pick is not None and pick.requests > 0:
        _star(fig, pick)
    layout(fig, "Throughput against concurrent slots (workers × threads)", height=460)
    fig.update_xaxes(title_text="concurrent slots = workers × threads", rangemode="tozero")
    fig.update_yaxes(title_text="requests per second", range=[0, top * 1.2])
    return fig


def _bounds(fig: go.Figure, result: TuneResult, xs: list[int]) -> float:
    """The model's two bounds as lines: Little's law over the slots and the CPU bound.
    Returns the CPU bound (0 without one), which the y axis must reach."""
    figures = result.model
    r_ms = figures.wall_ms if figures is not None else 0.0
    if r_ms > 0:
        little = [model.slots_bound_rps(n, r_ms / 1000.0) for n in xs]
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
    cpu_rps = figures.cpu_bound_rps if figures is not None else 0.0
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
    return cpu_rps if cpu_rps > 0 else 0.0


def _trials(fig: go.Figure, result: TuneResult, measured: list[Trial]) -> None:
    """The trials other than the pick: the unusable ones crossed at the throughput they
    served, the others (measured, baselines) at their capacity."""
    baselines = baselines_by_trial(result)
    groups: dict[str, list[Trial]] = {"measured": [], "baselines": []}
    unusable = []
    for t in measured:
        if not t.feasible:
            unusable.append(t)
        elif t.key != pick_key(result):
            groups["baselines" if t.key in baselines else "measured"].append(t)
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
                text=[f"{_trial_name(t, result)}: {t.note or t.reason}" for t in unusable],
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
                text=[_trial_name(t, result) for t in ts],
                hovertemplate="%{text}<br>%{x} slots<br>capacity %{y:,.1f} req/s<extra></extra>",
            )
        )


def _star(fig: go.Figure, pick: Trial) -> None:
    """The pick, starred and labelled with its configuration and capacity."""
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


FLAT_NOTE = (
    "Flat, and not because the app is idle:<br>one worker × one thread runs one request at a "
    "time,<br>so CPU and memory cannot rise while users queue."
)


def pick_vs_default(result: TuneResult) -> go.Figure | None:
    """CPU and memory over time for the pick and App Service's default: the seed's flat graphs."""
    runs: list[tuple[str, ServerStats, str]] = []
    pick = result.pick
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
    default = result.baseline(DEFAULT_ROLE)
    trial = result.trial(default.trial) if default is not None else None
    flat = ""
    if default is not None and trial is not None and trial.key != pick_key(result):
        stats = trial_server(trial)
        if stats is not None:
            runs.append(
                (
                    f"{default.name} {trial.config.effective().label} "
                    f"({trial.throughput_rps:,.1f} req/s)",
                    stats,
                    DEFAULT,
                )
            )
            flat = FLAT_NOTE
    return server_over_time(
        runs, "CPU and memory over time: the pick against App Service's default", annotate_flat=flat
    )
