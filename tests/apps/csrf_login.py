"""A Flask app whose every page needs a login, as Flask-Login apps do: an anonymous request
is redirected to /auth/login, whose form carries a CSRF token tied to the session; the POST
checks it and the password (a salted hash in PostgreSQL, through SQLAlchemy), then sets the
session cookie. Written by hand (no Flask-Login or Flask-WTF) with the same shapes.

TUNICORN_TEST_DB is the database URL (the test starts PostgreSQL itself). The secrets are
module constants so the tests can look for them in everything tunicorn writes.
"""

from __future__ import annotations

import functools
import hmac
import os
import secrets
from collections.abc import Callable
from typing import Any

from flask import Flask, redirect, request, session
from sqlalchemy import create_engine, text
from werkzeug.security import check_password_hash, generate_password_hash

USER = "alice"
PASSWORD = "pw-5ekrit-csrf-9090"

engine = create_engine(os.environ["TUNICORN_TEST_DB"], pool_size=5, max_overflow=10)
with engine.begin() as conn:  # every worker imports this: the lock makes one of them create it
    conn.execute(text("SELECT pg_advisory_xact_lock(4711)"))
    conn.execute(
        text("CREATE TABLE IF NOT EXISTS csrf_users (name text PRIMARY KEY, hash text NOT NULL)")
    )
    conn.execute(
        text("INSERT INTO csrf_users VALUES (:n, :h) ON CONFLICT (name) DO NOTHING"),
        {"n": USER, "h": generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")},
    )
    conn.execute(
        text("CREATE TABLE IF NOT EXISTS csrf_notes (id serial PRIMARY KEY, owner text, body text)")
    )
    if not conn.execute(text("SELECT count(*) FROM csrf_notes")).scalar():
        for i in range(20):
            conn.execute(
                text("INSERT INTO csrf_notes (owner, body) VALUES (:o, :b)"),
                {"o": USER, "b": f"note {i}"},
            )

app = Flask(__name__)
app.secret_key = "tests-only-csrf"
STATUS_DIR = os.environ.get("CSRF_LOGIN_STATUS_DIR", "")  # where the tests read what pages got


@app.after_request
def _note_status(response: Any) -> Any:
    """With CSRF_LOGIN_STATUS_DIR set, each page's status goes to a file per process, so a
    test can tell the pages it loaded from the login redirects (the login itself is left out,
    and tunicorn's readiness probe, the one request without a User-Agent)."""
    if STATUS_DIR and request.user_agent.string and not request.path.startswith("/auth/"):
        with open(os.path.join(STATUS_DIR, str(os.getpid())), "a") as f:
            f.write(f"{response.status_code}\n")
    return response


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if "user" not in session:
            return redirect(f"/auth/login?next={request.path}")
        return view(*args, **kwargs)

    return wrapped


@app.get("/")
@login_required
def index() -> str:
    return f"<h1>Hello {session['user']}</h1><a href='/notes'>notes</a>"


@app.get("/notes")
@login_required
def notes() -> str:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT body FROM csrf_notes WHERE owner = :o ORDER BY id"), {"o": session["user"]}
        ).all()
    return "<ul>" + "".join(f"<li>{r.body}</li>" for r in rows) + "</ul>"


@app.get("/auth/login")
def login_form() -> str:
    token = session.setdefault("csrf", secrets.token_hex(16))
    return (
        "<form method='post' action='/auth/login'>"
        f"<input type='hidden' name='csrf_token' value='{token}'>"
        "<input name='username'><input type='password' name='password'>"
        "<button>Log in</button></form>"
    )


@app.post("/auth/login")
def login() -> Any:
    expected = session.get("csrf", "")
    if not expected or not hmac.compare_digest(request.form.get("csrf_token", ""), expected):
        return "The CSRF token is missing or wrong.", 400
    name = request.form.get("username", "")
    with engine.connect() as conn:
        row = conn.execute(text("SELECT hash FROM csrf_users WHERE name = :n"), {"n": name}).first()
    if row is None or not check_password_hash(row.hash, request.form.get("password", "")):
        return "Wrong user or password.", 401
    session.clear()
    session["user"] = name
    return redirect("/")


@app.post("/auth/logout")
def logout() -> Any:
    session.clear()
    return redirect("/auth/login")
