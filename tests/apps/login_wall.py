"""A Flask app whose every page needs a login (a session set by a CSRF-protected form), as
Flask-Login apps do: anonymous GETs get a 302 to /login, and its API answers 401."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, abort, jsonify, redirect, request, session, url_for
from werkzeug.wrappers import Response

app = Flask(__name__)
app.secret_key = "tests-only"
PASSWORD = "wall-5ekrit-9090"


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not session.get("user"):
            return redirect(url_for("login", next=request.path))
        return view(*args, **kwargs)

    return wrapped


@app.get("/login")
def login_form() -> str:
    session["csrf"] = token = secrets.token_hex(8)
    return (
        "<form method=post action=/login><input type=hidden name=csrf_token "
        f"value={token}><input name=username><input name=password type=password></form>"
    )


@app.post("/login", endpoint="login")
def login() -> Response:
    if request.form.get("csrf_token") != session.get("csrf"):
        abort(400)
    if request.form.get("password") != PASSWORD:
        abort(401)
    session["user"] = request.form.get("username", "")
    return redirect("/")


@app.get("/")
@login_required
def index() -> str:
    return "<a href='/reports'>reports</a>"


@app.get("/reports")
@login_required
def reports() -> str:
    return "reports"


@app.get("/settings")
@login_required
def settings_page() -> str:
    return "settings"


@app.get("/api/me")
def me() -> Any:
    if not session.get("user"):
        return jsonify(error="not logged in"), 401
    return jsonify(user=session["user"])
