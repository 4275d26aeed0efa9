"""The derived budget: from the profile's service time, capped by --budget, learning the
trial length from real trials."""

from __future__ import annotations

from tests.reportdata import flat_profile
from tunicorn.decide.tune import (
    BUDGET_MAX_S,
    BUDGET_MIN_S,
    SEARCH_TRIALS,
    Budget,
    TuneSettings,
    derived_budget,
    expected_rate,
    longest_window,
)
from tunicorn.machine import emulate
from tunicorn.run.capacity import MAX_WINDOW_S


def settings(**kw: object) -> TuneSettings:
    return TuneSettings(machine=emulate(1, 1792.0), **kw)  # type: ignore[arg-type]


def test_a_slow_page_gets_a_larger_budget_and_longer_windows_than_a_fast_one() -> None:
    fast, slow = flat_profile(1.0, 1.2), flat_profile(80.0, 90.0)
    s = settings()
    assert expected_rate(fast, 1) > 10 * expected_rate(slow, 1)
    assert derived_budget(s, slow) > 2 * derived_budget(s, fast)
    assert derived_budget(s, fast) >= BUDGET_MIN_S and derived_budget(s, slow) <= BUDGET_MAX_S
    assert longest_window(s, expected_rate(fast, 1)) < longest_window(s, expected_rate(slow, 1))
    assert longest_window(s, expected_rate(slow, 1)) <= MAX_WINDOW_S
    # The profile's own time counts against the budget.
    assert derived_budget(s, slow, 40.0) >= derived_budget(s, slow)


def test_budget_caps_and_learns_the_trial_length() -> None:
    budget = Budget(settings(), None)
    budget.fit(300.0, 100.0)
    estimate = budget.per_trial_s
    budget.observe(estimate * 0.1)
    assert budget.per_trial_s == estimate  # one trial is not yet a length
    budget.observe(estimate * 0.1)
    assert budget.per_trial_s == 0.5 * estimate  # never under half the estimate
    budget.observe(estimate * 4)
    assert budget.per_trial_s > estimate
    assert budget.reserve_s == budget.reserve_trials * budget.per_trial_s > 0
    assert budget.expect_s() <= budget.budget_s == 100.0


def test_a_derived_budget_leaves_the_search_room_after_the_opening() -> None:
    """The opening (baselines, the model's start, gevent) and the reserve for settling and
    the stall check must not use up a derived budget: the search gets trials of its own."""
    for profile in (flat_profile(1.0, 1.2), flat_profile(80.0, 90.0)):
        s = settings()
        budget = Budget(s, None, stall_check=True)
        assert budget.stall_s > 0
        rate = expected_rate(profile, 1)
        budget.fit(rate, derived_budget(s, profile, 0.0, budget.stall_s))
        opening = 5 * budget.per_trial_s
        budget.started -= opening  # as if the opening had taken its expected time
        assert budget.searching(), (budget.budget_s, opening, budget.reserve_s)
        assert budget.expect_s() <= budget.budget_s


def test_settling_leaves_the_stall_checks_room() -> None:
    """Close calls and deals stop where the stall check's finalists would lose their room;
    the check itself may spend it."""
    budget = Budget(settings(), None, stall_check=True)
    budget.fit(100.0, 60.0)
    budget.started -= 60.0 - budget.per_trial_s - budget.stall_s / 2  # half the room left
    assert not budget.room(1)
    assert budget.room(1, stalling=True)


def test_a_derived_budget_keeps_the_searchs_trials_after_a_long_opening() -> None:
    """dbdefault's opening (five trials of 10-20 s against 8 estimated) left no room for one
    search trial in its derived 150 s, so the gevent shape one worker up was never measured:
    a derived budget grows to pay for SEARCH_TRIALS at the measured trial length. A budget
    with room, a --budget and a stopped tune stay as they are."""
    profile = flat_profile(1.0, 1.2)
    s = settings()
    budget = Budget(s, None, stall_check=True)
    budget.fit(expected_rate(profile, 1), derived_budget(s, profile, 10.0, budget.stall_s))
    derived, estimate = budget.budget_s, budget.per_trial_s
    assert not budget.keep_search()  # room left: nothing to grow
    for _ in range(5):  # the opening, each trial twice the estimate
        budget.observe(2 * estimate)
    budget.started -= 10.0 + 5 * 2 * estimate
    assert not budget.searching()
    assert budget.keep_search() and budget.budget_s > derived
    assert budget.searching() and budget.room(SEARCH_TRIALS)

    capped = Budget(settings(budget_s=derived), None)
    capped.fit(expected_rate(profile, 1), derived)
    capped.started -= derived
    assert not capped.keep_search() and capped.budget_s == derived
