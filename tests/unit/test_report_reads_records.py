"""The renderers read who a trial is from the record and derive nothing.

Each test changes one fact in a fixture record in a way that configuration matching, a name
search or a recomputed bound would get wrong, and checks that the terminal, the HTML page
and the figures all follow the record.
"""

from __future__ import annotations

import dataclasses
import io
import sys
from pathlib import Path

from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/reportdata.py

import reportdata  # noqa: E402
from tunicorn.record import ModelFigures, TuneResult  # noqa: E402
from tunicorn.report import html, plots, terminal  # noqa: E402


def printed(result: TuneResult) -> str:
    out = io.StringIO()
    terminal.print_tune(result, Console(width=140, file=out, color_system=None))
    return out.getvalue()


def trace_names(fig: object) -> list[str]:
    return [t.name for t in fig.data]  # type: ignore[attr-defined]


def with_pick(result: TuneResult, key: str) -> TuneResult:
    rec = result.recommendation
    assert rec is not None and result.trial(key) is not None
    return dataclasses.replace(result, recommendation=dataclasses.replace(rec, trial=key))


def test_the_pick_is_the_trial_its_key_names() -> None:
    # The recommendation's own workers × threads still say 4 × 8: only the key moves.
    result = with_pick(reportdata.make_tune(), "3x12-gthread")
    picked = [line for line in printed(result).splitlines() if "◀ pick" in line]
    assert len(picked) == 1 and "3×12 gthread" in picked[0]
    page = html.render_tune(result)
    assert '<tr class="pick"><td>★ 3×12 gthread</td>' in page
    fig = plots.throughput_vs_slots(result)
    assert fig is not None
    (star,) = [t for t in fig.data if t.name == "★ pick"]
    assert list(star.x) == [36]


def test_baselines_are_found_by_their_trial_keys() -> None:
    result = reportdata.make_tune()
    # Figures that no longer match any trial's configuration: only the keys lead to the trials.
    scrambled = tuple(dataclasses.replace(b, workers=99, threads=99) for b in result.baselines)
    result = dataclasses.replace(result, baselines=scrambled)
    page = html.render_tune(result)
    for b in result.baselines:
        trial = result.trial(b.trial)
        assert trial is not None
        assert f"<td>{trial.config.effective().label} ({html.esc(b.name)})</td>" in page
    fig = plots.capacity_heatmap(result)
    assert fig is not None
    labels = {a.text for a in fig.layout.annotations}
    assert {b.name for b in result.baselines} | {"★ pick"} <= labels


def test_a_baseline_without_a_key_marks_no_trial() -> None:
    result = reportdata.make_tune()
    keyless = tuple(dataclasses.replace(b, trial="") for b in result.baselines)
    page = html.render_tune(dataclasses.replace(result, baselines=keyless))
    assert "(App Service default)</td>" not in page


def test_the_default_is_found_by_its_role_not_its_name_or_place() -> None:
    result = reportdata.make_tune()
    default, *others = result.baselines
    assert default.role == "app-service-default"
    renamed = dataclasses.replace(default, name="Oryx's own command")
    result = dataclasses.replace(result, baselines=(*others, renamed))
    fig = plots.pick_vs_default(result)
    assert fig is not None
    assert any(n.startswith("Oryx's own command 1×1 sync") for n in trace_names(fig))
    page = html.render_tune(result)
    assert f"the default&#x27;s {html.num(default.capacity_rps)}" in page


def test_the_bounds_are_the_model_figures() -> None:
    result = reportdata.make_tune()
    assert result.model is not None
    model = dataclasses.replace(result.model, cpu_bound_rps=123.0, wall_ms=250.0)
    fig = plots.throughput_vs_slots(dataclasses.replace(result, model=model))
    assert fig is not None
    (cpu,) = [t for t in fig.data if t.name.startswith("CPU bound")]
    assert list(cpu.y) == [123.0, 123.0]
    (little,) = [t for t in fig.data if t.name.startswith("Little's law")]
    assert "250 ms" in little.name and little.y[0] == 4.0  # one slot ÷ 250 ms
    bare = plots.throughput_vs_slots(dataclasses.replace(result, model=ModelFigures()))
    assert bare is not None
    assert not [n for n in trace_names(bare) if n.startswith(("CPU bound", "Little's law"))]


def test_pooled_trials_show_their_runs() -> None:
    result = reportdata.make_tune()
    pick = result.pick
    assert pick is not None and pick.pooled == "mean" and len(pick.runs) == 2
    runs = ", ".join(f"{r.capacity_rps:,.1f}" for r in pick.runs)
    page = html.render_tune(result)
    assert f"mean of 2 runs: {runs} req/s" in page
    assert "median of 3 runs: " in page
    assert "ok (mean of 2 runs)" in printed(result)
    fig = plots.capacity_heatmap(result)
    assert fig is not None
    assert any(f"mean of 2 runs: {runs} req/s" in cell for row in fig.data[0].customdata
               for cell in row)  # fmt: skip


def test_the_probe_page_says_what_the_probe_record_says() -> None:
    probe = reportdata.make_probe()
    page = html.render_probe(probe)
    assert html.esc(probe.verdict) in page
    assert html.esc(probe.next_step) in page
    assert page.count('<tr class="">') == len(probe.waves)
    more = reportdata.make_probe(slots=64)  # every wave served at once: a lower bound
    assert more.at_least and more.effective_concurrency is not None
    fig = plots.probe_throughput(more)
    assert fig is not None
    assert f"≥ {more.effective_concurrency}" in fig.layout.title.text
    assert f"≥ {more.effective_concurrency}" in html.render_probe(more)
