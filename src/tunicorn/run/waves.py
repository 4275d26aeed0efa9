"""What a probe's waves say: which waves to send, and how many slots their answers show.

Pure functions of the sizes and the completion times, so they are tested without a server;
`run.probe` sends the waves and re-exports these names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from tunicorn.errors import UsageError

FAST_MS = 5.0  # below this a round of service is lost in connection and scheduling noise
ROUND_SLACK = 0.5  # a first-round answer lands within half a service time of the earliest
AGREE = 0.15  # two saturated waves within this fraction of each other agree


def plan_waves(max_concurrency: int) -> tuple[int, ...]:
    """1, 2, 4, … below `max_concurrency`, then `max_concurrency` itself."""
    if max_concurrency < 1:
        raise UsageError("--max-concurrency must be 1 or more.")
    sizes: list[int] = []
    k = 1
    while k < max_concurrency:
        sizes.append(k)
        k *= 2
    sizes.append(max_concurrency)
    return tuple(sizes)


def cap_waves(sizes: Sequence[int], budget: int | None, *, reserved: int = 1) -> tuple[int, ...]:
    """The leading waves whose requests, plus `reserved` (the warm-up), fit in `budget`.

    A host that is not loopback is someone's production: the whole probe stays bounded.
    """
    if budget is None:
        return tuple(sizes)
    out: list[int] = []
    spent = reserved
    for k in sizes:
        if spent + k > budget:
            break
        out.append(k)
        spent += k
    return tuple(out)


def first_round(completion_ms: Sequence[float], single_ms: float) -> int:
    """How many answers of a wave landed in its first round of service.

    The first round ends half a service time after the earliest answer: the second round
    cannot start before a first-round request has finished, so it cannot land sooner.
    """
    if not completion_ms:
        return 0
    times = sorted(completion_ms)
    limit = times[0] + ROUND_SLACK * max(single_ms, 0.0)
    return sum(1 for t in times if t <= limit)


@dataclasses.dataclass(frozen=True)
class Inference:
    """What the waves say; `effective` is None when they cannot say it firmly."""

    effective: int | None
    at_least: bool  # every wave was served in one round: the limit lies above the largest
    confidence: str  # "high", "medium", "low" or "none"
    consistent: bool  # the saturated waves agree (else a wave is worth repeating)


def infer(waves: Sequence[tuple[int, Sequence[float]]], single_ms: float) -> Inference:
    """Slots from (wave size, completion times in ms) pairs and the single-request latency.

    Noise can only push a first round down (a busy machine delays answers; gunicorn's
    gthread workers share a burst of connections unevenly), never up: the largest count is
    the least disturbed. A wave larger than that count is saturated evidence; when all such
    waves (two or more) agree exactly, it is firm; else the largest wave is worth repeating.
    """
    if single_ms < FAST_MS or not waves:
        return Inference(None, False, "none", True)
    counts = [(k, first_round(times, single_ms)) for k, times in waves if times]
    if not counts:
        return Inference(None, False, "none", True)
    best = max(c for _, c in counts)
    saturated = sorted((c for k, c in counts if c < k and k > best), reverse=True)
    if best >= max(k for k, _ in counts):
        return Inference(best, True, "medium", True)
    if not saturated:  # the best count came from a wave it filled: a bound met only once
        return Inference(best, False, "medium", False)
    consistent = len(saturated) >= 2 and all(c == best for c in saturated)
    if consistent:
        confidence = "high"
    elif len(saturated) >= 2 and saturated[1] >= (1 - AGREE) * best:
        confidence = "medium"
    else:
        confidence = "low"
    return Inference(best, False, confidence, consistent)


def server_hint(server: str) -> str:
    """What the Server header suggests about the software and the setting that matters."""
    name = server.lower()
    if not server:
        return "no Server header: the software is not named (a proxy may hide it)"
    if "gunicorn" in name:
        return "gunicorn: check --workers/--threads (App Service's default is 1×1)"
    if "werkzeug" in name:
        return "the Flask development server: never for production; use gunicorn"
    if "waitress" in name:
        return "waitress: its --threads setting (default 4) is the number of slots"
    if "uvicorn" in name or "hypercorn" in name:
        return "an ASGI server: check --workers, and that views do not block the event loop"
    if "microsoft-iis" in name or "kestrel" in name or "nginx" in name or "apache" in name:
        return "a proxy or front end: it hides the app server behind it"
    return "check how many workers and threads this server runs"


def verdict_text(inf: Inference, single_ms: float, max_concurrency: int) -> str:
    if inf.effective is None:
        return (
            f"no firm answer — a request takes {single_ms:.1f} ms, too fast to tell how many "
            "are served at once; probe a slower path with --path (one that waits on a "
            "database or an API)."
        )
    if inf.at_least:
        return (
            f"at least {inf.effective} — every wave up to {max_concurrency} was served at once; "
            "the limit, if any, lies above."
        )
    if inf.effective == 1:
        return "1 — requests are served one at a time: a slow request makes every other user wait."
    return (
        f"{inf.effective} — requests are served {inf.effective} at a time: "
        f"request {inf.effective + 1} waits for one of them to finish."
    )


def next_step_text(inf: Inference, server: str, more_slots_command: str) -> str:
    name = server.lower()
    if inf.effective is None:
        return "Probe a slower path (--path), or measure the app itself with tunicorn tune."
    if "werkzeug" in name:
        return f"Run the app under gunicorn instead, e.g.: {more_slots_command}"
    if inf.effective <= 4:
        return (
            "Measure the app with `tunicorn tune app:app --plan B1` (your plan), or give it "
            f"more slots now with the startup command: {more_slots_command}"
        )
    return (
        "The server already handles several requests at once; to size it for your plan "
        "and memory, run `tunicorn tune app:app --plan B1`."
    )
