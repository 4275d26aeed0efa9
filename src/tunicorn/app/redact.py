"""One redaction for everything tunicorn shows or writes about a request.

Header values, cookies, bodies and query values come from the user's scenario, access log,
HAR file, --header and --cookie; they can hold tokens and passwords. Renderers (the terminal,
the progress line, JSON and HTML records, the workload table) show a request through
`path` below, never its raw text, so a secret has one place to be stopped.
"""

from __future__ import annotations

import re

__all__ = ["REDACTED", "path", "paths"]

REDACTED = "<redacted>"  # the same marker the Locust plugin writes (`load.tunicorn_locust`)
_QUERY_VALUE = re.compile(r"([?&;][^=&#\s]+=)[^&#\s]+")
_USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)


def path(text: str) -> str:
    """`/reset?token=abc&x=` → `/reset?token=<redacted>&x=`: names stay (they say which page
    it is), values go (they are what leaks); credentials in a URL's user part go too."""
    text = _USERINFO.sub(r"\1" + REDACTED + "@", text)
    if "?" not in text and ";" not in text:
        return text
    return _QUERY_VALUE.sub(r"\1" + REDACTED, text)


def paths(texts: list[str] | tuple[str, ...]) -> list[str]:
    return [path(t) for t in texts]
