"""Open each HTML report in headless Chromium: every plot must draw, and nothing may be fetched.

The page is meant to be mailed around and opened offline, so "works" means two things a
browser can check and a string search cannot: plotly.js (inlined) really ran and drew an
SVG for every figure, and the page asked the network for nothing. Chromium is pointed at a
black-hole proxy on loopback that records every connection it gets; the control test shows
that an ordinary remote <img> or <script> does reach it, so a silent pass means something.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/reportdata.py

import reportdata  # noqa: E402
from tunicorn import record  # noqa: E402
from tunicorn.record import BenchResult  # noqa: E402
from tunicorn.report import html  # noqa: E402

REAL_BENCH = Path(__file__).resolve().parents[1] / "fixtures" / "reports" / "bench_demo_io.json"

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium() -> str:
    """Chromium's path; a failure, never a skip, where it is missing: these tests are the only
    check that the reports draw, and scripts/test installs it."""
    if CHROMIUM is None:
        pytest.fail(
            "Debian's chromium is not installed: run scripts/test, which installs it, or "
            "apt-get install -y chromium"
        )
    return CHROMIUM


class BlackHoleProxy:
    """A loopback listener that records the first line of every connection and drops it."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.requests: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1.0)
                try:
                    first = conn.recv(4096).split(b"\r\n", 1)[0]
                except OSError:
                    first = b"(no request line)"
                self.requests.append(first.decode("latin-1") or "(empty)")

    def __enter__(self) -> BlackHoleProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


# Chromium's own calls home (clock, updates, sign-in, hints): off, so that any request the
# proxy sees comes from the page.
BROWSER_CHATTER = (
    "NetworkTimeServiceQuerying",
    "OptimizationHints",
    "MediaRouter",
    "Translate",
    "AutofillServerCommunication",
    "CertificateTransparencyComponentUpdater",
    "InterestFeedContentSuggestions",
    "DialMediaRouteProvider",
    "AccountConsistency",
    "MirrorAccountConsistency",
    "SafeBrowsing",
)


# What the flags cannot silence in Debian's chromium 156 (component updater, sign-in check):
# browser-process calls to Google's own service hosts, never to anything a page would load.
# Only these exact hosts are forgiven; fonts.googleapis.com or a CDN still fails the test.
BROWSER_HOSTS = frozenset({"update.googleapis.com", "accounts.google.com", "clients2.google.com"})


def request_host(line: str) -> str:
    """The host of a proxied request line: `CONNECT host:443 …` or `GET http://host/… …`."""
    parts = line.split()
    if len(parts) < 2:
        return ""
    target = parts[1]
    if "://" in target:
        target = target.split("://", 1)[1]
    return target.split("/", 1)[0].rsplit(":", 1)[0].lower()


def page_requests(proxy: BlackHoleProxy) -> list[str]:
    return [r for r in proxy.requests if request_host(r) not in BROWSER_HOSTS]


def chromium_dom(page: Path, proxy: BlackHoleProxy, profile: Path) -> str:
    """The DOM after scripts ran (virtual time lets plotly finish), with all traffic proxied."""
    cmd = [
        chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-default-apps", "--disable-extensions",
        "--disable-dev-shm-usage", "--disable-breakpad", "--no-pings",
        "--disable-client-side-phishing-detection", "--disable-domain-reliability",
        "--disable-component-extensions-with-background-pages", "--metrics-recording-only",
        "--disable-features=" + ",".join(BROWSER_CHATTER),
        f"--user-data-dir={profile}",
        f"--proxy-server=http://127.0.0.1:{proxy.port}",
        "--proxy-bypass-list=<-loopback>",  # even loopback goes through the proxy
        "--virtual-time-budget=5000", "--dump-dom", page.resolve().as_uri(),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"chromium exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done.stdout


PLOT_ID = re.compile(r'<div id="(plot-[\w-]+)"')


def assert_every_plot_drew(page_html: str, dom: str) -> list[str]:
    ids = PLOT_ID.findall(page_html)
    assert ids, "the page has no plots at all"
    starts = sorted((dom.index(f'id="{i}"'), i) for i in ids if f'id="{i}"' in dom)
    assert len(starts) == len(ids), "a plot container vanished from the DOM"
    for n, (pos, plot_id) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(dom)
        assert 'class="main-svg"' in dom[pos:end], f"{plot_id} did not render an SVG"
    return ids


REMOTE_REF = re.compile(
    r"<(?:script|link|img|iframe|source|video|audio|embed|object)\b[^>]*?"
    r"\b(?:src|href|data)\s*=\s*[\"']?\s*(?:https?:)?//",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("reports")
    return {
        "bench": html.write_bench(reportdata.make_bench(), folder / "bench.html"),
        "tune": html.write_tune(reportdata.make_tune(), folder / "tune.html"),
        "probe": html.write_probe(reportdata.make_probe(), folder / "probe.html"),
        "real-bench": html.write_bench(
            record.from_json(REAL_BENCH.read_bytes(), BenchResult), folder / "real-bench.html"
        ),
    }


EXPECTED_PLOTS = {
    "bench": {"plot-latency-time", "plot-latency-distribution", "plot-server"},
    "tune": {"plot-capacity", "plot-model", "plot-latency", "plot-over-time",
             "plot-profile-routes", "plot-profile-ladder", "plot-profile-memory"},
    "probe": {"plot-probe-throughput", "plot-probe-latency"},
    "real-bench": {"plot-latency-time", "plot-latency-distribution", "plot-server"},
}  # fmt: skip


@pytest.mark.parametrize("kind", ["bench", "tune", "probe", "real-bench"])
def test_report_has_no_remote_references_and_plotly_once(pages: dict[str, Path], kind: str) -> None:
    text = pages[kind].read_text(encoding="utf-8")
    assert not REMOTE_REF.search(text), REMOTE_REF.search(text)
    assert text.count("<script") == text.count("</script>")
    # plotly.js is embedded exactly once, however many figures there are.
    assert text.count("plotly.js v") >= 1
    assert len(re.findall(r"<script type=\"text/javascript\">/\*\*", text)) == 1


@pytest.mark.parametrize("kind", ["bench", "tune", "probe", "real-bench"])
def test_report_renders_offline_in_chromium(
    pages: dict[str, Path], kind: str, tmp_path: Path
) -> None:
    with BlackHoleProxy() as proxy:
        dom = chromium_dom(pages[kind], proxy, tmp_path / "profile")
    ids = assert_every_plot_drew(pages[kind].read_text(encoding="utf-8"), dom)
    assert set(ids) == EXPECTED_PLOTS[kind]
    assert page_requests(proxy) == [], f"the page tried the network: {proxy.requests}"


def test_the_proxy_would_see_a_remote_fetch(tmp_path: Path) -> None:
    """Control: a page with remote references does reach the proxy, so the test above can fail."""
    page = tmp_path / "leaky.html"
    page.write_text(
        '<!DOCTYPE html><html><head><script src="http://cdn.tunicorn-test.invalid/x.js"></script>'
        '</head><body><img src="http://img.tunicorn-test.invalid/x.png"></body></html>',
        encoding="utf-8",
    )
    with BlackHoleProxy() as proxy:
        chromium_dom(page, proxy, tmp_path / "profile")
    seen = {request_host(r) for r in page_requests(proxy)}
    assert {"cdn.tunicorn-test.invalid", "img.tunicorn-test.invalid"} <= seen, proxy.requests


@pytest.fixture
def no_profile_pages(tmp_path: Path) -> Iterator[Path]:
    """The sparse cases: no profile, no model, no server samples, a single trial."""
    one = (reportdata.SPECS[0],)
    tune = reportdata.make_tune(with_profile=False, specs=one)
    yield html.write_tune(tune, tmp_path / "sparse.html")


def test_sparse_tune_report_still_renders(no_profile_pages: Path, tmp_path: Path) -> None:
    with BlackHoleProxy() as proxy:
        dom = chromium_dom(no_profile_pages, proxy, tmp_path / "profile")
    ids = assert_every_plot_drew(no_profile_pages.read_text(encoding="utf-8"), dom)
    assert "plot-profile-routes" not in ids and "plot-capacity" in ids
    assert page_requests(proxy) == [], proxy.requests
