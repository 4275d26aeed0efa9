"""A tune adds check's findings on the app's code under the pick's own startup command (the
one emit wrote), and leaves out a blocking route the profile already measured."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/reportdata.py

import reportdata  # noqa: E402
from tunicorn.deploy.check import with_code_warnings  # noqa: E402
from tunicorn.deploy.emit import with_commands  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "check"


def test_thread_unsafe_code_is_warned_about_for_the_picks_threads() -> None:
    result = with_commands(reportdata.make_tune())  # the pick: 4 × 8 gthread
    added = with_code_warnings(result, str(FIXTURES / "thread_unsafe")).warnings
    new = added[len(result.warnings) :]
    assert any("with 8 threads per worker" in w for w in new), new
    assert with_code_warnings(result, str(FIXTURES / "clean")) is result
    assert with_code_warnings(result, None) is result  # the demo: no project to read


def test_a_blocking_route_the_profile_measured_is_not_said_twice() -> None:
    result = with_commands(reportdata.make_tune())
    folder = str(FIXTURES / "fastapi_blocking")
    static = with_code_warnings(result, folder).warnings[len(result.warnings) :]
    assert [w for w in static if w.startswith("GET /slow (")], static
    measured = dataclasses.replace(
        result, warnings=(*result.warnings, "GET /slow blocks the event loop: measured 40 ms")
    )
    again = with_code_warnings(measured, folder).warnings[len(measured.warnings) :]
    assert not [w for w in again if w.startswith("GET /slow")] and again, again
