"""Pure-Python CPU: ~7 ms of a busy loop per request. On one core nothing beats ~1 slot."""

from _burn import burn
from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return "ok\n"


@app.get("/work")
def work():
    return f"{burn(90_000)}\n"
