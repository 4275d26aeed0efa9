"""The fast-page probe's statistics on synthetic rounds: no network, no clock."""

from __future__ import annotations

import dataclasses
import random

import pytest

from tunicorn.record import ProbeResult
from tunicorn.run import stacking
from tunicorn.run.probe import meets
from tunicorn.run.stacking import Round, ratio, slots_from, stack_test

T = 1.5  # ms of service
RTT = 0.1  # ms per network round trip


def synthetic(k: int, slots: int, n: int = 30, noise: float = 0.15, seed: int = 1) -> list[Round]:
    """Rounds on a server with `slots`: answer i of a wave lands in round ⌈(i+1)/slots⌉."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        single = 2 * RTT + T + rng.uniform(0, noise)
        wave = tuple(
            2 * RTT + T * ((i // slots) + 1) + rng.uniform(0, noise) for i in range(k)
        )
        out.append(Round(single, RTT, wave))
    return out


@pytest.mark.parametrize(("k", "slots"), [(2, 1), (4, 1), (4, 2), (8, 2), (8, 4)])
def test_stacked_waves_give_the_slots(k: int, slots: int) -> None:
    test = stack_test(synthetic(k, slots), k)
    assert test is not None
    assert not test.together and test.slots == slots, test
    assert test.confidence == "high" and test.agree >= 0.95


@pytest.mark.parametrize("k", [2, 4, 8])
def test_waves_served_together(k: int) -> None:
    test = stack_test(synthetic(k, slots=k), k)
    assert test is not None and test.together and test.slots == k, test
    assert test.ratio < stacking.line(k)


def test_a_coin_toss_is_low_confidence() -> None:
    """Rounds that say one thing half the time and the other half: not a firm answer."""
    serial = synthetic(2, 1, n=15, seed=2)
    parallel = synthetic(2, 2, n=15, seed=3)
    mixed = [r for pair in zip(serial, parallel, strict=True) for r in pair]
    test = stack_test(mixed, 2)
    assert test is not None and test.confidence in ("low", "medium"), test
    assert test.agree < stacking.HIGH


def test_too_few_rounds_or_too_fast_say_nothing() -> None:
    assert stack_test(synthetic(2, 1, n=stacking.MIN_ROUNDS - 1), 2) is None
    lost = [Round(0.2, 0.1, (0.2, 0.3))] * 20  # service time under the clock's noise
    assert all(ratio(r) is None for r in lost) and stack_test(lost, 2) is None


def test_slots_from_ratio() -> None:
    assert slots_from(0.0, 2) == 2 and slots_from(1.0, 2) == 1
    assert slots_from(1 / 3, 4) == 2 and slots_from(1.0, 8) == 1


def test_sureness_sentence_names_the_share_and_the_interval() -> None:
    test = stack_test(synthetic(2, 1), 2)
    assert test is not None
    text = stacking.sureness(test)
    assert "resamples of the 30 rounds agree" in text and "one after another" in text


BASE = ProbeResult(url="u", effective_concurrency=None, serial=False, server="",
                   single_latency_ms=1.0, verdict="")  # fmt: skip


@pytest.mark.parametrize(
    ("found", "at_least", "expect", "want"),
    [(None, False, 2, None), (1, False, 2, False), (2, True, 2, True), (18, False, 2, True),
     (4, True, 8, None), (3, False, 8, False), (5, False, None, None), (None, False, 1, True)],
)  # fmt: skip
def test_meets(found: int | None, at_least: bool, expect: int | None, want: bool | None) -> None:
    result = dataclasses.replace(BASE, effective_concurrency=found, at_least=at_least)
    assert meets(result, expect) is want
