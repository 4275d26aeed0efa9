"""Real traffic from an access log: the GET paths people requested, weighted by their share.

Formats, told line by line (a log that mixes gunicorn's error lines in, as App Service's
container log does with `--access-logfile '-' --error-logfile '-'`, still reads):
- gunicorn's default `%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"`, which is
  the combined format nginx and Apache write; the common format is its first seven fields.
  A prefix before the host (a container log's timestamp) is allowed.
- W3C extended (`#Fields:` header lines), as App Service on Windows and IIS write.

What is left out, each with its count: static assets (by extension or /static/), methods
other than GET (replaying a POST could change data), absolute URLs in the request line (a
proxy's traffic for other sites), paths the log shows failing (most of their answers 4xx or
5xx: scanners probing /wp-login.php), and the paths beyond the top `TOP_PATHS`, whose share
is said. Query strings are kept (they choose the page) but shown only through
`redact.path`; the log's cookies and user fields are never read.
"""

from __future__ import annotations

import collections
import dataclasses
import re
from pathlib import Path

from tunicorn.app import redact
from tunicorn.errors import UsageError
from tunicorn.load.scenario import Request

__all__ = ["TOP_PATHS", "Traffic", "is_static", "read_access_log"]

TOP_PATHS = 50
STATIC_EXTENSIONS = frozenset(
    (
        "css", "js", "mjs", "map", "png", "jpg", "jpeg", "gif", "svg", "ico", "webp", "avif",
        "bmp", "woff", "woff2", "ttf", "otf", "eot", "mp4", "webm", "mp3", "ogg", "wav",
        "pdf", "zip", "gz", "txt", "webmanifest",
    )
)  # fmt: skip
STATIC_PREFIXES = ("/static/", "/assets/", "/media/", "/_next/static/", "/favicon")

# `… [10/Oct/2000:13:55:36 -0700] "GET /a?b=c HTTP/1.1" 200 2326 …`
_CLF = re.compile(r'\[[^\]]+\] "(?P<request>[^"]*)" (?P<status>\d{3}) (?:\d+|-)')


@dataclasses.dataclass(frozen=True)
class Traffic:
    """The mix read from a log or a HAR file, and what was left out of it and why.

    `statuses[path]` counts the answers the file shows for that request (the workload table
    shows them); `rest_share` is the share of the usable requests beyond the top paths."""

    source: str  # "access log" or "HAR"
    file: str
    requests: tuple[Request, ...]
    statuses: dict[str, dict[int, int]]
    read: int  # requests found in the file
    used: int  # requests the mix stands for
    skipped: dict[str, int]  # reason → requests
    rest_share: float = 0.0
    ignored_lines: int = 0  # lines that were not requests (an error log mixed in)

    def status_of(self, path: str) -> str:
        """`200` or `200 (91%), 304`: what the file shows this path answered."""
        counts = self.statuses.get(path, {})
        total = sum(counts.values())
        if not total:
            return ""
        ranked = sorted(counts.items(), key=lambda kv: -kv[1])
        if len(ranked) == 1:
            return str(ranked[0][0])
        first = f"{ranked[0][0]} ({100 * ranked[0][1] / total:.0f}%)"
        return ", ".join([first, *(str(s) for s, _ in ranked[1:3])])

    def summary(self) -> str:
        """One paragraph for the terminal (paths redacted)."""
        parts = [
            f"{self.source} {Path(self.file).name}: {self.read:,} requests, "
            f"{len(self.requests)} paths loaded standing for {self.used:,} of them"
        ]
        if self.rest_share > 0:
            parts.append(f"the other paths ({100 * self.rest_share:.1f}% of the usable) left out")
        for why, n in sorted(self.skipped.items(), key=lambda kv: -kv[1]):
            parts.append(f"{n:,} {why}")
        if self.ignored_lines:
            parts.append(f"{self.ignored_lines:,} lines that are not requests ignored")
        return "; ".join(parts) + "."

    def with_seen_statuses(self) -> Traffic:
        """Each request carrying what the file shows it answered (`Request.seen_status`), for
        the workload table."""
        reqs = tuple(
            dataclasses.replace(r, seen_status=self.status_of(_key(r))) for r in self.requests
        )
        return dataclasses.replace(self, requests=reqs)

    def table(self) -> list[tuple[str, str, str]]:
        """(request, share, statuses) per loaded request, paths redacted; requests that only
        differ in query values (hidden) are one row, with their number."""
        total = sum(r.weight for r in self.requests) or 1.0
        rows: dict[str, list[float]] = {}
        statuses: dict[str, collections.Counter[int]] = {}
        for r in self.requests:
            shown = f"{r.method} {redact.path(r.path)}"
            row = rows.setdefault(shown, [0.0, 0])
            row[0] += r.weight
            row[1] += 1
            statuses.setdefault(shown, collections.Counter()).update(self.statuses.get(_key(r), {}))
        out = []
        for shown, (weight, n) in rows.items():
            label = shown + (f" ({int(n)} variants)" if n > 1 else "")
            merged = Traffic(self.source, self.file, (), {"": dict(statuses[shown])}, 0, 0, {})
            out.append((label, f"{100 * weight / total:.1f}%", merged.status_of("")))
        return out


def _key(req: Request) -> str:
    return req.path if req.method == "GET" else f"{req.method} {req.path}"


def is_static(path: str) -> bool:
    """A file the front end or a CDN would serve: its cost is not the app's."""
    bare = path.split("?", 1)[0].split("#", 1)[0].lower()
    if bare.startswith(STATIC_PREFIXES):
        return True
    last = bare.rsplit("/", 1)[-1]
    return "." in last and last.rsplit(".", 1)[-1] in STATIC_EXTENSIONS


def read_access_log(file: str, top: int = TOP_PATHS) -> Traffic:
    """The top `top` GET paths of an access log as weighted requests; UsageError (with the
    line number) for a file that cannot be read or is not an access log."""
    try:
        text = Path(file).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UsageError(f"Cannot read access log {file}: {exc.strerror}.") from None
    counts: collections.Counter[str] = collections.Counter()
    statuses: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
    skipped: collections.Counter[str] = collections.Counter()
    read = ignored = 0
    first_bad = 0
    fields: list[str] = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        got = None
        if line.startswith("#"):
            if line.startswith("#Fields:"):
                fields = line.split()[1:]
            continue
        found = _CLF.search(line)
        if found:
            method, _, rest = found.group("request").partition(" ")
            target, _, version = rest.rpartition(" ")
            if not version.startswith("HTTP/"):
                target = rest
            got = (method, target, int(found.group("status")))
        elif fields:
            got = _w3c(line, fields)
        if got is None:
            ignored += 1
            if not first_bad and not line.startswith("["):  # "[…] [INFO] …": gunicorn's error log
                first_bad = n
            continue
        read += 1
        method, target, status = got
        if not target.startswith("/"):
            skipped["absolute URLs or malformed request lines"] += 1
        elif method != "GET":
            skipped["requests with other methods than GET"] += 1
        elif is_static(target):
            skipped["static assets"] += 1
        else:
            counts[target] += 1
            statuses[target][status] += 1
    if not read:
        where = f" (line {first_bad} is not a request line)" if first_bad else ""
        raise UsageError(
            f"{file} has no access-log line in gunicorn's, the common or combined, or the W3C "
            f"format{where}: give the server's access log (gunicorn --access-logfile)."
        )
    if ignored > read and first_bad:
        raise UsageError(
            f"{file}: line {first_bad} and {ignored - 1:,} more are not access-log lines (more "
            f"than the {read:,} that are): give a log in gunicorn's, the common or combined, or "
            "the W3C format."
        )
    failing = [p for p, c in statuses.items() if _failed(c) * 2 > sum(c.values())]
    for path in failing:
        skipped["requests to paths that mostly failed in the log (4xx/5xx)"] += counts.pop(path)
    if not counts:
        raise UsageError(
            f"{file} has {read:,} requests but no GET of a page that answered (all static, "
            "other methods or failing): give --path or a scenario instead."
        )
    usable = sum(counts.values())
    chosen = counts.most_common(top)
    used = sum(c for _, c in chosen)
    requests = tuple(Request(path=p, weight=float(c), source="access log") for p, c in chosen)
    traffic = Traffic(
        source="access log", file=file, requests=requests,
        statuses={p: dict(statuses[p]) for p, _ in chosen}, read=read, used=used,
        skipped=dict(skipped), rest_share=(usable - used) / usable, ignored_lines=ignored,
    )  # fmt: skip
    return traffic.with_seen_statuses()


def _failed(counts: collections.Counter[int]) -> int:
    return sum(n for status, n in counts.items() if status >= 400)


def _w3c(line: str, fields: list[str]) -> tuple[str, str, int] | None:
    values = line.split()
    if len(values) != len(fields):
        return None
    row = dict(zip(fields, values, strict=True))
    try:
        method, stem, status = row["cs-method"], row["cs-uri-stem"], int(row["sc-status"])
    except (KeyError, ValueError):
        return None
    query = row.get("cs-uri-query", "-")
    return method, stem + (f"?{query}" if query not in ("-", "") else ""), status
