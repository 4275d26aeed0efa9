"""The stalled upstream: its spec, its model, the engine's marks, the wrapper, and the verdict.

Pure logic only: the wrapper's waits are recorded by a fake sleep, never slept.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from typing import Any

import pytest

from tests.reportdata import histogram_b64, make_bench, make_tune
from tunicorn import model
from tunicorn.app.target import Target
from tunicorn.decide import recommend, stall
from tunicorn.errors import UsageError
from tunicorn.launch import stallwrap
from tunicorn.load.scenario import LoadSpec, Request
from tunicorn.load.wire import _Target, stall_marks
from tunicorn.record import Latency, ServerConfig, StallCheck, StalledStats, StallRun, TuneResult

# -- the spec ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "share", "seconds"),
    [("2%:5s", 0.02, 5), ("0.05:2", 0.05, 2), ("5%:500ms", 0.05, 0.5), (" 10 % : 1 s ", 0.1, 1)],
)
def test_a_stall_is_a_share_and_a_wait(text: str, share: float, seconds: float) -> None:
    parsed = stall.parse(text)
    assert parsed.share == pytest.approx(share) and parsed.seconds == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5%", "2s", "five:2s", "0%:2s", "150%:2s", "5%:0s", "5%:1h"])
def test_a_bad_stall_is_one_sentence_of_usage(text: str) -> None:
    with pytest.raises(UsageError) as err:
        stall.parse(text)
    message = str(err.value)
    assert "--stall" in message and message.endswith(".") and "\n" not in message


def test_the_default_stall_is_the_declared_one() -> None:
    assert stall.parse("5%:2s") == stall.DEFAULT


# -- the model --------------------------------------------------------------------------------

SEED_LOAD_RPS = 2.5  # a handful of users (5), each sending a request every 2 s
SERVICE_S = 0.2  # the seed's page: 200 ms on an external API


def test_the_default_stall_fails_the_seeds_one_slot_at_a_handful_of_users() -> None:
    d = stall.DEFAULT
    assert not model.stall_holds(1, SEED_LOAD_RPS, d.share, d.seconds, SERVICE_S)


def test_the_default_stall_holds_the_seeds_three_by_six_at_that_load_and_far_beyond() -> None:
    d = stall.DEFAULT
    seed = ServerConfig(3, 6, "gthread")
    assert stall.model_holds(seed, d, SEED_LOAD_RPS, SERVICE_S)
    edge = stall.gives_way(seed, d, SERVICE_S)
    assert edge is not None and edge > 10 * SEED_LOAD_RPS


def test_each_gthread_worker_is_its_own_pool_of_threads() -> None:
    # A gthread worker accepts whether or not its threads are free: 3×6 gives way before 18
    # slots in one accept queue would, and 1×18 gthread where those 18 would (the others' own
    # work left out: it counts the same, split or not).
    d = stall.DEFAULT
    pooled = model.stall_gives_way_rps(18, d.share, d.seconds, 0.0)
    three = stall.gives_way(ServerConfig(3, 6, "gthread"), d, 0.0)
    one = stall.gives_way(ServerConfig(1, 18, "gthread"), d, 0.0)
    sync = stall.gives_way(ServerConfig(18, 1, "sync"), d, 0.0)
    assert three is not None and three < 0.8 * pooled
    assert one == sync == pytest.approx(pooled, abs=0.1)
    # Each of the three takes a third of the load on its six threads.
    assert stall.model_holds(ServerConfig(3, 6, "gthread"), d, three * 0.99, 0.0)
    assert model.stall_holds(6, three / 3 * 0.99, d.share, d.seconds, 0.0)
    assert not model.stall_holds(6, three / 3 * 1.02, d.share, d.seconds, 0.0)


def test_two_slots_give_way_between_one_and_three() -> None:
    d = stall.DEFAULT
    edges = [model.stall_gives_way_rps(n, d.share, d.seconds, 0.0) for n in (1, 2, 3, 6, 18)]
    assert edges == sorted(edges) and len(set(edges)) == len(edges)
    # Two slots hold while about one stall in three seconds overlaps another (P(N≥2) ≤ 5%).
    two = edges[1]
    assert model.poisson_at_least(model.stalled_in_flight(two, d.share, d.seconds), 2) == (
        pytest.approx(model.STALL_BLOCKED_MAX, abs=1e-3)
    )
    assert model.stall_holds(2, two * 0.95, d.share, d.seconds, 0.0)
    assert not model.stall_holds(2, two * 1.05, d.share, d.seconds, 0.0)


def test_the_others_own_work_counts_against_the_free_slots() -> None:
    # 10 slots, 1 stalled on average: the others at 100 req/s × 0.1 s need 10 slots themselves.
    assert model.stall_holds(10, 20, 0.05, 1.0, 0.01)
    assert not model.stall_holds(10, 100, 0.01, 1.0, 0.1)


def test_poisson_tail() -> None:
    assert model.poisson_at_least(0.0, 1) == 0.0
    assert model.poisson_at_least(3.0, 0) == 1.0
    assert model.poisson_at_least(1.0, 1) == pytest.approx(1 - math.exp(-1))


def test_no_stall_never_gives_way_on_slots() -> None:
    assert model.stall_gives_way_rps(4, 0.0, 2.0, 0.0) == math.inf


# -- the engine's marks --------------------------------------------------------------------------


@pytest.mark.parametrize("share", [0.02, 0.05, 0.2, 0.5])
def test_an_exact_share_of_requests_is_marked_evenly(share: float) -> None:
    marks = stall_marks(share)
    assert sum(marks) == round(share * len(marks))
    gaps = [i for i, m in enumerate(marks) if m]
    spacing = [b - a for a, b in zip(gaps, gaps[1:], strict=False)]
    assert max(spacing) - min(spacing) <= 1  # evenly spread, no bursts


def test_marked_requests_carry_the_header_and_keep_the_mix() -> None:
    spec = LoadSpec(
        url="http://127.0.0.1:9",
        requests=(Request("/a", weight=3), Request("/b")),
        stall_share=0.1,
        stall_s=2.0,
    )
    target = _Target(spec)
    assert len(target.sequence) == len(target.stalls)
    marked = [p for p, m in zip(target.sequence, target.stalls, strict=True) if m]
    plain = [p for p, m in zip(target.sequence, target.stalls, strict=True) if not m]
    assert len(marked) == round(0.1 * len(target.sequence))
    assert all(b"X-Tunicorn-Stall: 2\r\n" in p for p in marked)
    assert not any(b"X-Tunicorn-Stall" in p for p in plain)
    a = sum(p.startswith(b"GET /a ") for p in target.sequence)
    assert a == pytest.approx(0.75 * len(target.sequence), abs=2)


def test_without_a_stall_nothing_is_marked() -> None:
    target = _Target(LoadSpec(url="http://127.0.0.1:9"))
    assert not any(target.stalls) and len(target.stalls) == len(target.sequence)


# -- the wrapper -------------------------------------------------------------------------------


def test_the_wsgi_wrapper_waits_only_on_marked_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(stallwrap.time, "sleep", slept.append)

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"ok"]

    wrapped = stallwrap.wsgi_wrap(app)
    assert wrapped({}, lambda *a: None) == [b"ok"]
    assert wrapped({stallwrap.WSGI_KEY: "1.5"}, lambda *a: None) == [b"ok"]
    assert wrapped({stallwrap.WSGI_KEY: "nonsense"}, lambda *a: None) == [b"ok"]
    assert slept == [1.5]


def test_the_asgi_wrapper_awaits_on_marked_http_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(stallwrap.asyncio, "sleep", fake_sleep)
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    wrapped = stallwrap.asgi_wrap(app)
    header = [(b"x-tunicorn-stall", b"2")]
    for scope in ({"type": "lifespan"}, {"type": "http", "headers": header},
                  {"type": "http", "headers": []}):  # fmt: skip
        asyncio.run(wrapped(scope, None, None))  # type: ignore[arg-type]
    assert seen == ["lifespan", "http", "http"] and slept == [2.0]


def test_the_wrapped_target_names_the_users_app_for_gunicorn() -> None:
    wsgi = stall.wrapped(Target(kind="app", app="pkg.mod:make_app('x')", interface="wsgi"))
    assert wsgi.app == "tunicorn.launch.stallwrap:wsgi(\"pkg.mod:make_app('x')\")"
    asgi = stall.wrapped(Target(kind="app", app="main:app", interface="asgi"))
    assert asgi.app == "tunicorn.launch.stallwrap:asgi('main:app')"


# -- the verdict -----------------------------------------------------------------------------

SLO = 300.0


def stalled(requests: int = 5, errors: dict[str, int] | None = None) -> StalledStats:
    return StalledStats(
        share=0.05, stall_s=2.0, requests=requests, ok=requests,
        errors_by_kind=errors or {}, latency_ms=Latency(p50=2000, max=2100),
    )  # fmt: skip


def bench_under_stall(p95: float, st: StalledStats, errors: dict[str, int] | None = None) -> Any:
    b = make_bench()
    return dataclasses.replace(
        b, latency_ms=dataclasses.replace(b.latency_ms, p95=p95), stalled=st,
        errors_by_kind=errors or {}, errors=sum((errors or {}).values()),
    )  # fmt: skip


def test_a_finalist_holds_when_the_others_keep_p95_and_nothing_fails() -> None:
    assert stall.verdict(bench_under_stall(120, stalled()), SLO) == (True, "")


@pytest.mark.parametrize(
    ("p95", "st", "errors", "why"),
    [
        (900, stalled(), None, "p95 900 ms > 300 ms"),
        (100, stalled(errors={"timeout": 2}), None, "timeout 2"),
        (100, stalled(), {"http_5xx": 1}, "http_5xx 1"),
        (100, stalled(requests=0), None, "no stalled request"),
    ],
)
def test_a_finalist_gives_way(
    p95: float, st: StalledStats, errors: dict[str, int] | None, why: str
) -> None:
    holds, reason = stall.verdict(bench_under_stall(p95, st, errors), SLO)
    assert not holds and why in reason


def test_within_counts_the_share_under_the_slo() -> None:
    hist = histogram_b64([10.0] * 60 + [250.0] * 20 + [4000.0] * 20)
    assert stall.within(hist, SLO) == pytest.approx(0.8)
    assert stall.within("", SLO) == 0.0


# -- the finalists and the pick among those that hold -----------------------------------------


def test_the_finalists_are_the_pick_its_rivals_and_the_measured_baselines() -> None:
    result = make_tune()
    roles = stall.finalists(result)
    keys = [t.key for _, t in roles]
    assert roles[0] == ("pick", result.pick)
    assert len(keys) == len(set(keys))
    for b in result.baselines:
        trial = result.trial(b.trial)
        if trial is not None and trial.feasible and trial.server:
            assert b.trial in keys


def check_of(result: TuneResult, holding: set[str]) -> StallCheck:
    assert result.pick is not None
    runs = tuple(
        StallRun(
            config=t.config,
            role=role,
            trial=t.key,
            holds=t.key in holding,
            reason="" if t.key in holding else "others' p95 2,400 ms > 300 ms",
            rate_rps=20.0,
            throughput_rps=19.0,
            requests=190,
            errors=0,
            latency_ms=Latency(p95=100 if t.key in holding else 2400),
            within_slo=1.0 if t.key in holding else 0.6,
            stalled=stalled(),
            model_holds=True,
            gives_way_rps=40.0,
        )  # fmt: skip
        for role, t in stall.finalists(result)
    )
    return StallCheck(
        share=0.05, stall_s=2.0, rate_rps=20.0, rate_basis="50% of the pick's capacity",
        slo_p95_ms=SLO, duration_s=8.0, runs=runs, first=result.pick.key,
        picked=result.pick.key,
    )  # fmt: skip


def test_a_pick_that_holds_stands() -> None:
    result = make_tune()
    assert result.pick is not None
    check = check_of(result, {result.pick.key})
    assert recommend.stall_allowed(check) is None
    after = recommend.under_stall(result, check)
    assert after.stall is not None and after.stall.picked == result.pick.key
    assert after.recommendation is not None
    assert any("waiting 2 s on an upstream" in r for r in after.recommendation.reasons)


def test_a_pick_that_gives_way_leaves_the_choice_to_those_that_hold() -> None:
    result = make_tune()
    others = [t.key for _, t in stall.finalists(result)][1:]
    check = check_of(result, set(others[:1]))
    assert recommend.stall_allowed(check) == frozenset(others[:1])


def test_where_none_holds_the_pick_stands_and_the_run_says_what_would() -> None:
    result = make_tune()
    check = check_of(result, set())
    assert recommend.stall_allowed(check) is None
    after = recommend.under_stall(result, check)
    assert after.stall is not None and "No finalist held" in after.stall.note
    assert any("gevent" in w and "timeout" in w for w in after.warnings)


def test_the_sentence_gives_each_finalists_share_within_the_slo() -> None:
    result = make_tune()
    assert result.pick is not None
    check = check_of(result, {result.pick.key})
    sentence = recommend.stall_sentence(check)
    assert sentence.startswith("With 5% of requests waiting 2 s on an upstream, at 20 req/s")
    assert f"{result.pick.config.label} keeps all" in sentence and "keeps 60%" in sentence


def test_a_finalist_not_run_shows_no_share_it_did_not_measure() -> None:
    from rich.console import Console

    from tunicorn.report import terminal
    from tunicorn.report.plots.stall import stall_finalists

    result = make_tune()
    assert result.pick is not None
    check = check_of(result, {result.pick.key})
    one = next(r for r in check.runs if r.config.slots == 1)
    why = "not run: 23.5 req/s is over 2× the most it served in its trial (7.9 req/s)"
    gone = dataclasses.replace(
        one, requests=0, throughput_rps=0.0, within_slo=0.0, latency_ms=Latency(), reason=why
    )
    check = dataclasses.replace(
        check, runs=tuple(gone if r is one else r for r in check.runs)
    )
    sentence = recommend.stall_sentence(check)
    assert f"{one.config.label} gives way ({why})" in sentence
    assert f"{one.config.label} keeps" not in sentence
    console = Console(width=200, record=True)
    console.print(terminal.stall_table(check))
    row = next(line for line in console.export_text().splitlines() if "1×1 default" in line)
    assert "0%" not in row and row.count("—") == 2
    figure = stall_finalists(dataclasses.replace(result, stall=check))
    assert figure is not None
    assert all(one.config.label not in str(trace.name) for trace in figure.data)
    assert len(figure.data) == len(check.runs) - 1


def test_the_check_round_trips_json_and_reaches_the_page_and_the_terminal() -> None:
    from tests.reportdata import with_stall
    from tunicorn import record
    from tunicorn.report import html, terminal

    result = with_stall(make_tune())
    again = record.from_json(record.to_json(result), TuneResult)
    assert again == result and again.stall is not None
    assert 'id="plot-stall"' in html.render_tune(again)
    titles = [str(t.title) for t in terminal.tune_tables(again)]
    assert any("Under a stalled upstream" in t for t in titles)


@pytest.mark.parametrize("command", ["bench", "tune"])
def test_a_bad_stall_on_the_command_line_exits_2_before_anything_runs(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from tunicorn.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main([command, "--demo", "--stall", "half:2s"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--stall 'half:2s' is not FRACTION:SECONDS" in err and "Traceback" not in err


def test_the_check_runs_each_finalist_once_at_one_load_while_the_budget_lasts() -> None:
    from tunicorn.record import BenchResult

    result = make_tune()
    assert result.pick is not None
    seen: list[tuple[str, float | None, float]] = []

    def fake(config: ServerConfig, spec: LoadSpec) -> BenchResult:
        seen.append((config.key, spec.rate, spec.stall_share))
        slow = config.slots < 4
        return bench_under_stall(2000 if slow else 100, stalled())

    check = stall.check(result, stall.DEFAULT, (Request("/"),), fake)
    keys = [r.trial for r in check.runs]
    every = [(role, t.key) for role, t in stall.finalists(result)]
    seed = [k for role, k in every if role in stall.SEED_ROLES]
    assert check.runs[0].holds  # the pick held: after the seed's two, nothing else runs
    assert keys == seed and len(seed) < len(every)
    # App Service's 1×1 served 7.9 req/s in its trial, under half the check's 23.5: it gives
    # way without a run (its queue could only grow); the others ran.
    one = next(r for r in check.runs if r.config.slots == 1)
    assert not one.holds and one.requests == 0 and "not run" in one.reason
    assert [k for k, _, _ in seen] == [k for k in seed if k != one.trial]
    assert stall.overloaded(result.trial(one.trial), 2 * 7.8) == ""  # under twice: it runs
    assert {rate for _, rate, _ in seen} == {check.rate_rps}
    assert check.rate_rps == pytest.approx(0.25 * result.pick.capacity_rps, abs=0.05)
    assert all(share == stall.DEFAULT.share for _, _, share in seen)
    assert all(r.holds == (r.config.slots >= 4) for r in check.runs)
    # Where the pick gives way, the others run to find one that holds (those the model holds
    # at this load first), but not those with no more slots than one that gave way which the
    # model says give way too; the seed's two run whatever happens.
    said: list[str] = []
    asked: list[bool] = []

    def go(looking: bool) -> bool:
        asked.append(looking)
        return True

    gave_way = stall.check(
        result, stall.DEFAULT, (Request("/"),),
        lambda config, spec: bench_under_stall(2000, stalled()), say=said.append, go=go,
    )  # fmt: skip
    assert not any(r.holds for r in gave_way.runs) and all(asked)  # still looking, throughout
    ran = [r.trial for r in gave_way.runs]
    left = [(role, t) for role, t in stall.finalists(result) if t.key not in ran]
    assert ran[0] == result.pick.key and set(seed) <= set(ran)
    assert left and len(left) == sum("not under the stall" in m for m in said)
    service_s = gave_way.service_ms / 1000
    for role, t in left:
        assert role not in stall.SEED_ROLES
        assert any(r.config.slots >= t.config.slots for r in gave_way.runs)
        assert not stall.model_holds(t.config, stall.DEFAULT, gave_way.rate_rps, service_s)
    hopes = [stall.model_holds(r.config, stall.DEFAULT, gave_way.rate_rps, service_s)
             for r in gave_way.runs[1:]]  # fmt: skip
    assert hopes == sorted(hopes, reverse=True)  # the model's hopefuls first
    # The first that holds ends the looking: then only the seed's two that have not run.
    big = max((t for _, t in stall.finalists(result)), key=lambda t: t.config.slots)
    asked.clear()
    found = stall.check(
        result, stall.DEFAULT, (Request("/"),),
        lambda config, spec: bench_under_stall(100 if config == big.config else 2000, stalled()),
        go=go,
    )  # fmt: skip
    held = [r.trial for r in found.runs].index(big.key)
    after = found.runs[held + 1 :]
    assert found.runs[held].holds and all(r.role in stall.SEED_ROLES for r in after)
    assert asked.count(False) == len(after)
    budget = iter([True, True, False])
    cut = stall.check(result, stall.DEFAULT, (Request("/"),), fake, go=lambda _: next(budget))
    assert len(cut.runs) == 2
    expected = stall.check(result, stall.DEFAULT, (Request("/"),), fake, expected_rps=12.5)
    assert expected.rate_rps == 12.5 and "--expected-rps" in expected.rate_basis


def test_decide_picks_only_among_the_allowed() -> None:
    from tunicorn.record import Settlement

    result = make_tune()
    assert result.pick is not None and result.profile is not None
    trials = {t.key: t for t in result.trials}
    others = [k for _, t in stall.finalists(result) if (k := t.key) != result.pick.key]
    usable = [k for k in others if trials[k].feasible and trials[k].config.slots >= 2]
    assert usable
    again = recommend.decide(
        target="demo", app="app:app", trials=trials, profile=result.profile,
        constraints=result.constraints, settlement=Settlement(), elapsed_s=1.0,
        allowed=frozenset(usable[:1]),
    )  # fmt: skip
    assert again.recommendation is not None and again.recommendation.trial == usable[0]
    assert len(again.trials) == len(result.trials)  # every trial is still reported


def test_where_none_held_the_wider_shape_has_the_models_slots_within_memory() -> None:
    result = make_tune()
    check = dataclasses.replace(check_of(result, set()), service_ms=50.0)
    need = stall.slots_needed(check)
    assert model.stall_holds(need, 20.0, 0.05, 2.0, 0.05)
    assert not model.stall_holds(need - 1, 20.0, 0.05, 2.0, 0.05)
    most = max(r.config.slots for r in check.runs)
    pick = ServerConfig(2, 4, "gthread")
    (wide,) = stall.wider(check, pick, lambda c: True, 64)
    assert wide.workers == 2 and wide.worker_class == "gthread"
    assert wide.slots >= need * stall.WIDER_MARGIN and wide.slots > most
    assert stall.wider(check, pick, lambda c: False, 64) == []  # over memory
    assert stall.wider(check, ServerConfig(2, 1, "gevent"), lambda c: True, 64) == []
    # A pick of more workers than cores: the same slots in two processes first, then its own.
    few, own = stall.wider(check, ServerConfig(4, 1, "sync"), lambda c: True, 64, cpus=1)
    assert (few.workers, own.workers) == (2, 4)
    assert min(few.slots, own.slots) >= need * stall.WIDER_MARGIN
    assert few.threads > own.threads and few.worker_class == own.worker_class == "gthread"
    # Threads capped: only shapes with more slots than any finalist had.
    capped = stall.wider(check, ServerConfig(16, 1, "sync"), lambda c: True, 4, cpus=1)
    assert [(c.workers, c.threads) for c in capped] == [(16, 4)]
    assert stall.wider(check, ServerConfig(6, 1, "sync"), lambda c: True, 4, cpus=1) == []


def test_the_wider_shape_stays_put_when_the_machines_speed_moves_the_checks_load() -> None:
    # The zoo's fast page: its checks ran at 506.5 and 441.0 req/s (a share of capacities
    # that moved with the machine) and asked for 2×64 and 2×48. Threads now go up to a power
    # of two: one shape for both.
    result = make_tune()
    base = dataclasses.replace(check_of(result, set()), service_ms=0.6, share=0.05, stall_s=2.0)
    shapes = set()
    for rate in (441.0, 506.5):
        check = dataclasses.replace(base, rate_rps=rate)
        few, *_ = stall.wider(check, ServerConfig(3, 1, "sync"), lambda c: True, 64, cpus=1)
        assert few.threads & (few.threads - 1) == 0  # a power of two
        assert few.threads >= stall.threads_needed(check, 2) * stall.WIDER_MARGIN
        shapes.add((few.workers, few.threads))
    assert len(shapes) == 1, shapes


def test_the_model_does_not_underflow_on_an_event_loops_thousands_of_slots() -> None:
    assert model.poisson_at_least(800.0, 1) == pytest.approx(1.0)
    assert model.poisson_at_least(800.0, 2000) == pytest.approx(0.0, abs=1e-9)
    assert 0.4 < model.poisson_at_least(800.0, 800) < 0.6
    one, eight = (model.stall_gives_way_rps(n * 1000, 0.05, 2.0, 0.1) for n in (1, 8))
    assert eight > 4 * one


def test_a_shape_that_held_is_picked_past_the_profiles_thread_cap() -> None:
    from tunicorn.record import Settlement

    result = make_tune()
    assert result.profile is not None
    trials = {t.key: t for t in result.trials}
    threaded = max(
        (t for t in result.trials if t.feasible and t.config.threads > 1),
        key=lambda t: t.config.threads,
    )
    cap = dataclasses.replace(result.constraints.rules, max_threads=threaded.config.threads - 1)
    constraints = dataclasses.replace(result.constraints, rules=cap)

    def decide(allowed: frozenset[str] | None) -> str | None:
        out = recommend.decide(
            target="demo", app="app:app", trials=trials, profile=result.profile,
            constraints=constraints, settlement=Settlement(), elapsed_s=1.0, allowed=allowed,
        )  # fmt: skip
        return out.recommendation.trial if out.recommendation else None

    assert decide(None) != threaded.key  # past the cap, it cannot win on capacity
    assert decide(frozenset({threaded.key})) == threaded.key  # it held: it is the pick


def test_where_threads_broke_the_app_the_wider_shape_is_more_sync_workers() -> None:
    result = make_tune()
    check = dataclasses.replace(check_of(result, set()), service_ms=50.0)
    most = max(r.config.slots for r in check.runs)
    (wide,) = stall.wider(check, ServerConfig(8, 1, "sync"), lambda c: True, 64, threads_ok=False)
    assert wide.worker_class == "sync" and wide.threads == 1
    assert wide.workers >= stall.slots_needed(check) * stall.WIDER_MARGIN and wide.workers > most
    over = stall.wider(check, ServerConfig(8, 1, "sync"), lambda c: False, 64, threads_ok=False)
    assert over == []  # over memory
    note = stall.none_holds_note(check, [8], threads_ok=False)
    assert "More sync workers" in note and "gevent" not in note
    assert "the gevent worker" in stall.none_holds_note(check, [8])
