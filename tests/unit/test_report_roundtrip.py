"""JSON → `tunicorn report` → the same numbers, and records that survive a JSON round trip.

`report` exists so that a run can be re-read long after the servers are gone; if a figure
changed on the way through JSON, every later reading of the run would be wrong.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/reportdata.py

import reportdata  # noqa: E402
from tunicorn import interval, record  # noqa: E402
from tunicorn.cli import cli, main  # noqa: E402
from tunicorn.record import BenchResult, ProbeResult, TuneResult  # noqa: E402
from tunicorn.report import terminal  # noqa: E402


@pytest.mark.parametrize(
    "tune",
    [
        reportdata.make_tune(),
        reportdata.make_tune(with_profile=False),
        reportdata.make_tune(specs=(reportdata.SPECS[0],)),
        reportdata.make_tune(specs=(reportdata.SPECS[-1],)),  # nothing feasible: no pick
    ],
    ids=["full", "no-profile", "single-trial", "no-recommendation"],
)
def test_tune_result_round_trips_through_json(tune: TuneResult) -> None:
    again = record.from_json(record.to_json(tune), TuneResult)
    assert again == tune
    assert again.kind == "tune"


def test_bench_result_round_trips_through_json() -> None:
    bench = reportdata.make_bench()
    assert record.from_json(record.to_json(bench), BenchResult) == bench


def test_probe_result_round_trips_through_json() -> None:
    probe = reportdata.make_probe(slots=2, warnings=("one warning",))
    assert record.from_json(record.to_json(probe), ProbeResult) == probe


def run_report(*args: str) -> str:
    result = CliRunner().invoke(cli, ["report", *args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def test_report_of_a_bench_json_prints_its_numbers(tmp_path: Path) -> None:
    bench = reportdata.make_bench()
    path = record.save(bench, tmp_path / "bench.json")
    out = run_report(str(path))
    lat = bench.latency_ms
    assert f"{bench.throughput_rps:,.1f} req/s" in out
    assert f"({bench.requests:,} requests)" in out
    for value in (lat.p50, lat.p90, lat.p95, lat.p99, lat.max):
        assert terminal.ms(value) in out
    assert bench.server is not None
    assert f"{bench.server.pss_mib_peak:,.1f} MiB" in out


def test_report_of_a_tune_json_prints_the_pick_and_baselines(tmp_path: Path) -> None:
    from tunicorn.report import html

    tune = reportdata.make_tune()
    path = record.save(tune, tmp_path / "tune.json")
    html_path = tmp_path / "out" / "tune.html"
    out = run_report(str(path), "--html", str(html_path))
    rec = tune.recommendation
    assert rec is not None
    flat = " ".join(out.split())  # whatever the terminal's wrapping
    assert rec.startup_command in flat
    assert interval.text(rec.capacity_rps, rec.capacity_ci) in flat
    for baseline in tune.baselines:
        assert interval.text(baseline.capacity_rps, baseline.capacity_ci) in flat
    page = html_path.read_text(encoding="utf-8")
    assert rec.startup_command in page
    assert tune.verdict.replace("'", "&#x27;") in page
    # Every measured trial's capacity appears in the trials table.
    for trial in tune.trials:
        if trial.feasible:
            assert f"<td>{html.capacity_text(trial.capacity_rps, trial.capacity_ci)}</td>" in page


def test_report_html_of_bench_matches_a_direct_render(tmp_path: Path) -> None:
    from tunicorn.report import html

    bench = reportdata.make_bench()
    path = record.save(bench, tmp_path / "bench.json")
    out_html = tmp_path / "bench.html"
    run_report(str(path), "--html", str(out_html))
    assert out_html.read_text(encoding="utf-8") == html.render_bench(bench)


def test_report_html_of_probe_matches_a_direct_render(tmp_path: Path) -> None:
    from tunicorn.report import html

    probe = reportdata.make_probe()
    path = record.save(probe, tmp_path / "probe.json")
    out_html = tmp_path / "probe.html"
    run_report(str(path), "--html", str(out_html))
    assert out_html.read_text(encoding="utf-8") == html.render_probe(probe)


def test_report_renders_a_run_saved_with_fewer_keys(tmp_path: Path) -> None:
    """An older run without optional keys (histogram, timeline, samples) still renders."""
    bench = dataclasses.replace(reportdata.make_bench(with_server=False, with_histogram=False),
                                timeline=())  # fmt: skip
    path = record.save(bench, tmp_path / "old.json")
    out = run_report(str(path), "--html", str(tmp_path / "old.html"))
    assert f"{bench.throughput_rps:,.1f} req/s" in out


BAD_INPUTS = {
    "missing": None,
    "not-json": "this is not json\n",
    "not-a-run": '{"hello": "world"}\n',
    "json-list": "[1, 2, 3]\n",
    "unknown-kind": '{"kind": "flamegraph", "schema": 1}\n',
    "damaged": '{"kind": "bench", "schema": 1}\n',
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_exits_2_with_one_sentence(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / f"{case}.json"
    content = BAD_INPUTS[case]
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["report", str(path)])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith("error:"), err
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in captured.err + captured.out
    assert path.name in " ".join(err.split())


REAL_BENCH = Path(__file__).resolve().parents[1] / "fixtures" / "reports" / "bench_demo_io.json"


def test_report_of_a_real_bench_run(tmp_path: Path) -> None:
    """A run the real engine wrote (`bench --demo --path /io -c 4 -d 2 --json`), re-read."""
    bench = record.from_json(REAL_BENCH.read_bytes(), BenchResult)
    assert record.from_json(record.to_json(bench), BenchResult) == bench
    out = run_report(str(REAL_BENCH), "--html", str(tmp_path / "real.html"))
    assert f"{bench.throughput_rps:,.1f} req/s" in out
    assert terminal.ms(bench.latency_ms.p95) in out
    page = (tmp_path / "real.html").read_text(encoding="utf-8")
    assert 'id="plot-latency-distribution"' in page  # its HDR histogram decoded
