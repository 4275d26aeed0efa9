"""Phrases the terminal and the HTML page both print, so the two never word a fact differently."""

from __future__ import annotations

from tunicorn.decide import rank
from tunicorn.record import ProbeResult, Trial, UpstreamDelay


def pooled_text(trial: Trial) -> str:
    """'mean of 2 runs: 41.0, 43.2 req/s' for a trial measured more than once, else ""."""
    if not trial.runs:
        return ""
    n = len(trial.runs)
    figures = ", ".join(f"{r.capacity_rps:,.1f}" for r in trial.runs)
    return f"{trial.pooled or 'pooled'} of {n} runs: {figures} req/s"


def trial_note(trial: Trial) -> str:
    """What the trials table says beside a trial: how its kept-alive hands spread, how it was
    pooled, then tune's own note."""
    return "; ".join(x for x in (rank.dealt_text(trial), pooled_text(trial), trial.note) if x)


def upstream_line(added: UpstreamDelay) -> str:
    """What --upstream added, so a figure is read with the network it was measured over."""
    seen = f"{added.connections} connection(s) through it"
    if added.refused:
        seen += f", {added.refused} turned away at its bound"
    return (
        f"{added.variable} → {added.upstream}: +{added.added_ms:g} ms per round trip "
        f"(half each way, via {added.listen}; {seen})"
    )


def expectation_text(result: ProbeResult) -> str:
    """probe --expect N's outcome in a sentence (the terminal colours it, the page shows it)."""
    n = result.expect
    if result.meets_expectation:
        return f"Serves at least {n} requests at once (--expect {n})."
    if result.meets_expectation is None:
        return (
            f"Could not show that it serves {n} requests at once (--expect {n}): probe a "
            "slower path (--path) for a firm answer."
        )
    text = (
        f"Serves fewer than {n} requests at once (--expect {n}): "
        f"{result.effective_concurrency} at a time"
    )
    if result.method == "stacking":
        text += (
            " on this fast page; if its time is all CPU that may be the host's free cores, "
            "not the server's slots: gate on a page that waits (--path) to tell them apart"
        )
    return text + "."
