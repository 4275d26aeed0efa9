"""The workload stage: what to send, checked before any of it is measured.

The routes come from the user (`--path`, a scenario, a locustfile) or from the app: its
router's parameterless GET routes (`target.discover_routes`), less those that are not the
site's pages (the admin, a debug toolbar, static files, API docs, health checks), and the
pages a crawl of the site's own links finds where the router cannot list them (a catch-all
pattern, as CMSs have) or lists few. Each candidate is then requested a few times at
concurrency 1 on one short-lived server (the pre-flight): a route that does not answer 2xx
leaves the load with its status, a redirect within the site counts as the page it lands on,
and where most routes send the client to a login page the user is told what to give. A load
of refusals and login redirects measures nothing the user deploys, so when nothing usable
is left the answer is a UsageError that says what to give, never a tune of errors.

The rules are pure functions (`excluded`, `catch_all`, `links`, `canonical`, `classify`) so
they are tested without a network; the client is stdlib http.client, bounded in requests,
bytes and seconds, and talks to loopback only (the server this stage started).
"""

from __future__ import annotations

import dataclasses
import http.client
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from tunicorn.app import redact
from tunicorn.app.target import Routes, Target, discover_routes, is_loopback
from tunicorn.errors import UsageError
from tunicorn.load.scenario import Request
from tunicorn.record import LeftOut, Profile, ServerConfig, Workload, WorkloadRoute

__all__ = [
    "Answer",
    "Built",
    "Client",
    "build",
    "canonical",
    "catch_all",
    "classify",
    "crawl",
    "excluded",
    "named",
    "links",
    "preflight",
    "redacted",
    "status_reason",
    "with_profile",
]

Say = Callable[[str], None]

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

# -- what is not the site's pages -----------------------------------------------------------

ADMIN = "an admin site, which needs a login"
DEBUG = "a debug toolbar's endpoint"
STATIC = "static or media files"
DOCS = "API docs"
HEALTH = "a health check"
LOGOUT = "a logout link"
# A language prefix (/en/, /pt-br/, /zh-hans/) as Django's i18n_patterns put before every route.
_LANGUAGE = re.compile(r"^[a-z]{2}(-[a-z]{2,4})?$")
_FIRST_SEGMENT: dict[str, str] = {
    "admin": ADMIN,
    "__debug__": DEBUG,
    "_debug_toolbar": DEBUG,
    "silk": DEBUG,
    "static": STATIC,
    "media": STATIC,
    "assets": STATIC,
    "favicon.ico": STATIC,
    "robots.txt": STATIC,
    "uploads": STATIC,
}
_DOCS = {"docs", "redoc", "openapi.json", "openapi.yaml", "swagger", "swagger.json",
         "swagger-ui", "swagger.yaml", "schema", "apidocs"}  # fmt: skip
_HEALTH = {"health", "healthz", "healthcheck", "health-check", "ready", "readyz", "readiness",
           "live", "livez", "liveness", "ping", "metrics", "_health", "heartbeat"}  # fmt: skip


def excluded(path: str) -> str:
    """Why a route is not one of the site's pages by default ("" when it is one): the admin,
    a debug toolbar, static files, API docs, health checks. `--path` brings any back."""
    parts = [p for p in urlsplit(path).path.split("/") if p]
    if len(parts) > 1 and _LANGUAGE.match(parts[0]):
        parts = parts[1:]  # /en/admin/ is the admin under Django's i18n_patterns
    if not parts:
        return ""
    first, last = parts[0].lower(), parts[-1].lower()
    if first in _FIRST_SEGMENT:
        return _FIRST_SEGMENT[first]
    if first in _DOCS or last in _DOCS or first.startswith("swagger"):
        return DOCS
    if first in _HEALTH or last in _HEALTH:
        return HEALTH
    if looks_like_logout(path):
        return LOGOUT
    return ""


_CATCH_ALL = re.compile(
    r"<path:\w+>"  # Django's and Flask's path converter
    r"|\{\w+:path\}"  # Starlette's
    r"|\.[*+]"  # a regular expression that takes anything
    r"|\[[^\]]*/[^\]]*\][*+]"  # a character class with / in it, repeated
    r"|/\)[*+]"  # (?:[\w-]+/)* as Wagtail's serve
)


def catch_all(pattern: str) -> bool:
    """A route pattern that takes any path (`<path:slug>`, `{rest:path}`, `^(?P<url>.*)$`):
    the pages behind it are in the app's data, not its router, so only links find them."""
    return bool(_CATCH_ALL.search(pattern))


_STATIC_EXT = frozenset(
    {
        ".css", ".js", ".mjs", ".map", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico", ".webp",
        ".avif", ".bmp", ".tif", ".tiff", ".woff", ".woff2", ".ttf", ".otf", ".eot", ".pdf",
        ".zip", ".gz", ".tgz", ".bz2", ".xz", ".tar", ".rar", ".7z", ".mp4", ".mp3", ".m4a",
        ".webm", ".ogg", ".ogv", ".wav", ".avi", ".mov", ".doc", ".docx", ".xls", ".xlsx", ".ppt",
        ".pptx", ".csv", ".exe", ".dmg", ".apk", ".iso", ".xml", ".txt",
    }
)  # fmt: skip
_LOGOUT = re.compile(r"(^|/)(log-?out|sign-?out|sign_out|log_out|log-?off)(/|\.\w+)?$", re.I)
_LOGIN = re.compile(
    r"(^|/)(login|log-in|log_in|signin|sign-in|sign_in|auth|authenticate|sso|oauth2?)(/|$)"
    r"|/accounts/login",
    re.I,
)


def looks_like_login(path: str) -> bool:
    """/login, /accounts/login/, /auth/sign-in, /users/sign_in: a login page by its path."""
    return bool(_LOGIN.search(urlsplit(path).path))


def looks_like_logout(path: str) -> bool:
    return bool(_LOGOUT.search(urlsplit(path).path))


def link_reason(path: str) -> str:
    """Why the crawl does not follow a same-site link ("" when it does)."""
    if reason := excluded(path):
        return reason
    if Path(urlsplit(path).path).suffix.lower() in _STATIC_EXT:
        return "a file, not a page"
    return ""


# -- links ----------------------------------------------------------------------------------


class _Links(HTMLParser):
    """<a href> and <base href> of one HTML page, in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.base = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("a", "base"):
            return
        values = dict(attrs)
        href = (values.get("href") or "").strip()
        if not href:
            return
        if tag == "base":
            self.base = self.base or href
        elif "download" not in values:
            self.hrefs.append(href)


def links(html: str, page_url: str) -> list[str]:
    """The absolute URLs of a page's `<a href>` links, resolved against its <base> or URL."""
    parser = _Links()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # a malformed page: keep the links read so far
        pass
    base = urljoin(page_url, parser.base) if parser.base else page_url
    return [urljoin(base, href) for href in parser.hrefs]


def canonical(url: str, site: str) -> tuple[str, str]:
    """(path with its query, "") for a URL on `site` (host:port), else ("", why not): the
    fragment dropped, the query's parameters sorted, so one page is one key."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "", "not a web link" if parts.scheme else "not a web link"
    if parts.netloc.lower() != site.lower() and not _same_host(parts.netloc, site):
        return "", "another site"
    path = parts.path or "/"
    path = re.sub(r"/{2,}", "/", path)
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit(("", "", path, query, "")), ""


def _same_host(netloc: str, site: str) -> bool:
    """localhost, 127.0.0.1 and ::1 on the site's port are the site."""
    a, b = urlsplit(f"//{netloc}"), urlsplit(f"//{site}")
    try:
        return a.port == b.port and is_loopback(a.hostname or "") and is_loopback(b.hostname or "")
    except ValueError:
        return False


# -- answers --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Answer:
    """One GET's answer as far as the workload cares: status, Location, type, some body."""

    status: int = 0  # 0: no HTTP answer (`error` says why)
    location: str = ""
    content_type: str = ""
    body: bytes = b""
    error: str = ""
    seconds: float = 0.0

    @property
    def html(self) -> bool:
        return "html" in self.content_type.lower()


def classify(answer: Answer, site: str, url: str) -> str:
    """ "ok" (2xx), "redirect" (3xx within the site), "off-site" (a redirect elsewhere),
    "error" (4xx, 5xx, other 3xx, or no answer)."""
    if 200 <= answer.status < 300:
        return "ok"
    if answer.status in (301, 302, 303, 307, 308) and answer.location:
        _, why = canonical(urljoin(url, answer.location), site)
        return "off-site" if why else "redirect"
    return "error"


_CREDENTIALS = {401: "needs credentials", 403: "needs credentials or a permission",
                404: "not found", 405: "does not answer GET", 400: "refused the request",
                429: "rate limited", 410: "gone"}  # fmt: skip


def status_reason(status: int, error: str = "") -> str:
    """ "401 Unauthorized — needs credentials", "500 Internal Server Error — the app failed"."""
    if status == 0:
        return f"no answer ({error})" if error else "no answer"
    try:
        phrase = http.client.responses[status]
    except KeyError:
        phrase = ""
    head = f"{status} {phrase}".strip()
    if status >= 500:
        return f"{head} — the app failed"
    why = _CREDENTIALS.get(status)
    if why is None and 300 <= status < 400:
        why = "a redirect tunicorn cannot follow"
    return f"{head} — {why}" if why else head


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
    page most routes redirect to ("" if none). `share` holds the weight until `_shared`."""
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


# -- the whole stage ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Built:
    """The requests to send and the record that says what they are and what was left out."""

    requests: tuple[Request, ...]
    workload: Workload


def _shared(routes: Sequence[WorkloadRoute]) -> tuple[WorkloadRoute, ...]:
    """Shares from weights (the `share` field holds the weight until here)."""
    total = sum(r.share for r in routes) or 1.0
    return tuple(dataclasses.replace(r, share=round(r.share / total, 4)) for r in routes)


def named(paths: tuple[Request, ...], scenario: str | None, locustfile: str | None) -> Built | None:
    """A workload the user named whole, a locustfile's users or a scenario's requests (not
    checked: a scenario may POST, a locustfile logs in), or None when the app's routes are to
    be found and checked (`build`, with the given `paths` if any)."""
    from tunicorn.load import locust
    from tunicorn.load.scenario import load_scenario

    if sum(map(bool, (paths, scenario, locustfile))) > 1:
        raise UsageError("Give one of --path, --scenario and --locustfile, not several.")
    if locustfile:
        locust.check_locustfile(locustfile)
        route = WorkloadRoute(Path(locustfile).name, "locustfile", "USERS", share=1.0)
        return Built((Request(path="/"),), Workload((route,)))
    if scenario:
        requests = load_scenario(scenario)
        routes = [
            WorkloadRoute(redacted(r.path), "scenario", r.method, share=r.weight)
            for r in requests
            if not r.once  # a login: setup, not load
        ]
        return Built(requests, Workload(_shared(routes)))
    return None


def _logged_in(client: Client, setup: Sequence[Request]) -> str:
    """The Cookie line of one client after the setup requests (`load.session`, as each load
    client does it); a UsageError from there when the login fails."""
    from tunicorn.load import session

    first, _, seeds = session.split(setup)
    jar = session.start(first, seeds, 1, host=client.host, port=client.port, base="",
                        host_header=client.site, timeout=client.timeout_s)  # fmt: skip
    return jar.clients[0].line.decode("latin-1")


def recorded(requests: tuple[Request, ...]) -> Built:
    """The record of real traffic (an access log, a HAR file) as read: its requests are what
    people sent, with the statuses they saw; they are loaded as they are, not checked. Requests
    that differ only in redacted values (`/a?page=1`, `/a?page=2`) are one row."""
    rows: dict[tuple[str, str], WorkloadRoute] = {}
    for r in requests:
        if r.once:
            continue  # a login: setup, not load
        key = (r.method, redacted(r.path))
        row = rows.get(key)
        rows[key] = (
            WorkloadRoute(key[1], r.source or "traffic", r.method, share=r.weight,
                          seen=r.seen_status)
            if row is None else dataclasses.replace(row, share=row.share + r.weight)
        )  # fmt: skip
    return Built(requests, Workload(_shared(list(rows.values()))))


def _preflight_config(target: Target) -> ServerConfig:
    """One worker with a few threads (or one event loop): enough for concurrency 1."""
    return ServerConfig(1, 1, "uvicorn") if target.is_asgi else ServerConfig(1, 4, "gthread")


def build(
    target: Target,
    *,
    paths: tuple[Request, ...] = (),
    crawl_pages: int | None = None,
    headers: Mapping[str, str] | None = None,
    cookies: Mapping[str, str] | None = None,
    log_dir: str | Path | None = None,
    say: Say = lambda _: None,
    routes: Routes | None = None,
    setup: Sequence[Request] = (),
) -> Built:
    """The checked workload of an app: the given paths, else the router's routes less the
    default exclusions, with a crawl where the router has catch-alls or few GET routes (or
    `crawl_pages` asks for one; 0 never crawls). A UsageError in one sentence when nothing
    answers 2xx. `headers` and `cookies` go with every pre-flight request, after the cookies
    that `setup` (a scenario's once requests: a login) set on one client."""
    from tunicorn.launch import Server

    left: list[LeftOut] = []
    candidates: list[tuple[str, str]] = []
    auto_crawl = False
    weights = {r.path: r.weight for r in paths}
    if paths:
        candidates = [(r.path, "given") for r in paths]
    else:
        routes = routes if routes is not None else discover_routes(target)
        catch_alls: list[str] = []
        for p, why in routes.skipped:
            reason = excluded(p)
            if reason:  # /static/<path:…> is a catch-all of files, not of pages
                left.append(LeftOut(p, reason, "router"))
            elif catch_all(p):
                catch_alls.append(p)
                left.append(LeftOut(p, "a catch-all pattern: its pages are found by the crawl",
                                    "router"))  # fmt: skip
            else:
                brief = "path parameters" if why.startswith("path param") else why
                left.append(LeftOut(p, brief, "router"))
        for p in routes.paths:
            reason = excluded(p)
            if reason:
                left.append(LeftOut(p, reason, "router"))
            else:
                candidates.append((p, "router"))
        auto_crawl = bool(catch_alls)
        if routes.error and not candidates:
            say(f"The router of {target.app} could not be read ({routes.error}): crawling from /.")
            auto_crawl = True
    if len(candidates) > MAX_CANDIDATES:
        for p, source in candidates[MAX_CANDIDATES:]:
            left.append(LeftOut(p, f"over the first {MAX_CANDIDATES} routes", source))
        candidates = candidates[:MAX_CANDIDATES]
    started = time.monotonic()
    notes: list[str] = []
    with Server(target, _preflight_config(target), log_dir=log_dir) as server:
        client = Client(server.url, headers=headers, cookies=cookies)
        if setup:
            say(f"pre-flight: logging in with the scenario's {len(setup)} once request(s)")
            client.headers["Cookie"] = _logged_in(client, setup)
        if candidates:
            say(f"pre-flight: {len(candidates)} route(s), {TRIES} GETs each at concurrency 1")
        checks, late = preflight(client, candidates)
        left += late
        kept, refused, login = judge(checks, weights)
        pages = crawl_pages if crawl_pages is not None else (
            CRAWL_PAGES if (not paths and (auto_crawl or len(kept) < FEW_ROUTES)) else 0
        )  # fmt: skip
        fetched = 0
        if pages > 0 and not login:
            starts = [r.path for r in paths] if paths else ["/"]
            say(f"crawling the site's links from {', '.join(starts)} (at most {pages} pages)")
            found = crawl(client, starts, max_pages=pages,
                          skip={r.path for r in kept} | {c.path for c in checks})  # fmt: skip
            fetched = found.fetched
            known = {r.path for r in kept} | {x.path for x in refused}
            ok = [c for c in found.pages if c.ok]
            # A crawled page is kept once it has answered 2xx TRIES times, as a route is.
            rechecked, _ = preflight(client, [(c.path, "crawl") for c in ok if c.path not in known],
                                     tries=max(1, TRIES - 1), budget_s=CRAWL_S)  # fmt: skip
            more, more_left, _ = judge(rechecked + [c for c in found.pages if not c.ok])
            kept += [r for r in more if r.path not in {k.path for k in kept}]
            refused += [x for x in more_left if x.path not in known]
            left += list(found.left_out)
    preflight_s = time.monotonic() - started
    loaded = {r.path for r in kept} | {r.via for r in kept}
    left = [x for x in refused + left if x.path not in loaded]  # "/" with defaults, crawled
    if login:
        notes.append(login_note(login, sum(x.reason.startswith("redirects to the login")
                                           for x in left), len(checks)))  # fmt: skip
    if not kept:
        raise UsageError(nothing_usable(target, left, login, len(candidates), bool(setup)))
    refusals = [x for x in refused if x.status in (401, 403)]
    if refusals and len(refusals) * 2 >= len(checks):
        notes.append(
            f"{len(refusals)} of {len(checks)} routes answered 401 or 403: to load them, give "
            "credentials with --header 'Authorization: Bearer TOKEN' or --cookie NAME=VALUE, "
            "or a --locustfile that logs in."
        )
    chosen = _shared(kept)
    requests = tuple(Request(path=r.path, weight=r.share) for r in chosen)
    # What the user typed may carry a token in its query: the record keeps the names only.
    shown = tuple(
        dataclasses.replace(r, path=redacted(r.path), via=redacted(r.via))
        if r.source == "given" else r
        for r in chosen
    )  # fmt: skip
    left = [dataclasses.replace(x, path=redacted(x.path)) if x.source == "given" else x
            for x in left]  # fmt: skip
    workload = Workload(
        routes=shown, left_out=tuple(left), notes=tuple(notes), crawled=fetched,
        preflight_s=round(preflight_s, 2),
    )  # fmt: skip
    return Built(requests, workload)


def redacted(path: str) -> str:
    """The path as every output shows it: query values redacted (`tunicorn.app.redact`)."""
    return redact.path(path)


WHAT_TO_GIVE = (
    "a --locustfile that logs in, a logged-in session with --cookie NAME=VALUE or --header "
    "'Name: value', or a --scenario that POSTs the login form once per client (once = true)"
)


def login_note(login: str, redirected: int, checked: int) -> str:
    return (
        f"{redirected} of {checked} routes redirect to the login page {login}: they need a "
        f"login, so they are left out; to load them give {WHAT_TO_GIVE}."
    )


def nothing_usable(
    target: Target, left: Sequence[LeftOut], login: str, listed: int = 1, logged_in: bool = False
) -> str:
    """The one sentence of the UsageError when no route answered 2xx; `listed`: how many
    candidates the router (or the user) gave before the crawl."""
    if login and logged_in:
        return (
            f"Every page of {target.app} still redirects to the login page {login} after the "
            "scenario's once login, so the login did not take: check its path, its form fields "
            "and the password (a failed login often answers a redirect back to the form)."
        )
    if login:
        return (
            f"Every page of {target.app} redirects to the login page {login}, so an anonymous "
            f"load would measure the login redirect, not the app: give {WHAT_TO_GIVE}."
        )
    checked = [x for x in left if x.status or x.reason.startswith("no answer")]
    examples = ", ".join(f"{x.path}: {x.reason}" for x in checked[:2])
    if checked and all(x.status in (401, 403) for x in checked):
        return (
            f"Every route of {target.app} answered 401 or 403 at pre-flight ({examples}), so a "
            "load would measure refusals: give credentials with --header 'Authorization: Bearer "
            "TOKEN' or --cookie NAME=VALUE, or a --locustfile that logs in."
        )
    if checked and all(x.status == 400 for x in checked) and target.framework == "django":
        return (
            f"Every route of {target.app} answered 400 Bad Request at pre-flight ({examples}), "
            "as Django does for a Host that ALLOWED_HOSTS does not list: add '127.0.0.1' to "
            "ALLOWED_HOSTS (where tunicorn runs it) and run again."
        )
    if checked and listed:
        return (
            f"No route of {target.app} answered 2xx at pre-flight ({examples}): name pages that "
            "work with --path /some/page, or crawl from one with --path / --crawl 30."
        )
    crawled = f" ({examples})" if examples else ""
    return (
        f"Found no GET route without parameters in {target.app}'s router, and a crawl from / "
        f"found no page answering 2xx{crawled}: name the paths to measure with --path "
        "/some/path (repeatable, weights as /path=3) or --scenario FILE."
    )


def with_profile(workload: Workload, profile: Profile | None) -> Workload:
    """The workload with each route's CPU and waiting time per request from the profile."""
    if profile is None:
        return workload
    by_route = {(r.method, r.path): r for r in profile.routes}
    by_route.update({(r.method, redacted(r.path)): r for r in profile.routes})
    routes = []
    for r in workload.routes:
        measured = by_route.get((r.method, r.path))
        if measured is None:
            routes.append(r)
        else:
            routes.append(dataclasses.replace(
                r, cpu_ms=measured.cpu_ms, wait_ms=round(measured.wait_ms, 3)))  # fmt: skip
    return dataclasses.replace(workload, routes=tuple(routes))
