"""Breaks under threads: module-level state that assumes one request at a time per process.

Two concurrent requests in one process (threads or greenlets) see the flag set and the
second gets a 500; separate worker processes each have their own flag and never trip.
"""

import time

from flask import Flask

BUSY = [False]
app = Flask(__name__)


@app.get("/")
def index():
    return "ok\n"


@app.get("/work")
def work():
    if BUSY[0]:
        return "concurrent request in this process: state corrupted\n", 500
    BUSY[0] = True
    try:
        time.sleep(0.020)
    finally:
        BUSY[0] = False
    return "ok, alone\n"
