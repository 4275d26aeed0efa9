"""The load engine's pieces that need no network: the mix, the histogram, the request bytes."""

from __future__ import annotations

import base64
import collections

import pytest

from tunicorn.errors import UsageError
from tunicorn.load.engine import _check, _Target, new_histogram, weighted_cycle
from tunicorn.load.scenario import LoadSpec, Request
from tunicorn.report.plots import decode_histogram


def test_weighted_cycle_follows_weights_and_interleaves() -> None:
    order = weighted_cycle([3, 1, 0], length=400)
    assert collections.Counter(order) == {0: 300, 1: 100}
    assert order[:4].count(1) == 1  # smooth: the light request is not bunched at the end
    assert order == weighted_cycle([3, 1, 0], length=400)  # deterministic


def test_weighted_cycle_single_and_fractional() -> None:
    assert weighted_cycle([5.0]) == [0]
    counts = collections.Counter(weighted_cycle([0.5, 0.25, 0.25], length=1000))
    assert counts == {0: 500, 1: 250, 2: 250}


@pytest.mark.parametrize("weights", [[], [0, 0], [-1, 2], [float("nan")]])
def test_weighted_cycle_rejects_bad_weights(weights: list[float]) -> None:
    with pytest.raises(UsageError):
        weighted_cycle(weights)


def test_histogram_round_trip() -> None:
    hist = new_histogram()
    values_us = (150, 900, 1_200, 25_000, 3_000_000)
    for us in values_us:
        hist.record_value(us)
    text = hist.encode().decode("ascii")  # what the engine stores in the record
    # Base64 of HdrHistogram's compressed V2 encoding (its cookie first), not any text at all.
    payload = base64.b64decode(text, validate=True)
    assert payload[:4] == bytes.fromhex("1c849314")
    again = type(hist).decode(text.encode("ascii"))
    assert again.get_total_count() == len(values_us)
    assert again.get_max_value() == hist.get_max_value()
    for pct in (10, 50, 90, 99, 100):
        assert again.get_value_at_percentile(pct) == hist.get_value_at_percentile(pct)
    # And the report, which reads the text back for the latency plot, sees the same values.
    points = decode_histogram(text)
    assert points is not None
    assert {ms for _, ms in points} == {
        hist.get_highest_equivalent_value(us) / 1000 for us in values_us
    }


def test_request_bytes() -> None:
    spec = LoadSpec(
        url="http://127.0.0.1:8000/api/",
        requests=(Request("/items", method="post", headers=(("X-A", "1"),), body=b"{}"),),
        keepalive=False,
    )
    target = _Target(spec)
    assert target.sequence == [
        b"POST /api/items HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUser-Agent: tunicorn\r\n"
        b"X-A: 1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
    ]
    assert target.addrs[0][1:] == ("127.0.0.1", 8000)


def test_ipv6_host_header() -> None:
    target = _Target(LoadSpec(url="http://[::1]:8000"))
    assert b"Host: [::1]:8000\r\n" in target.sequence[0]
    assert target.addrs[0][1] == "::1"


@pytest.mark.parametrize(
    "spec",
    [
        LoadSpec(url="https://127.0.0.1:8000"),
        LoadSpec(url="127.0.0.1:8000"),
        LoadSpec(url="http://127.0.0.1:8000", requests=(Request(method="HEAD"),)),
    ],
)
def test_bad_urls(spec: LoadSpec) -> None:
    with pytest.raises(UsageError):
        _Target(spec)


@pytest.mark.parametrize(
    "spec",
    [
        LoadSpec(url="http://127.0.0.1", concurrency=0),
        LoadSpec(url="http://127.0.0.1", rate=0),
        LoadSpec(url="http://127.0.0.1", duration_s=-1),
        LoadSpec(url="http://127.0.0.1", max_requests=0),
    ],
)
def test_bad_specs(spec: LoadSpec) -> None:
    with pytest.raises(UsageError):
        _check(spec)
