"""Mixed: ~5 ms of CPU then a 60 ms wait. W/C ≈ 12: about a dozen slots per core."""

import time

from _burn import burn
from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return "ok\n"


@app.get("/work")
def work():
    x = burn(50_000)
    time.sleep(0.060)
    return f"{x}\n"
