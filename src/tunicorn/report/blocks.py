"""The HTML page's building blocks: its policy and style, cards, tables, figures, the page itself.

The reports (`report.html`) are made of these: each block escapes what it shows (`esc`),
so a value from the user's app or scenario cannot become markup, and `page` wraps them in
the one self-contained document (inline CSS and plotly.js, a CSP that forbids any fetch).
"""

from __future__ import annotations

import html as _html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tunicorn import __version__
from tunicorn.record import (
    Latency,
)

# default-src 'none' stops every fetch (scripts, images, XHR, fonts) that is not inline.
CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:"
)

PLOT_CONFIG = {"displaylogo": False, "responsive": True, "displayModeBar": "hover"}

CSS = """
:root { --ink:#1f2328; --muted:#59636e; --line:#d8dee4; --bg:#f6f8fa; --card:#fff;
        --pick:#009E73; --bad:#D55E00; --accent:#0072B2; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
             sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 20px 48px; }
header.top { background:var(--card); border:1px solid var(--line);
             border-left:6px solid var(--pick);
             border-radius:10px; padding:20px 24px; margin-bottom:20px; }
header.top.warn { border-left-color: var(--bad); }
.kicker { color:var(--muted); font-size:13px; letter-spacing:.02em; margin:0 0 6px; }
h1.verdict { font-size:24px; line-height:1.3; margin:0 0 14px; font-weight:650; }
h2 { font-size:18px; margin:0 0 4px; }
p.lead { color:var(--muted); margin:0 0 10px; max-width:900px; }
.cmd { display:flex; align-items:stretch; gap:8px; margin:10px 0 4px; }
.cmd pre { flex:1; margin:0; padding:12px 14px; background:#0d1117; color:#e6edf3;
           border-radius:8px; overflow-x:auto; font:14px/1.45 ui-monospace, SFMono-Regular,
           Menlo, Consolas, monospace; white-space:pre; }
.cmd button { flex:none; min-width:84px; border:1px solid var(--line); background:#fff;
              border-radius:8px; font:600 14px system-ui, sans-serif; cursor:pointer; }
.cmd button:hover { background:#eef2f6; }
.cmd-label { font-size:13px; color:var(--muted); margin-top:10px; }
.cards { display:grid; grid-template-columns:repeat(auto-fit, minmax(190px, 1fr)); gap:12px;
         margin:16px 0 4px; }
.card-num { background:var(--bg); border:1px solid var(--line); border-radius:8px;
            padding:10px 14px; }
.card-num .label { font-size:12px; color:var(--muted); text-transform:uppercase;
                   letter-spacing:.04em; }
.card-num .value { font-size:22px; font-weight:650; }
.card-num .sub { font-size:13px; color:var(--muted); }
ul.reasons { margin:12px 0 0; padding-left:20px; }
ul.warnings { margin:12px 0 0; padding:10px 14px 10px 32px; background:#fff8e5;
              border:1px solid #f0d78c; border-radius:8px; }
section.plot, section.table { background:var(--card); border:1px solid var(--line);
                              border-radius:10px;
                              padding:18px 20px; margin:0 0 20px; }
table { border-collapse:collapse; width:100%; font-size:14px; font-variant-numeric:tabular-nums; }
th, td { text-align:right; padding:6px 10px; border-bottom:1px solid var(--line);
         white-space:nowrap; }
th:first-child, td:first-child { text-align:left; }
th { color:var(--muted); font-weight:600; font-size:13px; }
tr.pick td { background:#e8f6f1; font-weight:600; }
tr.infeasible td { color:var(--muted); }
.why { white-space:normal; text-align:left; color:var(--muted); }
footer { color:var(--muted); font-size:13px; margin-top:28px; }
"""

COPY_JS = """
function tunicornCopy(id, button) {
  var text = document.getElementById(id).innerText;
  function done(ok) {
    button.textContent = ok ? "Copied" : "Select + copy";
    setTimeout(function () { button.textContent = "Copy"; }, 1600);
  }
  function fallback() {
    var area = document.createElement("textarea");
    area.value = text; area.setAttribute("readonly", "");
    area.style.position = "fixed"; area.style.opacity = "0";
    document.body.appendChild(area); area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    done(ok);
  }
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
  } else {
    fallback();
  }
}
"""


def esc(value: object) -> str:
    return _html.escape(str(value), quote=True)


def capacity_text(figure: float, ci: tuple[float, float]) -> str:
    """A capacity as `num` writes it, ± its interval's half-width where it has one."""
    if ci[1] <= 0 or figure <= 0:
        return num(figure)
    return f"{num(figure)} ± {num(max(ci[1] - figure, figure - ci[0]))}"


def num(value: float | None, unit: str = "") -> str:
    """Figures as a person reads them: three significant digits at most, thousands grouped."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:,.1f}"
    else:
        text = f"{value:,.2f}"
    return f"{text} {unit}".rstrip() if unit else text


@dataclass(frozen=True)
class Card:
    label: str
    value: str
    sub: str = ""


@dataclass(frozen=True)
class Figure:
    """A plot with the sentence that says how to read it."""

    key: str
    title: str
    lead: str
    figure: Any  # plotly Figure or None


# -- building blocks --------------------------------------------------------------------------


def plotlyjs() -> str:
    from plotly.offline import get_plotlyjs

    js: str = get_plotlyjs()
    return js


def command(block_id: str, label: str, command: str) -> str:
    return (
        f'<div class="cmd-label">{esc(label)}</div>'
        f'<div class="cmd"><pre id="{esc(block_id)}">{esc(command)}</pre>'
        f'<button type="button" onclick="tunicornCopy(\'{esc(block_id)}\', this)" '
        f'aria-label="Copy {esc(label)}">Copy</button></div>'
    )


def cards(cards: Iterable[Card]) -> str:
    items = "".join(
        f'<div class="card-num"><div class="label">{esc(c.label)}</div>'
        f'<div class="value">{esc(c.value)}</div>'
        + (f'<div class="sub">{esc(c.sub)}</div>' if c.sub else "")
        + "</div>"
        for c in cards
    )
    return f'<div class="cards">{items}</div>' if items else ""


def bullets(items: Sequence[str], cls: str) -> str:
    if not items:
        return ""
    return f'<ul class="{cls}">' + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>"


def figures(figures: Iterable[Figure]) -> str:
    parts = []
    for f in figures:
        if f.figure is None:
            continue
        # The section's <h2> names the plot; a second title inside it is only noise.
        f.figure.update_layout(title=None, margin={"t": max(70, f.figure.layout.margin.t or 0)})
        body = f.figure.to_html(
            full_html=False, include_plotlyjs=False, div_id=f"plot-{f.key}", config=PLOT_CONFIG
        )
        parts.append(
            f'<section class="plot" id="{esc(f.key)}"><h2>{esc(f.title)}</h2>'
            f'<p class="lead">{esc(f.lead)}</p>{body}</section>'
        )
    return "\n".join(parts)


def table(
    title: str, lead: str, head: Sequence[str], rows: Sequence[tuple[str, Sequence[str]]]
) -> str:
    if not rows:
        return ""
    th = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = "".join(
        f'<tr class="{esc(cls)}">'
        + "".join(
            f'<td class="why">{esc(c)}</td>'
            if i == len(cells) - 1 and head[-1] == "note"
            else f"<td>{esc(c)}</td>"
            for i, c in enumerate(cells)
        )
        + "</tr>"
        for cls, cells in rows
    )
    return (
        f'<section class="table"><h2>{esc(title)}</h2><p class="lead">{esc(lead)}</p>'
        f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table></section>"
    )


def page(title: str, header: str, body: str, footer: str) -> str:
    """The one template every report uses: head with CSP, CSS and plotly.js once, then the body."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="generator" content="tunicorn {esc(__version__)}">
<title>{esc(title)}</title>
<style>{CSS}</style>
<script>{COPY_JS}</script>
<script type="text/javascript">{plotlyjs()}</script>
</head>
<body>
<main>
{header}
{body}
<footer>{footer}</footer>
</main>
</body>
</html>
"""


def footer(what: str) -> str:
    return (
        f"Generated by tunicorn {esc(__version__)} from a saved {esc(what)} run. This page is "
        "self-contained: it works offline and fetches nothing (plots drawn by plotly.js, "
        "embedded). Hover a plot for exact values; drag to zoom, double-click to reset."
    )


def lat(lat: Latency) -> str:
    return f"p50 {num(lat.p50)} · p95 {num(lat.p95)} · p99 {num(lat.p99)} ms"
