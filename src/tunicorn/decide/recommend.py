"""The decision and its reasons.

`decide` turns tune's measured trials into the recommendation: the pick by measured
capacity (`rank.best`, or what a final settled), the baselines beside it, the model's
figures, the reasons and the warnings, as one TuneResult. The startup command is not
written here: the emit stage does that afterwards (the CLI wires it).

`modelonly.model_only` answers from cores, memory and a guess of how long requests wait,
with no measurement: workers by gunicorn's 2 × cores + 1 rule, threads by 1 + W/C, both
capped by memory. It is the instant answer; every figure it assumed is named in the record,
so the reader knows what to measure.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Collection, Iterable, Mapping, Sequence

from tunicorn import interval, model
from tunicorn.decide import rank, search, stall, unmet
from tunicorn.decide.settle import runs_text
from tunicorn.record import (
    Baseline,
    Constraints,
    ModelFigures,
    Profile,
    Recommendation,
    Rules,
    ServerConfig,
    Settlement,
    StallCheck,
    Trial,
    TuneResult,
)
from tunicorn.run import eventloop

# -- the measured decision -----------------------------------------------------------------


def decide(
    *,
    target: str,
    app: str,
    trials: Mapping[str, Trial],
    profile: Profile,
    constraints: Constraints,
    settlement: Settlement,
    elapsed_s: float,
    run_warnings: Iterable[str] = (),
    baselines: Sequence[tuple[str, str, ServerConfig]] | None = None,
    tie_break: rank.TieBreak = rank.robust,
    allowed: Collection[str] | None = None,
) -> TuneResult:
    """The recommendation from measured trials, as a record that says everything.

    `trials` are keyed by the configuration that was asked for; `constraints` are the machine
    (its server's cores, for "the CPU is busy"), the SLO and the rules; `run_warnings` are
    what the driver knows about the run
    itself (too few cores here, a budget spent before searching). `baselines` are (name, role,
    configuration) where they are not the WSGI rules of thumb (an ASGI app's). `tie_break`
    orders trials the intervals cannot separate (rank.robust: more slots, less memory);
    `allowed` names the only trials the pick may be (those that held under a stall), None for
    any.
    """
    budget_mib = constraints.memory_budget_mib
    rules = constraints.rules
    if allowed is not None:
        # Held under the stall, measured: that outweighs the profile's thread cap (threads
        # past a pool's size queue for it, but a stalled request holds a thread either way).
        rules = dataclasses.replace(rules, max_threads=0)
    candidates = [t for k, t in trials.items() if allowed is None or k in allowed]
    pick = rank.best(candidates, constraints.server_cores, rules, tie_break)
    settled = trials.get(settlement.key) if settlement.key else None
    if settled is not None and settled.feasible and (allowed is None or settled.key in allowed):
        pick = settled
    first = pick
    if pick is not None and pick is not settled:
        pick = rank.holds_up(pick, candidates, rules)
    if pick is not None:
        # Never below a rule of thumb whose interval lies wholly above the pick (settle
        # measured it again against the pick; if it still stands above, it is the answer),
        # unless the stall check ruled it out.
        above = rank.baseline_above(candidates, pick)
        if above is not None and rank.eligible(above, rules):
            pick = above
    if baselines is None:
        baselines = [
            (name, role, config)
            for (name, config), role in zip(
                search.baselines(constraints.cpus), search.BASELINE_ROLES, strict=True
            )
        ]
    measured_baselines = tuple(
        baseline(name, role, trials[config.key]) for name, role, config in baselines
    )
    recommendation = None
    measured = tuple(trials.values())
    if pick is not None:
        why = reasons(pick, measured, profile, constraints)
        if profile.interface == "asgi":
            why[1:1] = eventloop.reasons(profile)
        if pick is settled:
            why.append(settlement.note)
        why += client_model_reasons(pick, first)
        why += dealt_reasons(pick, measured)
        recommendation = Recommendation(
            workers=pick.config.workers,
            threads=pick.config.threads,
            worker_class=pick.config.worker_class,
            throughput_rps=pick.throughput_rps,
            capacity_rps=rank.figure(pick),  # a dealt capacity: the low end of its hands
            latency_ms=pick.latency_ms,
            pss_mib_peak=pick.server.pss_mib_peak if pick.server else 0.0,
            app=app,
            trial=pick.key,
            reasons=tuple(why),
            capacity_ci=judged_ci(pick),
        )
    return TuneResult(
        target=target,
        app=app,
        recommendation=recommendation,
        baselines=measured_baselines,
        trials=measured,
        constraints=constraints,
        profile=profile,
        elapsed_s=round(elapsed_s, 1),
        model=figures(profile, constraints.cpus, budget_mib),
        warnings=(
            *run_warnings, *trial_warnings(measured), *speed_warning(measured),
            *drift_warning(measured), *unstable_warning(pick),
        ),  # fmt: skip
        verdict=verdict(
            recommendation, measured_baselines, constraints.slo_p95_ms, measured, budget_mib
        ),
    )


def figures(profile: Profile, cpus: int, budget_mib: float) -> ModelFigures:
    measured = profile.cpu_ms > 0
    return ModelFigures(
        cpu_ms=profile.cpu_ms,
        wall_ms=profile.wall_ms,
        wait_compute_ratio=round(profile.wait_compute_ratio, 3) if measured else -1.0,
        cpu_bound_rps=round(model.cpu_bound_or_zero(cpus, profile.cpu_ms), 2),
        slots_to_saturate=float(model.slots_to_saturate(cpus, profile.wall_ms, profile.cpu_ms)),
        memory_budget_mib=round(budget_mib, 1),
        memory_share=model.MEMORY_SHARE,
    )


def baseline(name: str, role: str, trial: Trial) -> Baseline:
    """A baseline as the run records it: its trial's figures and the key back to that trial."""
    return Baseline(
        name=name,
        workers=trial.config.workers,
        threads=trial.config.threads,
        worker_class=trial.config.worker_class,
        throughput_rps=trial.throughput_rps,
        capacity_rps=rank.figure(trial),
        latency_ms=trial.latency_ms,
        pss_mib_peak=trial.server.pss_mib_peak if trial.server else trial.predicted_pss_mib,
        feasible=trial.feasible,
        reason=trial.note if not trial.feasible else "",
        trial=trial.key,
        role=role,
        capacity_ci=judged_ci(trial),
    )


def judged_ci(trial: Trial) -> tuple[float, float]:
    """The interval of the figure a trial is judged by: its own, or for a kept-alive capacity
    dealt over several hands, rank's around the low end."""
    return rank.ci(trial) if rank.dealt(trial) else trial.capacity_ci


def dealt_reasons(pick: Trial, trials: tuple[Trial, ...]) -> list[str]:
    """Where a kept-alive capacity depended on where the connections landed: the pick's hands,
    and any configuration whose best window beat the pick but whose low end did not."""
    out = []
    if rank.dealt(pick):
        out.append(
            f"Kept-alive connections stay on the worker that won the accept race, so "
            f"{pick.config.label} was dealt again on fresh connections: {rank.dealt_text(pick)} "
            f"(its best window: {interval.text(pick.capacity_rps, pick.capacity_ci)} req/s). "
            "A front end will not deal the lucky hand every time."
        )
    lucky = [
        t for t in trials if t is not pick and rank.luck(t)
        and t.capacity_rps > rank.figure(pick) >= rank.figure(t)
    ]  # fmt: skip
    if lucky:
        out.append(
            "Judged by the low end of their kept-alive hands, not their best window: "
            + "; ".join(
                f"{t.config.label} {t.capacity_rps:.0f} req/s at best, {rank.dealt_text(t)}"
                for t in sorted(lucky, key=lambda t: -t.capacity_rps)[:3]
            )
            + "."
        )
    return out


def trial_warnings(trials: tuple[Trial, ...]) -> list[str]:
    """What the trials themselves say about how to read their figures."""
    out = []
    saturated = [t for t in trials if t.client.saturated]
    if saturated:
        out.append(
            f"The load generator saturated its core in {len(saturated)} trial(s): those "
            "figures understate the server."
        )
    for t in trials:
        if t.config.worker_class == "gthread" and t.config.workers > 1 and t.worker_balance:
            share = max(t.worker_balance) / max(1, sum(t.worker_balance))
            if share > 1.5 / t.config.workers:
                out.append(
                    f"{t.config.label}: one worker did {share:.0%} of the work (keep-alive "
                    "connections pile onto gthread workers unevenly)."
                )
                break
    return out


DRIFT = 0.10  # runs of one configuration farther apart than this, and than their intervals


def drift_warning(trials: Iterable[Trial]) -> list[str]:
    """Where a configuration measured on more than one fresh server gave figures farther apart
    than each run's interval allows: what that says about every figure measured once."""
    worst, spread = None, 0.0
    for t in trials:
        caps = [r.capacity_rps for r in t.runs if r.capacity_rps > 0]
        if len(caps) < 2:
            continue
        gap = (max(caps) - min(caps)) / statistics.median(caps)
        own = max(interval.relative(r.capacity_rps, r.capacity_ci) for r in t.runs)
        if gap > max(DRIFT, 2 * own) and gap > spread:
            worst, spread = t, gap
    if worst is None:
        return []
    caps = [r.capacity_rps for r in worst.runs]
    return [
        f"Runs of one configuration on fresh servers differed by {spread:.0%} here "
        f"({worst.config.label}: {min(caps):,.0f} to {max(caps):,.0f} req/s), more than each "
        "run's own interval allows: this machine drifts between runs, so a figure measured "
        "once may be off by as much. Close calls were measured again and stand on the mean "
        "or median of their runs; a quieter machine narrows this."
    ]


SPEED_DRIFT = 1.25  # the machine's fixed loop slower than this many times its fastest


def speed_warning(trials: Iterable[Trial]) -> list[str]:
    """Where the machine itself changed speed during the tune (its fixed loop, timed before
    every run, took much longer at some than at others): figures taken at different speeds
    differ by as much whatever the configuration."""
    speeds = [
        x for t in trials
        for x in ([r.speed_ms for r in t.runs] if t.runs else [t.speed_ms]) if x > 0
    ]  # fmt: skip
    if len(speeds) < 2 or max(speeds) <= SPEED_DRIFT * min(speeds):
        return []
    return [
        f"This machine changed speed during the tune: a fixed loop on the server's core took "
        f"{min(speeds):.1f} to {max(speeds):.1f} ms ({max(speeds) / min(speeds):.1f}×) before "
        "one run or another (other virtual machines on its host, or its clock). A CPU-bound "
        "capacity follows that speed, whatever the configuration: compare figures from one "
        "tune only where they were measured close together (close calls were measured again, "
        "alternately), and tune again on a steadier machine for figures to quote."
    ]


UNSTABLE = 0.15  # a pick whose interval is wider than ±15% of its figure gets pyperf's warning


def unstable_warning(pick: Trial | None) -> list[str]:
    """pyperf's "the result may be unstable", for the one figure a user acts on."""
    if pick is None or interval.relative(pick.capacity_rps, pick.capacity_ci) <= UNSTABLE:
        return []
    share = interval.relative(pick.capacity_rps, pick.capacity_ci)
    return [
        f"The pick's capacity may be unstable: {capacity_text(pick)} req/s (±{share:.0%} at "
        "95%). Its throughput swung that much while it was measured (other load on this "
        "machine, or a page whose cost varies): tune on a quiet machine, or give a larger "
        "--budget so close calls are measured again."
    ]


def starved_warning(budget_s: float, fixed_s: float, enough_s: int) -> str:
    return (
        f"The budget ({budget_s:g} s) ran out before the search began: the profile, the three "
        f"baselines and the model's start come first and took {fixed_s:.0f} s here. The pick "
        f"is the best of those; give --budget {enough_s} or more to search."
    )


def client_model_reasons(pick: Trial, first: Trial | None) -> list[str]:
    """The pick under both client models, and why it changed if it did."""
    other = pick.other_model
    if other is None:
        return []

    def name(keepalive: bool) -> str:
        if keepalive:  # what a front end that pools connections sends
            return "kept-alive connections (as a pooling front end sends them)"
        return "a new connection per request"

    own = name(not other.keepalive)
    judged = rank.other_figure(other)
    figure = f"{judged:.0f} req/s" if other.feasible else f"unusable ({other.reason})"
    mine = rank.figure(pick)
    share = f" ({judged / mine:.0%})" if other.feasible and mine > 0 else ""
    hands = ""
    if other.feasible and other.deals is not None and other.deals.deals:
        # No interval of its own here: a hand 15% below its best window is luck of the deal.
        lucky = judged < other.capacity_rps * (1 - UNSTABLE)
        hands = (
            f" Under kept-alive connections it was dealt again: "
            f"{rank.hands_text(other.deals, judged, lucky)} (its best window "
            f"{other.capacity_rps:.0f})."
        )
    out = [
        f"Client models: {mine:.0f} req/s with {own}, {figure}{share} with "
        f"{name(other.keepalive)}." + hands
    ]
    if first is not None and first is not pick:
        out.append(
            f"Picked for holding up under both: {pick.config.label} keeps "
            f"{rank.worse_model(pick):.0f} req/s under the worse of them; {first.config.label}, "
            f"first by capacity ({first.capacity_rps:.0f}), only {rank.worse_model(first):.0f}."
        )
    return out


def limiting(
    pick: Trial, trials: tuple[Trial, ...], prof: Profile, constraints: Constraints
) -> str:
    """What limits the pick, measured, in one sentence: the CPU, one process's limit (a pool or
    a lock), memory, or the latency target."""
    busy = pick.server.cpu_cores_busy if pick.server else 0.0
    cores = constraints.server_cores
    if rank.cpu_bound(pick, cores):
        return (
            f"What limits it: the CPU. At its peak the server kept {busy:.2f} of {cores} "
            f"core(s) busy ({busy / cores:.0%}), so more requests in flight would only queue."
        )
    process = prof.process
    if (
        process is not None and process.bounded and process.cause == "pool"
        and pick.config.worker_class != "gevent" and pick.config.threads >= process.limit - 1
    ):  # fmt: skip
        n = f"{process.limit:.0f}"
        return (
            f"What limits it: one process serves at most ~{n} requests at once (something in "
            f"it holds a pool or a lock of about {n}: the profile's one worker went from "
            f"{process.steps[0].throughput_rps:.0f} req/s at 1 request to at most "
            f"{max(st.throughput_rps for st in process.steps):.0f}), so capacity comes from "
            f"processes: {pick.config.workers} × {pick.config.threads}."
        )
    budget = constraints.memory_budget_mib
    bigger = [
        t for t in trials if t.reason == "memory"
        and search.family(t.config) == search.family(pick.config)
        and t.config.workers > pick.config.workers
    ]  # fmt: skip
    if bigger:
        nearest = min(bigger, key=lambda t: t.config.workers)
        return (
            f"What limits it: memory. {nearest.config.label} would need about "
            f"{nearest.predicted_pss_mib:.0f} MiB, over the {budget:.0f} MiB budget."
        )
    slo = constraints.slo_p95_ms
    if pick.capacity_rps >= pick.throughput_rps * (1 - model.TIE):
        if pick.config.worker_class == "gevent":
            return (
                f"What limits it: its own peak, {pick.throughput_rps:.0f} req/s with p95 "
                f"{pick.latency_ms.p95:.0f} ms (within {slo:.0f} ms), with the CPU {busy:.2f} "
                "core(s) busy: more clients added nothing within the target."
            )
        return (
            f"What limits it: its {pick.config.slots} request slots. All busy, it served "
            f"{pick.capacity_rps:.0f} req/s with p95 {pick.latency_ms.p95:.0f} ms, within "
            f"{slo:.0f} ms; the CPU was {busy:.2f} core(s) busy."
        )
    return (
        f"What limits it: the latency target. It peaked at {pick.throughput_rps:.0f} req/s, "
        f"but only {pick.capacity_rps:.0f} req/s kept p95 within {slo:.0f} ms; the CPU was "
        f"{busy:.2f} core(s) busy."
    )


def ratio(a: float, b: float) -> str:
    if b <= 0:
        return "∞×" if a > 0 else "—"
    return f"{a / b:.1f}×"


def inseparable(rec: Recommendation, base: Baseline) -> str:
    """A note for a ratio whose two figures' intervals overlap: the measurements could not
    tell them apart, whatever the ratio says."""
    if not base.feasible or rec.capacity_ci[1] <= 0 or base.capacity_ci[1] <= 0:
        return ""
    if not interval.overlap(rec.capacity_ci, base.capacity_ci):
        return ""
    return " (their 95% intervals overlap: no measured difference)"


def verdict(
    rec: Recommendation | None,
    baselines: tuple[Baseline, ...],
    slo: float,
    trials: tuple[Trial, ...] = (),
    budget_mib: float = 0.0,
) -> str:
    if rec is None:  # the cause the trials share, and what to do about it
        return unmet.verdict(trials, slo, budget_mib)
    default = next((b for b in baselines if b.role == "app-service-default"), None)
    quickstart = next((b for b in baselines if b.role == "quickstart"), None)
    vs = (
        f", {ratio(rec.capacity_rps, default.capacity_rps)} App Service's default 1×1"
        + inseparable(rec, default)
        if default
        else ""
    )
    if quickstart is not None:  # an ASGI app: the default cannot serve it at all
        vs = (
            f", {ratio(rec.capacity_rps, quickstart.capacity_rps)} Microsoft's documented "
            "-w 2 uvicorn workers (App Service's default, sync gunicorn, cannot serve it)"
            + inseparable(rec, quickstart)
        )
    shape = (
        f"{rec.workers} worker{'s' if rec.workers > 1 else ''} × {rec.threads} "
        f"thread{'s' if rec.threads > 1 else ''} ({rec.worker_class})"
    )
    if rec.worker_class == "uvicorn":
        shape = f"{rec.workers} uvicorn worker{'s' if rec.workers > 1 else ''}"
    figure = interval.text(rec.capacity_rps, rec.capacity_ci)
    return f"Run {shape}: {figure} req/s within p95 ≤ {slo:.0f} ms{vs}."


def reasons(
    pick: Trial,
    trials: tuple[Trial, ...],
    prof: Profile,
    constraints: Constraints,
) -> list[str]:
    """Why this configuration: what limits it, then which bound or measurement decided."""
    out = [limiting(pick, trials, prof, constraints)]
    out += _cost(pick, prof, constraints.cpus)
    out.append(_memory(pick, prof, constraints))
    out += _ruled_out(trials, constraints.slo_p95_ms)
    out += _held_back(pick, trials, prof, constraints)
    out.append(_separated(pick, trials, constraints.rules))
    return out


def _cost(pick: Trial, prof: Profile, cpus: int) -> list[str]:
    """What a request costs (CPU and waiting, from the profile) and the CPU bound it sets."""
    if prof.cpu_ms <= 0:
        return []
    wc = prof.wait_compute_ratio
    bound = model.cpu_bound_or_zero(cpus, prof.cpu_ms)
    share = pick.capacity_rps / bound if bound else 0
    line = (
        f"CPU bound: {cpus} core{'s' if cpus > 1 else ''} / "
        f"{prof.cpu_ms:.1f} ms = {bound:.0f} req/s; the pick reaches {share:.0%} of it"
    )
    if share > 1.05:
        line += (
            " (the CPU per request was measured on one worker, one request at a time; "
            f"{pick.config.worker_class} under load spends less per request)"
        )
    return [
        f"Each request computes {prof.cpu_ms:.1f} ms and waits {prof.wait_ms:.1f} ms "
        f"(W/C = {wc:.1f}): about {1 + wc:.0f} requests in flight keep one core busy.",
        line + ".",
    ]


def _memory(pick: Trial, prof: Profile, constraints: Constraints) -> str:
    """The memory model measured by the profile, the budget, and the pick's peak."""
    mem = prof.memory
    per_thread = "" if prof.interface == "asgi" else f", +{mem.per_thread_mib:.1f} MiB per thread"
    return (
        f"Memory: {mem.base_mib:.0f} MiB for 1×1, +{mem.per_worker_mib:.0f} MiB per worker"
        f"{per_thread}; budget {constraints.memory_budget_mib:.0f} MiB "
        f"({model.MEMORY_SHARE:.0%} of {constraints.memory_mib:.0f}); the pick peaked at "
        f"{pick.server.pss_mib_peak if pick.server else pick.predicted_pss_mib:.0f} MiB."
    )


def _ruled_out(trials: tuple[Trial, ...], slo: float) -> list[str]:
    """The trials ruled out (memory, errors, the SLO), stopped early, or measured again."""
    out = []
    over = [t for t in trials if t.reason == "memory"]
    if over:
        out.append(f"{len(over)} configuration(s) were ruled out by memory.")
    broke = [t for t in trials if t.reason in ("errors", "failed")]
    if broke:
        labels = ", ".join(t.config.label for t in broke[:4])
        out.append(f"Errors under load ruled out {labels}.")
    slow = [t for t in trials if t.reason == "slo"]
    if slow:
        out.append(f"{len(slow)} configuration(s) could not keep p95 ≤ {slo:.0f} ms.")
    pruned = [t for t in trials if t.reason == "slower"]
    if pruned:
        out.append(
            f"{len(pruned)} configuration(s) stopped early (\"slower\"): even their next SLO check "
            "could not beat the best capacity so far."
        )
    pooled = [t for t in trials if t.runs]
    if pooled:
        out.append(
            "Measured more than once, each standing on the median (or mean) of its runs: "
            + ", ".join(f"{t.config.label} ({runs_text(t)})" for t in pooled) + "."
        )
    return out


def _held_back(
    pick: Trial, trials: tuple[Trial, ...], prof: Profile, constraints: Constraints
) -> list[str]:
    """Faster trials the rules held back: more threads than one process serves at once, or
    one request per core at a time."""
    out = []
    rules = constraints.rules
    min_slots = rules.min_slots
    single = [
        t for t in trials if rank.eligible(t) and t.config.slots < min_slots
        and rank.compare(t, pick) != "worse"
    ]  # fmt: skip
    queued = [
        t for t in trials if rank.eligible(t) and not rank.eligible(t, rules)
        and t.config.slots >= min_slots and rank.compare(t, pick) != "worse"
    ]  # fmt: skip
    if queued and prof.process is not None and rank.eligible(pick, rules):
        # (A pick past the cap was picked for holding under a stall, which says so itself.)
        best_queued = max(queued, key=lambda t: t.capacity_rps)
        out.append(
            f"{best_queued.config.label} measured {best_queued.capacity_rps:.0f} req/s, but one "
            f"process serves at most ~{prof.process.limit:.0f} requests at once: its threads "
            f"beyond {rules.max_threads} only wait for the pool or the lock, each holding a "
            "request that a slower database would time out. The pick keeps threads within it."
        )
    if single:
        best_single = max(single, key=lambda t: t.capacity_rps)
        out.append(
            f"{best_single.config.label} measured {best_single.capacity_rps:.0f} req/s but serves "
            f"one request per core at a time: one slow request, slow client or slow upstream "
            f"call and every other user waits (the seed's problem). The pick keeps at least "
            f"{min_slots} requests in flight ({constraints.cpus} core(s) × 2); "
            "--allow-single-slot lifts that."
        )
    return out


def _separated(pick: Trial, trials: tuple[Trial, ...], rules: Rules) -> str:
    """Whether the pick's interval stands clear of the others', or which it ties with."""
    measured = [t for t in trials if t.server is not None]
    tied = [t for t in rank.ties(trials, rules) if t is not pick]
    if tied:
        return (
            f"Measured {len(measured)} configurations; {len(tied)} other(s) could not be told "
            "apart from the best (their 95% intervals overlap, or runs of each came within "
            "±5% of each other: "
            + ", ".join(f"{t.config.label} {capacity_text(t)}" for t in tied[:4])
            + "): a tie goes to the more robust configuration, more request slots, then "
            "less memory, then fewer processes."
        )
    return (
        f"Measured {len(measured)} configurations; the pick's 95% interval "
        f"({capacity_text(pick)} req/s) lies wholly above every other's."
    )


def capacity_text(trial: Trial) -> str:
    """"1,023 ± 40": a trial's capacity with its 95% interval (a dealt kept-alive capacity:
    the low end of its hands, as rank judges it)."""
    return interval.text(rank.figure(trial), judged_ci(trial))


# -- the finalists under a stalled upstream (stall.check) ----------------------------------------


def stall_allowed(check: StallCheck) -> frozenset[str] | None:
    """The trials the pick may be after the stall check: those that held, where the pick by
    capacity did not and another did; None where the pick stands (it held, or none did)."""
    pick = check.run(check.first)
    held = stall.holding(check)
    if pick is None or pick.holds or not held:
        return None
    return frozenset(held)


def _kept(share: float) -> str:
    if share >= 0.9995:
        return "all"
    return f"{math.floor(share * 1000) / 10:g}%"


def stall_sentence(check: StallCheck) -> str:
    """The check in one sentence: what each finalist kept within the SLO under the stall."""
    parts = [
        # No answered request (not run, or its server stopped): no share was measured.
        f"{r.config.label} gives way ({r.reason})"
        if not r.requests
        else f"{r.config.label} keeps {_kept(r.within_slo)}"
        + ("" if r.holds else f" (gives way: {r.reason})")
        for r in check.runs
    ]
    return (
        f"With {check.share * 100:g}% of requests waiting {check.stall_s:g} s on an upstream, at "
        f"{check.rate_rps:g} req/s ({check.rate_basis}), the other requests within "
        f"{check.slo_p95_ms:.0f} ms: " + "; ".join(parts) + "."
    )


def under_stall(result: TuneResult, check: StallCheck) -> TuneResult:
    """The result with the stall check recorded, its sentence among the pick's reasons and,
    where no finalist held, what would."""
    rec = result.recommendation
    picked = rec.trial if rec is not None else ""
    check = dataclasses.replace(check, picked=picked)
    warnings = list(result.warnings)
    if check.skipped:
        warnings.append(f"The stall check did not run: {check.skipped}.")
        return dataclasses.replace(result, stall=check, warnings=tuple(warnings))
    why = [stall_sentence(check)]
    first = check.run(check.first)
    now = check.run(picked)
    if first is not None and now is not None and first is not now:
        why.append(
            f"Picked for holding under the stall: {now.config.label} holds; "
            f"{first.config.label}, first by capacity, gives way ({first.reason})."
        )
    if not stall.holding(check):
        threads_ok = search.threads_safe({t.key: t for t in result.trials})
        note = stall.none_holds_note(check, (r.config.slots for r in check.runs), threads_ok)
        check = dataclasses.replace(check, note=note)
        warnings.append(note)
    if rec is not None:
        rec = dataclasses.replace(rec, reasons=(*rec.reasons, *why))
    return dataclasses.replace(result, recommendation=rec, stall=check, warnings=tuple(warnings))
