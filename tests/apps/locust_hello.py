"""The simplest flow: every user asks for / again as soon as it is answered."""

from __future__ import annotations

from locust import HttpUser, constant, task


class Visitor(HttpUser):
    wait_time = constant(0)

    @task
    def index(self) -> None:
        self.client.get("/")
