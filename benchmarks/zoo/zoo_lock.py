"""A per-process resource: one module-level lock held across a 50 ms wait.

Threads in one worker queue on the lock (useless); each extra worker has its own lock
(like a per-process connection pool of size 1), so workers help.
"""

import threading
import time

from flask import Flask

LOCK = threading.Lock()
app = Flask(__name__)


@app.get("/")
def index():
    return "ok\n"


@app.get("/work")
def work():
    with LOCK:
        time.sleep(0.050)
    return "held the lock 50 ms\n"
