"""--upstream's pure parts: what the flag says, where the variable points, how it is rewritten."""

from __future__ import annotations

import pytest

from tunicorn import record
from tunicorn.app.target import Target
from tunicorn.errors import UsageError
from tunicorn.run.upstream import Upstreams, endpoint, parse_spec


@pytest.mark.parametrize(
    ("text", "names", "ms"),
    [("DATABASE_URL=+2ms", ("DATABASE_URL",), 2.0), ("REDIS_URL=0.5ms", ("REDIS_URL",), 0.5),
     ("DB_HOST, DB_PORT=+3", ("DB_HOST", "DB_PORT"), 3.0), ("API=+1s", ("API",), 1000.0)],
)  # fmt: skip
def test_parse_spec(text: str, names: tuple[str, ...], ms: float) -> None:
    spec = parse_spec(text)
    assert spec.names == names and spec.added_ms == ms


@pytest.mark.parametrize("text", ["DATABASE_URL", "=+2ms", "A,B,C=+2ms", "X=+0ms", "X=-2ms",
                                  "X=+2h", "X=+20s"])  # fmt: skip
def test_parse_spec_rejects(text: str) -> None:
    with pytest.raises(UsageError, match="--upstream"):
        parse_spec(text)


def test_url_rewritten_keeps_user_password_path_and_query() -> None:
    spec = parse_spec("DATABASE_URL=+2ms")
    env = {"DATABASE_URL": "postgresql+psycopg://u:p%40ss@db.example.com:6432/app?sslmode=require"}
    ep = endpoint(spec, env)
    assert (ep.host, ep.port, ep.kind) == ("db.example.com", 6432, "url")
    assert ep.rewritten(40001) == {
        "DATABASE_URL": "postgresql+psycopg://u:p%40ss@127.0.0.1:40001/app?sslmode=require"
    }


def test_url_default_port_from_scheme() -> None:
    ep = endpoint(parse_spec("DATABASE_URL=+2ms"), {"DATABASE_URL": "postgres://db/app"})
    assert (ep.host, ep.port) == ("db", 5432)
    assert ep.rewritten(9)["DATABASE_URL"] == "postgres://127.0.0.1:9/app"


def test_host_port_and_pair() -> None:
    ep = endpoint(parse_spec("CACHE=+1ms"), {"CACHE": "localhost:11211"})
    assert (ep.host, ep.port) == ("localhost", 11211)
    assert ep.rewritten(7) == {"CACHE": "127.0.0.1:7"}
    pair = endpoint(parse_spec("DB_HOST,DB_PORT=+2ms"), {"DB_HOST": "10.0.0.5", "DB_PORT": "5432"})
    assert (pair.host, pair.port) == ("10.0.0.5", 5432)
    assert pair.rewritten(7) == {"DB_HOST": "127.0.0.1", "DB_PORT": "7"}


@pytest.mark.parametrize(
    ("env", "words"),
    [({}, "is not set"), ({"DATABASE_URL": "postgresql:///app?host=/run/pg"}, "names no host"),
     ({"DATABASE_URL": "postgresql://a:1,b:2/app"}, "several hosts"),
     ({"DATABASE_URL": "weird://host/app"}, "no port"),
     ({"DATABASE_URL": "just-a-name"}, "neither a URL")],
)  # fmt: skip
def test_bad_values_say_what_to_do(env: dict[str, str], words: str) -> None:
    with pytest.raises(UsageError, match=words):
        endpoint(parse_spec("DATABASE_URL=+2ms"), env)


def test_pair_needs_a_port_number() -> None:
    with pytest.raises(UsageError, match="not a port number"):
        endpoint(parse_spec("H,P=+2ms"), {"H": "db", "P": "five"})


def test_same_variable_twice() -> None:
    env = {"A": "h:1"}
    with pytest.raises(UsageError, match="twice"):
        Upstreams([parse_spec("A=+1ms"), parse_spec("A=+2ms")], env=env)


def test_nothing_asked_starts_nothing() -> None:
    target = Target(kind="app", app="m:app")
    with Upstreams([], env={}) as up:
        assert up.proc is None and up.apply(target) is target and up.records() == ()


def test_records_round_trip_and_print() -> None:
    """The added round trips survive a tune's and a profile's JSON, and the report says them."""
    import dataclasses
    import io
    import sys
    from pathlib import Path

    from rich.console import Console

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import reportdata
    from tunicorn.report import terminal

    added = (record.UpstreamDelay("DATABASE_URL", "db:5432", "127.0.0.1:40001", 2.0, 4, 100),)
    tune = dataclasses.replace(reportdata.make_tune(), upstream=added)
    assert record.from_json(record.to_json(tune), record.TuneResult) == tune
    profile = dataclasses.replace(reportdata.make_profile(), upstream=added)
    assert record.from_json(record.to_json(profile), record.Profile) == profile
    buf = io.StringIO()
    terminal.print_profile(profile, Console(file=buf, width=200))
    assert "DATABASE_URL → db:5432: +2 ms per round trip" in buf.getvalue()
    assert "4 connection(s)" in buf.getvalue()
