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
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from tunicorn.app import redact
from tunicorn.app.target import Routes, Target, discover_routes
from tunicorn.errors import UsageError
from tunicorn.load.scenario import Request
from tunicorn.record import LeftOut, Profile, ServerConfig, Workload, WorkloadRoute
from tunicorn.run.crawl import (
    CRAWL_PAGES,
    CRAWL_S,
    FEW_ROUTES,
    MAX_CANDIDATES,
    TRIES,
    Check,
    Client,
    crawl,
    judge,
    preflight,
)
from tunicorn.run.pages import (
    ADMIN,
    DEBUG,
    DOCS,
    HEALTH,
    LOGOUT,
    STATIC,
    Answer,
    canonical,
    catch_all,
    classify,
    excluded,
    link_reason,
    links,
    looks_like_login,
    looks_like_logout,
    status_reason,
)

__all__ = [
    "ADMIN",
    "Answer",
    "Built",
    "Check",
    "Client",
    "DEBUG",
    "DOCS",
    "HEALTH",
    "LOGOUT",
    "STATIC",
    "build",
    "canonical",
    "catch_all",
    "classify",
    "crawl",
    "excluded",
    "judge",
    "link_reason",
    "links",
    "looks_like_login",
    "looks_like_logout",
    "named",
    "preflight",
    "redacted",
    "status_reason",
    "with_profile",
]

Say = Callable[[str], None]


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

    weights = {r.path: r.weight for r in paths}
    if paths:
        candidates, auto_crawl = [(r.path, "given") for r in paths], False
        left: list[LeftOut] = []
    else:
        routes = routes if routes is not None else discover_routes(target)
        candidates, left, auto_crawl = _from_router(routes)
        if routes.error and not candidates:
            say(f"The router of {target.app} could not be read ({routes.error}): crawling from /.")
            auto_crawl = True
    if len(candidates) > MAX_CANDIDATES:
        for p, source in candidates[MAX_CANDIDATES:]:
            left.append(LeftOut(p, f"over the first {MAX_CANDIDATES} routes", source))
        candidates = candidates[:MAX_CANDIDATES]
    started = time.monotonic()
    notes: list[str] = []
    with Server(
        target, _preflight_config(target), log_dir=log_dir, background_stop=True
    ) as server:
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
            kept, refused, crawl_left, fetched = _crawled(client, starts, pages, checks, kept,
                                                          refused)  # fmt: skip
            left += crawl_left
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
    return _built(kept, left, notes, fetched, preflight_s)


def _from_router(routes: Routes) -> tuple[list[tuple[str, str]], list[LeftOut], bool]:
    """The router's routes as candidates, less the default exclusions; what was left out and
    why; and whether it has catch-all patterns (whose pages only a crawl finds)."""
    left: list[LeftOut] = []
    candidates: list[tuple[str, str]] = []
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
    return candidates, left, bool(catch_alls)


def _crawled(
    client: Client,
    starts: list[str],
    pages: int,
    checks: list[Check],
    kept: list[WorkloadRoute],
    refused: list[LeftOut],
) -> tuple[list[WorkloadRoute], list[LeftOut], list[LeftOut], int]:
    """Crawl the site's links from `starts` for up to `pages` pages and pre-flight the pages
    found as routes are. Returns the routes kept and refused with the crawl's added, what the
    crawl itself left out, and the pages it fetched."""
    found = crawl(client, starts, max_pages=pages,
                  skip={r.path for r in kept} | {c.path for c in checks})  # fmt: skip
    known = {r.path for r in kept} | {x.path for x in refused}
    ok = [c for c in found.pages if c.ok]
    # A crawled page is kept once it has answered 2xx TRIES times, as a route is.
    rechecked, _ = preflight(client, [(c.path, "crawl") for c in ok if c.path not in known],
                             tries=max(1, TRIES - 1), budget_s=CRAWL_S)  # fmt: skip
    more, more_left, _ = judge(rechecked + [c for c in found.pages if not c.ok])
    kept = kept + [r for r in more if r.path not in {k.path for k in kept}]
    refused = refused + [x for x in more_left if x.path not in known]
    return kept, refused, list(found.left_out), found.fetched


def _built(
    kept: list[WorkloadRoute],
    left: list[LeftOut],
    notes: list[str],
    fetched: int,
    preflight_s: float,
) -> Built:
    """The requests (the kept routes, weighted by their shares) and the record, with what the
    user typed redacted."""
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
