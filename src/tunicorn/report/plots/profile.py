"""Figures of the profile tune starts from: where each request's time goes, and what workers
and threads cost in memory."""

from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from tunicorn import model
from tunicorn.record import Profile, ServerConfig, TuneResult
from tunicorn.report.plots.common import BASELINE, DEFAULT, GREY, INK, OTHER, PICK, SKY, layout


def _wc_text(w: float) -> str:
    if not math.isfinite(w):
        return "W/C ∞"
    return f"W/C {w:,.2g}" if w < 100 else f"W/C {w:,.0f}"


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
    fig.add_trace(
        go.Bar(
            y=labels,
            x=[r.wait_ms for r in routes],
            orientation="h",
            name="waiting (I/O, sleeps, locks: ms)",
            marker_color=BASELINE,
            text=[_wc_text(r.wait_compute_ratio) for r in routes],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}<br>waiting %{x:,.1f} ms<extra></extra>",
        )
    )
    whole = profile.wait_compute_ratio
    whole_text = f"{whole:,.1f}" if math.isfinite(whole) else "∞"
    layout(
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
    """Memory per worker and per thread, and what the model predicts for workers × threads."""
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
    thread_counts = sorted({1, *([rec.threads] if rec else []), 8})
    max_w = max([t.config.workers for t in result.trials] + [4])
    ws = list(range(1, max_w + 1))
    colours = [GREY, PICK, SKY]
    for th, colour in zip(thread_counts, colours, strict=False):
        ys = [model.predict_pss(mem, ServerConfig(w, th)) for w in ws]
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
    plan_mib = result.constraints.memory_mib
    if plan_mib > 0:
        fig.add_hline(
            y=plan_mib,
            line={"color": DEFAULT, "dash": "dash"},
            row=1,
            col=2,
            annotation_text=f"plan memory {plan_mib:,.0f} MiB",
            annotation_position="top left",
        )
    figures = result.model
    if figures is not None and 0 < figures.memory_budget_mib < plan_mib:
        fig.add_hline(
            y=figures.memory_budget_mib,
            line={"color": DEFAULT, "dash": "dot"},
            row=1,
            col=2,
            annotation_text=f"budget {figures.memory_budget_mib:,.0f} MiB "
            f"({figures.memory_share:.0%} of the plan)",
            annotation_position="bottom left",
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
    layout(fig, f"Memory per worker and per thread ({mem.source.upper()}, MiB)", height=460)
    fig.update_layout(legend={"y": 1.1}, margin={"t": 100})  # above the subplot titles
    fig.update_yaxes(title_text="MiB", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="MiB", rangemode="tozero", row=1, col=2)
    fig.update_xaxes(title_text="workers", dtick=1 if max_w <= 16 else None, row=1, col=2)
    return fig


def process_ladder(profile: Profile | None) -> go.Figure | None:
    """One process under 1, 2, 4, … requests at once: where throughput stops growing is the
    most one process can usefully serve, with the USL fitted to the ladder."""
    limits = [x for x in (profile.process, profile.gevent_process) if x] if profile else []
    if not limits:
        return None
    fig = go.Figure()
    colours = {"gthread": OTHER, "gevent": PICK}
    for limit in limits:
        xs = [st.clients for st in limit.steps]
        name = "one worker, threads" if limit.worker_class != "gevent" else "one gevent worker"
        fig.add_trace(
            go.Scatter(
                x=xs, y=[st.throughput_rps for st in limit.steps], mode="lines+markers",
                name=f"{name}: ~{limit.limit:.0f} at once", marker={"size": 9},
                line={"color": colours.get(limit.worker_class, SKY)},
                customdata=[[st.p95_ms, st.cpu_cores_busy] for st in limit.steps],
                hovertemplate="%{x} at once: %{y:,.0f} req/s<br>p95 %{customdata[0]:,.0f} ms, "
                "CPU %{customdata[1]:.2f} cores<extra></extra>",
            )  # fmt: skip
        )
        usl = limit.usl
        if usl is not None:
            grid = [1 + i * (max(xs) - 1) / 60 for i in range(61)]
            curve = [model.usl_throughput(n, usl.lam, usl.sigma, usl.kappa) for n in grid]
            fig.add_trace(
                go.Scatter(
                    x=grid, y=curve,
                    mode="lines", name=f"USL fit (σ {usl.sigma:.3f}, κ {usl.kappa:.4f})",
                    line={"color": GREY, "dash": "dot"}, hoverinfo="skip",
                )  # fmt: skip
            )
    layout(fig, "One process: requests at once against throughput")
    fig.update_xaxes(type="log", title_text="requests in flight at once (log scale)")
    fig.update_yaxes(title_text="req/s", rangemode="tozero")
    return fig
