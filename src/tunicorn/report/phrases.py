"""Phrases the terminal and the HTML page both print, so the two never word a fact differently."""

from __future__ import annotations

from tunicorn.record import Trial


def pooled_text(trial: Trial) -> str:
    """'mean of 2 runs: 41.0, 43.2 req/s' for a trial measured more than once, else ""."""
    if not trial.runs:
        return ""
    n = len(trial.runs)
    figures = ", ".join(f"{r.capacity_rps:,.1f}" for r in trial.runs)
    return f"{trial.pooled or 'pooled'} of {n} runs: {figures} req/s"


def trial_note(trial: Trial) -> str:
    """What the trials table says beside a trial: how it was pooled, then tune's own note."""
    return "; ".join(x for x in (pooled_text(trial), trial.note) if x)
