"""Pure I/O wait: each request sleeps 100 ms (an external API). Threads or greenlets help."""

import time

from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return "ok\n"


@app.get("/work")
def work():
    time.sleep(0.100)
    return "waited 100 ms\n"
