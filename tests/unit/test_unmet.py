"""unmet: the closing verdict names the cause the ruled-out trials share, on made-up trials."""

from __future__ import annotations

from tunicorn.decide import unmet
from tunicorn.launch import gunicorn
from tunicorn.record import (
    BenchResult,
    ClientStats,
    Latency,
    ServerConfig,
    ServerStats,
    Trial,
)

SEGV = "Worker (pid:4242) was sent SIGSEGV!"
LOG = (
    "[2026-12-07 04:00:28 +0000] [41] [INFO] Booting worker with pid: 50\n"
    "[2026-12-07 04:00:28 +0000] [41] [INFO] Booting worker with pid: 51\n"
    f"[2026-12-07 04:00:28 +0000] [41] [WARNING] {SEGV}\n"
    "[2026-12-07 04:00:28 +0000] [41] [INFO] Booting worker with pid: 52\n"
    "[2026-12-07 04:00:29 +0000] [41] [INFO] Worker (pid:52) was sent SIGTERM!\n"
)


def phase(p95: float = 50.0, status: dict[str, int] | None = None) -> BenchResult:
    return BenchResult(
        target="app:app", url="http://127.0.0.1:1/", config=ServerConfig(), mode="closed",
        concurrency=4, rate=None, duration_s=3.0, throughput_rps=10.0, requests=30, errors=0,
        errors_by_kind={}, latency_ms=Latency(p95=p95), server=None, client=ClientStats(),
        status_counts=status or {"200": 30},
    )  # fmt: skip


def trial(
    reason: str, note: str = "", *, workers: int = 1, phases: tuple[BenchResult, ...] = (),
    pss: float = 0.0,
) -> Trial:  # fmt: skip
    return Trial(
        config=ServerConfig(workers=workers), source="search", feasible=False, reason=reason,
        capacity_rps=0.0, throughput_rps=10.0, requests=30, errors=3 if reason == "errors" else 0,
        latency_ms=Latency(p95=phases[0].latency_ms.p95 if phases else 0.0),
        server=ServerStats(pss_mib_peak=pss) if pss else None, client=ClientStats(), note=note,
        phases=phases,
    )  # fmt: skip


def died(workers: int) -> Trial:
    """What measure records for a trial whose workers died: the note built from gunicorn's log."""
    log_notes = gunicorn.log_warnings(ServerConfig(workers=2), LOG)
    note = "; ".join(["errors under load (reset 125)", *log_notes])
    return trial("errors", note, workers=workers, phases=(phase(),))


def test_the_log_phrases_name_the_restarts_and_the_last_error() -> None:
    said = gunicorn.log_warnings(ServerConfig(workers=2), LOG)
    assert said == ["workers were restarted 1 time(s) during the run",
                    f'the server log\'s last error: "{SEGV}"']  # fmt: skip


def test_workers_that_died_in_every_trial_are_named_with_the_log_line() -> None:
    text = unmet.verdict([died(w) for w in (1, 2, 3)], 100.0, 1000.0)
    assert text.startswith("No configuration met p95 ≤ 100 ms without errors: in every trial,")
    assert f'workers died under load (the server log\'s last error: "{SEGV}")' in text
    assert "raise --slo-p95" not in text and "memory" not in text
    assert "The others" not in text


def test_the_commonest_cause_leads_and_the_others_are_counted() -> None:
    trials = [died(1), died(2), trial("memory", pss=2000.0), trial("slo", phases=(phase(300),))]
    text = unmet.verdict(trials, 100.0, 1500.0)
    assert "in 2 of 4 trials, workers died under load" in text
    assert text.endswith("The others: 1 went over the memory budget, 1 went over the latency "
                         "target.")  # fmt: skip


def test_an_error_status_is_the_apps_own_answer() -> None:
    bad = phase(status={"200": 20, "500": 10})
    text = unmet.verdict([trial("errors", "errors under load (http_5xx 10)", phases=(bad,))] * 2,
                         100.0, 1000.0)  # fmt: skip
    assert "the app answered with error statuses under load (500 ×10)" in text


def test_connection_errors_without_deaths_say_so() -> None:
    text = unmet.verdict([trial("errors", "errors under load (reset 7)", phases=(phase(),))],
                         100.0, 1000.0)  # fmt: skip
    assert "requests failed under load (reset 7) without a worker dying" in text


def test_memory_names_the_budget_and_the_smallest_need() -> None:
    trials = [trial("memory", pss=1800.0, workers=2), trial("memory", pss=2600.0, workers=3)]
    text = unmet.verdict(trials, 100.0, 1536.0)
    assert "more memory than the 1536 MiB budget (the smallest about 1800 MiB)" in text
    assert "--plan" in text


def test_the_latency_target_names_the_best_p95_to_ask_for() -> None:
    trials = [trial("slo", phases=(phase(420.0), phase(260.0))), trial("slo", phases=(phase(300),))]
    text = unmet.verdict(trials, 100.0, 1000.0)
    assert "p95 stayed over 100 ms (at best 260 ms)" in text
    assert "raise --slo-p95 to at least 260" in text


def test_oom_kills_are_memory_not_a_crash() -> None:
    note = ("errors under load (reset 3); 2 worker(s) were killed by SIGKILL (out of memory?); "
            "workers were restarted 2 time(s) during the run")  # fmt: skip
    text = unmet.verdict([trial("errors", note, phases=(phase(),))], 100.0, 1000.0)
    assert "killed by SIGKILL, as the out-of-memory killer does" in text


def test_a_server_that_never_ran_is_said_first() -> None:
    text = unmet.verdict([trial("failed", "exit status 4 (APP_LOAD_ERROR): no app")], 100, 1000)
    assert "the server did not run (exit status 4 (APP_LOAD_ERROR): no app)" in text
