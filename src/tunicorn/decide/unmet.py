"""Why no configuration met the target: the cause the ruled-out trials share, and its remedy.

When every trial is ruled out, "raise the SLO, add memory, or look at the errors" sends the
user through three doors when the trials already say which one. Workers that died (a segfault
in a C extension, the OOM killer) are fixed in the app, not by a configuration; an error status
is the app's own answer; memory and the latency target are the plan's and the SLO's. So each
ruled-out trial gets one cause, read from what measure recorded (its reason, its note with the
server log's phrases, its phases' status codes), and the verdict names the commonest one,
quoting the server log where workers died, then counts the others.

Pure functions over records: no server, no clock.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable

from tunicorn.launch.interface import LAST_ERROR, RESTARTED
from tunicorn.record import Trial

__all__ = ["Cause", "cause", "verdict"]

_DIED = RESTARTED.split("{n}")[0]  # "workers were restarted "
# The order in which causes are fixed: a crash hides every other figure, a failing status
# hides latency, and only then do memory and the target decide.
ORDER = ("failed", "died", "oom", "timeout", "status", "errors", "memory", "latency", "other")


@dataclasses.dataclass(frozen=True)
class Cause:
    """One ruled-out trial's cause: a kind from ORDER and the detail that shows it."""

    kind: str
    detail: str = ""  # a log line, the status codes, the error kinds, a figure


def _note_part(note: str, prefix: str) -> str:
    for part in note.split("; "):
        if part.startswith(prefix):
            return part[len(prefix) :]
    return ""


def _last_error(note: str) -> str:
    """The quoted log line: the last phrase of a note, so it may itself hold "; "."""
    at = note.find(LAST_ERROR)
    return note[at + len(LAST_ERROR) :] if at >= 0 else ""


def _statuses(trial: Trial) -> Counter[str]:
    codes: Counter[str] = Counter()
    for phase in trial.phases:
        codes.update({k: v for k, v in phase.status_counts.items() if k[:1] in "45"})
    return codes


def cause(trial: Trial) -> Cause:
    """Why one trial was ruled out, most fundamental first: died, then status, then the rest."""
    note = trial.note
    if trial.reason in ("failed", "interface"):
        return Cause("failed", note)
    if "killed by SIGKILL" in note:
        return Cause("oom", _last_error(note))
    if "timeout and were killed" in note:
        return Cause("timeout", next((p for p in note.split("; ") if "timeout" in p), ""))
    if _DIED in note:
        return Cause("died", _last_error(note))
    if trial.reason == "errors":
        codes = _statuses(trial)
        if codes:
            return Cause("status", ", ".join(f"{k} ×{v}" for k, v in codes.most_common(3)))
        return Cause("errors", _note_part(note, "errors under load (").rstrip(")"))
    if trial.reason == "memory":
        need = trial.server.pss_mib_peak if trial.server else trial.predicted_pss_mib
        return Cause("memory", f"{need:.0f}")
    if trial.reason == "slo":
        p95 = min((ph.latency_ms.p95 for ph in trial.phases), default=trial.latency_ms.p95)
        return Cause("latency", f"{p95:.0f}")
    return Cause("other", note)


def _advice(kind: str, causes: list[Cause], slo: float, budget_mib: float) -> str:
    """What to do about one kind of cause, in the words of its details."""
    detail = next((c.detail for c in causes if c.detail), "")
    if kind == "died":
        said = f" (the server log's last error: {detail})" if detail else ""
        return (
            f"workers died under load{said}, and no number of workers or threads fixes a "
            "crash: find what kills them (a signal such as SIGSEGV or SIGABRT points to a C "
            "extension or native library; an exit code to os._exit or sys.exit in the app), "
            "read the whole log with --log-dir, fix it and tune again"
        )
    if kind == "oom":
        return (
            "workers were killed by SIGKILL, as the out-of-memory killer does: give the plan "
            "more memory (a larger --plan) or make each worker hold less, then tune again"
        )
    if kind == "timeout":
        return (
            f"workers were killed for going over gunicorn's timeout ({detail}): a request "
            "runs longer than the timeout allows; make that route faster (tunicorn profile "
            "names it) and tune again"
        )
    if kind == "status":
        return (
            f"the app answered with error statuses under load ({detail}): that is the app's own "
            "answer, not the configuration's; read the server log with --log-dir for the "
            "exception behind them, fix it and tune again"
        )
    if kind == "errors":
        return (
            f"requests failed under load ({detail or 'connection errors'}) without a worker "
            "dying: read the server log with --log-dir for why connections were closed or "
            "stalled, and tune again"
        )
    if kind == "memory":
        least = min(float(c.detail) for c in causes if c.detail)
        return (
            f"every configuration tried needed more memory than the {budget_mib:.0f} MiB budget "
            f"(the smallest about {least:.0f} MiB): choose a plan with more memory (--plan) or "
            "make each worker smaller"
        )
    if kind == "latency":
        least = min(float(c.detail) for c in causes if c.detail)
        return (
            f"even with the fewest clients, p95 stayed over {slo:.0f} ms (at best {least:.0f} "
            f"ms): the app is slower than the target on its own; raise --slo-p95 to at least "
            f"{least:.0f}, or make the slow route faster (tunicorn profile names it)"
        )
    if kind == "failed":
        return f"the server did not run ({detail or 'see the trials'}): fix that and tune again"
    return "look at the trials' notes"


_SHORT = {
    "failed": "did not run", "died": "lost workers that died", "oom": "had workers killed "
    "by SIGKILL", "timeout": "had workers killed by the timeout", "status": "answered error "
    "statuses", "errors": "failed requests", "memory": "went over the memory budget",
    "latency": "went over the latency target", "other": "were ruled out otherwise",
}  # fmt: skip


def verdict(trials: Iterable[Trial], slo: float, budget_mib: float) -> str:
    """The closing sentence when no trial is feasible: the commonest cause, what to do about
    it, and how many trials each other cause ruled out."""
    ruled_out = [t for t in trials if not t.feasible and t.reason != "slower"]
    head = f"No configuration met p95 ≤ {slo:.0f} ms without errors"
    if not ruled_out:
        return f"{head}: no trial was measured; run tune again with a larger --budget."
    by_kind: dict[str, list[Cause]] = {}
    for trial in ruled_out:
        found = cause(trial)
        by_kind.setdefault(found.kind, []).append(found)
    kind = max(by_kind, key=lambda k: (len(by_kind[k]), -ORDER.index(k)))
    n, total = len(by_kind[kind]), len(ruled_out)
    share = "every trial" if n == total else f"{n} of {total} trials"
    text = f"{head}: in {share}, {_advice(kind, by_kind[kind], slo, budget_mib)}."
    others = [k for k in ORDER if k in by_kind and k != kind]
    if others:
        text += " The others: " + ", ".join(
            f"{len(by_kind[k])} {_SHORT[k]}" for k in others
        ) + "."  # fmt: skip
    return text
