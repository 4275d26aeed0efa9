"""A Flask app with a slow endpoint: probe reads a server's slots from its rounds of 300 ms."""

from __future__ import annotations

import time

from flask import Flask

app = Flask(__name__)

SLOW_S = 0.300
QUICK_S = 0.001


@app.get("/")
def index() -> str:
    return "ok\n"


@app.get("/slow")
def slow() -> str:
    time.sleep(SLOW_S)  # waits like an external API call: a slot stays busy, the CPU idles
    return "slow\n"


@app.get("/quick")
def quick() -> str:
    time.sleep(QUICK_S)  # a fast page that waits a little, like one quick database query
    return "quick\n"


@app.get("/fail")
def fail() -> tuple[str, int]:
    return "broken\n", 500
