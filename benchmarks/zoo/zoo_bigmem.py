"""A large per-worker footprint: each worker holds ~450 MiB of real, touched pages.

The app is imported in every worker (no --preload), so each worker owns its own copy
and PSS counts it in full: on B1 (1792 MiB × 0.9 = 1613 MiB) at most 3 workers fit.
The request itself waits 40 ms after 3 ms of CPU, so threads (cheap) still help.
"""

import time

from _burn import burn
from flask import Flask

SIZE = 450 * 2**20
BALLAST = bytearray(SIZE)
for _i in range(0, SIZE, 4096):  # touch every page with a non-zero byte: real, private pages
    BALLAST[_i] = 1

app = Flask(__name__)


@app.get("/")
def index():
    return "ok\n"


@app.get("/work")
def work():
    x = burn(30_000)
    time.sleep(0.040)
    return f"{x} {BALLAST[4096]}\n"
