"""The workload stage's rules without a network: which routes are not the site's pages, which
patterns are catch-alls, which links a crawl follows, how answers and redirects are judged,
and how the profile's figures join the record."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/reportdata.py

import reportdata  # noqa: E402
from tunicorn import record
from tunicorn.record import TuneResult, Workload  # noqa: E402
from tunicorn.report import terminal  # noqa: E402
from tunicorn.report.html import render_tune  # noqa: E402
from tunicorn.run import workload
from tunicorn.run.workload import Answer, Check  # noqa: E402

SITE = "127.0.0.1:8000"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/admin/", workload.ADMIN),
        ("/admin/auth/user/add/", workload.ADMIN),
        ("/__debug__/render_panel/", workload.DEBUG),
        ("/static/app.css", workload.STATIC),
        ("/media/x.png", workload.STATIC),
        ("/favicon.ico", workload.STATIC),
        ("/docs", workload.DOCS),
        ("/redoc", workload.DOCS),
        ("/openapi.json", workload.DOCS),
        ("/api/docs/", workload.DOCS),
        ("/swagger-ui.html", workload.DOCS),
        ("/health", workload.HEALTH),
        ("/healthz/", workload.HEALTH),
        ("/api/v1/ready", workload.HEALTH),
        ("/metrics", workload.HEALTH),
        ("/ping", workload.HEALTH),
        ("/", ""),
        ("/blog/", ""),
        ("/administrators/", ""),  # a page whose name starts like admin is a page
        ("/docs-and-guides/intro/", ""),
        ("/healthy-recipes/", ""),
    ],
)
def test_default_exclusions_name_their_reason(path: str, reason: str) -> None:
    assert workload.excluded(path) == reason


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("/<path:path>", True),  # Flask
        ("/pages/<path:slug>/", True),  # Django path()
        ("/{rest:path}", True),  # Starlette
        ("^(?P<url>.*)$", True),  # Django re_path
        ("(?P<slug>[0-9A-Za-z\\-_./]+)/", True),  # a slug class with / in it (CMS pages)
        ("((?:[\\w\\-]+/)*)", True),  # Wagtail's serve
        ("/blog/<slug:slug>/", False),
        ("/items/{item_id}", False),
        ("/users/<int:pk>/", False),
    ],
)
def test_catch_all_patterns(pattern: str, expected: bool) -> None:
    assert workload.catch_all(pattern) is expected


def test_links_resolve_against_the_page_and_its_base() -> None:
    html = (
        '<a href="/a/">a</a><a href="b/">b</a><a href="../c">c</a><a>no href</a>'
        '<a href="/file.pdf" download>dl</a><A HREF="/upper/">u</A>'
    )
    assert workload.links(html, "http://h:1/x/y/") == [
        "http://h:1/a/", "http://h:1/x/y/b/", "http://h:1/x/c", "http://h:1/upper/",
    ]  # fmt: skip
    based = '<base href="/root/"><a href="p">p</a>'
    assert workload.links(based, "http://h:1/x/") == ["http://h:1/root/p"]


def test_links_survive_broken_html() -> None:
    assert workload.links('<a href="/ok/">ok</a><a href="/half', "http://h/") == ["http://h/ok/"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"http://{SITE}/blog/#top", ("/blog/", "")),
        (f"http://{SITE}", ("/", "")),
        (f"http://{SITE}/b/?z=1&a=2", ("/b/?a=2&z=1", "")),  # one key per page
        (f"http://{SITE}//double//slash", ("/double/slash", "")),
        ("http://localhost:8000/x", ("/x", "")),  # loopback on the same port is the site
        ("http://127.0.0.1:9000/x", ("", "another site")),
        ("https://example.com/", ("", "another site")),
        ("mailto:a@b.c", ("", "not a web link")),
        ("javascript:void(0)", ("", "not a web link")),
    ],
)
def test_canonical_urls(url: str, expected: tuple[str, str]) -> None:
    assert workload.canonical(url, SITE) == expected


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/static/site.css", workload.STATIC),
        ("/files/report.pdf", "a file, not a page"),
        ("/img/logo.PNG", "a file, not a page"),
        ("/logout/", "a logout link"),
        ("/accounts/sign-out", "a logout link"),
        ("/auth/logout?next=/", "a logout link"),
        ("/admin/", workload.ADMIN),
        ("/blog/logout-tips-for-admins/", ""),  # a post about logging out is a page
        ("/blog/", ""),
    ],
)
def test_which_links_the_crawl_follows(path: str, reason: str) -> None:
    assert workload.link_reason(path) == reason


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (Answer(200), "ok"),
        (Answer(204), "ok"),
        (Answer(302, location="/login?next=/"), "redirect"),
        (Answer(301, location=f"http://{SITE}/new/"), "redirect"),
        (Answer(302, location="https://login.example.com/"), "off-site"),
        (Answer(304), "error"),
        (Answer(302), "error"),  # no Location: nothing to follow
        (Answer(401), "error"),
        (Answer(500), "error"),
        (Answer(0, error="ConnectionResetError"), "error"),
    ],
)
def test_classify_answers(answer: Answer, kind: str) -> None:
    assert workload.classify(answer, SITE, f"http://{SITE}/x") == kind


def test_status_reasons_say_what_the_status_means() -> None:
    assert workload.status_reason(401) == "401 Unauthorized — needs credentials"
    assert workload.status_reason(404) == "404 Not Found — not found"
    assert workload.status_reason(503).endswith("the app failed")
    assert workload.status_reason(0, "no answer within 10 s") == "no answer (no answer within 10 s)"


def test_login_looking_paths() -> None:
    for path in ("/login", "/accounts/login/", "/auth/sign-in", "/users/sign_in?next=/"):
        assert workload.looks_like_login(path), path
    for path in ("/", "/blog/logins-explained/", "/loginless"):
        assert not workload.looks_like_login(path), path


def check(path: str, status: int, landed: str = "", stopped: str = "") -> Check:
    return Check(path, "router", landed or path, status, stopped, Answer(status))


def test_judge_keeps_2xx_and_counts_a_redirect_as_the_page_it_lands_on() -> None:
    routes, left, login = workload.judge(
        [check("/", 200), check("/old/", 200, landed="/new/"), check("/new/", 200),
         check("/api/users", 401), check("/gone", 404), check("/away", 302, stopped="off-site")],
        {"/": 2.0},
    )  # fmt: skip
    assert login == ""
    assert [(r.path, r.share, r.via) for r in routes] == [("/", 2.0, ""), ("/new/", 2.0, "/old/")]
    assert {x.path: x.reason for x in left} == {
        "/api/users": "401 Unauthorized — needs credentials",
        "/gone": "404 Not Found — not found",
        "/away": "redirects to another site",
    }


def test_judge_names_the_login_page_most_routes_redirect_to() -> None:
    checks = [check(p, 200, landed="/login?next=" + p) for p in ("/", "/reports", "/settings")]
    checks += [check("/login", 200), check("/api/me", 401)]
    routes, left, login = workload.judge(checks)
    assert login == "/login"
    assert routes == []  # the login page alone is not the app
    reasons = {x.path: x.reason for x in left}
    assert reasons["/reports"] == "redirects to the login page /login"
    assert reasons["/login"] == "the login page the other routes redirect to"


def test_a_login_page_a_few_routes_redirect_to_stays_a_page() -> None:
    checks = [check("/", 200), check("/blog/", 200), check("/about/", 200), check("/login", 200),
              check("/account/", 200, landed="/login?next=/account/")]  # fmt: skip
    routes, left, login = workload.judge(checks)
    assert login == "" and "/login" in {r.path for r in routes}
    assert [x.path for x in left] == ["/account/"]


def test_nothing_usable_says_what_to_give() -> None:
    target = workload.Target(kind="app", app="app:app")
    login = workload.nothing_usable(target, [], "/login")
    assert "--locustfile" in login and "--cookie" in login and "--header" in login
    assert "--scenario" in login and "/login" in login and login.count(". ") == 0
    refused = [record.LeftOut("/api/users", workload.status_reason(401), "router", 401)]
    assert "--header 'Authorization: Bearer" in workload.nothing_usable(target, refused, "")
    broken = [record.LeftOut("/", workload.status_reason(500), "router", 500)]
    assert "--path" in workload.nothing_usable(target, broken, "")


def test_with_profile_fills_cpu_and_wait_per_route() -> None:
    wl = reportdata.make_workload()
    joined = workload.with_profile(wl, reportdata.make_profile())
    io = next(r for r in joined.routes if r.path == "/io")
    assert io.cpu_ms == 1.2 and io.wait_ms == pytest.approx(200.4)
    assert workload.with_profile(wl, None) == wl


def test_left_out_is_compact_by_reason() -> None:
    lines = terminal.left_out_lines(reportdata.make_workload(), examples=1)
    assert lines[0] == f"2 × {workload.DEBUG} (/__debug__/render_panel/, …)"
    assert len(lines) == 3


def test_the_workload_round_trips_and_renders_in_html() -> None:
    tune = reportdata.make_tune()
    wl = workload.with_profile(reportdata.make_workload(), tune.profile)
    with_wl = TuneResult(**{**tune.__dict__, "workload": wl})
    again = record.from_json(record.to_json(with_wl), TuneResult)
    assert again == with_wl and isinstance(again.workload, Workload)
    page = render_tune(again)
    assert "<h2>Workload</h2>" in page and "GET /io" in page and "Left out (4)" in page


def test_a_client_for_another_host_is_refused() -> None:
    with pytest.raises(workload.UsageError):
        workload.Client("http://example.com/")


def test_query_values_are_redacted_in_the_record() -> None:
    assert workload.redacted("/x?token=abc&page=2") == "/x?token=<redacted>&page=<redacted>"
    assert workload.redacted("/plain/") == "/plain/"


def test_a_scenario_is_recorded_without_its_query_values(tmp_path: Path) -> None:
    scenario = tmp_path / "s.toml"
    scenario.write_text('[[request]]\npath = "/?token=tok-5ekrit"\nweight = 3\n'
                        '[[request]]\npath = "/io"\n')  # fmt: skip
    built = workload.named((), str(scenario), None)
    assert built is not None and built.requests[0].path == "/?token=tok-5ekrit"
    assert [(r.path, r.source, r.share) for r in built.workload.routes] == [
        ("/?token=<redacted>", "scenario", 0.75), ("/io", "scenario", 0.25),
    ]  # fmt: skip
    assert "5ekrit" not in record.to_json(built.workload)


def test_one_workload_source_at_a_time() -> None:
    from tunicorn.load import Request

    with pytest.raises(workload.UsageError, match="not several"):
        workload.named((Request("/"),), "s.toml", None)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/en/admin/", workload.ADMIN),  # Django's i18n_patterns
        ("/pt-br/healthz/", workload.HEALTH),
        ("/en/account/logout/", workload.LOGOUT),
        ("/en/", ""),
        ("/en/blog/", ""),
        ("/static/(?P<path>.*)", workload.STATIC),  # DEBUG's static(): files, not pages
    ],
)
def test_exclusions_under_a_language_prefix(path: str, reason: str) -> None:
    assert workload.excluded(path) == reason


class FakeSite:
    """Stands in for `workload.Client`: pages by path, each with its links, no network."""

    site = SITE

    def __init__(self, pages: dict[str, str]) -> None:
        self.pages = pages
        self.fetched: list[str] = []

    def url(self, path: str) -> str:
        return f"http://{SITE}{path}"

    def follow(self, path: str, *, read_body: bool = False) -> tuple[str, Answer, str]:
        self.fetched.append(path)
        if path not in self.pages:
            return path, Answer(404), ""
        body = self.pages[path].encode()
        return path, Answer(200, content_type="text/html; charset=utf-8", body=body), ""


def test_the_crawl_is_breadth_first_bounded_and_skips_what_is_not_a_page() -> None:
    site = FakeSite({
        "/": '<a href="/a/">a</a><a href="/b/">b</a><a href="/logout/">out</a>'
             '<a href="/x.css">css</a><a href="https://example.com/">ext</a>',
        "/a/": '<a href="/a/1/">1</a><a href="/">home</a>',
        "/b/": '<a href="/b/1/">1</a><a href="/missing/">?</a>',
        "/a/1/": "", "/b/1/": "",
    })  # fmt: skip
    found = workload.crawl(site, ["/"], max_pages=4)  # type: ignore[arg-type]
    assert site.fetched == ["/", "/a/", "/b/", "/a/1/"]  # breadth first, 4 pages, each once
    assert [c.path for c in found.pages if c.ok] == site.fetched
    assert {x.path: x.reason for x in found.left_out} == {
        "/logout/": workload.LOGOUT, "/x.css": "a file, not a page",
    }  # fmt: skip
    everything = workload.crawl(site, ["/"], max_pages=30)  # type: ignore[arg-type]
    assert [c.path for c in everything.pages if not c.ok] == ["/missing/"]
    assert everything.fetched == 6


def test_the_crawl_stops_at_its_time_bound() -> None:
    site = FakeSite({"/": '<a href="/a/">a</a>', "/a/": ""})
    found = workload.crawl(site, ["/"], max_s=0.0)  # type: ignore[arg-type]
    assert found.fetched == 0 and site.fetched == []


def test_a_django_app_refusing_the_host_is_told_about_allowed_hosts() -> None:
    target = workload.Target(kind="app", app="mysite.wsgi:application", framework="django")
    refused = [record.LeftOut("/", workload.status_reason(400), "router", 400)]
    assert "ALLOWED_HOSTS" in workload.nothing_usable(target, refused, "")


def test_where_most_routes_need_a_login_its_sign_up_and_reset_pages_are_not_the_app() -> None:
    checks = [check(p, 200, landed="/auth/login?next=" + p) for p in ("/", "/a", "/b", "/c")]
    checks += [check("/auth/register", 200), check("/auth/reset_password_request", 200),
               check("/signup/", 200), check("/about", 200)]  # fmt: skip
    routes, left, login = workload.judge(checks)
    assert login == "/auth/login" and [r.path for r in routes] == ["/about"]
    flow = {x.path for x in left if x.reason == "part of the login flow"}
    assert flow == {"/auth/register", "/auth/reset_password_request", "/signup/"}
    # Where most routes are public, the same pages are pages like any other.
    public = [check(p, 200) for p in ("/", "/a", "/b", "/auth/register")]
    assert len(workload.judge(public)[0]) == 4


def test_real_traffic_is_recorded_as_read_one_row_per_shown_path() -> None:
    from tunicorn.load import Request

    login = Request("/login", "POST", once=True, body=b"password=pw-5ekrit")
    read = (login, Request("/a?page=1", weight=1.0, source="access log", seen_status="200"),
            Request("/a?page=2", weight=1.0, source="access log", seen_status="200"),
            Request("/b", weight=2.0, source="access log", seen_status="200 (90%), 500"))
    built = workload.recorded(read)
    assert built.requests == read  # loaded as read
    assert [(r.path, r.share, r.seen) for r in built.workload.routes] == [
        ("/a?page=<redacted>", 0.5, "200"), ("/b", 0.5, "200 (90%), 500"),
    ]  # fmt: skip
    assert "5ekrit" not in record.to_json(built.workload)


def test_a_login_that_did_not_take_is_named() -> None:
    target = workload.Target(kind="app", app="app:app")
    said = workload.nothing_usable(target, [], "/login", logged_in=True)
    assert "did not take" in said and "password" in said and "--cookie" not in said
