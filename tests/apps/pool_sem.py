"""A per-process pool without a database: a semaphore of POOL_SIZE (4) slots, each request
holding one for WAIT_MS (50 ms) of waiting.

Every gunicorn worker has its own semaphore (gevent's monkey-patching makes it a greenlet
one), so a worker serves at most POOL_SIZE requests at once, whatever its threads or
greenlets: where kept-alive connections land decides how many of a server's slots work.
"""

from __future__ import annotations

import os
import threading
import time

from flask import Flask

POOL = threading.BoundedSemaphore(int(os.environ.get("POOL_SIZE", "4")))
WAIT_S = float(os.environ.get("WAIT_MS", "50")) / 1000
app = Flask(__name__)


@app.get("/")
def index() -> str:
    return "ok\n"


@app.get("/work")
def work() -> str:
    with POOL:
        time.sleep(WAIT_S)
    return f"held a slot for {WAIT_S * 1000:.0f} ms in {os.getpid()}\n"
