"""The smallest Flask app: emitted configurations are checked and started against it."""

from __future__ import annotations

import os
import threading

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> dict[str, object]:
    # pid and thread let a test see which worker and thread answered.
    return {"hello": "world", "pid": os.getpid(), "thread": threading.get_ident()}
