"""A Flask app that reproduces the seed's problem.

`/io` waits 200 ms like a call to an external API: under one sync worker with one
thread, every other user queues behind it while the CPU graph stays flat. `/cpu` does
about 10 ms of pure-Python work (the GIL makes extra threads useless for it), and `/`
answers at once.
"""

from __future__ import annotations

import time

from flask import Flask, Response, jsonify

app = Flask(__name__)

IO_WAIT_S = 0.200
CPU_ROUNDS = 140_000  # about 10 ms of pure-Python arithmetic on a 2020s x86 core


def _spin(rounds: int) -> int:
    acc = 0
    for i in range(rounds):
        acc = (acc * 31 + i) % 1_000_003
    return acc


@app.get("/")
def index() -> str:
    return "ok\n"


@app.get("/io")
def io() -> Response:
    time.sleep(IO_WAIT_S)  # stands in for requests.get("https://api.example.com/…")
    return jsonify(waited_ms=IO_WAIT_S * 1000)


@app.get("/cpu")
def cpu() -> Response:
    return jsonify(result=_spin(CPU_ROUNDS))
