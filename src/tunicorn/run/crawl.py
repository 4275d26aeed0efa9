"""Asking the site: the workload's client, the pre-flight of each route, the crawl for more.

The workload stage (`run.workload`) decides what the load asks for; this module is how it
asks the running server (a few bounded GETs over loopback, one at a time) and what each
answer says (`run.pages`). `run.workload` re-exports the names its callers use.
"""

from __future__ import annotations

import dataclasses
import http.client
import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urljoin, urlsplit

from tunicorn.app.target import is_loopback
from tunicorn.errors import UsageError
from tunicorn.record import LeftOut, WorkloadRoute
from tunicorn.run.pages import (
    Answer,
    canonical,
    classify,
    link_reason,
    links,
    looks_like_login,
    status_reason,
)

TRIES = 3  # requests per route at pre-flight
SLOW_ROUTE_S = 2.0  # a route slower than this is requested once
REQUEST_TIMEOUT_S = 10.0
PREFLIGHT_S = 30.0  # the whole pre-flight, every route together
MAX_CANDIDATES = 200
MAX_REDIRECTS = 5
MAX_BODY = 2 * 1024 * 1024  # bytes of a page read for its links
CRAWL_PAGES = 30
CRAWL_S = 20.0
FEW_ROUTES = 3  # fewer usable router routes than this: crawl for more


# -- the client -----------------------------------------------------------------------------


class Client:
    """GETs to one loopback server, one connection each, bounded in time and bytes."""

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        cookies: Mapping[str, str] | None = None,
        timeout_s: float = REQUEST_TIMEOUT_S,
    ) -> None:
        parts = urlsplit(url)
        if not is_loopback(parts.hostname or ""):
            raise UsageError(f"The pre-flight only requests loopback servers, not {url}.")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.site = parts.netloc
        self.timeout_s = timeout_s
        self.headers = {"User-Agent": "tunicorn", "Accept": "text/html,*/*", **(headers or {})}
        if cookies:
            jar = "; ".join(f"{k}={v}" for k, v in cookies.items())
            self.headers["Cookie"] = "; ".join(filter(None, (self.headers.get("Cookie"), jar)))
        self.requests = 0

    def url(self, path: str) -> str:
        return f"http://{self.site}{path}"

    def get(self, path: str, *, read_body: bool = False) -> Answer:
        self.requests += 1
        started = time.monotonic()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        try:
            conn.request("GET", path, headers={**self.headers, "Connection": "close"})
            resp = conn.getresponse()
            body = resp.read(MAX_BODY) if read_body else b""
            if not read_body:
                resp.read(MAX_BODY)  # drain a little so the server is not cut mid-write
            return Answer(
                status=resp.status, location=resp.getheader("Location") or "",
                content_type=resp.getheader("Content-Type") or "", body=body,
                seconds=time.monotonic() - started,
            )  # fmt: skip
        except TimeoutError:
            return Answer(error=f"no answer within {self.timeout_s:g} s",
                          seconds=time.monotonic() - started)  # fmt: skip
        except (OSError, http.client.HTTPException) as exc:
            return Answer(error=type(exc).__name__, seconds=time.monotonic() - started)
        finally:
            conn.close()

    def follow(self, path: str, *, read_body: bool = False) -> tuple[str, Answer, str]:
        """GET `path`, following redirects within the site: (the path it landed on, the last
        answer, "" or why it stopped: "off-site", "loop")."""
        seen = {path}
        answer = self.get(path, read_body=read_body)
        for _ in range(MAX_REDIRECTS):
            kind = classify(answer, self.site, self.url(path))
            if kind == "off-site":
                return path, answer, "off-site"
            if kind != "redirect":
                return path, answer, ""
            nxt, _ = canonical(urljoin(self.url(path), answer.location), self.site)
            if nxt in seen:
                return path, answer, "loop"
            seen.add(nxt)
            path = nxt
            answer = self.get(path, read_body=read_body)
        return path, answer, "loop" if 300 <= answer.status < 400 else ""


# -- pre-flight -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Check:
    """One candidate at pre-flight: where it landed and the status it got there."""

    path: str
    source: str
    landed: str
    status: int
    stopped: str = ""  # "off-site", "loop", or an error text with status 0
    answer: Answer = Answer()

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300 and not self.stopped


def check_route(client: Client, path: str, source: str, tries: int = TRIES) -> Check:
    """Request `path` up to `tries` times at concurrency 1; the first answer that is not 2xx
    decides (a route that fails once fails a load)."""
    started = time.monotonic()
    result = Check(path, source, path, 0)
    for _ in range(tries):
        landed, answer, stopped = client.follow(path)
        result = Check(path, source, landed, answer.status, stopped or answer.error, answer)
        if not result.ok or time.monotonic() - started > SLOW_ROUTE_S:
            break
    return result


def preflight(
    client: Client,
    candidates: Sequence[tuple[str, str]],
    *,
    tries: int = TRIES,
    budget_s: float = PREFLIGHT_S,
) -> tuple[list[Check], list[LeftOut]]:
    """Each (path, source) checked in turn; those the time did not reach are left out."""
    deadline = time.monotonic() + budget_s
    checks: list[Check] = []
    late: list[LeftOut] = []
    for path, source in candidates:
        if time.monotonic() > deadline:
            late.append(LeftOut(path, f"not checked: the pre-flight's {budget_s:g} s ran out",
                                source))  # fmt: skip
            continue
        checks.append(check_route(client, path, source, tries))
    return checks, late


def _login_page(checks: Sequence[Check]) -> str:
    """The login page most checked routes were sent to, or ""."""
    sent = Counter(
        urlsplit(c.landed).path for c in checks if c.landed != c.path and looks_like_login(c.landed)
    )
    if not sent:
        return ""
    page, count = sent.most_common(1)[0]
    return page if count * 2 >= len(checks) else ""


def judge(
    checks: Sequence[Check], weights: Mapping[str, float] | None = None
) -> tuple[list[WorkloadRoute], list[LeftOut], str]:
    """The routes that answered 2xx (a redirect counted as the page it lands on, once, with
    the weights of every route that lands there), the rest with their status, and the login
    page most routes redirect to ("" if none). `share` holds the weight until `workload._shared`."""
    login = _login_page(checks)
    kept: dict[str, WorkloadRoute] = {}
    shares: dict[str, float] = {}
    left: list[LeftOut] = []
    for c in checks:
        redirected = c.landed != c.path
        if c.stopped == "off-site":
            left.append(LeftOut(c.path, "redirects to another site", c.source, c.status))
        elif c.stopped == "loop":
            left.append(LeftOut(c.path, "redirects in a loop", c.source, c.status))
        elif redirected and looks_like_login(c.landed) and not looks_like_login(c.path):
            where = urlsplit(c.landed).path
            left.append(LeftOut(c.path, f"redirects to the login page {where}", c.source,
                                c.answer.status))  # fmt: skip
        elif login and urlsplit(c.path).path == login and c.ok:
            left.append(LeftOut(c.path, "the login page the other routes redirect to", c.source,
                                c.status))  # fmt: skip
        elif not c.ok:
            left.append(LeftOut(c.path, status_reason(c.status, c.stopped), c.source, c.status))
        else:
            shares[c.landed] = shares.get(c.landed, 0.0) + (weights or {}).get(c.path, 1.0)
            if c.landed not in kept:
                kept[c.landed] = WorkloadRoute(
                    c.landed, c.source, status=c.status, via=c.path if redirected else ""
                )
    if login:  # the login page's neighbours (sign-up, password reset) are not the app either
        for path in [p for p in kept if login_flow(p, login)]:
            route = kept.pop(path)
            left.append(LeftOut(path, "part of the login flow", route.source, route.status))
    routes = [dataclasses.replace(r, share=shares[r.path]) for r in kept.values()]
    return routes, left, login


_AUTH_FLOW = re.compile(
    r"(^|/)(register|signup|sign-up|sign_up|join|password[\w-]*|reset[\w-]*|forgot[\w-]*|"
    r"activate|verify|confirm[\w-]*)(/|$)",
    re.I,
)


def login_flow(path: str, login: str) -> bool:
    """A page beside the login page (/auth/register beside /auth/login) or one of the pages
    around a login (sign-up, password reset): what anonymous users of a login-only app see."""
    parent = urlsplit(login).path.rstrip("/").rsplit("/", 1)[0]
    where = urlsplit(path).path
    return bool((parent and where.startswith(parent + "/")) or _AUTH_FLOW.search(where))


# -- crawl ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Crawled:
    pages: tuple[Check, ...]
    left_out: tuple[LeftOut, ...]
    fetched: int


def crawl(
    client: Client,
    starts: Iterable[str],
    *,
    max_pages: int = CRAWL_PAGES,
    max_s: float = CRAWL_S,
    skip: Iterable[str] = (),
) -> Crawled:
    """Breadth-first over same-site `<a href>` links from `starts`, GET only, at most
    `max_pages` fetched and `max_s` seconds; each page fetched once (TRIES-checked when kept).
    Pages in `skip` are already known and are not fetched again, but their links are read."""
    deadline = time.monotonic() + max_s
    queue: list[str] = []
    seen: set[str] = set()
    for start in starts:
        path, _ = canonical(client.url(start), client.site)
        if path and path not in seen:
            seen.add(path)
            queue.append(path)
    known = set(skip)
    pages: list[Check] = []
    left: dict[str, LeftOut] = {}
    fetched = 0
    while queue and fetched < max_pages and time.monotonic() < deadline:
        path = queue.pop(0)
        fetched += 1
        landed, answer, stopped = client.follow(path, read_body=True)
        check = Check(path, "crawl", landed, answer.status, stopped or answer.error, answer)
        if landed != path:
            seen.add(landed)
        if not check.ok:
            pages.append(check)
            continue
        if path not in known and landed not in known:
            pages.append(check)
        if answer.html:
            text = answer.body.decode("utf-8", errors="replace")
            for url in links(text, client.url(landed)):
                found, why = canonical(url, client.site)
                if why:
                    continue  # another site, mailto:, javascript:: not the site's pages
                if found in seen:
                    continue
                seen.add(found)
                reason = link_reason(found)
                if reason:
                    left[found] = LeftOut(found, reason, "crawl")
                else:
                    queue.append(found)
    return Crawled(tuple(pages), tuple(left.values()), fetched)
