"""Users who log in (form + header), keep the session cookie, browse and post a form.

It also logs its secrets on purpose: tunicorn must scrub them from every log it keeps.
"""

from __future__ import annotations

import logging

from locust import HttpUser, constant, task

PASSWORD = "hunter2-correct-horse"
API_KEY = "key-5ekrit-4242"


class Member(HttpUser):
    wait_time = constant(0.005)

    def on_start(self) -> None:
        response = self.client.post(
            "/login",
            data={"username": "alice", "password": PASSWORD},
            headers={"X-Api-Key": API_KEY},
        )
        response.raise_for_status()
        cookie = self.client.cookies.get("token")
        logging.warning("logged in with %s and %s, cookie %s", PASSWORD, API_KEY, cookie)

    @task(3)
    def account(self) -> None:
        self.client.get("/account")

    @task(1)
    def note(self) -> None:
        self.client.post("/notes", data={"text": "a note"})
