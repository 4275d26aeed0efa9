"""A raw WSGI app for the load engine's tests: no framework, so the server stays cheap.

`/` hello, `/slow` waits 50 ms, `/500` fails, `/a` `/b` `/c` answer 200 / 201 / 202 so a
client can count which paths it sent from the status codes alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

HELLO = b"Hello, World!"
STATUS = {"/a": "200 OK", "/b": "201 Created", "/c": "202 Accepted", "/500": "500 Oops"}


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "/")
    if path == "/slow":
        time.sleep(0.05)
    status = STATUS.get(path, "200 OK")
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(HELLO)))])
    return [HELLO]
