"""Real traffic and logins, the pure parts: access-log and HAR parsing, cookie jars, the CSRF
fill, --header/--cookie, and the one redaction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunicorn.app import redact
from tunicorn.errors import UsageError
from tunicorn.load import LoadSpec
from tunicorn.load.accesslog import is_static, read_access_log
from tunicorn.load.har import read_har
from tunicorn.load.scenario import Request, load_scenario, with_credentials
from tunicorn.load.session import Client, fill_csrf, form_inputs, split, wants_csrf
from tunicorn.load.wire import _Target
from tunicorn.report.terminal import describe_requests

COMBINED = '{ip} - - [07/Dec/2026:10:00:00 +0000] "{method} {path} HTTP/1.1" {status} 12 "-" "ua"'


def _log(tmp_path: Path, lines: list[str]) -> str:
    f = tmp_path / "access.log"
    f.write_text("\n".join(lines) + "\n")
    return str(f)


def test_an_access_log_becomes_the_top_get_paths_weighted_by_their_share(tmp_path: Path) -> None:
    lines = [COMBINED.format(ip="1.2.3.4", method="GET", path="/", status=200)] * 6
    lines += [COMBINED.format(ip="1.2.3.4", method="GET", path="/blog/", status=200)] * 3
    lines += [COMBINED.format(ip="1.2.3.4", method="GET", path="/blog/", status=304)]
    lines += [COMBINED.format(ip="1.2.3.4", method="POST", path="/login", status=302)]
    lines += [COMBINED.format(ip="1.2.3.4", method="GET", path="/static/a.css", status=200)]
    lines += [COMBINED.format(ip="1.2.3.4", method="GET", path="/wp-login.php", status=404)] * 2
    lines += [COMBINED.format(ip="1.2.3.4", method="GET", path="http://other.test/", status=200)]
    lines += ["[2026-12-07 10:00:00 +0000] [7] [INFO] Booting worker with pid: 7"]
    lines += ['127.0.0.1 - - [07/Dec/2026:10:00:00 +0000] "GET /common HTTP/1.0" 200 -']  # CLF
    t = read_access_log(_log(tmp_path, lines), top=2)
    assert [(r.path, r.weight, r.source) for r in t.requests] == [
        ("/", 6.0, "access log"), ("/blog/", 4.0, "access log"),
    ]  # fmt: skip
    assert t.read == 16 and t.used == 10 and t.ignored_lines == 1
    assert t.rest_share == pytest.approx(1 / 11)
    assert t.status_of("/blog/") == "200 (75%), 304"
    assert t.requests[1].seen_status == "200 (75%), 304"
    assert t.skipped == {
        "requests with other methods than GET": 1,
        "static assets": 1,
        "requests to paths that mostly failed in the log (4xx/5xx)": 2,
        "absolute URLs or malformed request lines": 1,
    }
    assert "1 static assets" in t.summary()


def test_a_w3c_log_reads_with_its_fields_line(tmp_path: Path) -> None:
    lines = [
        "#Software: Microsoft Internet Information Services 8.0",
        "#Fields: date time s-sitename cs-method cs-uri-stem cs-uri-query s-port sc-status",
        "2026-12-07 10:00:00 SITE GET /home - 80 200",
        "2026-12-07 10:00:01 SITE GET /search q=shoes 80 200",
    ]
    t = read_access_log(_log(tmp_path, lines))
    assert sorted(r.path for r in t.requests) == ["/home", "/search?q=shoes"]


def test_a_file_that_is_not_an_access_log_is_refused_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="line 2 is not a request line"):
        read_access_log(_log(tmp_path, ["", "hello world", "more"]))
    good = COMBINED.format(ip="1", method="GET", path="/", status=200)
    with pytest.raises(UsageError, match="line 1 and 2 more are not access-log lines"):
        read_access_log(_log(tmp_path, ["junk", "junk", "junk", good]))
    with pytest.raises(UsageError, match="Cannot read access log"):
        read_access_log(str(tmp_path / "missing.log"))


def test_static_assets_are_told_by_extension_and_folder() -> None:
    assert is_static("/static/x") and is_static("/img/logo.PNG?v=3") and is_static("/favicon.ico")
    assert not is_static("/api/items.json") and not is_static("/blog/") and not is_static("/")


def _entry(method: str, url: str, kind: str = "xhr", status: int = 200, **req: object) -> dict:
    headers = [{"name": ":path", "value": "/"}, {"name": "Accept-Encoding", "value": "gzip"}]
    headers += [{"name": "Authorization", "value": "Bearer t"}]
    return {
        "_resourceType": kind,
        "request": {"method": method, "url": url, "headers": headers, **req},
        "response": {"status": status},
    }


def test_a_har_keeps_same_site_requests_with_the_headers_that_matter(tmp_path: Path) -> None:
    site = "https://app.test"
    entries = [
        _entry("GET", f"{site}/", "document"),
        _entry("GET", f"{site}/api/items?page=2"),
        _entry("GET", f"{site}/api/items?page=2"),
        _entry("GET", f"{site}/app.js", "script"),
        _entry("GET", "https://analytics.test/collect"),
        _entry("GET", f"{site}/gone", status=404),
        _entry(
            "POST",
            f"{site}/api/items",
            postData={"mimeType": "application/json", "text": '{"a": 1}'},
            cookies=[{"name": "sid", "value": "s1"}],
        ),  # fmt: skip
    ]
    f = tmp_path / "x.har"
    f.write_text(json.dumps({"log": {"entries": entries}}))
    t = read_har(str(f))
    got = {(r.method, r.path): r for r in t.requests}
    assert set(got) == {("GET", "/"), ("GET", "/api/items?page=2"), ("POST", "/api/items")}
    assert got[("GET", "/api/items?page=2")].weight == 2.0
    post = got[("POST", "/api/items")]
    assert post.body == b'{"a": 1}' and ("Cookie", "sid=s1") in post.headers
    assert post.headers[0] == ("Authorization", "Bearer t")  # no pseudo or browser headers
    assert len(post.headers) == 2 and post.source == "HAR"
    assert t.skipped == {
        "static assets": 1,
        "requests to other hosts": 1,
        "requests that failed or were blocked in the browser": 1,
    }


def test_a_file_that_is_not_a_har_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "x.har"
    f.write_text("{\n  oops")
    with pytest.raises(UsageError, match=r"not a HAR export \(line 2\)"):
        read_har(str(f))
    f.write_text('{"log": {"entries": []}}')
    with pytest.raises(UsageError, match="no log.entries"):
        read_har(str(f))


def test_a_jar_keeps_set_cookies_and_deletes_expired_ones() -> None:
    c = Client({"seed": "1"})
    base = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"
    assert c.payload(base) == b"GET / HTTP/1.1\r\nHost: h\r\nCookie: seed=1\r\n\r\n"
    c.set_cookie("session=abc; Path=/; HttpOnly")
    assert c.jar == {"seed": "1", "session": "abc"}
    assert b"Cookie: seed=1; session=abc\r\n\r\n" in c.payload(base)
    c.set_cookie("seed=; Max-Age=0; Path=/")
    c.set_cookie("session=; Expires=Thu, 01 Jan 1970 00:00:00 GMT")
    assert c.jar == {} and c.payload(base) is base
    post = b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\na=1"
    c.set_cookie("s=2")
    assert c.payload(post).endswith(b"Content-Length: 3\r\nCookie: s=2\r\n\r\na=1")


def test_the_csrf_field_is_filled_from_the_forms_hidden_input() -> None:
    page = "<form><input type=hidden name=csrf_token value='t0k'><input name=username></form>"
    inputs = form_inputs(page)
    assert inputs == {"csrf_token": "t0k", "username": ""}
    assert fill_csrf(b"username=a&csrf_token=", inputs, explicit=False) == (
        b"username=a&csrf_token=t0k"
    )
    assert fill_csrf(b"username=a", inputs, explicit=True) == b"username=a&csrf_token=t0k"
    assert fill_csrf(b"username=a", inputs, explicit=False) is None
    login = Request(path="/login", method="POST", once=True, body=b"u=a&csrfmiddlewaretoken=")
    assert wants_csrf(login)
    assert not wants_csrf(Request(path="/login", method="POST", once=True, body=b"u=a"))


def test_setup_requests_and_cookies_make_jars_and_stay_out_of_the_mix() -> None:
    reqs = (
        Request(path="/login", method="POST", once=True),
        Request(path="/", headers=(("Cookie", "a=1; b=2"),)),
    )
    setup, mix, seeds = split(reqs)
    assert [r.path for r in setup] == ["/login"] and [r.path for r in mix] == ["/"]
    assert seeds == {"a": "1", "b": "2"}
    target = _Target(LoadSpec(url="http://127.0.0.1:9", requests=reqs))
    assert target.sessions and all(b"Cookie" not in p for p in target.sequence)
    plain = _Target(LoadSpec(url="http://127.0.0.1:9", requests=(Request(path="/"),)))
    assert not plain.sessions


def test_header_and_cookie_options_go_on_every_request() -> None:
    reqs = (Request(path="/", headers=(("authorization", "old"), ("Cookie", "x=1"))),)
    out = with_credentials(reqs, ("Authorization: Bearer t",), ("sid=s1",))
    assert out[0].headers == (("Authorization", "Bearer t"), ("Cookie", "x=1; sid=s1"))
    with pytest.raises(UsageError, match="number 1 is not 'Name: value'") as info:
        with_credentials(reqs, ("Bearer secret-value",))
    assert "secret-value" not in str(info.value)
    with pytest.raises(UsageError, match="name=value"):
        with_credentials(reqs, (), ("novalue",))
    with pytest.raises(UsageError, match="sets Host itself"):
        with_credentials(reqs, ("Host: x",))


def test_a_scenario_takes_once_and_csrf_from(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text(
        '[[request]]\nonce = true\nmethod = "POST"\npath = "/login"\ncsrf_from = "/login"\n'
        'body = "u=a"\n\n[[request]]\npath = "/"\n'
    )
    login, page = load_scenario(str(f))
    assert login.once and login.csrf_from == "/login" and not page.once
    f.write_text('[[request]]\npath = "/"\ncsrf_from = "/login"\n')
    with pytest.raises(UsageError, match="add once = true"):
        load_scenario(str(f))
    f.write_text('[[request]]\npath = "/login"\nonce = true\n')
    assert load_scenario(str(f))[0].once  # a login to put before another workload
    with pytest.raises(UsageError, match="Every request is a setup request"):
        _Target(LoadSpec(url="http://127.0.0.1:9", requests=load_scenario(str(f))))


def test_every_shown_path_has_its_query_values_redacted() -> None:
    assert redact.path("/r?token=abc&x=&y=2") == "/r?token=<redacted>&x=&y=<redacted>"
    assert redact.path("/plain/") == "/plain/"
    assert redact.path("http://u:pw@h/x") == "http://<redacted>@h/x"
    reqs = (
        Request(path="/login", method="POST", once=True),
        Request(path="/?token=s3cret", weight=2),
        Request(path="/?token=other", weight=1),
    )
    text = describe_requests(reqs)
    assert "s3cret" not in text and "other" not in text
    assert text == "GET /?token=<redacted>×3 (each client first: POST /login, not measured)"
