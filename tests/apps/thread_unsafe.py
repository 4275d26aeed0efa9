"""A Flask app that breaks when two threads of one process run the handler at once."""

from __future__ import annotations

import time

from flask import Flask

app = Flask(__name__)
_busy = False


@app.get("/")
def index() -> tuple[str, int]:
    global _busy
    if _busy:
        return "another request is inside this process\n", 500
    _busy = True
    try:
        time.sleep(0.02)
    finally:
        _busy = False
    return "ok\n", 200
