"""A small Flask app with sessions: log in with a form and a header, then browse and post notes.

The secrets are module constants so the tests can look for them in everything tunicorn writes.
"""

from __future__ import annotations

from flask import Flask, abort, request, session

PASSWORD = "hunter2-correct-horse"
API_KEY = "key-5ekrit-4242"
COOKIE = "cookie-5ekrit-7777"

app = Flask(__name__)
app.secret_key = "tests-only"


@app.get("/")
def index() -> str:
    return "ok"


@app.post("/login")
def login() -> tuple[str, int, dict[str, str]]:
    if request.headers.get("X-Api-Key") != API_KEY:
        abort(403)
    if request.form.get("username") != "alice" or request.form.get("password") != PASSWORD:
        abort(401)
    session["user"] = "alice"
    return "welcome", 200, {"Set-Cookie": f"token={COOKIE}; Path=/; HttpOnly"}


@app.get("/account")
def account() -> str:
    if session.get("user") != "alice" or request.cookies.get("token") != COOKIE:
        abort(401)
    return "hello alice"


@app.post("/notes")
def notes() -> tuple[str, int]:
    if session.get("user") != "alice":
        abort(401)
    return f"saved {len(request.form.get('text', ''))} characters", 201
