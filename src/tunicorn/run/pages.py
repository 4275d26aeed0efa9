"""Which of a site's paths are its pages: what is left out and why, a page's links, an answer.

The workload stage (`run.workload`) asks these questions of every route it finds; they are
pure functions of a path, a page or an answer, so they live apart from the client and the
crawl that ask them (`run.workload` re-exports them).
"""

from __future__ import annotations

import dataclasses
import http.client
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from tunicorn.app.target import is_loopback

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
