"""A WSGI app whose workers die now and then under load, as after a segfault in a C extension.

Every DIE_EVERY-th request a worker serves (50 unless the environment says otherwise) ends the
worker with SIGSEGV, so every trial loses workers and none can be recommended: tune must then
say that the workers died, quoting gunicorn's log, not "raise --slo-p95". The count is per
worker and deterministic (no randomness), and core dumps are turned off so none is written.
"""

from __future__ import annotations

import os
import resource
import signal
import time
from collections.abc import Callable, Iterable
from typing import Any

resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
DIE_EVERY = int(os.environ.get("DIE_EVERY", "50"))
_served = 0


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    global _served
    _served += 1
    if _served % DIE_EVERY == 0:
        os.kill(os.getpid(), signal.SIGSEGV)
    time.sleep(0.005)  # a little work, so that the load has something to wait for
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok\n"]
