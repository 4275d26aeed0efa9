"""The rank stage: the one place that compares trials.

Between measure and settle/recommend (DESIGN.md, "Pipeline"): which trials may be picked
(`eligible`), which one is best (`best`), which are tied with it (`ties`), whether a trial
kept the CPU busy (`cpu_bound`), and which finalist holds up under both client models
(`holds_up`). Search only names what to try next; settle and recommend ask here.

"Better", "tie" and "worse" come from the capacities' 95% intervals (interval.py): one
trial is better than another only when its interval lies wholly above the other's; two that
settle measured again and found within ±5% of each other are tied too (`settled_tie`). Every
trial tied with the top goes to the tie-break, which prefers the configuration that is
more robust: more request slots (memory already allowed every usable trial), then less
memory, then fewer processes. `TieBreak` is the hook for other measures of robustness
(e.g. how many stalled requests a configuration absorbs): pass your own key to `best`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal

from tunicorn import interval
from tunicorn.record import ClientModelRun, Deals, Rules, Trial

Verdict = Literal["better", "tie", "worse"]
# A closed loop that keeps the server's cores 90% busy is limited by the CPU. One sync worker
# per core reads 0.94-0.97 on the demo's /cpu (it idles while the next connection is accepted).
CPU_BOUND = 0.9
# The key a tie is broken by: the larger wins. Robustness first, then economy.
TieBreak = Callable[[Trial], tuple[float, ...]]


def dealt(trial: Trial) -> bool:
    """Was this trial's kept-alive capacity dealt over several hands (`deal.deal_trial`)?"""
    return trial.deals is not None and bool(trial.deals.deals) and trial.capacity_rps > 0


def figure(trial: Trial) -> float:
    """The capacity rank judges a trial by: its measured capacity, or for one dealt over
    several hands, the low end of them and it (a front end will not deal the lucky hand every
    time: where kept-alive connections land decides what a configuration serves; a hand that
    missed the SLO counts only the rate that would meet it, `deal.credit`)."""
    if dealt(trial):
        assert trial.deals is not None
        return min(trial.capacity_rps, trial.deals.low_rps)
    return trial.capacity_rps


def ci(trial: Trial) -> interval.Interval:
    """The interval around `figure`; a trial without one (no ticks, an old record) stands on
    its figure alone. A dealt trial is judged by its low end, with the same relative
    uncertainty as the capacity's own window (the low end of k hands has no interval of its
    own: each hand is one window)."""
    low, high = trial.capacity_ci
    if high <= 0 or trial.capacity_rps <= 0:
        low = high = trial.capacity_rps
    low, high = min(low, trial.capacity_rps), max(high, trial.capacity_rps)
    judged = figure(trial)
    if dealt(trial) and judged < trial.capacity_rps:
        share = judged / trial.capacity_rps
        return round(low * share, 2), round(high * share, 2)
    return low, high


def luck(trial: Trial) -> bool:
    """Did a dealt trial's capacity depend on where its connections landed: a hand below what
    its own window's interval allows?"""
    if not dealt(trial):
        return False
    low, _ = trial.capacity_ci if trial.capacity_ci[1] > 0 else (trial.capacity_rps, 0.0)
    return figure(trial) < low


def dealt_text(trial: Trial) -> str:
    """"kept-alive: 74–304 req/s over 3 deals; judged by its low end 74": how a dealt trial's
    hands spread ("" for one not dealt)."""
    if not dealt(trial) or trial.deals is None:
        return ""
    return hands_text(trial.deals, figure(trial), luck(trial))


def hands_text(deals: Deals, judged: float, lucky: bool) -> str:
    """How a kept-alive capacity's hands spread and the figure it is judged by; `lucky`: the
    spread went below what one window's interval allows (it depended on where connections
    landed)."""
    rates = [h.throughput_rps for h in deals.deals]
    missed = sum(not h.passed for h in deals.deals)
    spread = f"kept-alive: {min(rates):.0f}–{max(rates):.0f} req/s over {len(rates)} deals"
    if missed:
        worth = (
            "so counts 0" if deals.slo_p95_ms <= 0 or any(h.errors for h in deals.deals)
            else "so counts only the rate that would meet it"
        )
        at = sorted({h.clients or deals.clients for h in deals.deals if not h.passed})
        where = "/".join(map(str, at))
        spread += f" ({missed} missed the SLO at {where} clients, {worth})"
    if not lucky:
        return spread + f"; no hand below its own window, so judged by {judged:.0f}"
    return spread + f"; judged by its low end {judged:.0f}"


def compare(a: Trial, b: Trial) -> Verdict:
    """Is `a`'s capacity better than, tied with or worse than `b`'s, by their intervals?"""
    (a_low, a_high), (b_low, b_high) = ci(a), ci(b)
    if a_low > b_high:
        return "better"
    if a_high < b_low:
        return "worse"
    return "tie"


def equivalent(a: Trial, b: Trial, within: float = interval.SURE) -> bool:
    """Do both intervals lie within ±`within` of the middle of the two figures: a difference
    finer than what a rung is measured to (an equivalence test with that margin)? Only for
    trials that each stand on several runs on fresh servers (their intervals then span the
    drift between runs; one window's ticks alone understate it)."""
    (a_low, a_high), (b_low, b_high) = ci(a), ci(b)
    middle = (figure(a) + figure(b)) / 2
    low, high = min(a_low, b_low), max(a_high, b_high)
    return middle > 0 and a_high > 0 and b_high > 0 and (high - low) / 2 <= within * middle


def eligible(trial: Trial, rules: Rules = Rules()) -> bool:  # noqa: B008 - frozen
    """Can this trial be the pick: usable, with a capacity, and within the rules (never one
    slot; no more threads than one process's pool or lock can use)?"""
    c = trial.config
    cap = rules.max_threads
    threads_ok = not cap or c.worker_class == "gevent" or c.threads <= cap
    return trial.feasible and trial.capacity_rps > 0 and c.slots >= rules.min_slots and threads_ok


def top(trials: Iterable[Trial], rules: Rules = Rules()) -> Trial | None:  # noqa: B008
    """The eligible trial with the highest capacity figure (what every other is held to)."""
    return max(
        (t for t in trials if eligible(t, rules)),
        key=lambda t: (figure(t), -t.config.slots),
        default=None,
    )


def settled_tie(a: Trial, b: Trial) -> bool:
    """Do `a` and `b` each stand on several runs (settle measured them again) and lie within
    ±interval.SURE of each other (`equivalent`)? Then they are tied even where their
    intervals no longer overlap: a difference finer than a rung is measured to, which settle
    stops measuring, is not one rank may decide by."""
    return len(a.runs) >= 2 and len(b.runs) >= 2 and equivalent(a, b)


def ties(trials: Iterable[Trial], rules: Rules = Rules()) -> list[Trial]:  # noqa: B008 - frozen
    """The eligible trials whose intervals the top's interval does not lie wholly above, or
    that settled as equivalent to it (`settled_tie`): what the pick is chosen among."""
    pool = [t for t in trials if eligible(t, rules)]
    lead = top(pool)
    return [
        t for t in pool
        if lead is not None and (compare(lead, t) == "tie" or settled_tie(lead, t))
    ]  # fmt: skip


def robust(trial: Trial) -> tuple[float, ...]:
    """The default tie-break: more slots (one slow request holds fewer of them up), then less
    memory, then fewer processes, then the higher figure."""
    return (trial.config.slots, -pss(trial), -trial.config.workers, figure(trial))


def best(
    trials: Iterable[Trial],
    cores: int = 0,
    rules: Rules = Rules(),  # noqa: B008 - frozen
    tie_break: TieBreak = robust,
) -> Trial | None:
    """The pick: the most capacity, and among the trials its interval cannot separate from
    the top, the one `tie_break` ranks first (by default the more robust).

    `cores` is accepted for callers that rank on a busy CPU; p95 no longer decides a tie
    (at a saturated CPU it is queueing that swings by several times between runs)."""
    del cores
    pool = ties(trials, rules)
    if not pool:
        return None
    return max(pool, key=tie_break)


def close_rivals(trials: Iterable[Trial], pick: Trial, rules: Rules = Rules()) -> list[Trial]:  # noqa: B008
    """Eligible trials the pick's interval cannot separate from it, the highest first."""
    return sorted(
        (t for t in trials if t is not pick and eligible(t, rules) and compare(pick, t) == "tie"),
        key=lambda t: -figure(t),
    )


def baseline_above(trials: Iterable[Trial], pick: Trial) -> Trial | None:
    """A rule-of-thumb baseline whose interval lies wholly above the pick's (the highest):
    the pick is never below it without that baseline being measured again against it."""
    above = [
        t for t in trials if t.source == "baseline" and t.feasible and t.capacity_rps > 0
        and compare(t, pick) == "better"
    ]  # fmt: skip
    return max(above, key=figure, default=None)


def cpu_bound(trial: Trial, cores: int) -> bool:
    """Did the trial's closed loop keep the server's `cores` busy (CPU_BOUND)?

    Then the CPU is what limits it: more slots only queue more requests for the same cores.
    """
    return (
        cores > 0 and trial.server is not None and trial.server.cpu_cores_busy >= CPU_BOUND * cores
    )


def backlog_within_slo(trial: Trial) -> bool:
    """Did the target hold with more clients than the trial has slots: was its capacity
    measured by a closed loop that kept requests waiting in the backlog?

    Then its slots filled before the latency target bound, and more slots may still add
    capacity with the cores busy (on the zoo's mixed app 1×24 gthread kept 0.998 cores busy
    at 30 clients within the target, and 1×32 served 7–16% more side by side): a request
    that waits in a thread is ready the moment the core is free; one in the accept queue is
    not. When the target bound first (capacity at fewer clients than slots), more slots only
    queue.
    """
    return trial.capacity_rps > 0 and trial.capacity_clients > trial.config.slots


def other_figure(run: ClientModelRun) -> float:
    """The other client model's capacity as rank judges it: 0 if unusable, and the low end of
    its hands where it was dealt again (kept-alive connections on workers that race)."""
    if not run.feasible:
        return 0.0
    if run.deals is not None and run.deals.deals and run.capacity_rps > 0:
        return min(run.capacity_rps, run.deals.low_rps)
    return run.capacity_rps


def worse_model(trial: Trial) -> float:
    """A trial's capacity under the worse of the two client models (its own where the other
    was not measured), each judged by its low end where it was dealt."""
    other = trial.other_model
    if other is None:
        return figure(trial)
    return min(figure(trial), other_figure(other))


def holds_up(pick: Trial, trials: Iterable[Trial], rules: Rules) -> Trial:
    """The finalist that holds up under both client models: the pick, unless a finalist
    measured both ways does better under the worse of them by more than both intervals allow
    (each trial's half-width, as a share of its capacity, around its worse figure)."""
    both = [t for t in trials if t.other_model is not None and eligible(t, rules)]
    if pick.other_model is None or not both:
        return pick
    found = max(both, key=worse_model)
    if worse_model(found) * (1 - _share(found)) > worse_model(pick) * (1 + _share(pick)):
        return found
    return pick


def _share(trial: Trial) -> float:
    """A trial's interval half-width as a share of its figure (0 where it has none)."""
    low, high = ci(trial)
    judged = figure(trial)
    return (high - low) / 2 / judged if judged > 0 else 0.0


def pss(trial: Trial) -> float:
    return trial.server.pss_mib_peak if trial.server else trial.predicted_pss_mib
