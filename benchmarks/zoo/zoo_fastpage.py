"""A fast CPU-bound page: under a millisecond of pure-Python work and a small JSON answer.

The issue's kept-alive case: on such a page the TCP handshake is a large share of a request,
so whether the front end keeps connections alive (and whether the worker class lets it: the
sync worker closes every connection) decides the ranking.
"""

from _burn import burn
from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return "ok\n"


@app.get("/work")
def work():
    return {"value": burn(6_000)}
