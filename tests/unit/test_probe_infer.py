"""The probe's inference on synthetic completion times: no network, no clock."""

from __future__ import annotations

import math

import pytest

from tunicorn.run.probe import (
    REMOTE_BUDGET,
    cap_waves,
    first_round,
    infer,
    plan_waves,
    server_hint,
)

T = 300.0


def rounds(k: int, slots: int, jitter: float = 0.0) -> list[float]:
    """Completion times of a wave of k on a server with `slots`, each round T long."""
    return [T * math.ceil((i + 1) / slots) + jitter * (i % 3) for i in range(k)]


def waves_for(slots: int, sizes: tuple[int, ...] = (1, 2, 4, 8, 16, 32)) -> list:
    return [(k, rounds(k, slots, jitter=5.0)) for k in sizes]


@pytest.mark.parametrize("slots", [1, 2, 4, 6, 18])
def test_infer_finds_the_slots(slots: int) -> None:
    # 18 has one wave above it: the probe looks at that wave again before it is firm.
    inf = infer(waves_for(slots, (1, 2, 4, 8, 16, 32, 32)), T)
    assert inf.effective == slots
    assert not inf.at_least
    assert inf.confidence == "high"


def test_every_wave_served_at_once_is_a_lower_bound() -> None:
    inf = infer(waves_for(100), T)
    assert inf.effective == 32 and inf.at_least


def test_too_fast_gives_no_answer() -> None:
    inf = infer(waves_for(1), 2.0)
    assert inf.effective is None and inf.confidence == "none"


def test_an_uneven_look_does_not_lower_the_answer() -> None:
    # gthread workers share a burst unevenly: one look at 32 sees 14, another 18.
    uneven = [T] * 14 + [2 * T] * 18
    waves = [*waves_for(18), (32, uneven)]
    inf = infer(waves, T)
    assert inf.effective == 18
    assert not inf.consistent and inf.confidence in ("medium", "low")


def test_first_round_counts_answers_within_half_a_round() -> None:
    assert first_round([310, 320, 640, 900], T) == 2
    assert first_round([], T) == 0


def test_waves_double_up_to_the_maximum() -> None:
    assert plan_waves(32) == (1, 2, 4, 8, 16, 32)
    assert plan_waves(20) == (1, 2, 4, 8, 16, 20)
    assert plan_waves(1) == (1,)


def test_remote_budget_caps_the_requests() -> None:
    sizes = plan_waves(512)
    capped = cap_waves(sizes, REMOTE_BUDGET)
    assert sum(capped) + 1 <= REMOTE_BUDGET
    assert capped == (1, 2, 4, 8, 16, 32, 64)
    assert cap_waves(sizes, None) == sizes


@pytest.mark.parametrize(
    ("header", "word"),
    [("gunicorn", "--workers"), ("Werkzeug/3.1.8 Python/3.12", "development"),
     ("waitress", "--threads"), ("", "not named")],
)  # fmt: skip
def test_server_hint_names_the_setting(header: str, word: str) -> None:
    assert word in server_hint(header)
