"""Real traffic from a browser: a HAR export (DevTools → Network → Save all as HAR) as a mix.

The rules follow k6's har-to-k6: keep the requests to the page's own origin (the first
page's URL, else the first document), leave out other hosts (analytics, CDNs, fonts) and
static assets, and keep of each request its method, path with query, body and the headers
that change what the app does (Cookie, Authorization, Content-Type, the CSRF and XHR
headers); the browser's own (User-Agent, Accept-Encoding, HTTP/2 pseudo-headers) go. The
same request seen several times weighs that many. Cookies in the file seed every client's
jar (`load.session`); none of the file's values is ever shown or written (`redact`).

Chrome 130 and later export a "sanitized" HAR by default (no cookies, no Authorization):
then pass those with --cookie or --header.
"""

from __future__ import annotations

import collections
import json
import urllib.parse
from pathlib import Path
from typing import Any

from tunicorn.errors import UsageError
from tunicorn.load.accesslog import TOP_PATHS, Traffic, is_static
from tunicorn.load.scenario import Request

__all__ = ["KEPT_HEADERS", "read_har"]

KEPT_HEADERS = frozenset(
    (
        "cookie", "authorization", "content-type", "accept", "x-csrftoken", "x-csrf-token",
        "x-xsrf-token", "x-requested-with",
    )
)  # fmt: skip
STATIC_TYPES = frozenset(
    ("stylesheet", "script", "image", "font", "media", "manifest", "texttrack", "ping")
)
METHODS = frozenset(("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))


def read_har(file: str, top: int = TOP_PATHS) -> Traffic:
    """The same-site requests of a HAR file as weighted requests; UsageError for a file that
    cannot be read or is not a HAR export."""
    try:
        data = json.loads(Path(file).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"Cannot read HAR file {file}: {exc.strerror}.") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", 0)
        where = f" (line {line})" if line else ""
        raise UsageError(
            f"{file} is not a HAR export{where}: it is not JSON; save it from the browser's "
            "DevTools (Network → Save all as HAR)."
        ) from None
    entries = data.get("log", {}).get("entries") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise UsageError(
            f"{file} has no log.entries: save a HAR from the browser's DevTools (Network → "
            "Save all as HAR) after loading the pages to measure."
        )
    origin = _origin(data["log"], entries)
    if not origin:
        raise UsageError(f"{file}: no http(s) page in it, so the site's origin is unknown.")
    counts: collections.Counter[tuple[str, str, bytes]] = collections.Counter()
    headers_of: dict[tuple[str, str, bytes], tuple[tuple[str, str], ...]] = {}
    statuses: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
    skipped: collections.Counter[str] = collections.Counter()
    read = 0
    for i, entry in enumerate(entries):
        req = entry.get("request") if isinstance(entry, dict) else None
        if not isinstance(req, dict) or not isinstance(req.get("url"), str):
            raise UsageError(f"{file}: entry {i} has no request URL: is it a HAR export?")
        read += 1
        url = urllib.parse.urlsplit(req["url"])
        method = str(req.get("method", "GET")).upper()
        status = int((entry.get("response") or {}).get("status") or 0)
        if f"{url.scheme}://{url.netloc}" != origin:
            skipped["requests to other hosts"] += 1
            continue
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        if entry.get("_resourceType") in STATIC_TYPES or is_static(path):
            skipped["static assets"] += 1
            continue
        if method not in METHODS:
            skipped["requests with methods the load engine does not send (HEAD, …)"] += 1
            continue
        if status == 0 or status >= 400:
            skipped["requests that failed or were blocked in the browser"] += 1
            continue
        body = _body(req)
        key = (method, path, body)
        counts[key] += 1
        headers_of[key] = _headers(req)  # the latest one: its cookies are the freshest
        statuses[path if method == "GET" else f"{method} {path}"][status] += 1
    if not counts:
        raise UsageError(
            f"{file} has {read:,} requests but none to {origin} that the app answers "
            "(all other hosts, static or failed): save the HAR on the app's own pages."
        )
    chosen = counts.most_common(top)
    used = sum(c for _, c in chosen)
    usable = sum(counts.values())
    requests = tuple(
        Request(
            path=path,
            method=method,
            headers=headers_of[(method, path, body)],
            body=body,
            weight=float(c),
            source="HAR",
        )  # fmt: skip
        for (method, path, body), c in chosen
    )
    keys = {p if m == "GET" else f"{m} {p}" for (m, p, _), _ in chosen}
    return Traffic(
        source="HAR", file=file, requests=requests,
        statuses={k: dict(statuses[k]) for k in keys}, read=read, used=used,
        skipped=dict(skipped), rest_share=(usable - used) / usable,
    ).with_seen_statuses()  # fmt: skip


def _origin(log: dict[str, Any], entries: list[Any]) -> str:
    """The page's origin: the first page's title when it is its URL (Chrome writes that),
    else the first document request, else the first request."""
    candidates: list[str] = []
    pages = log.get("pages")
    if isinstance(pages, list) and pages and isinstance(pages[0], dict):
        candidates.append(str(pages[0].get("title", "")))
    for entry in entries:
        if isinstance(entry, dict) and entry.get("_resourceType") == "document":
            candidates.append(str((entry.get("request") or {}).get("url", "")))
            break
    if entries and isinstance(entries[0], dict):
        candidates.append(str((entries[0].get("request") or {}).get("url", "")))
    for url in candidates:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}"
    return ""


def _headers(req: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    cookies: list[str] = []
    for h in req.get("headers") or ():
        if not isinstance(h, dict):
            continue
        name, value = str(h.get("name", "")), str(h.get("value", ""))
        low = name.lower()
        if low.startswith(":") or low not in KEPT_HEADERS:
            continue
        if low == "cookie":
            cookies.append(value)
        else:
            out.append((name, value))
    if not cookies:  # some exporters list cookies only in request.cookies
        pairs = [
            f"{c.get('name')}={c.get('value', '')}"
            for c in req.get("cookies") or ()
            if isinstance(c, dict) and c.get("name")
        ]
        if pairs:
            cookies.append("; ".join(pairs))
    if cookies:
        out.append(("Cookie", "; ".join(cookies)))
    return tuple(out)


def _body(req: dict[str, Any]) -> bytes:
    post = req.get("postData")
    if not isinstance(post, dict):
        return b""
    text = post.get("text")
    if isinstance(text, str):
        return text.encode()
    params = post.get("params")
    if isinstance(params, list):
        params = [p for p in params if isinstance(p, dict)]
        pairs = [(str(p.get("name", "")), str(p.get("value", ""))) for p in params]
        return urllib.parse.urlencode(pairs).encode()
    return b""
