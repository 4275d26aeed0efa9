"""Settings are declared once (settings.py): the CLI, the tuner's defaults and the settings
table in docs/settings.md all come from the same declarations, so they cannot drift apart."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click
import pytest

from tunicorn import classes, settings
from tunicorn.cli import cli
from tunicorn.decide import stall
from tunicorn.decide.tune import TuneSettings

TABLE_PAGE = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_the_docs_table_is_the_generated_one() -> None:
    table = settings.markdown()
    assert table in TABLE_PAGE.read_text(encoding="utf-8"), (
        "docs/settings.md's table is out of date: paste tunicorn.settings.markdown() into it"
    )


@pytest.mark.parametrize("setting", [s for s in settings.SETTINGS if s.flag], ids=lambda s: s.name)
def test_each_flag_is_on_the_commands_it_names(setting: settings.Setting[object]) -> None:
    for name in setting.commands:
        command = cli.commands[name]
        options = [p for p in command.params if isinstance(p, click.Option)]
        flags = {f for p in options for f in (*p.opts, *p.secondary_opts)}
        assert setting.flag.split("/")[0] in flags, f"{setting.flag} is missing from {name}"
        param = next(p for p in command.params if p.name == setting.name)
        assert param.default in (setting.default, None)  # None: the code supplies the default


def test_the_tuners_defaults_are_the_declared_ones() -> None:
    declared = {s.name: s.default for s in settings.SETTINGS}
    del declared["plan"]  # TuneSettings.plan is the resolved plan's name ("" for --cpus/--memory)
    declared["stall"] = stall.parse(str(declared["stall"]))  # TuneSettings holds it parsed
    for field in dataclasses.fields(TuneSettings):
        if field.name in declared and field.default is not dataclasses.MISSING:
            assert field.default == declared[field.name], field.name


def test_sync_with_threads_runs_as_gthread_and_nothing_else_changes() -> None:
    assert classes.running_class("sync", 4) == "gthread"
    assert classes.running_class("sync", 1) == "sync"
    assert classes.running_class("gthread", 1) == "gthread"
    assert classes.running_class("gevent", 8) == "gevent"
    assert classes.class_for_threads(1) == "sync" and classes.class_for_threads(2) == "gthread"


def test_the_uvicorn_workers_names_mean_one_class_and_the_old_one_says_so() -> None:
    assert classes.class_named("uvicorn") == ("uvicorn", "")
    assert classes.class_named("uvicorn_worker.UvicornWorker") == ("uvicorn", "")
    cls, note = classes.class_named("uvicorn.workers.UvicornWorker")
    assert cls == "uvicorn" and "deprecated" in note and "uvicorn-worker" in note
    assert classes.interface_of_class("uvicorn") == "asgi"
    assert classes.interface_of_class("gthread") == "wsgi"
    assert classes.event_loop("uvicorn") and classes.event_loop("gevent")
    assert not classes.event_loop("gthread")
    with pytest.raises(ValueError):
        classes.class_named("tornado")
